//! The console's state, owned by the UI task: every target's last good sample, its error and age,
//! time series, focus and selection. `apply` folds collector updates in; nothing here does I/O.

use std::time::{Duration, Instant};

use super::action::{Action, Pane, StepKey};
use super::dialog::{self, Command, CommandLine, Confirm, Dialog, DialogOutcome, Running};
use super::hapview::{self, HaproxyView};
use super::queryview::QueriesView;
use crate::collect::{Payload, PollError, ProbeSample, TargetId, Update};
use crate::config::Config;
use crate::model::apache::{ApacheStatus, Counters, RateStep, Rates, rate_step};
use crate::model::haproxy::HaproxyStats;
use crate::model::replication::NodeStatus;
use crate::model::series::Series;
use crate::model::topology::{NodeInput, NodeState, Thresholds, Topology};
use crate::runbook::{Condition, Progress, Step, StepAction, Threads};

/// How fresh a target's data is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Not polled yet.
    Unknown,
    Up,
    /// No answer for longer than two intervals, or the last poll failed in a way the next poll may
    /// not (a timeout, a reset): the data shown is old.
    Stale,
    /// The last poll failed with a hard fact (refused, login denied, unreadable answer), or two
    /// polls in a row failed.
    Down,
}

/// One polled target.
#[derive(Clone, Debug)]
pub struct Target<T> {
    pub name: String,
    /// Where it is (host:port or URL), for the screen.
    pub address: String,
    pub last: Option<T>,
    /// The good sample before `last`, when both came from consecutive polls (for findings that
    /// need two samples to agree, such as lag).
    pub prev: Option<T>,
    pub last_ok: Option<Instant>,
    pub error: Option<String>,
    /// Polls in a row that failed (0 while it answers).
    pub failures: u32,
    /// Whether the last failure may pass by the next poll (a timeout, a reset).
    pub transient: bool,
    pub updated: Option<Instant>,
}

impl<T> Target<T> {
    pub fn new(name: impl Into<String>, address: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            address: address.into(),
            last: None,
            prev: None,
            last_ok: None,
            error: None,
            failures: 0,
            transient: false,
            updated: None,
        }
    }

    pub fn health(&self, now: Instant, stale_after: Duration) -> Health {
        let Some(updated) = self.updated else { return Health::Unknown };
        if self.error.is_some() {
            // One transient failure of a target that had answered: stale (old data, retrying);
            // a hard fact, or the second failure in a row: down.
            return match (self.transient && self.failures < 2, self.last_ok) {
                (true, Some(_)) => Health::Stale,
                (true, None) => Health::Unknown,
                (false, _) => Health::Down,
            };
        }
        if now.saturating_duration_since(updated) > stale_after { Health::Stale } else { Health::Up }
    }

    fn record(&mut self, at: Instant, value: Result<T, PollError>) {
        self.updated = Some(at);
        match value {
            Ok(v) => {
                let consecutive = self.failures == 0;
                let before = self.last.replace(v);
                self.prev = if consecutive { before } else { None };
                self.last_ok = Some(at);
                self.error = None;
                self.failures = 0;
                self.transient = false;
            }
            Err(e) => {
                self.prev = None;
                self.error = Some(e.message);
                self.failures = self.failures.saturating_add(1);
                self.transient = e.transient;
            }
        }
    }

    /// Seconds since the last good sample.
    pub fn age(&self, now: Instant) -> Option<Duration> {
        self.last_ok.map(|t| now.saturating_duration_since(t))
    }
}

/// Apache with its derived rates.
#[derive(Clone, Debug)]
pub struct ApacheTarget {
    pub target: Target<ApacheStatus>,
    /// Requests/s and bytes/s from counter deltas; `None` until two samples, or after a restart.
    pub rates: Option<Rates>,
    /// The reading the next rates are computed from.
    pub base: Option<Counters>,
    pub busy: Series,
}

