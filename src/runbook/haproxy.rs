//! HAProxy server steps: drain, maintenance, ready and set weight, sent to an instance's admin
//! socket (`stats socket ... level admin`). Planning is pure (from the config and the last stats
//! sample); the live checks read the socket (`show cli level`, `show servers state`, `show stat`);
//! executing sends the one command, takes any answer as HAProxy's refusal (a success answers
//! nothing), waits until `show servers state` shows the new admin state or weight, and appends
//! one audit record with the exact command. Runtime changes are lost when HAProxy reloads.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::Sender;

use super::ctx::{EngineCtx, read_only_message};
use super::record::{Done, Tally, begin, record};
use super::step::{Condition, Danger, Outcome, Progress, ServerOp, Step, StepAction};
use crate::config::Config;
use crate::http::socket::socket_command_within;
use crate::model::haproxy::{RowKind, ServerState, StatRow, parse_csv, parse_servers_state};

/// The warning every HAProxy step carries.
pub const RELOAD_WARNING: &str = "Runtime change only: HAProxy forgets it when it reloads or restarts (the \
     configuration file wins). Make it permanent in haproxy.cfg (`disabled`, `weight N`) if it must stay.";

/// How long to wait for the new state to show before the postcondition counts as failed.
const SETTLE: Duration = Duration::from_secs(5);

/// Names HAProxy accepts for proxies and servers. Anything else is refused: the CLI splits
/// commands on `;` and words on spaces, so a name must never carry either.
fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

/// Splits and checks `backend/server`.
pub fn split_server(id: &str) -> Result<(&str, &str), String> {
    let (b, s) =
        id.split_once('/').ok_or_else(|| format!("{id:?}: name the server as BACKEND/SERVER (e.g. web/web1)"))?;
    if !valid_name(b) || !valid_name(s) {
        return Err(format!("{id:?}: backend and server names may only hold letters, digits, '_', '-', '.' and ':'"));
    }
    Ok((b, s))
}

/// The exact admin socket command of an op.
pub fn command(server: &str, op: ServerOp) -> String {
    match op {
        ServerOp::Ready => format!("set server {server} state ready"),
        ServerOp::Drain => format!("set server {server} state drain"),
        ServerOp::Maint => format!("set server {server} state maint"),
        ServerOp::Weight(w) => format!("set weight {server} {w}"),
    }
}

/// The admin socket of the configured instance `name`.
pub fn socket_of(cfg: &Config, name: &str) -> Result<PathBuf, String> {
    let h = cfg
        .haproxies
        .iter()
        .find(|h| h.name.get_ref() == name)
        .ok_or_else(|| format!("no [[haproxy]] is named {name:?} in the config"))?;
    h.socket.clone().ok_or_else(|| {
        format!(
            "{name} has no `socket` in the config: drain, maint, ready and weight need its admin socket \
             (`stats socket PATH level admin` in haproxy.cfg)"
        )
    })
}

fn cond(what: impl Into<String>) -> Condition {
    Condition { what: what.into(), ok: None, seen: String::new() }
}

fn postcondition_text(server: &str, op: ServerOp) -> String {
    match op {
        ServerOp::Ready => format!("{server} is neither in drain nor in maintenance"),
        ServerOp::Drain => format!("{server} is in drain"),
        ServerOp::Maint => format!("{server} is in maintenance"),
        ServerOp::Weight(w) => format!("{server} has weight {w}"),
    }
}

