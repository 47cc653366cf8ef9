//! The MySQL/MariaDB collector: one dedicated connection per node, reconnecting after errors,
//! reading variables, replica status, binlog position, counters and the process list each poll.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, SslOpts, Value};

use super::{Collector, Payload, PollError};
use crate::config::login::Login;
use crate::config::{NodeConfig, SslMode, TlsConfig};
use crate::model::digest::{self, Digest, Digests};
use crate::model::replication::{BinlogPos, Dialect, NodeCounters, NodeStatus, NodeVars, Process, ReplicaLink, Row};

/// How to connect to a node: the driver's options, and whether a server without TLS gets a
/// plain connection (`ssl_mode = "preferred"`).
#[derive(Clone, Debug)]
pub struct ConnOpts {
    pub opts: Opts,
    pub plain_fallback: bool,
}

/// Connection options for a node: TCP only (never a local socket behind our back), its TLS.
pub fn opts(node: &NodeConfig, login: &Login) -> Result<ConnOpts, String> {
    let mut b = OptsBuilder::default()
        .ip_or_hostname(node.host.clone())
        .tcp_port(node.port)
        .prefer_socket(false)
        .user(login.user.clone())
        .pass(login.password.as_ref().map(|p| p.expose().to_string()))
        .stmt_cache_size(0);
    if let Some(ssl) = node.tls.as_ref().and_then(ssl_opts) {
        b = b.ssl_opts(ssl);
    }
    let plain_fallback = node.tls.as_ref().is_some_and(|t| t.mode() == SslMode::Preferred);
    Ok(ConnOpts { opts: b.into(), plain_fallback })
}

/// The TLS options of an `ssl_mode`, as the MySQL clients mean them: `preferred` and `required`
/// encrypt without verifying (a `preferred` connect falls back to plain when the server offers
/// no TLS, see [`connect`]); `verify_ca` checks the chain to `ca`; `verify_identity` also the
/// host name. `None`: no TLS.
fn ssl_opts(tls: &TlsConfig) -> Option<SslOpts> {
    let path = |p: &std::path::Path| crate::config::paths::expand_tilde(p);
    let mut ssl = match tls.mode() {
        SslMode::Disabled => return None,
        SslMode::Preferred | SslMode::Required => {
            SslOpts::default().with_danger_accept_invalid_certs(true).with_danger_skip_domain_validation(true)
        }
        SslMode::VerifyCa => SslOpts::default().with_danger_skip_domain_validation(true),
        SslMode::VerifyIdentity => SslOpts::default(),
    };
    if let Some(ca) = &tls.ca {
        ssl = ssl.with_root_certs(vec![path(ca).into()]);
    }
    if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
        ssl = ssl.with_client_identity(Some(mysql_async::ClientIdentity::new(path(cert).into(), path(key).into())));
    }
    Some(ssl)
}

/// Connects with a timeout (mysql_async has none of its own).
pub async fn connect(opts: &ConnOpts, timeout: Duration) -> Result<Conn, String> {
    connect_polled(opts, timeout).await.map_err(|e| e.message)
}

/// [`connect`], saying whether the failure may pass by the next poll (a timeout, a reset).
async fn connect_polled(opts: &ConnOpts, timeout: Duration) -> Result<Conn, PollError> {
    let attempt = |o: Opts| async move {
        match tokio::time::timeout(timeout, Conn::new(o)).await {
            Ok(r) => Ok(r),
            Err(_) => {
                Err(PollError::transient(format!("connect timed out after {}", crate::ui::fmt::duration(timeout))))
            }
        }
    };
    match attempt(opts.opts.clone()).await? {
        Ok(c) => Ok(c),
        // `ssl_mode = "preferred"`: a server without TLS gets a plain connection, as the MySQL
        // clients do.
        Err(mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer)) if opts.plain_fallback => {
            let plain: Opts = OptsBuilder::from_opts(opts.opts.clone()).ssl_opts(None::<SslOpts>).into();
            attempt(plain).await?.map_err(|e| poll_error(&e))
        }
        Err(mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer)) => {
            Err(PollError::from("the server offers no TLS, and this node's ssl_mode requires it"))
        }
        Err(e) => Err(poll_error(&e)),
    }
}

/// A driver error as a poll failure: a connection lost mid-way (reset, closed, timed out) may
/// pass by the next poll; a refused connect or a server error (access denied, too many
/// connections, ...) is a hard fact.
pub fn poll_error(e: &mysql_async::Error) -> PollError {
    let transient = match e {
        mysql_async::Error::Io(mysql_async::IoError::Io(io)) => !matches!(
            io.kind(),
            std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
        ),
        mysql_async::Error::Io(_) | mysql_async::Error::Server(_) | mysql_async::Error::Url(_) => false,
        mysql_async::Error::Driver(d) => matches!(d, mysql_async::DriverError::ConnectionClosed),
        mysql_async::Error::Other(_) => false,
    };
    PollError { message: describe(e), transient }
}

/// A short description of a driver error; never contains the password.
pub fn describe(e: &mysql_async::Error) -> String {
    match e {
        mysql_async::Error::Server(s) => format!("{} {}", s.code, s.message),
        mysql_async::Error::Io(mysql_async::IoError::Io(io)) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
            std::io::ErrorKind::ConnectionReset => "connection reset".into(),
            std::io::ErrorKind::TimedOut => "timed out".into(),
            std::io::ErrorKind::UnexpectedEof => "connection closed by the server".into(),
            _ => io.to_string(),
        },
        mysql_async::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}

