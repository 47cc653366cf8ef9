//! Diagnostics to a file (`$XDG_STATE_HOME/ringdeck/ringdeck.log`), never to the terminal the
//! console draws on. `RINGDECK_LOG` sets the filter (default `info`). No secrets are logged.

use std::path::PathBuf;

use tracing_subscriber::EnvFilter;

/// Starts logging to the state dir's `ringdeck.log`; returns the path, or `None` when no state
/// dir could be made (the console then runs without a log rather than failing).
pub fn init_file() -> Option<PathBuf> {
    let dir = crate::config::paths::state_dir()?;
    let path = dir.join("ringdeck.log");
    let file = crate::statefile::open_private_append(&path).ok()?;
    let filter = EnvFilter::try_from_env("RINGDECK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .ok()?;
    Some(path)
}
