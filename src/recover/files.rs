//! What a data directory holds that belongs to one server only, and the remote commands (as argv,
//! never pasted strings) the wizard runs on a node's host: sizes, free space, backup, emptying a
//! target, streaming a copy with tar, and hashing the copied files to verify it.
//!
//! Pipelines run as `sh -c SCRIPT sh ARG...`: the script is a constant of this file and every
//! path or pattern reaches it as a positional argument, so nothing is ever spliced into shell text.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The server-specific file names of one node, read from the server before it is stopped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerFiles {
    /// The data directory as the server reports it (`@@datadir`).
    pub datadir: String,
    /// Binlog base name (`binlog-n1`) when the binlogs live in the data directory.
    pub binlog_base: Option<String>,
    /// Relay log base name when the relay logs live in the data directory.
    pub relay_base: Option<String>,
    /// `@@pid_file` and `@@socket`: how the host proves the server stopped when not every
    /// process's open files can be read (see `recover::stopped`).
    #[serde(default)]
    pub pid_file: Option<String>,
    #[serde(default)]
    pub socket: Option<String>,
}

/// Files every server keeps for itself (seed 001 step 7 and the rehearsal notes): replication
/// state, the server UUID, pid, socket and error log files.
const ALWAYS_EXCLUDED: &[&str] = &[
    "master.info",
    "relay-log.info",
    "multi-master.info",
    "master-*.info",
    "relay-log-*.info",
    "mysqld-relay-bin.*",
    "auto.cnf",
    "*.pid",
    "*.sock",
    "*.sock.lock",
    "*.err",
    COPY_MARKER,
];

/// Left in a target data directory while a copy into it is unfinished: an interrupted copy may
/// empty the directory again on resume even though it no longer looks like a data directory.
pub const COPY_MARKER: &str = ".ringdeck-copy-in-progress";

/// The base name of `path` when it is inside `datadir` (at its top level).
pub fn base_in_datadir(path: &str, datadir: &str) -> Option<String> {
    let p = Path::new(path);
    let dir = p.parent()?;
    let name = p.file_name()?.to_str()?.to_string();
    dir.components().eq(Path::new(datadir).components()).then_some(name)
}

impl ServerFiles {
    /// File-name patterns (find `-name` / tar `--exclude` wildcards) that belong to this server.
    pub fn patterns(&self) -> Vec<String> {
        let mut v: Vec<String> = ALWAYS_EXCLUDED.iter().map(|s| s.to_string()).collect();
        for base in [&self.binlog_base, &self.relay_base].into_iter().flatten() {
            v.push(format!("{base}.[0-9]*"));
            v.push(format!("{base}.index"));
            v.push(format!("{base}.state"));
        }
        v
    }
}

/// The patterns of several servers together (a copy leaves out the source's and keeps the
/// target's), without repeats, in a stable order.
pub fn union_patterns(files: &[&ServerFiles]) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for p in files.iter().flat_map(|f| f.patterns()) {
        if !v.contains(&p) {
            v.push(p);
        }
    }
    v
}

fn s(x: &str) -> String {
    x.to_string()
}

/// `find` arguments that leave out the patterns: `! -name P1 ! -name P2 ...`.
fn not_names(patterns: &[String]) -> Vec<String> {
    patterns.iter().flat_map(|p| [s("!"), s("-name"), p.clone()]).collect()
}

