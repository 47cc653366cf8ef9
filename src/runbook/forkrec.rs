//! What a skip drops, recorded before it runs (the forked-data memory of `crate::fork`): the
//! failing event from the link's error and coordinates; who holds it and who never will from the
//! ring read now; its origin from the upstream's binlog (the event's server_id). Best effort:
//! every read has the engine's timeout, and what cannot be read is left out of the record.

use std::time::SystemTime;

use super::ctx::EngineCtx;
use crate::db::Target;
use crate::db::quote::sql_string;
use crate::fork::{Fork, downstreams, new_id, spread};
use crate::model::replication::{NodeStatus, ReplicaLink};
use crate::model::topology::{Thresholds, Topology, Upstream, error_facts, error_gist};

/// The server_id of the first event at `file:pos` in `upstream`'s binlog.
async fn origin_server_id(ctx: &EngineCtx, upstream: &str, file: &str, pos: u64) -> Option<u32> {
    let (ucfg, login) = ctx.node_login(upstream).ok()?;
    let mut t = Target::open(ucfg, &login, ctx.timeout).await.ok()?;
    let rows = t.rows(&format!("SHOW BINLOG EVENTS IN {} FROM {pos} LIMIT 3", sql_string(file))).await.ok();
    t.close().await;
    let rows = rows?;
    rows.iter().find_map(|r| {
        r.iter().find(|(n, _)| n == "Server_id").and_then(|(_, v)| v.as_deref()).and_then(|v| v.parse().ok())
    })
}

/// The primary key columns of `db.table`, read on `node`.
async fn key_columns(ctx: &EngineCtx, node: &str, table: &str) -> Vec<String> {
    let Some((db, t)) = table.split_once('.') else { return Vec::new() };
    let Ok((ncfg, login)) = ctx.node_login(node) else { return Vec::new() };
    let Ok(mut target) = Target::open(ncfg, &login, ctx.timeout).await else { return Vec::new() };
    let rows = target.rows(&crate::verify::sql::primary_key(db, t)).await.unwrap_or_default();
    target.close().await;
    rows.iter().filter_map(|r| r.iter().find(|(n, _)| n == "c").and_then(|(_, v)| v.clone())).collect()
}

/// Describes the event `link` on `node` is stopped on, before `count` events are skipped.
pub(crate) async fn describe(ctx: &EngineCtx, node: &str, link: &ReplicaLink, count: u32) -> Fork {
    let facts = error_facts(&link.last_sql_error);
    let polled = crate::db::read_all(&ctx.cfg, &ctx.logins, ctx.timeout).await;
    let inputs = crate::db::node_inputs(&ctx.cfg, &polled);
    let topo = Topology::build(&inputs, &Thresholds::default());
    let names: Vec<&str> = inputs.iter().map(|n| n.name).collect();
    let s = names.iter().position(|n| *n == node);
    let up_link = topo.links.iter().find(|l| Some(l.downstream) == s && l.connection == link.connection);
    let u = up_link.and_then(|l| match l.upstream {
        Upstream::Node(u) => Some(u),
        Upstream::External { .. } => None,
    });
    let upstream = match (u, up_link) {
        (Some(u), _) => names[u].to_string(),
        (None, Some(l)) => topo.upstream_name(&inputs, l),
        (None, None) => format!("{}:{}", link.master_host, link.master_port),
    };
    let origin = match u {
        Some(u) => {
            let id = origin_server_id(ctx, names[u], &link.relay_master_log_file, link.exec_master_log_pos).await;
            id.and_then(|id| {
                polled.iter().position(|p| p.as_ref().is_ok_and(|st: &NodeStatus| st.vars.server_id == id))
            })
        }
        None => None,
    };
    let (has, never) = match (s, origin.or(u)) {
        (Some(s), Some(o)) => spread(&downstreams(names.len(), &topo.links), o, s),
        (Some(s), None) => (Vec::new(), vec![s]),
        _ => (Vec::new(), Vec::new()),
    };
    let on_primary = facts.index.as_deref().is_some_and(|i| i == "PRIMARY" || i.ends_with(".PRIMARY"));
    let key_columns = match &facts.table {
        Some(t) if on_primary => key_columns(ctx, node, t).await,
        _ => Vec::new(),
    };
    let at =
        facts.at.as_deref().and_then(|a| a.split_once(" end_log_pos ")).map(|(_, e)| format!(" (end_log_pos {e})"));
    Fork {
        id: new_id(),
        time: crate::fmt::rfc3339(SystemTime::now()),
        node: node.to_string(),
        upstream,
        event: format!("{}:{}{}", link.relay_master_log_file, link.exec_master_log_pos, at.unwrap_or_default()),
        errno: link.last_sql_errno,
        error: error_gist(&link.last_sql_error),
        table: facts.table.clone(),
        key_columns,
        key: if on_primary { facts.entry.clone() } else { None },
        origin: origin.map(|o| names[o].to_string()),
        has: has.iter().map(|i| names[*i].to_string()).collect(),
        never: never.iter().map(|i| names[*i].to_string()).collect(),
        more: count.saturating_sub(1),
    }
}

/// Writes the record of a skip that ran; the note says what was recorded (or why not).
pub(crate) fn record(ctx: &EngineCtx, fork: Fork) -> String {
    let what = format!(
        "forked data recorded (fork {}): {} {}",
        fork.id,
        fork.what(),
        if fork.never.is_empty() { "skipped".to_string() } else { format!("never reaches {}", fork.never.join(", ")) }
    );
    match crate::fork::path_for(&ctx.cfg.source) {
        Some(p) => match crate::fork::record(&p, fork) {
            Ok(()) => what,
            Err(e) => format!("forked-data record NOT written ({e}): {what}"),
        },
        None => format!("forked-data record NOT written (no state dir: set HOME or XDG_STATE_HOME): {what}"),
    }
}