/// Plans a HAProxy server step. `rows` is the instance's last stats sample when there is one:
/// then the server must be in it, and the warnings say when it is the last one serving.
pub fn plan(action: &StepAction, cfg: &Config, rows: Option<&[StatRow]>) -> Result<Step, String> {
    let Some((name, server, op)) = action.haproxy_target() else {
        return Err("not a HAProxy server step".into());
    };
    socket_of(cfg, name)?;
    let (backend, srv) = split_server(server)?;
    if let ServerOp::Weight(w) = op
        && w > 256
    {
        return Err(format!("weight {w}: HAProxy takes 0 to 256"));
    }
    let row = match rows {
        Some(rows) => Some(
            rows.iter()
                .find(|r| r.proxy == backend && r.server == srv && r.kind() == RowKind::Server)
                .ok_or_else(|| format!("{name} has no server {server} (not in its last stats sample)"))?,
        ),
        None => None,
    };
    let (title, effect, danger) = match op {
        ServerOp::Drain => (
            format!("drain {server} on {name}"),
            format!(
                "{srv} takes no new connections from the balancer; sessions already on it finish, clients stuck \
                 to it by persistence still reach it, health checks go on. Undo with ready."
            ),
            Danger::Medium,
        ),
        ServerOp::Maint => (
            format!("put {server} on {name} in maintenance"),
            format!(
                "{srv} gets no traffic at all and its health checks stop; sessions already on it are not cut \
                 (they finish). Undo with ready."
            ),
            Danger::Medium,
        ),
        ServerOp::Ready => (
            format!("set {server} on {name} ready"),
            format!("{srv} leaves drain or maintenance and takes traffic again once its health checks pass"),
            Danger::Low,
        ),
        ServerOp::Weight(w) => (
            format!("set the weight of {server} on {name} to {w}"),
            if w == 0 {
                format!("{srv} gets no new connections from the balancer (like drain)")
            } else {
                format!("{srv} gets new connections in proportion to weight {w} against the other servers' weights")
            },
            Danger::Medium,
        ),
    };
    let mut warnings = vec![RELOAD_WARNING.to_string()];
    if let (Some(rows), Some(row)) = (rows, row) {
        let takes_traffic = |r: &StatRow| r.is_up() && !r.status.starts_with("DRAIN") && r.weight != Some(0);
        let others = rows
            .iter()
            .filter(|r| r.proxy == backend && r.kind() == RowKind::Server && r.server != srv && !r.backup)
            .filter(|r| takes_traffic(r))
            .count();
        let stops = matches!(op, ServerOp::Drain | ServerOp::Maint | ServerOp::Weight(0));
        if stops && takes_traffic(row) && others == 0 {
            warnings.push(format!(
                "{srv} is the only server of backend {backend} taking new connections: afterwards new requests \
                 queue or fail (503) unless a backup server takes them."
            ));
        }
        if op == ServerOp::Maint && row.scur > 0 {
            warnings.push(format!("{srv} has {} session(s) now; they are not cut but get no new work.", row.scur));
        }
    }
    Ok(Step {
        action: action.clone(),
        node: name.to_string(),
        title,
        statements: vec![command(server, op)],
        preconditions: vec![
            cond(format!("the admin socket of {name} answers at level admin")),
            cond(format!("{name} has server {server}")),
        ],
        postconditions: vec![cond(postcondition_text(server, op))],
        effect,
        warnings,
        danger,
    })
}

/// What the socket says about the server now.
struct Live {
    /// `show cli level`: `Some("admin")`; `None` on a version without the command (before 2.0).
    level: Option<String>,
    state: Option<ServerState>,
    /// `UP, 3 sessions, weight 1` from `show stat`, when it answered.
    seen: String,
}

async fn read_live(socket: &Path, server: &str, timeout: Duration) -> Result<Live, String> {
    let (backend, srv) = split_server(server)?;
    let level = socket_command_within(socket, "show cli level", timeout).await?;
    let level = level.trim();
    let level = match level {
        "admin" | "operator" | "user" => Some(level.to_string()),
        _ => None,
    };
    let state_text = socket_command_within(socket, &format!("show servers state {backend}"), timeout).await?;
    let state = match parse_servers_state(&state_text) {
        Ok(states) => states.into_iter().find(|s| s.server == srv),
        Err(e) if e.contains("Can't find backend") => None,
        Err(e) => return Err(format!("show servers state {backend}: {e}")),
    };
    let stat = socket_command_within(socket, "show stat", timeout).await.and_then(|t| parse_csv(&t));
    let seen = match stat.as_ref().ok().and_then(|rows| rows.iter().find(|r| r.proxy == backend && r.server == srv)) {
        Some(r) => format!(
            "{}, {} session(s), weight {}",
            r.status,
            r.scur,
            r.weight.map_or("-".to_string(), |w| w.to_string())
        ),
        None => String::new(),
    };
    Ok(Live { level, state, seen })
}

fn live_preconditions(step: &Step, live: &Live) -> Vec<Condition> {
    let what = |i: usize| step.preconditions.get(i).map(|c| c.what.clone()).unwrap_or_default();
    let level = match live.level.as_deref() {
        Some("admin") => Condition { what: what(0), ok: Some(true), seen: "level admin".into() },
        Some(other) => Condition {
            what: what(0),
            ok: Some(false),
            seen: format!(
                "level {other}: HAProxy answers \"Permission denied\" to set server and set weight below level admin"
            ),
        },
        None => {
            Condition { what: what(0), ok: None, seen: "cannot tell (no `show cli level` before HAProxy 2.0)".into() }
        }
    };
    let exists = match &live.state {
        Some(s) => {
            let seen = if live.seen.is_empty() { s.describe() } else { format!("{}; {}", live.seen, s.describe()) };
            Condition { what: what(1), ok: Some(true), seen }
        }
        None => Condition { what: what(1), ok: Some(false), seen: "no such server in `show servers state`".into() },
    };
    vec![level, exists]
}

