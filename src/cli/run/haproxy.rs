//! `ringdeck run drain|maint|ready|weight N --haproxy NAME --server BACKEND/SERVER [--yes]`:
//! reads the instance's stats on its admin socket, plans the step, and either prints the plan with
//! its live preconditions and changes nothing, or (`--yes`) sends the command, checks the new
//! state and appends one audit record. Exit codes as for node steps: 0 done (or could run), 1
//! refused or failed, 2 usage or config errors, 3 read-only.

use crate::cli::start::CliError;
use std::path::Path;
use std::sync::Arc;

use super::{RunArgs, print_conditions};
use crate::http::socket::socket_command_within;
use crate::model::haproxy::parse_csv;
use crate::runbook::haproxy::{plan, socket_of};
use crate::runbook::step::{Condition, Danger, ServerOp, Step, StepAction};
use crate::runbook::{self, EngineCtx};

fn print_plan(step: &Step, socket: &Path) {
    println!("{}", step.title);
    println!("haproxy: {} (admin socket {})", step.node, socket.display());
    let danger = match step.danger {
        Danger::Low => "low",
        Danger::Medium => "medium",
        Danger::TypeNodeName => "high",
    };
    println!("danger: {danger}");
    println!("socket commands:");
    for s in &step.statements {
        println!("  {s}");
    }
    println!("effect: {}", step.effect);
    for w in &step.warnings {
        println!("WARNING: {w}");
    }
}

/// Runs a HAProxy server action of `ringdeck run`.
pub fn run(config_flag: Option<&Path>, read_only_flag: bool, args: &RunArgs, op: ServerOp) -> Result<i32, CliError> {
    let loaded = crate::cli::start::config(config_flag, read_only_flag)?;
    let (cfg, path) = (&loaded.cfg, &loaded.path);
    let server = args.server.clone().ok_or(CliError::usage("--server BACKEND/SERVER is required (e.g. web/web1)"))?;
    let haproxy = match (&args.haproxy, cfg.haproxies.as_slice()) {
        (Some(h), _) => h.clone(),
        (None, [only]) => only.name.get_ref().clone(),
        (None, []) => return Err(CliError::usage(format!("{} has no [[haproxy]]", path.display()))),
        (None, _) => return Err(CliError::usage("several [[haproxy]] are configured: name one with --haproxy NAME")),
    };
    let socket = socket_of(cfg, &haproxy).map_err(CliError::usage)?;
    loaded.writable(format!("{} {server} on {haproxy}", op.name()))?;
    let logins = crate::cli::start::logins(cfg)?;
    let cfg = Arc::new(loaded.cfg.clone());
    let ctx = EngineCtx::new(cfg.clone(), Arc::new(logins)).map_err(CliError::usage)?;
    let rt = crate::cli::start::runtime()?;
    let rows = rt
        .block_on(socket_command_within(&socket, "show stat", ctx.timeout))
        .and_then(|t| parse_csv(&t))
        .map_err(|e| CliError::failed(format!("{haproxy}'s admin socket did not answer `show stat`: {e}")))?;
    let action = StepAction::HaproxyServer { haproxy: haproxy.clone(), server: server.clone(), op };
    let step = plan(&action, &cfg, Some(&rows)).map_err(CliError::failed)?;
    print_plan(&step, &socket);
    if !args.yes {
        let live = rt.block_on(runbook::check_preconditions(&step, &ctx));
        print_conditions("preconditions (checked now)", &live);
        print_conditions("postconditions (checked after running)", &step.postconditions);
        let failed: Vec<&Condition> = live.iter().filter(|c| c.ok == Some(false)).collect();
        println!("dry run: nothing was changed");
        if !failed.is_empty() {
            let why = failed.iter().map(|c| format!("{} ({})", c.what, c.seen)).collect::<Vec<_>>().join("; ");
            return Err(CliError::failed(format!("cannot run now: precondition failed: {why}")));
        }
        println!("add --yes to run it");
        return Ok(0);
    }
    super::execute_printing(&rt, step, &ctx)
}
