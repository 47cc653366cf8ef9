//! Dialogs over the panes: the confirm dialog of a runbook step (Cancel is the default; the most
//! destructive steps want the node's name typed), the progress of a running step, and the `:`
//! command line, and the `/` filter of the HAProxy pane (applied as it is typed). Pure state and
//! key handling; the loop performs the requests they make.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::runbook::{Condition, Danger, Outcome, Progress, Step, StepAction};

/// A step awaiting confirmation.
#[derive(Clone, Debug)]
pub struct Confirm {
    pub id: u64,
    pub step: Step,
    /// Preconditions as checked live on the node (`None` while checking).
    pub live: Option<Vec<Condition>>,
    /// What the operator typed (for `Danger::TypeNodeName`).
    pub typed: String,
    /// Whether the Run button has focus (Cancel has it first).
    pub run_focused: bool,
}

impl Confirm {
    /// Run is allowed only when the typed name matches (for the most destructive steps) and no
    /// live precondition is known to fail.
    pub fn can_run(&self) -> bool {
        let typed_ok = self.step.danger != Danger::TypeNodeName || self.typed == self.step.node;
        let live_ok = self.live.as_ref().is_none_or(|c| c.iter().all(|c| c.ok != Some(false)));
        typed_ok && live_ok
    }
}

/// A step that was confirmed and runs (or ran).
#[derive(Clone, Debug)]
pub struct Running {
    pub id: u64,
    pub step: Step,
    pub events: Vec<Progress>,
    pub outcome: Option<Outcome>,
}

/// The `:` command line.
#[derive(Clone, Debug, Default)]
pub struct CommandLine {
    pub input: String,
    pub error: Option<String>,
}

#[derive(Clone, Debug)]
pub enum Dialog {
    Confirm(Confirm),
    Running(Running),
    Command(CommandLine),
    /// A verify's result (scrolling keys are handled by `App::verify_key`).
    Verify(super::verify::VerifyView),
    /// The conflict inspector (keys handled by `App::inspect_key`).
    Inspect(super::inspectview::InspectView),
    /// The HAProxy pane's `/` filter: enter keeps it, esc clears it.
    Filter(CommandLine),
    /// Quit while a write is in flight? (keys handled by `App::quit_key`).
    Quit(super::quit::QuitConfirm),
}

/// What a dialog key asks the loop to do.
#[derive(Clone, Debug, PartialEq)]
pub enum DialogOutcome {
    /// Nothing beyond redrawing.
    Stay,
    /// Close the dialog.
    Close,
    /// The operator confirmed: run this step.
    Run(Box<Step>),
    /// Run the command line's text.
    Command(String),
    /// Hide a running step's dialog (it goes on in the background).
    Hide,
}

/// Feeds one key to a dialog.
pub fn key(d: &mut Dialog, ev: &KeyEvent) -> DialogOutcome {
    let ctrl_c = ev.code == KeyCode::Char('c') && ev.modifiers.contains(KeyModifiers::CONTROL);
    match d {
        Dialog::Confirm(c) => match ev.code {
            _ if ctrl_c => DialogOutcome::Close,
            KeyCode::Esc => DialogOutcome::Close,
            KeyCode::Tab | KeyCode::BackTab | KeyCode::Left | KeyCode::Right => {
                c.run_focused = !c.run_focused;
                DialogOutcome::Stay
            }
            KeyCode::Enter if c.run_focused && c.can_run() => DialogOutcome::Run(Box::new(c.step.clone())),
            KeyCode::Enter if c.run_focused => DialogOutcome::Stay,
            KeyCode::Enter => DialogOutcome::Close,
            KeyCode::Backspace if c.step.danger == Danger::TypeNodeName => {
                c.typed.pop();
                DialogOutcome::Stay
            }
            KeyCode::Char(ch) if c.step.danger == Danger::TypeNodeName && c.typed.chars().count() < 64 => {
                c.typed.push(ch);
                DialogOutcome::Stay
            }
            _ => DialogOutcome::Stay,
        },
        Dialog::Running(r) => match ev.code {
            KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') if r.outcome.is_some() => DialogOutcome::Close,
            KeyCode::Esc | KeyCode::Char('q') => DialogOutcome::Hide,
            _ => DialogOutcome::Stay,
        },
        Dialog::Quit(_) => DialogOutcome::Stay,
        Dialog::Verify(_) | Dialog::Inspect(_) => match ev.code {
            KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => DialogOutcome::Close,
            _ if ctrl_c => DialogOutcome::Close,
            _ => DialogOutcome::Stay,
        },
        Dialog::Command(cl) => match ev.code {
            _ if ctrl_c => DialogOutcome::Close,
            KeyCode::Esc => DialogOutcome::Close,
            KeyCode::Enter => DialogOutcome::Command(cl.input.trim().to_string()),
            KeyCode::Backspace if cl.input.is_empty() => DialogOutcome::Close,
            KeyCode::Backspace => {
                cl.input.pop();
                cl.error = None;
                DialogOutcome::Stay
            }
            KeyCode::Char(ch) => {
                cl.input.push(ch);
                cl.error = None;
                DialogOutcome::Stay
            }
            _ => DialogOutcome::Stay,
        },
        Dialog::Filter(cl) => match ev.code {
            KeyCode::Esc => {
                cl.input.clear();
                DialogOutcome::Close
            }
            _ if ctrl_c => {
                cl.input.clear();
                DialogOutcome::Close
            }
            KeyCode::Enter => DialogOutcome::Close,
            KeyCode::Backspace => {
                cl.input.pop();
                DialogOutcome::Stay
            }
            KeyCode::Char(ch) if cl.input.chars().count() < 80 => {
                cl.input.push(ch);
                DialogOutcome::Stay
            }
            _ => DialogOutcome::Stay,
        },
    }
}

