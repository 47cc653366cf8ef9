//! The console's state and its event loop.

use color_eyre::eyre::Result;

use crate::config::Config;

pub fn run_console(_cfg: Config) -> Result<()> {
    Ok(())
}
