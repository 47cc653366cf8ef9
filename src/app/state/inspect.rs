//! `App`, opening the conflict inspector and its keys.

use super::*;
use crate::app::inspectview::*;
use crate::inspect::conflict::Inspection;
use crate::inspect::resolve::{Outcome, Resolution};
use crossterm::event::KeyEvent;

impl App {
    /// `I`: opens the inspector on the selected ring node when its SQL thread stopped on an
    /// error, else on the first node (config order) whose SQL thread did.
    pub fn open_inspector(&mut self) -> bool {
        let stopped = |t: &crate::app::collected::Target<crate::model::replication::NodeStatus>| {
            t.last.as_ref().is_some_and(|s| s.links.iter().any(|l| l.last_sql_errno != 0))
        };
        let sel = self.selected[crate::app::action::Pane::Ring.index()];
        let pick =
            self.data.nodes.get(sel).filter(|t| stopped(t)).or_else(|| self.data.nodes.iter().find(|t| stopped(t)));
        match pick.map(|t| t.name.clone()) {
            Some(node) => self.inspect_node(node),
            None => {
                self.message = Some("no node's SQL thread stopped on an error: nothing to inspect".into());
                true
            }
        }
    }

    /// Opens the inspector on `node` and asks for its inspection.
    pub fn inspect_node(&mut self, node: String) -> bool {
        let id = self.next_id();
        self.dialog = Some(crate::app::dialog::Dialog::Inspect(InspectView::new(id, node.clone())));
        self.requests.push(crate::app::request::Request::Inspect { id, node });
        true
    }

    fn inspector(&mut self) -> Option<&mut InspectView> {
        match &mut self.dialog {
            Some(crate::app::dialog::Dialog::Inspect(v)) => Some(v),
            _ => None,
        }
    }

    /// The inspection of inspector `id` arrived.
    pub fn inspected(&mut self, id: u64, result: Result<Inspection, String>) -> bool {
        let Some(v) = self.inspector().filter(|v| v.id == id) else { return false };
        v.stage = match result {
            Ok(i) => Stage::Ready(Box::new(i)),
            Err(e) => Stage::Failed(e),
        };
        true
    }

    /// The resolution planned for inspector `id`.
    pub fn resolution_planned(&mut self, id: u64, result: Result<Resolution, String>) -> bool {
        let Some(v) = self.inspector().filter(|v| v.id == id && matches!(v.mode, Mode::Planning(_))) else {
            return false;
        };
        v.mode = match result {
            Ok(r) => Mode::Confirm(Box::new(r)),
            Err(e) => Mode::NotPlanned(e),
        };
        true
    }

    /// A progress line, or the outcome, of the resolution `run`.
    pub fn resolution_event(&mut self, run: u64, line: Option<String>, done: Option<Outcome>) -> bool {
        let Some(v) = self.inspector().filter(|v| matches!(v.mode, Mode::Running { id, .. } if id == run)) else {
            return false;
        };
        if let (Some(l), Mode::Running { lines, .. }) = (line, &mut v.mode) {
            lines.push(l);
        }
        if let Some(o) = done {
            v.mode = Mode::Done(Box::new(o));
            self.requests.push(crate::app::request::Request::RefreshNodes);
            self.requests.push(crate::app::request::Request::ReloadForks);
        }
        true
    }

    /// A key for the inspector.
    pub fn inspect_key(&mut self, ev: &KeyEvent) -> bool {
        let (screen, read_only) = (self.screen, self.read_only);
        let mut next = self.next_id;
        let Some(v) = self.inspector() else { return false };
        let out = v.key(ev, read_only, || {
            next += 1;
            next - 1
        });
        let id = v.id;
        let lines = v.lines(read_only, screen);
        let max = crate::app::verify::max_scroll_of(&lines, screen);
        let page = (crate::app::verify::overlay_size_of(&lines, screen).1.saturating_sub(3) as usize).max(1);
        match out {
            KeyOutcome::Stay => {}
            KeyOutcome::Close => self.dialog = None,
            KeyOutcome::Plan(keep) => {
                if let Stage::Ready(ins) = &v.stage {
                    let ins = ins.clone();
                    self.requests.push(crate::app::request::Request::PlanResolution { id, keep, ins });
                }
            }
            KeyOutcome::Run(res) => {
                let run = match &v.mode {
                    Mode::Running { id, .. } => *id,
                    _ => 0,
                };
                self.requests.push(crate::app::request::Request::RunResolution { id: run, res });
            }
            KeyOutcome::NotMine => match crate::app::verify::scroll_key(ev, v.scroll, max, page) {
                Some(s) => v.scroll = s,
                None => return false,
            },
        }
        self.next_id = next;
        true
    }
}
