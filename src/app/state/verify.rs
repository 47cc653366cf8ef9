//! `App`, running a verify from the console, its overlay's keys and the repair planned from it.

use crate::app::App;
use crate::app::dialog::Dialog;
use crate::app::repairview::{KeyOutcome, Mode, RepairPane};
use crate::app::request::Request;
use crate::app::verify::*;
use crate::verify::{Report, VerifyOpts};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

impl App {
    /// Starts a verify, unless one runs; `V` with an unseen result shows that first.
    pub fn start_verify(&mut self, opts: VerifyOpts, show_unseen: bool) {
        if let Some((_, line)) = &self.verify.running {
            self.message = Some(format!("a verify is already running: {line}"));
            return;
        }
        if show_unseen && let Some(view) = self.verify.unseen.take() {
            self.dialog = Some(Dialog::Verify(*view));
            return;
        }
        let id = self.next_id();
        self.verify.running = Some((id, "starting".into()));
        self.requests.push(Request::Verify { id, opts });
    }

    /// A progress line of verify `id`.
    pub fn verify_progress(&mut self, id: u64, line: String) -> bool {
        match &mut self.verify.running {
            Some((rid, l)) if *rid == id => {
                *l = line;
                true
            }
            _ => false,
        }
    }

    /// Verify `id` finished: open its result, or keep it for `V` when another dialog is open.
    pub fn verify_done(&mut self, id: u64, result: Result<Report, crate::verify::VerifyError>) -> bool {
        if !matches!(self.verify.running, Some((rid, _)) if rid == id) {
            return false;
        }
        self.verify.running = None;
        self.requests.push(Request::ReloadForks);
        let mut view = VerifyView::new(&result);
        if let Ok(r) = &result
            && r.differing().any(|t| t.differing_rows().next().is_some())
        {
            view.repair = Some(RepairPane::planning(id));
            self.requests.push(Request::PlanRepair { id, report: Box::new(r.clone()) });
        }
        if self.dialog.is_none() {
            self.dialog = Some(Dialog::Verify(view));
        } else {
            let summary = match &result {
                Ok(r) => r.summary.clone(),
                Err(e) => e.to_string(),
            };
            self.message = Some(format!("verify done: {summary} (V shows it)"));
            self.verify.unseen = Some(Box::new(view));
        }
        true
    }

    /// The overlay showing verify `id`'s result, open or waiting to be shown.
    fn verify_view(&mut self, id: u64) -> Option<&mut RepairPane> {
        let open = match &mut self.dialog {
            Some(Dialog::Verify(v)) => Some(v),
            _ => None,
        };
        open.into_iter().chain(self.verify.unseen.as_deref_mut()).find_map(|v| v.repair_of(id))
    }

    /// Progress of planning the repair of verify `id`.
    pub fn repair_planning(&mut self, id: u64, line: String) -> bool {
        match self.verify_view(id) {
            Some(r) => {
                r.stage = crate::app::repairview::Stage::Planning(line);
                true
            }
            None => false,
        }
    }

    /// The repair plan of verify `id` arrived.
    pub fn repair_planned(&mut self, id: u64, result: Result<crate::repair::Plan, String>) -> bool {
        match self.verify_view(id) {
            Some(r) => {
                r.planned(result);
                true
            }
            None => false,
        }
    }

    /// The repair `run` running in an overlay: a progress line, or its outcome.
    pub fn repair_event(&mut self, run: u64, line: Option<String>, done: Option<crate::repair::Outcome>) -> bool {
        let open = match &mut self.dialog {
            Some(Dialog::Verify(v)) => Some(v),
            _ => None,
        };
        let Some(r) = open.into_iter().chain(self.verify.unseen.as_deref_mut()).find_map(|v| v.running_repair(run))
        else {
            return false;
        };
        if let Some(l) = line
            && let Mode::Running { lines, .. } = &mut r.mode
        {
            lines.push(l);
        }
        if let Some(o) = done {
            r.mode = Mode::Done(Box::new(o));
            self.requests.push(Request::RefreshNodes);
            self.requests.push(Request::ReloadForks);
        }
        true
    }

