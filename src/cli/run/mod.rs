//! `ringdeck run <action> --node NAME`: polls every node once (like `check`), plans the step,
//! and either prints the plan with its live preconditions and changes nothing (no `--yes`), or
//! executes it printing its progress (`--yes`; steps that destroy coordinates also need
//! `--confirm-node NAME`). `ringdeck audit` prints the audit log. The HAProxy actions
//! (`drain`, `maint`, `ready`, `weight N` with `--haproxy NAME --server BACKEND/SERVER`) are run
//! by `haproxy_cli` on the instance's admin socket.
//!
//! Exit codes of `run`: 0 the step ran (or, without `--yes`, could run); 1 refused by planning, a
//! precondition or failed while running; 2 usage or config errors (missing `--confirm-node`);
//! 3 refused because ringdeck is read-only.

mod haproxy;

use crate::cli::start::CliError;
use std::path::Path;
use std::sync::Arc;

use crate::config::{self, Config};
use crate::model::replication::NodeStatus;
use crate::runbook::audit::{AuditLog, format_record};
use crate::runbook::plan;
use crate::runbook::plan::{DEFAULT_SKIP_ERRNOS, DEFAULT_SKIP_LIMIT};
use crate::runbook::step::{Condition, Danger, Progress, ServerOp, Step, StepAction, Threads};
use crate::runbook::{self, EngineCtx};

/// `ringdeck run` options.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    #[command(subcommand)]
    pub action: RunAction,
    /// The configured node to act on.
    #[arg(long, global = true, value_name = "NAME")]
    pub node: Option<String>,
    /// Execute the step (without it: print the plan and change nothing).
    #[arg(long, global = true)]
    pub yes: bool,
    /// The node's name again, required with --yes for reset-master, reset-slave-all, change-master.
    #[arg(long, global = true, value_name = "NAME")]
    pub confirm_node: Option<String>,
    /// The configured HAProxy instance (drain, maint, ready, weight; default: the only one).
    #[arg(long, global = true, value_name = "NAME")]
    pub haproxy: Option<String>,
    /// The HAProxy server to act on, as BACKEND/SERVER (e.g. web/web1).
    #[arg(long, global = true, value_name = "BACKEND/SERVER")]
    pub server: Option<String>,
}

/// The actions.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum RunAction {
    /// STOP SLAVE (both threads, or only --io / --sql).
    StopSlave {
        #[arg(long, conflicts_with = "sql")]
        io: bool,
        #[arg(long)]
        sql: bool,
    },
    /// START SLAVE.
    StartSlave,
    /// Skip events after the SQL thread stopped on an error.
    Skip {
        #[arg(long, default_value_t = 1)]
        count: u32,
    },
    /// Skip one event at a time while the error is one of --errno, at most --limit times.
    SkipUntilHealthy {
        /// Error numbers to skip (repeat; default 1062 and 1032).
        #[arg(long = "errno", value_name = "N")]
        errnos: Vec<u32>,
        #[arg(long, default_value_t = DEFAULT_SKIP_LIMIT)]
        limit: u32,
    },
    /// RESET MASTER: delete the node's binary logs.
    ResetMaster,
    /// STOP SLAVE, RESET SLAVE ALL: forget the replication settings.
    ResetSlaveAll,
    /// CHANGE MASTER TO the upstream node (coordinates: --file/--pos, default its current binlog position).
    ChangeMaster {
        #[arg(long, value_name = "NODE")]
        upstream: String,
        #[arg(long, requires = "pos")]
        file: Option<String>,
        #[arg(long, requires = "file")]
        pos: Option<u64>,
    },
    /// Bypass the failed --node: point its downstream at its upstream, where the failed node had stopped.
    Bypass,
    /// SET GLOBAL read_only = ON / OFF.
    ReadOnly {
        #[arg(long, conflicts_with = "off", required_unless_present = "off")]
        on: bool,
        #[arg(long)]
        off: bool,
    },
    /// HAProxy: `set server B/S state drain` (no new connections) on the admin socket.
    Drain,
    /// HAProxy: `set server B/S state maint` (no traffic, checks stop) on the admin socket.
    Maint,
    /// HAProxy: `set server B/S state ready` on the admin socket.
    Ready,
    /// KILL QUERY --id N on --node: stop the thread's running statement (the client stays connected).
    KillQuery {
        /// The thread id (the process list's `Id`).
        #[arg(long, value_name = "N")]
        id: u64,
    },
    /// KILL CONNECTION --id N on --node: disconnect the thread's client.
    KillConnection {
        /// The thread id (the process list's `Id`).
        #[arg(long, value_name = "N")]
        id: u64,
    },
    /// HAProxy: `set weight B/S N` (0 to 256) on the admin socket.
    Weight {
        #[arg(value_name = "N", value_parser = clap::value_parser!(u32).range(0..=256))]
        weight: u32,
    },
    /// Forget a forked-data record by hand (after checking the data yourself): --yes
    /// --confirm-node NODE, the node the event was skipped on. The data stays as it is.
    Forget {
        /// The record's id (shown by `check` and the ring pane: `fork f3a9c2d1`).
        #[arg(long, value_name = "ID")]
        fork: String,
    },
}

