//! A node's replication state as read from the server: dialect, variables, replica links (one per
//! connection/channel) and own binlog position. Columns are read by name in either dialect.

use std::collections::HashMap;

use serde::Serialize;

/// Which SQL the server speaks for replication, from `@@version` / `@@version_comment`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Dialect {
    /// MariaDB 10.x / 11.x: `SHOW ALL SLAVES STATUS`, `SHOW MASTER STATUS`, GTID as domain-server-seq.
    MariaDb,
    /// MySQL 5.7 and 8.0 before 8.0.22: `SHOW SLAVE STATUS`, `Master_*`/`Slave_*` columns.
    MySqlLegacy,
    /// MySQL 8.0.22 to 8.1: `SHOW REPLICA STATUS`, `Source_*`/`Replica_*` columns, `SHOW MASTER STATUS`.
    MySql80,
    /// MySQL 8.2+ / 8.4: `SHOW BINARY LOG STATUS`, `RESET BINARY LOGS AND GTIDS`; old forms removed.
    MySql84,
}

impl Dialect {
    /// Picks the dialect from `@@version` and `@@version_comment`.
    pub fn detect(version: &str, comment: &str) -> Dialect {
        if version.contains("MariaDB") || comment.contains("MariaDB") {
            return Dialect::MariaDb;
        }
        let nums: Vec<u32> =
            version.split(|c: char| !c.is_ascii_digit()).take(3).map(|p| p.parse().unwrap_or(0)).collect();
        let v =
            (nums.first().copied().unwrap_or(0), nums.get(1).copied().unwrap_or(0), nums.get(2).copied().unwrap_or(0));
        if v >= (8, 2, 0) {
            Dialect::MySql84
        } else if v >= (8, 0, 22) {
            Dialect::MySql80
        } else {
            Dialect::MySqlLegacy
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Dialect::MariaDb => "MariaDB",
            Dialect::MySqlLegacy => "MySQL 5.7/8.0",
            Dialect::MySql80 => "MySQL 8.0.22+",
            Dialect::MySql84 => "MySQL 8.4",
        }
    }

    /// The statement that lists replica links.
    pub fn replica_status_sql(self) -> &'static str {
        match self {
            Dialect::MariaDb => "SHOW ALL SLAVES STATUS",
            Dialect::MySqlLegacy => "SHOW SLAVE STATUS",
            Dialect::MySql80 | Dialect::MySql84 => "SHOW REPLICA STATUS",
        }
    }

    /// The statement that shows this server's own binlog coordinates.
    pub fn binlog_status_sql(self) -> &'static str {
        match self {
            Dialect::MySql84 => "SHOW BINARY LOG STATUS",
            _ => "SHOW MASTER STATUS",
        }
    }

    /// One `SELECT` of the variables the ring model needs, in this dialect's names.
    pub fn variables_sql(self) -> &'static str {
        match self {
            Dialect::MariaDb => {
                "SELECT @@server_id, @@hostname, @@read_only, @@auto_increment_increment, \
                 @@auto_increment_offset, @@log_slave_updates, @@max_connections, @@gtid_binlog_pos, \
                 @@gtid_slave_pos, @@gtid_domain_id"
            }
            Dialect::MySqlLegacy => {
                "SELECT @@server_id, @@hostname, @@read_only, @@auto_increment_increment, \
                 @@auto_increment_offset, @@log_slave_updates, @@max_connections, @@gtid_executed, \
                 NULL, NULL"
            }
            Dialect::MySql80 | Dialect::MySql84 => {
                "SELECT @@server_id, @@hostname, @@read_only, @@auto_increment_increment, \
                 @@auto_increment_offset, @@log_replica_updates, @@max_connections, @@gtid_executed, \
                 NULL, NULL"
            }
        }
    }
}

pub use super::row::Row;

/// Maps MySQL 8 `Source`/`Replica` column names onto the classic `Master`/`Slave` ones.
pub fn canonical_column(name: &str) -> String {
    match name {
        "Channel_Name" | "Channel_name" => "Connection_name".to_string(),
        _ => name.replace("Source", "Master").replace("Replica", "Slave"),
    }
}

fn index(row: &Row) -> HashMap<String, Option<&str>> {
    row.iter().map(|(k, v)| (canonical_column(k), v.as_deref())).collect()
}

/// State of the IO thread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum IoState {
    Running,
    Connecting,
    Stopped,
    Other(String),
}

impl IoState {
    fn parse(v: &str) -> IoState {
        match v {
            "Yes" => IoState::Running,
            "Connecting" | "Preparing" => IoState::Connecting,
            "No" | "" => IoState::Stopped,
            other => IoState::Other(other.to_string()),
        }
    }
}

