//! The console side of the runbook engine: plans steps for the state (pure), and runs live
//! precondition checks and confirmed steps as tasks off the UI task, sending what they report
//! back over a channel. After a step, every node and HAProxy collector polls at once.

use std::sync::Arc;

use tokio::sync::{Notify, mpsc};

use super::App;
use super::state::Request;
use crate::config::Config;
use crate::runbook::{self, Condition, EngineCtx, Progress};

/// What a runbook task reports to the loop.
#[derive(Debug)]
pub enum RunbookEvent {
    /// Live preconditions for confirm dialog `id`.
    Live(u64, Vec<Condition>),
    /// Progress of running step `id`.
    Progress(u64, Progress),
}

/// Performs the state's requests.
pub struct Runner {
    pub cfg: Arc<Config>,
    pub ctx: Arc<EngineCtx>,
    pub tx: mpsc::Sender<RunbookEvent>,
    /// One per node collector in config order, then one per HAProxy collector.
    pub poll_now: Vec<Arc<Notify>>,
}

impl Runner {
    /// Takes every pending request off the state and performs it (planning may add more).
    pub fn perform(&self, app: &mut App) {
        while !app.requests.is_empty() {
            self.perform_batch(app);
        }
    }

    fn perform_batch(&self, app: &mut App) {
        for req in std::mem::take(&mut app.requests) {
            match req {
                Request::Plan { action, node } if action.haproxy_target().is_some() => {
                    // Planned from the instance's last stats sample (is the server there, is it
                    // the last one serving).
                    let rows = app.haproxies.iter().find(|t| t.name == node).and_then(|t| t.last.as_ref());
                    match runbook::haproxy::plan(&action, &self.cfg, rows.map(|s| s.rows.as_slice())) {
                        Ok(step) => app.open_confirm(step),
                        Err(e) => app.message = Some(e),
                    }
                }
                Request::Plan { action, node } => {
                    let statuses: Vec<(&str, Option<&crate::model::replication::NodeStatus>)> =
                        app.nodes.iter().map(|t| (t.name.as_str(), t.last.as_ref())).collect();
                    match runbook::plan(&action, &node, &self.cfg, &statuses) {
                        Ok(step) => app.open_confirm(step),
                        Err(e) => app.message = Some(e),
                    }
                }
                Request::CheckPreconditions { id, step } => {
                    let (ctx, tx) = (self.ctx.clone(), self.tx.clone());
                    tokio::spawn(async move {
                        let live = runbook::check_preconditions(&step, &ctx).await;
                        let _ = tx.send(RunbookEvent::Live(id, live)).await;
                    });
                }
                Request::Execute { id, step } => {
                    let (ctx, tx) = (self.ctx.clone(), self.tx.clone());
                    let (ptx, mut prx) = mpsc::channel(64);
                    let forward = tx.clone();
                    tokio::spawn(async move {
                        while let Some(p) = prx.recv().await {
                            if forward.send(RunbookEvent::Progress(id, p)).await.is_err() {
                                return;
                            }
                        }
                    });
                    tokio::spawn(async move {
                        runbook::execute(step, &ctx, ptx).await;
                    });
                }
                Request::RefreshNodes => self.poll_now.iter().for_each(|n| n.notify_one()),
            }
        }
    }
}

/// Applies a runbook event to the state.
pub fn apply(app: &mut App, ev: RunbookEvent) -> bool {
    match ev {
        RunbookEvent::Live(id, live) => app.live_preconditions(id, live),
        RunbookEvent::Progress(id, p) => app.progress(id, p),
    }
}
