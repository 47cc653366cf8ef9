//! Planning a step (pure, no I/O): from the action, the config and the last known samples, the
//! exact statements in the node's dialect, the pre- and postconditions (unchecked), the expected
//! effect, the warnings (what a skip loses where in the ring) and the danger level.
//!
//! The conditions are backed by [`Check`]s, which the engine evaluates against a live read of the
//! node with [`evaluate`]; [`checks`] rebuilds them from a planned [`Step`] in the same order.

use std::collections::BTreeMap;

use crate::config::{Config, NodeConfig};
use crate::model::replication::{Dialect, IoState, NodeStatus, ReplicaLink};
use crate::model::ring::{NodeIdent, upstream_of};
use crate::model::topology::error_gist;

use super::step::{Condition, Danger, Step, StepAction, Threads};
use crate::db::quote::sql_string;

mod actions;

use actions::{On, change_master, read_only, reset_master, reset_slave_all, skip, start_slave, stop_slave};

/// Errors `skip-until-healthy` skips unless told otherwise: duplicate key and row not found.
pub const DEFAULT_SKIP_ERRNOS: [u32; 2] = [1062, 1032];
/// How many events `skip-until-healthy` skips at most unless told otherwise.
pub const DEFAULT_SKIP_LIMIT: u32 = 10;

/// What one condition checks. Evaluated by [`evaluate`] on a live read of the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    /// The node has a replication link.
    HasLink,
    /// The SQL thread is stopped with a non-zero Last_SQL_Errno.
    SqlStoppedOnError,
    /// Last_SQL_Errno is still the one the step was planned for.
    ErrorIs(u32),
    /// Last_SQL_Errno is one of these.
    ErrnoIn(Vec<u32>),
    /// The IO and SQL threads are not both running.
    NotBothRunning,
    /// No link, or both threads stopped.
    ReplicationStopped,
    /// The upstream (a configured node) answers; the engine connects to it.
    UpstreamAnswering(String),
    /// The downstream's replication password resolves; the engine resolves it.
    ReplPassword,
    /// Postcondition: these threads are stopped.
    Stopped(Threads),
    /// Postcondition: IO and SQL threads running.
    BothRunning,
    /// Postcondition of a skip: the SQL thread runs without error, or stopped on a different error
    /// than before (the engine passes the error it saw before).
    SkipAdvanced,
    /// Postcondition: SQL thread running, no error.
    Healthy,
    /// Postcondition: no replication link left.
    NoLink,
    /// Postcondition: the binlog starts over (`.000001`).
    BinlogRestarted,
    /// Postcondition: the link's Master_Host/Port are these.
    MasterIs { host: String, port: u16 },
    /// Postcondition: `@@read_only` is this.
    ReadOnly(bool),
}

/// What the engine read live, for [`evaluate`].
#[derive(Clone, Debug, Default)]
pub struct Live<'a> {
    pub status: Option<&'a NodeStatus>,
    /// The SQL error seen before a skip (errno, text).
    pub error_before: Option<(u32, String)>,
    /// Result of connecting to the upstream (change master).
    pub upstream: Option<Result<String, String>>,
    /// Result of resolving the replication password (change master): `Ok(true)` when set.
    pub repl_password: Option<Result<bool, String>>,
}

/// `Slave_IO_Running = Yes, Slave_SQL_Running = No, Last_SQL_Errno = 1062`.
pub fn link_seen(l: &ReplicaLink) -> String {
    let io = match &l.io {
        IoState::Running => "Yes".to_string(),
        IoState::Connecting => "Connecting".to_string(),
        IoState::Stopped => "No".to_string(),
        IoState::Other(s) => s.clone(),
    };
    let mut s = format!("Slave_IO_Running = {io}, Slave_SQL_Running = {}", if l.sql_running { "Yes" } else { "No" });
    if l.last_sql_errno != 0 {
        s.push_str(&format!(", Last_SQL_Errno = {} ({})", l.last_sql_errno, error_gist(&l.last_sql_error)));
    }
    if l.last_io_errno != 0 {
        s.push_str(&format!(", Last_IO_Errno = {} ({})", l.last_io_errno, error_gist(&l.last_io_error)));
    }
    s
}

