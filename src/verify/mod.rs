//! Consistency check across the ring's nodes (seed 004): `CHECKSUM TABLE` of the chosen tables on
//! every node, compared; for a differing table with a single-column integer primary key, chunked
//! `COUNT(*)` / `BIT_XOR(CRC32(...))` by key range to find the differing ranges, and the rows in
//! them. Read-only: it never writes, so the console runs it also in read-only mode.
//!
//! [`verify`] is the library entry (the console and the recovery wizard use it); `ringdeck verify`
//! is in [`cli`]. Only meaningful while writes are quiet and replication is caught up: the report
//! says when that was not so.

pub mod chunk;
pub mod compare;
pub mod key;
pub mod render;
pub mod report;
pub mod run;
pub mod sql;

use std::time::Duration;

pub use key::Key;
pub use render::{Tone, json, lines, text};
pub use report::{
    ChunkNode, ChunkReport, MissingSchema, NodeReport, NodeTable, Report, RowNode, RowReport, RowState, TableReport,
    TableStatus,
};
pub use run::{VerifyError, verify};

/// Key values per chunk in pass 2 unless told otherwise.
pub const DEFAULT_CHUNK_SIZE: u64 = 1000;

/// What to compare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyOpts {
    /// Schemas to compare; empty: every schema on the nodes except mysql, information_schema,
    /// performance_schema and sys.
    pub schemas: Vec<String>,
    /// Only these tables (`db.table`); empty: every table of the schemas.
    pub tables: Vec<String>,
    /// Key values per chunk (pass 2).
    pub chunk_size: u64,
    /// Timeout of each query; `None`: 20 times the config's timeout, at least 60 s. Connects use
    /// the config's timeout.
    pub query_timeout: Option<Duration>,
}

impl Default for VerifyOpts {
    fn default() -> Self {
        VerifyOpts { schemas: Vec::new(), tables: Vec::new(), chunk_size: DEFAULT_CHUNK_SIZE, query_timeout: None }
    }
}

#[cfg(test)]
mod tests;