/// One replication link into this node (a replica status row).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReplicaLink {
    /// MariaDB connection name or MySQL channel; empty for the default.
    pub connection: String,
    pub master_host: String,
    pub master_port: u16,
    pub master_server_id: Option<u32>,
    pub io: IoState,
    pub sql_running: bool,
    pub last_io_errno: u32,
    pub last_io_error: String,
    pub last_sql_errno: u32,
    pub last_sql_error: String,
    pub seconds_behind: Option<u64>,
    /// The upstream binlog the IO thread is reading and how far.
    pub master_log_file: String,
    pub read_master_log_pos: u64,
    /// The upstream binlog coordinates the SQL thread has executed.
    pub relay_master_log_file: String,
    pub exec_master_log_pos: u64,
    pub sql_state: String,
    /// `No`, `Slave_Pos`, `Current_Pos` (MariaDB) or `1`/`0` auto-position (MySQL).
    pub using_gtid: String,
    /// MariaDB `Gtid_IO_Pos` or MySQL `Retrieved_Gtid_Set`.
    pub gtid_io_pos: String,
    /// TLS, GTID mode, delay, ...: what a `CHANGE MASTER` re-creating the link must set again.
    pub props: super::linkprops::LinkProps,
}

fn text(ix: &HashMap<String, Option<&str>>, key: &str) -> String {
    ix.get(key).copied().flatten().unwrap_or("").to_string()
}

fn num<T: std::str::FromStr>(ix: &HashMap<String, Option<&str>>, key: &str) -> Option<T> {
    ix.get(key).copied().flatten().and_then(|v| v.trim().parse().ok())
}

impl ReplicaLink {
    /// Reads one replica status row (any dialect). Missing columns read as empty/zero.
    pub fn from_row(row: &Row) -> Result<ReplicaLink, String> {
        let ix = index(row);
        if !ix.contains_key("Master_Host") {
            return Err("replica status row has no Master_Host/Source_Host column".into());
        }
        let using_gtid =
            if ix.contains_key("Using_Gtid") { text(&ix, "Using_Gtid") } else { text(&ix, "Auto_Position") };
        let gtid_io_pos =
            if ix.contains_key("Gtid_IO_Pos") { text(&ix, "Gtid_IO_Pos") } else { text(&ix, "Retrieved_Gtid_Set") };
        Ok(ReplicaLink {
            connection: text(&ix, "Connection_name"),
            master_host: text(&ix, "Master_Host"),
            master_port: num(&ix, "Master_Port").unwrap_or(0),
            master_server_id: num(&ix, "Master_Server_Id"),
            io: IoState::parse(&text(&ix, "Slave_IO_Running")),
            sql_running: text(&ix, "Slave_SQL_Running") == "Yes",
            last_io_errno: num(&ix, "Last_IO_Errno").unwrap_or(0),
            last_io_error: text(&ix, "Last_IO_Error"),
            last_sql_errno: num(&ix, "Last_SQL_Errno").unwrap_or(0),
            last_sql_error: text(&ix, "Last_SQL_Error"),
            seconds_behind: num(&ix, "Seconds_Behind_Master"),
            master_log_file: text(&ix, "Master_Log_File"),
            read_master_log_pos: num(&ix, "Read_Master_Log_Pos").unwrap_or(0),
            relay_master_log_file: text(&ix, "Relay_Master_Log_File"),
            exec_master_log_pos: num(&ix, "Exec_Master_Log_Pos").unwrap_or(0),
            sql_state: text(&ix, "Slave_SQL_Running_State"),
            using_gtid,
            gtid_io_pos,
            props: super::linkprops::LinkProps::from_index(|k| ix.get(k).copied().flatten().map(str::to_string)),
        })
    }

    /// Both threads running and no error.
    pub fn healthy(&self) -> bool {
        self.io == IoState::Running && self.sql_running && self.last_sql_errno == 0 && self.last_io_errno == 0
    }

    /// A one-line summary: `SQL stopped 1062 Duplicate entry ...`.
    pub fn problem(&self) -> Option<String> {
        if self.last_sql_errno != 0 || !self.sql_running {
            let err = if self.last_sql_errno != 0 {
                format!(" {} {}", self.last_sql_errno, self.last_sql_error)
            } else {
                String::new()
            };
            return Some(format!("SQL {}{err}", if self.sql_running { "error" } else { "stopped" }));
        }
        match &self.io {
            IoState::Running if self.last_io_errno == 0 => None,
            io => {
                let what = match io {
                    IoState::Connecting => "connecting",
                    IoState::Stopped => "stopped",
                    _ => "error",
                };
                let err = if self.last_io_errno != 0 {
                    format!(" {} {}", self.last_io_errno, self.last_io_error)
                } else {
                    String::new()
                };
                Some(format!("IO {what}{err}"))
            }
        }
    }
}

/// This node's own binlog coordinates.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BinlogPos {
    pub file: String,
    pub position: u64,
}

impl BinlogPos {
    pub fn from_row(row: &Row) -> BinlogPos {
        let ix = index(row);
        BinlogPos { file: text(&ix, "File"), position: num(&ix, "Position").unwrap_or(0) }
    }
}

