//! The replication ring pane: the ring as a loop of links (broken ones marked with their error),
//! then one row per node, then the selected node's errors in full.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

use super::{Ctx, note, scroll_offset};
use crate::app::state::Health;
use crate::model::replication::{IoState, ReplicaLink};
use crate::model::ring::{NodeIdent, link_between, upstream_of};
use crate::ui::{fmt, health_style};

fn idents<'a>(ctx: &'a Ctx) -> Vec<NodeIdent<'a>> {
    ctx.app
        .nodes
        .iter()
        .map(|t| {
            let (host, port) = t.address.rsplit_once(':').unwrap_or((&t.address, "0"));
            NodeIdent {
                host,
                port: port.parse().unwrap_or(0),
                status: t.last.as_ref(),
            }
        })
        .collect()
}

/// The ring drawn as `node1 ──▶ node2 ──✗ node3 ──▶ node1`.
fn ring_line<'a>(ctx: &Ctx, ids: &[NodeIdent<'a>]) -> Line<'a> {
    let t = ctx.theme;
    let s = ctx.app.stale_after();
    let n = ctx.app.nodes.len();
    let mut spans = Vec::new();
    for i in 0..=n {
        let node = &ctx.app.nodes[i % n];
        let (st, _) = health_style(node.health(ctx.now, s), t);
        spans.push(Span::styled(node.name.clone(), st));
        if i == n {
            break;
        }
        let down = (i + 1) % n;
        let health = ctx.app.nodes[down].health(ctx.now, s);
        let (arrow, style) = match link_between(ids, i, down) {
            _ if health == Health::Down || health == Health::Unknown => (" ┄?┄ ", t.stale),
            Some(l) if l.healthy() => (" ──▶ ", t.ok),
            Some(_) => (" ──✗ ", t.crit),
            None => (" ╳ ", t.crit),
        };
        spans.push(Span::styled(arrow, style));
    }
    Line::from(spans)
}

fn io_cell(l: &ReplicaLink, ctx: &Ctx) -> Span<'static> {
    let t = ctx.theme;
    match l.io {
        IoState::Running => Span::styled("IO✓", t.ok),
        IoState::Connecting => Span::styled("IO…", t.warn),
        _ => Span::styled("IO✗", t.crit),
    }
}

