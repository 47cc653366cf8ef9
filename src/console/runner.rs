//! The console side of the runbook engine: plans steps for the state (pure), and runs live
//! precondition checks and confirmed steps as tasks off the UI task, sending what they report
//! back over a channel. After a step, every node and HAProxy collector polls at once.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::{Notify, mpsc};

use super::Message;
use crate::app::App;
use crate::app::request::Request;
use crate::app::wizard::{Wizard, WizardRequest};
use crate::config::Config;
use crate::recover::{self, RecoveryState};
use crate::runbook::{self, Condition, EngineCtx, Progress};

/// What a task the runner started reports to the loop (inside [`Message::Task`]).
#[derive(Debug)]
pub enum TaskEvent {
    /// Live preconditions for confirm dialog `id`.
    Live(u64, Vec<Condition>),
    /// Progress of running step `id`.
    Progress(u64, Progress),
    /// What the running wizard step reports.
    Recover(recover::Event),
    /// A progress line of verify `id`.
    VerifyProgress(u64, String),
    /// Verify `id` finished.
    VerifyDone(u64, Box<Result<crate::verify::Report, crate::verify::VerifyError>>),
    /// An EXPLAIN for the queries drill-in.
    Explain(Box<crate::app::queryview::Explain>),
    /// The inspection for inspector `id`.
    Inspected(u64, Box<Result<crate::inspect::conflict::Inspection, String>>),
    /// A resolution planned for inspector `id`.
    ResolutionPlanned(u64, Box<Result<crate::inspect::resolve::Resolution, String>>),
    /// A progress line of running resolution `id`.
    ResolutionProgress(u64, String),
    /// Resolution `id` finished.
    ResolutionDone(u64, Box<crate::inspect::resolve::Outcome>),
    /// A progress line of planning verify `id`'s repair.
    RepairPlanning(u64, String),
    /// The repair plan of verify `id`.
    RepairPlanned(u64, Box<Result<crate::repair::Plan, String>>),
    /// A progress line of running repair `id`.
    RepairProgress(u64, String),
    /// Repair `id` finished.
    RepairDone(u64, Box<crate::repair::Outcome>),
}

/// Performs the state's requests.
pub struct Runner {
    pub cfg: Arc<Config>,
    pub ctx: Arc<EngineCtx>,
    pub tx: mpsc::Sender<Message>,
    /// One per node collector in config order, then one per HAProxy collector.
    pub poll_now: Vec<Arc<Notify>>,
    /// The config file (names the wizard's saved state).
    pub config_path: PathBuf,
    /// Held while this console has the wizard open: one wizard at a time, across processes.
    wizard_lock: std::sync::Mutex<Option<recover::lock::WizardLock>>,
}

impl Runner {
    pub fn new(
        cfg: Arc<Config>,
        ctx: Arc<EngineCtx>,
        tx: mpsc::Sender<Message>,
        poll_now: Vec<Arc<Notify>>,
        config_path: &Path,
    ) -> Runner {
        Runner { cfg, ctx, tx, poll_now, config_path: config_path.to_path_buf(), wizard_lock: Default::default() }
    }

    fn state_path(&self) -> Option<PathBuf> {
        recover::state::state_path(&self.config_path)
    }

    fn previews(&self, st: &RecoveryState) -> Vec<Vec<String>> {
        crate::app::wizard::previews(&self.cfg, st)
    }

    /// Opens the saved wizard at start, if there is one: a crash or a quit resumes at its step.
    /// Also reads the forked-data records.
    pub fn resume_wizard(&self, app: &mut App) {
        app.data.set_forks(crate::fork::load_for(&self.cfg));
        let Some(path) = self.state_path() else { return };
        if !path.exists() {
            return;
        }
        if let Err(e) = self.lock_wizard(&path) {
            app.message = Some(e);
            return;
        }
        match recover::state::load(&path) {
            Ok(Some(st)) => {
                let previews = self.previews(&st);
                app.wizard = Some(Wizard::new(st, previews, None));
            }
            Ok(None) => {}
            Err(e) => app.message = Some(e),
        }
    }

    /// Takes the wizard's lock unless this console holds it already.
    fn lock_wizard(&self, state: &std::path::Path) -> Result<(), String> {
        let mut held = self.wizard_lock.lock().map_err(|_| "the wizard lock is poisoned".to_string())?;
        if held.is_none() {
            *held = Some(recover::lock::WizardLock::acquire(state)?);
        }
        Ok(())
    }

    fn open_wizard(&self, app: &mut App) {
        if let Some(path) = self.state_path()
            && let Err(e) = self.lock_wizard(&path)
        {
            app.message = Some(e);
            return;
        }
        match crate::app::wizard::open(&self.cfg, &self.config_path, &app.data.nodes) {
            Ok(w) => app.wizard = Some(w),
            Err(e) => app.message = Some(e),
        }
    }