/// Evaluates one check: (ok, what was seen).
pub fn evaluate(check: &Check, live: &Live<'_>) -> (bool, String) {
    let Some(status) = live.status else {
        return (false, "the node could not be read".into());
    };
    let link = pick_link_any(status);
    let no_link = || (false, "no replication configured (replica status is empty)".to_string());
    match check {
        Check::HasLink => match link {
            Some(l) => (true, link_seen(l)),
            None => no_link(),
        },
        Check::SqlStoppedOnError => match link {
            Some(l) => (!l.sql_running && l.last_sql_errno != 0, link_seen(l)),
            None => no_link(),
        },
        Check::ErrorIs(errno) => match link {
            Some(l) => (l.last_sql_errno == *errno, format!("Last_SQL_Errno = {}", l.last_sql_errno)),
            None => no_link(),
        },
        Check::ErrnoIn(list) => match link {
            Some(l) => (list.contains(&l.last_sql_errno), format!("Last_SQL_Errno = {}", l.last_sql_errno)),
            None => no_link(),
        },
        Check::NotBothRunning => match link {
            Some(l) => (!(l.io == IoState::Running && l.sql_running), link_seen(l)),
            None => no_link(),
        },
        Check::ReplicationStopped => match link {
            Some(l) => (l.io == IoState::Stopped && !l.sql_running, link_seen(l)),
            None => (true, "no replication configured".into()),
        },
        Check::UpstreamAnswering(name) => match &live.upstream {
            Some(Ok(seen)) => (true, format!("{name}: {seen}")),
            Some(Err(e)) => (false, format!("{name}: {e}")),
            None => (false, format!("{name}: not checked")),
        },
        Check::ReplPassword => match &live.repl_password {
            Some(Ok(true)) => (true, "configured".into()),
            Some(Ok(false)) => (false, "neither replication_password nor replication_password_command is set".into()),
            Some(Err(e)) => (false, e.clone()),
            None => (false, "not checked".into()),
        },
        Check::Stopped(t) => match link {
            Some(l) => {
                let io = l.io == IoState::Stopped;
                let ok = match t {
                    Threads::Both => io && !l.sql_running,
                    Threads::Io => io,
                    Threads::Sql => !l.sql_running,
                };
                (ok, link_seen(l))
            }
            None => no_link(),
        },
        Check::BothRunning => match link {
            Some(l) => (l.io == IoState::Running && l.sql_running, link_seen(l)),
            None => no_link(),
        },
        Check::SkipAdvanced => match link {
            Some(l) => {
                let clean = l.sql_running && l.last_sql_errno == 0;
                let moved = l.last_sql_errno != 0
                    && live
                        .error_before
                        .as_ref()
                        .is_some_and(|(n, t)| (*n, t.as_str()) != (l.last_sql_errno, &l.last_sql_error));
                (clean || moved, link_seen(l))
            }
            None => no_link(),
        },
        Check::Healthy => match link {
            Some(l) => (l.sql_running && l.last_sql_errno == 0, link_seen(l)),
            None => no_link(),
        },
        Check::NoLink => match link {
            Some(l) => (false, format!("still replicating from {}:{}", l.master_host, l.master_port)),
            None => (true, "replica status is empty".into()),
        },
        Check::BinlogRestarted => match &status.binlog {
            Some(b) => (b.file.ends_with(".000001"), format!("{}:{}", b.file, b.position)),
            None => (false, "binary logging is off".into()),
        },
        Check::MasterIs { host, port } => match link {
            Some(l) => (
                l.master_port == *port && l.master_host.eq_ignore_ascii_case(host),
                format!("Master_Host = {}, Master_Port = {}", l.master_host, l.master_port),
            ),
            None => no_link(),
        },
        Check::ReadOnly(on) => (
            status.vars.read_only == *on,
            format!("@@read_only = {}", if status.vars.read_only { "ON" } else { "OFF" }),
        ),
    }
}

