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
/// One pass with an index, so thousands of servers stay cheap.
pub fn grouped(stats: &[StatRow]) -> Vec<&StatRow> {
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut groups: Vec<(Vec<&StatRow>, Vec<&StatRow>)> = Vec::new();
    for r in stats {
        let g = *index.entry(r.proxy.as_str()).or_insert_with(|| {
            groups.push((Vec::new(), Vec::new()));
            groups.len() - 1
        });
        if matches!(r.kind(), RowKind::Frontend | RowKind::Backend) {
            groups[g].0.push(r);
        } else {
            groups[g].1.push(r);
        }
    }
    groups.into_iter().flat_map(|(aggregates, servers)| aggregates.into_iter().chain(servers)).collect()
}

/// One line of the pane before it is drawn: an instance's title, or a stats row.
enum Entry<'a> {
    Title(&'a crate::app::state::Target<Vec<StatRow>>, Health),
    Stat { row: &'a StatRow, dim: bool, selectable: usize },
}

fn stat_row<'a>(r: &StatRow, ctx: &Ctx) -> Row<'a> {
    let t = ctx.theme;
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
    Row::new(vec![
        Cell::from(name),
        Cell::from(Span::styled(r.status.clone(), status_style(r, ctx))),
        Cell::from(r.weight.map(|w| w.to_string()).unwrap_or_default()),
        Cell::from(sessions),
        Cell::from(Span::styled(queue, queue_style)),
        Cell::from(r.rate.to_string()),
        Cell::from(Span::styled(r.hrsp_5xx.to_string(), if r.hrsp_5xx > 0 { t.warn } else { t.muted })),
        Cell::from(Span::styled(r.check_status.clone(), t.muted)),
    ])
}

pub fn draw(f: &mut Frame, area: Rect, ctx: &Ctx) {
    let app = ctx.app;
    let t = ctx.theme;
    if app.haproxies.is_empty() {
        return note(f, area, t, "no [[haproxy]] in the config");
    }
    let s = app.stale_after();
    let mut entries: Vec<Entry> = Vec::new();
    let mut selectable = 0usize;
    for h in &app.haproxies {
        let health = h.health(ctx.now, s);
        entries.push(Entry::Title(h, health));
        let Some(stats) = &h.last else { continue };
        for row in grouped(stats) {
            entries.push(Entry::Stat { row, dim: health != Health::Up, selectable });
            selectable += 1;
        }
    }
    // Only the rows that fit are built: the selected one stays in view.
    let visible = area.height.saturating_sub(1) as usize;
    let sel_pos = entries
        .iter()
        .position(|e| matches!(e, Entry::Stat { selectable, .. } if *selectable == ctx.selected))
        .unwrap_or(0);
    let offset = scroll_offset(sel_pos, visible);
    let rows: Vec<Row> = entries
        .iter()
        .skip(offset)
        .take(visible)
        .map(|e| match e {
            Entry::Title(h, health) => {
                let (hs, word) = health_style(*health, t);
                let mut title = vec![Span::styled(format!("{} ", h.name), t.title), Span::styled(word, hs)];
                if let Some(e) = &h.error {
                    title.push(Span::styled(format!("  {e}"), t.crit));
                }
                Row::new(vec![Cell::from(Line::from(title))])
            }
            Entry::Stat { row, dim, selectable } => {
                let mut r = stat_row(row, ctx);
                if *dim {
                    r = r.style(t.stale);
                }
                if ctx.focused && *selectable == ctx.selected {
                    r = r.style(t.selected);
                }
                r
            }
        })
        .collect();
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
    f.render_widget(Table::new(rows, widths.iter().copied()).header(header).column_spacing(1), area);
}