    fn wizard_request(&self, app: &mut App, req: WizardRequest) {
        let Some(path) = self.state_path() else { return };
        match req {
            WizardRequest::Run(st) => {
                let mut rctx = match recover::Ctx::new(self.cfg.clone(), self.ctx.logins.clone(), path) {
                    Ok(c) => c,
                    Err(e) => {
                        app.message = Some(e);
                        return;
                    }
                };
                rctx.read_only = self.ctx.read_only;
                rctx.audit = self.ctx.audit.clone();
                if let Some(w) = &app.wizard {
                    rctx.accepted = w.accepted.clone();
                }
                let tx = self.tx.clone();
                let (etx, mut erx) = mpsc::unbounded_channel();
                tokio::spawn(async move {
                    while let Some(ev) = erx.recv().await {
                        if tx.send(TaskEvent::Recover(ev).into()).await.is_err() {
                            return;
                        }
                    }
                });
                tokio::spawn(async move {
                    let mut st = *st;
                    recover::run_next(&rctx, &mut st, &etx).await;
                });
            }
            WizardRequest::Abort(st) => {
                if let Err(e) = recover::exec::record_abort(&self.cfg, &st) {
                    app.message = Some(format!("the abort was not audited: {e}"));
                }
                if let Err(e) = recover::state::clear(&path) {
                    app.message = Some(e);
                }
            }
        }
    }

    /// Folds what a task reported into the state. Returns whether the screen must be redrawn.
    pub fn apply(&self, app: &mut App, ev: TaskEvent) -> bool {
        match ev {
            TaskEvent::Live(id, live) => app.live_preconditions(id, live),
            TaskEvent::Progress(id, p) => app.progress(id, p),
            TaskEvent::Recover(ev) => app.wizard_event(ev, |st| self.previews(st)),
            TaskEvent::VerifyProgress(id, line) => app.verify_progress(id, line),
            TaskEvent::VerifyDone(id, result) => app.verify_done(id, *result),
            TaskEvent::Explain(e) => app.explained(*e),
            TaskEvent::Inspected(id, r) => app.inspected(id, *r),
            TaskEvent::ResolutionPlanned(id, r) => app.resolution_planned(id, *r),
            TaskEvent::ResolutionProgress(id, line) => app.resolution_event(id, Some(line), None),
            TaskEvent::ResolutionDone(id, o) => app.resolution_event(id, None, Some(*o)),
            TaskEvent::RepairPlanning(id, line) => app.repair_planning(id, line),
            TaskEvent::RepairPlanned(id, plan) => app.repair_planned(id, *plan),
            TaskEvent::RepairProgress(id, line) => app.repair_event(id, Some(line), None),
            TaskEvent::RepairDone(id, o) => app.repair_event(id, None, Some(*o)),
        }
    }

    /// Takes every pending request off the state and performs it (planning may add more).
    /// Without a wizard open, its lock is let go.
    pub fn perform(&self, app: &mut App) {
        while !app.requests.is_empty() {
            self.perform_batch(app);
        }
        if app.wizard.is_none()
            && let Ok(mut held) = self.wizard_lock.lock()
        {
            held.take();
        }
    }

    // Long on purpose: one match arm per kind of request, each a few lines.