/// A probe with its series of round trips in milliseconds (gaps for failures).
#[derive(Clone, Debug)]
pub struct ProbeTarget {
    pub target: Target<ProbeSample>,
    pub series: Series,
    /// Per sample of `series`, whether its first try was sent again on a new connection.
    pub retried: std::collections::VecDeque<bool>,
    /// When the latest retry happened and why.
    pub last_retry: Option<(Instant, String)>,
    pub warn_ms: f64,
    pub crit_ms: f64,
}

/// How many samples each series keeps (enough for a very wide terminal).
pub const SERIES_LEN: usize = 600;

/// The whole console state.
#[derive(Clone, Debug)]
pub struct App {
    pub nodes: Vec<Target<NodeStatus>>,
    pub node_lag: Vec<Series>,
    pub haproxies: Vec<Target<HaproxyStats>>,
    /// Sort, filter and selection of the HAProxy pane.
    pub hap: HaproxyView,
    /// Filter, selection and drill-in of the slow queries pane.
    pub queries: QueriesView,
    pub apaches: Vec<ApacheTarget>,
    pub probes: Vec<ProbeTarget>,
    pub interval: Duration,
    pub read_only: bool,
    pub focus: Pane,
    pub zoom: bool,
    pub show_help: bool,
    /// Selected row per pane (by `Pane::index`).
    pub selected: [usize; 5],
    pub quit: bool,
    /// Quit once no write is in flight (the operator chose "quit when it ends").
    pub quit_when_done: bool,
    /// Config file shown in the title bar.
    pub source: String,
    /// The help overlay's `(keys, description)` lines, from the keymap in use.
    pub help: Vec<(String, String)>,
    /// The status bar's key hints, from the keymap in use.
    pub hints: crate::app::keymap::StatusHints,
    /// The open dialog, if any: it gets every key.
    pub dialog: Option<Dialog>,
    /// A confirmed step whose dialog was hidden while it runs.
    pub background: Option<Running>,
    /// A one-line message for the status bar (cleared by the next key).
    pub message: Option<String>,
    /// Work for the loop: planning, live checks, executing steps, refreshing.
    pub requests: Vec<Request>,
    /// The ring recovery wizard, once opened (or resumed from its saved state).
    pub wizard: Option<super::wizard::Wizard>,
    /// A verify running, or its result waiting to be shown.
    pub verify: super::verify::VerifyRun,
    /// The terminal's `(width, height)` as last seen by the loop (`(0, 0)` before), for scrolling.
    pub screen: (u16, u16),
    /// The forked-data records of this ring (a skip that left the data unequal), or why they
    /// cannot be read: either way the ring is not called healthy.
    pub forks: Result<Vec<crate::fork::Fork>, String>,
    pub(crate) next_id: u64,
}

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

impl App {
    pub fn new(cfg: &Config, source: impl Into<String>) -> App {
        App {
            nodes: cfg.nodes.iter().map(|n| Target::new(n.name(), n.address())).collect(),
            node_lag: cfg.nodes.iter().map(|_| Series::new(SERIES_LEN)).collect(),
            haproxies: cfg
                .haproxies
                .iter()
                .map(|h| {
                    let addr = h.stats_url.clone().or_else(|| h.socket.as_ref().map(|s| s.display().to_string()));
                    Target::new(h.name.get_ref(), addr.unwrap_or_default())
                })
                .collect(),
            hap: HaproxyView::default(),
            queries: QueriesView::default(),
            apaches: cfg
                .apaches
                .iter()
                .map(|a| ApacheTarget {
                    target: Target::new(a.name.get_ref(), &a.status_url),
                    rates: None,
                    base: None,
                    busy: Series::new(SERIES_LEN),
                })
                .collect(),
            probes: cfg
                .effective_probes()
                .iter()
                .map(|p| ProbeTarget {
                    target: Target::new(
                        p.name.get_ref(),
                        p.http.clone().or(p.tcp.clone()).or(p.sql.clone()).unwrap_or_default(),
                    ),
                    series: Series::new(SERIES_LEN),
                    retried: std::collections::VecDeque::with_capacity(SERIES_LEN),
                    last_retry: None,
                    warn_ms: p.warn.map_or(200.0, |d| d.0.as_secs_f64() * 1000.0),
                    crit_ms: p.crit.map_or(1000.0, |d| d.0.as_secs_f64() * 1000.0),
                })
                .collect(),
            interval: cfg.poll_interval.0,
            read_only: cfg.read_only,
            focus: Pane::Ring,
            zoom: false,
            show_help: false,
            selected: [0; 5],
            quit: false,
            quit_when_done: false,
            source: source.into(),
            help: crate::app::keymap::Keymap::builtin().help(),
            hints: crate::app::keymap::Keymap::builtin().status_hints(),
            dialog: None,
            background: None,
            message: (!cfg.warnings.is_empty()).then(|| cfg.warnings.join("; ")),
            wizard: None,
            requests: Vec::new(),
            verify: Default::default(),
            screen: (0, 0),
            forks: Ok(Vec::new()),
            next_id: 1,
        }
    }

