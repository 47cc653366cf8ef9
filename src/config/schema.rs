//! The config file's schema: what a `ringdeck.toml` may say. Unknown keys are errors.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::duration::Interval;
use super::secret::{PasswordSource, Secret};

fn default_poll() -> Interval {
    Interval::from_millis(1000)
}
fn default_timeout() -> Interval {
    Interval::from_millis(3000)
}
fn default_mysql_port() -> u16 {
    3306
}
fn default_ssh_port() -> u16 {
    22
}
fn is_false(b: &bool) -> bool {
    !*b
}

/// The whole console configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// How often every target is polled (one poll per target per interval).
    #[serde(default = "default_poll")]
    pub poll_interval: Interval,
    /// Timeout of every network operation (connect, query, HTTP request).
    #[serde(default = "default_timeout")]
    pub timeout: Interval,
    /// Refuse every write action.
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
    /// The largest answer read from a stats URL, status page or stats socket (default 16 MiB):
    /// a larger one is refused ("answer larger than ..."), never held in memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_response_bytes: Option<u64>,
    /// Where executed steps are recorded; default `$XDG_STATE_HOME/ringdeck/audit.log`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_log: Option<PathBuf>,
    /// Theme name (`themes/NAME.toml`, user dir first); default `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
    #[serde(default, rename = "node", skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeConfig>,
    #[serde(default, rename = "haproxy", skip_serializing_if = "Vec::is_empty")]
    pub haproxies: Vec<HaproxyConfig>,
    #[serde(default, rename = "apache", skip_serializing_if = "Vec::is_empty")]
    pub apaches: Vec<ApacheConfig>,
    #[serde(default, rename = "probe", skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<ProbeConfig>,
    /// How `ringdeck agent` answers HAProxy about each node.
    #[serde(default, skip_serializing_if = "super::agent::AgentConfig::is_default")]
    pub agent: super::agent::AgentConfig,
    /// The file this config was read from (not a key of the file): state kept per config, such
    /// as the forked-data records, is named after it.
    #[serde(skip)]
    pub source: PathBuf,
    /// Problems that do not stop ringdeck but the operator should fix (not a key of the file),
    /// e.g. a password in a file other users can read. Printed by the CLI, shown by the console.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// The default of `max_response_bytes`.
pub const DEFAULT_MAX_RESPONSE: usize = 16 << 20;

impl Config {
    /// The largest answer read from a stats URL, status page or stats socket.
    pub fn max_response(&self) -> usize {
        self.max_response_bytes.map_or(DEFAULT_MAX_RESPONSE, |b| usize::try_from(b).unwrap_or(usize::MAX).max(1024))
    }
}

/// Password fields shared by every section that logs in somewhere.
/// At most one of them may be set; none means "no password" (or `~/.my.cnf` for DB nodes).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordFields {
    pub password: Option<Secret>,
    pub password_env: Option<String>,
    pub password_command: Option<String>,
    pub my_cnf: Option<PathBuf>,
}

impl PasswordFields {
    pub fn count(&self) -> usize {
        [self.password.is_some(), self.password_env.is_some(), self.password_command.is_some(), self.my_cnf.is_some()]
            .iter()
            .filter(|b| **b)
            .count()
    }

    pub fn source(&self) -> PasswordSource {
        if let Some(p) = &self.password {
            PasswordSource::Literal(p.clone())
        } else if let Some(v) = &self.password_env {
            PasswordSource::Env(v.clone())
        } else if let Some(c) = &self.password_command {
            PasswordSource::Command(c.clone())
        } else if let Some(f) = &self.my_cnf {
            PasswordSource::MyCnf(f.clone())
        } else {
            PasswordSource::None
        }
    }
}