impl RunAction {
    pub fn to_step_action(&self) -> StepAction {
        match self {
            RunAction::StopSlave { io, sql } => StepAction::StopSlave {
                threads: if *io {
                    Threads::Io
                } else if *sql {
                    Threads::Sql
                } else {
                    Threads::Both
                },
            },
            RunAction::StartSlave => StepAction::StartSlave,
            RunAction::Skip { count } => StepAction::Skip { count: *count },
            RunAction::SkipUntilHealthy { errnos, limit } => StepAction::SkipUntilHealthy {
                errnos: if errnos.is_empty() { DEFAULT_SKIP_ERRNOS.to_vec() } else { errnos.clone() },
                limit: *limit,
            },
            RunAction::ResetMaster => StepAction::ResetMaster,
            RunAction::ResetSlaveAll => StepAction::ResetSlaveAll,
            RunAction::ChangeMaster { upstream, file, pos } => StepAction::ChangeMaster {
                upstream: upstream.clone(),
                file: file.clone().unwrap_or_default(),
                pos: pos.unwrap_or(0),
            },
            RunAction::ReadOnly { on, .. } => StepAction::ReadOnly { on: *on },
            RunAction::Bypass => {
                StepAction::Bypass { failed: String::new(), upstream: String::new(), file: String::new(), pos: 0 }
            }
            RunAction::KillQuery { id } => StepAction::Kill { id: *id, connection: false, statement: String::new() },
            RunAction::KillConnection { id } => {
                StepAction::Kill { id: *id, connection: true, statement: String::new() }
            }
            RunAction::Forget { fork } => StepAction::ForgetFork { id: fork.clone() },
            // The target comes from --haproxy/--server (see `haproxy_cli`).
            RunAction::Drain | RunAction::Maint | RunAction::Ready | RunAction::Weight { .. } => {
                StepAction::HaproxyServer {
                    haproxy: String::new(),
                    server: String::new(),
                    op: self.server_op().unwrap_or(ServerOp::Ready),
                }
            }
        }
    }

    /// The HAProxy op of a server action.
    pub fn server_op(&self) -> Option<ServerOp> {
        match self {
            RunAction::Drain => Some(ServerOp::Drain),
            RunAction::Maint => Some(ServerOp::Maint),
            RunAction::Ready => Some(ServerOp::Ready),
            RunAction::Weight { weight } => Some(ServerOp::Weight(*weight)),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            RunAction::StopSlave { .. } => "stop-slave",
            RunAction::StartSlave => "start-slave",
            RunAction::Skip { .. } => "skip",
            RunAction::SkipUntilHealthy { .. } => "skip-until-healthy",
            RunAction::ResetMaster => "reset-master",
            RunAction::ResetSlaveAll => "reset-slave-all",
            RunAction::ChangeMaster { .. } => "change-master",
            RunAction::ReadOnly { .. } => "read-only",
            RunAction::Bypass => "bypass",
            RunAction::Drain => "drain",
            RunAction::Maint => "maint",
            RunAction::Ready => "ready",
            RunAction::Weight { .. } => "weight",
            RunAction::KillQuery { .. } => "kill-query",
            RunAction::KillConnection { .. } => "kill-connection",
            RunAction::Forget { .. } => "forget",
        }
    }
}

