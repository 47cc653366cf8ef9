//! The repair part of the verify overlay (pure state and keys): when a verify found differing
//! keys, the loop plans their repair off the UI task (it only reads); the overlay lists the keys,
//! `j`/`k` select one and show every node's version of it, `p` keeps the next version for it
//! (the default one is marked), `P` opens the confirm box with each node's statements (Cancel
//! first; more than 100 row changes want the number of nodes typed), and the repair's progress
//! and the comparison of every key afterwards show in it.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::repair::plan::{Plan, Seen, shown_value};
use crate::repair::{KeyResult, Outcome};
use crate::verify::Tone;

/// Row changes above which the confirm box wants the number of nodes typed.
pub const TYPE_COUNT_ABOVE: usize = 100;

/// Where the repair stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    /// Being planned; the latest progress line.
    Planning(String),
    /// Planning failed.
    Failed(String),
    Ready(Box<Plan>),
}

/// What the operator is doing with a ready plan.
#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    Browse,
    /// The confirm box: what was typed, and whether Run has the focus (Cancel has it first).
    Confirm {
        typed: String,
        run_focused: bool,
    },
    /// Running (`id`), with its progress lines.
    Running {
        id: u64,
        lines: Vec<String>,
    },
    Done(Box<Outcome>),
}

/// The repair part of one verify overlay.
#[derive(Clone, Debug, PartialEq)]
pub struct RepairPane {
    /// The verify it repairs (matches the planning events).
    pub id: u64,
    pub stage: Stage,
    /// The selected key (index into the plan's cases).
    pub selected: usize,
    /// The version each key would keep by default (marked while choosing).
    pub defaults: Vec<Option<usize>>,
    pub mode: Mode,
    /// A one-line answer to the last key (refused in read-only mode, ...).
    pub note: Option<String>,
}

/// What a key asks of the overlay or the loop.
#[derive(Clone, Debug, PartialEq)]
pub enum KeyOutcome {
    /// Not a repair key: the overlay handles it (scrolling, closing).
    NotMine,
    /// Handled; redraw.
    Stay,
    /// Run this plan.
    Run(Box<Plan>),
}

impl RepairPane {
    pub fn planning(id: u64) -> RepairPane {
        RepairPane {
            id,
            stage: Stage::Planning("starting".into()),
            selected: 0,
            defaults: Vec::new(),
            mode: Mode::Browse,
            note: None,
        }
    }

    /// The plan arrived.
    pub fn planned(&mut self, result: Result<Plan, String>) {
        self.stage = match result {
            Ok(p) => {
                self.defaults = p.cases.iter().map(|c| c.keep.as_ref().ok().copied()).collect();
                Stage::Ready(Box::new(p))
            }
            Err(e) => Stage::Failed(e),
        };
    }

    pub fn plan(&self) -> Option<&Plan> {
        match &self.stage {
            Stage::Ready(p) => Some(p),
            _ => None,
        }
    }

    /// Whether Run may be pressed: no refusal, something to change, the count typed when asked.
    pub fn can_run(&self) -> bool {
        let Some(p) = self.plan() else { return false };
        let typed_ok = match &self.mode {
            Mode::Confirm { typed, .. } => !self.needs_count() || *typed == p.nodes_changed().len().to_string(),
            _ => false,
        };
        typed_ok && p.refusals.is_empty() && !p.changes.is_empty()
    }

    /// More than [`TYPE_COUNT_ABOVE`] row changes: the number of nodes must be typed.
    pub fn needs_count(&self) -> bool {
        self.plan().is_some_and(|p| p.changes.len() > TYPE_COUNT_ABOVE)
    }