/// What a command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Quit,
    Help,
    /// A runbook step; `node` is `None` for the selected node.
    Step {
        action: StepAction,
        node: Option<String>,
    },
    /// A verify of these schemas and `db.table`s (none: everything).
    Verify {
        schemas: Vec<String>,
        tables: Vec<String>,
    },
}

const USAGE: &str = "commands: stop-slave [NODE] [--io|--sql], start-slave [NODE], skip [N] [NODE], \
skip-until-healthy [NODE], reset-master [NODE], reset-slave-all [NODE], change-master UPSTREAM [NODE], \
read-only on|off [NODE], bypass [NODE], verify [SCHEMA|DB.TABLE]..., drain|maint|ready [HAPROXY] [BACKEND/SERVER], \
weight N [HAPROXY] [BACKEND/SERVER], help, q";

/// Parses a command line (`skip 2`, `stop-slave node2 --io`, `change-master node1 node2`).
pub fn parse_command(text: &str, nodes: &[&str]) -> Result<Command, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let Some((&verb, rest)) = words.split_first() else { return Err(USAGE.into()) };
    let is_node = |w: &str| nodes.contains(&w);
    let node_arg = |args: &[&str]| -> Result<Option<String>, String> {
        match args.iter().find(|w| !w.starts_with("--") && w.parse::<u64>().is_err()) {
            Some(w) if is_node(w) => Ok(Some(w.to_string())),
            Some(w) => Err(format!("no node named {w:?} (nodes: {})", nodes.join(", "))),
            None => Ok(None),
        }
    };
    let step = |action: StepAction, node: Option<String>| Ok(Command::Step { action, node });
    // One spelling per step (its aliases, such as MySQL 8's replica/source words, map onto it).
    let verb: &str = crate::runbook::StepName::from_command(verb).map_or(verb, |n| n.command());
    match verb {
        "q" | "quit" => Ok(Command::Quit),
        "help" | "h" | "?" => Ok(Command::Help),
        "verify" => {
            let (tables, schemas): (Vec<&str>, Vec<&str>) = rest.iter().partition(|w| w.contains('.'));
            Ok(Command::Verify {
                schemas: schemas.into_iter().map(str::to_string).collect(),
                tables: tables.into_iter().map(str::to_string).collect(),
            })
        }
        "stop-slave" => {
            let threads = match (rest.contains(&"--io"), rest.contains(&"--sql")) {
                (true, false) => crate::runbook::Threads::Io,
                (false, true) => crate::runbook::Threads::Sql,
                _ => crate::runbook::Threads::Both,
            };
            step(StepAction::StopSlave { threads }, node_arg(rest)?)
        }
        "start-slave" => step(StepAction::StartSlave, node_arg(rest)?),
        "skip" => {
            let count = match rest.iter().find_map(|w| w.parse::<u32>().ok()) {
                Some(0) => return Err("skip needs a count of at least 1".into()),
                Some(n) => n,
                None => 1,
            };
            step(StepAction::Skip { count }, node_arg(rest)?)
        }
        "skip-until-healthy" => step(crate::runbook::StepName::SkipUntilHealthy.action("", ""), node_arg(rest)?),
        "reset-master" => step(StepAction::ResetMaster, node_arg(rest)?),
        "bypass" => step(
            StepAction::Bypass { failed: String::new(), upstream: String::new(), file: String::new(), pos: 0 },
            node_arg(rest)?,
        ),
        "reset-slave-all" => step(StepAction::ResetSlaveAll, node_arg(rest)?),
        "change-master" => {
            let Some((&upstream, tail)) = rest.split_first() else {
                return Err("change-master UPSTREAM [NODE]: name the node to replicate from".into());
            };
            if !is_node(upstream) {
                return Err(format!("no node named {upstream:?} (nodes: {})", nodes.join(", ")));
            }
            step(StepAction::ChangeMaster { upstream: upstream.into(), file: String::new(), pos: 0 }, node_arg(tail)?)
        }
        "read-only" => {
            let on = match rest.first().copied() {
                Some("on" | "ON" | "1") => true,
                Some("off" | "OFF" | "0") => false,
                _ => return Err("read-only on|off [NODE]".into()),
            };
            step(StepAction::ReadOnly { on }, node_arg(&rest[1..])?)
        }
        other => Err(format!("unknown command {other:?}; {USAGE}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::Threads;

    const NODES: &[&str] = &["node1", "node2", "node3"];

    #[test]
    fn parses_steps() {
        assert_eq!(
            parse_command("skip 2", NODES),
            Ok(Command::Step { action: StepAction::Skip { count: 2 }, node: None })
        );
        assert_eq!(
            parse_command("stop-slave node2 --io", NODES),
            Ok(Command::Step { action: StepAction::StopSlave { threads: Threads::Io }, node: Some("node2".into()) })
        );
        assert_eq!(
            parse_command("read-only off node3", NODES),
            Ok(Command::Step { action: StepAction::ReadOnly { on: false }, node: Some("node3".into()) })
        );
        let Ok(Command::Step { action: StepAction::ChangeMaster { upstream, .. }, node }) =
            parse_command("change-master node1 node2", NODES)
        else {
            panic!("change-master parses")
        };
        assert_eq!((upstream.as_str(), node.as_deref()), ("node1", Some("node2")));
        assert_eq!(parse_command("q", NODES), Ok(Command::Quit));
        assert_eq!(parse_command("verify", NODES), Ok(Command::Verify { schemas: vec![], tables: vec![] }));
        assert_eq!(
            parse_command("verify app shop.orders", NODES),
            Ok(Command::Verify { schemas: vec!["app".into()], tables: vec!["shop.orders".into()] })
        );
    }

    #[test]
    fn refuses_nonsense_clearly() {
        assert!(parse_command("skip 0", NODES).unwrap_err().contains("at least 1"));
        assert!(parse_command("skip nodeX", NODES).unwrap_err().contains("no node named"));
        assert!(parse_command("explode", NODES).unwrap_err().contains("unknown command"));
        assert!(parse_command("change-master", NODES).unwrap_err().contains("UPSTREAM"));
        assert!(parse_command("", NODES).is_err());
    }

    fn step(danger: Danger) -> Step {
        Step {
            action: StepAction::ResetMaster,
            node: "node2".into(),
            title: "reset master on node2".into(),
            statements: vec!["RESET MASTER".into()],
            preconditions: vec![],
            postconditions: vec![],
            effect: String::new(),
            warnings: vec![],
            danger,
        }
    }

    fn press(d: &mut Dialog, code: KeyCode) -> DialogOutcome {
        key(d, &KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn cancel_is_the_default() {
        let mut d = Dialog::Confirm(Confirm {
            id: 1,
            step: step(Danger::Medium),
            live: None,
            typed: String::new(),
            run_focused: false,
        });
        assert_eq!(press(&mut d, KeyCode::Enter), DialogOutcome::Close, "Enter on the default button cancels");
        assert_eq!(press(&mut d, KeyCode::Tab), DialogOutcome::Stay);
        assert!(matches!(press(&mut d, KeyCode::Enter), DialogOutcome::Run(_)));
    }

    #[test]
    fn destructive_steps_want_the_node_name() {
        let mut d = Dialog::Confirm(Confirm {
            id: 1,
            step: step(Danger::TypeNodeName),
            live: None,
            typed: String::new(),
            run_focused: false,
        });
        press(&mut d, KeyCode::Tab);
        assert_eq!(press(&mut d, KeyCode::Enter), DialogOutcome::Stay, "no name typed: Run does nothing");
        for c in "node3".chars() {
            press(&mut d, KeyCode::Char(c));
        }
        assert_eq!(press(&mut d, KeyCode::Enter), DialogOutcome::Stay, "wrong node typed");
        press(&mut d, KeyCode::Backspace);
        press(&mut d, KeyCode::Char('2'));
        assert!(matches!(press(&mut d, KeyCode::Enter), DialogOutcome::Run(_)));
    }

    #[test]
    fn failed_live_precondition_blocks_run() {
        let failed =
            vec![Condition { what: "SQL thread stopped on an error".into(), ok: Some(false), seen: "running".into() }];
        let mut d = Dialog::Confirm(Confirm {
            id: 1,
            step: step(Danger::Medium),
            live: Some(failed),
            typed: String::new(),
            run_focused: true,
        });
        assert_eq!(press(&mut d, KeyCode::Enter), DialogOutcome::Stay);
    }
}
