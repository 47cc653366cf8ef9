//! The console side of the runbook engine: plans steps for the state (pure), and runs live
//! precondition checks and confirmed steps as tasks off the UI task, sending what they report
//! back over a channel. After a step, every node collector polls at once.

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
    /// A progress line of verify `id`.
    VerifyProgress(u64, String),
    /// Verify `id` finished.
    VerifyDone(u64, Box<Result<crate::verify::Report, String>>),
}

/// Performs the state's requests.
pub struct Runner {
    pub cfg: Arc<Config>,
    pub ctx: Arc<EngineCtx>,
    pub tx: mpsc::Sender<RunbookEvent>,
    /// One per node collector, in config order.
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
                Request::Verify { id, opts } => {
                    let (cfg, logins, tx) = (self.cfg.clone(), self.ctx.logins.clone(), self.tx.clone());
                    tokio::spawn(async move {
                        let (ptx, mut prx) = mpsc::unbounded_channel();
                        let forward = async {
                            while let Some(line) = prx.recv().await {
                                let _ = tx.send(RunbookEvent::VerifyProgress(id, line)).await;
                            }
                        };
                        // The progress sender goes with `verify`, so every line is forwarded
                        // before the result is sent.
                        let (result, ()) =
                            tokio::join!(crate::verify::verify(&cfg, &logins, &opts, Some(ptx)), forward);
                        let _ = tx.send(RunbookEvent::VerifyDone(id, Box::new(result))).await;
                    });
                }
            }
        }
    }
}

/// Applies a runbook event to the state.
pub fn apply(app: &mut App, ev: RunbookEvent) -> bool {
    match ev {
        RunbookEvent::Live(id, live) => app.live_preconditions(id, live),
        RunbookEvent::Progress(id, p) => app.progress(id, p),
        RunbookEvent::VerifyProgress(id, line) => app.verify_progress(id, line),
        RunbookEvent::VerifyDone(id, result) => app.verify_done(id, *result),
    }
}
