//! One node's dedicated session for a verify, a repair or an inspection: connect and every statement under a
//! timeout, a node that stops answering counted as unreachable from then on, statements sent to
//! all nodes at once. Reads are text queries; key lookups and writes are prepared statements with
//! bound values.

use std::time::Duration;

use futures_util::future::join_all;
use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::{DbError, to_row};
use crate::config::Config;
use crate::config::login::Logins;
use crate::model::replication::{Dialect, Row};

/// Whether a session only reads (a verify) or also writes (a repair).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Session {
    ReadOnly,
    Writes,
}

/// One node's dedicated connection.
pub struct Node {
    pub name: String,
    pub address: String,
    pub conn: Option<Conn>,
    /// Why it is not (or no longer) connected.
    pub error: Option<String>,
    pub version: Option<String>,
    pub dialect: Dialect,
    pub t: Duration,
}

impl Node {
    pub fn lost(&mut self, why: String) {
        self.conn = None;
        if self.error.is_none() {
            self.error = Some(why);
        }
    }

    /// Runs `sql` under the query timeout. A server error leaves the connection usable; a timeout
    /// or a connection error drops it and the node counts as unreachable from then on.
    pub async fn query(&mut self, sql: &str) -> Result<Vec<Row>, String> {
        let t = self.t;
        let conn = self.connected()?;
        let r = tokio::time::timeout(t, conn.query::<mysql_async::Row, _>(sql)).await;
        self.settle(sql, r).map(|rows| rows.iter().map(to_row).collect())
    }

    /// A prepared statement with bound values under the query timeout (the binary protocol: key
    /// values of any type compare as the column's own), errors handled as in [`Node::query`].
    pub async fn exec(&mut self, sql: &str, params: Vec<mysql_async::Value>) -> Result<Vec<mysql_async::Row>, String> {
        let t = self.t;
        let conn = self.connected()?;
        let r = tokio::time::timeout(t, conn.exec::<mysql_async::Row, _, _>(sql, bound(params))).await;
        self.settle(sql, r)
    }

    /// A prepared statement that changes rows: how many it changed. Errors as in [`Node::query`].
    pub async fn change(&mut self, sql: &str, params: Vec<mysql_async::Value>) -> Result<u64, String> {
        let t = self.t;
        let conn = self.connected()?;
        let run = async {
            conn.exec_drop(sql, bound(params)).await?;
            Ok(conn.affected_rows())
        };
        let r = tokio::time::timeout(t, run).await;
        self.settle(sql, r)
    }

    fn connected(&mut self) -> Result<&mut Conn, String> {
        match self.conn.as_mut() {
            Some(c) => Ok(c),
            None => Err(self.error.clone().unwrap_or_else(|| "not connected".into())),
        }
    }

    /// A statement's outcome: a server error leaves the connection usable; a connection error or
    /// the timeout drops it.
    fn settle<T>(
        &mut self,
        sql: &str,
        r: Result<Result<T, mysql_async::Error>, tokio::time::error::Elapsed>,
    ) -> Result<T, String> {
        match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => match DbError::from(e) {
                // A server error leaves the connection usable.
                e @ DbError::Server { .. } => Err(e.to_string()),
                e => {
                    let m = e.to_string();
                    self.lost(m.clone());
                    Err(m)
                }
            },
            Err(_) => {
                let m = format!("no answer within {} to {}", crate::fmt::duration(self.t), short(sql));
                self.lost(m.clone());
                Err(m)
            }
        }
    }
}

/// Sends a progress line, if anyone listens (a closed receiver is fine: the work goes on).
pub fn send(progress: &Option<tokio::sync::mpsc::UnboundedSender<String>>, msg: String) {
    if let Some(p) = progress {
        let _ = p.send(msg);
    }
}

fn bound(params: Vec<mysql_async::Value>) -> mysql_async::Params {
    if params.is_empty() { mysql_async::Params::Empty } else { mysql_async::Params::Positional(params) }
}

fn short(sql: &str) -> String {
    if sql.chars().count() > 80 { format!("{}…", sql.chars().take(79).collect::<String>()) } else { sql.to_string() }
}

pub use super::cell;

pub fn int(row: &Row, name: &str) -> Option<i128> {
    cell(row, name).and_then(|v| v.trim().parse().ok())
}

pub fn uint(row: &Row, name: &str) -> Option<u64> {
    cell(row, name).and_then(|v| v.trim().parse().ok())
}

/// Runs `sqls[i]` on node `i`, all at once; `None` where there is no statement for the node.
pub async fn on_all(nodes: &mut [Node], sqls: &[Option<String>]) -> Vec<Option<Result<Vec<Row>, String>>> {
    join_all(nodes.iter_mut().zip(sqls).map(|(n, q)| async move {
        match q {
            Some(q) => Some(n.query(q).await),
            None => None,
        }
    }))
    .await
}

/// The same statement on every node still connected.
pub async fn on_connected(nodes: &mut [Node], sql: &str) -> Vec<Option<Result<Vec<Row>, String>>> {
    let sqls: Vec<Option<String>> = nodes.iter().map(|n| n.conn.as_ref().map(|_| sql.to_string())).collect();
    on_all(nodes, &sqls).await
}

/// Opens node `i` of the config; a failure is kept in `error` (the node counts as unreachable).
pub async fn open(cfg: &Config, logins: &Logins, i: usize, query_t: Duration, session: Session) -> Node {
    let nc = &cfg.nodes[i];
    let mut node = Node {
        name: nc.name().to_string(),
        address: nc.address(),
        conn: None,
        error: None,
        version: None,
        dialect: Dialect::MariaDb,
        t: cfg.timeout.0,
    };
    let login = logins.nodes.get(i).cloned().unwrap_or_default();
    let mut conn = match super::connect(&super::opts(nc, &login), cfg.timeout.0).await {
        Ok(c) => c,
        Err(e) => {
            node.error = Some(e.to_string());
            return node;
        }
    };
    if let Ok(Ok((v, d))) = tokio::time::timeout(node.t, super::read_version(&mut conn)).await {
        node.dialect = d;
        node.version = Some(v);
    }
    node.conn = Some(conn);
    // A verify only reads from here on; the server also cuts off a statement that outlives our
    // timeout.
    if session == Session::ReadOnly {
        let _ = node.query("SET SESSION TRANSACTION READ ONLY").await;
    }
    // TIMESTAMP values are read and written in the session's time zone: UTC on every node, so
    // row images compare and repaired values land unchanged whatever each host's zone is.
    let _ = node.query("SET SESSION time_zone = '+00:00'").await;
    let limit = match node.dialect {
        Dialect::MariaDb => format!("SET SESSION max_statement_time = {}", query_t.as_secs().max(1)),
        _ => format!("SET SESSION max_execution_time = {}", query_t.as_millis().max(1000)),
    };
    let _ = node.query(&limit).await;
    node.t = query_t;
    node
}

impl Node {
    /// Closes the connection politely (bounded).
    pub async fn close(&mut self) {
        if let Some(c) = self.conn.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), c.disconnect()).await;
        }
    }

    /// Whether it is connected and has not failed.
    pub fn reachable(&self) -> bool {
        self.conn.is_some() && self.error.is_none()
    }
}
