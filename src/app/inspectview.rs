//! The conflict inspector overlay (pure state and keys): `I` on a node whose SQL thread stopped
//! on an error asks the loop for the inspection (off the UI task); the overlay shows the event
//! beside every node's row. `e` takes the event's version, `l` keeps the local one, `b` keeps
//! both (1062), `d` deletes the row everywhere (1032): each is planned in full off the UI task,
//! shown in a box where Enter or Esc cancels and `y` runs, then its progress and result.
//! Three keys from the first: `I`, the choice, `y`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::inspect::conflict::Inspection;
use crate::inspect::resolve::{Keep, Outcome, Resolution};
use crate::verify::Tone;

/// Where the inspection stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    Loading,
    Failed(String),
    Ready(Box<Inspection>),
}

/// What the operator is doing.
#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    Browse,
    /// A resolution being planned.
    Planning(Keep),
    /// The plan, waiting for `y` (Enter or Esc cancel).
    Confirm(Box<Resolution>),
    /// Planning failed.
    NotPlanned(String),
    /// Running as `id`, with its progress.
    Running {
        id: u64,
        lines: Vec<String>,
    },
    Done(Box<Outcome>),
}

/// The inspector overlay.
#[derive(Clone, Debug, PartialEq)]
pub struct InspectView {
    pub id: u64,
    pub node: String,
    pub stage: Stage,
    pub mode: Mode,
    pub scroll: usize,
}

/// What a key asks.
#[derive(Clone, Debug, PartialEq)]
pub enum KeyOutcome {
    Stay,
    Close,
    /// Plan this resolution of the inspection.
    Plan(Keep),
    /// Run this resolution.
    Run(Box<Resolution>),
    /// Not the inspector's key (scrolling).
    NotMine,
}

impl InspectView {
    pub fn new(id: u64, node: String) -> InspectView {
        InspectView { id, node, stage: Stage::Loading, mode: Mode::Browse, scroll: 0 }
    }

    fn inspection(&self) -> Option<&Inspection> {
        match &self.stage {
            Stage::Ready(i) => Some(i),
            _ => None,
        }
    }

    /// The choices the first conflict's error allows.
    pub fn choices(&self) -> Vec<(char, Keep)> {
        match self.inspection().and_then(|i| i.conflicts.first()).map(|c| c.errno) {
            Some(1032) => vec![('e', Keep::Event), ('d', Keep::Delete)],
            Some(_) => vec![('e', Keep::Event), ('l', Keep::Local), ('b', Keep::Both)],
            None => Vec::new(),
        }
    }

    pub fn key(&mut self, ev: &KeyEvent, read_only: bool, next_id: impl FnOnce() -> u64) -> KeyOutcome {
        let ctrl_c = ev.code == KeyCode::Char('c') && ev.modifiers.contains(KeyModifiers::CONTROL);
        match &self.mode {
            Mode::Confirm(res) => match ev.code {
                KeyCode::Char('y') if res.refusals.is_empty() && !read_only => {
                    let res = res.clone();
                    self.mode = Mode::Running { id: next_id(), lines: Vec::new() };
                    KeyOutcome::Run(res)
                }
                KeyCode::Char('y') => KeyOutcome::Stay,
                KeyCode::Enter | KeyCode::Esc | KeyCode::Char('n') => {
                    self.mode = Mode::Browse;
                    KeyOutcome::Stay
                }
                _ if ctrl_c => {
                    self.mode = Mode::Browse;
                    KeyOutcome::Stay
                }
                _ => KeyOutcome::Stay,
            },
            Mode::Running { .. } | Mode::Planning(_) => KeyOutcome::Stay,
            Mode::Done(_) => match ev.code {
                KeyCode::Enter | KeyCode::Esc | KeyCode::Char('q') => KeyOutcome::Close,
                _ => KeyOutcome::Stay,
            },
            Mode::Browse | Mode::NotPlanned(_) => {
                if ctrl_c {
                    return KeyOutcome::Close;
                }
                match ev.code {
                    KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => KeyOutcome::Close,
                    KeyCode::Char(c) => match self.choices().into_iter().find(|(k, _)| *k == c) {
                        Some((_, keep)) => {
                            self.mode = Mode::Planning(keep);
                            KeyOutcome::Plan(keep)
                        }
                        None => KeyOutcome::NotMine,
                    },
                    _ => KeyOutcome::NotMine,
                }
            }
        }
    }

    /// The overlay's lines for a screen of this size.
    pub fn lines(&self, read_only: bool, screen: (u16, u16)) -> Vec<(Tone, String)> {
        // The overlay's inner width (as `verify::overlay_size_of` sizes it).
        let width = (if screen.0 == 0 { 80 } else { screen.0 }).saturating_sub(4).clamp(20, 140).saturating_sub(2);
        let mut out = match &self.stage {
            Stage::Loading => {
                vec![(Tone::Muted, format!("reading {}'s failing event from its upstream's binlog …", self.node))]
            }
            Stage::Failed(e) => vec![(Tone::Crit, format!("cannot inspect {}: {e}", self.node))],
            Stage::Ready(i) => crate::inspect::render::lines(i, usize::from(width)),
        };
        if self.inspection().is_some() {
            out.push((Tone::Plain, String::new()));
            let choices: Vec<String> = self.choices().iter().map(|(k, keep)| format!("{k}: {}", keep.word())).collect();
            let ro = if read_only { "  (read-only: a resolution is refused)" } else { "" };
            out.push((Tone::Title, format!("RESOLVE  {}  esc: close{ro}", choices.join("   "))));
        }
        if let Mode::NotPlanned(e) = &self.mode {
            out.push((Tone::Crit, format!("  cannot plan it: {e}")));
        }
        if let Mode::Planning(k) = &self.mode {
            out.push((Tone::Muted, format!("  planning: {} …", k.word())));
        }
        out
    }

    /// The confirm, progress or result box: (title, lines).
    pub fn popup(&self, read_only: bool) -> Option<(String, Vec<(Tone, String)>)> {
        match &self.mode {
            Mode::Confirm(res) => {
                let mut l: Vec<(Tone, String)> = res.lines().into_iter().map(|s| (Tone::Plain, s)).collect();
                l.extend(res.warnings.iter().map(|w| (Tone::Warn, format!("WARNING: {w}"))));
                l.extend(res.refusals.iter().map(|r| (Tone::Crit, format!("REFUSED: {r}"))));
                let can = res.refusals.is_empty() && !read_only;
                let how = if can {
                    "y: run it   enter/esc: cancel"
                } else if read_only {
                    "read-only: refused   enter/esc: back"
                } else {
                    "refused   enter/esc: back"
                };
                l.push((Tone::Plain, String::new()));
                l.push((if can { Tone::Title } else { Tone::Muted }, how.into()));
                Some((format!(" {}? ", res.keep.word()), l))
            }
            Mode::Running { lines, .. } => {
                let mut l: Vec<(Tone, String)> = lines.iter().map(|s| (Tone::Plain, s.clone())).collect();
                l.push((Tone::Muted, "running …".into()));
                Some((" resolving ".into(), l))
            }
            Mode::Done(o) => {
                let mut l: Vec<(Tone, String)> = o.lines.iter().map(|s| (Tone::Plain, s.clone())).collect();
                l.push((if o.ok { Tone::Ok } else { Tone::Crit }, o.summary.clone()));
                l.push((Tone::Muted, "enter: close".into()));
                Some((if o.ok { " resolved ".into() } else { " NOT resolved ".into() }, l))
            }
            _ => None,
        }
    }
}