    /// Data older than this shows as stale.
    pub fn stale_after(&self) -> Duration {
        self.interval * 2 + Duration::from_millis(500)
    }

    /// Folds a collector update in. Returns whether the screen must be redrawn.
    pub fn apply(&mut self, u: Update) -> bool {
        match (u.target, u.result) {
            (TargetId::Node(i), r) => {
                let Some(t) = self.nodes.get_mut(i) else {
                    return false;
                };
                let r = r.and_then(|p| match p {
                    Payload::Node(s) => Ok(*s),
                    _ => Err("wrong payload".into()),
                });
                let lag = r
                    .as_ref()
                    .ok()
                    .and_then(|s| s.links.iter().filter_map(|l| l.seconds_behind).max())
                    .map(|v| v as f64);
                self.node_lag[i].push(lag);
                t.record(u.at, r);
                self.ask_explain();
            }
            (TargetId::Haproxy(i), r) => {
                let Some(t) = self.haproxies.get_mut(i) else {
                    return false;
                };
                t.record(
                    u.at,
                    r.and_then(|p| match p {
                        Payload::Haproxy(stats) => Ok(stats),
                        _ => Err("wrong payload".into()),
                    }),
                );
            }
            (TargetId::Apache(i), r) => {
                let Some(a) = self.apaches.get_mut(i) else {
                    return false;
                };
                let r = r.and_then(|p| match p {
                    Payload::Apache(s) => Ok(s),
                    _ => Err("wrong payload".into()),
                });
                match &r {
                    Ok(new) => {
                        let now = new.counters();
                        match (a.base.as_ref(), now.as_ref()) {
                            (Some(old), Some(now)) => match rate_step(old, now) {
                                RateStep::Rates(r) => {
                                    a.rates = Some(r);
                                    a.base = Some(*now);
                                }
                                RateStep::TooSoon => {}
                                RateStep::Restarted => {
                                    a.rates = None;
                                    a.base = Some(*now);
                                }
                            },
                            _ => {
                                a.rates = None;
                                a.base = now;
                            }
                        }
                        a.busy.push(Some(new.busy_workers as f64));
                    }
                    Err(_) => {
                        a.rates = None;
                        a.base = None;
                        a.busy.push(None);
                    }
                }
                a.target.record(u.at, r);
            }
            (TargetId::Probe(i), r) => {
                let Some(p) = self.probes.get_mut(i) else {
                    return false;
                };
                let r = r.and_then(|p| match p {
                    Payload::Probe(d) => Ok(d),
                    _ => Err("wrong payload".into()),
                });
                p.series.push(r.as_ref().ok().map(|s| s.took.as_secs_f64() * 1000.0));
                if p.retried.len() == SERIES_LEN {
                    p.retried.pop_front();
                }
                let why = r.as_ref().ok().and_then(|s| s.retried.clone());
                p.retried.push_back(why.is_some());
                if let Some(why) = why {
                    p.last_retry = Some((u.at, why));
                }
                p.target.record(u.at, r);
            }
        }
        true
    }