/// `ringdeck audit` options.
#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    /// Print the raw JSON lines.
    #[arg(long)]
    pub json: bool,
    /// Only the last N records.
    #[arg(long, value_name = "N")]
    pub tail: Option<usize>,
}

fn mark(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "ok  ",
        Some(false) => "FAIL",
        None => "    ",
    }
}

pub(super) fn print_conditions(title: &str, conds: &[Condition]) {
    if conds.is_empty() {
        return;
    }
    println!("{title}:");
    for c in conds {
        if c.seen.is_empty() {
            println!("  [{}] {}", mark(c.ok), c.what);
        } else {
            println!("  [{}] {}: {}", mark(c.ok), c.what, c.seen);
        }
    }
}

fn print_plan(step: &Step, address: &str, dialect: &str) {
    println!("{}", step.title);
    println!("node: {} ({address}, {dialect})", step.node);
    let danger = match step.danger {
        Danger::Low => "low",
        Danger::Medium => "medium",
        Danger::TypeNodeName => "high: destroys coordinates or history (needs --confirm-node)",
    };
    println!("danger: {danger}");
    println!("statements:");
    for s in &step.statements {
        println!("  {s}");
    }
    println!("effect: {}", step.effect);
    for w in &step.warnings {
        println!("WARNING: {w}");
    }
}

/// Runs `ringdeck run`; returns the exit code.
pub fn run(config_flag: Option<&Path>, read_only_flag: bool, args: &RunArgs) -> i32 {
    crate::cli::start::finish(&format!("run {}", args.action.name()), run_inner(config_flag, read_only_flag, args))
}

fn run_inner(config_flag: Option<&Path>, read_only_flag: bool, args: &RunArgs) -> Result<i32, CliError> {
    if let Some(op) = args.action.server_op() {
        return haproxy::run(config_flag, read_only_flag, args, op);
    }
    let loaded = crate::cli::start::config(config_flag, read_only_flag)?;
    if let RunAction::Forget { fork } = &args.action {
        return forget(&loaded, fork, args);
    }
    let node = args.node.clone().ok_or(CliError::usage("--node NAME is required"))?;
    let ncfg = loaded
        .cfg
        .node(&node)
        .ok_or_else(|| CliError::usage(format!("no [[node]] is named {node:?} in {}", loaded.path.display())))?;
    let address = ncfg.address();
    loaded.writable(format!("{} on {node}", args.action.name()))?;
    let logins = crate::cli::start::logins(&loaded.cfg)?;
    let cfg = Arc::new(loaded.cfg);
    let ctx = EngineCtx::new(cfg.clone(), Arc::new(logins)).map_err(CliError::usage)?;
    let rt = crate::cli::start::runtime()?;
    let polled = rt.block_on(crate::db::read_all(&cfg, &ctx.logins, ctx.timeout));
    let statuses: Vec<(&str, Option<&NodeStatus>)> =
        cfg.nodes.iter().zip(&polled).map(|(n, p)| (n.name(), p.as_ref().ok())).collect();
    let i = cfg.nodes.iter().position(|n| n.name() == node).unwrap_or(0);
    // A bypass plans from the failed node's last answer and runs on its downstream.
    let bypass = matches!(args.action, RunAction::Bypass);
    if let (Some(Err(e)), false) = (polled.get(i), bypass) {
        return Err(CliError::failed(format!("{node} did not answer: {e}")));
    }
    let step = plan(&args.action.to_step_action(), &node, &cfg, &statuses).map_err(CliError::failed)?;
    let (node, address) = match cfg.node(&step.node) {
        Some(n) if bypass => (step.node.clone(), n.address()),
        _ => (node, address),
    };
    let j = cfg.nodes.iter().position(|n| n.name() == node).unwrap_or(i);
    let dialect = polled.get(j).and_then(|p| p.as_ref().ok()).map_or("?", |s| s.dialect.label());
    print_plan(&step, &address, dialect);
    if !args.yes {
        let live = rt.block_on(runbook::check_preconditions(&step, &ctx));
        print_conditions("preconditions (checked now)", &live);
        print_conditions("postconditions (checked after running)", &step.postconditions);
        let failed: Vec<&Condition> = live.iter().filter(|c| c.ok != Some(true)).collect();
        if !failed.is_empty() {
            let why = failed.iter().map(|c| format!("{} ({})", c.what, c.seen)).collect::<Vec<_>>().join("; ");
            println!("dry run: nothing was changed");
            return Err(CliError::failed(format!("cannot run now: precondition failed: {why}")));
        }
        let confirm =
            if step.danger == Danger::TypeNodeName { format!(" --confirm-node {node}") } else { String::new() };
        println!("dry run: nothing was changed; add --yes{confirm} to run it");
        return Ok(0);
    }
    if step.danger == Danger::TypeNodeName && args.confirm_node.as_deref() != Some(node.as_str()) {
        return Err(CliError::new(
            2,
            format!("`{}` destroys coordinates or history: pass --yes --confirm-node {node} to run it", step.title),
        ));
    }
    execute_printing(&rt, step, &ctx)
}

