//! The Apache pane: per server busy workers against capacity as a bar (warning, then critical
//! with a word as it fills: at capacity requests wait in the kernel, seed 002's MaxClients),
//! requests/s and bytes/s from counter deltas, a sparkline of busy workers, the scoreboard by
//! state, version, MPM, uptime and async connections; then the requests running now from every
//! server, longest first (seed 004: the URI that never finishes stands out). Zoomed, the
//! scoreboard itself and the whole in-flight list with client and vhost.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::spark::spark;
use super::{Ctx, note};
use crate::app::collected::{ApacheTarget, Health};
use crate::fmt;
use crate::model::apache::{ApacheStatus, SCOREBOARD};
use crate::model::apache_workers::InFlight;
use crate::ui::health_style;
use crate::ui::theme::Theme;

/// Busy fraction from which the bar warns, and from which it is critical.
const WARN_RATIO: f64 = 0.75;
const CRIT_RATIO: f64 = 0.9;

fn busy_style(st: &ApacheStatus, t: &Theme) -> Style {
    let r = st.busy_ratio();
    if r >= CRIT_RATIO {
        t.crit
    } else if r >= WARN_RATIO {
        t.warn
    } else {
        t.bar_busy
    }
}

/// The words that carry the warning without colour (`short` for narrow panes).
fn capacity_word(st: &ApacheStatus, short: bool) -> Option<String> {
    let r = st.busy_ratio();
    let pct = r * 100.0;
    if st.busy_workers >= st.capacity() {
        Some(if short { "FULL".into() } else { "FULL: new requests wait".into() })
    } else if r >= CRIT_RATIO {
        Some(if short { format!("{pct:.0}%!") } else { format!("NEAR CAPACITY {pct:.0}%") })
    } else if r >= WARN_RATIO {
        Some(if short { format!("{pct:.0}%") } else { format!("busy {pct:.0}%") })
    } else {
        None
    }
}

/// `W3 R1 _14 .2`: the scoreboard states present, in documented order.
fn states_text(st: &ApacheStatus, long: bool) -> String {
    st.by_state()
        .iter()
        .map(|(c, n)| {
            let label = SCOREBOARD.iter().find(|(s, _)| s == c).map_or("other", |(_, l)| l);
            if long { format!("{c} {n} {label}") } else { format!("{c}{n}") }
        })
        .collect::<Vec<_>>()
        .join(if long { ", " } else { " " })
}

fn about_text(st: &ApacheStatus) -> String {
    let mut parts = Vec::new();
    if !st.server_version.is_empty() {
        parts.push(st.server_version.clone());
    }
    if !st.mpm.is_empty() {
        parts.push(st.mpm.clone());
    }
    if let Some(u) = st.uptime {
        parts.push(format!("up {}", fmt::seconds(u as f64)));
    }
    if let (Some(w), Some(k), Some(c)) = (st.conns_async_writing, st.conns_async_keepalive, st.conns_async_closing) {
        parts.push(format!("async w{w} k{k} c{c}"));
    }
    parts.join("  ")
}

/// The first line of a server: name, bar, busy/capacity, rates, sparkline, warning.
fn server_line(i: usize, a: &ApacheTarget, width: usize, bar_w: usize, ctx: &Ctx) -> Line<'static> {
    let t = ctx.theme;
    let h = a.target.health(ctx.now, ctx.app.data.stale_after());
    let (hs, word) = health_style(h, t);
    let name_style = if ctx.focused && i == ctx.selected { t.selected } else { t.title };
    let mut spans = vec![Span::styled(format!("{:<6} ", fmt::cut(&a.target.name, 6)), name_style)];
    let st = match (&a.target.last, h) {
        (Some(st), Health::Up | Health::Stale) => st,
        _ => {
            spans.push(Span::styled(word, hs));
            if let Some(e) = &a.target.error {
                spans.push(Span::styled(format!(" {e}"), t.crit));
            }
            return Line::from(spans);
        }
    };
    let wide = width >= 64;
    let cap = st.capacity().max(1) as usize;
    let busy = st.busy_workers as usize;
    let filled = (busy * bar_w).div_ceil(cap).min(bar_w);
    let bs = busy_style(st, t);
    spans.push(Span::styled("█".repeat(filled), bs));
    spans.push(Span::styled("░".repeat(bar_w - filled), t.bar_idle));
    spans.push(Span::styled(format!(" {busy:>3}/{cap:<3}"), bs));
    spans.push(Span::raw(match a.rates {
        Some(r) if wide => format!(" {:>6.1} req/s {:>9}/s", r.requests, fmt::bytes(r.bytes)),
        Some(r) => format!(" {:>6.1} r/s", r.requests),
        None if wide => "      - req/s         -/s".into(),
        None => "      - r/s".into(),
    }));
    let mut tail = Vec::new();
    if let Some(w) = capacity_word(st, !wide) {
        tail.push(Span::styled(format!(" {w}"), bs));
    }
    if h == Health::Stale {
        tail.push(Span::styled(format!(" {word}"), hs));
    }
    spans.extend(tail);
    Line::from(spans)
}