/// A column value as text, the form the model parses.
pub fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Double(d) => Some(d.to_string()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

/// Converts a driver row into the model's name -> text row.
pub fn to_row(r: &mysql_async::Row) -> Row {
    r.columns_ref()
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name_str().into_owned(), r.as_ref(i).and_then(value_text)))
        .collect()
}

/// Runs a query and returns rows by column name.
pub async fn query_rows(conn: &mut Conn, sql: &str) -> Result<Vec<Row>, String> {
    polled_rows(conn, sql).await.map_err(|e| e.message)
}

/// [`query_rows`] for a poll: a failure says whether it may pass by the next poll.
async fn polled_rows(conn: &mut Conn, sql: &str) -> Result<Vec<Row>, PollError> {
    let rows: Vec<mysql_async::Row> = conn.query(sql).await.map_err(|e| poll_error(&e))?;
    Ok(rows.iter().map(to_row).collect())
}

/// Polls one node.
pub struct NodeCollector {
    opts: ConnOpts,
    timeout: Duration,
    conn: Option<Conn>,
    version: Option<(String, Dialect)>,
    /// Polls so far: digests are read every [`DIGEST_EVERY`]th poll and kept in between.
    polls: u64,
    digests: Option<Digests>,
}

/// Statement digests change slowly and cost more to read than the rest: every 5th poll.
const DIGEST_EVERY: u64 = 5;

/// Top digests, or why there are none (performance_schema off, no privilege).
async fn read_digests(conn: &mut Conn) -> Digests {
    let on = match query_rows(conn, "SELECT @@performance_schema AS ps").await {
        Ok(rows) => rows.first().and_then(|r| r.first()).and_then(|(_, v)| v.clone()),
        Err(e) => return Digests::Unavailable(format!("cannot read @@performance_schema: {e}")),
    };
    if !digest::enabled(on.as_deref()) {
        return Digests::Unavailable(digest::OFF_HINT.into());
    }
    match query_rows(conn, digest::DIGEST_SQL).await {
        Ok(rows) => Digests::Rows(rows.iter().filter_map(Digest::from_row).collect()),
        Err(e) => Digests::Unavailable(format!("performance_schema digests unreadable: {e}")),
    }
}

impl NodeCollector {
    pub fn new(opts: ConnOpts, timeout: Duration) -> Self {
        Self { opts, timeout, conn: None, version: None, polls: 0, digests: None }
    }

    async fn read(conn: &mut Conn, version: &mut Option<(String, Dialect)>) -> Result<NodeStatus, PollError> {
        if version.is_none() {
            let rows = polled_rows(conn, "SELECT @@version AS v, @@version_comment AS c").await?;
            let get = |k: &str| {
                rows.first()
                    .and_then(|r| r.iter().find(|(n, _)| n == k))
                    .and_then(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let (v, c) = (get("v"), get("c"));
            *version = Some((v.clone(), Dialect::detect(&v, &c)));
        }
        let (ver, dialect) = version.clone().ok_or("no version")?;
        let vars_row: Option<mysql_async::Row> =
            conn.query_first(dialect.variables_sql()).await.map_err(|e| poll_error(&e))?;
        let vals: Vec<Option<String>> =
            vars_row.map(|r| (0..r.len()).map(|i| r.as_ref(i).and_then(value_text)).collect()).unwrap_or_default();
        let vars = NodeVars::from_values(&vals)?;
        let links = polled_rows(conn, dialect.replica_status_sql())
            .await?
            .iter()
            .map(ReplicaLink::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let binlog = polled_rows(conn, dialect.binlog_status_sql()).await?.first().map(BinlogPos::from_row);
        let status = polled_rows(
            conn,
            "SHOW GLOBAL STATUS WHERE Variable_name IN ('Uptime','Threads_connected','Threads_running','Questions')",
        )
        .await?;
        let counters = NodeCounters::from_pairs(status.iter().filter_map(|r| {
            let name = r.first()?.1.as_deref()?;
            let value = r.get(1)?.1.as_deref()?;
            Some((name, value))
        }));
        let processes = polled_rows(conn, "SELECT * FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()")
            .await?
            .iter()
            .map(Process::from_row)
            .collect();
        Ok(NodeStatus { version: ver, dialect, vars, counters, binlog, links, processes, digests: None })
    }
}

impl Collector for NodeCollector {
    async fn poll(&mut self) -> Result<Payload, PollError> {
        if self.conn.is_none() {
            self.conn = Some(connect_polled(&self.opts, self.timeout).await?);
            self.version = None;
        }
        let conn = self.conn.as_mut().ok_or("not connected")?;
        match Self::read(conn, &mut self.version).await {
            Ok(mut s) => {
                if self.polls.is_multiple_of(DIGEST_EVERY) || self.digests.is_none() {
                    self.digests = Some(read_digests(conn).await);
                }
                self.polls += 1;
                s.digests = self.digests.clone();
                Ok(Payload::Node(Box::new(s)))
            }
            Err(e) => {
                self.reset();
                Err(e)
            }
        }
    }

    fn reset(&mut self) {
        // Dropping a Conn mid-query is safe: the socket is closed and the server cleans up.
        self.conn = None;
        self.version = None;
    }
}
