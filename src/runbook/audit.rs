//! The audit log: one JSON line per executed step, appended with `O_APPEND` and synced to disk
//! before the step counts as audited, in a file of mode 600 (directory 700) under
//! `$XDG_STATE_HOME/ringdeck/audit.log` or the config's `audit_log`. Statements are recorded as
//! shown (password `***`); error texts are redacted before they get here. `ringdeck audit` prints it.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::step::{Condition, StepAction};
use crate::config::Config;

/// Where the audit log is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditLog {
    path: PathBuf,
}

/// Whether a record opens a step (written, synced, before its first statement or command) or
/// ends it. A `started` record with no `ended` record of the same `id` is a step that was
/// interrupted (a crash, a kill, a lost machine): `ringdeck audit` shows it as INTERRUPTED.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Started,
    #[default]
    Ended,
}

/// One executed (or attempted and refused by its live preconditions) step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Pairs a step's `started` record with its end (empty in records of older versions).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(default)]
    pub phase: Phase,
    /// RFC 3339, UTC, when the step started: `2026-05-01T10:00:00.123Z`.
    pub time: String,
    /// The operator's login name on this machine.
    pub operator: String,
    /// This machine's host name.
    pub host: String,
    /// The configured node and its `host:port`.
    pub node: String,
    pub address: String,
    /// The action with its parameters (`{"action":"skip","count":1}`).
    pub action: StepAction,
    pub title: String,
    /// The statements as shown to the operator (password as `***`), in order.
    pub statements: Vec<String>,
    /// How many of them ran (0 when a precondition failed).
    pub statements_run: usize,
    pub preconditions: Vec<Condition>,
    pub postconditions: Vec<Condition>,
    /// Notes the step made while running (each skipped event with its error).
    pub notes: Vec<String>,
    pub ok: bool,
    /// What happened, or the error.
    pub result: String,
    pub duration_ms: u64,
}

impl AuditRecord {
    /// A step's record before it runs: when, who, where, what, and the statements as shown; what
    /// its end fills in (statements run, conditions, notes, result, duration) still empty.
    pub fn new(
        time: String,
        operator: &str,
        (node, address): (String, String),
        action: StepAction,
        title: String,
        statements: Vec<String>,
    ) -> AuditRecord {
        AuditRecord {
            id: String::new(),
            phase: Phase::Started,
            time,
            operator: operator.to_string(),
            host: host_name(),
            node,
            address,
            action,
            title,
            statements,
            statements_run: 0,
            preconditions: Vec::new(),
            postconditions: Vec::new(),
            notes: Vec::new(),
            ok: false,
            result: String::new(),
            duration_ms: 0,
        }
    }
}

impl AuditLog {
    pub fn new(path: impl Into<PathBuf>) -> AuditLog {
        AuditLog { path: path.into() }
    }

    /// The config's `audit_log` (with `~` expanded), else `$XDG_STATE_HOME/ringdeck/audit.log`.
    pub fn from_config(cfg: &Config) -> Result<AuditLog, String> {
        if let Some(p) = &cfg.audit_log {
            return Ok(AuditLog::new(crate::config::paths::expand_tilde(p)));
        }
        let dir = crate::config::paths::state_dir()
            .ok_or("cannot find the state dir for the audit log: set HOME or XDG_STATE_HOME, or audit_log")?;
        Ok(AuditLog::new(dir.join("audit.log")))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record as a JSON line and syncs it to disk (blocking; small).
    pub fn append(&self, rec: &AuditRecord) -> Result<(), String> {
        let shown = self.path.display();
        let mut line = serde_json::to_string(rec).map_err(|e| format!("cannot encode the audit record: {e}"))?;
        line.push('\n');
        let mut f = crate::statefile::open_private_append(&self.path)?;
        // One write of one line: with O_APPEND, concurrent writers never interleave inside it.
        f.write_all(line.as_bytes()).map_err(|e| format!("cannot write {shown}: {e}"))?;
        f.sync_data().map_err(|e| format!("cannot sync {shown}: {e}"))?;
        Ok(())
    }

    /// Writes the `started` record of a step (synced before it returns): a copy of `rec` with a
    /// fresh id, nothing run yet. Returns the id for the step's final record.
    pub fn begin(&self, rec: &AuditRecord) -> Result<String, String> {
        let id = crate::fork::new_id();
        let started = AuditRecord {
            id: id.clone(),
            phase: Phase::Started,
            statements_run: 0,
            ok: false,
            result: "started".into(),
            duration_ms: 0,
            ..rec.clone()
        };
        self.append(&started)?;
        Ok(id)
    }

    /// Reads every line: a record, or the line and why it does not parse.
    pub fn read(&self) -> Result<Vec<Result<AuditRecord, String>>, std::io::Error> {
        let text = std::fs::read_to_string(&self.path)?;
        Ok(text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).map_err(|e| format!("{e}: {l}")))
            .collect())
    }
}