    /// Every target's health, to notice when time alone changes what the screen must show.
    pub fn healths(&self, now: Instant) -> Vec<Health> {
        let s = self.stale_after();
        self.nodes
            .iter()
            .map(|t| t.health(now, s))
            .chain(self.haproxies.iter().map(|t| t.health(now, s)))
            .chain(self.apaches.iter().map(|a| a.target.health(now, s)))
            .chain(self.probes.iter().map(|p| p.target.health(now, s)))
            .collect()
    }

    /// The nodes as the topology model takes them.
    pub fn node_inputs(&self, now: Instant) -> Vec<NodeInput<'_>> {
        let stale = self.stale_after();
        self.nodes
            .iter()
            .map(|t| {
                let (host, port) = t.address.rsplit_once(':').unwrap_or((t.address.as_str(), "0"));
                NodeInput {
                    name: &t.name,
                    host,
                    port: port.parse().unwrap_or(0),
                    state: match t.health(now, stale) {
                        Health::Up => NodeState::Up,
                        Health::Stale => NodeState::Stale,
                        Health::Down => NodeState::Down,
                        Health::Unknown => NodeState::Unknown,
                    },
                    status: t.last.as_ref(),
                    prev: t.prev.as_ref(),
                    error: t.error.as_deref(),
                    age: t.age(now),
                }
            })
            .collect()
    }

    /// The ring model of the current samples, with the forked-data findings.
    pub fn topology(&self, now: Instant) -> Topology {
        let th = Thresholds { stale_after: self.stale_after(), ..Thresholds::default() };
        let mut t = Topology::build(&self.node_inputs(now), &th);
        t.add_findings(crate::fork::findings(&self.forks));
        t
    }

    /// Rows the focused pane can select, for moving the selection.
    fn rows_in(&self, pane: Pane) -> usize {
        match pane {
            Pane::Ring => self.nodes.len(),
            Pane::Haproxy => hapview::visible(&self.haproxies, &self.hap).iter().map(Vec::len).sum(),
            Pane::Apache => self.apaches.len(),
            Pane::Queries => self.visible_queries().len(),
            Pane::Probes => self.probes.len(),
        }
    }

    /// Running statements across all nodes, longest first, without background threads, filtered
    /// with the pane's `/` filter (see `queryview`).
    pub fn visible_queries(&self) -> Vec<(&str, &crate::model::replication::Process)> {
        self.query_rows()
    }

    /// Performs a UI action. Returns whether the screen must be redrawn.
    pub fn act(&mut self, a: Action) -> bool {
        match a {
            Action::Quit => {
                if self.show_help {
                    self.show_help = false;
                } else {
                    self.ask_quit();
                }
            }
            Action::Help => self.show_help = !self.show_help,
            Action::Back => {
                if self.show_help {
                    self.show_help = false;
                } else {
                    self.zoom = false;
                }
            }
            Action::NextPane => self.focus = Pane::ALL[(self.focus.index() + 1) % Pane::ALL.len()],
            Action::PrevPane => self.focus = Pane::ALL[(self.focus.index() + Pane::ALL.len() - 1) % Pane::ALL.len()],
            Action::Focus(p) => self.focus = p,
            Action::Zoom => {
                self.zoom = !self.zoom;
                self.ask_explain();
            }
            Action::CommandLine => self.dialog = Some(Dialog::Command(CommandLine::default())),
            Action::Recover => match &mut self.wizard {
                Some(w) => w.visible = true,
                None => self.requests.push(Request::OpenWizard),
            },
            Action::Verify => self.start_verify(crate::verify::VerifyOpts::default(), true),
            Action::Inspect => {
                self.open_inspector();
            }
            Action::Step(k) => {
                let Some(node) = self.nodes.get(self.selected[Pane::Ring.index()]) else { return true };
                let node = node.name.clone();
                let action = match k {
                    StepKey::StopSlave => StepAction::StopSlave { threads: Threads::Both },
                    StepKey::StartSlave => StepAction::StartSlave,
                    StepKey::Skip => StepAction::Skip { count: 1 },
                    StepKey::SkipUntilHealthy => StepAction::SkipUntilHealthy { errnos: vec![1062, 1032], limit: 10 },
                    StepKey::ResetMaster => StepAction::ResetMaster,
                    StepKey::ResetSlaveAll => StepAction::ResetSlaveAll,
                    StepKey::ReadOnlyOn => StepAction::ReadOnly { on: true },
                    StepKey::ReadOnlyOff => StepAction::ReadOnly { on: false },
                    StepKey::Bypass => StepAction::Bypass {
                        failed: node.clone(),
                        upstream: String::new(),
                        file: String::new(),
                        pos: 0,
                    },
                    StepKey::ChangeMaster => {
                        let i = self.selected[Pane::Ring.index()];
                        let upstream = self.ring_upstream(i);
                        StepAction::ChangeMaster { upstream, file: String::new(), pos: 0 }
                    }
                };
                self.request_step(action, node);
            }
            Action::Server(k) => self.server_key(k),
            Action::Kill { connection } => self.kill_selected(connection),
            Action::ToggleHidden => {
                self.focus = Pane::Queries;
                self.queries.show_hidden = !self.queries.show_hidden;
            }
            Action::Filter if self.focus == Pane::Queries => {
                self.dialog = Some(Dialog::Filter(CommandLine { input: self.queries.filter.clone(), error: None }));
            }
            Action::Filter => {
                self.focus = Pane::Haproxy;
                self.dialog = Some(Dialog::Filter(CommandLine { input: self.hap.filter.clone(), error: None }));
            }
            Action::Sort { forward } => {
                self.focus = Pane::Haproxy;
                self.hap.sort = self.hap.sort.cycle(forward);
            }
            Action::Up | Action::Down if self.focus == Pane::Haproxy => {
                self.hap.step(&self.haproxies, if a == Action::Down { 1 } else { -1 });
                self.selected[Pane::Haproxy.index()] = self.hap.fallback;
            }
            Action::Up | Action::Down if self.focus == Pane::Queries => {
                self.step_query(if a == Action::Down { 1 } else { -1 });
            }
            Action::Up | Action::Down => {
                let n = self.rows_in(self.focus);
                let sel = &mut self.selected[self.focus.index()];
                if n == 0 {
                    *sel = 0;
                } else if a == Action::Down {
                    *sel = (*sel + 1).min(n - 1);
                } else {
                    *sel = sel.saturating_sub(1);
                }
            }
        }
        true
    }
}

