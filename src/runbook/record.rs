//! The write-ahead audit of a step: its `started` record (synced) before anything runs, then one
//! record of how it ended, whatever kind of step it was (node, HAProxy server, kill).

use std::time::{Instant, SystemTime};

use tokio::sync::mpsc::Sender;

use super::audit::{self, AuditRecord};
use super::ctx::EngineCtx;
use super::step::{Condition, Outcome, Progress, Step};

/// Reports a step's progress.
pub(super) async fn send(tx: &Sender<Progress>, p: Progress) {
    // The receiver may have gone (dialog closed): the step goes on and is still audited.
    let _ = tx.send(p).await;
}

/// What a single-action step (HAProxy server, kill) collects for its audit record.
#[derive(Default)]
pub(crate) struct Tally {
    pub pre: Vec<Condition>,
    pub post: Vec<Condition>,
    pub ran: usize,
}

/// When and where a step started, for its audit record.
pub(crate) struct Started {
    pub address: String,
    /// RFC 3339.
    pub time: String,
    pub at: Instant,
    /// Its `started` record's id (empty when that record could not be written).
    pub id: String,
}

/// Writes a step's `started` record (synced) before anything of it runs; a step whose start
/// cannot be recorded still runs, and its final record says so.
pub(crate) async fn begin(step: &Step, ctx: &EngineCtx, address: String) -> Started {
    let time = crate::fmt::rfc3339(SystemTime::now());
    let rec = AuditRecord::new(
        time.clone(),
        &ctx.operator,
        (step.node.clone(), address.clone()),
        step.action.clone(),
        step.title.clone(),
        step.statements.clone(),
    );
    let log = ctx.audit.clone();
    let id = tokio::task::spawn_blocking(move || log.begin(&rec)).await.ok().and_then(Result::ok).unwrap_or_default();
    Started { address, time, at: Instant::now(), id }
}

/// What a finished step did, for its audit record.
pub(crate) struct Done {
    /// The statements or commands as shown (secrets masked).
    pub statements: Vec<String>,
    pub ran: usize,
    pub pre: Vec<Condition>,
    pub post: Vec<Condition>,
    pub notes: Vec<String>,
}

/// Appends a finished step's audit record (off the runtime thread, synced) and reports how it
/// ended; every kind of step (node, HAProxy server, kill) ends here.
pub(crate) async fn record(
    step: &Step,
    ctx: &EngineCtx,
    started: Started,
    done: Done,
    result: Result<String, String>,
    progress: &Sender<Progress>,
) -> Outcome {
    let (ok, text) = match &result {
        Ok(s) => (true, s.clone()),
        Err(e) => (false, e.clone()),
    };
    let rec = AuditRecord {
        id: started.id,
        phase: audit::Phase::Ended,
        time: started.time,
        operator: ctx.operator.clone(),
        host: audit::host_name(),
        node: step.node.clone(),
        address: started.address,
        action: step.action.clone(),
        title: step.title.clone(),
        statements: done.statements,
        statements_run: done.ran,
        preconditions: done.pre,
        postconditions: done.post,
        notes: done.notes,
        ok,
        result: text.clone(),
        duration_ms: started.at.elapsed().as_millis() as u64,
    };
    let log = ctx.audit.clone();
    let written = tokio::task::spawn_blocking(move || log.append(&rec))
        .await
        .unwrap_or_else(|e| Err(format!("audit writer failed: {e}")));
    let mut summary =
        if ok { format!("{}: done: {text}", step.title) } else { format!("{} failed: {text}", step.title) };
    if let Err(e) = &written {
        summary.push_str(&format!(" (audit log NOT written: {e})"));
    }
    let outcome = Outcome { ok, summary, audited: written.is_ok() };
    send(progress, Progress::Finished(outcome.clone())).await;
    outcome
}

/// Every planned precondition failed with the reason the target could not be read.
pub(crate) fn unreachable_preconditions(step: &Step, why: &str) -> Vec<Condition> {
    step.preconditions
        .iter()
        .map(|c| Condition { what: c.what.clone(), ok: Some(false), seen: why.to_string() })
        .collect()
}