/// The operator's login name: `$USER`, `$LOGNAME`, else the name of the current uid.
pub fn operator() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| nix::unistd::User::from_uid(nix::unistd::getuid()).ok().flatten().map(|u| u.name))
        .unwrap_or_else(|| format!("uid {}", nix::unistd::getuid()))
}

/// This machine's host name.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

fn mark(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "ok",
        Some(false) => "FAIL",
        None => "?",
    }
}

/// A record for people: a header line, then statements, conditions, notes and the result.
pub fn format_record(r: &AuditRecord) -> String {
    let mut out = format!(
        "{}  {}@{}  {} ({})  {}  {}  {} ms\n",
        r.time,
        r.operator,
        r.host,
        r.node,
        r.address,
        r.title,
        match (r.phase, r.ok) {
            (Phase::Started, _) => "INTERRUPTED (started, never ended: it may have run in part)",
            (Phase::Ended, true) => "OK",
            (Phase::Ended, false) => "FAILED",
        },
        r.duration_ms
    );
    for (i, s) in r.statements.iter().enumerate() {
        let ran = if i < r.statements_run { ">" } else { " " };
        out.push_str(&format!("    {ran} {s}\n"));
    }
    for (label, conds) in [("pre ", &r.preconditions), ("post", &r.postconditions)] {
        for c in conds {
            out.push_str(&format!("    {label} [{}] {}: {}\n", mark(c.ok), c.what, c.seen));
        }
    }
    for n in &r.notes {
        out.push_str(&format!("    note {n}\n"));
    }
    out.push_str(&format!("    result: {}\n", r.result));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fmt::rfc3339;
    use std::os::unix::fs::PermissionsExt;
    use std::time::UNIX_EPOCH;

    pub(crate) fn record() -> AuditRecord {
        AuditRecord {
            id: String::new(),
            phase: Phase::Ended,
            time: rfc3339(UNIX_EPOCH),
            operator: "alice".into(),
            host: "ops1".into(),
            node: "node2".into(),
            address: "127.0.0.1:3302".into(),
            action: StepAction::Skip { count: 1 },
            title: "skip 1 event on node2".into(),
            statements: vec!["STOP SLAVE".into()],
            statements_run: 1,
            preconditions: vec![Condition { what: "w".into(), ok: Some(true), seen: "s".into() }],
            postconditions: Vec::new(),
            notes: vec!["n".into()],
            ok: true,
            result: "done".into(),
            duration_ms: 12,
        }
    }

    #[test]
    fn appends_lines_with_mode_600() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path().join("sub/audit.log"));
        log.append(&record()).unwrap();
        log.append(&record()).unwrap();
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert_eq!(text.lines().count(), 2);
        let v: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(v["time"], "1970-01-01T00:00:00.000Z");
        assert_eq!(v["operator"], "alice");
        assert_eq!(v["node"], "node2");
        assert_eq!(v["address"], "127.0.0.1:3302");
        assert_eq!(v["action"]["action"], "skip");
        assert_eq!(v["statements"][0], "STOP SLAVE");
        assert_eq!(v["preconditions"][0]["ok"], true);
        assert_eq!(v["ok"], true);
        assert_eq!(v["duration_ms"], 12);
        let mode = std::fs::metadata(log.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dmode = std::fs::metadata(dir.path().join("sub")).unwrap().permissions().mode() & 0o777;
        assert_eq!(dmode, 0o700);
        let read = log.read().unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].as_ref().unwrap(), &record());
        let shown = format_record(&record());
        assert!(shown.starts_with("1970-01-01T00:00:00.000Z  alice@ops1  node2 (127.0.0.1:3302)  skip 1 event"));
        assert!(shown.contains("    > STOP SLAVE\n"), "{shown}");
    }
}
