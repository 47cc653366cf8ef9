//! Runbook steps: planning a step from the config and the last samples (pure), checking its
//! preconditions live, executing it on a dedicated connection with timeouts off the UI task,
//! post-checking, and appending every executed step to the audit log. HAProxy server steps
//! (drain, maint, ready, weight) go through the admin socket instead (`haproxy`); kill query /
//! kill connection live in `kill`.

pub mod audit;
pub mod bypass;
pub mod changemaster;
pub mod engine;
pub mod explain;
mod forkrec;
pub mod haproxy;
pub mod kill;
pub mod plan;
pub mod refusal;
pub mod step;
pub mod vocab;

pub use audit::{AuditLog, AuditRecord};
pub use engine::{EngineCtx, check_preconditions, execute};
pub use plan::{DEFAULT_SKIP_ERRNOS, DEFAULT_SKIP_LIMIT, plan};
pub use refusal::{ReadOnly, ReadOnlyBy};
pub use step::{Condition, Danger, Outcome, Progress, ServerOp, Step, StepAction, Threads};
pub use vocab::StepName;
