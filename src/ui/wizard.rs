//! Drawing the recovery wizard over the panes: the steps with their state, what the next step will
//! do on which host, the source choice with the model's evidence, the copy's progress bar, the live
//! log, an unknown host key's fingerprint, the confirm popup and, after an abort, the backups.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Gauge, Paragraph, Wrap};

use super::theme::Theme;
use super::widgets::{buttons, popup};
use crate::app::wizard::Wizard;
use crate::recover::{StepKind, procedure_name};

fn steps_lines(w: &Wizard, t: &Theme) -> Vec<Line<'static>> {
    w.st.steps
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let (mark, st) = if i < w.st.current {
                ("✓", t.ok)
            } else if i == w.st.current && w.running {
                ("▶", t.warn)
            } else if i == w.st.current && w.last.as_ref().is_some_and(|l| !l.0) {
                ("✗", t.crit)
            } else if i == w.st.current && w.st.interrupted {
                ("!", t.warn)
            } else if i == w.st.current {
                ("→", t.title)
            } else {
                (" ", t.muted)
            };
            let text = if i >= w.st.current { t.title } else { t.muted };
            let danger = if k.destructive() { " !" } else { "" };
            Line::from(vec![
                Span::styled(format!("{mark} {:>2}. ", i + 1), st),
                Span::styled(k.short().to_string(), text),
                Span::styled(danger, t.warn),
            ])
        })
        .collect()
}

fn detail_lines(w: &Wizard, t: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let Some(kind) = w.next() else {
        out.push(Line::from(Span::styled("the procedure is complete: every step ran and was verified", t.ok)));
        out.push(Line::from(Span::styled("enter/esc: close", t.muted)));
        return out;
    };
    out.push(Line::from(vec![
        Span::styled(format!("{}  ", w.st.position()), t.label),
        Span::styled(kind.title().to_string(), t.title),
    ]));
    if kind.destructive() {
        out.push(Line::from(Span::styled(
            format!("destructive: you will type the source node's name ({})", w.st.source.as_deref().unwrap_or("?")),
            t.warn,
        )));
    }
    if w.can_choose_source() {
        out.push(Line::from(Span::styled("source (j/k to choose another):", t.label)));
        for n in &w.st.nodes {
            let chosen = w.st.source.as_ref() == Some(n);
            let proposed = w.proposal.as_ref().is_some_and(|p| &p.0 == n);
            out.push(Line::from(vec![
                Span::styled(if chosen { "  ● " } else { "  ○ " }, if chosen { t.ok } else { t.muted }),
                Span::styled(n.clone(), if chosen { t.selected } else { t.title }),
                Span::styled(if proposed { "  (the model's choice)" } else { "" }, t.muted),
            ]));
        }
        match &w.proposal {
            Some((_, why)) => out.extend(why.iter().map(|l| Line::from(Span::styled(format!("    {l}"), t.muted)))),
            None => out.push(Line::from(Span::styled("  the model has no proposal: the ring is not broken", t.warn))),
        }
    }
    out.push(Line::from(Span::styled("will do:", t.label)));
    let preview = w.previews.get(w.st.current).cloned().unwrap_or_default();
    out.extend(preview.into_iter().map(|l| Line::from(format!("  {l}"))));
    out
}

fn status_line(w: &Wizard, t: &Theme) -> Line<'static> {
    if let Some((_, fp, node)) = &w.host_key {
        return Line::from(Span::styled(
            format!("{node}: host key not in known_hosts: {fp}  — check it on the host, then y: trust it"),
            t.warn,
        ));
    }
    if w.aborting {
        return Line::from(Span::styled(
            "abort the wizard? y: yes (backups stay, the way back is shown)  any key: no",
            t.warn,
        ));
    }
    match (&w.last, w.running) {
        (_, true) => Line::from(Span::styled("running … esc: hide (it goes on; R shows it again)", t.warn)),
        (Some((true, s)), _) => Line::from(vec![Span::styled("OK  ", t.ok), Span::raw(s.clone())]),
        (Some((false, s)), _) => Line::from(vec![Span::styled("FAILED  ", t.crit), Span::raw(s.clone())]),
        (None, _) => Line::from(Span::styled("enter: run the next step   a: abort   esc: hide", t.muted)),
    }
}