    fn perform_batch(&self, app: &mut App) {
        for req in std::mem::take(&mut app.requests) {
            match req {
                Request::Plan { action, node } if action.haproxy_target().is_some() => {
                    // Planned from the instance's last stats sample (is the server there, is it
                    // the last one serving).
                    let rows = app.data.haproxies.iter().find(|t| t.name == node).and_then(|t| t.last.as_ref());
                    match runbook::haproxy::plan(&action, &self.cfg, rows.map(|s| s.rows.as_slice())) {
                        Ok(step) => app.open_confirm(step),
                        Err(e) => app.message = Some(e),
                    }
                }
                Request::Plan { action, node } => {
                    let statuses: Vec<(&str, Option<&crate::model::replication::NodeStatus>)> =
                        app.data.nodes.iter().map(|t| (t.name.as_str(), t.last.as_ref())).collect();
                    match runbook::plan(&action, &node, &self.cfg, &statuses) {
                        Ok(step) => app.open_confirm(step),
                        Err(e) => app.message = Some(e),
                    }
                }
                Request::CheckPreconditions { id, step } => {
                    let (ctx, tx) = (self.ctx.clone(), self.tx.clone());
                    tokio::spawn(async move {
                        let live = runbook::check_preconditions(&step, &ctx).await;
                        let _ = tx.send(TaskEvent::Live(id, live).into()).await;
                    });
                }
                Request::Execute { id, step } => {
                    let (ctx, tx) = (self.ctx.clone(), self.tx.clone());
                    let (ptx, mut prx) = mpsc::channel(64);
                    let forward = tx.clone();
                    tokio::spawn(async move {
                        while let Some(p) = prx.recv().await {
                            if forward.send(TaskEvent::Progress(id, p).into()).await.is_err() {
                                return;
                            }
                        }
                    });
                    tokio::spawn(async move {
                        runbook::execute(step, &ctx, ptx).await;
                    });
                }
                Request::RefreshNodes => self.poll_now.iter().for_each(|n| n.notify_one()),
                Request::OpenWizard => self.open_wizard(app),
                Request::Wizard(req) => self.wizard_request(app, req),
                Request::Explain { node, id, db, sql } => {
                    let (ctx, tx) = (self.ctx.clone(), self.tx.clone());
                    tokio::spawn(async move {
                        let result = crate::runbook::explain::explain(&ctx, &node, &db, &sql).await;
                        let key = crate::app::queryview::QueryKey { node, id };
                        let e = crate::app::queryview::Explain { key, statement: sql, result };
                        let _ = tx.send(TaskEvent::Explain(Box::new(e)).into()).await;
                    });
                }
                Request::ReloadForks => app.data.set_forks(crate::fork::load_for(&self.cfg)),
                Request::Inspect { id, node } => {
                    let (cfg, logins, tx) = (self.cfg.clone(), self.ctx.logins.clone(), self.tx.clone());
                    tokio::spawn(async move {
                        let r = crate::inspect::conflict::inspect(&cfg, &logins, &node, cfg.timeout.0).await;
                        let _ = tx.send(TaskEvent::Inspected(id, Box::new(r)).into()).await;
                    });
                }
                Request::PlanResolution { id, keep, ins } => {
                    let (cfg, logins, tx) = (self.cfg.clone(), self.ctx.logins.clone(), self.tx.clone());
                    tokio::spawn(async move {
                        let r = crate::inspect::resolve::prepare(&cfg, &logins, &ins, keep).await;
                        let _ = tx.send(TaskEvent::ResolutionPlanned(id, Box::new(r)).into()).await;
                    });
                }
                Request::RunResolution { id, res } => {
                    let ctx = self.ctx.clone();
                    self.spawn_reporting(
                        move |l| TaskEvent::ResolutionProgress(id, l),
                        |p| async move { crate::inspect::resolve::apply(&res, &ctx, Some(p)).await },
                        move |o| TaskEvent::ResolutionDone(id, Box::new(o)),
                    );
                }
                Request::PlanRepair { id, report } => {
                    let (cfg, logins) = (self.cfg.clone(), self.ctx.logins.clone());
                    let plan = |p| async move {
                        let forks = crate::fork::load_for(&cfg)?;
                        let (prefer, max) = (crate::repair::Prefer::Default, crate::repair::DEFAULT_MAX_ROWS);
                        crate::repair::prepare(&cfg, &logins, &report, &prefer, max, &forks, Some(p)).await
                    };
                    self.spawn_reporting(
                        move |l| TaskEvent::RepairPlanning(id, l),
                        plan,
                        move |plan| TaskEvent::RepairPlanned(id, Box::new(plan)),
                    );
                }
                Request::RunRepair { id, plan } => {
                    let ctx = self.ctx.clone();
                    self.spawn_reporting(
                        move |l| TaskEvent::RepairProgress(id, l),
                        |p| async move { crate::repair::apply(&plan, &ctx, Some(p)).await },
                        move |o| TaskEvent::RepairDone(id, Box::new(o)),
                    );
                }
                Request::Verify { id, opts } => {
                    let (cfg, logins) = (self.cfg.clone(), self.ctx.logins.clone());
                    let verify = |p| async move {
                        let result = crate::verify::verify(&cfg, &logins, &opts, Some(p)).await;
                        if let Ok(r) = &result {
                            let (eq, all) = r.equal_tables();
                            let c = cfg.clone();
                            let _ = tokio::task::spawn_blocking(move || crate::fork::settle_after_verify(&c, &eq, all))
                                .await;
                        }
                        result
                    };
                    self.spawn_reporting(
                        move |l| TaskEvent::VerifyProgress(id, l),
                        verify,
                        move |r| TaskEvent::VerifyDone(id, Box::new(r)),
                    );
                }
            }
        }
    }

    /// Runs `work` as a task: every progress line it sends comes to the loop as `line(l)`, then
    /// its result as `done(result)`. The progress sender goes with `work`, so every line is
    /// forwarded before the result.
    fn spawn_reporting<T, W, F>(
        &self,
        line: impl Fn(String) -> TaskEvent + Send + Sync + 'static,
        work: W,
        done: impl FnOnce(T) -> TaskEvent + Send + 'static,
    ) where
        T: Send + 'static,
        W: FnOnce(mpsc::UnboundedSender<String>) -> F + Send + 'static,
        F: std::future::Future<Output = T> + Send + 'static,
    {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let (ptx, mut prx) = mpsc::unbounded_channel();
            let forward = async {
                while let Some(l) = prx.recv().await {
                    let _ = tx.send(line(l).into()).await;
                }
            };
            let (result, ()) = tokio::join!(work(ptx), forward);
            let _ = tx.send(done(result).into()).await;
        });
    }
}
