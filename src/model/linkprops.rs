//! The properties of a replication link besides its source and position: TLS, GTID mode, delay,
//! the public-key options of MySQL 8's `caching_sha2_password`. Read from a replica status row
//! (MariaDB, MySQL 5.7/8.0 and the `Source_*` names of 8.0.22+), recorded before a procedure
//! changes a link and written back by the `CHANGE MASTER` that re-creates it, so a rebuild, a
//! bypass or a rejoin leaves every link as it was (encrypted, GTID, delayed) instead of a plain
//! position-based one.

use serde::{Deserialize, Serialize};

/// How a link positions itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GtidMode {
    /// Binlog file and position.
    #[default]
    Off,
    /// MariaDB `MASTER_USE_GTID=slave_pos`.
    SlavePos,
    /// MariaDB `MASTER_USE_GTID=current_pos`.
    CurrentPos,
    /// MySQL `MASTER_AUTO_POSITION=1`.
    AutoPosition,
}

impl GtidMode {
    /// From MariaDB's `Using_Gtid` or MySQL's `Auto_Position`.
    pub fn parse(using_gtid: &str) -> GtidMode {
        match using_gtid.trim().to_ascii_lowercase().as_str() {
            "slave_pos" => GtidMode::SlavePos,
            "current_pos" => GtidMode::CurrentPos,
            "1" => GtidMode::AutoPosition,
            _ => GtidMode::Off,
        }
    }
}

/// A link's properties (empty strings: not set).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinkProps {
    /// MariaDB connection name or MySQL channel (empty: the default one).
    pub connection: String,
    pub ssl: bool,
    pub ssl_ca: String,
    pub ssl_capath: String,
    pub ssl_cert: String,
    pub ssl_key: String,
    pub ssl_cipher: String,
    pub ssl_crl: String,
    pub ssl_crlpath: String,
    pub ssl_verify_server_cert: bool,
    /// MySQL `MASTER_TLS_VERSION`.
    pub tls_version: String,
    pub gtid: GtidMode,
    /// `MASTER_DELAY` in seconds.
    pub delay: u64,
    /// MySQL 8 `GET_MASTER_PUBLIC_KEY` / `GET_SOURCE_PUBLIC_KEY`.
    pub get_public_key: bool,
    pub public_key_path: String,
}

impl LinkProps {
    /// Reads the properties from a replica status row indexed by canonical (`Master_*`) names.
    pub(crate) fn from_index(get: impl Fn(&str) -> Option<String>) -> LinkProps {
        let text = |k: &str| get(k).unwrap_or_default().trim().to_string();
        let yes = |k: &str| text(k).eq_ignore_ascii_case("yes") || text(k) == "1";
        let using = get("Using_Gtid").or_else(|| get("Auto_Position")).unwrap_or_default();
        LinkProps {
            connection: text("Connection_name"),
            ssl: yes("Master_SSL_Allowed"),
            ssl_ca: text("Master_SSL_CA_File"),
            ssl_capath: text("Master_SSL_CA_Path"),
            ssl_cert: text("Master_SSL_Cert"),
            ssl_key: text("Master_SSL_Key"),
            ssl_cipher: text("Master_SSL_Cipher"),
            ssl_crl: text("Master_SSL_Crl"),
            ssl_crlpath: text("Master_SSL_Crlpath"),
            ssl_verify_server_cert: yes("Master_SSL_Verify_Server_Cert"),
            tls_version: text("Master_TLS_Version"),
            gtid: GtidMode::parse(&using),
            delay: text("SQL_Delay").parse().unwrap_or(0),
            get_public_key: yes("Get_Master_public_key") || yes("Get_master_public_key"),
            public_key_path: get("Master_public_key_path").unwrap_or_default().trim().to_string(),
        }
    }

    /// A one-line summary for logs: `ssl (verify), gtid slave_pos, delay 60s`; `plain` when none.
    pub fn summary(&self) -> String {
        let mut v = Vec::new();
        if !self.connection.is_empty() {
            v.push(format!("connection '{}'", self.connection));
        }
        if self.ssl {
            v.push(if self.ssl_verify_server_cert { "ssl (verify)".to_string() } else { "ssl".to_string() });
        }
        match self.gtid {
            GtidMode::Off => {}
            GtidMode::SlavePos => v.push("gtid slave_pos".into()),
            GtidMode::CurrentPos => v.push("gtid current_pos".into()),
            GtidMode::AutoPosition => v.push("auto_position".into()),
        }
        if self.delay > 0 {
            v.push(format!("delay {}s", self.delay));
        }
        if self.get_public_key {
            v.push("get public key".into());
        }
        if v.is_empty() { "plain, positions".into() } else { v.join(", ") }
    }
}
