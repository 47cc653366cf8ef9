//! Gathering a conflict (it only reads, every query under a timeout): for a node whose SQL thread
//! stopped on an error, the failing transaction from its upstream's binlog, the key it collided
//! on, that key's row on every node, which nodes have the event and which never will if it is
//! skipped. For a real conflict both directions break (each node's event collides on the
//! other's side): every other link stopped on the same table and key is inspected too.

use std::time::Duration;

use futures_util::future::join_all;
use mysql_async::Value;

use super::event::{RowChange, RowOp, Transaction};
use super::read::read_transaction;
use crate::config::Config;
use crate::config::login::Logins;
use crate::db::session::{Node, Session, open};
use crate::fork::{downstreams, spread};
use crate::model::replication::NodeStatus;
use crate::model::topology::{Thresholds, Topology, Upstream, error_facts, error_gist};
use crate::repair::plan::{Seen, TableMeta};
use crate::repair::prepare::{read_key, table_meta};
use crate::verify::Key;

/// One stopped link and what it stopped on.
#[derive(Clone, Debug, PartialEq)]
pub struct Conflict {
    /// The node whose SQL thread stopped, and its upstream.
    pub node: String,
    pub upstream: String,
    pub errno: u32,
    pub error: String,
    /// `binlog-n1.000001:2974` where the failing transaction starts on the upstream.
    pub at: String,
    pub tx: Transaction,
    /// The node that first wrote the transaction (its server_id matched to a node).
    pub origin: Option<String>,
    pub meta: Option<TableMeta>,
    /// The key it collided on, and the event's row for it.
    pub key: Option<Key>,
    pub event_row: Option<RowChange>,
    /// Rows of the transaction that touch that key.
    pub touching: usize,
    /// That key on every node, config order.
    pub rows: Vec<(String, Seen)>,
    /// Columns (indexes) whose value is not the same in the event's image and on every node.
    pub differing: Vec<usize>,
    /// Nodes that applied the event, and those that will never get it if it is skipped.
    pub reached: Vec<String>,
    pub never: Vec<String>,
}

/// Everything the inspector shows for a node.
#[derive(Clone, Debug, PartialEq)]
pub struct Inspection {
    pub node: String,
    /// The node's own stopped link first, then the other direction of a double break.
    pub conflicts: Vec<Conflict>,
}

/// The image of a row change that holds its key: the after image of an insert or update, the
/// before image of a delete (and of an update, for a row not found).
fn image(r: &RowChange, errno: u32) -> Option<&Vec<Value>> {
    match (r.op, errno) {
        (RowOp::Delete, _) | (RowOp::Update, 1032) => r.before.as_ref(),
        _ => r.after.as_ref().or(r.before.as_ref()),
    }
}

fn key_of(meta: &TableMeta, values: &[Value]) -> Option<Key> {
    let idx: Vec<usize> = meta.pk.iter().filter_map(|k| meta.columns.iter().position(|c| &c.name == k)).collect();
    let cols: Vec<&crate::verify::chunk::Column> = idx.iter().map(|i| &meta.columns[*i]).collect();
    let vals: Vec<Value> = idx.iter().map(|i| values.get(*i).cloned().unwrap_or(Value::NULL)).collect();
    Key::from_values(&vals, &cols)
}

/// Reads the conflicts of `node` (its links stopped on an SQL error, and the other direction).
pub async fn inspect(cfg: &Config, logins: &Logins, node: &str, timeout: Duration) -> Result<Inspection, String> {
    let polled: Vec<Result<NodeStatus, String>> = crate::db::read_all(cfg, logins, timeout).await;
    let inputs = crate::db::node_inputs(cfg, &polled);
    let topo = Topology::build(&inputs, &Thresholds::default());
    let names: Vec<String> = cfg.nodes.iter().map(|n| n.name().to_string()).collect();
    let d = names.iter().position(|n| n == node).ok_or_else(|| format!("no [[node]] is named {node:?}"))?;
    if let Err(e) = &polled[d] {
        return Err(format!("{node} does not answer: {e}"));
    }
    let stopped = |i: usize| -> Vec<crate::model::replication::ReplicaLink> {
        polled[i]
            .as_ref()
            .map(|s| s.links.iter().filter(|l| l.last_sql_errno != 0).cloned().collect())
            .unwrap_or_default()
    };
    let mine = stopped(d);
    if mine.is_empty() {
        return Err(format!("{node}'s SQL thread has no error: nothing to inspect"));
    }
    let query_t = (timeout * 10).max(Duration::from_secs(30));
    let mut readers: Vec<Node> =
        join_all((0..cfg.nodes.len()).map(|i| open(cfg, logins, i, query_t, Session::ReadOnly))).await;
    let mut conflicts = Vec::new();
    for l in &mine {
        conflicts.push(conflict(cfg, logins, &polled, &topo, &mut readers, d, l, timeout).await?);
    }
    // The other direction of a double break: another link stopped on the same table and key.
    if let Some(first) = conflicts.first().cloned() {
        for (i, _) in names.iter().enumerate().filter(|(i, _)| *i != d) {
            for l in stopped(i) {
                let c = conflict(cfg, logins, &polled, &topo, &mut readers, i, &l, timeout).await?;
                if c.key.is_some()
                    && c.key == first.key
                    && c.meta.as_ref().map(TableMeta::name) == first.meta.as_ref().map(TableMeta::name)
                {
                    conflicts.push(c);
                }
            }
        }
    }
    for r in &mut readers {
        r.close().await;
    }
    Ok(Inspection { node: node.to_string(), conflicts })
}