fn postcondition(step: &Step, live: &Live) -> Condition {
    let what = step.postconditions.first().map(|c| c.what.clone()).unwrap_or_default();
    let Some((_, _, op)) = step.action.haproxy_target() else {
        return Condition { what, ok: Some(false), seen: "not a HAProxy step".into() };
    };
    let Some(s) = &live.state else {
        return Condition { what, ok: Some(false), seen: "the server is gone from `show servers state`".into() };
    };
    let ok = match op {
        ServerOp::Ready => !s.drain() && !s.maint(),
        ServerOp::Drain => s.drain(),
        ServerOp::Maint => s.maint(),
        ServerOp::Weight(w) => s.uweight == Some(u64::from(w)),
    };
    let seen = if live.seen.is_empty() { s.describe() } else { format!("{}; {}", live.seen, s.describe()) };
    Condition { what, ok: Some(ok), seen }
}

fn target(step: &Step, ctx: &EngineCtx) -> Result<(PathBuf, String), String> {
    let (name, server, _) = step.action.haproxy_target().ok_or("not a HAProxy server step")?;
    Ok((socket_of(&ctx.cfg, name)?, server.to_string()))
}

/// Checks the preconditions live on the socket, for the confirm dialog and the dry run. Never
/// changes anything; a socket that does not answer fails every condition with the reason.
pub async fn check_preconditions(step: &Step, ctx: &EngineCtx) -> Vec<Condition> {
    let live = async {
        let (socket, server) = target(step, ctx)?;
        read_live(&socket, &server, ctx.timeout).await
    }
    .await;
    match live {
        Ok(l) => live_preconditions(step, &l),
        Err(e) => super::record::unreachable_preconditions(step, &e),
    }
}

async fn run_step(step: &Step, ctx: &EngineCtx, run: &mut Tally, tx: &Sender<Progress>) -> Result<String, String> {
    let (socket, server) = target(step, ctx)?;
    let live = read_live(&socket, &server, ctx.timeout).await?;
    run.pre = live_preconditions(step, &live);
    let _ = tx.send(Progress::Preconditions(run.pre.clone())).await;
    let failed: Vec<String> =
        run.pre.iter().filter(|c| c.ok == Some(false)).map(|c| format!("{} ({})", c.what, c.seen)).collect();
    if !failed.is_empty() {
        return Err(format!("precondition failed, nothing was sent: {}", failed.join("; ")));
    }
    for cmd in &step.statements {
        let _ = tx.send(Progress::Statement(cmd.clone())).await;
        let answer = socket_command_within(&socket, cmd, ctx.timeout).await?;
        let answer = answer.trim();
        if !answer.is_empty() {
            // A command that worked answers nothing; anything else is HAProxy saying why not.
            return Err(format!("`{cmd}`: HAProxy answered: {}", answer.lines().collect::<Vec<_>>().join(" ")));
        }
        run.ran += 1;
    }
    let deadline = Instant::now() + SETTLE.min(ctx.settle);
    let post = loop {
        let live = read_live(&socket, &server, ctx.timeout).await?;
        let c = postcondition(step, &live);
        if c.ok == Some(true) || Instant::now() >= deadline {
            break c;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    run.post = vec![post.clone()];
    let _ = tx.send(Progress::Postconditions(run.post.clone())).await;
    if post.ok != Some(true) {
        return Err(format!("postcondition failed after the command was accepted: {} ({})", post.what, post.seen));
    }
    Ok(post.seen)
}

/// Executes a confirmed HAProxy step and reports on `progress`, ending with `Finished`.
/// Read-only: refused at once (no socket contact, no audit record). Otherwise one audit record.
pub async fn execute(step: Step, ctx: &EngineCtx, progress: Sender<Progress>) -> Outcome {
    if ctx.read_only {
        let outcome = Outcome { ok: false, summary: read_only_message(&step), audited: false };
        let _ = progress.send(Progress::Finished(outcome.clone())).await;
        return outcome;
    }
    let address = target(&step, ctx).map(|(s, _)| s.display().to_string()).unwrap_or_default();
    let started = begin(&step, ctx, address).await;
    let mut run = Tally::default();
    let result = run_step(&step, ctx, &mut run, &progress).await;
    let done =
        Done { statements: step.statements.clone(), ran: run.ran, pre: run.pre, post: run.post, notes: Vec::new() };
    record(&step, ctx, started, done, result, &progress).await
}

#[cfg(test)]
#[path = "haproxy_tests.rs"]
mod tests;
