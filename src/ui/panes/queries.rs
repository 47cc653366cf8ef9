//! The slow-query pane: connection pressure per node on its first line (threads connected and
//! running against max_connections, seed 002), then running statements across every node,
//! longest first, without sleeping, system and replication threads, filtered with `/`. Zoomed,
//! the top statement digests of every node (performance_schema; a hint per node where it is off)
//! and the selected statement's drill-in (node, thread, full text, EXPLAIN for a SELECT) are
//! drawn under the table.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};

use super::{Ctx, note, scroll_offset};
use crate::app::queryview::{self, explainable};
use crate::fmt;
use crate::model::digest::{self, Digests};
use crate::model::replication::Process;
use crate::model::sqltext::{mask_secrets, normalise};
use crate::ui::theme::Theme;

/// The style of a share of max_connections.
fn pressure_style(used: u32, max: u32, t: &Theme) -> Style {
    if max == 0 {
        return t.muted;
    }
    let share = f64::from(used) / f64::from(max);
    if share >= 0.9 {
        t.crit
    } else if share >= 0.75 {
        t.warn
    } else {
        t.ok
    }
}

/// `node1 conn 5/151 run 2` per node that answered; `node1 5/151 r2` when that does not fit.
fn pressure_line(ctx: &Ctx, width: u16) -> Line<'static> {
    let full = pressure_spans(ctx, false);
    if full.iter().map(|s| s.width()).sum::<usize>() <= width as usize {
        Line::from(full)
    } else {
        Line::from(pressure_spans(ctx, true))
    }
}

fn pressure_spans(ctx: &Ctx, compact: bool) -> Vec<Span<'static>> {
    let t = ctx.theme;
    let (conn, run, gap) = if compact { ("", " r", " ") } else { ("conn ", " run ", "  ") };
    let mut spans = Vec::new();
    for n in &ctx.app.data.nodes {
        if !spans.is_empty() {
            spans.push(Span::raw(gap));
        }
        spans.push(Span::styled(format!("{} ", n.name), t.label));
        match &n.last {
            Some(s) => {
                let (c, r, max) = (s.counters.threads_connected, s.counters.threads_running, s.vars.max_connections);
                spans.push(Span::raw(conn));
                spans.push(Span::styled(format!("{c}/{max}"), pressure_style(c, max, t)));
                spans.push(Span::raw(run));
                spans.push(Span::styled(r.to_string(), pressure_style(r, max, t)));
            }
            None => spans.push(Span::styled("-", t.muted)),
        }
    }
    spans
}

fn time_style(p: &Process, t: &Theme) -> Style {
    if p.time >= 10.0 {
        t.crit
    } else if p.time >= 1.0 {
        t.warn
    } else {
        t.muted
    }
}

pub fn draw(f: &mut Frame, area: Rect, ctx: &Ctx) {
    let t = ctx.theme;
    let app = ctx.app;
    if app.data.nodes.is_empty() {
        return note(f, area, t, "no [[node]] in the config");
    }
    let [head, rest] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    f.render_widget(Paragraph::new(pressure_line(ctx, head.width)), head);
    let zoomed = app.zoom && ctx.focused;
    let (table_area, digest_area, detail_area) = if zoomed && rest.height >= 24 {
        let [a, d, b] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(8), Constraint::Length(10)]).areas(rest);
        (a, Some(d), Some(b))
    } else if zoomed && rest.height >= 14 {
        let [a, b] = Layout::vertical([Constraint::Fill(1), Constraint::Length(10)]).areas(rest);
        (a, None, Some(b))
    } else {
        (rest, None, None)
    };
    let queries = app.query_rows();
    let selected = queryview::selected_position(&queries, &app.queries);
    if queries.is_empty() {
        let text = if app.queries.show_hidden {
            "no threads".to_string()
        } else if app.queries.filter.is_empty() {
            "no running statements (sleeping, system and replication threads hidden: H shows them)".to_string()
        } else {
            format!("no running statement matches /{} (/ to change, esc in it to clear)", app.queries.filter)
        };
        note(f, table_area, t, &text);
    } else {
        draw_table(f, table_area, ctx, &queries, selected);
    }
    let mut notes = Vec::new();
    if app.queries.show_hidden {
        notes.push("all threads".to_string());
    }
    if !app.queries.filter.is_empty() {
        notes.push(format!("/{}", app.queries.filter));
    }
    if !notes.is_empty() && area.y > 0 {
        let label = format!(" {} ", notes.join("  "));
        let w = (label.chars().count() as u16).min(area.width);
        let r = Rect { x: area.x + area.width - w, y: area.y - 1, width: w, height: 1 };
        f.render_widget(Paragraph::new(Span::styled(label, t.label)), r);
    }
    if let Some(d) = digest_area {
        draw_digests(f, d, ctx);
    }
    if let Some(d) = detail_area {
        draw_detail(f, d, ctx, queries.get(selected).copied());
    }
}