impl App {
    /// The node `i` should replicate from: its current configured upstream, else the previous
    /// node in config order (the ring as configured).
    pub fn ring_upstream(&self, i: usize) -> String {
        let topo = self.topology(Instant::now());
        let current = topo.links.iter().find_map(|l| match l.upstream {
            crate::model::topology::Upstream::Node(u) if l.downstream == i => Some(u),
            _ => None,
        });
        let n = self.nodes.len().max(1);
        let u = current.unwrap_or((i + n - 1) % n);
        self.nodes.get(u).map(|t| t.name.clone()).unwrap_or_default()
    }

    /// Asks for a step to be planned, unless read-only refuses it first.
    pub fn request_step(&mut self, action: StepAction, node: String) {
        if self.read_only {
            let what = match action.haproxy_target() {
                Some((_, server, op)) => format!("{} {server}", op.name()),
                None => action_name(&action).to_string(),
            };
            self.message =
                Some(format!("read-only: refusing {what} on {node} (started with --read-only or read_only = true)"));
            return;
        }
        self.requests.push(Request::Plan { action, node });
    }

    /// Plans a kill of the statement selected in the queries pane (only while it has focus).
    fn kill_selected(&mut self, connection: bool) {
        let what = if connection { "kill connection" } else { "kill query" };
        if self.focus != Pane::Queries {
            self.message = Some(format!("{what}: select a statement in the Slow queries pane first (4)"));
            return;
        }
        let picked = self.selected_query().map(|(node, p)| (node.to_string(), p.id));
        match picked {
            Some((node, id)) => {
                self.request_step(StepAction::Kill { id, connection, statement: String::new() }, node);
            }
            None => self.message = Some(format!("{what}: no statement selected")),
        }
    }

