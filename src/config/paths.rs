//! XDG base directories and `~` expansion for config, state (audit log) and runtime (lab) paths.

use std::path::{Path, PathBuf};

pub fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
}

fn xdg(var: &str, fallback: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| home_dir().map(|h| h.join(fallback)))
}

/// `$XDG_CONFIG_HOME/ringdeck` (default `~/.config/ringdeck`).
pub fn config_dir() -> Option<PathBuf> {
    xdg("XDG_CONFIG_HOME", ".config").map(|p| p.join("ringdeck"))
}

/// `$XDG_STATE_HOME/ringdeck` (default `~/.local/state/ringdeck`): audit log and wizard state.
pub fn state_dir() -> Option<PathBuf> {
    xdg("XDG_STATE_HOME", ".local/state").map(|p| p.join("ringdeck"))
}

/// The default config file, `$XDG_CONFIG_HOME/ringdeck/config.toml`.
pub fn default_config_file() -> Option<PathBuf> {
    config_dir().map(|d| d.join("config.toml"))
}

/// Expands a leading `~/` to the home directory.
pub fn expand_tilde(p: &Path) -> PathBuf {
    match (p.strip_prefix("~"), home_dir()) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => p.to_path_buf(),
    }
}
