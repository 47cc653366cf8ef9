//! Step 2, the backups, and the check of them that guards the destructive steps.
//!
//! Each node's data directory is copied (server proven stopped) to `DIR.ringdeck-backup-STAMP
//! .partial`, every file of the copy is hashed against the data directory (sha256), the
//! listing is kept beside it as `BACKUP.sha256`, and only then are both renamed into place and
//! the manifest's own sha256 recorded in the wizard's state. A retry replaces a `.partial` left
//! by an interrupted try, and keeps a finished backup whose end was not saved once it matches
//! the data directory. Before `RESET MASTER`/`RESET SLAVE ALL` and before a copy replaces a data
//! directory, [`ensure_backups`] checks that every node it touches has its backup in place with
//! the recorded manifest.

use super::{Run, data_dir};
use crate::recover::files;
use crate::recover::state::{RecoveryState, StepKind};

pub(super) async fn backup(run: &mut Run<'_>, st: &mut RecoveryState) -> Result<String, String> {
    let stamp = st.started.replace([':', '-'], "").chars().take(15).collect::<String>();
    for n in crate::recover::exec_nodes(st, StepKind::Backup) {
        if let (Some(p), Some(_)) = (st.backups.get(&n), st.backup_digests.get(&n)) {
            run.line(format!("{n}: already backed up to {p}"));
            continue;
        }
        let node_files = st.files.get(&n).cloned();
        let dir = data_dir(run.ctx.node(&n)?.0)?;
        let dest = format!("{}.ringdeck-backup-{stamp}", dir.trim_end_matches('/'));
        let short = run.ctx.timeout * 10;
        if run.remote(&n, &files::backup_state(&dest), short).await?.starts_with("present") {
            // Finished by an earlier try whose end was not saved: kept if it is this data.
            run.stop_server(&n, node_files.as_ref()).await?;
            let compared = compare_finished(run, &n, &dir, &dest).await;
            run.start_server(&n).await?;
            let digest = compared?;
            run.line(format!("{n}: the finished backup {dest} matches the data directory: kept"));
            record(run, st, &n, dest, digest)?;
            continue;
        }
        let used = files::first_number(&run.remote(&n, &files::du_kb(&dir), run.ctx.long_idle).await?)
            .ok_or_else(|| format!("{n}: cannot read the size of {dir}"))?;
        let free = files::first_number(&run.remote(&n, &files::df_free_kb(&dest), short).await?)
            .ok_or_else(|| format!("{n}: cannot read the free space for {dest}"))?;
        let need = used + used / 10 + 64 * 1024;
        run.line(format!("{n}: data {} MB, free {} MB, need {} MB", used / 1024, free / 1024, need / 1024));
        if free < need {
            return Err(format!(
                "{n}: not enough free space for the backup ({} MB free, {} MB needed): a full disk corrupts \
                 tables; free space first",
                free / 1024,
                need / 1024
            ));
        }
        run.stop_server(&n, node_files.as_ref()).await?;
        let made = make(run, &n, &dir, &dest).await;
        // The server comes back whatever happened to the copy.
        run.start_server(&n).await?;
        let digest = made?;
        record(run, st, &n, dest, digest)?;
    }
    Ok(format!("{} backups: {}", st.backups.len(), st.backups.values().cloned().collect::<Vec<_>>().join(", ")))
}

/// Copies to `.partial`, compares every file by sha256, seals; returns the manifest's sha256.
async fn make(run: &mut Run<'_>, n: &str, dir: &str, dest: &str) -> Result<String, String> {
    run.remote(n, &files::backup_to_partial(dir, dest), run.ctx.long_idle).await?;
    let a = run.remote(n, &files::hashes(dir, &[]), run.ctx.long_idle).await?;
    let b = run.remote(n, &files::hash_partial_backup(dest), run.ctx.long_idle).await?;
    let diff = files::hash_differences(&a, &b);
    if !diff.is_empty() {
        return Err(format!(
            "{n}: the backup differs from the data directory in {} files ({}); {dest}.partial is left \
             and replaced by the next try",
            diff.len(),
            diff.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    let digest = run.remote(n, &files::seal_backup(dest), run.ctx.timeout * 10).await?.trim().to_string();
    run.line(format!("{n}: backup {dest} verified: {} files by sha256, manifest {dest}.sha256", a.lines().count()));
    Ok(digest)
}

/// A finished backup compared with the data directory (server stopped); its manifest's sha256.
async fn compare_finished(run: &mut Run<'_>, n: &str, dir: &str, dest: &str) -> Result<String, String> {
    let a = run.remote(n, &files::hashes(dir, &[]), run.ctx.long_idle).await?;
    let m = run.remote(n, &files::backup_manifest(dest), run.ctx.long_idle).await?;
    let diff = files::hash_differences(&a, &m);
    if !diff.is_empty() {
        return Err(format!(
            "{n}: {dest} exists but is not a backup of this data directory ({} files differ): move it away",
            diff.len()
        ));
    }
    let state = run.remote(n, &files::backup_state(dest), run.ctx.timeout * 10).await?;
    Present::parse(&state).map(|p| p.digest).ok_or_else(|| format!("{n}: {}", state.trim()))
}

fn record(run: &mut Run<'_>, st: &mut RecoveryState, n: &str, dest: String, digest: String) -> Result<(), String> {
    run.notes.push(format!("{n} backup {dest} (manifest sha256 {digest})"));
    st.backups.insert(n.to_string(), dest);
    st.backup_digests.insert(n.to_string(), digest);
    run.save(st)
}

/// A `files::backup_state` answer for a backup that is there.
#[derive(Debug, PartialEq, Eq)]
struct Present {
    digest: String,
    files: u64,
    listed: u64,
}

impl Present {
    fn parse(out: &str) -> Option<Present> {
        let mut w = out.split_whitespace();
        (w.next()? == "present").then_some(())?;
        Some(Present { digest: w.next()?.to_string(), files: w.next()?.parse().ok()?, listed: w.next()?.parse().ok()? })
    }
}

/// Refuses unless every node of `nodes` has its backup in place: the directory and its manifest
/// there, the manifest the one recorded when the backup was verified, as many files as it lists.
pub(super) async fn ensure_backups(
    run: &mut Run<'_>,
    st: &RecoveryState,
    nodes: &[String],
    before: &str,
) -> Result<(), String> {
    for n in nodes {
        let refuse = |why: String| format!("{n}: no verified backup before {before}: {why}");
        let (Some(dest), Some(digest)) = (st.backups.get(n), st.backup_digests.get(n)) else {
            return Err(refuse("step 2 did not record one (run it again)".into()));
        };
        let out = run.remote_quiet(n, &files::backup_state(dest), run.ctx.timeout * 10).await?;
        match Present::parse(&out) {
            Some(p) if &p.digest == digest && p.files == p.listed => {
                run.line(format!("{n}: backup {dest} in place ({} files, manifest as recorded)", p.files));
            }
            Some(p) if &p.digest != digest => return Err(refuse(format!("the manifest of {dest} changed"))),
            Some(p) => {
                return Err(refuse(format!("{dest} holds {} files, its manifest lists {}", p.files, p.listed)));
            }
            None => return Err(refuse(out.trim().to_string())),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_state_answers() {
        assert_eq!(
            Present::parse("present abc 12 12\n"),
            Some(Present { digest: "abc".into(), files: 12, listed: 12 })
        );
        assert_eq!(Present::parse("missing: /x is not there"), None);
        assert_eq!(Present::parse("present abc"), None);
    }
}
