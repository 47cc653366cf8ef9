//! `ringdeck verify --repair [--prefer NODE|majority] [--max-rows N] [--yes]`: the verify, then
//! the repair plan (per node, per key: insert, update or delete, old and new values); without
//! `--yes` nothing changes. With `--yes`: the repair, each node's part, and every repaired key
//! compared again on every node.
//!
//! Exit codes: 0 the data is equal on every node (nothing to repair, or repaired and verified);
//! 1 differences remain (a dry run, a refused or failed repair); 2 usage or config errors; 3
//! refused because ringdeck is read-only.

use crate::cli::start::CliError;
use std::path::Path;
use std::sync::Arc;

use crate::fork;
use crate::repair::plan::Plan;
use crate::repair::{Prefer, apply, prepare};
use crate::runbook::EngineCtx;
use crate::verify::VerifyOpts;

/// What `verify --repair` was asked.
#[derive(Clone, Debug)]
pub struct RepairArgs {
    pub prefer: Prefer,
    pub max_rows: usize,
    pub yes: bool,
    pub quiet: bool,
}

/// Width of each value in the printed plan.
const VALUE_W: usize = 40;

/// Prints a plan: its refusals, warnings, notes, and per node every change.
pub fn print_plan(plan: &Plan) {
    if plan.cases.is_empty() {
        println!("repair plan: no differing key to repair");
    } else {
        println!(
            "repair plan: {} key(s), {} row change(s) on {} node(s), each node's statements with sql_log_bin = 0 \
             (nothing travels around the ring)",
            plan.cases.len(),
            plan.changes.len(),
            plan.nodes_changed().len()
        );
        for c in &plan.cases {
            let t = &plan.tables[c.table];
            let keep = match &c.keep {
                Ok(_) => format!("{} ({})", plan.keep_text(c), c.why),
                Err(_) => plan.keep_text(c),
            };
            let fork = c.fork.as_deref().map(|f| format!(" [fork {f}]")).unwrap_or_default();
            println!("  {} {}: {keep}{fork}", t.name(), t.key_text(&c.key));
        }
        for l in plan.lines(VALUE_W) {
            println!("  {l}");
        }
    }
    for w in &plan.warnings {
        println!("WARNING: {w}");
    }
    for n in &plan.notes {
        println!("note: {n}");
    }
    for r in &plan.refusals {
        println!("REFUSED: {r}");
    }
}

fn gather(
    config_flag: Option<&Path>,
    read_only_flag: bool,
    opts: &VerifyOpts,
    args: &RepairArgs,
) -> Result<i32, CliError> {
    let (cfg, logins) = crate::cli::start::load(config_flag, read_only_flag)?;
    let rt = crate::cli::start::runtime()?;
    let quiet = args.quiet;
    let progress = || {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let print = async move {
            while let Some(line) = rx.recv().await {
                if !quiet {
                    eprintln!("repair: {line}");
                }
            }
        };
        (tx, print)
    };
    let report = rt.block_on(async {
        let (tx, print) = progress();
        let (r, ()) = tokio::join!(crate::verify::verify(&cfg, &logins, opts, Some(tx)), print);
        r
    });
    let report = report.map_err(CliError::usage)?;
    print!("{}", crate::verify::text(&report));
    let (eq, all) = report.equal_tables();
    for f in fork::settle_after_verify(&cfg, &eq, all).map_err(CliError::failed)? {
        println!("fork {} cleared: {} is equal on every node", f.id, f.what());
    }
    if report.equal {
        println!("nothing to repair: every table is equal on every node");
        return Ok(0);
    }
    let forks = fork::load_for(&cfg).map_err(CliError::failed)?;
    let plan = rt.block_on(async {
        let (tx, print) = progress();
        let (p, ()) =
            tokio::join!(prepare(&cfg, &logins, &report, &args.prefer, args.max_rows, &forks, Some(tx)), print);
        p
    });
    let plan = plan.map_err(CliError::failed)?;
    println!();
    print_plan(&plan);
    if !args.yes {
        let could = if plan.refusals.is_empty() { "add --yes to run it" } else { "it would be refused" };
        println!("dry run: nothing was changed; {could}");
        return Ok(1);
    }
    if let Some(by) = crate::runbook::ReadOnlyBy::of(read_only_flag, cfg.read_only) {
        return Err(crate::runbook::ReadOnly::new("the repair", by).into());
    }
    if !plan.refusals.is_empty() {
        return Err(CliError::failed("refused: nothing was changed"));
    }
    let cfg = Arc::new(cfg);
    let ctx = EngineCtx::new(cfg.clone(), Arc::new(logins)).map_err(CliError::usage)?;
    let outcome = rt.block_on(async {
        let (tx, print) = progress();
        let (o, ()) = tokio::join!(apply(&plan, &ctx, Some(tx)), print);
        o
    });
    println!();
    for n in &outcome.nodes {
        match &n.error {
            None => println!("{}: {} of {} row change(s) committed", n.node, n.applied, n.planned),
            Some(e) => println!("{}: FAILED after {} of {}: {e}", n.node, n.applied, n.planned),
        }
        if !n.audited {
            println!("WARNING: the audit record of {} was not written ({})", n.node, ctx.audit.path().display());
        }
    }
    for k in &outcome.keys {
        println!("  {}", k.text);
    }
    for id in &outcome.cleared {
        println!("fork {id} cleared: its key is equal on every node");
    }
    if outcome.ok {
        println!("OK: {}", outcome.summary);
        Ok(0)
    } else {
        Err(CliError::failed(outcome.summary))
    }
}

/// Runs `ringdeck verify --repair`; returns the exit code.
pub fn run(config_flag: Option<&Path>, read_only_flag: bool, opts: &VerifyOpts, args: &RepairArgs) -> i32 {
    crate::cli::start::finish("verify --repair", gather(config_flag, read_only_flag, opts, args))
}
