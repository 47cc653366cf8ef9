//! The recovery wizard's console state: the saved procedure as last reported, the model's
//! proposal for the source, the live log and copy progress of the running step, and the keys:
//! `enter` confirms the next step (Cancel first; destructive steps want the source node's name
//! typed), `j`/`k` choose the source before step 3 runs, `y` trusts an unknown host key shown
//! with its fingerprint, `a` aborts (backups and the way back are shown), `esc` hides the wizard
//! (a running step goes on; `R` shows it again). Pure: the runner performs what it asks for.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::recover::{RecoveryState, StepKind};

/// How many log lines the wizard keeps.
const LOG_KEEP: usize = 400;

/// A confirmation of the next step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepConfirm {
    pub typed: String,
    pub run_focused: bool,
}

/// What the wizard asks the loop to do.
#[derive(Clone, Debug, PartialEq)]
pub enum WizardRequest {
    /// Run the next step of this state.
    Run(Box<RecoveryState>),
    /// Forget the wizard after recording the abort.
    Abort(Box<RecoveryState>),
}

/// The wizard.
#[derive(Clone, Debug)]
pub struct Wizard {
    pub st: RecoveryState,
    /// What each step will do (by step index), from the config; refreshed with the state.
    pub previews: Vec<Vec<String>>,
    /// The model's proposed source and its evidence.
    pub proposal: Option<(String, Vec<String>)>,
    pub visible: bool,
    pub running: bool,
    pub log: Vec<String>,
    /// The copy in progress: label, bytes done, total.
    pub progress: Option<(String, u64, u64)>,
    /// How the last step ended.
    pub last: Option<(bool, String)>,
    pub confirm: Option<StepConfirm>,
    /// An unknown host key: (`host:port`, fingerprint, node).
    pub host_key: Option<(String, String, String)>,
    /// Host keys the operator trusted in this console: `host:port` -> fingerprint.
    pub accepted: std::collections::BTreeMap<String, Vec<String>>,
    /// The abort question is open.
    pub aborting: bool,
    /// Shown after an abort: where the backups are.
    pub rollback: Option<Vec<String>>,
}

impl Wizard {
    pub fn new(st: RecoveryState, previews: Vec<Vec<String>>, proposal: Option<(String, Vec<String>)>) -> Wizard {
        let mut log = Vec::new();
        if st.current > 0 || st.interrupted {
            log.push(format!("resuming the saved wizard at {}", st.position()));
        }
        if st.interrupted {
            log.push(format!(
                "step {} was interrupted; it runs again (work it already verified is kept)",
                st.current + 1
            ));
        }
        Wizard {
            st,
            previews,
            proposal,
            visible: true,
            running: false,
            log,
            progress: None,
            last: None,
            confirm: None,
            host_key: None,
            accepted: Default::default(),
            aborting: false,
            rollback: None,
        }
    }

    pub fn push_log(&mut self, l: String) {
        self.log.push(l);
        if self.log.len() > LOG_KEEP {
            let cut = self.log.len() - LOG_KEEP;
            self.log.drain(..cut);
        }
    }

    /// The step the next `enter` runs.
    pub fn next(&self) -> Option<StepKind> {
        self.st.next()
    }

    /// Whether Run may be pressed: a destructive step wants the source's name typed.
    pub fn can_run(&self) -> bool {
        let Some(c) = &self.confirm else { return false };
        let needs = self.next().is_some_and(StepKind::destructive);
        !needs || Some(&c.typed) == self.st.source.as_ref()
    }

    /// Feeds a key; returns what the loop must do (if anything) and whether to redraw.
    pub fn key(&mut self, ev: &KeyEvent) -> (Option<WizardRequest>, bool) {
        let ctrl_c = ev.code == KeyCode::Char('c') && ev.modifiers.contains(KeyModifiers::CONTROL);
        if let Some(c) = &mut self.confirm {
            match ev.code {
                _ if ctrl_c => self.confirm = None,
                KeyCode::Esc => self.confirm = None,
                KeyCode::Tab | KeyCode::BackTab | KeyCode::Left | KeyCode::Right => c.run_focused = !c.run_focused,
                KeyCode::Backspace => {
                    c.typed.pop();
                }
                KeyCode::Enter if c.run_focused => {
                    if self.can_run() {
                        self.confirm = None;
                        self.running = true;
                        self.last = None;
                        self.progress = None;
                        return (Some(WizardRequest::Run(Box::new(self.st.clone()))), true);
                    }
                }
                KeyCode::Enter => self.confirm = None,
                KeyCode::Char(ch) => c.typed.push(ch),
                _ => return (None, false),
            }
            return (None, true);
        }
        if self.aborting {
            return match ev.code {
                KeyCode::Char('y') if !self.running => {
                    self.aborting = false;
                    self.rollback = Some(self.st.rollback_text());
                    (Some(WizardRequest::Abort(Box::new(self.st.clone()))), true)
                }
                _ => {
                    self.aborting = false;
                    (None, true)
                }
            };
        }
        match ev.code {
            KeyCode::Esc => {
                self.visible = false;
                (None, true)
            }
            KeyCode::Enter if !self.running && self.rollback.is_none() => {
                if self.st.done() {
                    self.visible = false;
                } else {
                    self.confirm = Some(StepConfirm::default());
                }
                (None, true)
            }
            KeyCode::Char('j') | KeyCode::Down | KeyCode::Char('k') | KeyCode::Up if self.can_choose_source() => {
                let n = self.st.nodes.len();
                let cur = self.st.source.as_ref().and_then(|s| self.st.nodes.iter().position(|x| x == s)).unwrap_or(0);
                let down = matches!(ev.code, KeyCode::Char('j') | KeyCode::Down);
                let next = if down { (cur + 1) % n } else { (cur + n - 1) % n };
                self.st.source = self.st.nodes.get(next).cloned();
                (None, true)
            }
            KeyCode::Char('y') => match self.host_key.take() {
                Some((addr, fp, node)) => {
                    self.push_log(format!(
                        "{node}: trusting host key {fp} for {addr} (press enter to run the step again)"
                    ));
                    self.accepted.insert(addr, vec![fp]);
                    (None, true)
                }
                None => (None, false),
            },
            KeyCode::Char('a') if !self.running && self.rollback.is_none() => {
                self.aborting = true;
                (None, true)
            }
            _ => (None, false),
        }
    }

