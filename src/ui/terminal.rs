//! Error and panic hooks. color-eyre's hooks go in before the terminal is put in raw mode;
//! `ratatui::try_init` then wraps the panic hook so the terminal is restored before any report.

use color_eyre::eyre::Result;

/// Installs color-eyre's error and panic reports (no secrets reach them: `Secret` never formats).
pub fn install_hooks() -> Result<()> {
    color_eyre::config::HookBuilder::default().display_env_section(false).install()
}