/// The second line of a server: scoreboard by state, version, uptime, async connections, and a
/// sparkline of busy workers in the room left.
fn second_line(a: &ApacheTarget, st: &ApacheStatus, text: String, width: usize, t: &Theme) -> Line<'static> {
    let spark_w = width.saturating_sub(text.chars().count() + 8).min(30);
    if spark_w < 6 {
        return Line::from(Span::styled(fmt::cut(&text, width), t.muted));
    }
    let pts: Vec<Option<f64>> = a.busy.tail(spark_w).collect();
    let pad = width - text.chars().count() - spark_w - 6;
    let mut spans = vec![Span::styled(text, t.muted), Span::raw(" ".repeat(pad)), Span::styled(" busy ", t.label)];
    spans.push(Span::raw(" ".repeat(spark_w - pts.len())));
    spans.extend(spark(&pts, Some(st.capacity().max(1) as f64), t.spark, t.stale));
    Line::from(spans)
}

/// One bar width for every server (so bars compare), leaving room for the widest warning.
fn bar_width(width: usize, ctx: &Ctx) -> usize {
    let stale = ctx.app.data.stale_after();
    let word_w = ctx
        .app
        .data
        .apaches
        .iter()
        .map(|a| {
            let h = a.target.health(ctx.now, stale);
            let word = a
                .target
                .last
                .as_ref()
                .and_then(|st| capacity_word(st, width < 64))
                .map_or(0, |w| w.chars().count() + 1);
            word + if h == Health::Stale { 6 } else { 0 }
        })
        .max()
        .unwrap_or(0);
    let wide = width >= 64;
    // Name, busy/capacity and rates.
    let fixed = 7 + 9 + if wide { 26 } else { 11 };
    width.saturating_sub(fixed + word_w).clamp(4, 30)
}

/// Every running request of the servers that answer, longest first.
fn in_flight<'a>(ctx: &Ctx<'a>) -> (Vec<(&'a str, &'a InFlight)>, Vec<String>) {
    let stale = ctx.app.data.stale_after();
    let mut all = Vec::new();
    let mut notes = Vec::new();
    for a in &ctx.app.data.apaches {
        if !matches!(a.target.health(ctx.now, stale), Health::Up | Health::Stale) {
            continue;
        }
        let Some(st) = &a.target.last else { continue };
        match &st.in_flight {
            Some(list) => all.extend(list.iter().map(|r| (a.target.name.as_str(), r))),
            None => {
                if let Some(n) = &st.in_flight_note {
                    notes.push(format!("{}: no in-flight list: {n}", a.target.name));
                }
            }
        }
    }
    all.sort_by_key(|r| std::cmp::Reverse(r.1.seconds));
    (all, notes)
}

fn seconds_style(s: u64, t: &Theme) -> Style {
    if s >= 60 {
        t.crit
    } else if s >= 10 {
        t.warn
    } else {
        Style::default()
    }
}

fn in_flight_line(name: &str, r: &InFlight, width: usize, zoomed: bool, t: &Theme) -> Line<'static> {
    let request = if r.request.is_empty() { "(reading the request)".to_string() } else { r.request.clone() };
    let mut spans = vec![
        Span::styled(format!("  {:<6}", fmt::cut(name, 6)), t.label),
        Span::styled(format!("{:>6} ", fmt::seconds(r.seconds as f64)), seconds_style(r.seconds, t)),
        Span::styled(format!("{} ", r.mode), t.muted),
    ];
    let tail = if zoomed { format!("  {}  {}", r.client, r.vhost) } else { format!("  {}", r.client) };
    let room = width.saturating_sub(18 + tail.chars().count().min(width / 3));
    spans.push(Span::raw(fmt::cut(&request, room.max(12))));
    spans.push(Span::styled(fmt::cut(&tail, width / 3), t.muted));
    Line::from(spans)
}

pub fn draw(f: &mut Frame, area: Rect, ctx: &Ctx) {
    let app = ctx.app;
    let t = ctx.theme;
    if app.data.apaches.is_empty() {
        return note(f, area, t, "no [[apache]] in the config");
    }
    let width = area.width as usize;
    let height = area.height as usize;
    let zoomed = app.zoom && ctx.focused;
    let n = app.data.apaches.len();
    let per = if zoomed && height >= n * 4 + 3 {
        4
    } else if height >= n * 2 + 2 {
        2
    } else {
        1
    };
    let bar_w = bar_width(width, ctx);
    let mut lines = Vec::new();
    for (i, a) in app.data.apaches.iter().enumerate() {
        lines.push(server_line(i, a, width, bar_w, ctx));
        let Some(st) = a.target.last.as_ref().filter(|_| per >= 2) else { continue };
        if zoomed && per >= 4 {
            lines.push(Line::from(Span::styled(format!("       {}", states_text(st, true)), t.muted)));
            lines.push(second_line(a, st, format!("       {}", about_text(st)), width, t));
            let board = fmt::cut(&st.scoreboard, width.saturating_sub(20));
            lines.push(Line::from(vec![Span::styled("       scoreboard ", t.label), Span::raw(board)]));
        } else {
            lines.push(second_line(a, st, format!("       {}  {}", states_text(st, false), about_text(st)), width, t));
        }
    }
    let (running, notes) = in_flight(ctx);
    let room = height.saturating_sub(lines.len());
    if room >= 2 {
        let title = if running.is_empty() {
            "in flight: none".to_string()
        } else {
            format!("in flight, longest first ({})", running.len())
        };
        lines.push(Line::from(Span::styled(title, t.label)));
        let mut left = room - 1;
        for (name, r) in &running {
            if left == 0 {
                break;
            }
            lines.push(in_flight_line(name, r, width, zoomed, t));
            left -= 1;
        }
        for note in notes.iter().take(left) {
            lines.push(Line::from(Span::styled(format!("  {}", fmt::cut(note, width.saturating_sub(2))), t.muted)));
        }
    }
    f.render_widget(Paragraph::new(lines), area);
}
