//! Drawing the dialogs: a step's confirm dialog (target, exact SQL, preconditions with their live
//! results, effect, warnings, the typed node name, Cancel and Run), a running step's progress, and
//! the `:` command line and the `/` filter on the bottom row. A HAProxy step shows its exact
//! admin socket commands instead of SQL.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};

use super::theme::Theme;
use super::widgets::{buttons, popup};
use crate::app::App;
use crate::app::dialog::{CommandLine, Confirm, Dialog, Running};
use crate::app::quit::{QuitChoice, QuitConfirm};
use crate::runbook::{Condition, Danger, Progress, StepAction};

fn condition_line(c: &Condition, t: &Theme) -> Line<'static> {
    let (mark, st) = match c.ok {
        Some(true) => ("✓", t.ok),
        Some(false) => ("✗", t.crit),
        None => ("…", t.muted),
    };
    let seen = if c.seen.is_empty() { String::new() } else { format!("  ({})", c.seen) };
    Line::from(vec![Span::styled(format!("  {mark} "), st), Span::raw(c.what.clone()), Span::styled(seen, t.muted)])
}

fn confirm_lines(c: &Confirm, app: &App, t: &Theme) -> Vec<Line<'static>> {
    let s = &c.step;
    let hap = s.action.haproxy_target();
    let (target, will, end) = match hap {
        // A HAProxy step: socket commands, no SQL semicolons.
        Some((h, server, _)) => (format!("server {server} on HAProxy {h}"), "will send on the admin socket", ""),
        None => {
            let addr = app.data.nodes.iter().find(|n| n.name == s.node).map(|n| n.address.clone()).unwrap_or_default();
            (format!("{}  {addr}", s.node), "will run", ";")
        }
    };
    let mut out = vec![
        Line::from(vec![Span::styled("target   ", t.label), Span::styled(target, t.title)]),
        Line::from(Span::styled(will, t.label)),
    ];
    out.extend(s.statements.iter().map(|q| Line::from(Span::styled(format!("  {q}{end}"), t.title))));
    out.push(Line::from(Span::styled(
        if c.live.is_some() { "before (checked live just now)" } else { "before (checking live …)" },
        t.label,
    )));
    let conds = c.live.as_ref().unwrap_or(&s.preconditions);
    out.extend(conds.iter().map(|x| condition_line(x, t)));
    if !s.postconditions.is_empty() {
        out.push(Line::from(Span::styled("after", t.label)));
        out.extend(s.postconditions.iter().map(|x| condition_line(x, t)));
    }
    out.push(Line::from(vec![Span::styled("effect   ", t.label), Span::raw(s.effect.clone())]));
    for w in &s.warnings {
        out.push(Line::from(vec![Span::styled("WARNING  ", t.warn), Span::raw(w.clone())]));
    }
    if matches!(s.action, StepAction::Skip { .. } | StepAction::SkipUntilHealthy { .. }) {
        out.push(Line::from(Span::styled(
            "I: inspect the event first (every node's row beside it; resolve without forking the data)",
            t.label,
        )));
    }
    if app.read_only {
        out.push(Line::from(Span::styled("read-only mode: this step will be refused", t.crit)));
    }
    if s.danger == Danger::TypeNodeName {
        let ok = c.typed == s.node;
        out.push(Line::from(vec![
            Span::styled(format!("type {} to confirm: ", s.node), t.warn),
            Span::styled(format!("{}▏", c.typed), if ok { t.ok } else { t.title }),
        ]));
    }
    out.push(Line::from(""));
    out.push(buttons(c.run_focused, c.can_run(), t));
    out
}