    /// A fresh id for a dialog or a background task.
    pub(crate) fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Opens the confirm dialog of a planned step and asks for its live preconditions.
    pub fn open_confirm(&mut self, step: Step) {
        let id = self.next_id();
        self.requests.push(Request::CheckPreconditions { id, step: step.clone() });
        self.dialog = Some(Dialog::Confirm(Confirm { id, step, live: None, typed: String::new(), run_focused: false }));
    }

    /// Live precondition results for confirm dialog `id`.
    pub fn live_preconditions(&mut self, id: u64, conditions: Vec<Condition>) -> bool {
        match &mut self.dialog {
            Some(Dialog::Confirm(c)) if c.id == id => {
                c.live = Some(conditions);
                true
            }
            _ => false,
        }
    }

    /// Progress of running step `id` (shown or in the background).
    pub fn progress(&mut self, id: u64, p: Progress) -> bool {
        if let Progress::Finished(_) = &p {
            self.requests.push(Request::RefreshNodes);
            self.requests.push(Request::ReloadForks);
        }
        if let Some(Dialog::Running(r)) = &mut self.dialog
            && r.id == id
        {
            if let Progress::Finished(o) = &p {
                r.outcome = Some(o.clone());
            }
            r.events.push(p);
            return true;
        }
        let Some(r) = self.background.as_mut().filter(|r| r.id == id) else { return false };
        match p {
            Progress::Finished(o) => {
                let done = if o.ok { "done" } else { "FAILED" };
                self.message = Some(format!("{}: {done}: {}", r.step.title, o.summary));
                self.background = None;
            }
            other => r.events.push(other),
        }
        true
    }

    /// Feeds a key to the visible wizard.
    pub fn wizard_key(&mut self, ev: &crossterm::event::KeyEvent) -> bool {
        let Some(w) = &mut self.wizard else { return false };
        // ctrl-c quits from the wizard too (a running step is saved and resumes next time).
        let ctrl_c = ev.code == crossterm::event::KeyCode::Char('c')
            && ev.modifiers.contains(crossterm::event::KeyModifiers::CONTROL);
        if ctrl_c && w.confirm.is_none() {
            self.quit = true;
            return true;
        }
        let (req, redraw) = w.key(ev);
        if let Some(req) = req {
            if self.read_only && matches!(req, super::wizard::WizardRequest::Run(_)) {
                w.running = false;
                w.last = Some((false, "refused: ringdeck is read-only; nothing was run".into()));
            } else {
                self.requests.push(Request::Wizard(req));
            }
        }
        // A finished or aborted wizard goes away once hidden.
        if !w.visible && (w.st.done() || w.rollback.is_some()) && !w.running {
            self.wizard = None;
        }
        redraw
    }

    /// Folds in what a running wizard step reports.
    pub fn wizard_event(
        &mut self,
        ev: crate::recover::Event,
        previews: impl FnOnce(&crate::recover::RecoveryState) -> Vec<Vec<String>>,
    ) -> bool {
        use crate::recover::Event;
        let Some(w) = &mut self.wizard else { return false };
        match ev {
            Event::Line(l) => w.push_log(l),
            Event::Progress { label, done, total } => w.progress = Some((label, done, total)),
            Event::State(st) => {
                w.previews = previews(&st);
                w.st = *st;
            }
            Event::UnknownHostKey { node, host, port, fingerprint } => {
                w.host_key = Some((format!("{host}:{port}"), fingerprint, node));
            }
            Event::Finished { ok, summary } => {
                w.running = false;
                w.push_log(format!("{}: {summary}", if ok { "OK" } else { "FAILED" }));
                w.last = Some((ok, summary));
                if !w.visible {
                    self.message = Some(format!(
                        "recovery: {} (R shows the wizard)",
                        w.last.as_ref().map_or("", |l| l.1.as_str())
                    ));
                }
                self.requests.push(Request::RefreshNodes);
            }
        }
        true
    }

