//! Runbook steps: planning a step from the config and the last samples (pure), checking its
//! preconditions live, executing it on a dedicated connection with timeouts off the UI task,
//! post-checking, and appending every executed step to the audit log. HAProxy server steps
//! (drain, maint, ready, weight) go through the admin socket instead (`haproxy`); kill query /
//! kill connection live in `kill`.

pub mod audit;
pub mod bypass;
pub mod changemaster;
pub mod ctx;
pub mod engine;
pub mod explain;
mod forkrec;
pub mod haproxy;
pub mod kill;
pub mod plan;
mod record;
pub mod refusal;
pub mod step;
pub mod vocab;

pub use audit::{AuditLog, AuditRecord};
pub use ctx::EngineCtx;
pub use plan::{DEFAULT_SKIP_ERRNOS, DEFAULT_SKIP_LIMIT};
pub use refusal::{ReadOnly, ReadOnlyBy};
pub use step::{Condition, Danger, Outcome, Progress, ServerOp, Step, StepAction, Threads};
pub use vocab::StepName;

/// Plans `action` on `node` (pure) with the planner of its kind: a node step, a bypass, a kill.
/// `statuses` are the last known samples by configured node name. `Err` says why it cannot be
/// planned at all. HAProxy server steps are planned by [`haproxy::plan`] from a stats sample.
pub fn plan(
    action: &StepAction,
    node: &str,
    cfg: &crate::config::Config,
    statuses: &[(&str, Option<&crate::model::replication::NodeStatus>)],
) -> Result<Step, String> {
    match action {
        StepAction::Bypass { .. } => bypass::plan(node, cfg, statuses),
        StepAction::Kill { .. } => kill::plan(action, node, cfg, statuses),
        StepAction::Recover { .. } => Err("recovery steps are planned by the recovery wizard".into()),
        StepAction::Repair { .. } | StepAction::ForgetFork { .. } => {
            Err("a repair is planned by ringdeck verify --repair (repair::prepare)".into())
        }
        _ if action.haproxy_target().is_some() => {
            Err("a HAProxy server step is planned by runbook::haproxy::plan".into())
        }
        _ => plan::plan_node(action, node, cfg, statuses),
    }
}

/// Checks a step's preconditions live, for the confirm dialog (never changes anything; an
/// unreachable target fails every condition with the reason).
pub async fn check_preconditions(step: &Step, ctx: &EngineCtx) -> Vec<Condition> {
    match step.action {
        _ if step.action.haproxy_target().is_some() => haproxy::check_preconditions(step, ctx).await,
        StepAction::Kill { .. } => kill::check_preconditions(step, ctx).await,
        _ => engine::check_preconditions(step, ctx).await,
    }
}

/// Executes a confirmed step with the executor of its kind, reporting on `progress` and ending
/// with `Progress::Finished`; read-only refuses it at once.
pub async fn execute(step: Step, ctx: &EngineCtx, progress: tokio::sync::mpsc::Sender<Progress>) -> Outcome {
    match step.action {
        _ if step.action.haproxy_target().is_some() => haproxy::execute(step, ctx, progress).await,
        StepAction::Kill { .. } => kill::execute(step, ctx, progress).await,
        _ => engine::execute(step, ctx, progress).await,
    }
}
