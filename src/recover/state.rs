//! The wizard's saved state: which procedure, which step comes next, and every decision and fact
//! a later step needs (the chosen source, each node's upstream, server file names, backups,
//! servers put into maintenance). Written atomically (temp file, fsync, rename) after every
//! change, so quitting, a lost connection or a crash resumes at the same step.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::files::ServerFiles;

/// One step of a procedure. Rebuild runs seed 001's nine in order; a rejoin reuses some of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    Quiesce,
    Backup,
    PickSource,
    StopSlaves,
    Reset,
    Shutdown,
    Copy,
    Start,
    Reconnect,
}

impl StepKind {
    pub const REBUILD: [StepKind; 9] = [
        StepKind::Quiesce,
        StepKind::Backup,
        StepKind::PickSource,
        StepKind::StopSlaves,
        StepKind::Reset,
        StepKind::Shutdown,
        StepKind::Copy,
        StepKind::Start,
        StepKind::Reconnect,
    ];

    pub fn title(self) -> &'static str {
        match self {
            StepKind::Quiesce => "quiesce: no client connections, writes blocked, binlog positions still",
            StepKind::Backup => "back up every data directory (after checking free space)",
            StepKind::PickSource => "pick the node with the most complete data",
            StepKind::StopSlaves => "stop slave on every node",
            StepKind::Reset => "reset master and reset slave all on every node",
            StepKind::Shutdown => "shut down every server cleanly",
            StepKind::Copy => "copy the chosen data directory to the others",
            StepKind::Start => "start the servers and wait for them",
            StepKind::Reconnect => "point each node at its upstream, start slave around the circle, verify",
        }
    }

    /// A short name for the list of steps.
    pub fn short(self) -> &'static str {
        match self {
            StepKind::Quiesce => "quiesce",
            StepKind::Backup => "back up data dirs",
            StepKind::PickSource => "pick the source",
            StepKind::StopSlaves => "stop slave on all",
            StepKind::Reset => "reset master + slave",
            StepKind::Shutdown => "shut down servers",
            StepKind::Copy => "copy source data",
            StepKind::Start => "start servers",
            StepKind::Reconnect => "reconnect, verify",
        }
    }

    /// Destructive steps ask the operator to type the source node's name.
    pub fn destructive(self) -> bool {
        matches!(self, StepKind::Reset | StepKind::Shutdown | StepKind::Copy)
    }
}

/// An HAProxy server the wizard put into maintenance (taken out again at the end).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaintServer {
    pub haproxy: String,
    pub backend: String,
    pub server: String,
}

/// What the wizard does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Procedure {
    /// Seed 001: rebuild every node from the one with the most complete data.
    Rebuild,
    /// Bring a bypassed node back: copy `donor`'s data to `node`, then put `node` back between
    /// `donor` (its upstream) and the donor's current downstream.
    Rejoin { node: String, donor: String },
}

/// The saved wizard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryState {
    pub procedure: Procedure,
    pub steps: Vec<StepKind>,
    /// Index of the next step to run (== steps.len() when done).
    pub current: usize,
    /// A step started and did not finish (crash, kill, lost connection): it runs again.
    pub interrupted: bool,
    /// When the wizard started (RFC 3339) and from which config.
    pub started: String,
    pub config: PathBuf,
    /// The nodes whose servers the procedure touches, in config order.
    pub nodes: Vec<String>,
    /// Step 3's choice.
    pub source: Option<String>,
    /// Each node's upstream in the ring being built (recorded before anything is reset).
    pub upstreams: BTreeMap<String, String>,
    /// Each node's replication link as it was in step 1 (TLS, GTID mode, delay): step 9 and a
    /// rejoin re-create it with the same properties.
    #[serde(default)]
    pub links: BTreeMap<String, crate::model::linkprops::LinkProps>,
    /// Each node's server-specific file names (read before the servers stop).
    pub files: BTreeMap<String, ServerFiles>,
    /// Where each node's backup went.
    pub backups: BTreeMap<String, String>,
    /// The sha256 of each backup's manifest (`BACKUP.sha256`), recorded once the backup matched
    /// the data directory file by file: what the destructive steps check the backup by.
    #[serde(default)]
    pub backup_digests: BTreeMap<String, String>,
    /// Copy targets done in step 7 (a resumed copy skips nothing: it copies the rest again).
    pub copied: Vec<String>,
    pub maint: Vec<MaintServer>,
    /// One line per finished step: `3 pick source: node1 (upstream of the failed node2)`.
    pub log: Vec<String>,
    pub aborted: bool,
}