    /// Feeds a key to the open dialog.
    pub fn dialog_key(&mut self, ev: &crossterm::event::KeyEvent) -> bool {
        if let Some(Dialog::Verify(_)) = &self.dialog {
            return self.verify_key(ev);
        }
        if let Some(Dialog::Inspect(_)) = &self.dialog {
            return self.inspect_key(ev);
        }
        if let Some(Dialog::Quit(_)) = &self.dialog {
            return self.quit_key(ev);
        }
        // From a skip's confirm dialog, `I` inspects what the skip would drop instead.
        if let Some(Dialog::Confirm(c)) = &self.dialog
            && matches!(c.step.action, StepAction::Skip { .. } | StepAction::SkipUntilHealthy { .. })
            && ev.code == crossterm::event::KeyCode::Char('I')
        {
            let node = c.step.node.clone();
            return self.inspect_node(node);
        }
        let Some(d) = &mut self.dialog else { return false };
        let outcome = dialog::key(d, ev);
        // The `/` filter applies as it is typed.
        if let Dialog::Filter(cl) = d {
            let filter = if self.focus == Pane::Queries { &mut self.queries.filter } else { &mut self.hap.filter };
            *filter = cl.input.trim().to_string();
        }
        match outcome {
            DialogOutcome::Stay => {}
            DialogOutcome::Close => self.dialog = None,
            DialogOutcome::Hide => {
                if let Some(Dialog::Running(r)) = self.dialog.take() {
                    self.message = Some(format!("{}: running in the background", r.step.title));
                    self.background = Some(r);
                }
            }
            DialogOutcome::Run(step) => {
                let id = match &self.dialog {
                    Some(Dialog::Confirm(c)) => c.id,
                    _ => 0,
                };
                if self.read_only {
                    self.dialog = None;
                    self.message = Some(format!("read-only: refusing {}", step.title));
                } else {
                    self.requests.push(Request::Execute { id, step: (*step).clone() });
                    self.dialog = Some(Dialog::Running(Running { id, step: *step, events: Vec::new(), outcome: None }));
                }
            }
            DialogOutcome::Command(text) => {
                let haproxies: Vec<&str> = self.haproxies.iter().map(|t| t.name.as_str()).collect();
                match hapview::parse_server_command(&text, &haproxies) {
                    Some(Ok(cmd)) => {
                        self.dialog = None;
                        self.server_command(cmd);
                        return true;
                    }
                    Some(Err(e)) => {
                        if let Some(Dialog::Command(cl)) = &mut self.dialog {
                            cl.error = Some(e);
                        }
                        return true;
                    }
                    None => {}
                }
                let names: Vec<&str> = self.nodes.iter().map(|t| t.name.as_str()).collect();
                match dialog::parse_command(&text, &names) {
                    Ok(Command::Quit) => {
                        self.dialog = None;
                        self.ask_quit();
                    }
                    Ok(Command::Help) => {
                        self.dialog = None;
                        self.show_help = true;
                    }
                    Ok(Command::Verify { schemas, tables }) => {
                        self.dialog = None;
                        let opts = crate::verify::VerifyOpts { schemas, tables, ..Default::default() };
                        self.start_verify(opts, false);
                    }
                    Ok(Command::Step { action, node }) => {
                        self.dialog = None;
                        let node =
                            node.or_else(|| self.nodes.get(self.selected[Pane::Ring.index()]).map(|t| t.name.clone()));
                        if let Some(node) = node {
                            self.request_step(action, node);
                        }
                    }
                    Err(e) => {
                        if let Some(Dialog::Command(cl)) = &mut self.dialog {
                            cl.error = Some(e);
                        }
                    }
                }
            }
        }
        true
    }
}

