//! The slow-query pane: running statements across every node, longest first, without sleeping,
//! system and replication threads.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table};

use super::{Ctx, note, scroll_offset};
use crate::ui::fmt;

pub fn draw(f: &mut Frame, area: Rect, ctx: &Ctx) {
    let t = ctx.theme;
    if ctx.app.nodes.is_empty() {
        return note(f, area, t, "no [[node]] in the config");
    }
    let queries = ctx.app.visible_queries();
    if queries.is_empty() {
        return note(f, area, t, "no running statements (sleeping, system and replication threads hidden)");
    }
    let info_w = (area.width as usize).saturating_sub(8 + 8 + 10 + 8 + 7 + 6).max(10);
    let rows: Vec<Row> = queries
        .iter()
        .enumerate()
        .map(|(i, (node, p))| {
            let time_style = if p.time >= 10.0 {
                t.crit
            } else if p.time >= 1.0 {
                t.warn
            } else {
                t.muted
            };
            let row = Row::new(vec![
                Cell::from(node.to_string()),
                Cell::from(p.id.to_string()),
                Cell::from(fmt::cut(&p.user, 10)),
                Cell::from(fmt::cut(&p.db, 8)),
                Cell::from(Span::styled(format!("{:>6.1}s", p.time), time_style)),
                Cell::from(fmt::one_line(if p.info.is_empty() { &p.state } else { &p.info }, info_w)),
            ]);
            if ctx.focused && i == ctx.selected { row.style(t.selected) } else { row }
        })
        .collect();
    let header = Row::new(["node", "id", "user", "db", "time", "statement"]).style(t.header);
    let widths = [
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(10),
        Constraint::Length(8),
        Constraint::Length(7),
        Constraint::Fill(1),
    ];
    let offset = scroll_offset(ctx.selected, area.height.saturating_sub(1) as usize);
    f.render_widget(Table::new(rows.into_iter().skip(offset), widths).header(header).column_spacing(1), area);
}
