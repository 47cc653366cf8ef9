//! The MySQL/MariaDB collector: one dedicated connection per node, reconnecting after errors,
//! reading the node's whole state each poll through [`crate::db::read_status`] and the statement
//! digests on a slower cadence. The agent's collectors read only what the ring model needs
//! ([`Depth::Replication`], no digests), so its user needs no more than replication monitoring.

use std::time::Duration;

use mysql_async::Conn;

use super::{Collector, PollError, Polled, Update};
use crate::db::{self, ConnOpts, Depth, query_rows};
use crate::model::digest::{self, Digest, Digests};
use crate::model::replication::{Dialect, NodeStatus};

/// Polls one node.
pub struct NodeCollector {
    opts: ConnOpts,
    timeout: Duration,
    conn: Option<Conn>,
    version: Option<(String, Dialect)>,
    /// Polls so far: digests are read every [`DIGEST_EVERY`]th poll and kept in between.
    polls: u64,
    digests: Option<Digests>,
    depth: Depth,
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
        Self { opts, timeout, conn: None, version: None, polls: 0, digests: None, depth: Depth::Full }
    }

    /// Variables, replica links and binlog position only: no process list, counters or digests.
    pub fn replication_only(opts: ConnOpts, timeout: Duration) -> Self {
        Self { depth: Depth::Replication, ..Self::new(opts, timeout) }
    }
}

impl Collector for NodeCollector {
    type Sample = Box<NodeStatus>;

    fn update(polled: Polled<Box<NodeStatus>>) -> Update {
        Update::Node(polled)
    }

    async fn poll(&mut self) -> Result<Box<NodeStatus>, PollError> {
        if self.conn.is_none() {
            self.conn = Some(db::connect(&self.opts, self.timeout).await?);
            self.version = None;
        }
        let conn = self.conn.as_mut().ok_or("not connected")?;
        let read = async {
            let (version, dialect) = match &self.version {
                Some(v) => v.clone(),
                None => db::read_version(conn).await?,
            };
            self.version = Some((version.clone(), dialect));
            db::read_status(conn, &version, dialect, self.depth).await
        };
        match read.await {
            Ok(mut s) => {
                if self.depth == Depth::Full && (self.polls.is_multiple_of(DIGEST_EVERY) || self.digests.is_none()) {
                    self.digests = Some(read_digests(conn).await);
                }
                self.polls += 1;
                s.digests = self.digests.clone();
                Ok(Box::new(s))
            }
            Err(e) => {
                self.reset();
                Err(e.into())
            }
        }
    }

    fn reset(&mut self) {
        // Dropping a Conn mid-query is safe: the socket is closed and the server cleans up.
        self.conn = None;
        self.version = None;
    }
}
