//! Running a repair plan: refused when read-only or when the plan has refusals. Per node that has
//! something to change (all at once): a dedicated connection, `SET SESSION sql_log_bin = 0`
//! (checked: nothing is written while it is still 1), then chunks of at most 100 keys of one
//! table, each one transaction in which every row is re-read `FOR UPDATE` and changed only if
//! it is still what the plan saw (otherwise the chunk rolls back and the node stops, reported).
//! One audit record per node, with every statement (values masked as statements are) and key.
//! Then every key is compared again on every node; forked-data records of keys now equal go.

use std::time::{Instant, SystemTime};

use futures_util::future::join_all;
use tokio::sync::mpsc::UnboundedSender;

use super::plan::{Change, Plan, Seen};
use super::prepare::read_key;
use crate::db::session::{Node, Session, open, send};
use crate::fork;
use crate::runbook::EngineCtx;
use crate::runbook::StepAction;
use crate::runbook::audit::{self, AuditRecord};
use crate::verify::Key;

/// Keys written per transaction.
const CHUNK: usize = 100;

/// How one node's part went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRun {
    pub node: String,
    pub planned: usize,
    /// Statements committed.
    pub applied: usize,
    pub error: Option<String>,
    /// Whether its audit record was written.
    pub audited: bool,
}

/// A key after the repair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyResult {
    pub table: String,
    pub key: Key,
    pub equal: bool,
    /// `app.posts id 100001: equal on every node` or what still differs.
    pub text: String,
}

/// What a repair did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Every statement ran and every key is equal on every node now.
    pub ok: bool,
    pub summary: String,
    pub nodes: Vec<NodeRun>,
    pub keys: Vec<KeyResult>,
    /// Forked-data records cleared (their keys are equal now).
    pub cleared: Vec<String>,
}

/// Runs `changes` (all of node `i`) on a fresh connection; returns how many committed, and the
/// error that stopped it.
async fn run_node(
    plan: &Plan,
    ctx: &EngineCtx,
    i: usize,
    changes: &[&Change],
    progress: &Option<UnboundedSender<String>>,
) -> (usize, Option<String>) {
    let name = &plan.nodes[i];
    let mut node = open(&ctx.cfg, &ctx.logins, i, ctx.statement_timeout, Session::Writes).await;
    if let Some(e) = &node.error {
        return (0, Some(format!("cannot connect: {e}")));
    }
    let mut applied = 0;
    let result = async {
        node.query("SET SESSION sql_log_bin = 0")
            .await
            .map_err(|e| format!("SET SESSION sql_log_bin = 0 failed: {e}"))?;
        let off = node.query("SELECT @@session.sql_log_bin AS b").await?;
        let b = off.first().and_then(|r| crate::db::session::cell(r, "b")).unwrap_or("?").to_string();
        if b != "0" {
            return Err(format!("sql_log_bin is still {b} on this session: nothing was written"));
        }
        let mut by_table: Vec<Vec<&Change>> = Vec::new();
        for ch in changes {
            let t = plan.cases[ch.case].table;
            match by_table.iter_mut().find(|v| plan.cases[v[0].case].table == t) {
                Some(v) => v.push(ch),
                None => by_table.push(vec![ch]),
            }
        }
        for group in by_table {
            for chunk in group.chunks(CHUNK) {
                node.query("START TRANSACTION").await?;
                if let Err(e) = write_chunk(plan, &mut node, i, chunk).await {
                    let _ = node.query("ROLLBACK").await;
                    return Err(format!(
                        "{e}; this chunk of {} was rolled back, {applied} committed before",
                        chunk.len()
                    ));
                }
                node.query("COMMIT").await.map_err(|e| format!("COMMIT failed: {e}"))?;
                applied += chunk.len();
                send(progress, format!("{name}: {applied} of {} row change(s) committed", changes.len()));
            }
        }
        Ok(())
    }
    .await;
    node.close().await;
    (applied, result.err())
}