/// One MySQL/MariaDB server of the ring.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    pub name: Spanned<String>,
    pub host: String,
    #[serde(default = "default_mysql_port")]
    pub port: u16,
    /// Login user; default from `~/.my.cnf`, else the login name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub my_cnf: Option<PathBuf>,
    /// The account replicas use to connect to this node's upstream (CHANGE MASTER TO).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_password: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_password_command: Option<String>,
    /// TLS of the link into this node, for every `CHANGE MASTER` ringdeck writes on it: laid over
    /// what the link had (a rebuild, bypass or rejoin keeps a link's TLS, GTID mode and delay as
    /// they were; these set them for a link with no record, or from now on). Paths are on this
    /// node's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_ssl: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_ssl_ca: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_ssl_cert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_ssl_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_ssl_verify_server_cert: Option<bool>,
    /// MySQL 8 `GET_SOURCE_PUBLIC_KEY=1` (a `caching_sha2_password` replication user without TLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_get_public_key: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<SshConfig>,
    /// The server's data directory on its host (backups and copies in the recovery wizard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// Command (argv) that stops the server cleanly on its host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_command: Option<Vec<String>>,
    /// Command (argv) that starts the server on its host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_command: Option<Vec<String>>,
}

impl NodeConfig {
    pub fn password_fields(&self) -> PasswordFields {
        PasswordFields {
            password: self.password.clone(),
            password_env: self.password_env.clone(),
            password_command: self.password_command.clone(),
            my_cnf: self.my_cnf.clone(),
        }
    }
    pub fn name(&self) -> &str {
        self.name.get_ref()
    }
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// TLS to a MySQL/MariaDB server, as the MySQL clients' `--ssl-mode`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// `disabled`, `preferred` (TLS when the server offers it, unverified), `required` (TLS,
    /// unverified), `verify_ca` (the certificate chains to `ca`), `verify_identity` (and names
    /// the host). Without it: `verify_identity`, or `verify_ca` with `verify_identity = false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_mode: Option<SslMode>,
    /// CA certificate (PEM) to verify the server with; default the system roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<PathBuf>,
    /// Client certificate and key (PEM) for servers that require X509 accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// Check that the certificate names the host (default true); the older spelling of
    /// `ssl_mode = "verify_ca"` when false.
    #[serde(default = "default_true")]
    pub verify_identity: bool,
}

/// The MySQL clients' `--ssl-mode` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SslMode {
    Disabled,
    Preferred,
    Required,
    VerifyCa,
    VerifyIdentity,
}

impl TlsConfig {
    /// The mode in effect.
    pub fn mode(&self) -> SslMode {
        self.ssl_mode.unwrap_or(if self.verify_identity { SslMode::VerifyIdentity } else { SslMode::VerifyCa })
    }
}

fn default_true() -> bool {
    true
}

/// How runbook steps reach a node's host over SSH.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshConfig {
    /// Host to SSH to; default the node's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default = "default_ssh_port")]
    pub port: u16,
    pub user: String,
    /// Private key file; without it the SSH agent is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// known_hosts file to check host keys against; default `~/.ssh/known_hosts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts: Option<PathBuf>,
}

/// One HAProxy instance: its stats page and/or admin socket.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HaproxyConfig {
    pub name: Spanned<String>,
    /// The stats page URI (`stats uri`); `;csv` is appended when fetching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_command: Option<String>,
    /// Path of the stats socket (`stats socket ... level admin` for actions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<PathBuf>,
}

// The `user`/`password*` fields are written out in each target rather than a flattened struct:
// serde's `deny_unknown_fields` (a typo in the config is an error) does not work with `flatten`.
impl HaproxyConfig {
    pub fn password_fields(&self) -> PasswordFields {
        PasswordFields {
            password: self.password.clone(),
            password_env: self.password_env.clone(),
            password_command: self.password_command.clone(),
            my_cnf: None,
        }
    }
}

/// One Apache server with mod_status.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApacheConfig {
    pub name: Spanned<String>,
    /// The `/server-status` URL (without `?auto`).
    pub status_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_command: Option<String>,
}

impl ApacheConfig {
    pub fn password_fields(&self) -> PasswordFields {
        PasswordFields {
            password: self.password.clone(),
            password_env: self.password_env.clone(),
            password_command: self.password_command.clone(),
            my_cnf: None,
        }
    }
}

/// A response-time probe. Exactly one of `http`, `tcp` or `sql` is set.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeConfig {
    pub name: Spanned<String>,
    /// GET this URL; any 2xx/3xx is success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    /// Open a TCP connection to `host:port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<String>,
    /// Run `SELECT 1` on this configured node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    /// Above this the value shows as a warning (default 200ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn: Option<Interval>,
    /// Above this the value shows as critical (default 1s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crit: Option<Interval>,
}