/// The link a step acts on when the node has one (or the broken one of several).
fn pick_link_any(status: &NodeStatus) -> Option<&ReplicaLink> {
    match status.links.len() {
        0 => None,
        1 => status.links.first(),
        _ => status.links.iter().find(|l| l.last_sql_errno != 0).or(status.links.first()),
    }
}

/// The link a step acts on; several links are refused unless exactly one is broken (skips).
fn pick_link<'a>(node: &str, action: &StepAction, status: &'a NodeStatus) -> Result<Option<&'a ReplicaLink>, String> {
    if status.links.len() <= 1 {
        return Ok(status.links.first());
    }
    let broken: Vec<&ReplicaLink> = status.links.iter().filter(|l| l.last_sql_errno != 0).collect();
    let skip = matches!(action, StepAction::Skip { .. } | StepAction::SkipUntilHealthy { .. });
    if skip && broken.len() == 1 {
        return Ok(broken.first().copied());
    }
    let names: Vec<String> = status.links.iter().map(|l| format!("{:?}", l.connection)).collect();
    Err(format!(
        "{node} has {} replication connections ({}); ringdeck acts on nodes with one: use the SQL client",
        status.links.len(),
        names.join(", ")
    ))
}

/// Statement builder for one dialect and connection (MariaDB connection name / MySQL channel).
#[derive(Clone, Copy, Debug)]
pub struct Sql<'a> {
    pub dialect: Dialect,
    pub connection: &'a str,
}

impl Sql<'_> {
    fn modern(&self) -> bool {
        matches!(self.dialect, Dialect::MySql80 | Dialect::MySql84)
    }
    fn word(&self) -> &'static str {
        if self.modern() { "REPLICA" } else { "SLAVE" }
    }
    /// ` 'name'` after SLAVE on MariaDB with a named connection.
    pub(super) fn maria_name(&self) -> String {
        if self.dialect == Dialect::MariaDb && !self.connection.is_empty() {
            format!(" {}", sql_string(self.connection))
        } else {
            String::new()
        }
    }
    /// ` FOR CHANNEL 'name'` on MySQL with a named channel.
    pub(super) fn channel(&self) -> String {
        if self.dialect != Dialect::MariaDb && !self.connection.is_empty() {
            format!(" FOR CHANNEL {}", sql_string(self.connection))
        } else {
            String::new()
        }
    }

    pub fn stop(&self, threads: Threads) -> String {
        let t = match threads {
            Threads::Both => "",
            Threads::Io => " IO_THREAD",
            Threads::Sql => " SQL_THREAD",
        };
        format!("STOP {}{}{t}{}", self.word(), self.maria_name(), self.channel())
    }

    pub fn start(&self) -> String {
        format!("START {}{}{}", self.word(), self.maria_name(), self.channel())
    }

    /// The skip counter, preceded on MariaDB by the session's default connection when named.
    pub fn skip_counter(&self, n: u32) -> Vec<String> {
        let var = if self.modern() { "sql_replica_skip_counter" } else { "sql_slave_skip_counter" };
        let mut v = Vec::new();
        if self.dialect == Dialect::MariaDb && !self.connection.is_empty() {
            v.push(format!("SET @@default_master_connection={}", sql_string(self.connection)));
        }
        v.push(format!("SET GLOBAL {var} = {n}"));
        v
    }

    pub fn reset_master(&self) -> String {
        if self.dialect == Dialect::MySql84 { "RESET BINARY LOGS AND GTIDS".into() } else { "RESET MASTER".into() }
    }

    pub fn reset_slave_all(&self) -> String {
        format!("RESET {}{} ALL{}", self.word(), self.maria_name(), self.channel())
    }

    pub fn read_only(&self, on: bool) -> String {
        format!("SET GLOBAL read_only = {}", if on { "ON" } else { "OFF" })
    }
}