pub fn draw(f: &mut Frame, area: Rect, ctx: &Ctx) {
    let app = ctx.app;
    let t = ctx.theme;
    if app.nodes.is_empty() {
        return note(f, area, t, "no [[node]] in the config");
    }
    let ids = idents(ctx);
    let details = detail_lines(ctx);
    let detail_h = if details.len() == 1 && ctx.app.nodes.iter().all(|n| n.error.is_none()) {
        1
    } else {
        3
    };
    let [ring, table, detail] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(2),
        Constraint::Length(detail_h),
    ])
    .areas(area);
    f.render_widget(
        Paragraph::new(ring_line(ctx, &ids)).wrap(Wrap { trim: true }),
        ring,
    );

    let s = app.stale_after();
    let header = Row::new([
        "",
        "node",
        "state",
        "threads",
        "lag",
        "from",
        "binlog / error",
    ])
    .style(t.header);
    let rows: Vec<Row> = app
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let h = node.health(ctx.now, s);
            let (hs, word) = health_style(h, t);
            let mark = match h {
                Health::Up => "●",
                Health::Down => "✗",
                _ => "○",
            };
            let status = node.last.as_ref().filter(|_| h != Health::Unknown);
            let (threads, lag, from) = match status.map(|st| st.links.as_slice()) {
                Some([]) => (
                    Line::from(Span::styled("no replica", t.warn)),
                    String::new(),
                    String::new(),
                ),
                Some(links) => {
                    let mut spans = Vec::new();
                    for l in links {
                        spans.push(io_cell(l, ctx));
                        spans.push(Span::raw(" "));
                        spans.push(if l.sql_running && l.last_sql_errno == 0 {
                            Span::styled("SQL✓", t.ok)
                        } else {
                            Span::styled(
                                format!(
                                    "SQL✗ {}",
                                    if l.last_sql_errno > 0 {
                                        l.last_sql_errno.to_string()
                                    } else {
                                        String::new()
                                    }
                                ),
                                t.crit,
                            )
                        });
                    }
                    let lag = links
                        .iter()
                        .filter_map(|l| l.seconds_behind)
                        .max()
                        .map(|v| fmt::seconds(v as f64))
                        .unwrap_or_else(|| "-".into());
                    let from = links
                        .iter()
                        .map(|l| {
                            upstream_of(l, &ids).map_or_else(
                                || format!("{}:{}?", l.master_host, l.master_port),
                                |u| app.nodes[u].name.clone(),
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(",");
                    (Line::from(spans), lag, from)
                }
                None => (Line::from(""), String::new(), String::new()),
            };
            let last_col = match (&node.error, status.and_then(|st| st.binlog.as_ref())) {
                (Some(e), _) => Span::styled(e.clone(), t.crit),
                (None, Some(b)) => Span::styled(format!("{}:{}", b.file, b.position), t.muted),
                (None, None) => Span::raw(""),
            };
            let state = match (h, node.age(ctx.now)) {
                (Health::Stale, Some(age)) => format!("stale {}", fmt::duration(age)),
                _ => word.to_string(),
            };
            let row = Row::new(vec![
                Cell::from(Span::styled(mark, hs)),
                Cell::from(node.name.clone()),
                Cell::from(Span::styled(state, hs)),
                Cell::from(threads),
                Cell::from(lag),
                Cell::from(from),
                Cell::from(last_col),
            ]);
            if ctx.focused && i == ctx.selected {
                row.style(t.selected)
            } else {
                row
            }
        })
        .collect();
    let offset = scroll_offset(ctx.selected, table.height.saturating_sub(1) as usize);
    let widths = [
        Constraint::Length(1),
        Constraint::Length(8),
        Constraint::Length(9),
        Constraint::Length(13),
        Constraint::Length(5),
        Constraint::Length(8),
        Constraint::Fill(1),
    ];
    f.render_widget(
        Table::new(rows.into_iter().skip(offset), widths)
            .header(header)
            .column_spacing(1),
        table,
    );
    f.render_widget(Paragraph::new(details), detail);
}

/// Every node's problems in full, worst first (down, then SQL, then IO), or a line saying there
/// are none. Within a severity the selected node comes first.
fn detail_lines<'a>(ctx: &Ctx) -> Vec<Line<'a>> {
    let t = ctx.theme;
    let nodes = &ctx.app.nodes;
    let sel = ctx.selected.min(nodes.len().saturating_sub(1));
    let mut found: Vec<(u8, bool, usize, Line<'a>)> = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        if let Some(e) = &node.error {
            found.push((
                0,
                i != sel,
                i,
                Line::from(vec![
                    Span::styled(format!("{} DOWN: ", node.name), t.crit),
                    Span::raw(e.clone()),
                ]),
            ));
            continue;
        }
        for l in node.last.iter().flat_map(|st| st.links.iter()) {
            if let Some(p) = l.problem() {
                let name = if l.connection.is_empty() {
                    node.name.clone()
                } else {
                    format!("{} [{}]", node.name, l.connection)
                };
                let severity = if p.starts_with("SQL") { 1 } else { 2 };
                found.push((
                    severity,
                    i != sel,
                    i,
                    Line::from(vec![
                        Span::styled(format!("{name}: "), t.crit),
                        Span::styled(p, Style::default()),
                    ]),
                ));
            }
        }
    }
    found.sort_by_key(|(sev, not_sel, i, _)| (*sev, *not_sel, *i));
    let mut out: Vec<Line> = found.into_iter().map(|(_, _, _, l)| l).collect();
    if out.is_empty() {
        out.push(Line::from(Span::styled("no replication errors", t.muted)));
    }
    out
}
