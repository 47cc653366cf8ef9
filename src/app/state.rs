//! The console's state, owned by the UI task: the collected data ([`Collected`]) beside the UI
//! state (focus, selection, dialogs, the wizard, overlays) and the requests for the loop. `apply`
//! folds a collector update in, `act` performs an action; nothing here does I/O.

mod hap;
mod inspect;
mod queries;
mod quit;
mod verify;

use std::time::Instant;

use super::action::{Action, Pane};
use super::collected::Collected;
use super::dialog::{self, Command, CommandLine, Confirm, Dialog, DialogOutcome, Running};
use super::hapview::{self, HaproxyView};
use super::queryview::QueriesView;
use super::request::Request;
use crate::collect::Update;
use crate::config::Config;
use crate::runbook::{Condition, Progress, Step, StepAction};

/// The whole console state.
#[derive(Clone, Debug)]
pub struct App {
    /// What the collectors read, and the forked-data records.
    pub data: Collected,
    /// Sort, filter and selection of the HAProxy pane.
    pub hap: HaproxyView,
    /// Filter, selection and drill-in of the slow queries pane.
    pub queries: QueriesView,
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
    pub(crate) next_id: u64,
}

impl App {
    pub fn new(cfg: &Config, source: impl Into<String>) -> App {
        App {
            data: Collected::new(cfg),
            hap: HaproxyView::default(),
            queries: QueriesView::default(),
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
            next_id: 1,
        }
    }

    /// Folds a collector update in. Returns whether the screen must be redrawn.
    pub fn apply(&mut self, u: Update) -> bool {
        let node = matches!(u, Update::Node(_));
        let dirty = self.data.apply(u);
        if node {
            self.ask_explain();
        }
        dirty
    }

    /// Rows the focused pane can select, for moving the selection.
    fn rows_in(&self, pane: Pane) -> usize {
        match pane {
            Pane::Ring => self.data.nodes.len(),
            Pane::Haproxy => hapview::visible(&self.data.haproxies, &self.hap).iter().map(Vec::len).sum(),
            Pane::Apache => self.data.apaches.len(),
            Pane::Queries => self.visible_queries().len(),
            Pane::Probes => self.data.probes.len(),
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
                let Some(node) = self.data.nodes.get(self.selected[Pane::Ring.index()]) else { return true };
                let node = node.name.clone();
                let upstream = match k {
                    crate::runbook::StepName::ChangeMaster => self.ring_upstream(self.selected[Pane::Ring.index()]),
                    _ => String::new(),
                };
                let action = k.action(&node, &upstream);
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
                self.hap.step(&self.data.haproxies, if a == Action::Down { 1 } else { -1 });
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
        let topo = self.data.topology(Instant::now());
        let current = topo.links.iter().find_map(|l| match l.upstream {
            crate::model::topology::Upstream::Node(u) if l.downstream == i => Some(u),
            _ => None,
        });
        let n = self.data.nodes.len().max(1);
        let u = current.unwrap_or((i + n - 1) % n);
        self.data.nodes.get(u).map(|t| t.name.clone()).unwrap_or_default()
    }

    /// Asks for a step to be planned, unless read-only refuses it first.
    pub fn request_step(&mut self, action: StepAction, node: String) {
        if self.read_only {
            let what = match action.haproxy_target() {
                Some((_, server, op)) => format!("{} {server}", op.name()),
                None => action.name().to_string(),
            };
            self.message = Some(crate::runbook::ReadOnly::console(format!("{what} on {node}")).to_string());
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
                w.last = Some((false, crate::runbook::ReadOnly::console("the wizard step").to_string()));
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
                    self.message = Some(crate::runbook::ReadOnly::console(&step.title).to_string());
                } else {
                    self.requests.push(Request::Execute { id, step: (*step).clone() });
                    self.dialog = Some(Dialog::Running(Running { id, step: *step, events: Vec::new(), outcome: None }));
                }
            }
            DialogOutcome::Command(text) => {
                let haproxies: Vec<&str> = self.data.haproxies.iter().map(|t| t.name.as_str()).collect();
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
                let names: Vec<&str> = self.data.nodes.iter().map(|t| t.name.as_str()).collect();
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
                        let node = node
                            .or_else(|| self.data.nodes.get(self.selected[Pane::Ring.index()]).map(|t| t.name.clone()));
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