/// `ringdeck run forget --fork ID`: shows the record; with `--yes --confirm-node NODE` removes
/// it and audits that.
fn forget(loaded: &crate::cli::start::Loaded, id: &str, args: &RunArgs) -> Result<i32, CliError> {
    loaded.writable(format!("forgetting fork {id}"))?;
    let cfg = &loaded.cfg;
    let forks = crate::fork::load_for(cfg).map_err(CliError::failed)?;
    let Some(f) = forks.iter().find(|f| f.id == id).cloned() else {
        let ids: Vec<&str> = forks.iter().map(|f| f.id.as_str()).collect();
        let known =
            if ids.is_empty() { "none is recorded".to_string() } else { format!("recorded: {}", ids.join(", ")) };
        return Err(CliError::failed(format!("no forked-data record {id} ({known})")));
    };
    println!("fork {}: {} skipped on {} at {}", f.id, f.what(), f.node, f.time);
    println!("  event {} from {}: {} {}", f.event, f.upstream, f.errno, f.error);
    println!("  has the event's version: {}; never gets it: {}", f.has.join(", "), f.never.join(", "));
    if !args.yes {
        println!(
            "dry run: nothing was changed; add --yes --confirm-node {} to forget it (the data stays as it is; \
             `ringdeck verify --repair` makes it equal)",
            f.node
        );
        return Ok(0);
    }
    if args.confirm_node.as_deref() != Some(f.node.as_str()) {
        return Err(CliError::new(
            2,
            format!("forgetting a fork hides unequal data: pass --yes --confirm-node {} to do it", f.node),
        ));
    }
    let started = std::time::Instant::now();
    let path = crate::fork::path_for(&cfg.source).ok_or(CliError::usage("no state dir: set HOME or XDG_STATE_HOME"))?;
    crate::fork::settle(&path, |x| x.id == f.id).map_err(CliError::failed)?;
    let rec = crate::runbook::audit::AuditRecord {
        id: String::new(),
        phase: crate::runbook::audit::Phase::Ended,
        time: crate::fmt::rfc3339(std::time::SystemTime::now()),
        operator: crate::runbook::audit::operator(),
        host: crate::runbook::audit::host_name(),
        node: f.node.clone(),
        address: cfg.node(&f.node).map(|n| n.address()).unwrap_or_default(),
        action: StepAction::ForgetFork { id: f.id.clone() },
        title: format!("forget fork {}: {} skipped on {}", f.id, f.what(), f.node),
        statements: Vec::new(),
        statements_run: 0,
        preconditions: Vec::new(),
        postconditions: Vec::new(),
        notes: vec![format!("never got it: {}", f.never.join(", "))],
        ok: true,
        result: "record removed; the data was not changed".into(),
        duration_ms: started.elapsed().as_millis() as u64,
    };
    AuditLog::from_config(cfg)
        .and_then(|l| l.append(&rec))
        .map_err(|e| CliError::failed(format!("record removed, but the audit log was NOT written: {e}")))?;
    println!("OK: fork {} forgotten (audited); the data was not changed", f.id);
    Ok(0)
}

