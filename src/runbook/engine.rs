//! Executing a planned step, off the UI task: refuse when read-only, open a dedicated connection
//! (never a pool: `STOP SLAVE`, `SET GTID_NEXT` and `@@default_master_connection` are session
//! state), re-check the preconditions live, run each statement with a timeout, loop for
//! skip-until-healthy, post-check (polling with a deadline until the server settles), append one
//! audit record, and report every stage on a channel ending with `Progress::Finished`.
//!
//! HAProxy server steps run in `runbook::haproxy` (the admin socket, not SQL), kill query / kill
//! connection in `runbook::kill`; [`crate::runbook::execute`] picks the one for a step.
//!
//! Audit policy: a step refused because the console is read-only never reached a server and is
//! not recorded. Every step that got past that gate is recorded, also when the connection failed
//! or a live precondition stopped it (then `statements_run` is 0).

use std::time::{Duration, Instant};

use tokio::sync::mpsc::Sender;

use super::ctx::{EngineCtx, read_only_message};
use super::plan::{self, Check, Live, link_seen};
use super::record::{Done, begin, record, send, unreachable_preconditions};
use super::step::{Condition, Outcome, Progress, Step, StepAction};
use crate::config::Secret;
use crate::config::login::replication_password;
use crate::db::Target;
use crate::db::quote::{has_password, redact, unmask_password};
use crate::model::replication::{NodeStatus, ReplicaLink};
use crate::model::topology::error_gist;

/// What a run collected, for the audit record and the outcome.
#[derive(Default)]
struct Run {
    pre: Vec<Condition>,
    post: Vec<Condition>,
    notes: Vec<String>,
    ran: usize,
    /// The statements that ran, as shown (skip-until-healthy runs its round several times).
    executed: Vec<String>,
    password: Option<Secret>,
}

/// The planned condition texts with live results.
fn conditions(planned: &[Condition], checks: &[Check], live: &Live<'_>) -> Vec<Condition> {
    checks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (ok, seen) = plan::evaluate(c, live);
            let what = planned.get(i).map_or_else(|| format!("{c:?}"), |p| p.what.clone());
            Condition { what, ok: Some(ok), seen }
        })
        .collect()
}

