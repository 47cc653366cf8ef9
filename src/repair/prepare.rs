//! Planning a repair against the servers (it only reads): the ring's state (a broken link or a
//! node that does not answer refuses, unless every key is a recorded fork's), a wait until every
//! write made before now has gone all the way around (so a row still travelling is not taken for
//! a difference), each differing table's definition, triggers and foreign keys, and each
//! differing key's row on every node, read again: a key whose rows changed since the verify is
//! left out (it is still being written), one that is now equal is dropped.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use mysql_async::Value;
use tokio::sync::mpsc::UnboundedSender;

use super::Prefer;
use super::plan::{KeyCase, Plan, Seen, TableMeta, decide};
use super::sql;
use crate::config::Config;
use crate::config::login::Logins;
use crate::db::node_inputs;
use crate::db::session::{Node, Session, cell, open, send};
use crate::fork::Fork;
use crate::model::replication::BinlogPos;
use crate::model::topology::{LinkState, Thresholds, Topology, Upstream};
use crate::verify::chunk::Column;
use crate::verify::{Key, Report, RowState, TableReport, TableStatus};

/// How long to wait for the ring to apply everything written before the plan.
const CATCH_UP: Duration = Duration::from_secs(30);

/// The ring right now: `Err` with the reason when a node does not answer or a link is broken;
/// and the most complete node when the model names one.
pub async fn ring_now(cfg: &Config, logins: &Logins) -> (Result<(), String>, Option<usize>) {
    let polled = crate::db::read_all(cfg, logins, cfg.timeout.0).await;
    let inp = node_inputs(cfg, &polled);
    let topo = Topology::build(&inp, &Thresholds::default());
    let mut why = Vec::new();
    for (n, p) in cfg.nodes.iter().zip(&polled) {
        if let Err(e) = p {
            why.push(format!("{} does not answer ({e})", n.name()));
        }
    }
    for l in topo.links.iter().filter(|l| l.state == LinkState::Broken) {
        why.push(format!(
            "link {} -> {} is broken ({})",
            topo.upstream_name(&inp, l),
            inp[l.downstream].name,
            l.problem.as_deref().unwrap_or("")
        ));
    }
    let state = if why.is_empty() { Ok(()) } else { Err(why.join("; ")) };
    (state, topo.most_complete.map(|m| m.node))
}

