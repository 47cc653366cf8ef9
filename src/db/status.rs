//! Reading a node's state: its version and dialect once per connection, then variables, replica
//! links, binlog position and (for the console) counters and the process list. The collectors,
//! the runbook engine, check, verify and recover all read through here.

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::DbError;
use super::rows::{cell, query_rows};
use crate::model::replication::{BinlogPos, Dialect, NodeCounters, NodeStatus, NodeVars, Process, ReplicaLink, Row};

/// How much of a node a read takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// Variables, replica links and binlog position: what a step's checks need.
    Replication,
    /// Also the status counters and the process list: what the console shows.
    Full,
}

/// The server's version and the dialect it speaks.
pub async fn read_version(conn: &mut Conn) -> Result<(String, Dialect), DbError> {
    let rows = query_rows(conn, "SELECT @@version AS v, @@version_comment AS c").await?;
    let get = |k: &str| rows.first().and_then(|r| cell(r, k)).unwrap_or_default().to_string();
    let (v, c) = (get("v"), get("c"));
    let dialect = Dialect::detect(&v, &c);
    Ok((v, dialect))
}

const COUNTERS_SQL: &str =
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('Uptime','Threads_connected','Threads_running','Questions')";
const PROCESSES_SQL: &str = "SELECT * FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()";

/// A node's state now (no deadline of its own: callers put one around the whole read), in one
/// round trip: the statements of `depth` go as one multi-statement query and come back as one
/// result set each (three for `Depth::Replication`, five for `Depth::Full`, the console's poll).
pub async fn read_status(
    conn: &mut Conn,
    version: &str,
    dialect: Dialect,
    depth: Depth,
) -> Result<NodeStatus, DbError> {
    let mut statements = vec![dialect.variables_sql(), dialect.replica_status_sql(), dialect.binlog_status_sql()];
    if depth == Depth::Full {
        statements.extend([COUNTERS_SQL, PROCESSES_SQL]);
    }
    let mut result = conn.query_iter(statements.join(";\n")).await?;
    let mut sets: Vec<Vec<mysql_async::Row>> = Vec::with_capacity(statements.len());
    for _ in 0..statements.len() {
        sets.push(result.collect().await?);
    }
    result.drop_result().await?;
    let mut sets = sets.into_iter();
    let mut next = || sets.next().ok_or_else(|| DbError::Answer("fewer result sets than statements".into()));
    let (vars, links, binlog) = (next()?, next()?, next()?);
    let vals = vars.first().map(super::rows::values).unwrap_or_default();
    let vars = NodeVars::from_values(&vals).map_err(DbError::Answer)?;
    let links = links
        .iter()
        .map(|r| ReplicaLink::from_row(&super::to_row(r)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(DbError::Answer)?;
    let binlog = binlog.first().map(|r| BinlogPos::from_row(&super::to_row(r)));
    let (counters, processes) = match depth {
        Depth::Replication => (NodeCounters::default(), Vec::new()),
        Depth::Full => {
            let status: Vec<Row> = next()?.iter().map(super::to_row).collect();
            let counters = NodeCounters::from_pairs(status.iter().filter_map(|r| {
                let name = r.first()?.1.as_deref()?;
                let value = r.get(1)?.1.as_deref()?;
                Some((name, value))
            }));
            (counters, next()?.iter().map(|r| Process::from_row(&super::to_row(r))).collect())
        }
    };
    Ok(NodeStatus { version: version.to_string(), dialect, vars, counters, binlog, links, processes, digests: None })
}

/// One read of a node on a connection of its own (connect, version, state, close), the whole
/// of it within `timeout`: what `check`, the CLIs and the wizard's checks use.
pub async fn read_node(
    node: &crate::config::NodeConfig,
    login: &crate::config::login::Login,
    timeout: std::time::Duration,
    depth: Depth,
) -> Result<NodeStatus, DbError> {
    let opts = super::opts(node, login);
    let read = async {
        let mut conn = super::connect(&opts, timeout).await?;
        let (version, dialect) = read_version(&mut conn).await?;
        let status = read_status(&mut conn, &version, dialect, depth).await;
        // Closing politely is best effort: the read is what counts.
        let _ = tokio::time::timeout(std::time::Duration::from_millis(200), conn.disconnect()).await;
        status
    };
    super::within(timeout, "status read", read).await
}