fn failed_text(conds: &[Condition]) -> String {
    conds
        .iter()
        .filter(|c| c.ok != Some(true))
        .map(|c| format!("{} ({})", c.what, c.seen))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Live checks: reads the node (and the upstream / password for change master).
async fn live_preconditions(
    step: &Step,
    ctx: &EngineCtx,
    target: &mut Target,
    run: &mut Run,
) -> Result<(Vec<Condition>, NodeStatus), String> {
    let status = target.read().await?;
    let (checks, _) = plan::checks(step, &ctx.cfg);
    let mut live = Live { status: Some(&status), ..Live::default() };
    if let StepAction::ChangeMaster { upstream, .. } | StepAction::Bypass { upstream, .. } = &step.action {
        live.upstream = Some(probe_upstream(ctx, upstream).await);
        let (ncfg, _) = ctx.node(&step.node)?;
        let ncfg = ncfg.clone();
        let resolved = tokio::task::spawn_blocking(move || replication_password(&ncfg))
            .await
            .unwrap_or_else(|e| Err(format!("password lookup failed: {e}")));
        live.repl_password = Some(resolved.as_ref().map(|p| p.is_some()).map_err(Clone::clone));
        run.password = resolved.ok().flatten();
    }
    let conds = conditions(&step.preconditions, &checks, &live);
    Ok((conds, status))
}

async fn probe_upstream(ctx: &EngineCtx, upstream: &str) -> Result<String, String> {
    let (ucfg, login) = ctx.node(upstream)?;
    let mut t = Target::open(ucfg, &login, ctx.timeout).await?;
    let st = t.read().await?;
    let _ = tokio::time::timeout(ctx.timeout, t.conn.disconnect()).await;
    Ok(match st.binlog {
        Some(b) => format!("answering, binlog at {}:{}", b.file, b.position),
        None => "answering, binary logging off".into(),
    })
}

/// Checks a node step's preconditions live, for the confirm dialog. Never changes anything; a node that
/// cannot be reached gives every condition `ok: Some(false)` with the reason.
pub async fn check_preconditions(step: &Step, ctx: &EngineCtx) -> Vec<Condition> {
    let mut run = Run::default();
    let result = async {
        let (ncfg, login) = ctx.node(&step.node)?;
        let mut target = Target::open(ncfg, &login, ctx.timeout).await?;
        let out = live_preconditions(step, ctx, &mut target, &mut run).await;
        let _ = tokio::time::timeout(ctx.timeout, target.conn.disconnect()).await;
        out.map(|(c, _)| c)
    }
    .await;
    match result {
        Ok(c) => c,
        Err(e) => unreachable_preconditions(step, &e),
    }
}

/// Whether the SQL thread has settled after a start: stopped on an error, or running without
/// error with everything it read applied.
fn settled(l: &ReplicaLink) -> bool {
    let stopped_on_error = !l.sql_running && l.last_sql_errno != 0;
    let caught_up = l.sql_running
        && l.last_sql_errno == 0
        && l.relay_master_log_file == l.master_log_file
        && l.exec_master_log_pos >= l.read_master_log_pos;
    stopped_on_error || caught_up
}

fn sole_link(st: &NodeStatus) -> Option<&ReplicaLink> {
    match st.links.len() {
        0 => None,
        1 => st.links.first(),
        _ => st.links.iter().find(|l| l.last_sql_errno != 0).or(st.links.first()),
    }
}

/// Polls the node until `done` holds or the deadline passes; returns the last read.
async fn wait_for(
    target: &mut Target,
    deadline: Instant,
    done: impl Fn(&NodeStatus) -> bool,
) -> Result<NodeStatus, String> {
    loop {
        let st = target.read().await?;
        if done(&st) || Instant::now() >= deadline {
            return Ok(st);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn run_statements(
    statements: &[String],
    ctx: &EngineCtx,
    target: &mut Target,
    run: &mut Run,
    tx: &Sender<Progress>,
) -> Result<(), String> {
    for s in statements {
        send(tx, Progress::Statement(s.clone())).await;
        let real = if has_password(s) {
            let p = run.password.as_ref().ok_or("no replication password to put into the statement")?;
            unmask_password(s, p.expose())
        } else {
            s.clone()
        };
        match target.exec(&real, ctx.statement_timeout).await {
            Ok(()) => {
                run.ran += 1;
                run.executed.push(s.clone());
            }
            Err(e) => {
                let e = match &run.password {
                    Some(p) => redact(&e.to_string(), p.expose()),
                    None => e.to_string(),
                };
                let advice = if e.starts_with("1966 ") {
                    format!(" ({})", crate::model::advice::SKIP_REFUSED_1966)
                } else {
                    String::new()
                };
                return Err(format!("`{s}` failed: {e}{advice}"));
            }
        }
    }
    Ok(())
}

/// The skip-until-healthy loop: skip one event, wait until the SQL thread settles, re-check.
async fn skip_until_healthy(
    step: &Step,
    ctx: &EngineCtx,
    target: &mut Target,
    run: &mut Run,
    tx: &Sender<Progress>,
    mut status: NodeStatus,
) -> Result<String, String> {
    let (errnos, limit) = match &step.action {
        StepAction::SkipUntilHealthy { errnos, limit } => (errnos.as_slice(), *limit),
        _ => return Err("not a skip-until-healthy step".into()),
    };
    let nums = errnos.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    let mut skipped = 0;
    loop {
        let Some(link) = sole_link(&status).cloned() else {
            return Err("replication is no longer configured".into());
        };
        if link.sql_running && link.last_sql_errno == 0 {
            return Ok(format!("{} skipped, SQL thread running without error ({})", plural(skipped), link_seen(&link)));
        }
        if !errnos.contains(&link.last_sql_errno) {
            return Err(format!(
                "stopped after {}: error {} is not one of {nums} ({})",
                plural(skipped),
                link.last_sql_errno,
                error_gist(&link.last_sql_error)
            ));
        }
        if skipped >= limit {
            return Err(format!(
                "limit of {limit} reached: still stopped on {} {}",
                link.last_sql_errno,
                error_gist(&link.last_sql_error)
            ));
        }
        let statements = plan::skip_statements(&status, &link, 1)?;
        let note = format!(
            "skipping event {} on {}: {} {}",
            skipped + 1,
            step.node,
            link.last_sql_errno,
            error_gist(&link.last_sql_error)
        );
        run.notes.push(note.clone());
        send(tx, Progress::Note(note)).await;
        let fork = super::forkrec::describe(ctx, &step.node, &link, 1).await;
        run_statements(&statements, ctx, target, run, tx).await?;
        note_fork(ctx, run, tx, fork).await;
        skipped += 1;
        let before = (link.last_sql_errno, link.last_sql_error.clone());
        let deadline = Instant::now() + ctx.settle;
        status = wait_for(target, deadline, |st| {
            sole_link(st).is_some_and(|l| settled(l) && (l.last_sql_errno, &l.last_sql_error) != (before.0, &before.1))
        })
        .await?;
        if !sole_link(&status).is_some_and(settled) {
            return Err(format!("the SQL thread did not settle within {:?} after skip {skipped}", ctx.settle));
        }
    }
}

/// Records what a skip that ran dropped, and notes it.
async fn note_fork(ctx: &EngineCtx, run: &mut Run, tx: &Sender<Progress>, fork: crate::fork::Fork) {
    let c = ctx.clone();
    let note = tokio::task::spawn_blocking(move || super::forkrec::record(&c, fork))
        .await
        .unwrap_or_else(|e| format!("forked-data record NOT written: {e}"));
    run.notes.push(note.clone());
    send(tx, Progress::Note(note)).await;
}

fn plural(n: u32) -> String {
    if n == 1 { "1 event".into() } else { format!("{n} events") }
}

async fn run_step(step: &Step, ctx: &EngineCtx, run: &mut Run, tx: &Sender<Progress>) -> Result<String, String> {
    let (ncfg, login) = ctx.node(&step.node)?;
    let mut target = Target::open(ncfg, &login, ctx.timeout).await?;
    let result = async {
        let (pre, status) = live_preconditions(step, ctx, &mut target, run).await?;
        run.pre = pre.clone();
        send(tx, Progress::Preconditions(pre.clone())).await;
        if pre.iter().any(|c| c.ok != Some(true)) {
            return Err(format!("precondition failed, nothing was run: {}", failed_text(&pre)));
        }
        let before = sole_link(&status).map(|l| (l.last_sql_errno, l.last_sql_error.clone()));
        let mut summary = String::new();
        match &step.action {
            StepAction::SkipUntilHealthy { .. } => {
                summary = skip_until_healthy(step, ctx, &mut target, run, tx, status).await?;
            }
            StepAction::Skip { count } => {
                let link = sole_link(&status).filter(|l| l.last_sql_errno != 0).cloned();
                let fork = match &link {
                    Some(l) => Some(super::forkrec::describe(ctx, &step.node, l, *count).await),
                    None => None,
                };
                run_statements(&step.statements, ctx, &mut target, run, tx).await?;
                if let Some(f) = fork {
                    note_fork(ctx, run, tx, f).await;
                }
            }
            _ => run_statements(&step.statements, ctx, &mut target, run, tx).await?,
        }
        let (_, post_checks) = plan::checks(step, &ctx.cfg);
        let needs_settle = matches!(step.action, StepAction::Skip { .. } | StepAction::SkipUntilHealthy { .. });
        let deadline = Instant::now() + ctx.settle;
        let eval = |st: &NodeStatus| {
            let live = Live { status: Some(st), error_before: before.clone(), ..Live::default() };
            conditions(&step.postconditions, &post_checks, &live)
        };
        let st = wait_for(&mut target, deadline, |st| {
            let ok = eval(st).iter().all(|c| c.ok == Some(true));
            let calm = !needs_settle || sole_link(st).is_some_and(settled);
            ok && calm
        })
        .await?;
        let post = eval(&st);
        run.post = post.clone();
        send(tx, Progress::Postconditions(post.clone())).await;
        if post.iter().any(|c| c.ok != Some(true)) {
            return Err(format!("postcondition failed after the statements ran: {}", failed_text(&post)));
        }
        if summary.is_empty() {
            summary = post.iter().map(|c| c.seen.clone()).collect::<Vec<_>>().join("; ");
        }
        Ok(summary)
    }
    .await;
    let _ = tokio::time::timeout(ctx.timeout, target.conn.disconnect()).await;
    result
}

/// Executes a confirmed node step and reports on `progress`, ending with `Progress::Finished`.
///
/// Read-only: refused at once (no server contact, no audit record). Otherwise one audit record is
/// appended whatever happens; `Outcome::audited` says whether that worked.
pub async fn execute(step: Step, ctx: &EngineCtx, progress: Sender<Progress>) -> Outcome {
    if ctx.read_only {
        let outcome = Outcome { ok: false, summary: read_only_message(&step), audited: false };
        send(&progress, Progress::Finished(outcome.clone())).await;
        return outcome;
    }
    let address = ctx.node(&step.node).map(|(n, _)| n.address()).unwrap_or_default();
    let started = begin(&step, ctx, address).await;
    let mut run = Run::default();
    let result = run_step(&step, ctx, &mut run, &progress).await;
    let result = match &run.password {
        Some(p) => result.map_err(|e| redact(&e, p.expose())),
        None => result,
    };
    let statements =
        if run.executed.len() > step.statements.len() { run.executed.clone() } else { step.statements.clone() };
    let done = Done { statements, ran: run.ran, pre: run.pre, post: run.post, notes: run.notes };
    record(&step, ctx, started, done, result, &progress).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::config::login::Logins;
    use std::sync::Arc;

    /// A change-master step on an unreachable node is still audited, and neither the configured
    /// replication password nor the operator password reaches the audit file.
    #[test]
    fn configured_passwords_never_reach_the_audit_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("audit.log");
        let text = format!(
            r#"
audit_log = "{}"
timeout = "300ms"

[[node]]
name = "node1"
host = "127.0.0.1"
port = 1
password = "op-S3CRET-1"
replication_user = "repl"
replication_password = "repl-S3CRET-2"

[[node]]
name = "node2"
host = "127.0.0.1"
port = 1
password = "op-S3CRET-1"
replication_user = "repl"
replication_password = "repl-S3CRET-2"
"#,
            log.display()
        );
        let cfg = Config::parse(&text, std::path::Path::new("t.toml")).unwrap();
        let logins = Logins::resolve(&cfg).unwrap();
        let step = Step {
            action: StepAction::ChangeMaster { upstream: "node1".into(), file: "b.000001".into(), pos: 4 },
            node: "node2".into(),
            title: "point node2 at node1 b.000001:4".into(),
            statements: vec![
                "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=1, MASTER_USER='repl', MASTER_PASSWORD='***', \
                 MASTER_LOG_FILE='b.000001', MASTER_LOG_POS=4"
                    .into(),
            ],
            preconditions: Vec::new(),
            postconditions: Vec::new(),
            effect: String::new(),
            warnings: Vec::new(),
            danger: crate::runbook::Danger::TypeNodeName,
        };
        let mut ctx = EngineCtx::new(Arc::new(cfg), Arc::new(logins)).unwrap();
        ctx.operator = "tester".into();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let outcome = rt.block_on(execute(step.clone(), &ctx, tx));
        assert!(!outcome.ok);
        assert!(outcome.audited, "{outcome:?}");
        let mut last = None;
        while let Ok(p) = rx.try_recv() {
            last = Some(p);
        }
        assert_eq!(last, Some(Progress::Finished(outcome.clone())));
        let written = std::fs::read_to_string(&log).unwrap();
        assert_eq!(written.lines().count(), 2, "started, then ended: {written}");
        assert!(!written.contains("S3CRET"), "{written}");
        assert!(written.contains("MASTER_PASSWORD='***'"), "{written}");
        let first: serde_json::Value = serde_json::from_str(written.lines().next().unwrap()).unwrap();
        let v: serde_json::Value = serde_json::from_str(written.lines().nth(1).unwrap()).unwrap();
        assert_eq!((first["phase"].as_str(), v["phase"].as_str()), (Some("started"), Some("ended")));
        assert!(!v["id"].as_str().unwrap_or("").is_empty() && v["id"] == first["id"], "one step: {written}");
        assert_eq!(v["operator"], "tester");
        assert_eq!(v["node"], "node2");
        assert_eq!(v["ok"], false);
        assert_eq!(v["statements_run"], 0);

        // Read-only: refused, nothing written.
        ctx.read_only = true;
        let (tx, _rx) = tokio::sync::mpsc::channel(16);
        let outcome = rt.block_on(execute(step, &ctx, tx));
        assert!(!outcome.ok && !outcome.audited);
        assert!(outcome.summary.contains("read-only"), "{}", outcome.summary);
        assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 2, "nothing more");
    }
}
