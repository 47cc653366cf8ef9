//! SQL plumbing for the lab: dedicated `mysql_async` connections (TCP to 127.0.0.1 with
//! `prefer_socket(false)`, or a node's own unix socket), every step under a timeout, and rows as
//! strings by column name.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr, eyre};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Row};

use super::spec::Spec;

/// Timeout of one connect or query.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs a future under [`STEP_TIMEOUT`]; `what` names it in errors.
pub async fn timed<T, E>(what: &str, fut: impl Future<Output = Result<T, E>>) -> Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    match tokio::time::timeout(STEP_TIMEOUT, fut).await {
        Ok(r) => r.wrap_err_with(|| what.to_string()),
        Err(_) => Err(eyre!("{what}: no answer within {}s", STEP_TIMEOUT.as_secs())),
    }
}

/// A TCP connection to 127.0.0.1:port (never silently over a unix socket), over TLS verified
/// with `ca` when given (a `--tls` lab).
pub async fn connect_tcp(port: u16, user: &str, password: &str, ca: Option<&Path>) -> Result<Conn> {
    let mut opts = OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .prefer_socket(false)
        .user(Some(user))
        .pass(Some(password));
    if let Some(ca) = ca {
        opts = opts.ssl_opts(mysql_async::SslOpts::default().with_root_certs(vec![ca.to_path_buf().into()]));
    }
    timed(&format!("connecting to 127.0.0.1:{port} as {user}"), Conn::new(opts)).await
}

/// A connection over a unix socket (used while bootstrapping, before TCP users exist).
pub async fn connect_socket(socket: &Path, user: &str, password: Option<&str>) -> Result<Conn> {
    let opts = OptsBuilder::default().socket(Some(socket.to_string_lossy())).user(Some(user)).pass(password);
    timed(&format!("connecting to {} as {user}", socket.display()), Conn::new(opts)).await
}

/// The operator's connection to node k.
pub async fn operator(spec: &Spec, k: u16) -> Result<Conn> {
    let ca = spec.tls.then(|| spec.tls_ca());
    connect_tcp(spec.node_port(k), "ringdeck", spec.operator_password.expose(), ca.as_deref())
        .await
        .wrap_err_with(|| format!("node{k}"))
}

pub async fn exec(conn: &mut Conn, sql: &str) -> Result<()> {
    timed(&short(sql), conn.query_drop(sql)).await
}

/// Runs a query and returns its rows as name -> value maps (NULL as None).
pub async fn rows(conn: &mut Conn, sql: &str) -> Result<Vec<HashMap<String, Option<String>>>> {
    let rows: Vec<Row> = timed(&short(sql), conn.query(sql)).await?;
    Ok(rows.iter().map(|r| crate::db::to_row(r).into_iter().collect()).collect())
}

/// The first column of the first row.
pub async fn scalar(conn: &mut Conn, sql: &str) -> Result<Option<String>> {
    let rows: Vec<Row> = timed(&short(sql), conn.query(sql)).await?;
    Ok(rows.first().and_then(|r| r.as_ref(0)).and_then(crate::db::value_text))
}

/// `SHOW SLAVE STATUS` as a map, None when the node has no replication configured.
pub async fn replica_status(conn: &mut Conn) -> Result<Option<HashMap<String, String>>> {
    let mut r = rows(conn, "SHOW SLAVE STATUS").await?;
    Ok(r.pop().map(|m| m.into_iter().map(|(k, v)| (k, v.unwrap_or_default())).collect()))
}

/// A statement shortened for error messages, with anything after IDENTIFIED/PASSWORD cut off
/// so secrets never reach a message.
fn short(sql: &str) -> String {
    let upper = sql.to_ascii_uppercase();
    let cut = ["IDENTIFIED", "PASSWORD"].iter().filter_map(|w| upper.find(w)).min().unwrap_or(sql.len()).min(120);
    let mut s = sql[..cut].to_string();
    if cut < sql.len() {
        s.push_str(" ...");
    }
    s
}

/// A SQL string literal (single quotes, backslashes and quotes escaped).
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A tokio runtime for one lab command.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().wrap_err("cannot start the async runtime")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_never_carry_passwords() {
        let s = short("ALTER USER 'root'@'localhost' IDENTIFIED BY 'secret'");
        assert!(!s.contains("secret"), "{s}");
        let s = short("CHANGE MASTER TO MASTER_HOST='h', MASTER_PASSWORD='secret'");
        assert!(!s.contains("secret"), "{s}");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("a'b\\c"), "'a\\'b\\\\c'");
    }
}