    /// The source may change until the pick step ran (a rebuild only).
    pub fn can_choose_source(&self) -> bool {
        !self.running
            && self.st.procedure == crate::recover::Procedure::Rebuild
            && self.st.steps.iter().position(|k| *k == StepKind::PickSource).is_some_and(|i| self.st.current <= i)
            && !self.st.nodes.is_empty()
    }
}

/// The wizard `R` opens: the saved one for this config, else a rebuild planned from the samples,
/// with the model's proposed source and what each step will do.
pub fn open(
    cfg: &crate::config::Config,
    config_path: &std::path::Path,
    nodes: &[super::collected::Target<crate::model::replication::NodeStatus>],
) -> Result<Wizard, String> {
    let statuses: Vec<(&str, Option<&crate::model::replication::NodeStatus>)> =
        nodes.iter().map(|t| (t.name.as_str(), t.last.as_ref())).collect();
    let path = crate::recover::state::state_path(config_path)
        .ok_or("cannot find the state dir for the wizard: set HOME or XDG_STATE_HOME")?;
    let st = match crate::recover::state::load(&path)? {
        Some(st) => st,
        None => crate::recover::new_rebuild(cfg, &statuses, config_path, None)?,
    };
    let previews = previews(cfg, &st);
    Ok(Wizard::new(st, previews, crate::recover::propose_source(cfg, &statuses)))
}

/// What each step of `st` will do, from the config.
pub fn previews(cfg: &crate::config::Config, st: &RecoveryState) -> Vec<Vec<String>> {
    st.steps.iter().map(|k| crate::recover::preview(cfg, st, *k)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recover::Procedure;
    use crossterm::event::KeyEventKind;

    fn k(code: KeyCode) -> KeyEvent {
        KeyEvent {
            code,
            modifiers: KeyModifiers::NONE,
            kind: KeyEventKind::Press,
            state: crossterm::event::KeyEventState::NONE,
        }
    }

    fn wizard(current: usize) -> Wizard {
        let mut st = RecoveryState::new(
            Procedure::Rebuild,
            vec!["node1".into(), "node2".into(), "node3".into()],
            "c".into(),
            "t".into(),
        );
        st.source = Some("node1".into());
        st.current = current;
        Wizard::new(st, vec![Vec::new(); 9], None)
    }

    #[test]
    fn enter_opens_a_confirm_whose_default_is_cancel() {
        let mut w = wizard(0);
        assert_eq!(w.key(&k(KeyCode::Enter)).0, None);
        assert!(w.confirm.is_some());
        // Enter on Cancel closes without running.
        assert_eq!(w.key(&k(KeyCode::Enter)).0, None);
        assert!(w.confirm.is_none() && !w.running);
        w.key(&k(KeyCode::Enter));
        w.key(&k(KeyCode::Tab));
        assert!(matches!(w.key(&k(KeyCode::Enter)).0, Some(WizardRequest::Run(_))));
        assert!(w.running);
    }

    #[test]
    fn destructive_steps_want_the_source_name() {
        let mut w = wizard(6); // step 7: copy
        w.key(&k(KeyCode::Enter));
        w.key(&k(KeyCode::Tab));
        assert_eq!(w.key(&k(KeyCode::Enter)).0, None, "no name typed");
        for ch in "node1".chars() {
            w.key(&k(KeyCode::Char(ch)));
        }
        assert!(matches!(w.key(&k(KeyCode::Enter)).0, Some(WizardRequest::Run(_))));
    }

    #[test]
    fn the_source_can_change_until_step_3_ran() {
        let mut w = wizard(2);
        w.key(&k(KeyCode::Char('j')));
        assert_eq!(w.st.source.as_deref(), Some("node2"));
        let mut late = wizard(3);
        late.key(&k(KeyCode::Char('j')));
        assert_eq!(late.st.source.as_deref(), Some("node1"));
    }

    #[test]
    fn abort_asks_then_shows_the_way_back() {
        let mut w = wizard(4);
        w.key(&k(KeyCode::Char('a')));
        assert!(w.aborting);
        assert!(matches!(w.key(&k(KeyCode::Char('y'))).0, Some(WizardRequest::Abort(_))));
        assert!(w.rollback.is_some());
    }
}
