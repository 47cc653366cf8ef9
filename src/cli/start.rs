//! What every subcommand starts with, and how it ends: the config (with `--read-only` laid over
//! it, its warnings on stderr), the credentials, the async runtime, and [`CliError`], the one
//! error type of the commands, carrying its exit code.

use std::path::{Path, PathBuf};

use crate::config::login::Logins;
use crate::config::{self, Config};
use crate::runbook::{ReadOnly, ReadOnlyBy};

/// Exit code of a usage or config error.
pub const USAGE: i32 = 2;
/// Exit code of a write refused because ringdeck is read-only.
pub const READ_ONLY: i32 = 3;

/// Why a command stopped, and the exit code it ends with (1 failed or refused, 2 usage or
/// config, 3 read-only; `check` has its own Nagios codes).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    pub code: i32,
    pub message: String,
}

impl CliError {
    pub fn new(code: i32, message: impl std::fmt::Display) -> CliError {
        CliError { code, message: message.to_string() }
    }

    /// A usage or config error (exit code 2).
    pub fn usage(message: impl std::fmt::Display) -> CliError {
        CliError::new(USAGE, message)
    }

    /// A failure or a refusal (exit code 1).
    pub fn failed(message: impl std::fmt::Display) -> CliError {
        CliError::new(1, message)
    }
}

impl From<ReadOnly> for CliError {
    fn from(e: ReadOnly) -> CliError {
        CliError::new(READ_ONLY, e)
    }
}

/// Prints a command's error as `ringdeck <command>: <message>` and gives its exit code.
pub fn finish(command: &str, r: Result<i32, CliError>) -> i32 {
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ringdeck {command}: {}", e.message);
            e.code
        }
    }
}

/// A current-thread runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::usage(format!("cannot start the async runtime: {e}")))
}

/// The config of a command: where it was read from and what makes it read-only.
pub struct Loaded {
    pub cfg: Config,
    pub path: PathBuf,
    pub read_only: Option<ReadOnlyBy>,
}

impl Loaded {
    /// Refuses `what` when read-only.
    pub fn writable(&self, what: impl Into<String>) -> Result<(), CliError> {
        match self.read_only {
            Some(by) => Err(ReadOnly::new(what, by).into()),
            None => Ok(()),
        }
    }
}

/// The config (`--config` or the default path; its warnings on stderr), `--read-only` laid over it.
pub fn config(config_flag: Option<&Path>, read_only_flag: bool) -> Result<Loaded, CliError> {
    let path = config::resolve_path(config_flag).map_err(CliError::usage)?;
    let mut cfg = Config::load_cli(&path).map_err(CliError::usage)?;
    let read_only = ReadOnlyBy::of(read_only_flag, cfg.read_only);
    cfg.read_only |= read_only_flag;
    Ok(Loaded { cfg, path, read_only })
}

/// The credentials of every target (a password command may prompt on the terminal).
pub fn logins(cfg: &Config) -> Result<Logins, CliError> {
    Logins::resolve(cfg).map_err(CliError::usage)
}

/// [`config`] and [`logins`] at once.
pub fn load(config_flag: Option<&Path>, read_only_flag: bool) -> Result<(Config, Logins), CliError> {
    let l = config(config_flag, read_only_flag)?;
    let logins = logins(&l.cfg)?;
    Ok((l.cfg, logins))
}
