//! The practice lab: a real MariaDB ring, HAProxy, two Apache servers and sshd on loopback,
//! started as the current user under one directory, for rehearsals and for the tests.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use color_eyre::eyre::{Result, bail};

/// `ringdeck lab ...`
#[derive(Subcommand, Debug, Clone)]
pub enum LabCommand {
    /// Start a lab (or say it is already running).
    Up(UpArgs),
    /// Stop everything the lab started.
    Down(DirArgs),
    /// Show what is running.
    Status(DirArgs),
    /// Break something on purpose.
    #[command(subcommand)]
    Break(BreakCommand),
    /// Write rows on every node and send HTTP requests through HAProxy.
    Load(LoadArgs),
}

#[derive(Args, Debug, Clone)]
pub struct DirArgs {
    /// Lab directory (default: $XDG_RUNTIME_DIR/ringdeck-lab or /tmp/ringdeck-lab-$UID).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct UpArgs {
    /// Number of MariaDB nodes in the ring.
    #[arg(long, default_value_t = 3)]
    pub nodes: u16,
    /// Port base B: node i on B+i, HAProxy MySQL on B, HTTP on B+80, stats on B+90.
    #[arg(long, default_value_t = 33300)]
    pub port_base: u16,
    #[command(flatten)]
    pub dir: DirArgs,
}

#[derive(Subcommand, Debug, Clone)]
pub enum BreakCommand {
    /// Stop node K's SQL thread with a duplicate key (error 1062).
    Dup {
        #[arg(long)]
        node: u16,
        #[command(flatten)]
        dir: DirArgs,
    },
    /// Kill node K's server, or stop Apache K.
    Stop {
        #[arg(long, conflicts_with = "web", required_unless_present = "web")]
        node: Option<u16>,
        #[arg(long)]
        web: Option<u16>,
        #[command(flatten)]
        dir: DirArgs,
    },
}

#[derive(Args, Debug, Clone)]
pub struct LoadArgs {
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    #[command(flatten)]
    pub dir: DirArgs,
}

pub fn run(cmd: &LabCommand) -> Result<()> {
    bail!("lab not implemented yet: {cmd:?}")
}