/// A MySQL GTID set as source UUID (lower case) -> sorted intervals. Tags and junk are ignored.
pub fn parse_gtid_set(text: &str) -> BTreeMap<String, Vec<(u64, u64)>> {
    let mut out: BTreeMap<String, Vec<(u64, u64)>> = BTreeMap::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut it = part.split(':');
        let Some(uuid) = it.next() else { continue };
        let entry = out.entry(uuid.trim().to_ascii_lowercase()).or_default();
        for r in it {
            let r = r.trim();
            let (a, b) = r.split_once('-').unwrap_or((r, r));
            if let (Ok(a), Ok(b)) = (a.trim().parse::<u64>(), b.trim().parse::<u64>()) {
                entry.push((a.min(b), a.max(b)));
            }
        }
        entry.sort_unstable();
    }
    out
}

/// The first sequence number of `ranges` not covered by `done`.
fn first_missing(ranges: &[(u64, u64)], done: &[(u64, u64)]) -> Option<u64> {
    for &(a, b) in ranges {
        let mut s = a;
        while s <= b {
            match done.iter().find(|(x, y)| *x <= s && s <= *y) {
                Some(&(_, y)) => s = y.saturating_add(1),
                None => return Some(s),
            }
        }
    }
    None
}

/// The GTID of the transaction that failed on a MySQL replica with auto-position: named in the
/// error text (`... executing transaction 'uuid:23' ...`), else the only transaction retrieved but
/// not executed. `Err` says why it cannot be told.
pub fn failing_gtid(link: &ReplicaLink, executed: &str) -> Result<String, String> {
    let err = &link.last_sql_error;
    if let Some(i) = err.find("transaction '") {
        let rest = &err[i + "transaction '".len()..];
        if let Some(end) = rest.find('\'') {
            let g = &rest[..end];
            let ok = g.split_once(':').is_some_and(|(u, n)| {
                !u.is_empty() && u.chars().all(|c| c.is_ascii_hexdigit() || c == '-') && n.parse::<u64>().is_ok()
            });
            if ok {
                return Ok(g.to_string());
            }
        }
    }
    let retrieved = parse_gtid_set(&link.gtid_io_pos);
    let executed = parse_gtid_set(executed);
    let missing: Vec<String> = retrieved
        .iter()
        .filter_map(|(uuid, ranges)| {
            let done = executed.get(uuid).map(Vec::as_slice).unwrap_or(&[]);
            first_missing(ranges, done).map(|n| format!("{uuid}:{n}"))
        })
        .collect();
    match missing.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!(
            "cannot tell the failing GTID: every retrieved transaction ({}) is already executed",
            if link.gtid_io_pos.is_empty() { "none" } else { &link.gtid_io_pos }
        )),
        many => Err(format!(
            "cannot tell the failing GTID: several sources have unexecuted transactions ({})",
            many.join(", ")
        )),
    }
}

/// Whether the link replicates with MySQL GTID auto-position (where the skip counter is refused).
fn mysql_auto_position(dialect: Dialect, link: &ReplicaLink) -> bool {
    dialect != Dialect::MariaDb && link.using_gtid.trim() == "1"
}

/// The statements that skip `count` events on `link` of a node in `status`: the skip counter
/// between a stop and a start, or with MySQL auto-position an empty transaction with the failing GTID.
pub fn skip_statements(status: &NodeStatus, link: &ReplicaLink, count: u32) -> Result<Vec<String>, String> {
    let sql = Sql { dialect: status.dialect, connection: &link.connection };
    let mut v = vec![sql.stop(Threads::Both)];
    if mysql_auto_position(status.dialect, link) {
        if count != 1 {
            return Err("with GTID auto-position a skip is one empty transaction per GTID: skip 1 at a time".into());
        }
        let gtid = failing_gtid(link, &status.vars.gtid_binlog_pos)?;
        v.push(format!("SET GTID_NEXT={}", sql_string(&gtid)));
        v.push("BEGIN".into());
        v.push("COMMIT".into());
        v.push("SET GTID_NEXT='AUTOMATIC'".into());
    } else {
        v.extend(sql.skip_counter(count));
    }
    v.push(sql.start());
    Ok(v)
}

