//! The replication ring pane: the ring drawn as a loop (broken links marked with their error),
//! one row per node with a lag sparkline, then the findings worst first and, when the ring is
//! broken, the node with the most complete data. Zoomed, it adds every replication field of the
//! selected node with the full error text.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

use super::ring_graph::{self, GraphNode};
use super::spark::spark;
use super::{Ctx, note, scroll_offset};
use crate::app::collected::Health;
use crate::fmt;
use crate::model::replication::IoState;
use crate::model::topology::{LinkState, Severity, Shape, Topology, Upstream};
use crate::ui::health_style;

/// Polls of lag drawn in the table's history column.
pub const HISTORY_COLUMN: usize = 12;

/// The mark for a node's health (so meaning never rests on colour).
fn mark(h: Health) -> &'static str {
    match h {
        Health::Up => "●",
        Health::Down => "✗",
        _ => "○",
    }
}

/// Drawing order: the ring's own order when it is one, else config order.
fn ring_order(topo: &Topology, n: usize) -> Vec<usize> {
    match &topo.shape {
        Shape::Ring(order) if order.len() == n => order.clone(),
        _ => (0..n).collect(),
    }
}

/// The ring as one line: `node1 ──▶ node2 ──✗ node3 ──▶ node1`.
fn ring_line(ctx: &Ctx, topo: &Topology, order: &[usize]) -> Line<'static> {
    let t = ctx.theme;
    let s = ctx.app.data.stale_after();
    let n = order.len();
    let mut spans = Vec::new();
    for k in 0..=n {
        let node = &ctx.app.data.nodes[order[k % n]];
        let (st, _) = health_style(node.health(ctx.now, s), t);
        spans.push(Span::styled(node.name.clone(), st));
        if k == n {
            break;
        }
        let (arrow, style) = match topo.link_between(order[k], order[(k + 1) % n]).map(|l| l.state) {
            Some(LinkState::Running) => (" ──▶ ", t.ok),
            Some(LinkState::Lagging) => (" ──▶ ", t.warn),
            Some(LinkState::Broken) => (" ──✗ ", t.crit),
            Some(LinkState::Unknown) => (" ┄?┄ ", t.stale),
            None if ctx.app.data.nodes[order[(k + 1) % n]].health(ctx.now, s) != Health::Up => (" ┄?┄ ", t.stale),
            None => (" ╳ ", t.crit),
        };
        spans.push(Span::styled(arrow, style));
    }
    Line::from(spans)
}

pub fn draw(f: &mut Frame, area: Rect, ctx: &Ctx) {
    let app = ctx.app;
    if app.data.nodes.is_empty() {
        return note(f, area, ctx.theme, "no [[node]] in the config");
    }
    let topo = app.data.topology(ctx.now);
    let zoomed = app.zoom && ctx.focused;
    let (main, side) = if zoomed && area.width >= 120 {
        let [m, s] = Layout::horizontal([Constraint::Percentage(55), Constraint::Fill(1)]).spacing(2).areas(area);
        (m, Some(s))
    } else {
        (area, None)
    };
    let order = ring_order(&topo, app.data.nodes.len());
    let s = app.data.stale_after();
    let graph_nodes: Vec<GraphNode> = order
        .iter()
        .map(|&i| {
            let h = app.data.nodes[i].health(ctx.now, s);
            GraphNode {
                name: &app.data.nodes[i].name,
                mark: mark(h),
                style: health_style(h, ctx.theme).0,
                answering: h == Health::Up,
            }
        })
        .collect();
    let findings = finding_lines(ctx, &topo);
    let table_h = app.data.nodes.len() as u16 + 1;
    let findings_h = (findings.len() as u16).min(6);
    let graph = (main.height >= ring_graph::HEIGHT + table_h + findings_h)
        .then(|| ring_graph::draw(&graph_nodes, &order, &topo, ctx.theme, main.width))
        .flatten();
    let ring_lines = graph.unwrap_or_else(|| vec![ring_line(ctx, &topo, &order)]);
    let [ring, table, rest] = Layout::vertical([
        Constraint::Length(ring_lines.len() as u16),
        Constraint::Length(table_h),
        Constraint::Fill(1),
    ])
    .areas(main);
    f.render_widget(Paragraph::new(ring_lines), ring);
    draw_table(f, table, ctx, &topo);
    match side {
        Some(side) => {
            f.render_widget(Paragraph::new(findings), rest);
            f.render_widget(Paragraph::new(detail_lines(ctx, &topo, side.width)).wrap(Wrap { trim: false }), side);
        }
        None if zoomed => {
            let [fa, da] = Layout::vertical([Constraint::Length(findings_h.max(1)), Constraint::Fill(1)]).areas(rest);
            f.render_widget(Paragraph::new(findings), fa);
            f.render_widget(Paragraph::new(detail_lines(ctx, &topo, da.width)).wrap(Wrap { trim: false }), da);
        }
        None => f.render_widget(Paragraph::new(findings), rest),
    }
}

