//! The practice lab: a real MariaDB ring, HAProxy, two Apache servers and sshd on loopback,
//! started as the current user under one directory, for rehearsals and for the tests.
//! This file holds the `ringdeck lab ...` command line and dispatches to the modules.

mod agent;
mod apache;
pub mod breaks;
mod configfile;
mod haproxy;
pub mod load;
mod mariadb;
mod proc;
pub mod spec;
mod sql;
mod sshd;
pub mod status;
mod tls;
pub mod updown;

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `ringdeck lab ...`
#[derive(Subcommand, Debug, Clone)]
pub enum LabCommand {
    /// Start a lab (or say it is already running; restart only what is down).
    Up(UpArgs),
    /// Stop everything the lab started.
    Down(DownArgs),
    /// Show what is running.
    Status(DirArgs),
    /// Open the console on the lab (its `ringdeck.toml`).
    Open(DirArgs),
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
    /// Number of MariaDB nodes in the ring [default: 3; an existing lab keeps its own].
    #[arg(long)]
    pub nodes: Option<u16>,
    /// Port base B: node i on B+i, HAProxy MySQL on B, HTTP on B+80, web1/web2 on B+81/B+82,
    /// stats on B+90, sshd on B+22 [default: 13300].
    #[arg(long)]
    pub port_base: Option<u16>,
    /// Replicate with GTIDs (a gtid_domain_id per node, MASTER_USE_GTID=slave_pos) instead of
    /// binlog positions.
    #[arg(long)]
    pub gtid: bool,
    /// Serve and replicate over TLS: the lab's own CA and node certificates, require_secure_transport,
    /// MASTER_SSL=1 verifying the upstream, and a console config that verifies every node.
    #[arg(long)]
    pub tls: bool,
    /// Start `ringdeck agent` (agent-check on B+77, HTTP on B+78) and have HAProxy's MySQL servers
    /// ask it (`agent-check ... agent-send "nodeN\n"`, weight 100).
    #[arg(long)]
    pub agent: bool,
    #[command(flatten)]
    pub dir: DirArgs,
}

#[derive(Args, Debug, Clone)]
pub struct DownArgs {
    /// Also remove the lab directory (data, logs, keys).
    #[arg(long)]
    pub purge: bool,
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
    /// The same key written on two nodes at once, both logged: both links break with 1062.
    Conflict {
        /// Two nodes, `K,L`.
        #[arg(long, value_delimiter = ',', required = true)]
        nodes: Vec<u16>,
        #[command(flatten)]
        dir: DirArgs,
    },
    /// A row deleted on node K unlogged, then updated upstream: K stops with 1032 (row not found).
    Missing {
        #[arg(long)]
        node: u16,
        #[command(flatten)]
        dir: DirArgs,
    },
    /// Write a row on node K only (sql_log_bin = 0): data the other nodes never get.
    Unlogged {
        #[arg(long)]
        node: u16,
        #[command(flatten)]
        dir: DirArgs,
    },
    /// Kill node K's server (SIGKILL, a crash), or stop Apache K.
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
    /// How long to generate load.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    #[command(flatten)]
    pub dir: DirArgs,
}