#[allow(clippy::too_many_arguments)] // the inspection's shared reads, passed down rather than re-read
// Long on purpose: one pipeline (the failing event, its key, every node's row, the other direction of a
// double break) over the same sessions.
async fn conflict(
    cfg: &Config,
    logins: &Logins,
    polled: &[Result<NodeStatus, String>],
    topo: &Topology,
    readers: &mut [Node],
    d: usize,
    l: &crate::model::replication::ReplicaLink,
    timeout: Duration,
) -> Result<Conflict, String> {
    let names: Vec<String> = cfg.nodes.iter().map(|n| n.name().to_string()).collect();
    let link = topo.links.iter().find(|x| x.downstream == d && x.connection == l.connection);
    let u = match link.map(|x| &x.upstream) {
        Some(Upstream::Node(u)) => *u,
        _ => {
            return Err(format!(
                "{}'s upstream {}:{} is not a configured node",
                names[d], l.master_host, l.master_port
            ));
        }
    };
    let facts = error_facts(&l.last_sql_error);
    let end = facts.at.as_deref().and_then(|a| a.rsplit(' ').next()).and_then(|p| p.parse().ok());
    let tx = read_transaction(
        &cfg.nodes[u],
        &logins.nodes[u],
        Some(&cfg.nodes[d]),
        &l.relay_master_log_file,
        l.exec_master_log_pos,
        end,
        (timeout * 10).max(Duration::from_secs(30)),
    )
    .await
    .map_err(|e| {
        format!("reading {}'s binlog at {}:{}: {e}", names[u], l.relay_master_log_file, l.exec_master_log_pos)
    })?;
    let origin =
        tx.server_id.and_then(|id| polled.iter().position(|p| p.as_ref().is_ok_and(|s| s.vars.server_id == id)));
    let failing: Vec<&RowChange> = {
        let f: Vec<&RowChange> = tx.rows.iter().filter(|r| r.failing).collect();
        if f.is_empty() { tx.rows.iter().collect() } else { f }
    };
    let table = facts.table.clone().or_else(|| failing.first().map(|r| r.table.clone()));
    let meta = match table.as_deref().and_then(|t| t.split_once('.')) {
        Some((s, t)) => match readers.get_mut(d) {
            Some(r) if r.reachable() => table_meta(r, s, t).await.ok(),
            _ => None,
        },
        None => None,
    };
    let mut key = None;
    let mut event_row = None;
    if let Some(m) = &meta {
        let candidates: Vec<(Key, &RowChange)> = failing
            .iter()
            .filter(|r| r.table == m.name())
            .filter_map(|r| image(r, l.last_sql_errno).and_then(|v| key_of(m, v)).map(|k| (k, *r)))
            .collect();
        let by_entry = facts.entry.as_ref().and_then(|e| candidates.iter().find(|(k, _)| crate::fork::entry_is(k, e)));
        let mut chosen = by_entry.cloned();
        if chosen.is_none() && l.last_sql_errno == 1032 {
            for (k, r) in &candidates {
                if matches!(read_key(&mut readers[d], m, k, false).await, Seen::Absent) {
                    chosen = Some((k.clone(), *r));
                    break;
                }
            }
        }
        if let Some((k, r)) = chosen.or_else(|| candidates.first().cloned()) {
            key = Some(k);
            event_row = Some(r.clone());
        }
    }
    let mut rows = Vec::new();
    if let (Some(m), Some(k)) = (&meta, &key) {
        let seen: Vec<Seen> = join_all(readers.iter_mut().map(|r| async {
            if r.reachable() {
                read_key(r, m, k, false).await
            } else {
                Seen::Unknown(r.error.clone().unwrap_or_default())
            }
        }))
        .await;
        rows = names.iter().cloned().zip(seen).collect();
    }
    let touching = match (&meta, &key) {
        (Some(m), Some(k)) => tx
            .rows
            .iter()
            .filter(|r| r.table == m.name())
            .filter(|r| [&r.before, &r.after].iter().any(|v| v.as_ref().and_then(|v| key_of(m, v)).as_ref() == Some(k)))
            .count(),
        _ => 0,
    };
    let differing = match (&event_row, &meta) {
        (Some(r), Some(m)) => {
            let ev = image(r, l.last_sql_errno).cloned().unwrap_or_default();
            (0..m.columns.len())
                .filter(|c| {
                    rows.iter().any(|(_, s)| match s {
                        Seen::Row { values, .. } => values.get(*c) != ev.get(*c),
                        _ => false,
                    })
                })
                .collect()
        }
        _ => Vec::new(),
    };
    let next = downstreams(names.len(), &topo.links);
    let (has, never) = spread(&next, origin.unwrap_or(u), d);
    Ok(Conflict {
        node: names[d].clone(),
        upstream: names[u].clone(),
        errno: l.last_sql_errno,
        error: error_gist(&l.last_sql_error),
        at: format!("{}:{}", l.relay_master_log_file, l.exec_master_log_pos),
        tx,
        origin: origin.map(|o| names[o].clone()),
        meta,
        key,
        event_row,
        touching,
        rows,
        differing,
        reached: has.iter().map(|i| names[*i].clone()).collect(),
        never: never.iter().map(|i| names[*i].clone()).collect(),
    })
}
