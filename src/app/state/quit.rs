//! `App`, quitting: asked while a write is in flight, Cancel first.

use crate::app::App;
use crate::app::dialog::{Dialog, Running};
use crate::app::quit::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

impl App {
    /// The write this console has in flight, if any: what it is.
    pub fn write_in_flight(&self) -> Option<String> {
        let step = |r: &Running| r.outcome.is_none().then(|| format!("the step \"{}\"", r.step.title));
        if let Some(Dialog::Running(r)) = &self.dialog
            && let Some(s) = step(r)
        {
            return Some(s);
        }
        if let Some(s) = self.background.as_ref().and_then(step) {
            return Some(s);
        }
        if let Some(w) = &self.wizard
            && w.running
        {
            let title = w.st.next().map_or("a step", |k| k.title());
            return Some(format!("the recovery wizard's \"{title}\""));
        }
        let repairing = |v: &crate::app::verify::VerifyView| {
            v.repair.as_ref().is_some_and(|r| matches!(r.mode, crate::app::repairview::Mode::Running { .. }))
        };
        let open_verify = match &self.dialog {
            Some(Dialog::Verify(v)) => Some(v),
            _ => None,
        };
        if open_verify.into_iter().chain(self.verify.unseen.as_deref()).any(repairing) {
            return Some("a row repair".into());
        }
        if let Some(Dialog::Inspect(v)) = &self.dialog
            && matches!(v.mode, crate::app::inspectview::Mode::Running { .. })
        {
            return Some("a conflict resolution".into());
        }
        None
    }

    /// `q`, ctrl-c or `:q`: quits at once when nothing writes, else asks.
    pub fn ask_quit(&mut self) {
        match self.write_in_flight() {
            None => self.quit = true,
            Some(what) => {
                self.quit_when_done = false;
                self.dialog = Some(Dialog::Quit(QuitConfirm { what, choice: QuitChoice::Cancel }));
            }
        }
    }

    /// Whether the loop should end now.
    pub fn should_quit(&self) -> bool {
        self.quit || (self.quit_when_done && self.write_in_flight().is_none())
    }

    /// A key for the quit question.
    pub fn quit_key(&mut self, ev: &KeyEvent) -> bool {
        let Some(Dialog::Quit(q)) = &mut self.dialog else { return false };
        let ctrl_c = ev.code == KeyCode::Char('c') && ev.modifiers.contains(KeyModifiers::CONTROL);
        let order = [QuitChoice::Cancel, QuitChoice::WhenDone, QuitChoice::Now];
        let at = order.iter().position(|c| *c == q.choice).unwrap_or(0);
        match ev.code {
            _ if ctrl_c => self.dialog = None,
            KeyCode::Esc => self.dialog = None,
            KeyCode::Tab | KeyCode::Right => q.choice = order[(at + 1) % order.len()],
            KeyCode::BackTab | KeyCode::Left => q.choice = order[(at + order.len() - 1) % order.len()],
            KeyCode::Enter => {
                let (choice, what) = (q.choice, q.what.clone());
                self.dialog = None;
                match choice {
                    QuitChoice::Cancel => {}
                    QuitChoice::WhenDone => {
                        self.quit_when_done = true;
                        self.message = Some(format!("quitting when {what} ends (q: ask again)"));
                    }
                    QuitChoice::Now => self.quit = true,
                }
            }
            _ => {}
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::runbook::{Danger, Step, StepAction, Threads};

    /// A console with "stop replication on node1" running in the background.
    fn app_with_running_step() -> App {
        let cfg = Config::parse("[[node]]\nname = \"node1\"\nhost = \"127.0.0.1\"\n", std::path::Path::new("t.toml"))
            .expect("config");
        let mut a = App::new(&cfg, "t");
        let step = Step {
            action: StepAction::StopSlave { threads: Threads::Both },
            node: "node1".into(),
            title: "stop replication on node1".into(),
            statements: vec!["STOP SLAVE".into()],
            preconditions: Vec::new(),
            postconditions: Vec::new(),
            effect: String::new(),
            warnings: Vec::new(),
            danger: Danger::Low,
        };
        a.background = Some(Running { id: 1, step, events: Vec::new(), outcome: None });
        a
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn quit_asks_while_a_step_runs_and_cancel_is_first() {
        let mut a = app_with_running_step();
        assert!(a.write_in_flight().is_some_and(|w| w.contains("stop replication")));
        a.ask_quit();
        assert!(!a.should_quit());
        let Some(Dialog::Quit(q)) = &a.dialog else { panic!("the question opens") };
        assert_eq!(q.choice, QuitChoice::Cancel);
        a.quit_key(&key(KeyCode::Enter));
        assert!(a.dialog.is_none() && !a.should_quit(), "Enter on the first button cancels");

        a.ask_quit();
        a.quit_key(&key(KeyCode::Tab));
        a.quit_key(&key(KeyCode::Enter));
        assert!(!a.should_quit(), "quit when done waits for the step");
        if let Some(r) = &mut a.background {
            r.outcome = Some(crate::runbook::Outcome { ok: true, summary: "done".into(), audited: true });
        }
        assert!(a.should_quit(), "and quits once it ended");

        let mut a = app_with_running_step();
        a.ask_quit();
        a.quit_key(&key(KeyCode::BackTab));
        a.quit_key(&key(KeyCode::Enter));
        assert!(a.should_quit(), "quit now");
    }

    #[test]
    fn quit_without_a_write_in_flight_is_immediate() {
        let mut a = app_with_running_step();
        a.background = None;
        a.ask_quit();
        assert!(a.should_quit() && a.dialog.is_none());
    }
}
