//! What a verify found, as data: per node (reachable, replication caught up, writes seen during
//! the run), per table (status, per-node checksums, differing chunks and rows). Serialized as the
//! JSON of `ringdeck verify --format json` (schema version 2, documented in the README).

use serde::{Deserialize, Serialize};

pub use super::key::Key;

/// The JSON document's schema version (2: keys are arrays, one value per key column).
pub const SCHEMA_VERSION: u32 = 2;

/// The warning every report carries: checksums taken at slightly different moments on each node
/// only agree when nothing is being written.
pub const MEANINGFUL_WHEN: &str = "only meaningful while writes are quiet and replication caught up";

/// A whole verify.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    /// Every node answered, every table and schema is present and equal everywhere.
    pub equal: bool,
    /// 0 when `equal`, else 1.
    pub exit_code: i32,
    pub summary: String,
    /// Why the verify could not run at all (config, options); null otherwise.
    pub error: Option<String>,
    /// False when a node was unreachable or its replication was not caught up, or writes were
    /// seen during the run: differences may be transient (see `warnings`).
    pub reliable: bool,
    pub note: String,
    pub warnings: Vec<String>,
    pub chunk_size: u64,
    pub elapsed_ms: u64,
    /// The schemas compared.
    pub schemas: Vec<String>,
    pub nodes: Vec<NodeReport>,
    /// Selected schemas that exist on some nodes only.
    pub missing_schemas: Vec<MissingSchema>,
    /// Every table compared, differing ones first.
    pub tables: Vec<TableReport>,
}

/// One node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeReport {
    pub name: String,
    pub address: String,
    /// Connected and answered until the end.
    pub reachable: bool,
    pub error: Option<String>,
    pub version: Option<String>,
    /// Every replica link running with 0 seconds behind (false with no link at all: unknown).
    pub caught_up: bool,
    /// `caught up`, `no replica link`, or what is wrong (`node1 -> SQL stopped 1062 ...`, `12 s behind`).
    pub replication: String,
    /// Its binlog moved between the start and the end of the verify (something was written).
    pub writes_seen: bool,
}

/// A schema selected for comparison that some nodes lack.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingSchema {
    pub schema: String,
    pub present_on: Vec<String>,
    pub missing_on: Vec<String>,
}

/// How a table compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableStatus {
    Equal,
    Differs,
    /// Missing on some node (or, for a `--table` filter, on every node).
    Missing,
    /// A node could not checksum it.
    Error,
}

impl TableStatus {
    pub fn word(self) -> &'static str {
        match self {
            TableStatus::Equal => "equal",
            TableStatus::Differs => "DIFFERS",
            TableStatus::Missing => "MISSING",
            TableStatus::Error => "ERROR",
        }
    }
}

/// One table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableReport {
    pub schema: String,
    pub table: String,
    pub status: TableStatus,
    /// Per reachable node, in config order.
    pub nodes: Vec<NodeTable>,
    /// The key the rows were compared on, when they were: the chunk column (`id`), or every
    /// primary key column (`(a, k)`) for a table compared by key tuples.
    pub key: Option<String>,
    /// Key ranges compared in pass 2 (0 when it did not run).
    pub chunks_compared: u64,
    /// Why chunks were not computed, or a remark on them.
    pub note: Option<String>,
    /// The differing key ranges.
    pub chunks: Vec<ChunkReport>,
    /// Differing rows of a table compared by key tuples (a composite or non-integer primary key):
    /// it has no chunks.
    #[serde(default)]
    pub rows: Vec<RowReport>,
    /// Why those rows are not (all) listed.
    #[serde(default)]
    pub rows_note: Option<String>,
}

impl TableReport {
    pub fn name(&self) -> String {
        format!("{}.{}", self.schema, self.table)
    }

    /// Every differing row found, from chunks and from the comparison by key tuples.
    pub fn differing_rows(&self) -> impl Iterator<Item = &RowReport> {
        self.chunks.iter().flat_map(|c| c.rows.iter()).chain(self.rows.iter())
    }

    /// Whether every differing row was found (no chunk or table note says some are not listed,
    /// and the rows were compared at all).
    pub fn rows_complete(&self) -> bool {
        (self.chunks_compared > 0 || self.key.is_some())
            && self.rows_note.is_none()
            && self.chunks.iter().all(|c| c.rows_note.is_none())
    }
}

/// A table on one node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeTable {
    pub node: String,
    pub present: bool,
    /// `CHECKSUM TABLE`.
    pub checksum: Option<u64>,
    /// Rows counted in pass 2.
    pub rows: Option<u64>,
    pub error: Option<String>,
}