/// The quit question: what runs, what each choice does, and the three buttons (Cancel first).
fn quit_lines(q: &QuitConfirm, t: &Theme) -> Vec<Line<'static>> {
    let button = |label: &str, choice: QuitChoice| {
        Span::styled(format!("[ {label} ]"), if q.choice == choice { t.selected } else { t.title })
    };
    vec![
        Line::from(vec![Span::raw(q.what.clone()), Span::raw(" is running.")]),
        Line::raw(""),
        Line::from(vec![
            Span::styled("quit when it ends: ", t.label),
            Span::raw("ringdeck waits for it (every statement and command has a deadline), then quits."),
        ]),
        Line::from(vec![
            Span::styled("quit now: ", t.label),
            Span::raw(
                "it is cut off where it stands and may have run in part; its audit record stays \
                 'started' and `ringdeck audit` shows it INTERRUPTED.",
            ),
        ]),
        Line::raw(""),
        Line::from(vec![
            Span::raw("   "),
            button("Cancel", QuitChoice::Cancel),
            Span::raw("  "),
            button("Quit when it ends", QuitChoice::WhenDone),
            Span::raw("  "),
            button("Quit now", QuitChoice::Now),
            Span::styled("   tab: switch  enter: choose  esc: cancel", t.muted),
        ]),
    ]
}

fn running_lines(r: &Running, t: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let end = if r.step.action.haproxy_target().is_some() { "" } else { ";" };
    for e in &r.events {
        match e {
            Progress::Preconditions(cs) => {
                out.push(Line::from(Span::styled("preconditions", t.label)));
                out.extend(cs.iter().map(|c| condition_line(c, t)));
            }
            Progress::Statement(q) => {
                out.push(Line::from(vec![Span::styled("  → ", t.label), Span::raw(format!("{q}{end}"))]))
            }
            Progress::Note(n) => out.push(Line::from(vec![Span::styled("  • ", t.warn), Span::raw(n.clone())])),
            Progress::Postconditions(cs) => {
                out.push(Line::from(Span::styled("postconditions", t.label)));
                out.extend(cs.iter().map(|c| condition_line(c, t)));
            }
            Progress::Finished(_) => {}
        }
    }
    match &r.outcome {
        None => out.push(Line::from(Span::styled("running … (esc: hide, it goes on)", t.muted))),
        Some(o) => {
            let (word, st) = if o.ok { ("DONE", t.ok) } else { ("FAILED", t.crit) };
            out.push(Line::from(vec![Span::styled(format!("{word}  "), st), Span::raw(o.summary.clone())]));
            if !o.audited {
                out.push(Line::from(Span::styled("the audit record could not be written", t.crit)));
            }
            out.push(Line::from(Span::styled("enter/esc: close", t.muted)));
        }
    }
    out
}

/// Draws the open dialog, if any.
pub fn draw(f: &mut Frame, app: &App, t: &Theme) {
    let Some(d) = &app.dialog else { return };
    let (title, lines, border) = match d {
        Dialog::Confirm(c) => {
            let border = if c.step.danger == Danger::Low { t.border_focused } else { t.warn };
            (c.step.title.clone(), confirm_lines(c, app, t), border)
        }
        Dialog::Running(r) => (r.step.title.clone(), running_lines(r, t), t.border_focused),
        Dialog::Quit(q) => ("quit while a write runs?".to_string(), quit_lines(q, t), t.warn),
        Dialog::Verify(v) => return super::verify::draw(f, v, t),
        Dialog::Inspect(v) => return super::inspect::draw(f, v, app.read_only, t),
        Dialog::Command(cl) => return draw_command(f, ":", cl, t),
        Dialog::Filter(cl) => return draw_command(f, "/", cl, t),
    };
    let area = popup(f, &lines, 120);
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().border_type(BorderType::Double).border_style(border).title(format!(" {title} "))),
        area,
    );
}

fn draw_command(f: &mut Frame, prefix: &'static str, cl: &CommandLine, t: &Theme) {
    let area = f.area();
    let row = Rect { x: 0, y: area.height.saturating_sub(1), width: area.width, height: 1 };
    let mut spans = vec![Span::styled(prefix, t.title), Span::raw(cl.input.clone()), Span::styled("▏", t.title)];
    if let Some(e) = &cl.error {
        spans.push(Span::styled(format!("   {e}"), t.crit));
    }
    f.render_widget(Clear, row);
    f.render_widget(Paragraph::new(Line::from(spans)), row);
}