/// Kilobytes used under `dir`: prints one number.
pub fn du_kb(dir: &str) -> Vec<String> {
    vec![s("sh"), s("-c"), s(r#"du -sk -- "$1" | cut -f1"#), s("sh"), s(dir)]
}

/// Free kilobytes on the file system holding `dir` (or its nearest existing parent).
pub fn df_free_kb(dir: &str) -> Vec<String> {
    let script = r#"d=$1; while [ ! -e "$d" ]; do d=$(dirname -- "$d"); done; df -Pk -- "$d" | awk 'NR==2 {print $4}'"#;
    vec![s("sh"), s("-c"), s(script), s("sh"), s(dir)]
}

/// Copies `datadir` to `BACKUP.partial`, keeping modes and times; a `.partial` left by an
/// interrupted try is replaced. Refuses when `backup` itself exists (a finished backup is never
/// overwritten).
pub fn backup_to_partial(datadir: &str, backup: &str) -> Vec<String> {
    let script = r#"set -e; if [ -e "$2" ]; then echo "$2 already exists" >&2; exit 1; fi
p="$2.partial"; if [ -e "$p" ]; then echo "replacing the unfinished $p"; rm -rf -- "$p"; fi
mkdir -p -- "$(dirname -- "$2")"; cp -a -- "$1" "$p"; echo "copied $1 to $p""#;
    vec![s("sh"), s("-c"), s(script), s("sh"), s(datadir), s(backup)]
}

/// `sha256sum` lines of every regular file under `BACKUP.partial`, also written to
/// `BACKUP.sha256.partial` (the manifest that goes with the backup).
pub fn hash_partial_backup(backup: &str) -> Vec<String> {
    // A file that cannot be hashed is missing from the listing: the comparison with the data
    // directory's listing then fails, so no pipefail is needed.
    let script = r#"cd -- "$1.partial" || exit 1
find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum -- | tee -- "$1.sha256.partial""#;
    vec![s("sh"), s("-c"), s(script), s("sh"), s(backup)]
}

/// Renames the verified `BACKUP.partial` and its manifest into place; prints the manifest's
/// sha256 (what the state records, and what later steps check the backup by).
pub fn seal_backup(backup: &str) -> Vec<String> {
    let script = r#"set -e; mv -- "$1.sha256.partial" "$1.sha256"; mv -- "$1.partial" "$1"
sha256sum < "$1.sha256" | cut -d' ' -f1"#;
    vec![s("sh"), s("-c"), s(script), s("sh"), s(backup)]
}

/// What is at `backup`: `present DIGEST FILES LISTED` (the manifest's sha256, the files in the
/// backup, the lines of the manifest), or `missing: WHY`.
pub fn backup_state(backup: &str) -> Vec<String> {
    let script = r#"[ -d "$1" ] || { echo "missing: $1 is not there"; exit 0; }
[ -f "$1.sha256" ] || { echo "missing: $1.sha256 (its manifest) is not there"; exit 0; }
echo "present $(sha256sum < "$1.sha256" | cut -d' ' -f1) $(find "$1" -type f | wc -l) $(wc -l < "$1.sha256")""#;
    vec![s("sh"), s("-c"), s(script), s("sh"), s(backup)]
}

/// The manifest of a finished backup.
pub fn backup_manifest(backup: &str) -> Vec<String> {
    vec![s("cat"), s("--"), format!("{backup}.sha256")]
}

/// Bytes the copy will send: regular files under `dir` except the patterns.
pub fn copy_bytes(dir: &str, patterns: &[String]) -> Vec<String> {
    let script = r#"cd -- "$1" || exit 1; shift; find . -type f "$@" -printf '%s\n' | awk '{b+=$1} END {print b+0}'"#;
    let mut v = vec![s("sh"), s("-c"), s(script), s("sh"), s(dir)];
    v.extend(not_names(patterns));
    v
}

/// Sends `dir` as a tar stream on stdout, leaving out the patterns.
pub fn tar_out(dir: &str, patterns: &[String]) -> Vec<String> {
    let mut v = vec![s("tar"), s("-C"), s(dir), s("-cf"), s("-")];
    v.extend(patterns.iter().map(|p| format!("--exclude={p}")));
    v.push(s("."));
    v
}

/// Empties `dir` except the patterns (the target's own server files), then unpacks the tar
/// stream from stdin into it. Refuses a directory that does not look like a data directory.
pub fn replace_from_stdin(dir: &str, patterns: &[String]) -> Vec<String> {
    let script = r#"set -e; d=$1; shift
case "$d" in /|'') echo "refusing to empty $d" >&2; exit 1 ;; esac
m="$d/.ringdeck-copy-in-progress"
if [ ! -d "$d/mysql" ] && [ ! -e "$m" ]; then echo "$d does not look like a data directory (no mysql/)" >&2; exit 1; fi
: > "$m"
find "$d" -mindepth 1 -maxdepth 1 "$@" -exec rm -rf -- {} +
tar -C "$d" -xpf -"#;
    let mut v = vec![s("sh"), s("-c"), s(script), s("sh"), s(dir)];
    v.extend(not_names(patterns));
    v
}

/// Removes the copy marker once the copy is verified.
pub fn copy_done(dir: &str) -> Vec<String> {
    vec![s("rm"), s("-f"), s("--"), format!("{}/{COPY_MARKER}", dir.trim_end_matches('/'))]
}

/// `sha256sum` lines of every regular file under `dir` except the patterns, sorted by path.
pub fn hashes(dir: &str, patterns: &[String]) -> Vec<String> {
    let script =
        r#"cd -- "$1" || exit 1; shift; find . -type f "$@" -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum --"#;
    let mut v = vec![s("sh"), s("-c"), s(script), s("sh"), s(dir)];
    v.extend(not_names(patterns));
    v
}

/// Compares two `sha256sum` listings; returns the paths that differ or exist on one side only.
pub fn hash_differences(a: &str, b: &str) -> Vec<String> {
    let parse = |t: &str| -> std::collections::BTreeMap<String, String> {
        t.lines()
            .filter_map(|l| l.split_once("  ").map(|(h, p)| (p.trim_start_matches("./").to_string(), h.to_string())))
            .collect()
    };
    let (a, b) = (parse(a), parse(b));
    let mut diff: Vec<String> = a.iter().filter(|(p, h)| b.get(*p) != Some(h)).map(|(p, _)| p.clone()).collect();
    diff.extend(b.keys().filter(|p| !a.contains_key(*p)).cloned());
    diff.sort();
    diff
}

/// The first number printed by a command.
pub fn first_number(out: &str) -> Option<u64> {
    out.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab_files(k: u8) -> ServerFiles {
        ServerFiles {
            datadir: format!("/tmp/lab/node{k}/data/"),
            binlog_base: Some(format!("binlog-n{k}")),
            relay_base: Some(format!("relay-n{k}")),
            ..Default::default()
        }
    }

    #[test]
    fn base_names_only_inside_the_datadir() {
        assert_eq!(base_in_datadir("/var/lib/mysql/binlog", "/var/lib/mysql/"), Some("binlog".into()));
        assert_eq!(base_in_datadir("/var/log/mysql/binlog", "/var/lib/mysql/"), None);
        assert_eq!(base_in_datadir("/var/lib/mysql/sub/binlog", "/var/lib/mysql"), None);
    }

    #[test]
    fn copy_leaves_out_both_servers_own_files() {
        let (a, b) = (lab_files(1), lab_files(2));
        let p = union_patterns(&[&a, &b]);
        for want in ["binlog-n1.[0-9]*", "binlog-n2.index", "relay-n1.[0-9]*", "relay-n2.index", "auto.cnf", "*.pid"] {
            assert!(p.contains(&want.to_string()), "{want} missing from {p:?}");
        }
        assert_eq!(p.iter().filter(|x| *x == "auto.cnf").count(), 1, "no repeats");
        let tar = tar_out("/tmp/lab/node1/data", &p);
        assert!(tar.contains(&"--exclude=master.info".to_string()));
        assert_eq!(tar.last().map(String::as_str), Some("."));
    }

    #[test]
    fn paths_are_arguments_never_script_text() {
        let evil = "/tmp/x'; rm -rf / #";
        for argv in [
            du_kb(evil),
            df_free_kb(evil),
            backup_to_partial(evil, evil),
            hashes(evil, &[]),
            replace_from_stdin(evil, &[]),
        ] {
            assert!(!argv[2].contains(evil), "path spliced into the script: {argv:?}");
            assert!(argv.iter().any(|a| a == evil));
        }
    }

    #[test]
    fn hash_listings_compare_by_path() {
        let a = "aaa  ./ibdata1\nbbb  ./app/posts.ibd\nccc  ./only-a\n";
        let b = "aaa  ./ibdata1\nbbX  ./app/posts.ibd\nddd  ./only-b\n";
        assert_eq!(hash_differences(a, b), vec!["app/posts.ibd", "only-a", "only-b"]);
        assert!(hash_differences(a, a).is_empty());
    }
}