/// Top statement digests of every node by total latency, and a hint per reason for the nodes
/// without (performance_schema off, no privilege).
fn draw_digests(f: &mut Frame, area: Rect, ctx: &Ctx) {
    let t = ctx.theme;
    let block = Block::default().borders(Borders::TOP).title(Span::styled(" top digests by total latency ", t.label));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let with: Vec<(&str, &Digests)> =
        ctx.app.data.nodes.iter().filter_map(|n| Some((n.name.as_str(), n.last.as_ref()?.digests.as_ref()?))).collect();
    // Nodes without digests, grouped by reason, in config order.
    let mut hints: Vec<(String, Vec<&str>)> = Vec::new();
    for (n, d) in &with {
        if let Digests::Unavailable(why) = d {
            match hints.iter_mut().find(|(w, _)| w == why) {
                Some((_, names)) => names.push(n),
                None => hints.push((why.clone(), vec![n])),
            }
        }
    }
    let hint_lines: Vec<Line> = hints
        .iter()
        .map(|(why, names)| Line::from(Span::styled(format!("{}: {why}", names.join(", ")), t.warn)))
        .collect();
    let rows = digest::merged(with.iter().map(|(n, d)| (*n, *d)));
    let table_h = inner.height.saturating_sub(hint_lines.len() as u16);
    let [table_area, hint_area] = Layout::vertical([Constraint::Length(table_h), Constraint::Fill(1)]).areas(inner);
    if rows.is_empty() {
        if hint_lines.is_empty() {
            note(f, inner, t, "no statement digests yet");
        } else {
            f.render_widget(Paragraph::new(hint_lines).wrap(Wrap { trim: false }), inner);
        }
        return;
    }
    let text_w = (inner.width as usize).saturating_sub(7 + 8 + 9 + 9 + 9 + 8 + 6).max(10);
    let body: Vec<Row> = rows
        .iter()
        .map(|(n, d)| {
            Row::new(vec![
                Cell::from(n.to_string()),
                Cell::from(format!("{:>7}", d.count)),
                Cell::from(format!("{:>8}", fmt::seconds(d.total))),
                Cell::from(format!("{:>8}", fmt::millis(d.avg * 1000.0))),
                Cell::from(format!("{:>8}", d.rows_examined)),
                Cell::from(fmt::cut(&d.schema, 8)),
                Cell::from(fmt::one_line(&d.text, text_w)),
            ])
        })
        .collect();
    let header = Row::new(["node", "  count", "   total", "     avg", "rows exa", "schema", "digest"]).style(t.header);
    let widths = [
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Fill(1),
    ];
    f.render_widget(Table::new(body, widths).header(header).column_spacing(1), table_area);
    f.render_widget(Paragraph::new(hint_lines), hint_area);
}