/// Names of the nodes downstream of `node` around the ring, nearest first (stops when it comes back).
pub fn downstream_chain(node: &str, cfg: &Config, statuses: &[(&str, Option<&NodeStatus>)]) -> Vec<String> {
    let idents: Vec<NodeIdent<'_>> = cfg
        .nodes
        .iter()
        .map(|n| NodeIdent { host: &n.host, port: n.port, status: status_of(statuses, n.name()) })
        .collect();
    let Some(start) = cfg.nodes.iter().position(|n| n.name() == node) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut seen = vec![start];
    let mut cur = start;
    loop {
        let next = (0..idents.len()).find(|&j| {
            !seen.contains(&j)
                && idents[j].status.is_some_and(|s| s.links.iter().any(|l| upstream_of(l, &idents) == Some(cur)))
        });
        match next {
            Some(j) => {
                out.push(cfg.nodes[j].name().to_string());
                seen.push(j);
                cur = j;
            }
            None => return out,
        }
    }
}

/// The configured name of the node a link replicates from, or `host:port`.
pub(crate) fn upstream_name(link: &ReplicaLink, cfg: &Config, statuses: &[(&str, Option<&NodeStatus>)]) -> String {
    let idents: Vec<NodeIdent<'_>> = cfg
        .nodes
        .iter()
        .map(|n| NodeIdent { host: &n.host, port: n.port, status: status_of(statuses, n.name()) })
        .collect();
    match upstream_of(link, &idents) {
        Some(i) => cfg.nodes[i].name().to_string(),
        None => format!("{}:{}", link.master_host, link.master_port),
    }
}

pub(crate) fn status_of<'a>(statuses: &[(&str, Option<&'a NodeStatus>)], name: &str) -> Option<&'a NodeStatus> {
    statuses.iter().find(|(n, _)| *n == name).and_then(|(_, s)| *s)
}

pub(crate) fn cond(what: impl Into<String>) -> Condition {
    Condition { what: what.into(), ok: None, seen: String::new() }
}

