//! Kill query / kill connection steps: `KILL QUERY id` (the statement stops, the client stays
//! connected) or `KILL CONNECTION id` (the client is disconnected) on one node; MariaDB and
//! MySQL share the syntax. Planning is pure (from the node's last process list); the live checks
//! read the thread from `information_schema.PROCESSLIST` on a dedicated connection; executing
//! runs the one statement, waits until the thread is gone (or, for a query, no longer running
//! that statement), and appends one audit record. Replication and system threads are refused.

use std::time::{Duration, Instant};

use tokio::sync::mpsc::Sender;

use super::ctx::{EngineCtx, read_only_message};
use super::record::{Done, Tally, begin, record};
use super::step::{Condition, Danger, Outcome, Progress, Step, StepAction};
use crate::config::Config;
use crate::db::Target;
use crate::model::replication::{NodeStatus, Process};

/// How much of a statement the step carries (title, audit record).
const TEXT_MAX: usize = 200;

pub use crate::model::sqltext::normalise;

/// The exact statement.
pub fn statement(id: u64, connection: bool) -> String {
    if connection { format!("KILL CONNECTION {id}") } else { format!("KILL QUERY {id}") }
}

/// Threads the console never kills: replication, daemon and system threads.
fn protected(p: &Process) -> bool {
    p.command != "Sleep" && p.is_background()
}

fn cond(what: impl Into<String>) -> Condition {
    Condition { what: what.into(), ok: None, seen: String::new() }
}

