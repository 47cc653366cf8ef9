//! A runbook step as a value: what it does, on which node, the exact statements in the node's
//! dialect, what must hold before (checked live right before it runs) and after, and how
//! dangerous it is. The console shows a step in its confirm dialog; only a confirmed step runs.
//! A step's target is a node, or (`StepAction::HaproxyServer`) a server of a HAProxy instance,
//! changed with commands on that instance's admin socket.

use serde::{Deserialize, Serialize};

/// Which replication threads a stop affects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Threads {
    Both,
    Io,
    Sql,
}

/// An action the operator can take on one node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum StepAction {
    StopSlave {
        threads: Threads,
    },
    StartSlave,
    /// Skip `count` events; refused unless the SQL thread stopped on an error.
    Skip {
        count: u32,
    },
    /// Skip one event, wait, re-check, up to `limit` times, only while the error is one of `errnos`.
    SkipUntilHealthy {
        errnos: Vec<u32>,
        limit: u32,
    },
    ResetMaster,
    ResetSlaveAll,
    /// Point the node at `upstream` (a configured node) at `file:pos` (prefilled from the model).
    ChangeMaster {
        upstream: String,
        file: String,
        pos: u64,
    },
    ReadOnly {
        on: bool,
    },
    /// Seed 001's "restore around a failed node": the failed node's downstream (where the step
    /// runs) is pointed at the failed node's upstream at the coordinates the failed node had
    /// executed, so the remaining nodes form a ring.
    Bypass {
        failed: String,
        upstream: String,
        file: String,
        pos: u64,
    },
    /// A step of the recovery wizard (for the audit log; planned by `recover`, not here).
    Recover {
        step: u8,
        name: String,
    },
    /// A server of the HAProxy instance `haproxy` (its `[[haproxy]]` name): drain, maintenance,
    /// ready or a weight, set on its admin socket.
    HaproxyServer {
        haproxy: String,
        /// `backend/server`.
        server: String,
        op: ServerOp,
    },
    /// `KILL QUERY id` (`connection: false`) or `KILL CONNECTION id` on the node; `statement` is
    /// the thread's statement when planned (whitespace normalised, cut), for the dialog and audit.
    Kill {
        id: u64,
        connection: bool,
        #[serde(default)]
        statement: String,
    },
    /// A row repair on the node (`sql_log_bin = 0`): every key it changed and how
    /// (`app.posts id 100001 update`).
    Repair {
        keys: Vec<String>,
    },
    /// A forked-data record removed by hand (`ringdeck run forget --fork ID`).
    ForgetFork {
        id: String,
    },
}

/// What a HAProxy server step sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerOp {
    /// `set server B/S state ready`
    Ready,
    /// `set server B/S state drain`
    Drain,
    /// `set server B/S state maint`
    Maint,
    /// `set weight B/S N`
    Weight(u32),
}

impl ServerOp {
    pub fn name(self) -> &'static str {
        match self {
            ServerOp::Ready => "ready",
            ServerOp::Drain => "drain",
            ServerOp::Maint => "maint",
            ServerOp::Weight(_) => "weight",
        }
    }
}

impl StepAction {
    /// For a HAProxy server step: (instance, `backend/server`, op).
    pub fn haproxy_target(&self) -> Option<(&str, &str, ServerOp)> {
        match self {
            StepAction::HaproxyServer { haproxy, server, op } => Some((haproxy, server, *op)),
            _ => None,
        }
    }
}

/// How much confirmation a step needs. Cancel is always the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Danger {
    /// Harmless to repeat (start slave, read_only on): a plain confirm.
    Low,
    /// Changes what replicates (stop, skip, read_only off): a plain confirm with the warning.
    Medium,
    /// Destroys coordinates or history (reset master, reset slave all, change master): the
    /// operator types the node's name.
    TypeNodeName,
}

/// One condition, with its result once checked (`None`: not checked yet).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    pub what: String,
    pub ok: Option<bool>,
    /// What was seen, e.g. `Slave_SQL_Running = No, Last_SQL_Errno = 1062`.
    pub seen: String,
}

/// A planned step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub action: StepAction,
    /// The configured node it runs on (a HAProxy step: the `[[haproxy]]` instance).
    pub node: String,
    /// One line: `skip 1 event on node2`.
    pub title: String,
    /// The exact statements, in order, in the node's dialect (secrets shown as `***`); for a
    /// HAProxy step the exact admin socket commands.
    pub statements: Vec<String>,
    pub preconditions: Vec<Condition>,
    /// What should hold afterwards, checked after the statements ran.
    pub postconditions: Vec<Condition>,
    /// The expected effect, for the confirm dialog.
    pub effect: String,
    /// What the operator must know first (e.g. what a skip loses in a ring).
    pub warnings: Vec<String>,
    pub danger: Danger,
}

/// What a running step reports, in order, ending with `Finished`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Progress {
    /// Preconditions checked live (all must be ok to go on).
    Preconditions(Vec<Condition>),
    /// About to run this statement.
    Statement(String),
    /// Something worth showing (a skipped event with its error, a wait).
    Note(String),
    Postconditions(Vec<Condition>),
    Finished(Outcome),
}

/// How a step ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub ok: bool,
    pub summary: String,
    /// Whether the audit record was written (a step whose record could not be written says so).
    pub audited: bool,
}