/// Runs `ringdeck audit`; returns the exit code. Without a config, reads the default log.
pub fn audit(config_flag: Option<&Path>, args: &AuditArgs) -> i32 {
    let log = match config::resolve_path(config_flag) {
        Ok(path) => match Config::load_cli(&path) {
            Ok(cfg) => AuditLog::from_config(&cfg),
            Err(e) => {
                eprintln!("ringdeck audit: {e}");
                return 2;
            }
        },
        Err(_) if config_flag.is_none() => crate::config::paths::state_dir()
            .map(|d| AuditLog::new(d.join("audit.log")))
            .ok_or_else(|| "cannot find the state dir: set HOME or XDG_STATE_HOME".to_string()),
        Err(e) => Err(e),
    };
    let log = match log {
        Ok(l) => l,
        Err(e) => {
            eprintln!("ringdeck audit: {e}");
            return 2;
        }
    };
    let lines = match log.read() {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("no audit log at {} yet: no step has been run", log.path().display());
            return 0;
        }
        Err(e) => {
            eprintln!("ringdeck audit: cannot read {}: {e}", log.path().display());
            return 2;
        }
    };
    // A step's `started` record is shown only when it never ended (the step was interrupted).
    let ended: std::collections::HashSet<&str> = lines
        .iter()
        .filter_map(|l| l.as_ref().ok())
        .filter(|r| r.phase == crate::runbook::audit::Phase::Ended && !r.id.is_empty())
        .map(|r| r.id.as_str())
        .collect();
    let shown: Vec<&Result<crate::runbook::audit::AuditRecord, String>> = lines
        .iter()
        .filter(|l| match l {
            Ok(r) => args.json || r.phase == crate::runbook::audit::Phase::Ended || !ended.contains(r.id.as_str()),
            Err(_) => true,
        })
        .collect();
    let skip = args.tail.map_or(0, |n| shown.len().saturating_sub(n));
    for l in &shown[skip..] {
        match l {
            Ok(r) if args.json => match serde_json::to_string(r) {
                Ok(s) => println!("{s}"),
                Err(e) => eprintln!("cannot encode a record: {e}"),
            },
            Ok(r) => print!("{}", format_record(r)),
            Err(e) => eprintln!("unreadable line in {}: {e}", log.path().display()),
        }
    }
    0
}

/// Executes a confirmed step, printing its progress; exit 0 on success, `(1, why)` on failure.
pub(crate) fn execute_printing(
    rt: &tokio::runtime::Runtime,
    step: crate::runbook::Step,
    ctx: &EngineCtx,
) -> Result<i32, CliError> {
    let outcome = rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(32);
        let exec = runbook::execute(step, ctx, tx);
        let print = async {
            while let Some(p) = rx.recv().await {
                match p {
                    Progress::Preconditions(c) => print_conditions("preconditions (checked now)", &c),
                    Progress::Statement(s) => println!("running: {s}"),
                    Progress::Note(n) => println!("note: {n}"),
                    Progress::Postconditions(c) => print_conditions("postconditions", &c),
                    Progress::Finished(_) => {}
                }
            }
        };
        let (outcome, ()) = tokio::join!(exec, print);
        outcome
    });
    if !outcome.audited {
        eprintln!("WARNING: the audit record was not written ({})", ctx.audit.path().display());
    }
    if outcome.ok {
        println!("OK: {}", outcome.summary);
        Ok(0)
    } else {
        Err(CliError::failed(outcome.summary))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Subcommand;

    #[test]
    fn every_step_a_key_starts_is_a_run_subcommand_of_the_same_name() {
        let cmd = RunAction::augment_subcommands(clap::Command::new("run"));
        let names: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
        for n in crate::runbook::StepName::ALL {
            assert!(names.contains(&n.command()), "`ringdeck run {}` is missing: {names:?}", n.command());
        }
    }
}