/// The server variables the ring model reads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NodeVars {
    pub server_id: u32,
    pub hostname: String,
    pub read_only: bool,
    pub auto_increment_increment: u32,
    pub auto_increment_offset: u32,
    pub log_slave_updates: bool,
    pub max_connections: u32,
    /// MariaDB `@@gtid_binlog_pos` or MySQL `@@gtid_executed`.
    pub gtid_binlog_pos: String,
    /// MariaDB `@@gtid_slave_pos`.
    pub gtid_slave_pos: String,
    pub gtid_domain_id: Option<u32>,
}

impl NodeVars {
    /// Reads the values of [`Dialect::variables_sql`], in its order.
    pub fn from_values(v: &[Option<String>]) -> Result<NodeVars, String> {
        if v.len() < 10 {
            return Err(format!("expected 10 variables, got {}", v.len()));
        }
        let s = |i: usize| v[i].clone().unwrap_or_default();
        let n = |i: usize| s(i).trim().parse::<u32>().ok();
        let b = |i: usize| matches!(s(i).as_str(), "1" | "ON" | "on");
        Ok(NodeVars {
            server_id: n(0).unwrap_or(0),
            hostname: s(1),
            read_only: b(2),
            auto_increment_increment: n(3).unwrap_or(1),
            auto_increment_offset: n(4).unwrap_or(1),
            log_slave_updates: b(5),
            max_connections: n(6).unwrap_or(0),
            gtid_binlog_pos: s(7),
            gtid_slave_pos: s(8),
            gtid_domain_id: n(9),
        })
    }
}

/// `SHOW GLOBAL STATUS` counters the console shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NodeCounters {
    pub uptime: u64,
    pub threads_connected: u32,
    pub threads_running: u32,
    pub questions: u64,
}

impl NodeCounters {
    /// Reads `Variable_name`/`Value` pairs; unknown names are ignored.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> NodeCounters {
        let mut c = NodeCounters::default();
        for (k, v) in pairs {
            let v = v.trim();
            match k.to_ascii_lowercase().as_str() {
                "uptime" => c.uptime = v.parse().unwrap_or(0),
                "threads_connected" => c.threads_connected = v.parse().unwrap_or(0),
                "threads_running" => c.threads_running = v.parse().unwrap_or(0),
                "questions" => c.questions = v.parse().unwrap_or(0),
                _ => {}
            }
        }
        c
    }
}

/// A running statement or connection from the process list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Process {
    pub id: u64,
    pub user: String,
    pub host: String,
    pub db: String,
    pub command: String,
    /// Seconds, with sub-second precision where the server gives it (MariaDB `TIME_MS`).
    pub time: f64,
    pub state: String,
    pub info: String,
}

impl Process {
    /// Reads an `information_schema.PROCESSLIST` row (any column order, either dialect).
    pub fn from_row(row: &Row) -> Process {
        let ix: HashMap<String, Option<&str>> =
            row.iter().map(|(k, v)| (k.to_ascii_uppercase(), v.as_deref())).collect();
        let time = match num::<f64>(&ix, "TIME_MS") {
            Some(ms) => ms / 1000.0,
            None => num::<f64>(&ix, "TIME").unwrap_or(0.0),
        };
        Process {
            id: num(&ix, "ID").unwrap_or(0),
            user: text(&ix, "USER"),
            host: text(&ix, "HOST"),
            db: text(&ix, "DB"),
            command: text(&ix, "COMMAND"),
            time,
            state: text(&ix, "STATE"),
            info: text(&ix, "INFO"),
        }
    }

    /// Replication, daemon and idle connections that the slow-query view hides by default.
    pub fn is_background(&self) -> bool {
        matches!(
            self.command.as_str(),
            "Sleep" | "Daemon" | "Binlog Dump" | "Binlog Dump GTID" | "Slave_IO" | "Slave_SQL" | "Slave_worker"
        ) || self.user == "system user"
            || self.user == "event_scheduler"
    }
}

/// Everything one poll of a node read.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeStatus {
    pub version: String,
    pub dialect: Dialect,
    pub vars: NodeVars,
    pub counters: NodeCounters,
    /// Own binlog coordinates; `None` when binary logging is off.
    pub binlog: Option<BinlogPos>,
    pub links: Vec<ReplicaLink>,
    pub processes: Vec<Process>,
    /// Top statement digests, or why there are none; `None` when not read (the engine's reads).
    pub digests: Option<super::digest::Digests>,
}

impl NodeStatus {
    /// Whether `other` says the same about replication: version, variables, links and binlog
    /// position (counters, statements and digests aside).
    pub fn same_replication(&self, other: &NodeStatus) -> bool {
        self.version == other.version
            && self.dialect == other.dialect
            && self.vars == other.vars
            && self.binlog == other.binlog
            && self.links == other.links
    }
}