fn list(names: &[String]) -> String {
    match names {
        [] => "none".into(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The `what` text of [`Check::ErrorIs`]; [`checks`] reads the errno back from it.
fn error_is_text(errno: u32, error: &str) -> String {
    format!("error is {errno}: {}", error_gist(error))
}

/// The checks behind a planned step's pre- and postconditions, in the same order.
pub fn checks(step: &Step, cfg: &Config) -> (Vec<Check>, Vec<Check>) {
    match &step.action {
        StepAction::StopSlave { threads } => (vec![Check::HasLink], vec![Check::Stopped(*threads)]),
        StepAction::StartSlave => (vec![Check::HasLink, Check::NotBothRunning], vec![Check::BothRunning]),
        StepAction::Skip { .. } => {
            let errno = step
                .preconditions
                .iter()
                .find_map(|c| c.what.strip_prefix("error is ")?.split(':').next()?.trim().parse::<u32>().ok())
                .unwrap_or(0);
            (vec![Check::SqlStoppedOnError, Check::ErrorIs(errno)], vec![Check::SkipAdvanced])
        }
        StepAction::SkipUntilHealthy { errnos, .. } => {
            (vec![Check::SqlStoppedOnError, Check::ErrnoIn(errnos.clone())], vec![Check::Healthy])
        }
        StepAction::ResetMaster => (vec![Check::ReplicationStopped], vec![Check::BinlogRestarted]),
        StepAction::ResetSlaveAll => (vec![Check::HasLink], vec![Check::NoLink]),
        StepAction::ChangeMaster { upstream, .. } => (
            vec![Check::ReplicationStopped, Check::UpstreamAnswering(upstream.clone()), Check::ReplPassword],
            vec![match cfg.node(upstream) {
                Some(u) => Check::MasterIs { host: u.host.clone(), port: u.port },
                None => Check::MasterIs { host: String::new(), port: 0 },
            }],
        ),
        StepAction::ReadOnly { on } => (Vec::new(), vec![Check::ReadOnly(*on)]),
        StepAction::Bypass { upstream, .. } => (
            vec![Check::HasLink, Check::UpstreamAnswering(upstream.clone()), Check::ReplPassword],
            vec![
                match cfg.node(upstream) {
                    Some(u) => Check::MasterIs { host: u.host.clone(), port: u.port },
                    None => Check::MasterIs { host: String::new(), port: 0 },
                },
                Check::BothRunning,
            ],
        ),
        StepAction::Recover { .. } | StepAction::Repair { .. } | StepAction::ForgetFork { .. } => {
            (Vec::new(), Vec::new())
        }
        // Checked on the admin socket by `runbook::haproxy`.
        StepAction::HaproxyServer { .. } => (Vec::new(), Vec::new()),
        // Checked on the process list by `runbook::kill`.
        StepAction::Kill { .. } => (Vec::new(), Vec::new()),
    }
}

/// Plans `action` on the configured node `node`.
///
/// `statuses` are the last known samples by configured node name (the console passes its state;
/// the CLI polls once first). `Err` says why the step cannot be planned at all (unknown node, no
/// sample, a skip while the SQL thread is not stopped on an error, ...).
///
/// `ChangeMaster` with an empty `file` takes the upstream's binlog coordinates from its sample
/// (file and position both); the replication user and password come from the *downstream* node's
/// config (`replication_user`, `replication_password` / `replication_password_command`); the
/// password is shown as `'***'` and only put in by the engine.
pub fn plan_node(
    action: &StepAction,
    node: &str,
    cfg: &Config,
    statuses: &[(&str, Option<&NodeStatus>)],
) -> Result<Step, String> {
    let ncfg = cfg.node(node).ok_or_else(|| format!("no [[node]] is named {node:?} in the config"))?;
    let status =
        status_of(statuses, node).ok_or_else(|| format!("{node} has not answered yet: no sample to plan from"))?;
    let link = pick_link(node, action, status)?;
    let sql = Sql { dialect: status.dialect, connection: link.map_or("", |l| l.connection.as_str()) };
    let downstream = downstream_chain(node, cfg, statuses);
    let mut step = Step {
        action: action.clone(),
        node: node.to_string(),
        title: String::new(),
        statements: Vec::new(),
        preconditions: Vec::new(),
        postconditions: Vec::new(),
        effect: String::new(),
        warnings: Vec::new(),
        danger: Danger::Medium,
    };
    let o = On { node, cfg, statuses, status, link, sql, downstream, ncfg };
    match action {
        StepAction::StopSlave { threads } => stop_slave(&o, &mut step, threads)?,
        StepAction::StartSlave => start_slave(&o, &mut step)?,
        StepAction::Skip { count } | StepAction::SkipUntilHealthy { limit: count, .. } => {
            skip(&o, &mut step, action, count)?
        }
        StepAction::ResetMaster => reset_master(&o, &mut step)?,
        StepAction::ResetSlaveAll => reset_slave_all(&o, &mut step)?,
        StepAction::ChangeMaster { upstream, file, pos } => change_master(&o, &mut step, upstream, file, pos)?,
        StepAction::ReadOnly { on } => read_only(&o, &mut step, on)?,
        StepAction::Bypass { .. }
        | StepAction::Recover { .. }
        | StepAction::Kill { .. }
        | StepAction::Repair { .. }
        | StepAction::ForgetFork { .. } => {
            return Err("this step is planned by its own module".into());
        }
        StepAction::HaproxyServer { .. } => {}
    }
    Ok(step)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