    /// A key while the overlay shows this pane. `read_only` refuses `P`.
    pub fn key(&mut self, ev: &KeyEvent, read_only: bool, next_id: impl FnOnce() -> u64) -> KeyOutcome {
        let ctrl_c = ev.code == KeyCode::Char('c') && ev.modifiers.contains(KeyModifiers::CONTROL);
        match &mut self.mode {
            Mode::Confirm { typed, run_focused } => {
                match ev.code {
                    _ if ctrl_c => self.mode = Mode::Browse,
                    KeyCode::Esc => self.mode = Mode::Browse,
                    KeyCode::Tab | KeyCode::BackTab | KeyCode::Left | KeyCode::Right => *run_focused = !*run_focused,
                    KeyCode::Enter if *run_focused => {
                        if self.can_run()
                            && let Some(p) = self.plan().cloned()
                        {
                            self.mode = Mode::Running { id: next_id(), lines: Vec::new() };
                            return KeyOutcome::Run(Box::new(p));
                        }
                    }
                    KeyCode::Enter => self.mode = Mode::Browse,
                    KeyCode::Backspace => {
                        typed.pop();
                    }
                    KeyCode::Char(c) if c.is_ascii_digit() && typed.len() < 6 => typed.push(c),
                    _ => {}
                }
                KeyOutcome::Stay
            }
            Mode::Running { .. } => KeyOutcome::Stay,
            // The plan is spent: closing the result closes the overlay (`V` verifies again).
            Mode::Done(_) => match ev.code {
                KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => KeyOutcome::NotMine,
                _ => KeyOutcome::Stay,
            },
            Mode::Browse => {
                let Stage::Ready(plan) = &mut self.stage else { return KeyOutcome::NotMine };
                if plan.cases.is_empty() {
                    return KeyOutcome::NotMine;
                }
                match ev.code {
                    KeyCode::Down | KeyCode::Char('j') => self.selected = (self.selected + 1).min(plan.cases.len() - 1),
                    KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
                    KeyCode::Char('p') => {
                        let case = &plan.cases[self.selected];
                        let versions: Vec<usize> = case.versions().iter().map(|(_, nodes)| nodes[0]).collect();
                        let now = case
                            .keep
                            .as_ref()
                            .ok()
                            .and_then(|k| case.versions().iter().position(|(_, nodes)| nodes.contains(k)));
                        let next = now.map_or(0, |i| (i + 1) % versions.len().max(1));
                        if let Some(node) = versions.get(next) {
                            plan.choose(self.selected, *node);
                        }
                    }
                    KeyCode::Char('P') if read_only => {
                        self.note = Some(crate::runbook::ReadOnly::console("the repair").to_string());
                    }
                    KeyCode::Char('P') => {
                        self.note = None;
                        self.mode = Mode::Confirm { typed: String::new(), run_focused: false };
                    }
                    _ => return KeyOutcome::NotMine,
                }
                KeyOutcome::Stay
            }
        }
    }

    /// The pane's lines (appended to the verify report), and the index among them of the
    /// selected key's line.
    pub fn lines(&self) -> (Vec<(Tone, String)>, Option<usize>) {
        let mut out = vec![(Tone::Plain, String::new())];
        let plan = match &self.stage {
            Stage::Planning(p) => {
                out.push((Tone::Title, format!("REPAIR  planning: {p} …")));
                return (out, None);
            }
            Stage::Failed(e) => {
                out.push((Tone::Title, "REPAIR".into()));
                out.push((Tone::Crit, format!("  could not be planned: {e}")));
                return (out, None);
            }
            Stage::Ready(p) => p,
        };
        out.push((
            Tone::Title,
            format!(
                "REPAIR  {} key(s), {} row change(s) on {} node(s), sql_log_bin = 0   j/k: key  p: keep another version  P: repair",
                plan.cases.len(),
                plan.changes.len(),
                plan.nodes_changed().len()
            ),
        ));
        let mut sel_line = None;
        for (i, c) in plan.cases.iter().enumerate() {
            let t = &plan.tables[c.table];
            let keep = match &c.keep {
                Ok(k) => {
                    let default = if self.defaults.get(i).copied().flatten() == Some(*k) { " (default)" } else { "" };
                    format!("{}{default}: {}", plan.keep_text(c), c.why)
                }
                Err(_) => plan.keep_text(c),
            };
            let fork = c.fork.as_deref().map(|f| format!("  [fork {f}]")).unwrap_or_default();
            let mark = if i == self.selected { "▶" } else { " " };
            if i == self.selected {
                sel_line = Some(out.len());
            }
            let tone = if c.keep.is_ok() { Tone::Plain } else { Tone::Crit };
            out.push((tone, format!("{mark} {} {}  {keep}{fork}", t.name(), t.key_text(&c.key))));
            if i == self.selected {
                for (seen, nodes) in c.versions() {
                    let names: Vec<&str> = nodes.iter().map(|n| plan.nodes[*n].as_str()).collect();
                    let kept = c.keep.as_ref().ok().is_some_and(|k| nodes.contains(k));
                    let default = self.defaults.get(i).copied().flatten().is_some_and(|d| nodes.contains(&d));
                    let what = match &seen {
                        Seen::Row { values, .. } => t
                            .columns
                            .iter()
                            .zip(values)
                            .filter(|(col, _)| !t.pk.contains(&col.name))
                            .map(|(col, v)| {
                                format!(
                                    "{} {}",
                                    col.name,
                                    crate::fmt::cut(&crate::model::sqltext::mask_secrets(&shown_value(v)), 30)
                                )
                            })
                            .collect::<Vec<_>>()
                            .join(", "),
                        Seen::Absent => "absent".into(),
                        Seen::Unknown(e) => format!("unknown: {e}"),
                    };
                    let marks = format!(
                        "{}{}",
                        if kept { "  ← keep" } else { "" },
                        if default && !kept { "  (default)" } else { "" }
                    );
                    out.push((
                        if kept { Tone::Ok } else { Tone::Muted },
                        format!("      {}: {what}{marks}", names.join(", ")),
                    ));
                }
            }
        }
        for r in &plan.refusals {
            out.push((Tone::Crit, format!("  REFUSED: {r}")));
        }
        for w in &plan.warnings {
            out.push((Tone::Warn, format!("  WARNING: {w}")));
        }
        for n in &plan.notes {
            out.push((Tone::Muted, format!("  note: {n}")));
        }
        if let Some(n) = &self.note {
            out.push((Tone::Crit, format!("  {n}")));
        }
        if let Mode::Done(o) = &self.mode {
            out.push((if o.ok { Tone::Ok } else { Tone::Crit }, format!("  repaired: {}", o.summary)));
        }
        (out, sel_line)
    }