/// One chunk inside a transaction: re-read each row `FOR UPDATE`, write it if unchanged.
async fn write_chunk(plan: &Plan, node: &mut Node, i: usize, chunk: &[&Change]) -> Result<(), String> {
    for ch in chunk {
        let case = &plan.cases[ch.case];
        let t = &plan.tables[case.table];
        let now = read_key(node, t, &case.key, true).await;
        if let Seen::Unknown(e) = &now {
            return Err(format!("{} {}: cannot re-read the row: {e}", t.name(), t.key_text(&case.key)));
        }
        let planned = case.seen.get(i).and_then(Seen::crc);
        if now.crc() != planned {
            return Err(format!(
                "{} {}: the row changed since the plan (written meanwhile?): nothing of this chunk was kept",
                t.name(),
                t.key_text(&case.key)
            ));
        }
        let st = plan.statement(ch);
        let n = node.change(&st.sql, st.params.clone()).await.map_err(|e| format!("`{}` failed: {e}", st.shown))?;
        if n != 1 {
            return Err(format!("`{}` changed {n} rows, not 1", st.shown));
        }
    }
    Ok(())
}

/// Compares every key of the plan again on every node.
async fn reverify(plan: &Plan, ctx: &EngineCtx) -> Vec<KeyResult> {
    let mut nodes: Vec<Node> = join_all(
        (0..plan.nodes.len()).map(|i| open(&ctx.cfg, &ctx.logins, i, ctx.statement_timeout, Session::ReadOnly)),
    )
    .await;
    let mut out = Vec::new();
    for case in &plan.cases {
        let t = &plan.tables[case.table];
        let seen: Vec<Seen> = join_all(nodes.iter_mut().map(|n| async {
            if n.reachable() {
                read_key(n, t, &case.key, false).await
            } else {
                Seen::Unknown(n.error.clone().unwrap_or_default())
            }
        }))
        .await;
        let crcs: Vec<Option<u64>> = seen.iter().map(Seen::crc).collect();
        let unknown: Vec<&str> = seen
            .iter()
            .zip(&plan.nodes)
            .filter(|(s, _)| matches!(s, Seen::Unknown(_)))
            .map(|(_, n)| n.as_str())
            .collect();
        let equal = unknown.is_empty() && crcs.windows(2).all(|w| w[0] == w[1]);
        let what = format!("{} {}", t.name(), t.key_text(&case.key));
        let text = if equal {
            let state = if crcs.first().copied().flatten().is_some() { "the same row" } else { "absent" };
            format!("{what}: equal on every node ({state})")
        } else if !unknown.is_empty() {
            format!("{what}: NOT compared on {}", unknown.join(", "))
        } else {
            let per: Vec<String> = plan
                .nodes
                .iter()
                .zip(&crcs)
                .map(|(n, c)| format!("{n} {}", c.map_or("absent".to_string(), |c| format!("crc {c}"))))
                .collect();
            format!("{what}: STILL DIFFERS ({})", per.join(", "))
        };
        out.push(KeyResult { table: t.name(), key: case.key.clone(), equal, text });
    }
    for n in &mut nodes {
        n.close().await;
    }
    out
}

