//! Forked-data memory. A skipped event is never applied on the node that skips it, so never
//! written to its binlog, so no node downstream of it ever receives it: the ring runs again but
//! its data has forked. Every skip ringdeck runs records what it dropped (node, event, error,
//! table and key when the error names them, which nodes have the event's version and which will
//! never get it) in the state directory, one file per config, written atomically. While a record
//! stands the ring is never called healthy: the ring pane and `check` show a `data_forked`
//! WARNING. A verify that finds the table equal on every node, a repair of those keys, or
//! `ringdeck run forget --fork ID` clears it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::topology::{Finding, FindingKind, Severity, Upstream};
use crate::verify::Key;
use crate::verify::key::Part;

/// One skipped event and what it left unequal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fork {
    /// Short and unique: `f3a9c2d1`.
    pub id: String,
    /// RFC 3339, UTC.
    pub time: String,
    /// The node the event was skipped on.
    pub node: String,
    /// The link's upstream (a node name, or `host:port`).
    pub upstream: String,
    /// The event's upstream coordinates: where its transaction starts, and its end when the
    /// error names it (`binlog-n1.000001:1436 (end_log_pos 1667)`).
    pub event: String,
    pub errno: u32,
    /// The error in one line.
    pub error: String,
    /// `app.posts`, when the error names the table.
    pub table: Option<String>,
    /// The primary key columns of that table, when they could be read.
    #[serde(default)]
    pub key_columns: Vec<String>,
    /// The key value as the error printed it (`100001`; composite keys `5-abc`), for a duplicate
    /// key on the primary key.
    pub key: Option<String>,
    /// The node that first wrote the event (its server_id), when it could be told.
    pub origin: Option<String>,
    /// Nodes holding the event's version: from its origin (or the upstream) to the upstream.
    pub has: Vec<String>,
    /// Nodes that will never receive it: the skipping node and those after it, up to the origin.
    pub never: Vec<String>,
    /// More events skipped in the same step that could not be told apart (`skip --count N`).
    #[serde(default)]
    pub more: u32,
}

impl Fork {
    /// `app.posts id 100001`, `app.posts (a, k) '5-abc'`, `app.posts` or `an event`.
    pub fn what(&self) -> String {
        let Some(t) = &self.table else { return "an event".into() };
        match (&self.key, self.key_columns.as_slice()) {
            (Some(k), [one]) => format!("{t} {one} {k}"),
            (Some(k), []) => format!("{t} key {k}"),
            (Some(k), many) => format!("{t} ({}) '{k}'", many.join(", ")),
            (None, _) => t.clone(),
        }
    }

    /// Whether `key` of `table` is this fork's key (the error prints a composite key as its
    /// parts joined by `-`).
    pub fn covers(&self, table: &str, key: &Key) -> bool {
        if self.table.as_deref() != Some(table) {
            return false;
        }
        self.key.as_deref().is_some_and(|k| entry_is(key, k))
    }

    /// The node whose version a repair keeps by default for this fork's key: the one the event
    /// came from (its origin, else the link's upstream), which held the most complete data when
    /// the event was skipped.
    pub fn keep(&self) -> &str {
        self.has.first().map(String::as_str).unwrap_or(&self.upstream)
    }

    /// The ring pane's and `check`'s finding.
    pub fn finding(&self) -> Finding {
        let hhmm = self.time.get(11..16).unwrap_or("");
        let more = if self.more > 0 { format!(" and {} more event(s)", self.more) } else { String::new() };
        let others: Vec<&str> = self.never.iter().filter(|n| **n != self.node).map(String::as_str).collect();
        let never = if others.is_empty() { String::new() } else { format!("; never on {}", others.join(", ")) };
        Finding {
            severity: Severity::Warning,
            kind: FindingKind::DataForked,
            nodes: vec![self.node.clone()],
            message: format!(
                "FORKED {}{more} (skipped on {} {hhmm} UTC{never}; fork {})",
                self.what(),
                self.node,
                self.id
            ),
            link: None,
            advice: Some(format!(
                "make the nodes equal: V then P (ringdeck verify --repair); forget it by hand: ringdeck run forget --fork {}",
                self.id
            )),
        }
    }
}

