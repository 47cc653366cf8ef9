//! ringdeck: a terminal operations console for MySQL/MariaDB circular replication behind HAProxy
//! and Apache. This file holds the command line and dispatches to the subsystems.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use color_eyre::eyre::{Result, eyre};

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
    /// A practice ring on loopback: MariaDB, HAProxy, Apache and sshd.
    #[command(subcommand)]
    Lab(ringdeck::lab::LabCommand),
}

fn load_config(cli: &Cli) -> Result<Config> {
    let path = config::resolve_path(cli.config.as_deref()).map_err(|e| eyre!(e))?;
    let mut cfg = Config::load(&path).map_err(|e| eyre!("{e}"))?;
    cfg.read_only |= cli.read_only;
    Ok(cfg)
}

fn main() -> Result<()> {
    ringdeck::ui::terminal::install_hooks()?;
    let cli = Cli::parse();
    match &cli.command {
        None | Some(Command::Console) => {
            let cfg = load_config(&cli)?;
            let source = config::resolve_path(cli.config.as_deref())
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            ringdeck::app::run_console(cfg, &source)
        }
        Some(Command::Lab(cmd)) => ringdeck::lab::run(cmd),
    }
}