    /// A key for the result overlay: the repair's keys, scroll, or close.
    pub fn verify_key(&mut self, ev: &KeyEvent) -> bool {
        let screen = self.screen;
        let read_only = self.read_only;
        let mut next = self.next_id;
        let Some(Dialog::Verify(v)) = &mut self.dialog else { return false };
        if let Some(r) = &mut v.repair {
            let out = r.key(ev, read_only, || {
                next += 1;
                next - 1
            });
            match out {
                KeyOutcome::NotMine => {}
                KeyOutcome::Stay => {
                    v.follow_selection(screen);
                    self.next_id = next;
                    return true;
                }
                KeyOutcome::Run(plan) => {
                    let id = match &r.mode {
                        Mode::Running { id, .. } => *id,
                        _ => 0,
                    };
                    self.next_id = next;
                    self.requests.push(Request::RunRepair { id, plan });
                    return true;
                }
            }
        }
        let Some(Dialog::Verify(v)) = &mut self.dialog else { return false };
        let max = max_scroll(v, screen);
        let page = (overlay_size(v, screen).1.saturating_sub(3) as usize).max(1);
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        match ev.code {
            KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => self.dialog = None,
            KeyCode::Char('c') if ctrl => self.dialog = None,
            _ => match scroll_key(ev, v.scroll, max, page) {
                Some(s) => v.scroll = s,
                None => return false,
            },
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::action::Action;
    use crate::config::Config;
    use crate::verify::Tone;

    fn app() -> App {
        let cfg = Config::parse(
            "read_only = true\n[[node]]\nname = \"node1\"\nhost = \"127.0.0.1\"\nport = 1\n",
            std::path::Path::new("t.toml"),
        )
        .unwrap();
        App::new(&cfg, "t.toml")
    }

    fn report(equal: bool) -> Report {
        let mut r = Report::failed(String::new(), 1000);
        r.error = None;
        r.equal = equal;
        r.summary = if equal { "all equal".into() } else { "1 of 1 table(s) not equal: app.posts".into() };
        r
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn verify_runs_in_read_only_mode_and_reports_back() {
        let mut a = app();
        assert!(a.read_only);
        a.act(Action::Verify);
        let Some(Request::Verify { id, opts }) = a.requests.pop() else { panic!("a verify request: {:?}", a.requests) };
        assert_eq!(opts, VerifyOpts::default());
        assert!(a.message.is_none(), "not refused");
        // A second V while it runs does not start another.
        a.act(Action::Verify);
        assert!(a.requests.is_empty());
        assert!(a.message.as_deref().unwrap_or("").contains("already running"));
        assert!(a.verify_progress(id, "CHECKSUM TABLE app.posts (1/1)".into()));
        assert_eq!(a.verify.running.as_ref().map(|r| r.1.as_str()), Some("CHECKSUM TABLE app.posts (1/1)"));
        assert!(!a.verify_progress(id + 100, "stale".into()), "another id is ignored");
        assert!(a.verify_done(id, Ok(report(false))));
        let Some(Dialog::Verify(v)) = &a.dialog else { panic!("the overlay opens") };
        assert!(!v.equal);
        assert_eq!(v.title, "verify: NOT equal");
        assert_eq!(v.lines[0].0, Tone::Crit, "{:?}", v.lines);
        assert!(a.verify.running.is_none());
        assert!(a.verify_key(&key(KeyCode::Esc)));
        assert!(a.dialog.is_none());
    }

    #[test]
    fn result_waits_while_another_dialog_is_open() {
        let mut a = app();
        a.act(Action::Verify);
        let Some(Request::Verify { id, .. }) = a.requests.pop() else { panic!() };
        a.act(Action::CommandLine);
        a.verify_done(id, Ok(report(true)));
        assert!(matches!(a.dialog, Some(Dialog::Command(_))), "the open dialog stays");
        assert!(a.message.as_deref().unwrap_or("").contains("verify done: all equal (V shows it)"));
        a.dialog = None;
        a.act(Action::Verify);
        assert!(matches!(&a.dialog, Some(Dialog::Verify(v)) if v.equal), "V shows the waiting result");
        assert_eq!(a.requests, vec![Request::ReloadForks], "without starting another (the records are read again)");
    }

    #[test]
    fn overlay_scrolls_within_its_text() {
        let mut a = app();
        a.screen = (80, 24);
        let view = VerifyView {
            equal: false,
            title: "t".into(),
            lines: (0..50).map(|i| (Tone::Plain, format!("line {i}"))).collect(),
            scroll: 0,
            repair: None,
        };
        // 22 rows of overlay, 20 inside: 30 rows of scroll.
        assert_eq!(max_scroll(&view, a.screen), 30);
        a.dialog = Some(Dialog::Verify(view));
        a.verify_key(&key(KeyCode::End));
        assert!(matches!(&a.dialog, Some(Dialog::Verify(v)) if v.scroll == 30));
        a.verify_key(&key(KeyCode::Down));
        assert!(matches!(&a.dialog, Some(Dialog::Verify(v)) if v.scroll == 30), "clamped");
        a.verify_key(&key(KeyCode::Up));
        assert!(matches!(&a.dialog, Some(Dialog::Verify(v)) if v.scroll == 29), "one up is one row up");
        a.verify_key(&key(KeyCode::Home));
        assert!(matches!(&a.dialog, Some(Dialog::Verify(v)) if v.scroll == 0));
    }

    #[test]
    fn wrapping() {
        assert_eq!(wrap("abcdef", 4), vec!["abcd".to_string(), "ef".into()]);
        assert_eq!(wrap("", 4), vec![String::new()]);
        assert_eq!(wrap("ab…", 2), vec!["ab".to_string(), "…".into()]);
    }
}
