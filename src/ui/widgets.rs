//! The shapes every dialog and overlay is drawn with: a centred popup, the Cancel/Run buttons, a
//! large scrolling overlay and a box over it, and the style of a line's tone.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};

use super::theme::Theme;
use crate::app::verify::{overlay_size_of, wrap};
use crate::verify::Tone;

pub(crate) fn style(tone: Tone, t: &Theme) -> Style {
    match tone {
        Tone::Title => t.label,
        Tone::Ok => t.ok,
        Tone::Warn => t.warn,
        Tone::Crit => t.crit,
        Tone::Muted => t.muted,
        Tone::Plain => Style::default(),
    }
}

/// A centred area for `lines` wrapped at the popup's inner width.
pub(crate) fn popup(f: &mut Frame, lines: &[Line], width: u16) -> Rect {
    let area = f.area();
    let w = width.min(area.width.saturating_sub(2)).max(20);
    let inner = w.saturating_sub(2).max(1) as usize;
    let rows: usize = lines.iter().map(|l| l.width().div_ceil(inner).max(1)).sum();
    let h = (rows as u16 + 2).min(area.height.saturating_sub(2)).max(5);
    let [r] = Layout::vertical([Constraint::Length(h)]).flex(Flex::Center).areas(area);
    let [r] = Layout::horizontal([Constraint::Length(w)]).flex(Flex::Center).areas(r);
    r
}

/// `[ Cancel ]  [ Run ]` with the focused one highlighted and Run dimmed while not allowed.
pub(crate) fn buttons(run_focused: bool, can_run: bool, t: &Theme) -> Line<'static> {
    let button = |label: &str, focused: bool, enabled: bool| {
        let st = if focused {
            t.selected
        } else if enabled {
            t.title
        } else {
            t.muted
        };
        Span::styled(format!("[ {label} ]"), st)
    };
    Line::from(vec![
        Span::raw("        "),
        button("Cancel", !run_focused, true),
        Span::raw("    "),
        button("Run", run_focused, can_run),
        Span::styled("    tab: switch  enter: choose  esc: cancel", t.muted),
    ])
}

/// A large scrolling overlay of `lines` over the console (verify, inspector); returns its width.
pub(crate) fn overlay(
    f: &mut Frame,
    title: &str,
    border: Style,
    lines: &[(Tone, String)],
    scroll: usize,
    keys: &str,
    t: &Theme,
) -> u16 {
    let screen = f.area();
    let (w, h) = overlay_size_of(lines, (screen.width, screen.height));
    let (w, h) = (w.min(screen.width), h.min(screen.height));
    let [area] = Layout::vertical([Constraint::Length(h)]).flex(Flex::Center).areas(screen);
    let [area] = Layout::horizontal([Constraint::Length(w)]).flex(Flex::Center).areas(area);
    let inner_w = w.saturating_sub(2).max(1) as usize;
    let inner_h = h.saturating_sub(2) as usize;
    let rows: Vec<Line> = lines
        .iter()
        .flat_map(|(tone, text)| {
            let st = style(*tone, t);
            wrap(text, inner_w).into_iter().map(move |r| Line::from(Span::styled(r, st)))
        })
        .collect();
    let top = scroll.min(rows.len().saturating_sub(inner_h));
    let end = (top + inner_h).min(rows.len());
    let position =
        if rows.len() > inner_h { format!(" {}-{} of {} ", top + 1, end, rows.len()) } else { String::new() };
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(border)
        .title(Line::from(Span::styled(format!(" {title} "), border)))
        .title_bottom(Line::from(vec![Span::styled(keys.to_string(), t.muted), Span::styled(position, t.muted)]));
    f.render_widget(Clear, area);
    f.render_widget(Paragraph::new(rows[top..end].to_vec()).block(block), area);
    w
}

/// A box over an overlay (a confirm, a progress, a result), keeping its end in view; with
/// `buttons` (Run focused, Run allowed) the Cancel and Run buttons under it.
pub(crate) fn boxed(
    f: &mut Frame,
    title: &str,
    lines: &[(Tone, String)],
    width: u16,
    buttons: Option<(bool, bool)>,
    t: &Theme,
) {
    let inner = width.saturating_sub(8).max(20) as usize;
    let mut rows: Vec<Line> = lines
        .iter()
        .flat_map(|(tone, text)| {
            let st = style(*tone, t);
            wrap(text, inner).into_iter().map(move |l| Line::from(Span::styled(l, st)))
        })
        .collect();
    if let Some((run_focused, can_run)) = buttons {
        rows.push(Line::from(""));
        rows.push(self::buttons(run_focused, can_run, t));
    }
    let max_h = f.area().height.saturating_sub(4) as usize;
    if rows.len() > max_h {
        // Keep the end (the buttons, the latest progress) in view.
        rows.drain(..rows.len() - max_h);
    }
    let area = popup(f, &rows, width.saturating_sub(4));
    let block =
        Block::bordered().border_type(BorderType::Thick).border_style(t.border_focused).title(title.to_string());
    f.render_widget(Clear, area);
    f.render_widget(Paragraph::new(rows).block(block), area);
}