impl RecoveryState {
    pub fn new(procedure: Procedure, nodes: Vec<String>, config: PathBuf, started: String) -> RecoveryState {
        let steps = match &procedure {
            Procedure::Rebuild => StepKind::REBUILD.to_vec(),
            Procedure::Rejoin { .. } => vec![
                StepKind::Quiesce,
                StepKind::Backup,
                StepKind::StopSlaves,
                StepKind::Reset,
                StepKind::Shutdown,
                StepKind::Copy,
                StepKind::Start,
                StepKind::Reconnect,
            ],
        };
        let source = match &procedure {
            Procedure::Rejoin { donor, .. } => Some(donor.clone()),
            Procedure::Rebuild => None,
        };
        RecoveryState {
            procedure,
            steps,
            current: 0,
            interrupted: false,
            started,
            config,
            nodes,
            source,
            upstreams: BTreeMap::new(),
            files: BTreeMap::new(),
            backups: BTreeMap::new(),
            backup_digests: BTreeMap::new(),
            links: BTreeMap::new(),
            copied: Vec::new(),
            maint: Vec::new(),
            log: Vec::new(),
            aborted: false,
        }
    }

    pub fn done(&self) -> bool {
        self.current >= self.steps.len()
    }

    /// The next step, if any.
    pub fn next(&self) -> Option<StepKind> {
        self.steps.get(self.current).copied()
    }

    /// The copy targets: every node but the source (rebuild), or the rejoining node.
    pub fn copy_targets(&self) -> Vec<String> {
        match &self.procedure {
            Procedure::Rejoin { node, .. } => vec![node.clone()],
            Procedure::Rebuild => self.nodes.iter().filter(|n| Some(*n) != self.source.as_ref()).cloned().collect(),
        }
    }

    /// "step 7 of 9".
    pub fn position(&self) -> String {
        format!("step {} of {}", (self.current + 1).min(self.steps.len()), self.steps.len())
    }

    /// What to do to go back: where each backup is and how to restore it.
    pub fn rollback_text(&self) -> Vec<String> {
        if self.backups.is_empty() {
            return vec!["no backups were taken yet: nothing on disk was changed by the wizard's copy".into()];
        }
        let mut v = vec!["backups (full copies of each data directory, binlogs included):".to_string()];
        for (node, path) in &self.backups {
            let dir = self.files.get(node).map(|f| f.datadir.trim_end_matches('/').to_string());
            v.push(format!("  {node}: {path}"));
            if let Some(dir) = dir {
                v.push(format!(
                    "    to go back: stop {node}'s server, then  rm -rf {d} && cp -a {p} {d}  and start it",
                    d = super::files_quote(&dir),
                    p = super::files_quote(path)
                ));
            }
        }
        if !self.maint.is_empty() {
            let names: Vec<String> = self.maint.iter().map(|m| format!("{}/{}", m.backend, m.server)).collect();
            v.push(format!(
                "HAProxy servers still in maint: {} (set them ready when writes may resume)",
                names.join(", ")
            ));
        }
        v
    }
}

/// Where the wizard's state for a config file lives: `$XDG_STATE_HOME/ringdeck/recovery/`, one
/// file per config (named by a hash of its absolute path).
pub fn state_path(config: &Path) -> Option<PathBuf> {
    crate::statefile::for_config("recovery", config)
}

/// Reads a saved state; `Ok(None)` when there is none.
pub fn load(path: &Path) -> Result<Option<RecoveryState>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("the saved recovery {} is unreadable: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Writes the state atomically and durably (mode 600, directory 700).
pub fn save(path: &Path, st: &RecoveryState) -> Result<(), String> {
    let text = serde_json::to_string_pretty(st).map_err(|e| format!("cannot encode the recovery state: {e}"))?;
    Ok(crate::statefile::write_atomic(path, text.as_bytes())?)
}

/// Removes the saved state (after the procedure finished or was abandoned).
pub fn clear(path: &Path) -> Result<(), String> {
    Ok(crate::statefile::remove(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_and_resumes_at_the_same_step() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r/state.json");
        let mut st = RecoveryState::new(
            Procedure::Rebuild,
            vec!["node1".into(), "node2".into(), "node3".into()],
            "/etc/ringdeck.toml".into(),
            "2026-11-23T10:00:00Z".into(),
        );
        assert_eq!(load(&path).unwrap(), None);
        st.current = 6;
        st.interrupted = true;
        st.source = Some("node1".into());
        save(&path, &st).unwrap();
        let back = load(&path).unwrap().unwrap();
        assert_eq!(back, st);
        assert_eq!(back.next(), Some(StepKind::Copy));
        assert_eq!(back.copy_targets(), vec!["node2", "node3"]);
        assert_eq!(back.position(), "step 7 of 9");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        clear(&path).unwrap();
        assert_eq!(load(&path).unwrap(), None);
    }

    #[test]
    fn a_garbled_state_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        std::fs::write(&path, "{ not json").unwrap();
        let e = load(&path).unwrap_err();
        assert!(e.contains("unreadable"), "{e}");
    }

    #[test]
    fn rollback_names_every_backup() {
        let mut st = RecoveryState::new(Procedure::Rebuild, vec!["node1".into()], "c".into(), "t".into());
        st.backups.insert("node1".into(), "/b/node1".into());
        st.files.insert("node1".into(), ServerFiles { datadir: "/d/node1/".into(), ..Default::default() });
        let text = st.rollback_text().join("\n");
        assert!(text.contains("/b/node1") && text.contains("cp -a '/b/node1' '/d/node1'"), "{text}");
    }
}
