//! The HAProxy pane: per instance, its frontends, backends and servers with status, sessions
//! against the limit, queue (any queued connection stands out), rate, 5xx and check.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};

use super::{Ctx, note, scroll_offset};
use crate::app::state::Health;
use crate::model::haproxy::{RowKind, StatRow};
use crate::ui::health_style;

fn status_style(r: &StatRow, ctx: &Ctx) -> ratatui::style::Style {
    let t = ctx.theme;
    match r.status.as_str() {
        s if s.starts_with("UP") && s.contains('/') => t.warn,
        s if s.starts_with("UP") || s == "OPEN" => t.ok,
        "DRAIN" | "MAINT" | "NOLB" => t.warn,
        "no check" => t.muted,
        _ => t.crit,
    }
}

/// Rows grouped by proxy in order of first appearance: the proxy's aggregates, then its servers.
pub fn grouped(stats: &[StatRow]) -> Vec<&StatRow> {
    let mut proxies: Vec<&str> = Vec::new();
    for r in stats {
        if !proxies.contains(&r.proxy.as_str()) {
            proxies.push(&r.proxy);
        }
    }
    let mut out = Vec::with_capacity(stats.len());
    for p in proxies {
        let rows = stats.iter().filter(|r| r.proxy == p);
        out.extend(rows.clone().filter(|r| matches!(r.kind(), RowKind::Frontend | RowKind::Backend)));
        out.extend(rows.filter(|r| !matches!(r.kind(), RowKind::Frontend | RowKind::Backend)));
    }
    out
}

pub fn draw(f: &mut Frame, area: Rect, ctx: &Ctx) {
    let app = ctx.app;
    let t = ctx.theme;
    if app.haproxies.is_empty() {
        return note(f, area, t, "no [[haproxy]] in the config");
    }
    let s = app.stale_after();
    let mut rows: Vec<Row> = Vec::new();
    let mut index = 0usize;
    for h in &app.haproxies {
        let health = h.health(ctx.now, s);
        let (hs, word) = health_style(health, t);
        let mut title = vec![Span::styled(format!("{} ", h.name), t.title), Span::styled(word, hs)];
        if let Some(e) = &h.error {
            title.push(Span::styled(format!("  {e}"), t.crit));
        }
        rows.push(Row::new(vec![Cell::from(Line::from(title))]));
        let Some(stats) = &h.last else { continue };
        let dim = health != Health::Up;
        for r in grouped(stats) {
            let name = match r.kind() {
                RowKind::Frontend => format!("{} (fe)", r.proxy),
                RowKind::Backend => format!("{} (be)", r.proxy),
                _ => format!("  {}", r.server),
            };
            let sessions = match r.slim {
                Some(l) => format!("{}/{}", r.scur, l),
                None => r.scur.to_string(),
            };
            let queue = format!("{}/{}", r.qcur, r.qmax);
            let queue_style = if r.qcur > 0 {
                t.crit
            } else if r.qmax > 0 {
                t.warn
            } else {
                t.muted
            };
            let weight = r.weight.map(|w| w.to_string()).unwrap_or_default();
            let mut row = Row::new(vec![
                Cell::from(name),
                Cell::from(Span::styled(r.status.clone(), status_style(r, ctx))),
                Cell::from(weight),
                Cell::from(sessions),
                Cell::from(Span::styled(queue, queue_style)),
                Cell::from(r.rate.to_string()),
                Cell::from(Span::styled(r.hrsp_5xx.to_string(), if r.hrsp_5xx > 0 { t.warn } else { t.muted })),
                Cell::from(Span::styled(r.check_status.clone(), t.muted)),
            ]);
            if dim {
                row = row.style(t.stale);
            }
            if ctx.focused && index == ctx.selected {
                row = row.style(t.selected);
            }
            index += 1;
            rows.push(row);
        }
    }
    // Narrow panes drop the least urgent columns rather than the names.
    let keep = if area.width >= 64 {
        8
    } else if area.width >= 50 {
        6
    } else {
        5
    };
    // (Table zips cells with widths, so the extra cells of each row are simply not drawn.)
    let header =
        Row::new(["proxy/server", "status", "wt", "sess", "queue", "rate", "5xx", "check"].into_iter().take(keep))
            .style(ctx.theme.header);
    let widths = [
        Constraint::Min(10),
        Constraint::Length(8),
        Constraint::Length(3),
        Constraint::Length(8),
        Constraint::Length(6),
        Constraint::Length(5),
        Constraint::Length(4),
        Constraint::Length(7),
    ];
    let widths = &widths[..keep];
    let offset = scroll_offset(ctx.selected, area.height.saturating_sub(3) as usize);
    f.render_widget(
        Table::new(rows.into_iter().skip(offset), widths.iter().copied()).header(header).column_spacing(1),
        area,
    );
}