/// A short name of an action for messages.
pub fn action_name(a: &StepAction) -> &'static str {
    match a {
        StepAction::StopSlave { .. } => "stop slave",
        StepAction::StartSlave => "start slave",
        StepAction::Skip { .. } => "skip",
        StepAction::SkipUntilHealthy { .. } => "skip until healthy",
        StepAction::ResetMaster => "reset master",
        StepAction::ResetSlaveAll => "reset slave all",
        StepAction::ChangeMaster { .. } => "change master",
        StepAction::ReadOnly { on: true } => "read_only ON",
        StepAction::ReadOnly { on: false } => "read_only OFF",
        StepAction::Bypass { .. } => "bypass",
        StepAction::Recover { .. } => "recovery step",
        StepAction::HaproxyServer { op, .. } => op.name(),
        StepAction::Kill { connection: false, .. } => "kill query",
        StepAction::Kill { connection: true, .. } => "kill connection",
        StepAction::Repair { .. } => "repair",
        StepAction::ForgetFork { .. } => "forget a fork",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(uptime: u64, acc: u64, kb: u64) -> ApacheStatus {
        ApacheStatus { uptime: Some(uptime), total_accesses: Some(acc), total_kbytes: Some(kb), ..Default::default() }
    }

    #[test]
    fn apache_rates_survive_a_poll_too_soon_and_restart_on_a_restart() {
        let cfg = Config::parse(
            "[[apache]]\nname = \"web1\"\nstatus_url = \"http://127.0.0.1:1/server-status\"\n",
            std::path::Path::new("t.toml"),
        )
        .unwrap();
        let mut app = App::new(&cfg, "t");
        let t0 = Instant::now();
        let mut feed = |s: ApacheStatus| {
            app.apply(Update { target: TargetId::Apache(0), at: t0, result: Ok(Payload::Apache(s)) });
            app.apaches[0].rates.map(|r| (r.requests, r.bytes))
        };
        assert_eq!(feed(status(100, 50, 10)), None, "one reading has no rate");
        assert_eq!(feed(status(102, 70, 14)), Some((10.0, 2048.0)));
        assert_eq!(feed(status(102, 71, 14)), Some((10.0, 2048.0)), "same uptime second: rates kept");
        assert_eq!(feed(status(103, 80, 15)), Some((10.0, 1024.0)), "from the last base, 102 -> 103");
        assert_eq!(feed(status(3, 2, 1)), None, "restart: uptime went down");
        assert_eq!(feed(status(4, 12, 2)), Some((10.0, 1024.0)));
    }

    #[test]
    fn health_transitions() {
        let t0 = Instant::now();
        let mut t: Target<u32> = Target::new("a", "h:1");
        let stale = Duration::from_secs(2);
        assert_eq!(t.health(t0, stale), Health::Unknown);
        t.record(t0, Ok(1));
        assert_eq!(t.health(t0 + Duration::from_secs(1), stale), Health::Up);
        assert_eq!(t.health(t0 + Duration::from_secs(3), stale), Health::Stale);
        t.record(t0 + Duration::from_secs(4), Err("refused".into()));
        assert_eq!(t.health(t0 + Duration::from_secs(4), stale), Health::Down);
        assert_eq!(t.last, Some(1), "the last good sample is kept while down");
    }

    #[test]
    fn one_transient_failure_is_stale_two_are_down() {
        let t0 = Instant::now();
        let s = |secs: u64| t0 + Duration::from_secs(secs);
        let stale = Duration::from_secs(2);
        let mut t: Target<u32> = Target::new("a", "h:1");
        t.record(s(0), Err(PollError::transient("no answer within 3s")));
        assert_eq!(t.health(s(0), stale), Health::Unknown, "never answered: nothing to call stale");
        t.record(s(1), Ok(1));
        t.record(s(2), Ok(2));
        assert_eq!((t.last, t.prev), (Some(2), Some(1)), "two samples in a row");
        t.record(s(3), Err(PollError::transient("connection reset")));
        assert_eq!(t.health(s(3), stale), Health::Stale);
        assert_eq!(t.prev, None, "no longer two samples in a row");
        t.record(s(4), Ok(3));
        assert_eq!((t.health(s(4), stale), t.prev), (Health::Up, None), "answers the next: up, one sample");
        t.record(s(5), Err(PollError::transient("connection reset")));
        t.record(s(6), Err(PollError::transient("no answer within 3s")));
        assert_eq!(t.health(s(6), stale), Health::Down, "the second failure in a row");
        t.record(s(7), Ok(4));
        t.record(s(8), Err("connection refused".into()));
        assert_eq!(t.health(s(8), stale), Health::Down, "a hard fact at once");
    }
}
