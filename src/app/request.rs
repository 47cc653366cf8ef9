//! What the state asks the console loop to do (the loop owns the network and the runtime): plan a
//! step, check its preconditions, execute it, verify, inspect, repair, poll now.

use crate::runbook::{Step, StepAction};

/// What the state asks the loop to do (the loop owns the network and the runtime).
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// Plan this action on this node (pure) and open its confirm dialog.
    Plan { action: StepAction, node: String },
    /// Check the step's preconditions live and report them to the dialog `id`.
    CheckPreconditions { id: u64, step: Step },
    /// Execute a confirmed step, reporting progress for `id`.
    Execute { id: u64, step: Step },
    /// Poll every node and HAProxy now (after a step changed something).
    RefreshNodes,
    /// Open the recovery wizard: the saved one, or a new rebuild planned from the samples.
    OpenWizard,
    /// Something the wizard asked for.
    Wizard(super::wizard::WizardRequest),
    /// Run a verify (read-only), reporting progress and the result for `id`.
    Verify { id: u64, opts: crate::verify::VerifyOpts },
    /// EXPLAIN a running SELECT (thread `id` on `node`, default database `db`) for the drill-in.
    Explain { node: String, id: u64, db: String, sql: String },
    /// Read the forked-data records again (after a skip, a verify or a repair).
    ReloadForks,
    /// Inspect `node`'s stopped SQL thread for the inspector `id` (reads only).
    Inspect { id: u64, node: String },
    /// Plan a resolution of inspection `id`.
    PlanResolution { id: u64, keep: crate::inspect::resolve::Keep, ins: Box<crate::inspect::conflict::Inspection> },
    /// Run a resolution, reporting as `id`.
    RunResolution { id: u64, res: Box<crate::inspect::resolve::Resolution> },
    /// Plan the repair of the keys verify `id` found differing (reads only).
    PlanRepair { id: u64, report: Box<crate::verify::Report> },
    /// Run a confirmed repair, reporting as repair `id`.
    RunRepair { id: u64, plan: Box<crate::repair::Plan> },
}
