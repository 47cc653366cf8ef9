//! The Apache pane: per server, busy workers against capacity as a bar, requests/s, kB/s, MPM
//! and uptime; a warning colour as busy nears capacity.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Ctx, note};
use crate::app::state::Health;
use crate::ui::{fmt, health_style};

pub fn draw(f: &mut Frame, area: Rect, ctx: &Ctx) {
    let app = ctx.app;
    let t = ctx.theme;
    if app.apaches.is_empty() {
        return note(f, area, t, "no [[apache]] in the config");
    }
    let s = app.stale_after();
    let wide = area.width >= 64;
    let bar_w = (area.width as usize).saturating_sub(if wide { 50 } else { 29 }).clamp(4, 40);
    let mut lines = Vec::new();
    for (i, a) in app.apaches.iter().enumerate() {
        let h = a.target.health(ctx.now, s);
        let (hs, word) = health_style(h, t);
        let mut spans = vec![Span::styled(
            format!("{:<6} ", a.target.name),
            if ctx.focused && i == ctx.selected { t.selected } else { t.title },
        )];
        match (&a.target.last, h) {
            (Some(st), Health::Up | Health::Stale) => {
                let cap = st.capacity().max(1) as usize;
                let busy = st.busy_workers as usize;
                let filled = (busy * bar_w).div_ceil(cap).min(bar_w);
                let ratio = busy as f64 / cap as f64;
                let busy_style = if ratio >= 0.9 {
                    t.crit
                } else if ratio >= 0.75 {
                    t.warn
                } else {
                    t.bar_busy
                };
                spans.push(Span::styled("█".repeat(filled), busy_style));
                spans.push(Span::styled("░".repeat(bar_w - filled), t.bar_idle));
                spans.push(Span::styled(format!(" {busy:>3}/{cap:<3}"), busy_style));
                let rate = match a.rates {
                    Some((r, k)) if wide => format!(" {r:>6.1} req/s {k:>7.1} kB/s"),
                    Some((r, _)) => format!(" {r:>6.1} r/s"),
                    None => "      - r/s".into(),
                };
                spans.push(Span::raw(rate));
                if h == Health::Stale {
                    spans.push(Span::styled(format!(" {word}"), hs));
                }
            }
            _ => {
                spans.push(Span::styled(word, hs));
                if let Some(e) = &a.target.error {
                    spans.push(Span::styled(format!(" {e}"), t.crit));
                }
            }
        }
        lines.push(Line::from(spans));
        if let Some(st) = &a.target.last {
            let up = st.uptime.map(|u| fmt::seconds(u as f64)).unwrap_or_default();
            lines.push(Line::from(Span::styled(
                format!("       {} {} up {}  idle {}", st.server_version, st.mpm, up, st.idle_workers),
                t.muted,
            )));
        }
    }
    f.render_widget(Paragraph::new(lines), area);
}
