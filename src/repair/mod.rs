//! Ring-aware row repair. After a verify lists the keys whose rows differ between nodes, a repair
//! picks one version per key (a node's row, or "absent") and writes it on every node that holds
//! another, on a dedicated connection per node with `SET SESSION sql_log_bin = 0`, so no repair
//! statement travels around the ring and collides with itself (what a per-link tool such as
//! pt-table-sync does in a ring). One transaction per node per chunk of keys; each row is
//! re-read `FOR UPDATE` and written only if it is still what the plan saw. Afterwards every
//! repaired key is compared again on every node.
//!
//! [`prepare`] plans (it only reads), [`apply`] runs a plan; `ringdeck verify --repair` is in
//! [`cli`], the console's verify overlay uses both.

pub mod apply;
pub mod plan;
pub mod prepare;
pub mod sql;

pub use apply::{KeyResult, Outcome, apply};
pub use plan::{DEFAULT_MAX_ROWS, Plan};
pub use prepare::prepare;

/// Which version each differing key ends with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Prefer {
    /// The most complete node's (the ring model's choice) when there is one; else, for a
    /// recorded fork's key, the version of the node the skipped event came from; else the
    /// majority.
    #[default]
    Default,
    /// This node's version (its row, or absent when it has none).
    Node(String),
    /// The version most nodes hold.
    Majority,
}

impl Prefer {
    /// `--prefer NODE` or `--prefer majority`.
    pub fn parse(s: &str) -> Prefer {
        if s.eq_ignore_ascii_case("majority") { Prefer::Majority } else { Prefer::Node(s.to_string()) }
    }
}