/// Whether a duplicate-key error's entry (`100001`; a composite key prints its parts joined by
/// `-`: `5-abc`) names `key`.
pub fn entry_is(key: &Key, entry: &str) -> bool {
    let raw: Vec<String> = key
        .0
        .iter()
        .map(|p| match p {
            Part::Int(i) => i.to_string(),
            Part::Big(u) => u.to_string(),
            Part::Text(s) => s.clone(),
            Part::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        })
        .collect();
    raw.join("-") == entry
}

/// The findings of the records, or one UNKNOWN finding when they cannot be read (a fork must
/// never be forgotten silently).
pub fn findings(forks: &Result<Vec<Fork>, String>) -> Vec<Finding> {
    match forks {
        Ok(f) => f.iter().map(Fork::finding).collect(),
        Err(e) => vec![Finding {
            severity: Severity::Unknown,
            kind: FindingKind::DataForked,
            nodes: Vec::new(),
            message: format!("forked-data records unreadable: {e}"),
            link: None,
            advice: None,
        }],
    }
}

/// Which nodes hold an event and which never will: walking downstream from `origin` to `upstream`
/// holds it; from `skipped` on, until the walk comes back to `origin`, never. `next[i]` is the
/// node replicating from node `i`, if any.
pub fn spread(next: &[Option<usize>], origin: usize, skipped: usize) -> (Vec<usize>, Vec<usize>) {
    let walk = |from: usize, until: usize| {
        let mut out = Vec::new();
        let mut at = Some(from);
        while let Some(i) = at {
            if i == until || out.contains(&i) {
                break;
            }
            out.push(i);
            at = next.get(i).copied().flatten();
        }
        out
    };
    (walk(origin, skipped), walk(skipped, origin))
}

/// `next[i]`: the configured node replicating from node `i` (the first, when several do).
pub fn downstreams(nodes: usize, links: &[crate::model::topology::Link]) -> Vec<Option<usize>> {
    let mut next = vec![None; nodes];
    for l in links {
        if let Upstream::Node(u) = l.upstream
            && u < nodes
            && next[u].is_none()
        {
            next[u] = Some(l.downstream);
        }
    }
    next
}

/// The records of one config's ring.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forks {
    pub forks: Vec<Fork>,
}

/// Where the records for a config file live (`$XDG_STATE_HOME/ringdeck/forks/<hash>.json`).
pub fn path_for(config: &Path) -> Option<PathBuf> {
    crate::statefile::for_config("forks", config)
}