fn draw_table(f: &mut Frame, area: Rect, ctx: &Ctx, queries: &[(&str, &Process)], selected: usize) {
    let t = ctx.theme;
    let wide = area.width >= 110;
    let fixed = if wide { 7 + 8 + 10 + 16 + 8 + 8 + 14 + 8 + 8 } else { 7 + 8 + 10 + 8 + 8 + 5 };
    let info_w = (area.width as usize).saturating_sub(fixed).max(10);
    // Only the rows in view are built (a busy node set has thousands of statements).
    let offset = scroll_offset(selected, area.height.saturating_sub(1) as usize);
    let rows: Vec<Row> = queries
        .iter()
        .enumerate()
        .skip(offset)
        .take(area.height as usize)
        .map(|(i, (node, p))| {
            let text = fmt::one_line(&mask_secrets(if p.info.is_empty() { &p.state } else { &p.info }), info_w);
            let time = Cell::from(Span::styled(format!("{:>6.1}s", p.time), time_style(p, t)));
            let row = if wide {
                Row::new(vec![
                    Cell::from(node.to_string()),
                    Cell::from(p.id.to_string()),
                    Cell::from(fmt::cut(&p.user, 10)),
                    Cell::from(fmt::cut(&p.host, 16)),
                    Cell::from(fmt::cut(&p.db, 8)),
                    Cell::from(fmt::cut(&p.command, 8)),
                    Cell::from(fmt::cut(&p.state, 14)),
                    time,
                    Cell::from(text),
                ])
            } else {
                Row::new(vec![
                    Cell::from(node.to_string()),
                    Cell::from(p.id.to_string()),
                    Cell::from(fmt::cut(&p.user, 10)),
                    Cell::from(fmt::cut(&p.db, 8)),
                    time,
                    Cell::from(text),
                ])
            };
            if ctx.focused && i == selected { row.style(t.selected) } else { row }
        })
        .collect();
    let (header, widths): (Row, Vec<Constraint>) = if wide {
        (
            Row::new(["node", "id", "user", "host", "db", "command", "state", "time", "statement"]),
            vec![
                Constraint::Length(7),
                Constraint::Length(7),
                Constraint::Length(10),
                Constraint::Length(16),
                Constraint::Length(8),
                Constraint::Length(8),
                Constraint::Length(14),
                Constraint::Length(7),
                Constraint::Fill(1),
            ],
        )
    } else {
        (
            Row::new(["node", "id", "user", "db", "time", "statement"]),
            vec![
                Constraint::Length(7),
                Constraint::Length(7),
                Constraint::Length(10),
                Constraint::Length(8),
                Constraint::Length(7),
                Constraint::Fill(1),
            ],
        )
    };
    f.render_widget(Table::new(rows, widths).header(header.style(t.header)).column_spacing(1), area);
}

/// The drill-in lines of the selected statement.
pub fn detail_lines(ctx: &Ctx, sel: Option<(&str, &Process)>) -> Vec<Line<'static>> {
    let t = ctx.theme;
    let Some((node, p)) = sel else {
        return vec![Line::from(Span::styled("no statement selected", t.muted))];
    };
    let label = |s: &str| Span::styled(format!("{s:<10}"), t.label);
    let or = |s: &str| if s.is_empty() { "-".to_string() } else { s.to_string() };
    let mut out = vec![
        Line::from(vec![
            label("thread"),
            Span::styled(format!("{} on {node}", p.id), t.title),
            Span::raw(format!("  {}@{}  db {}  ", or(&p.user), or(&p.host), or(&p.db))),
            Span::styled(format!("{:.1}s", p.time), time_style(p, t)),
            Span::raw(format!("  {}  {}", or(&p.command), or(&p.state))),
        ]),
        Line::from(vec![label("statement"), Span::raw(normalise(&p.info, 4000))]),
    ];
    let explain = ctx.app.queries.explain.as_ref().filter(|e| e.key.node == node && e.key.id == p.id);
    match explain.map(|e| &e.result) {
        _ if !explainable(&p.info) => {
            out.push(Line::from(vec![label("explain"), Span::styled("only a SELECT is explained", t.muted)]));
        }
        None => out.push(Line::from(vec![label("explain"), Span::styled("…", t.muted)])),
        Some(Err(e)) => out.push(Line::from(vec![label("explain"), Span::styled(e.clone(), t.muted)])),
        Some(Ok((cols, rows))) => {
            let want = ["id", "select_type", "table", "type", "key", "rows", "Extra"];
            let idx: Vec<usize> = want.iter().filter_map(|w| cols.iter().position(|c| c == w)).collect();
            let head: Vec<String> = idx.iter().map(|i| cols[*i].clone()).collect();
            out.push(Line::from(vec![label("explain"), Span::styled(head.join(" | "), t.header)]));
            for r in rows {
                let vals: Vec<String> = idx.iter().map(|i| r.get(*i).cloned().unwrap_or_default()).collect();
                out.push(Line::from(vec![label(""), Span::raw(vals.join(" | "))]));
            }
        }
    }
    out.push(Line::from(Span::styled("x: kill query   X: kill connection   /: filter   esc: back", t.muted)));
    out
}

fn draw_detail(f: &mut Frame, area: Rect, ctx: &Ctx, sel: Option<(&str, &Process)>) {
    let block = Block::default().borders(Borders::TOP).title(Span::styled(" statement ", ctx.theme.label));
    f.render_widget(Paragraph::new(detail_lines(ctx, sel)).block(block).wrap(Wrap { trim: false }), area);
}