fn draw_table(f: &mut Frame, area: Rect, ctx: &Ctx, topo: &Topology) {
    let app = ctx.app;
    let t = ctx.theme;
    let s = app.data.stale_after();
    // Narrow panes drop the lag history column first.
    let narrow = area.width < 100;
    let mut head = vec!["", "node", "state", "threads", "lag", "from", "lag history", "binlog / error"];
    if narrow {
        head.remove(6);
    }
    let header = Row::new(head).style(t.header);
    let rows: Vec<Row> = app
        .data
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let h = node.health(ctx.now, s);
            let (hs, word) = health_style(h, t);
            let status = node.last.as_ref().filter(|_| h != Health::Unknown);
            let links: Vec<_> = topo.links.iter().filter(|l| l.downstream == i).collect();
            let threads = match status.map(|st| st.links.as_slice()) {
                Some([]) => Line::from(Span::styled("no replica", t.warn)),
                Some(raw) => {
                    let mut spans = Vec::new();
                    for l in raw {
                        spans.push(match l.io {
                            IoState::Running => Span::styled("IO✓", t.ok),
                            IoState::Connecting => Span::styled("IO…", t.warn),
                            _ => Span::styled("IO✗", t.crit),
                        });
                        spans.push(Span::raw(" "));
                        spans.push(if l.sql_running && l.last_sql_errno == 0 {
                            Span::styled("SQL✓", t.ok)
                        } else if l.last_sql_errno > 0 {
                            Span::styled(format!("SQL✗ {}", l.last_sql_errno), t.crit)
                        } else {
                            Span::styled("SQL✗", t.crit)
                        });
                    }
                    Line::from(spans)
                }
                None => Line::from(""),
            };
            let lag = links
                .iter()
                .filter_map(|l| l.seconds_behind)
                .max()
                .map(|v| fmt::seconds(v as f64))
                .unwrap_or_else(|| "-".into());
            let from = links
                .iter()
                .map(|l| match &l.upstream {
                    Upstream::Node(u) => app.data.nodes[*u].name.clone(),
                    Upstream::External { host, port } => format!("{host}:{port}!"),
                })
                .collect::<Vec<_>>()
                .join(",");
            // HAProxy has it out of the pool (drained by the agent or by hand): said first.
            let out = app.data.out_of_pool(i);
            let mut last_col: Vec<Span> = Vec::new();
            if !out.is_empty() {
                last_col.push(Span::styled(format!("out: {}  ", out.join(", ")), t.warn));
            }
            last_col.push(match (&node.error, status.and_then(|st| st.binlog.as_ref())) {
                (Some(e), _) => Span::styled(e.clone(), t.crit),
                (None, Some(b)) => Span::styled(format!("{}:{}", b.file, b.position), t.muted),
                (None, None) => Span::raw(""),
            });
            let state = match (h, node.age(ctx.now)) {
                (Health::Stale, Some(age)) => format!("stale {}", fmt::duration(age)),
                _ => word.to_string(),
            };
            let hist: Vec<Option<f64>> = app.data.node_lag[i].tail(HISTORY_COLUMN).collect();
            let mut cells = vec![
                Cell::from(Span::styled(mark(h), hs)),
                Cell::from(node.name.clone()),
                Cell::from(Span::styled(state, hs)),
                Cell::from(threads),
                Cell::from(lag),
                Cell::from(from),
                Cell::from(Line::from(spark(
                    &hist,
                    Some(hist.iter().flatten().copied().fold(10.0, f64::max)),
                    t.spark,
                    t.stale,
                ))),
                Cell::from(Line::from(last_col)),
            ];
            if narrow {
                cells.remove(6);
            }
            let row = Row::new(cells);
            if ctx.focused && i == ctx.selected { row.style(t.selected) } else { row }
        })
        .collect();
    let offset = scroll_offset(ctx.selected, area.height.saturating_sub(1) as usize);
    let widths = [
        Constraint::Length(1),
        Constraint::Length(8),
        Constraint::Length(9),
        Constraint::Length(13),
        Constraint::Length(5),
        Constraint::Length(8),
        Constraint::Length(12),
        Constraint::Fill(1),
    ];
    let mut widths = widths.to_vec();
    if narrow {
        widths.remove(6);
    }
    f.render_widget(Table::new(rows.into_iter().skip(offset), widths).header(header).column_spacing(1), area);
}