/// Waits until every write made before now has been applied all the way around: in as many
/// rounds as the ring has hops, every link's executed upstream position reaches where its
/// upstream's binlog was when the round began. `Err` when that does not happen in time.
pub async fn catch_up(cfg: &Config, logins: &Logins, deadline: Duration) -> Result<(), String> {
    let end = Instant::now() + deadline;
    for _ in 1..cfg.nodes.len().max(2) {
        let start = crate::db::read_all(cfg, logins, cfg.timeout.0).await;
        let at: Vec<Option<BinlogPos>> = start.iter().map(|s| s.as_ref().ok().and_then(|s| s.binlog.clone())).collect();
        loop {
            let now = crate::db::read_all(cfg, logins, cfg.timeout.0).await;
            let inp = node_inputs(cfg, &now);
            let topo = Topology::build(&inp, &Thresholds::default());
            let behind: Vec<String> = topo
                .links
                .iter()
                .filter_map(|l| {
                    let Upstream::Node(u) = l.upstream else { return None };
                    let want = at.get(u)?.as_ref()?;
                    let done = (l.executed.file.as_str(), l.executed.position) >= (want.file.as_str(), want.position);
                    (!done).then(|| format!("{} -> {}", inp[u].name, inp[l.downstream].name))
                })
                .collect();
            if behind.is_empty() {
                break;
            }
            if Instant::now() >= end {
                return Err(format!(
                    "replication did not apply what was written before the plan within {}s (behind: {})",
                    deadline.as_secs(),
                    behind.join(", ")
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// A table's definition, triggers and foreign keys, read on `node`.
pub async fn table_meta(node: &mut Node, s: &str, tb: &str) -> Result<TableMeta, String> {
    let columns: Vec<Column> =
        node.query(&crate::verify::sql::columns(s, tb)).await?.iter().map(Column::from_row).collect();
    let pk: Vec<String> = node
        .query(&crate::verify::sql::primary_key(s, tb))
        .await?
        .iter()
        .filter_map(|r| cell(r, "c").map(str::to_string))
        .collect();
    let triggers = node
        .query(&sql::triggers(s, tb))
        .await?
        .iter()
        .map(|r| {
            format!("{} {} {}", cell(r, "n").unwrap_or(""), cell(r, "w").unwrap_or(""), cell(r, "e").unwrap_or(""))
        })
        .collect();
    let foreign_keys = node
        .query(&sql::foreign_keys(s, tb))
        .await?
        .iter()
        .map(|r| {
            let g = |k: &str| cell(r, k).unwrap_or("").to_string();
            format!(
                "{}.{}.{} -> {}.{}.{} ON DELETE {} ON UPDATE {}",
                g("fs"),
                g("ft"),
                g("fc"),
                g("rs"),
                g("rt"),
                g("rc"),
                g("d"),
                g("u")
            )
        })
        .collect();
    Ok(TableMeta { schema: s.to_string(), table: tb.to_string(), columns, pk, triggers, foreign_keys })
}

/// Every node's row for `key` (`FOR UPDATE` when `lock`, inside the caller's transaction).
pub async fn read_key(node: &mut Node, t: &TableMeta, key: &Key, lock: bool) -> Seen {
    let cols: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
    let q = sql::key_row(&t.schema, &t.table, &t.pk, &cols, lock);
    match node.exec(&q, key.params()).await {
        Ok(rows) => match rows.into_iter().next() {
            None => Seen::Absent,
            Some(r) => {
                let mut values: Vec<Value> =
                    (0..r.len()).map(|i| r.as_ref(i).cloned().unwrap_or(Value::NULL)).collect();
                if values.is_empty() {
                    return Seen::Unknown("an empty row".into());
                }
                let crc = crate::db::value_text(&values.remove(0)).and_then(|t| t.parse::<u64>().ok());
                match crc {
                    Some(crc) => Seen::Row { values, crc },
                    None => Seen::Unknown("no CRC for the row".into()),
                }
            }
        },
        Err(e) => Seen::Unknown(e),
    }
}

/// What the verify saw on each node for a row (`Some(None)`: missing; `None`: not known).
fn reported(t: &TableReport, key: &Key, names: &[String]) -> Vec<Option<Option<u64>>> {
    let row = t.differing_rows().find(|r| &r.key == key);
    names
        .iter()
        .map(|n| {
            let rn = row.and_then(|r| r.nodes.iter().find(|x| &x.node == n))?;
            match rn.state {
                RowState::Has | RowState::Differs => Some(rn.crc),
                RowState::Missing => Some(None),
                RowState::Unknown => None,
            }
        })
        .collect()
}

/// Plans the repair of every differing key `report` lists. `Err` only when nothing can be tried.
// Long on purpose: one pipeline (read the ring, wait until every write went around, re-read the keys, drop
// settled ones, plan) whose stages share the sessions and the progress channel.
pub async fn prepare(
    cfg: &Config,
    logins: &Logins,
    report: &Report,
    prefer: &Prefer,
    max_rows: usize,
    forks: &[Fork],
    progress: Option<UnboundedSender<String>>,
) -> Result<Plan, String> {
    if cfg.nodes.is_empty() {
        return Err("the config names no [[node]] to repair".into());
    }
    let names: Vec<String> = cfg.nodes.iter().map(|n| n.name().to_string()).collect();
    let mut plan = Plan::new(names.clone(), max_rows);
    send(&progress, "reading the ring".into());
    let (mut ring, most_complete) = ring_now(cfg, logins).await;
    if ring.is_ok() {
        send(&progress, "waiting until every write made so far has gone around the ring".into());
        if let Err(e) = catch_up(cfg, logins, CATCH_UP).await {
            ring = Err(e);
        }
    }
    let query_t = (cfg.timeout.0 * 20).max(Duration::from_secs(60));
    let mut nodes: Vec<Node> =
        join_all((0..cfg.nodes.len()).map(|i| open(cfg, logins, i, query_t, Session::ReadOnly))).await;
    let mut hard = Vec::new();
    for m in &report.missing_schemas {
        hard.push(format!("schema {} is missing on {}: create it there first", m.schema, m.missing_on.join(", ")));
    }
    for t in report.differing() {
        match t.status {
            TableStatus::Missing => {
                hard.push(format!("{} is missing on some node: create the table there first", t.name()));
                continue;
            }
            TableStatus::Error => {
                hard.push(format!("{} could not be compared on every node", t.name()));
                continue;
            }
            _ => {}
        }
        let Some(reader) = nodes.iter_mut().find(|n| n.reachable()) else { break };
        let meta = match table_meta(reader, &t.schema, &t.table).await {
            Ok(m) => m,
            Err(e) => {
                hard.push(format!("{}: cannot read its definition: {e}", t.name()));
                continue;
            }
        };
        let name = meta.name();
        if !meta.triggers.is_empty() {
            plan.warnings.push(format!(
                "{name} has triggers ({}): they fire on each node's repair statements (sql_log_bin = 0 does not stop them)",
                meta.triggers.join(", ")
            ));
        }
        if !meta.foreign_keys.is_empty() {
            plan.warnings.push(format!(
                "{name} has foreign keys ({}): a delete or key change here acts on the related rows of that node too",
                meta.foreign_keys.join("; ")
            ));
        }
        if !t.rows_complete() {
            plan.warnings.push(format!(
                "not every differing row of {name} was listed by the verify: run verify --repair again after this repair"
            ));
        }
        let ti = plan.tables.len();
        let pk_ok = !meta.pk.is_empty();
        plan.tables.push(meta);
        if !pk_ok {
            continue;
        }
        let keys: Vec<Key> = t.differing_rows().map(|r| r.key.clone()).collect();
        send(&progress, format!("{name}: reading {} differing key(s) on every node", keys.len()));
        for key in keys {
            let meta = &plan.tables[ti];
            let seen: Vec<Seen> = join_all(nodes.iter_mut().map(|n| async {
                if n.reachable() {
                    read_key(n, meta, &key, false).await
                } else {
                    Seen::Unknown(n.error.clone().unwrap_or_else(|| "not connected".into()))
                }
            }))
            .await;
            let was = reported(t, &key, &names);
            let changed: Vec<&str> = seen
                .iter()
                .zip(&was)
                .zip(&names)
                .filter(|((s, w), _)| !matches!(s, Seen::Unknown(_)) && w.is_some_and(|w| w != s.crc()))
                .map(|(_, n)| n.as_str())
                .collect();
            let key_text = meta.key_text(&key);
            if !changed.is_empty() {
                plan.notes.push(format!(
                    "{name} {key_text} left out: its row changed on {} since the verify (still being written?)",
                    changed.join(", ")
                ));
                continue;
            }
            let known: Vec<Option<u64>> =
                seen.iter().filter(|s| !matches!(s, Seen::Unknown(_))).map(Seen::crc).collect();
            if known.len() == seen.len() && known.windows(2).all(|w| w[0] == w[1]) {
                plan.notes.push(format!("{name} {key_text} is equal on every node now"));
                continue;
            }
            let fork = forks.iter().find(|f| f.covers(&name, &key));
            let fork_keep = fork.and_then(|f| names.iter().position(|n| n == f.keep()));
            let mut case = KeyCase {
                table: ti,
                key,
                seen,
                fork: fork.map(|f| f.id.clone()),
                keep: Err(String::new()),
                why: String::new(),
            };
            let (keep, why) = decide(&case, &names, prefer, most_complete, fork_keep);
            case.keep = keep;
            case.why = why;
            plan.cases.push(case);
        }
    }
    for n in &mut nodes {
        if !n.reachable() {
            hard.push(format!("{} cannot be read: {}", n.name, n.error.as_deref().unwrap_or("not connected")));
        }
        n.close().await;
    }
    plan.blockers = hard;
    plan.ring = ring;
    plan.recompute();
    send(&progress, format!("planned: {} key(s), {} row change(s)", plan.cases.len(), plan.changes.len()));
    Ok(plan)
}
