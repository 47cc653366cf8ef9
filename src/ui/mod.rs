//! Drawing: one module per pane, plus the title bar, status bar and help. `render` is a pure
//! function of the state, the theme and the current instant.

pub mod cache;
pub mod dialog;
pub mod fingerprint;
pub mod help;
pub mod inspect;
pub mod panes;
pub mod svg;
pub mod theme;
pub mod verify;
pub mod widgets;
pub mod wizard;

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph};

use crate::app::App;
use crate::app::action::Pane;
use crate::app::collected::Health;
pub use cache::PaneCache;
use theme::Theme;

/// Draws the whole console; panes whose data did not change come from `cache`.
pub fn render(f: &mut Frame, app: &App, theme: &Theme, now: Instant, cache: &mut PaneCache) {
    let [title, body, status] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(3), Constraint::Length(1)]).areas(f.area());
    f.render_widget(title_bar(app, theme, now), title);
    if app.zoom {
        draw_pane(f, app.focus, body, app, theme, now, cache);
    } else {
        let (ring, hap, apache, probes, bottom) = if body.width >= 120 {
            let [top, mid, bottom] =
                Layout::vertical([Constraint::Percentage(42), Constraint::Percentage(26), Constraint::Fill(1)])
                    .areas(body);
            let [ring, hap] = Layout::horizontal([Constraint::Percentage(50), Constraint::Fill(1)]).areas(top);
            let [apache, probes] = Layout::horizontal([Constraint::Percentage(50), Constraint::Fill(1)]).areas(mid);
            (ring, hap, apache, probes, bottom)
        } else {
            // Narrow terminals: the ring gets the full width, the rest share rows; `z` zooms any pane.
            let ring_h = (app.data.nodes.len() as u16 + 7).min(body.height / 2);
            let [ring, mid, low] =
                Layout::vertical([Constraint::Length(ring_h), Constraint::Fill(1), Constraint::Fill(1)]).areas(body);
            let [hap, apache] = Layout::horizontal([Constraint::Percentage(55), Constraint::Fill(1)]).areas(mid);
            let [bottom, probes] = Layout::horizontal([Constraint::Percentage(55), Constraint::Fill(1)]).areas(low);
            (ring, hap, apache, probes, bottom)
        };
        draw_pane(f, Pane::Ring, ring, app, theme, now, cache);
        draw_pane(f, Pane::Haproxy, hap, app, theme, now, cache);
        draw_pane(f, Pane::Apache, apache, app, theme, now, cache);
        draw_pane(f, Pane::Probes, probes, app, theme, now, cache);
        draw_pane(f, Pane::Queries, bottom, app, theme, now, cache);
    }
    f.render_widget(status_bar(app, theme), status);
    if let Some(w) = &app.wizard {
        wizard::draw(f, w, theme);
    }
    if app.show_help {
        help::draw(f, theme, &app.help);
    }
    dialog::draw(f, app, theme);
}

fn draw_pane(f: &mut Frame, pane: Pane, area: Rect, app: &App, theme: &Theme, now: Instant, cache: &mut PaneCache) {
    let focused = app.focus == pane;
    let ctx = panes::Ctx { app, theme, now, focused, selected: app.selected[pane.index()] };
    let key = fingerprint::of(pane, area, &ctx);
    cache.pane(f, pane, area, key, |f| draw_pane_now(f, pane, area, &ctx));
}

fn draw_pane_now(f: &mut Frame, pane: Pane, area: Rect, ctx: &panes::Ctx) {
    let (theme, focused) = (ctx.theme, ctx.focused);
    let block = Block::bordered()
        .border_type(if focused { BorderType::Thick } else { BorderType::Plain })
        .border_style(if focused { theme.border_focused } else { theme.border })
        .title(Line::from(vec![
            Span::styled(format!(" {} ", pane.index() + 1), theme.muted),
            Span::styled(format!("{} ", pane.title()), theme.title),
        ]));
    let inner = block.inner(area);
    f.render_widget(block, area);
    match pane {
        Pane::Ring => panes::ring::draw(f, inner, ctx),
        Pane::Haproxy => panes::haproxy::draw(f, inner, ctx),
        Pane::Apache => panes::apache::draw(f, inner, ctx),
        Pane::Queries => panes::queries::draw(f, inner, ctx),
        Pane::Probes => panes::probes::draw(f, inner, ctx),
    }
}

/// The style and word for a health state (the word is there so meaning never rests on colour).
pub fn health_style(h: Health, theme: &Theme) -> (Style, &'static str) {
    match h {
        Health::Up => (theme.ok, "up"),
        Health::Stale => (theme.stale, "stale"),
        Health::Down => (theme.crit, "DOWN"),
        Health::Unknown => (theme.muted, "…"),
    }
}

fn title_bar<'a>(app: &'a App, theme: &Theme, now: Instant) -> Paragraph<'a> {
    let s = app.data.stale_after();
    let count = |hs: Vec<Health>| (hs.iter().filter(|h| **h == Health::Up).count(), hs.len());
    let (nu, nn) = count(app.data.nodes.iter().map(|t| t.health(now, s)).collect());
    let (hu, hn) = count(app.data.haproxies.iter().map(|t| t.health(now, s)).collect());
    let (au, an) = count(app.data.apaches.iter().map(|a| a.target.health(now, s)).collect());
    let part = |label: &str, up: usize, n: usize| {
        let st = if up == n {
            theme.ok
        } else if up == 0 {
            theme.crit
        } else {
            theme.warn
        };
        vec![Span::styled(format!("{label} "), theme.muted), Span::styled(format!("{up}/{n}"), st), Span::raw("  ")]
    };
    let mut spans = vec![Span::styled(" ringdeck ", theme.title), Span::raw(" ")];
    spans.extend(part("db", nu, nn));
    spans.extend(part("lb", hu, hn));
    spans.extend(part("web", au, an));
    if app.read_only {
        spans.push(Span::styled(" READ-ONLY ", theme.readonly));
        spans.push(Span::raw(" "));
    }
    spans.push(Span::styled(app.source.clone(), theme.muted));
    Paragraph::new(Line::from(spans))
}

fn status_bar<'a>(app: &App, theme: &Theme) -> Paragraph<'a> {
    if let Some(m) = &app.message {
        return Paragraph::new(Line::from(Span::raw(format!(" {m}")))).style(theme.statusbar);
    }
    if let Some((_, line)) = &app.verify.running {
        return Paragraph::new(Line::from(Span::raw(format!(" verify: {line} …")))).style(theme.statusbar);
    }
    if let Some(r) = &app.background {
        return Paragraph::new(Line::from(Span::raw(format!(" running: {} …", r.step.title)))).style(theme.statusbar);
    }
    let keys = match app.focus {
        Pane::Haproxy => &app.hints.haproxy,
        Pane::Queries => &app.hints.queries,
        _ => &app.hints.default,
    };
    let text = if app.zoom { format!("{keys} [zoomed: esc]") } else { keys.to_string() };
    Paragraph::new(Line::from(Span::raw(text))).style(theme.statusbar)
}