fn describe(p: &Process) -> String {
    let text = if p.info.is_empty() { "(no statement)".to_string() } else { normalise(&p.info, 80) };
    format!("{} {}@{} db {} {:.1}s {}: {text}", p.command, p.user, p.host, or_dash(&p.db), p.time, or_dash(&p.state))
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

/// Plans a kill on `node`. `statuses` are the last samples: the thread must be in the node's
/// process list, and not a replication or system thread. The step carries the statement text.
pub fn plan(
    action: &StepAction,
    node: &str,
    cfg: &Config,
    statuses: &[(&str, Option<&NodeStatus>)],
) -> Result<Step, String> {
    let StepAction::Kill { id, connection, .. } = action else {
        return Err("not a kill step".into());
    };
    let (id, connection) = (*id, *connection);
    cfg.node(node).ok_or_else(|| format!("no [[node]] is named {node:?} in the config"))?;
    let status = super::plan::status_of(statuses, node)
        .ok_or_else(|| format!("{node} has not answered yet: no process list to plan from"))?;
    let p = status
        .processes
        .iter()
        .find(|p| p.id == id)
        .ok_or_else(|| format!("{node} has no thread {id} in its process list (it may have finished)"))?;
    if protected(p) {
        return Err(format!(
            "thread {id} on {node} is a {} thread of {}: ringdeck does not kill replication or system threads",
            p.command, p.user
        ));
    }
    let text = normalise(&p.info, TEXT_MAX);
    let shown = if text.is_empty() { "(no statement)".to_string() } else { text.clone() };
    let (title, effect, post) = if connection {
        (
            format!("kill connection {id} on {node}"),
            format!(
                "{node} disconnects {}@{} (thread {id}); a running statement is rolled back. Running: {shown}",
                p.user, p.host
            ),
            format!("thread {id} is gone from the process list of {node}"),
        )
    } else {
        (
            format!("kill query {id} on {node}"),
            format!(
                "{node} stops the statement thread {id} ({}@{}) is running, after {:.1}s; the client stays \
                 connected and gets an error. Statement: {shown}",
                p.user, p.host, p.time
            ),
            format!("thread {id} on {node} no longer runs the statement"),
        )
    };
    let mut warnings = Vec::new();
    if !p.info.is_empty() && !p.info.trim_start().to_ascii_uppercase().starts_with("SELECT") {
        warnings.push(
            "Not a SELECT: a killed write rolls back, which can take as long as it ran (state `Killed` meanwhile)."
                .to_string(),
        );
    }
    Ok(Step {
        action: StepAction::Kill { id, connection, statement: text },
        node: node.to_string(),
        title,
        statements: vec![statement(id, connection)],
        preconditions: vec![cond(format!("thread {id} is on {node} and is not a replication or system thread"))],
        postconditions: vec![cond(post)],
        effect,
        warnings,
        danger: Danger::Medium,
    })
}

async fn read_thread(target: &mut Target, id: u64) -> Result<Option<Process>, String> {
    let rows = target.rows(&format!("SELECT * FROM information_schema.PROCESSLIST WHERE ID = {id}")).await?;
    Ok(rows.first().map(Process::from_row))
}

fn precondition(step: &Step, p: Option<&Process>) -> Condition {
    let what = step.preconditions.first().map(|c| c.what.clone()).unwrap_or_default();
    match p {
        None => Condition { what, ok: Some(false), seen: "no such thread now (it finished or disconnected)".into() },
        Some(p) if protected(p) => {
            Condition { what, ok: Some(false), seen: format!("a protected thread: {}", describe(p)) }
        }
        Some(p) => Condition { what, ok: Some(true), seen: describe(p) },
    }
}

/// Whether the kill took: the thread is gone; for a query, also no longer running the statement.
fn postcondition(step: &Step, before: Option<&Process>, now: Option<&Process>) -> Condition {
    let what = step.postconditions.first().map(|c| c.what.clone()).unwrap_or_default();
    let connection = matches!(step.action, StepAction::Kill { connection: true, .. });
    match now {
        None => Condition { what, ok: Some(true), seen: "the thread is gone".into() },
        Some(p) if connection => Condition { what, ok: Some(false), seen: format!("still there: {}", describe(p)) },
        Some(p) => {
            let same = before.is_some_and(|b| !b.info.is_empty() && b.info == p.info && p.command != "Sleep");
            let killed = p.command == "Killed" || p.state.eq_ignore_ascii_case("killed");
            if same && !killed {
                Condition { what, ok: Some(false), seen: format!("still running: {}", describe(p)) }
            } else {
                Condition { what, ok: Some(true), seen: format!("now {}", describe(p)) }
            }
        }
    }
}

fn node_and_id(step: &Step) -> Result<u64, String> {
    match step.action {
        StepAction::Kill { id, .. } => Ok(id),
        _ => Err("not a kill step".into()),
    }
}

/// Checks the precondition live, for the confirm dialog and the dry run. Changes nothing.
pub async fn check_preconditions(step: &Step, ctx: &EngineCtx) -> Vec<Condition> {
    let live = async {
        let id = node_and_id(step)?;
        let (ncfg, login) = ctx.node_login(&step.node)?;
        let mut target = Target::open(ncfg, &login, ctx.timeout).await?;
        let p = read_thread(&mut target, id).await;
        target.close().await;
        p
    }
    .await;
    match live {
        Ok(p) => vec![precondition(step, p.as_ref())],
        Err(e) => super::record::unreachable_preconditions(step, &e),
    }
}

async fn run_step(step: &Step, ctx: &EngineCtx, run: &mut Tally, tx: &Sender<Progress>) -> Result<String, String> {
    let id = node_and_id(step)?;
    let (ncfg, login) = ctx.node_login(&step.node)?;
    let mut target = Target::open(ncfg, &login, ctx.timeout).await?;
    let result = async {
        let before = read_thread(&mut target, id).await?;
        run.pre = vec![precondition(step, before.as_ref())];
        let _ = tx.send(Progress::Preconditions(run.pre.clone())).await;
        if run.pre.iter().any(|c| c.ok != Some(true)) {
            let why = run.pre.iter().map(|c| format!("{} ({})", c.what, c.seen)).collect::<Vec<_>>().join("; ");
            return Err(format!("precondition failed, nothing was run: {why}"));
        }
        for s in &step.statements {
            let _ = tx.send(Progress::Statement(s.clone())).await;
            target.exec(s, ctx.statement_timeout).await?;
            run.ran += 1;
        }
        let deadline = Instant::now() + ctx.settle;
        let post = loop {
            let now = read_thread(&mut target, id).await?;
            let c = postcondition(step, before.as_ref(), now.as_ref());
            if c.ok == Some(true) || Instant::now() >= deadline {
                break c;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        run.post = vec![post.clone()];
        let _ = tx.send(Progress::Postconditions(run.post.clone())).await;
        if post.ok != Some(true) {
            return Err(format!("postcondition failed after the statement ran: {} ({})", post.what, post.seen));
        }
        Ok(post.seen)
    }
    .await;
    target.close().await;
    result
}

/// Executes a confirmed kill and reports on `progress`, ending with `Finished`. Read-only: refused
/// at once (no server contact, no audit record). Otherwise one audit record.
pub async fn execute(step: Step, ctx: &EngineCtx, progress: Sender<Progress>) -> Outcome {
    if ctx.read_only {
        let outcome = Outcome { ok: false, summary: read_only_message(&step), audited: false };
        let _ = progress.send(Progress::Finished(outcome.clone())).await;
        return outcome;
    }
    let address = ctx.node_login(&step.node).map(|(n, _)| n.address()).unwrap_or_default();
    let started = begin(&step, ctx, address).await;
    let mut run = Tally::default();
    let result = run_step(&step, ctx, &mut run, &progress).await;
    let done =
        Done { statements: step.statements.clone(), ran: run.ran, pre: run.pre, post: run.post, notes: Vec::new() };
    record(&step, ctx, started, done, result, &progress).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(id: u64, command: &str, user: &str, info: &str) -> Process {
        Process {
            id,
            user: user.into(),
            host: "localhost:5000".into(),
            db: "app".into(),
            command: command.into(),
            time: 12.5,
            state: "User sleep".into(),
            info: info.into(),
        }
    }

    fn cfg() -> Config {
        Config::parse("[[node]]\nname = \"node3\"\nhost = \"127.0.0.1\"\nport = 3306\n", std::path::Path::new("t.toml"))
            .expect("config")
    }

    fn status(ps: Vec<Process>) -> NodeStatus {
        NodeStatus {
            version: "10.11.6-MariaDB".into(),
            dialect: crate::model::replication::Dialect::detect("10.11.6-MariaDB", ""),
            vars: Default::default(),
            counters: Default::default(),
            binlog: None,
            links: Vec::new(),
            processes: ps,
            digests: None,
        }
    }

    #[test]
    fn plans_kill_query_with_the_statement_text() {
        let st = status(vec![proc(42, "Query", "app", "SELECT   SLEEP(30)\n  FROM dual")]);
        let a = StepAction::Kill { id: 42, connection: false, statement: String::new() };
        let step = plan(&a, "node3", &cfg(), &[("node3", Some(&st))]).expect("plan");
        assert_eq!(step.statements, vec!["KILL QUERY 42"]);
        assert_eq!(step.title, "kill query 42 on node3");
        assert!(step.effect.contains("SELECT SLEEP(30) FROM dual"), "{}", step.effect);
        assert_eq!(
            step.action,
            StepAction::Kill { id: 42, connection: false, statement: "SELECT SLEEP(30) FROM dual".into() }
        );
        assert!(step.warnings.is_empty());
        let c = StepAction::Kill { id: 42, connection: true, statement: String::new() };
        let step = plan(&c, "node3", &cfg(), &[("node3", Some(&st))]).expect("plan");
        assert_eq!(step.statements, vec!["KILL CONNECTION 42"]);
    }

    #[test]
    fn refuses_replication_threads_unknown_ids_and_nodes() {
        let st = status(vec![proc(7, "Slave_SQL", "system user", ""), proc(8, "Query", "app", "UPDATE t SET a=1")]);
        let statuses = [("node3", Some(&st))];
        let kill = |id| StepAction::Kill { id, connection: false, statement: String::new() };
        assert!(plan(&kill(7), "node3", &cfg(), &statuses).unwrap_err().contains("does not kill replication"));
        assert!(plan(&kill(9), "node3", &cfg(), &statuses).unwrap_err().contains("no thread 9"));
        assert!(plan(&kill(8), "node9", &cfg(), &statuses).unwrap_err().contains("no [[node]]"));
        assert!(plan(&kill(8), "node3", &cfg(), &[("node3", None)]).unwrap_err().contains("not answered"));
        let step = plan(&kill(8), "node3", &cfg(), &statuses).expect("a write can be killed");
        assert_eq!(step.warnings.len(), 1, "a write warns about the rollback");
    }

    #[test]
    fn postcondition_of_a_query_kill() {
        let st = status(vec![proc(42, "Query", "app", "SELECT SLEEP(30)")]);
        let a = StepAction::Kill { id: 42, connection: false, statement: String::new() };
        let step = plan(&a, "node3", &cfg(), &[("node3", Some(&st))]).expect("plan");
        let before = proc(42, "Query", "app", "SELECT SLEEP(30)");
        assert_eq!(postcondition(&step, Some(&before), Some(&before)).ok, Some(false));
        assert_eq!(postcondition(&step, Some(&before), Some(&proc(42, "Sleep", "app", ""))).ok, Some(true));
        assert_eq!(postcondition(&step, Some(&before), None).ok, Some(true));
        let conn = Step { action: StepAction::Kill { id: 42, connection: true, statement: String::new() }, ..step };
        assert_eq!(postcondition(&conn, Some(&before), Some(&proc(42, "Sleep", "app", ""))).ok, Some(false));
    }

    #[test]
    fn a_password_in_the_statement_never_reaches_the_step() {
        let st = status(vec![proc(5, "Query", "app", "CREATE USER x IDENTIFIED BY 'hunter2'")]);
        let a = StepAction::Kill { id: 5, connection: true, statement: String::new() };
        let step = plan(&a, "node3", &cfg(), &[("node3", Some(&st))]).expect("plan");
        let all = format!("{step:?}");
        assert!(!all.contains("hunter2") && all.contains("IDENTIFIED BY '***'"), "{all}");
    }
}