/// The records; none when there is no file.
pub fn load(path: &Path) -> Result<Forks, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| format!("{} is unreadable: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Forks::default()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// The records of the ring configured by `config` (its `source` file); empty without a state
/// dir. An unreadable file is an error: a fork must never be forgotten silently.
pub fn load_for(config: &crate::config::Config) -> Result<Vec<Fork>, String> {
    match path_for(&config.source) {
        Some(p) => load(&p).map(|f| f.forks),
        None => Ok(Vec::new()),
    }
}

fn save(path: &Path, forks: &Forks) -> Result<(), String> {
    if forks.forks.is_empty() {
        return Ok(crate::statefile::remove(path)?);
    }
    let text = serde_json::to_string_pretty(forks).map_err(|e| format!("cannot encode the fork records: {e}"))?;
    Ok(crate::statefile::write_atomic(path, text.as_bytes())?)
}

/// Loads, changes and saves the records (a short read-modify-write; the file is tiny).
pub fn update<T>(path: &Path, f: impl FnOnce(&mut Forks) -> T) -> Result<T, String> {
    let mut forks = load(path)?;
    let out = f(&mut forks);
    save(path, &forks)?;
    Ok(out)
}

/// Adds a record.
pub fn record(path: &Path, fork: Fork) -> Result<(), String> {
    update(path, |f| f.forks.push(fork))
}

/// Removes the records `gone` says are settled; returns them.
pub fn settle(path: &Path, mut gone: impl FnMut(&Fork) -> bool) -> Result<Vec<Fork>, String> {
    update(path, |f| {
        let (out, keep): (Vec<Fork>, Vec<Fork>) = f.forks.drain(..).partition(|x| gone(x));
        f.forks = keep;
        out
    })
}

/// Removes the records of tables a verify found equal on every node (`equal`: their
/// `db.table` names; a record without a table only when `all` was equal). A verify that could
/// not reach every node settles nothing. Returns what was cleared.
pub fn settle_equal(path: &Path, equal: &[String], all: bool) -> Result<Vec<Fork>, String> {
    settle(path, |f| match &f.table {
        Some(t) => equal.contains(t),
        None => all,
    })
}

/// [`settle_equal`] on the records of the ring configured by `config` (none without a state dir).
pub fn settle_after_verify(config: &crate::config::Config, equal: &[String], all: bool) -> Result<Vec<Fork>, String> {
    match path_for(&config.source) {
        Some(p) => settle_equal(&p, equal, all),
        None => Ok(Vec::new()),
    }
}

/// A fresh id: 8 hex digits from the time and the process.
pub fn new_id() -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in nanos.to_le_bytes().iter().chain(std::process::id().to_le_bytes().iter()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:08x}", h as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fork() -> Fork {
        Fork {
            id: "f1".into(),
            time: "2026-11-29T12:03:09.000Z".into(),
            node: "node2".into(),
            upstream: "node1".into(),
            event: "binlog-n1.000001:1436 (end_log_pos 1667)".into(),
            errno: 1062,
            error: "Duplicate entry '100001' for key 'PRIMARY'".into(),
            table: Some("app.posts".into()),
            key_columns: vec!["id".into()],
            key: Some("100001".into()),
            origin: Some("node1".into()),
            has: vec!["node1".into()],
            never: vec!["node2".into(), "node3".into(), "node4".into()],
            more: 0,
        }
    }

    #[test]
    fn finding_names_the_key_the_node_and_the_time() {
        let f = fork().finding();
        assert_eq!((f.severity, f.kind), (Severity::Warning, FindingKind::DataForked));
        assert!(
            f.message == "FORKED app.posts id 100001 (skipped on node2 12:03 UTC; never on node3, node4; fork f1)",
            "{}",
            f.message
        );
        assert!(fork().covers("app.posts", &Key::int(100001)));
        assert!(!fork().covers("app.posts", &Key::int(100002)));
        assert!(!fork().covers("app.users", &Key::int(100001)));
        let composite = Fork { key: Some("5-abc".into()), key_columns: vec!["a".into(), "k".into()], ..fork() };
        assert!(composite.covers("app.posts", &Key(vec![Part::Int(5), Part::Text("abc".into())])));
        assert_eq!(composite.what(), "app.posts (a, k) '5-abc'");
        assert_eq!(fork().keep(), "node1");
    }

    #[test]
    fn who_has_the_event_and_who_never_will() {
        // A ring of four: 0 -> 1 -> 2 -> 3 -> 0.
        let next = vec![Some(1), Some(2), Some(3), Some(0)];
        assert_eq!(spread(&next, 0, 1), (vec![0], vec![1, 2, 3]), "written on node1, skipped on node2");
        assert_eq!(spread(&next, 3, 1), (vec![3, 0], vec![1, 2]), "written on node4, came through node1");
        // A chain that ends: the walk stops.
        let chain = vec![Some(1), Some(2), None];
        assert_eq!(spread(&chain, 0, 1), (vec![0], vec![1, 2]));
    }

    #[test]
    fn records_survive_and_settle() {
        let dir = tempfile::tempdir().expect("dir");
        let p = dir.path().join("forks/x.json");
        assert_eq!(load(&p).expect("none yet"), Forks::default());
        record(&p, fork()).expect("saved");
        record(&p, Fork { id: "f2".into(), table: None, ..fork() }).expect("saved");
        assert_eq!(load(&p).expect("read").forks.len(), 2);
        let gone = settle(&p, |f| f.id == "f1").expect("settled");
        assert_eq!(gone.len(), 1);
        assert_eq!(load(&p).expect("read").forks[0].id, "f2");
        settle(&p, |_| true).expect("all");
        assert!(!p.exists(), "no file once nothing is forked");
        std::fs::write(&p, "{").expect("garbage");
        assert!(load(&p).is_err(), "an unreadable record is an error, never silence");
    }
}