/// Findings worst first, then the most-complete node when the ring is broken.
fn finding_lines(ctx: &Ctx, topo: &Topology) -> Vec<Line<'static>> {
    let t = ctx.theme;
    let mut out: Vec<Line> = topo
        .findings
        .iter()
        .flat_map(|f| {
            let st = match f.severity {
                Severity::Critical => t.crit,
                Severity::Warning => t.warn,
                Severity::Unknown => t.stale,
                Severity::Ok => t.ok,
            };
            let mut v = vec![Line::from(vec![
                Span::styled(format!("{:<4} ", short(f.severity)), st),
                Span::raw(f.message.clone()),
            ])];
            if let Some(a) = &f.advice {
                v.push(Line::from(Span::styled(format!("     → {a}"), t.muted)));
            }
            v
        })
        .collect();
    if let Some(mc) = &topo.most_complete {
        let name = ctx.app.data.nodes.get(mc.node).map_or("?", |n| n.name.as_str());
        let how = if mc.certain { "" } else { " (a judgement call: several breaks)" };
        let hint = if ctx.app.zoom { "" } else { "  (z: evidence)" };
        out.push(Line::from(vec![
            Span::styled("best ", t.label),
            Span::styled(format!("most complete data: {name}"), t.title),
            Span::raw(how),
            Span::styled(hint, t.muted),
        ]));
    }
    if out.is_empty() {
        out.push(Line::from(Span::styled("ring healthy: every link running, no findings", t.ok)));
    }
    out
}

fn short(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "CRIT",
        Severity::Warning => "WARN",
        Severity::Unknown => "UNKN",
        Severity::Ok => "OK",
    }
}

