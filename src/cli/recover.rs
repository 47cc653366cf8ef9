//! `ringdeck recover`: the recovery wizard without the TUI. Without `--yes` it prints the plan for
//! the current state (a saved wizard resumes where it stopped); with `--yes` it runs the steps in
//! order, printing every command and check, and stops at the first failure (run it again to
//! resume). `--abort` says where the backups are and how to go back, then forgets the wizard.

use crate::cli::start::CliError;
use crate::config::login::Logins;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::config::Config;
use crate::model::replication::NodeStatus;
use crate::recover::exec::{self, Ctx, Event};
use crate::recover::state::{self, Procedure, RecoveryState};

/// `ringdeck recover` options.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct RecoverArgs {
    /// Print the plan and change nothing (the default without --yes).
    #[arg(long)]
    pub plan: bool,
    /// Run the steps (resuming a saved wizard at its step).
    #[arg(long)]
    pub yes: bool,
    /// The source node's name again: required with --yes for the destructive steps (reset, shutdown, copy).
    #[arg(long, value_name = "NAME")]
    pub confirm_node: Option<String>,
    /// Rebuild from this node instead of the model's choice.
    #[arg(long, value_name = "NODE")]
    pub source: Option<String>,
    /// Rejoin this (bypassed) node from a copy of --donor instead of rebuilding the ring.
    #[arg(long, value_name = "NODE", requires = "donor")]
    pub rejoin: Option<String>,
    /// The node whose data the rejoining node gets (its upstream in the ring).
    #[arg(long, value_name = "NODE")]
    pub donor: Option<String>,
    /// Do not put the nodes' HAProxy servers into maint during quiesce.
    #[arg(long)]
    pub no_maint: bool,
    /// Trust this host key fingerprint (SHA256:...) for a host not yet in known_hosts.
    #[arg(long = "accept-host-key", value_name = "FINGERPRINT")]
    pub accept_host_keys: Vec<String>,
    /// How long a server may take to stop (proven on its host) or to start and answer, in seconds
    /// (default 180; a large buffer pool takes longer to shut down).
    #[arg(long, value_name = "SECONDS", default_value_t = 180)]
    pub server_wait: u64,
    /// Run at most N steps, then stop (the wizard resumes from there).
    #[arg(long, value_name = "N")]
    pub steps: Option<usize>,
    /// Forget the saved wizard after printing where the backups are and how to go back.
    #[arg(long)]
    pub abort: bool,
}

/// Runs `ringdeck recover`; returns the exit code (0 done / plan printed, 1 a step failed, 2 usage
/// or config error, 3 refused read-only).
pub fn run(config_flag: Option<&Path>, read_only_flag: bool, args: &RecoverArgs) -> i32 {
    crate::cli::start::finish("recover", run_inner(config_flag, read_only_flag, args))
}

fn run_inner(config_flag: Option<&Path>, read_only_flag: bool, args: &RecoverArgs) -> Result<i32, CliError> {
    let loaded = crate::cli::start::config(config_flag, read_only_flag)?;
    let path = loaded.path.clone();
    let state_path = state::state_path(&path)
        .ok_or_else(|| CliError::usage("cannot find the state dir: set HOME or XDG_STATE_HOME"))?;
    // One wizard at a time; the saved state is read under the lock.
    let _lock = crate::recover::lock::WizardLock::acquire(&state_path).map_err(CliError::failed)?;
    let saved = state::load(&state_path).map_err(CliError::usage)?;
    if args.abort {
        return abort(&loaded.cfg, &state_path, saved);
    }
    if args.yes {
        loaded.writable("no recovery step")?;
    }
    let logins = Arc::new(crate::cli::start::logins(&loaded.cfg)?);
    let cfg = Arc::new(loaded.cfg);
    let rt = crate::cli::start::runtime()?;
    let mut st = match saved {
        Some(st) => resume(st, args)?,
        None => plan_new(&cfg, &logins, &rt, &path, args)?,
    };
    if let (Some(s), Procedure::Rebuild) = (&args.source, &st.procedure)
        && st.current <= 2
    {
        st.source = Some(s.clone());
    }
    print!("{}", crate::recover::plan_text(&cfg, &st));
    if !args.yes {
        let confirm = st.source.as_deref().map_or(String::new(), |s| format!(" --confirm-node {s}"));
        println!("plan only: nothing was changed; run it with: ringdeck recover --yes{confirm}");
        return Ok(0);
    }
    let destructive_left = st.steps[st.current.min(st.steps.len())..].iter().any(|k| k.destructive());
    if destructive_left && (st.source.is_none() || args.confirm_node != st.source) {
        return Err(CliError::usage(format!(
            "the remaining steps destroy data on every node but the source: pass --yes --confirm-node {}",
            st.source.as_deref().unwrap_or("SOURCE (choose one with --source)")
        )));
    }
    let mut ctx = Ctx::new(cfg.clone(), logins, state_path.clone()).map_err(CliError::usage)?;
    ctx.maint = !args.no_maint;
    ctx.server_wait = std::time::Duration::from_secs(args.server_wait.max(1));
    ctx.accepted = accepted_keys(&cfg, &args.accept_host_keys);
    state::save(&state_path, &st).map_err(CliError::usage)?;
    let code = run_steps(&rt, &ctx, &mut st, args.steps.unwrap_or(usize::MAX));
    if code == 0 && st.done() {
        let _ = state::clear(&state_path);
        println!("recovery complete: {}", crate::recover::procedure_name(&st.procedure));
    }
    Ok(code)
}

