//! The console configuration: TOML loading, validation with file:line errors, and defaults.
//!
//! `--config PATH`, else `$XDG_CONFIG_HOME/ringdeck/config.toml`. Every error names the file, the
//! line and the key, so a typo at 3 a.m. is found at once.

pub mod agent;
pub mod duration;
pub mod login;
pub mod paths;
pub mod probes;
pub mod schema;
pub mod secret;

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

pub use duration::Interval;
pub use schema::{
    ApacheConfig, Config, HaproxyConfig, NodeConfig, PasswordFields, ProbeConfig, SshConfig, SslMode, TlsConfig,
};
pub use secret::{PasswordSource, Secret};

/// A config problem, located in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|b| *b == b'\n').count() + 1
}

/// The key a span points at: the span itself when it covers a key, else the key on the same line.
fn key_at(text: &str, span: &Range<usize>) -> Option<String> {
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = text[line_start..line_end].trim();
    if line.starts_with('[') {
        return Some(line.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    }
    let key = line.split('=').next()?.trim().trim_matches('"');
    (!key.is_empty()).then(|| key.to_string())
}

impl Config {
    /// Loads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            line: None,
            key: None,
            message: format!("cannot read: {e}"),
        })?;
        let mut cfg = Self::parse(&text, path)?;
        if let Ok(meta) = std::fs::metadata(path) {
            cfg.warnings.extend(cfg.permission_warning(std::os::unix::fs::PermissionsExt::mode(&meta.permissions())));
        }
        Ok(cfg)
    }

    /// [`Config::load`] for a command-line command: its warnings go to stderr.
    pub fn load_cli(path: &Path) -> Result<Config, ConfigError> {
        let cfg = Self::load(path)?;
        for w in &cfg.warnings {
            eprintln!("ringdeck: warning: {w}");
        }
        Ok(cfg)
    }

    /// A warning when the file holds a password inline and other users may read it (`mode` is the
    /// file's permission bits): the operator should `chmod 600` it or move the password out.
    pub fn permission_warning(&self, mode: u32) -> Option<String> {
        let inline = self.nodes.iter().any(|n| n.password.is_some() || n.replication_password.is_some())
            || self.haproxies.iter().any(|h| h.password.is_some())
            || self.apaches.iter().any(|a| a.password.is_some());
        (inline && mode & 0o077 != 0).then(|| {
            format!(
                "{} holds a password and other users can read it (mode {:o}): chmod 600 it, or use \
                 password_command / password_env / my_cnf",
                self.source.display(),
                mode & 0o777
            )
        })
    }

    /// Parses and validates config text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| {
            let span = e.span();
            ConfigError {
                path: path.to_path_buf(),
                line: span.as_ref().map(|s| line_of(text, s.start)),
                key: span.as_ref().and_then(|s| key_at(text, s)),
                message: e.message().trim().to_string(),
            }
        })?;
        cfg.validate(text, path)?;
        cfg.source = path.to_path_buf();
        Ok(cfg)
    }

    // Long on purpose: a list of independent checks, a few lines each, in the order of the config

    // reference.

    fn validate(&self, text: &str, path: &Path) -> Result<(), ConfigError> {
        let err = |span: Option<Range<usize>>, key: &str, message: String| ConfigError {
            path: path.to_path_buf(),
            line: span.map(|s| line_of(text, s.start)),
            key: Some(key.to_string()),
            message,
        };
        if self.nodes.is_empty() && self.haproxies.is_empty() && self.apaches.is_empty() {
            return Err(err(None, "node", "the config names no [[node]], [[haproxy]] or [[apache]] to watch".into()));
        }
        let node_names: Vec<&str> = self.nodes.iter().map(|n| n.name.get_ref().as_str()).collect();
        self.agent.check(&node_names).map_err(|m| err(None, "agent", m))?;
        let mut names = HashSet::new();
        for n in &self.nodes {
            let span = Some(n.name.span());
            if n.name.get_ref().trim().is_empty() {
                return Err(err(span, "name", "a node needs a non-empty name".into()));
            }
            if !names.insert(("node", n.name.get_ref().clone())) {
                return Err(err(span, "name", format!("node name {:?} is used twice", n.name.get_ref())));
            }
            if n.port == 0 {
                return Err(err(span, "port", format!("node {}: port 0 is not a port", n.name.get_ref())));
            }
            if n.password_fields().count() > 1 {
                return Err(err(
                    span,
                    "password",
                    format!(
                        "node {}: set only one of password, password_env, password_command, my_cnf",
                        n.name.get_ref()
                    ),
                ));
            }
            if n.replication_password.is_some() && n.replication_password_command.is_some() {
                return Err(err(
                    span,
                    "replication_password",
                    format!(
                        "node {}: set replication_password or replication_password_command, not both",
                        n.name.get_ref()
                    ),
                ));
            }
            if let Some(t) = &n.tls {
                if t.cert.is_some() != t.key.is_some() {
                    return Err(err(
                        span.clone(),
                        "tls",
                        format!("node {}: [node.tls] needs cert and key together", n.name()),
                    ));
                }
                if t.mode() == SslMode::VerifyCa && t.ca.is_none() {
                    return Err(err(
                        span.clone(),
                        "tls",
                        format!(
                            "node {}: ssl_mode = \"verify_ca\" needs ca (the CA certificate to verify with)",
                            n.name()
                        ),
                    ));
                }
            }
            for (key, cmd) in [("stop_command", &n.stop_command), ("start_command", &n.start_command)] {
                if cmd.as_ref().is_some_and(|c| c.is_empty()) {
                    return Err(err(span.clone(), key, format!("node {}: {key} is an empty list", n.name.get_ref())));
                }
            }
        }
        for h in &self.haproxies {
            let span = Some(h.name.span());
            if !names.insert(("haproxy", h.name.get_ref().clone())) {
                return Err(err(span, "name", format!("haproxy name {:?} is used twice", h.name.get_ref())));
            }
            if h.stats_url.is_none() && h.socket.is_none() {
                return Err(err(
                    span,
                    "stats_url",
                    format!("haproxy {}: set stats_url, socket or both", h.name.get_ref()),
                ));
            }
            if let Some(url) = &h.stats_url {
                check_url(url).map_err(|m| err(span.clone(), "stats_url", m))?;
            }
            if h.password_fields().count() > 1 {
                return Err(err(
                    span,
                    "password",
                    format!("haproxy {}: set only one password source", h.name.get_ref()),
                ));
            }
        }
        for a in &self.apaches {
            let span = Some(a.name.span());
            if !names.insert(("apache", a.name.get_ref().clone())) {
                return Err(err(span, "name", format!("apache name {:?} is used twice", a.name.get_ref())));
            }
            check_url(&a.status_url).map_err(|m| err(span.clone(), "status_url", m))?;
            if a.password_fields().count() > 1 {
                return Err(err(
                    span,
                    "password",
                    format!("apache {}: set only one password source", a.name.get_ref()),
                ));
            }
        }
        for p in &self.probes {
            let span = Some(p.name.span());
            if !names.insert(("probe", p.name.get_ref().clone())) {
                return Err(err(span, "name", format!("probe name {:?} is used twice", p.name.get_ref())));
            }
            let kinds = [p.http.is_some(), p.tcp.is_some(), p.sql.is_some()];
            if kinds.iter().filter(|b| **b).count() != 1 {
                return Err(err(
                    span,
                    "http",
                    format!("probe {}: set exactly one of http, tcp or sql", p.name.get_ref()),
                ));
            }
            if let Some(url) = &p.http {
                check_url(url).map_err(|m| err(span.clone(), "http", m))?;
            }
            if let Some(addr) = &p.tcp {
                let ok = addr
                    .rsplit_once(':')
                    .is_some_and(|(h, port)| !h.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
                if !ok {
                    return Err(err(span, "tcp", format!("probe {}: {addr:?} is not host:port", p.name.get_ref())));
                }
            }
            if let Some(node) = &p.sql
                && !self.nodes.iter().any(|n| n.name.get_ref() == node)
            {
                return Err(err(span, "sql", format!("probe {}: no [[node]] is named {node:?}", p.name.get_ref())));
            }
        }
        Ok(())
    }

    pub fn node(&self, name: &str) -> Option<&NodeConfig> {
        self.nodes.iter().find(|n| n.name.get_ref() == name)
    }

    /// Writes the config as TOML (used by the lab). Secrets are written: callers must create the
    /// file with mode 600.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string_pretty(self)
    }
}

fn check_url(url: &str) -> Result<(), String> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        Ok(u) => Err(format!("{url:?}: scheme {} is not http or https", u.scheme())),
        Err(e) => Err(format!("{url:?} is not a URL: {e}")),
    }
}

/// Which config file to use: the flag, else the XDG default.
pub fn resolve_path(flag: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = flag {
        return Ok(p.to_path_buf());
    }
    let p = paths::default_config_file().ok_or("cannot find the config dir: set HOME or XDG_CONFIG_HOME")?;
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "no config at {} (pass --config PATH; `ringdeck lab up` writes one for a practice lab; see ringdeck.example.toml)",
            p.display()
        ))
    }
}

#[cfg(test)]
mod tests;