/// Draws the wizard if it is visible.
pub fn draw(f: &mut Frame, w: &Wizard, t: &Theme) {
    if !w.visible {
        return;
    }
    let full = f.area();
    let area = Rect {
        x: full.x + 1,
        y: full.y + 1,
        width: full.width.saturating_sub(2),
        height: full.height.saturating_sub(2),
    };
    f.render_widget(Clear, area);
    let title = format!(" recovery: {} (started {}) ", procedure_name(&w.st.procedure), w.st.started);
    let block = Block::bordered().border_type(BorderType::Double).border_style(t.warn).title(title);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if let Some(rb) = &w.rollback {
        let mut lines = vec![Line::from(Span::styled("the wizard was aborted; to go back:", t.warn))];
        lines.extend(rb.iter().map(|l| Line::from(l.clone())));
        lines.push(Line::from(Span::styled("esc: close", t.muted)));
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        return;
    }
    let wide = inner.width >= 90;
    let gauge_h = u16::from(w.progress.is_some());
    let steps_h = w.st.steps.len() as u16;
    let (steps_area, right) = if wide {
        let [a, _, b] =
            Layout::horizontal([Constraint::Length(28), Constraint::Length(1), Constraint::Min(10)]).areas(inner);
        (a, b)
    } else {
        // Short and narrow: the steps as one line of marks, the room goes to the detail.
        let h = if inner.height >= 30 { steps_h } else { 1 };
        let [a, b] = Layout::vertical([Constraint::Length(h), Constraint::Min(3)]).areas(inner);
        (a, b)
    };
    if steps_area.height == 1 && w.st.steps.len() > 1 {
        let marks: Vec<Span> = steps_lines(w, t).into_iter().filter_map(|l| l.spans.into_iter().next()).collect();
        let mut spans: Vec<Span> = marks
            .into_iter()
            .map(|sp| {
                Span::styled(
                    sp.content.chars().next().map_or(' ', |c| if c == ' ' { '·' } else { c }).to_string(),
                    sp.style,
                )
            })
            .collect();
        spans.insert(0, Span::styled("steps ", t.label));
        f.render_widget(Paragraph::new(Line::from(spans)), steps_area);
    } else {
        f.render_widget(Paragraph::new(steps_lines(w, t)), steps_area);
    }
    let detail = detail_lines(w, t);
    // The detail gets what it needs; the log keeps at least a few lines below it.
    let width = right.width.max(1) as usize;
    let needed: usize = detail.iter().map(|l| l.width().div_ceil(width).max(1)).sum();
    let room = right.height.saturating_sub(gauge_h + 1 + 4);
    let detail_h = (needed as u16).min(room);
    let [detail_area, gauge_area, status_area, log_area] = Layout::vertical([
        Constraint::Length(detail_h),
        Constraint::Length(gauge_h),
        Constraint::Length(1),
        Constraint::Min(1),
    ])
    .areas(right);
    f.render_widget(Paragraph::new(detail).wrap(Wrap { trim: false }), detail_area);
    if let Some((label, done, total)) = &w.progress {
        let ratio = if *total == 0 { 1.0 } else { (*done as f64 / *total as f64).clamp(0.0, 1.0) };
        f.render_widget(
            Gauge::default().gauge_style(t.bar_busy).ratio(ratio).label(format!(
                "{label}  {} / {} MB",
                done >> 20,
                total >> 20
            )),
            gauge_area,
        );
    }
    f.render_widget(Paragraph::new(status_line(w, t)), status_area);
    let rows = log_area.height as usize;
    let tail: Vec<Line> = w.log.iter().skip(w.log.len().saturating_sub(rows)).map(|l| Line::from(l.clone())).collect();
    f.render_widget(Paragraph::new(tail).style(t.muted), log_area);
    if w.confirm.is_some() {
        draw_confirm(f, w, t);
    }
}

fn draw_confirm(f: &mut Frame, w: &Wizard, t: &Theme) {
    let Some(c) = &w.confirm else { return };
    let Some(kind) = w.next() else { return };
    let mut lines = vec![Line::from(Span::styled("will do", t.label))];
    let preview = w.previews.get(w.st.current).cloned().unwrap_or_default();
    lines.extend(preview.into_iter().map(|l| Line::from(Span::styled(format!("  {l}"), t.title))));
    if kind == StepKind::PickSource || kind.destructive() {
        lines.push(Line::from(vec![
            Span::styled("source   ", t.label),
            Span::styled(w.st.source.clone().unwrap_or_else(|| "(none chosen)".into()), t.title),
        ]));
    }
    if kind.destructive() {
        let src = w.st.source.clone().unwrap_or_default();
        lines.push(Line::from(vec![
            Span::styled(format!("type {src} to confirm: "), t.warn),
            Span::styled(format!("{}▏", c.typed), if c.typed == src { t.ok } else { t.title }),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(buttons(c.run_focused, w.can_run(), t));
    let area = popup(f, &lines, 120);
    f.render_widget(Clear, area);
    let border = if kind.destructive() { t.crit } else { t.warn };
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::bordered().border_type(BorderType::Double).border_style(border).title(format!(
                " step {}: {} ",
                w.st.current + 1,
                kind.title()
            )),
        ),
        area,
    );
}