/// A key range that differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkReport {
    pub lo: i128,
    pub hi: i128,
    pub nodes: Vec<ChunkNode>,
    /// Keys that are missing on some node or differ (found for ranges of at most about 50 rows,
    /// splitting larger ones).
    pub rows: Vec<RowReport>,
    /// Why rows are not (all) listed.
    pub rows_note: Option<String>,
}

/// A key range on one node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkNode {
    pub node: String,
    pub rows: Option<u64>,
    /// XOR of the CRC32 of every row's image.
    pub checksum: Option<u64>,
    pub error: Option<String>,
}

/// A row's state on one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowState {
    /// Present with the value most nodes have.
    Has,
    /// Present with another value.
    Differs,
    Missing,
    /// The node did not answer.
    Unknown,
}

/// One differing row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowReport {
    pub key: Key,
    pub nodes: Vec<RowNode>,
    /// `app.posts id 200001: node1 has it, node2 differs, node3 missing`.
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowNode {
    pub node: String,
    pub state: RowState,
    pub crc: Option<u64>,
}

impl Report {
    /// Every node answered and every schema and table is present and equal everywhere.
    pub fn all_equal(&self) -> bool {
        self.error.is_none()
            && self.nodes.iter().all(|n| n.reachable)
            && self.missing_schemas.is_empty()
            && self.tables.iter().all(|t| t.status == TableStatus::Equal)
    }

    /// Tables equal on every node (`db.table`), and whether everything was; nothing when a node
    /// could not be reached (what it holds is unknown).
    pub fn equal_tables(&self) -> (Vec<String>, bool) {
        if self.error.is_some() || !self.nodes.iter().all(|n| n.reachable) {
            return (Vec::new(), false);
        }
        let eq = self.tables.iter().filter(|t| t.status == TableStatus::Equal).map(TableReport::name).collect();
        (eq, self.equal)
    }

    /// The tables that are not equal.
    pub fn differing(&self) -> impl Iterator<Item = &TableReport> {
        self.tables.iter().filter(|t| t.status != TableStatus::Equal)
    }

    /// A report for a verify that could not run.
    pub fn failed(error: String, chunk_size: u64) -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            equal: false,
            exit_code: 1,
            summary: error.clone(),
            error: Some(error),
            reliable: false,
            note: MEANINGFUL_WHEN.into(),
            warnings: Vec::new(),
            chunk_size,
            elapsed_ms: 0,
            schemas: Vec::new(),
            nodes: Vec::new(),
            missing_schemas: Vec::new(),
            tables: Vec::new(),
        }
    }

    /// Sets `equal`, `exit_code`, `reliable` and `summary` from the findings, and puts differing
    /// tables first.
    pub fn finish(&mut self) {
        self.tables.sort_by_key(|t| (t.status == TableStatus::Equal, t.schema.clone(), t.table.clone()));
        self.equal = self.all_equal();
        self.exit_code = if self.equal { 0 } else { 1 };
        self.reliable = self.error.is_none()
            && self.nodes.iter().all(|n| n.reachable && n.caught_up && !n.writes_seen)
            && !self.nodes.is_empty();
        self.summary = summary(self);
    }
}

fn summary(r: &Report) -> String {
    if let Some(e) = &r.error {
        return e.clone();
    }
    let n = r.tables.len();
    let down: Vec<&str> = r.nodes.iter().filter(|n| !n.reachable).map(|n| n.name.as_str()).collect();
    let bad: Vec<String> = r.differing().map(TableReport::name).collect();
    let mut parts = Vec::new();
    if r.equal {
        parts.push(format!("all equal: {n} table(s) in {} schema(s) on {} node(s)", r.schemas.len(), r.nodes.len()));
    } else {
        if !bad.is_empty() {
            let shown: Vec<&str> = bad.iter().take(5).map(String::as_str).collect();
            let more = if bad.len() > 5 { format!(" (+{} more)", bad.len() - 5) } else { String::new() };
            parts.push(format!("{} of {n} table(s) not equal: {}{more}", bad.len(), shown.join(", ")));
        }
        if !r.missing_schemas.is_empty() {
            let names: Vec<&str> = r.missing_schemas.iter().map(|m| m.schema.as_str()).collect();
            parts.push(format!("schema(s) missing on some node: {}", names.join(", ")));
        }
        if !down.is_empty() {
            parts.push(format!("not compared on {} (unreachable)", down.join(", ")));
        }
        if parts.is_empty() {
            parts.push("not equal".into());
        }
    }
    parts.join("; ")
}