/// Runs `plan`. Never runs a plan with refusals, nor in read-only mode (then nothing is audited:
/// no server was contacted).
pub async fn apply(plan: &Plan, ctx: &EngineCtx, progress: Option<UnboundedSender<String>>) -> Outcome {
    if ctx.read_only {
        return Outcome { summary: crate::runbook::ReadOnly::console("the repair").to_string(), ..Outcome::default() };
    }
    if !plan.refusals.is_empty() {
        return Outcome { summary: format!("refused: {}", plan.refusals.join("; ")), ..Outcome::default() };
    }
    let started = Instant::now();
    let time = crate::fmt::rfc3339(SystemTime::now());
    let targets = plan.nodes_changed();
    // Per node, its record: written (started) before its first statement, then ended.
    let record = |i: usize, mine: &[&Change]| AuditRecord {
        notes: mine.iter().map(|c| plan.change_text(c, 60)).collect(),
        ..AuditRecord::new(
            time.clone(),
            &ctx.operator,
            (plan.nodes[i].clone(), ctx.cfg.nodes.get(i).map(|n| n.address()).unwrap_or_default()),
            StepAction::Repair {
                keys: mine
                    .iter()
                    .map(|c| {
                        let case = &plan.cases[c.case];
                        let t = &plan.tables[case.table];
                        format!("{} {} {}", t.name(), t.key_text(&case.key), c.op.word())
                    })
                    .collect(),
            },
            format!("repair {} row(s) on {} (sql_log_bin = 0)", mine.len(), plan.nodes[i]),
            mine.iter().map(|c| plan.statement(c).shown).collect(),
        )
    };
    let runs = join_all(targets.iter().map(|&i| {
        let mine: Vec<&Change> = plan.changes.iter().filter(|c| c.node == i).collect();
        let progress = progress.clone();
        let rec = record(i, &mine);
        async move {
            let log = ctx.audit.clone();
            let begun = rec.clone();
            let id = tokio::task::spawn_blocking(move || log.begin(&begun)).await.ok().and_then(Result::ok);
            send(&progress, format!("{}: {} row change(s), sql_log_bin = 0", plan.nodes[i], mine.len()));
            let (applied, error) = run_node(plan, ctx, i, &mine, &progress).await;
            (i, mine, applied, error, rec, id)
        }
    }))
    .await;
    let mut nodes = Vec::new();
    for (i, mine, applied, error, rec, id) in runs {
        let ok = error.is_none();
        let result = match &error {
            None => format!("{applied} row change(s) committed"),
            Some(e) => format!("stopped: {e}"),
        };
        let rec = AuditRecord {
            id: id.clone().unwrap_or_default(),
            phase: audit::Phase::Ended,
            statements_run: applied,
            ok,
            result,
            duration_ms: started.elapsed().as_millis() as u64,
            ..rec
        };
        let log = ctx.audit.clone();
        let audited = id.is_some()
            && tokio::task::spawn_blocking(move || log.append(&rec)).await.map(|r| r.is_ok()).unwrap_or(false);
        nodes.push(NodeRun { node: plan.nodes[i].clone(), planned: mine.len(), applied, error, audited });
    }
    send(&progress, "comparing every repaired key on every node".into());
    let keys = reverify(plan, ctx).await;
    let settled: Vec<&str> =
        plan.cases.iter().zip(&keys).filter(|(_, k)| k.equal).filter_map(|(c, _)| c.fork.as_deref()).collect();
    let mut cleared = Vec::new();
    if !settled.is_empty()
        && let Some(path) = fork::path_for(&ctx.cfg.source)
    {
        match fork::settle(&path, |f| settled.contains(&f.id.as_str())) {
            Ok(gone) => cleared = gone.iter().map(|f| f.id.clone()).collect(),
            Err(e) => send(&progress, format!("forked-data records not updated: {e}")),
        }
    }
    let equal = keys.iter().filter(|k| k.equal).count();
    let failed: Vec<String> =
        nodes.iter().filter_map(|n| n.error.as_ref().map(|e| format!("{}: {e}", n.node))).collect();
    let unaudited: Vec<&str> = nodes.iter().filter(|n| !n.audited).map(|n| n.node.as_str()).collect();
    let mut summary = format!(
        "{} row change(s) on {} node(s); {equal} of {} key(s) equal on every node now",
        nodes.iter().map(|n| n.applied).sum::<usize>(),
        nodes.len(),
        keys.len()
    );
    if !failed.is_empty() {
        summary.push_str(&format!("; FAILED: {}", failed.join("; ")));
    }
    if !unaudited.is_empty() {
        summary.push_str(&format!(" (audit log NOT written for {})", unaudited.join(", ")));
    }
    Outcome { ok: failed.is_empty() && equal == keys.len(), summary, nodes, keys, cleared }
}