/// Every replication field of the selected node, with full error texts and its lag history.
fn detail_lines(ctx: &Ctx, topo: &Topology, width: u16) -> Vec<Line<'static>> {
    let t = ctx.theme;
    let app = ctx.app;
    let i = ctx.selected.min(app.data.nodes.len().saturating_sub(1));
    let node = &app.data.nodes[i];
    let kv = |k: &str, v: String| Line::from(vec![Span::styled(format!("{k:>22}  "), t.label), Span::raw(v)]);
    let mut out = vec![Line::from(Span::styled(format!("{}  {}", node.name, node.address), t.title))];
    if let Some(e) = &node.error {
        out.push(Line::from(vec![Span::styled("last poll failed: ", t.crit), Span::raw(e.clone())]));
    }
    let Some(st) = &node.last else {
        out.push(Line::from(Span::styled("no sample yet", t.muted)));
        return out;
    };
    let v = &st.vars;
    out.push(kv("version", format!("{} ({})", st.version, st.dialect.label())));
    out.push(kv("server_id", v.server_id.to_string()));
    out.push(kv("read_only", if v.read_only { "ON".into() } else { "OFF".into() }));
    out.push(kv(
        "auto_increment",
        format!("increment {} offset {}", v.auto_increment_increment, v.auto_increment_offset),
    ));
    out.push(kv("log_slave_updates", if v.log_slave_updates { "ON".into() } else { "OFF".into() }));
    out.push(kv("uptime", fmt::seconds(st.counters.uptime as f64)));
    out.push(kv(
        "threads",
        format!(
            "{} connected / {} max, {} running",
            st.counters.threads_connected, v.max_connections, st.counters.threads_running
        ),
    ));
    out.push(kv("binlog", st.binlog.as_ref().map_or("off".into(), |b| format!("{}:{}", b.file, b.position))));
    if !v.gtid_binlog_pos.is_empty() {
        out.push(kv("gtid_binlog_pos", v.gtid_binlog_pos.clone()));
    }
    if !v.gtid_slave_pos.is_empty() {
        out.push(kv("gtid_slave_pos", v.gtid_slave_pos.clone()));
    }
    let hist: Vec<Option<f64>> = app.data.node_lag[i].tail(width.saturating_sub(26) as usize).collect();
    let mut lag = vec![Span::styled(format!("{:>22}  ", "lag history"), t.label)];
    lag.extend(spark(&hist, None, t.spark, t.stale));
    out.push(Line::from(lag));
    for (k, l) in st.links.iter().enumerate() {
        let link = topo.links.iter().filter(|x| x.downstream == i).nth(k);
        let from = match link.map(|x| &x.upstream) {
            Some(Upstream::Node(u)) => app.data.nodes[*u].name.clone(),
            _ => "outside the configured nodes".into(),
        };
        let title =
            if l.connection.is_empty() { "replication".to_string() } else { format!("connection '{}'", l.connection) };
        out.push(Line::from(Span::styled(
            format!("{title} from {from} ({}:{})", l.master_host, l.master_port),
            t.title,
        )));
        out.push(kv("IO / SQL thread", format!("{:?} / {}", l.io, if l.sql_running { "Running" } else { "Stopped" })));
        out.push(kv("seconds behind", l.seconds_behind.map_or("NULL".into(), |s| s.to_string())));
        if let Some(b) = link.and_then(|x| x.bytes_behind) {
            out.push(kv("bytes behind", b.to_string()));
        }
        out.push(kv("read (IO)", format!("{}:{}", l.master_log_file, l.read_master_log_pos)));
        out.push(kv("executed (SQL)", format!("{}:{}", l.relay_master_log_file, l.exec_master_log_pos)));
        out.push(kv("using gtid", format!("{} {}", l.using_gtid, l.gtid_io_pos)));
        if !l.sql_state.is_empty() {
            out.push(kv("SQL state", l.sql_state.clone()));
        }
        if l.last_io_errno != 0 {
            out.push(Line::from(vec![
                Span::styled(format!("{:>22}  ", format!("IO error {}", l.last_io_errno)), t.crit),
                Span::raw(l.last_io_error.clone()),
            ]));
        }
        if l.last_sql_errno != 0 {
            out.push(Line::from(vec![
                Span::styled(format!("{:>22}  ", format!("SQL error {}", l.last_sql_errno)), t.crit),
                Span::raw(l.last_sql_error.clone()),
            ]));
        }
    }
    if let Some(mc) = &topo.most_complete {
        let name = app.data.nodes.get(mc.node).map_or("?", |n| n.name.as_str());
        out.push(Line::from(Span::styled(format!("most complete data: {name}"), t.title)));
        out.push(Line::from(Span::raw(mc.reason.clone())));
        for e in &mc.evidence {
            out.push(Line::from(Span::styled(format!("  {e}"), Style::default())));
        }
    }
    out
}