/// A saved wizard resumed (a different `--rejoin` is refused: one wizard at a time).
fn resume(st: RecoveryState, args: &RecoverArgs) -> Result<RecoveryState, CliError> {
    if let Some(n) = &args.rejoin
        && st.procedure != (Procedure::Rejoin { node: n.clone(), donor: args.donor.clone().unwrap_or_default() })
    {
        return Err(CliError::usage(format!(
            "a saved wizard ({}) is at {}: finish it, or forget it with --abort",
            crate::recover::procedure_name(&st.procedure),
            st.position()
        )));
    }
    println!(
        "resuming the saved wizard ({}, started {}) at {}",
        crate::recover::procedure_name(&st.procedure),
        st.started,
        st.position()
    );
    if st.interrupted {
        println!("step {} was interrupted; it runs again from its start", st.current + 1);
    }
    Ok(st)
}

/// A new wizard planned from one read of every node: a rejoin, or a rebuild from `--source` or
/// from the node the model finds most complete (printed with its evidence).
fn plan_new(
    cfg: &Config,
    logins: &Logins,
    rt: &tokio::runtime::Runtime,
    path: &Path,
    args: &RecoverArgs,
) -> Result<RecoveryState, CliError> {
    let polled = rt.block_on(crate::db::read_all(cfg, logins, cfg.timeout.0));
    let statuses: Vec<(&str, Option<&NodeStatus>)> =
        cfg.nodes.iter().zip(&polled).map(|(n, p)| (n.name(), p.as_ref().ok())).collect();
    for (n, p) in cfg.nodes.iter().zip(&polled) {
        if let Err(e) = p {
            println!("note: {} does not answer: {e}", n.name());
        }
    }
    match (&args.rejoin, &args.donor) {
        (Some(node), Some(donor)) => {
            crate::recover::new_rejoin(cfg, &statuses, path, node, donor).map_err(CliError::failed)
        }
        _ => {
            if let Some(s) = &args.source
                && cfg.node(s).is_none()
            {
                return Err(CliError::usage(format!("--source {s}: no such node")));
            }
            let st = crate::recover::new_rebuild(cfg, &statuses, path, args.source.clone()).map_err(CliError::usage)?;
            if args.source.is_none() {
                match crate::recover::propose_source(cfg, &statuses) {
                    Some((n, why)) => {
                        println!("most complete data: {n}");
                        for w in why {
                            println!("  {w}");
                        }
                    }
                    None => {
                        println!("the model proposes no source (the ring is not broken?): pass --source NODE")
                    }
                }
            }
            println!("ring to rebuild ({}):", crate::recover::plan_upstreams(cfg, &statuses).1);
            for (d, u) in &st.upstreams {
                println!("  {u} -> {d}");
            }
            Ok(st)
        }
    }
}

/// Runs at most `limit` steps of `st`, printing what each reports; the exit code.
fn run_steps(rt: &tokio::runtime::Runtime, ctx: &Ctx, st: &mut RecoveryState, limit: usize) -> i32 {
    let mut ran = 0;
    rt.block_on(async {
        while !st.done() && ran < limit {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            // The sender goes with the step, so the printer ends when the step does.
            let st_ref = &mut *st;
            let ctx_ref = &ctx;
            let step = async move { exec::run_next(ctx_ref, st_ref, &tx).await };
            let print = async {
                let mut result = (false, String::new());
                while let Some(ev) = rx.recv().await {
                    match ev {
                        Event::Line(l) => println!("{l}"),
                        Event::Progress { label, done, total } => {
                            println!("  {label}: {} of {} MB", done >> 20, total >> 20)
                        }
                        Event::State(_) => {}
                        Event::UnknownHostKey { node, host, port, fingerprint } => println!(
                            "{node}: unknown host key for {host}:{port}: {fingerprint}\n  check it on the host \
                             (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then re-run with --accept-host-key {fingerprint}"
                        ),
                        Event::Finished { ok, summary } => result = (ok, summary),
                    }
                }
                result
            };
            let (ok, (_, summary)) = tokio::join!(step, print);
            ran += 1;
            if !ok {
                println!("FAILED at {}: {summary}", st.position());
                println!("fix the cause and run `ringdeck recover --yes` again to resume; `ringdeck recover --abort` shows the backups and how to go back");
                return 1;
            }
            println!("OK: {summary}");
        }
        0
    })
}

/// `--accept-host-key` fingerprints (every flag counts) apply to every configured SSH host: an
/// unknown host key is trusted only when its fingerprint is exactly one of them.
fn accepted_keys(cfg: &Config, fps: &[String]) -> BTreeMap<String, Vec<String>> {
    let mut m = BTreeMap::new();
    if fps.is_empty() {
        return m;
    }
    for n in &cfg.nodes {
        if let Some(s) = &n.ssh {
            m.insert(format!("{}:{}", s.host.as_deref().unwrap_or(&n.host), s.port), fps.to_vec());
        }
    }
    m
}

fn abort(cfg: &Config, state_path: &Path, saved: Option<RecoveryState>) -> Result<i32, CliError> {
    let Some(st) = saved else {
        println!("no saved recovery wizard for this config");
        return Ok(0);
    };
    println!("aborting {} at {}", crate::recover::procedure_name(&st.procedure), st.position());
    for l in st.rollback_text() {
        println!("{l}");
    }
    if let Err(e) = exec::record_abort(cfg, &st) {
        eprintln!("WARNING: the audit record was not written: {e}");
    }
    state::clear(state_path).map_err(CliError::usage)?;
    println!("the saved wizard is forgotten; the backups stay where they are");
    Ok(0)
}
