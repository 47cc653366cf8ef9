//! Reading one transaction from a node's binary log, in-process over the replication protocol
//! (never by running `mysqlbinlog`): a connection of its own turned into a binlog dump from
//! `file:pos` (non-blocking: the server ends the dump at the end of its binlog), folded until
//! the transaction ends, cut off at the timeout.
//!
//! The dump registers a server_id no server or replica has (a random one above 4 000 000 000): a
//! replica connecting with another replica's id would make the source kill that replica's dump
//! thread and break its link. On MariaDB `@mariadb_slave_capability = 4` asks for its GTID
//! events as such. The operator's login is tried first, then the node's replication login
//! (`REPLICATION SLAVE` is what a dump needs).

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use mysql_async::BinlogStreamRequest;
use mysql_async::prelude::Queryable;

use super::event::{Fold, Transaction};
use crate::config::NodeConfig;
use crate::config::login::{Login, replication_password};
use crate::db::{DbError, opts};

/// Events read at most for one transaction (a runaway read stops, reported).
const MAX_EVENTS: usize = 200_000;

fn dump_server_id() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    4_000_000_000 + (nanos ^ std::process::id().wrapping_mul(2_654_435_761)) % 290_000_000
}

async fn dump(
    node: &NodeConfig,
    login: &Login,
    file: &str,
    pos: u64,
    failing_end: Option<u64>,
    deadline: Instant,
) -> Result<Transaction, String> {
    let left = || deadline.saturating_duration_since(Instant::now());
    let mut conn = crate::db::connect(&opts(node, login), left()).await?;
    let version: Option<String> = tokio::time::timeout(left(), conn.query_first("SELECT @@version"))
        .await
        .map_err(|_| "no answer to SELECT @@version".to_string())?
        .map_err(|e| DbError::from(e).to_string())?;
    if version.as_deref().unwrap_or("").contains("MariaDB") {
        tokio::time::timeout(left(), conn.query_drop("SET @mariadb_slave_capability = 4"))
            .await
            .map_err(|_| "no answer".to_string())?
            .map_err(|e| DbError::from(e).to_string())?;
    }
    let req =
        BinlogStreamRequest::new(dump_server_id()).with_filename(file.as_bytes()).with_pos(pos).with_non_blocking();
    let mut stream = tokio::time::timeout(left(), conn.get_binlog_stream(req))
        .await
        .map_err(|_| "the binlog dump did not start in time".to_string())?
        .map_err(|e| DbError::from(e).to_string())?;
    let mut fold = Fold::new(pos, failing_end);
    let mut n = 0;
    let result = loop {
        n += 1;
        if n > MAX_EVENTS {
            break Err(format!("more than {MAX_EVENTS} events without the end of the transaction"));
        }
        match tokio::time::timeout(left(), stream.next()).await {
            Err(_) => break Err("the binlog dump timed out before the transaction ended".into()),
            Ok(None) => break Ok(()),
            Ok(Some(Err(e))) => break Err(DbError::from(e).to_string()),
            Ok(Some(Ok(ev))) => match fold.push(&ev) {
                Ok(true) => break Ok(()),
                Ok(false) => {}
                Err(e) => break Err(e),
            },
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.close()).await;
    result.map(|()| fold.finish())
}

/// The transaction starting at `file:pos` in `node`'s binlog (`failing_end`: where the event
/// that failed ends, from the error text), read within `timeout`. `repl` is the replication
/// login to try when the operator's may not read binlogs.
pub async fn read_transaction(
    node: &NodeConfig,
    login: &Login,
    repl: Option<&NodeConfig>,
    file: &str,
    pos: u64,
    failing_end: Option<u64>,
    timeout: Duration,
) -> Result<Transaction, String> {
    let deadline = Instant::now() + timeout;
    let first = dump(node, login, file, pos, failing_end, deadline).await;
    match (&first, repl) {
        (Err(e), Some(r)) if e.starts_with("1045 ") || e.starts_with("1227 ") || e.contains("Access denied") => {
            let password = replication_password(r)?;
            let login = Login { user: r.replication_user.clone(), password };
            dump(node, &login, file, pos, failing_end, deadline)
                .await
                .map_err(|e2| format!("{e} (and with the replication login: {e2})"))
        }
        _ => first,
    }
}
