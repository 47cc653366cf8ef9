//! A node's connection for a runbook or recovery step: its dialect, a deadline on every read
//! and statement, the node's state through [`super::read_status`].

use std::time::Duration;

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::{DbError, Depth, query_rows, within};
use crate::config::NodeConfig;
use crate::config::login::Login;
use crate::model::replication::{Dialect, NodeStatus, Row};

/// A dedicated connection to one node, with its dialect.
pub struct Target {
    pub conn: Conn,
    pub dialect: Dialect,
    version: String,
    timeout: Duration,
}

impl Target {
    /// Connects and reads the version, each within `timeout`; the error names the node.
    pub async fn open(node: &NodeConfig, login: &Login, timeout: Duration) -> Result<Target, String> {
        let named = |e: DbError| format!("{}: {e}", node.name());
        let mut conn = super::connect(&super::opts(node, login), timeout).await.map_err(named)?;
        let (version, dialect) = within(timeout, "SELECT @@version", super::read_version(&mut conn)).await?;
        Ok(Target { conn, dialect, version, timeout })
    }

    /// Variables, replica links and binlog position, read now.
    pub async fn read(&mut self) -> Result<NodeStatus, DbError> {
        let read = super::read_status(&mut self.conn, &self.version, self.dialect, Depth::Replication);
        within(self.timeout, "status read", read).await
    }

    /// Runs one statement within `t`.
    pub async fn exec(&mut self, sql: &str, t: Duration) -> Result<(), DbError> {
        within(t, "statement", async { Ok(self.conn.query_drop(sql).await?) }).await
    }

    /// Rows of a query, by column name.
    pub async fn rows(&mut self, sql: &str) -> Result<Vec<Row>, DbError> {
        within(self.timeout, "query", query_rows(&mut self.conn, sql)).await
    }

    /// Closes the connection politely (bounded by the timeout).
    pub async fn close(self) {
        let _ = tokio::time::timeout(self.timeout, self.conn.disconnect()).await;
    }
}
