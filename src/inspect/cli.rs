//! `ringdeck inspect --node N [--format text|json]`: what the node's stopped SQL thread failed on,
//! beside every node's row for that key. Reads only. Exit 0 when it could be shown, 1 when the
//! node has nothing to inspect or could not be read, 2 for usage or config errors.

use std::path::Path;

use crate::config::login::Logins;
use crate::config::{self, Config};

/// Output formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// `ringdeck inspect` options (`--config` is the global one).
#[derive(clap::Args, Debug)]
pub struct InspectArgs {
    /// The node whose SQL thread stopped on an error.
    #[arg(long, value_name = "NAME")]
    pub node: String,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs `ringdeck inspect`; returns the exit code.
pub fn run(config_flag: Option<&Path>, args: &InspectArgs) -> i32 {
    let result = (|| {
        let path = config::resolve_path(config_flag).map_err(|e| (2, e))?;
        let cfg = Config::load(&path).map_err(|e| (2, e.to_string()))?;
        let logins = Logins::resolve(&cfg).map_err(|e| (2, e))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| (2, format!("cannot start the async runtime: {e}")))?;
        rt.block_on(super::conflict::inspect(&cfg, &logins, &args.node, cfg.timeout.0)).map_err(|e| (1, e))
    })();
    match result {
        Ok(i) => {
            match args.format {
                Format::Text => print!("{}", super::render::text(&i)),
                Format::Json => print!("{}", super::render::json(&i)),
            }
            0
        }
        Err((code, e)) => {
            eprintln!("ringdeck inspect: {e}");
            code
        }
    }
}