    /// Lines of the confirm / progress / result box, when one is open: (title, lines).
    pub fn popup(&self) -> Option<(String, Vec<(Tone, String)>)> {
        let plan = self.plan()?;
        match &self.mode {
            Mode::Browse => None,
            Mode::Confirm { typed, .. } => {
                let mut l = vec![(
                    Tone::Plain,
                    "each node's statements run on its own connection with sql_log_bin = 0: nothing travels around the \
                     ring; every row is re-read FOR UPDATE and written only if unchanged since the plan"
                        .to_string(),
                )];
                l.extend(plan.lines(30).into_iter().map(|s| (Tone::Plain, s)));
                l.extend(plan.warnings.iter().map(|w| (Tone::Warn, format!("WARNING: {w}"))));
                l.extend(plan.refusals.iter().map(|r| (Tone::Crit, format!("REFUSED: {r}"))));
                if self.needs_count() {
                    l.push((
                        Tone::Warn,
                        format!(
                            "{} row changes: type the number of nodes that change ({}) to enable Run: {typed}▏",
                            plan.changes.len(),
                            plan.nodes_changed().len()
                        ),
                    ));
                }
                Some((format!(" repair {} row(s) on {} node(s)? ", plan.changes.len(), plan.nodes_changed().len()), l))
            }
            Mode::Running { lines, .. } => {
                let mut l: Vec<(Tone, String)> = lines.iter().map(|s| (Tone::Plain, s.clone())).collect();
                l.push((Tone::Muted, "running …".into()));
                Some((" repairing ".into(), l))
            }
            Mode::Done(o) => {
                let mut l: Vec<(Tone, String)> = o
                    .nodes
                    .iter()
                    .map(|n| match &n.error {
                        None => {
                            (Tone::Ok, format!("{}: {} of {} row change(s) committed", n.node, n.applied, n.planned))
                        }
                        Some(e) => {
                            (Tone::Crit, format!("{}: FAILED after {} of {}: {e}", n.node, n.applied, n.planned))
                        }
                    })
                    .collect();
                l.extend(
                    o.keys.iter().map(|k: &KeyResult| (if k.equal { Tone::Ok } else { Tone::Crit }, k.text.clone())),
                );
                l.extend(o.cleared.iter().map(|id| (Tone::Muted, format!("fork {id} cleared"))));
                l.push((if o.ok { Tone::Ok } else { Tone::Crit }, o.summary.clone()));
                l.push((Tone::Muted, "enter: close (V verifies again)".into()));
                Some((if o.ok { " repaired: every key equal ".into() } else { " repair: NOT all equal ".into() }, l))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use mysql_async::Value;

    use super::*;
    use crate::repair::plan::{KeyCase, TableMeta};
    use crate::verify::Key;
    use crate::verify::chunk::Column;

    fn plan(keys: usize) -> Plan {
        let col = |n: &str| Column { name: n.into(), data_type: "varchar".into(), column_type: "varchar(9)".into() };
        let mut p = Plan::new(vec!["node1".into(), "node2".into(), "node3".into()], 1000);
        p.tables.push(TableMeta {
            schema: "app".into(),
            table: "posts".into(),
            columns: vec![Column { data_type: "int".into(), ..col("id") }, col("body")],
            pk: vec!["id".into()],
            triggers: Vec::new(),
            foreign_keys: Vec::new(),
        });
        for k in 0..keys {
            let row = |b: &str, crc| Seen::Row { values: vec![Value::Int(k as i64), Value::Bytes(b.into())], crc };
            p.cases.push(KeyCase {
                table: 0,
                key: Key::int(k as i128),
                seen: vec![row("a", 1), row("b", 2), Seen::Absent],
                fork: None,
                keep: Ok(0),
                why: "the most complete".into(),
            });
        }
        p.recompute();
        p
    }

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    fn pane(keys: usize) -> RepairPane {
        let mut r = RepairPane::planning(7);
        assert_eq!(r.lines().0[1].1, "REPAIR  planning: starting …");
        r.planned(Ok(plan(keys)));
        r
    }

    #[test]
    fn p_cycles_the_versions_and_marks_the_default() {
        let mut r = pane(2);
        let (lines, sel) = r.lines();
        let sel = sel.expect("a key is selected");
        assert!(lines[sel].1.starts_with("▶ app.posts id 0  keep node1's version (default)"), "{:?}", lines);
        assert!(lines[sel + 1].1.contains("node1: body 'a'  ← keep"), "{:?}", lines);
        assert_eq!(r.key(&key('j'), false, || 1), KeyOutcome::Stay);
        assert_eq!(r.selected, 1);
        r.key(&key('p'), false, || 1);
        let p = r.plan().expect("plan");
        assert_eq!(p.cases[1].keep, Ok(1), "the next version: node2's");
        let (lines, sel) = r.lines();
        let sel = sel.expect("selected");
        assert!(lines[sel].1.contains("keep node2's version: chosen: node2's version"), "{:?}", lines);
        assert!(lines.iter().any(|(_, l)| l.contains("node1: body 'a'  (default)")), "{:?}", lines);
        r.key(&key('p'), false, || 1);
        assert!(r.lines().0.iter().any(|(_, l)| l.contains("keep it absent (as on node3)")));
        r.key(&key('p'), false, || 1);
        assert_eq!(r.plan().expect("plan").cases[1].keep, Ok(0), "back to the first version");
    }

    #[test]
    fn repair_is_confirmed_with_cancel_first_and_refused_read_only() {
        let mut r = pane(1);
        r.key(&key('P'), true, || 1);
        assert_eq!(r.mode, Mode::Browse);
        assert!(r.note.as_deref().unwrap_or("").starts_with("refused: ringdeck is read-only"));
        r.key(&key('P'), false, || 1);
        assert!(matches!(r.mode, Mode::Confirm { run_focused: false, .. }), "Cancel has the focus");
        let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(r.key(&enter, false, || 1), KeyOutcome::Stay);
        assert_eq!(r.mode, Mode::Browse, "enter on Cancel");
        r.key(&key('P'), false, || 1);
        r.key(&KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE), false, || 1);
        let KeyOutcome::Run(p) = r.key(&enter, false, || 42) else { panic!("Run") };
        assert_eq!(p.changes.len(), 2);
        assert!(matches!(r.mode, Mode::Running { id: 42, .. }));
    }

    #[test]
    fn more_than_a_hundred_rows_want_the_node_count_typed() {
        let mut r = pane(60);
        assert_eq!(r.plan().expect("plan").changes.len(), 120);
        r.key(&key('P'), false, || 1);
        r.key(&KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE), false, || 1);
        assert!(!r.can_run());
        let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(r.key(&enter, false, || 1), KeyOutcome::Stay, "not yet");
        r.key(&key('2'), false, || 1);
        assert!(r.can_run(), "2 nodes change");
        let (title, lines) = r.popup().expect("the confirm box");
        assert_eq!(title, " repair 120 row(s) on 2 node(s)? ");
        assert!(lines.iter().any(|(_, l)| l.contains("type the number of nodes that change (2) to enable Run: 2")));
        assert!(matches!(r.key(&enter, false, || 5), KeyOutcome::Run(_)));
    }
}
