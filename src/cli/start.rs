//! What the command-line commands start with: the async runtime they block on, and the config
//! (with `--read-only` laid over it) with its credentials resolved. Errors are the exit code 2
//! (usage or config) with the message.

use std::path::Path;

use crate::config::login::Logins;
use crate::config::{self, Config};

/// A current-thread runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// The config (`--config` or the default path; its warnings on stderr) and its logins.
pub fn load(config_flag: Option<&Path>, read_only_flag: bool) -> Result<(Config, Logins), (i32, String)> {
    let path = config::resolve_path(config_flag).map_err(|e| (2, e))?;
    let mut cfg = Config::load_cli(&path).map_err(|e| (2, e.to_string()))?;
    cfg.read_only |= read_only_flag;
    let logins = Logins::resolve(&cfg).map_err(|e| (2, e))?;
    Ok((cfg, logins))
}
