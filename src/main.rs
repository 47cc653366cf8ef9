//! ringdeck: a terminal operations console for MySQL/MariaDB circular replication behind HAProxy
//! and Apache. This file holds the command line and dispatches to the subsystems.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use color_eyre::eyre::{Result, eyre};

use ringdeck::app::action::Pane;
use ringdeck::cli::snapshot::SnapshotOpts;
use ringdeck::config::{self, Config};

#[derive(Parser, Debug)]
#[command(
    name = "ringdeck",
    version,
    about = "Operations console for MySQL/MariaDB ring replication behind HAProxy and Apache"
)]
struct Cli {
    /// Config file (default: $XDG_CONFIG_HOME/ringdeck/config.toml).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Refuse every write action.
    #[arg(long, global = true)]
    read_only: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Open the console (the default).
    Console,
    /// Poll every target a few times, then print one frame (text, or SVG with --out F.svg).
    Snapshot(SnapshotArgs),
    /// Print timings of the hot paths on large synthetic inputs, and memory use; with --stack first
    /// the console beside innotop on a practice lab (CPU, memory, first frame, key-to-frame).
    Bench(ringdeck::cli::bench::stack::StackArgs),
    /// Check the ring once (for scripts and Nagios): exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    Check(ringdeck::cli::check::CheckArgs),
    /// Run a runbook step on one node: without --yes print the plan and change nothing.
    Run(ringdeck::cli::run::RunArgs),
    /// Guided recovery of a broken ring (the nine-step rebuild) or a rejoin: --plan prints, --yes runs.
    Recover(ringdeck::cli::recover::RecoverArgs),
    /// Print the audit log of executed steps.
    Audit(ringdeck::cli::run::AuditArgs),
    /// Connect to each node's SSH, run `uname -n` and `df` on its data_dir: exit 0 all OK, 1 otherwise.
    SshCheck(ringdeck::cli::ssh_check::SshCheckArgs),
    /// Compare tables across the nodes (CHECKSUM TABLE, then chunks and rows): exit 0 all equal, 1 otherwise.
    Verify(ringdeck::cli::verify::VerifyArgs),
    /// Answer HAProxy's agent-check and HTTP checks for each node (drain a node whose ring link
    /// is broken, keep the most complete one up), with /health and Prometheus /metrics.
    Agent(ringdeck::cli::agent::AgentArgs),
    /// What a node's stopped SQL thread failed on: the event from its upstream's binlog beside
    /// every node's row for that key (reads only).
    Inspect(ringdeck::cli::inspect::InspectArgs),
    /// Resolve a node's conflict: keep the event's version, the local one, both, or delete the
    /// row (without --yes print the plan and change nothing).
    Resolve(ringdeck::cli::inspect::ResolveArgs),
    /// A practice ring on loopback: MariaDB, HAProxy, Apache and sshd.
    #[command(subcommand)]
    Lab(ringdeck::lab::LabCommand),
}

#[derive(clap::Args, Debug)]
struct SnapshotArgs {
    /// Write here (`.svg` gives an image); default: text on stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, default_value_t = 160)]
    width: u16,
    #[arg(long, default_value_t = 45)]
    height: u16,
    /// Answers every target must have given first.
    #[arg(long, default_value_t = 2)]
    polls: u32,
    /// Pane to focus.
    #[arg(long, value_enum)]
    focus: Option<PaneArg>,
    /// Zoom the focused pane.
    #[arg(long)]
    zoom: bool,
    /// Show the ring recovery wizard as `R` opens it (the saved one, or a rebuild planned now).
    #[arg(long)]
    recover: bool,
    /// Run a verify (and plan the repair of what differs) and show its overlay as `V` does.
    #[arg(long)]
    verify: bool,
    /// Show the conflict inspector as `I` opens it (on the first node whose SQL thread stopped).
    #[arg(long)]
    inspect: bool,
    /// Keys to press before the frame is taken, one character each (`jp`: the next key, keep
    /// another version).
    #[arg(long, value_name = "KEYS", default_value = "")]
    keys: String,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum PaneArg {
    Ring,
    Haproxy,
    Apache,
    Queries,
    Probes,
}

impl From<PaneArg> for Pane {
    fn from(p: PaneArg) -> Pane {
        match p {
            PaneArg::Ring => Pane::Ring,
            PaneArg::Haproxy => Pane::Haproxy,
            PaneArg::Apache => Pane::Apache,
            PaneArg::Queries => Pane::Queries,
            PaneArg::Probes => Pane::Probes,
        }
    }
}

fn config_source(cli: &Cli) -> String {
    config::resolve_path(cli.config.as_deref()).map(|p| p.display().to_string()).unwrap_or_default()
}

fn load_config(cli: &Cli) -> Result<Config> {
    let path = config::resolve_path(cli.config.as_deref()).map_err(|e| eyre!(e))?;
    let mut cfg = Config::load_cli(&path).map_err(|e| eyre!("{e}"))?;
    cfg.read_only |= cli.read_only;
    Ok(cfg)
}

fn main() -> Result<()> {
    ringdeck::crash::install_hooks()?;
    let cli = Cli::parse();
    match &cli.command {
        None | Some(Command::Console) => {
            let cfg = load_config(&cli)?;
            let source =
                config::resolve_path(cli.config.as_deref()).map(|p| p.display().to_string()).unwrap_or_default();
            ringdeck::console::run_console(cfg, &source)
        }
        Some(Command::Snapshot(a)) => {
            let cfg = load_config(&cli)?;
            let opts = SnapshotOpts {
                width: a.width,
                height: a.height,
                polls: a.polls,
                focus: a.focus.map(Pane::from),
                zoom: a.zoom,
                recover: a.recover,
                verify: a.verify,
                inspect: a.inspect,
                keys: &a.keys,
                out: a.out.as_deref(),
            };
            ringdeck::cli::snapshot::run(cfg, &config_source(&cli), &opts)
        }
        Some(Command::Bench(args)) => {
            if args.stack {
                ringdeck::cli::bench::stack::run(args)?;
            }
            ringdeck::cli::bench::run()
        }
        Some(Command::Check(a)) => std::process::exit(ringdeck::cli::check::run(cli.config.as_deref(), a)),
        Some(Command::Run(a)) => std::process::exit(ringdeck::cli::run::run(cli.config.as_deref(), cli.read_only, a)),
        Some(Command::Recover(a)) => {
            std::process::exit(ringdeck::cli::recover::run(cli.config.as_deref(), cli.read_only, a))
        }
        Some(Command::Audit(a)) => std::process::exit(ringdeck::cli::run::audit(cli.config.as_deref(), a)),
        Some(Command::SshCheck(a)) => std::process::exit(ringdeck::cli::ssh_check::run(cli.config.as_deref(), a)),
        Some(Command::Verify(a)) => {
            std::process::exit(ringdeck::cli::verify::run(cli.config.as_deref(), cli.read_only, a))
        }
        Some(Command::Agent(a)) => std::process::exit(ringdeck::cli::agent::run(cli.config.as_deref(), a)),
        Some(Command::Inspect(a)) => std::process::exit(ringdeck::cli::inspect::run(cli.config.as_deref(), a)),
        Some(Command::Resolve(a)) => {
            std::process::exit(ringdeck::cli::inspect::resolve(cli.config.as_deref(), cli.read_only, a))
        }
        Some(Command::Lab(cmd)) => ringdeck::cli::lab::run(cmd),
    }
}
