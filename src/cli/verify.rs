//! `ringdeck verify`: runs a verify on the configured nodes and prints the report as text or JSON.
//! Exit 0 when everything is equal on every node, 1 otherwise (differences, an unreachable node,
//! or an error such as an unreadable config).

use std::path::Path;
use std::time::Duration;

use crate::config::Config;
use crate::verify::{Report, VerifyOpts, json, text};

/// Output formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// `ringdeck verify` options (`--config` is the global one).
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// A schema to compare (repeat); default: every schema except mysql, information_schema,
    /// performance_schema and sys.
    #[arg(long = "schema", value_name = "S")]
    pub schemas: Vec<String>,
    /// Only this table (repeat).
    #[arg(long = "table", value_name = "DB.T")]
    pub tables: Vec<String>,
    /// Key values per chunk when comparing a differing table by key ranges.
    #[arg(long, value_name = "N", default_value_t = crate::verify::DEFAULT_CHUNK_SIZE)]
    pub chunk_size: u64,
    /// Timeout of each query in seconds (default: 20 times the config's timeout, at least 60).
    #[arg(long, value_name = "SECS")]
    pub query_timeout: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// No progress lines on stderr.
    #[arg(long)]
    pub quiet: bool,
    /// After the compare, plan the repair of every differing key (prints the plan; with --yes
    /// runs it, each node's statements with sql_log_bin = 0, and compares the keys again).
    #[arg(long)]
    pub repair: bool,
    /// Whose version each key keeps: a node's name, or `majority` (default: the most complete
    /// node when the ring is broken; a recorded fork's event; else the majority).
    #[arg(long, value_name = "NODE|majority", requires = "repair")]
    pub prefer: Option<String>,
    /// Refuse a repair that changes more rows than this.
    #[arg(long, value_name = "N", default_value_t = crate::repair::DEFAULT_MAX_ROWS, requires = "repair")]
    pub max_rows: usize,
    /// Run the repair (without it: print the plan and change nothing).
    #[arg(long, requires = "repair")]
    pub yes: bool,
}

impl VerifyArgs {
    pub fn opts(&self) -> VerifyOpts {
        VerifyOpts {
            schemas: self.schemas.clone(),
            tables: self.tables.clone(),
            chunk_size: self.chunk_size,
            query_timeout: self.query_timeout.map(Duration::from_secs),
        }
    }
}

fn gather(config_flag: Option<&Path>, args: &VerifyArgs) -> Result<Report, String> {
    // A verify only reads: `--read-only` changes nothing here.
    let cfg = crate::cli::start::config(config_flag, false).map_err(|e| e.message)?.cfg;
    let report = verify_with_progress(&cfg, args)?;
    let (eq, all) = report.equal_tables();
    match crate::fork::settle_after_verify(&cfg, &eq, all) {
        Ok(gone) => {
            for f in gone {
                eprintln!("verify: fork {} cleared: {} is equal on every node", f.id, f.what());
            }
        }
        Err(e) => eprintln!("verify: forked-data records not updated: {e}"),
    }
    Ok(report)
}

fn verify_with_progress(cfg: &Config, args: &VerifyArgs) -> Result<Report, String> {
    let logins = crate::cli::start::logins(cfg).map_err(|e| e.message)?;
    let rt = crate::cli::start::runtime().map_err(|e| e.message)?;
    let opts = args.opts();
    rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let quiet = args.quiet;
        let print = async move {
            while let Some(line) = rx.recv().await {
                if !quiet {
                    eprintln!("verify: {line}");
                }
            }
        };
        let (report, ()) = tokio::join!(crate::verify::verify(cfg, &logins, &opts, Some(tx)), print);
        report.map_err(|e| e.to_string())
    })
}

/// Runs `ringdeck verify` (or, with `--repair`, the repair) and prints the report; returns the
/// exit code. A table found equal on every node clears its forked-data records.
pub fn run(config_flag: Option<&Path>, read_only_flag: bool, args: &VerifyArgs) -> i32 {
    if args.repair {
        if args.format == Format::Json {
            eprintln!("ringdeck verify --repair: the repair prints text only (leave out --format json)");
            return 2;
        }
        let r = crate::cli::repair::RepairArgs {
            prefer: args.prefer.as_deref().map(crate::repair::Prefer::parse).unwrap_or_default(),
            max_rows: args.max_rows,
            yes: args.yes,
            quiet: args.quiet,
        };
        return crate::cli::repair::run(config_flag, read_only_flag, &args.opts(), &r);
    }
    let report = gather(config_flag, args).unwrap_or_else(|e| Report::failed(e, args.chunk_size));
    let out = match args.format {
        Format::Text => text(&report),
        Format::Json => json(&report),
    };
    print!("{out}");
    report.exit_code
}
