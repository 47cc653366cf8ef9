//! Secrets (passwords) and where they come from: the config itself, an environment variable, a
//! password command, or a `~/.my.cnf`-style option file. A `Secret` never prints its value.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// A password or other secret. `Debug` and `Display` show `***`, never the value.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret's value, for handing to a driver. Never format it into a message.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where one password comes from, as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordSource {
    None,
    Literal(Secret),
    Env(String),
    Command(String),
    MyCnf(PathBuf),
}

const COMMAND_TIMEOUT: Duration = Duration::from_secs(15);

impl PasswordSource {
    /// Resolves the password. Errors name the source but never contain the secret.
    pub fn resolve(&self) -> Result<Option<Secret>, String> {
        match self {
            PasswordSource::None => Ok(None),
            PasswordSource::Literal(s) => Ok(Some(s.clone())),
            PasswordSource::Env(var) => std::env::var(var)
                .map(|v| Some(Secret::new(v)))
                .map_err(|_| format!("environment variable {var} is not set")),
            PasswordSource::Command(cmd) => run_password_command(cmd).map(Some),
            PasswordSource::MyCnf(path) => {
                let path = super::paths::expand_tilde(path);
                let text =
                    std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                Ok(parse_my_cnf(&text).password.map(Secret::new))
            }
        }
    }
}

/// Runs a password command (`sh -c`, as the user wrote it) and takes the first line of its output.
fn run_password_command(cmd: &str) -> Result<Secret, String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("password command could not start: {e}"))?;
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break,
            Ok(Some(status)) => return Err(format!("password command failed ({status})")),
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("password command did not finish within {}s", COMMAND_TIMEOUT.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("password command: {e}")),
        }
    }
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout.read_to_string(&mut out).map_err(|e| format!("password command output: {e}"))?;
    }
    let first = out.lines().next().unwrap_or("").trim_end_matches('\r').to_string();
    if first.is_empty() {
        return Err("password command printed nothing".into());
    }
    Ok(Secret::new(first))
}

/// What a MySQL option file's `[client]` (and `[mysql]`, `[client-mariadb]`) sections say.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MyCnf {
    pub user: Option<String>,
    pub password: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
}

/// Written by hand so that a `{:?}` (an error context, a panic report) never shows the password.
impl fmt::Debug for MyCnf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MyCnf")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("host", &self.host)
            .field("port", &self.port)
            .finish()
    }
}

/// Parses the client sections of a MySQL option file; later sections win, as in the client.
pub fn parse_my_cnf(text: &str) -> MyCnf {
    let mut out = MyCnf::default();
    let mut in_client = false;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_client = matches!(section.trim(), "client" | "mysql" | "client-mariadb" | "client-server");
            continue;
        }
        if !in_client {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), unquote(v.trim())),
            None => continue,
        };
        match key.replace('-', "_").as_str() {
            "user" => out.user = Some(value),
            "password" => out.password = Some(value),
            "host" => out.host = Some(value),
            "port" => out.port = value.parse().ok(),
            _ => {}
        }
    }
    out
}

fn unquote(v: &str) -> String {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return v[1..v.len() - 1].to_string();
        }
    }
    v.to_string()
}

/// The default option file, `~/.my.cnf`, if it exists.
pub fn default_my_cnf() -> Option<PathBuf> {
    let p = super::paths::home_dir()?.join(".my.cnf");
    Path::new(&p).is_file().then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_formats_its_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "***");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn my_cnf_client_sections() {
        let text = "[mysqld]\npassword=server\n[client]\nuser = ops\npassword = \"p a\"\n[mysql]\nport=3307\n";
        let c = parse_my_cnf(text);
        assert_eq!(c.user.as_deref(), Some("ops"));
        assert_eq!(c.password.as_deref(), Some("p a"));
        assert_eq!(c.port, Some(3307));
    }

    #[test]
    fn password_command_first_line() {
        let s = PasswordSource::Command("printf 'abc\\nzzz\\n'".into()).resolve();
        assert_eq!(s.unwrap().unwrap().expose(), "abc");
        let err = PasswordSource::Command("exit 3".into()).resolve().unwrap_err();
        assert!(err.contains("failed"), "{err}");
    }

    #[test]
    fn env_source_missing_is_clear() {
        let err = PasswordSource::Env("RINGDECK_SURELY_UNSET_VAR".into()).resolve().unwrap_err();
        assert!(err.contains("RINGDECK_SURELY_UNSET_VAR"));
    }
}
