//! The HAProxy pane: per instance (side by side when there is room for each, else one under the
//! other) a title with version, uptime, connections and what is down or queued, then per proxy
//! its frontend and backend totals and its servers: status, check, weight, sessions against the
//! limit, queue (any queued connection is marked ▲ and critical: seed 002 says never to see one),
//! rate, 5xx, connection and response errors, last change and downtime. Columns are dropped by
//! urgency when the pane is narrow; only the rows in view are built, so thousands of servers stay
//! fast. Zoomed, the selected row's detail ([`detail`]) is drawn under the table.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

mod detail;

use super::{Ctx, note, scroll_offset};
use crate::app::collected::{Health, Target};
use crate::app::hapview::{self, SortKey};
use crate::fmt;
use crate::model::haproxy::{HaproxyStats, RowKind, StatRow, StatusClass};
use crate::ui::health_style;
use crate::ui::theme::Theme;

/// A column: header, width, and when it is dropped on a narrow pane (0: never; higher: sooner).
struct Col {
    title: &'static str,
    width: u16,
    drop: u8,
    right: bool,
}

const COLS: [Col; 14] = [
    Col { title: "proxy/server", width: 12, drop: 0, right: false },
    Col { title: "status", width: 9, drop: 0, right: false },
    Col { title: "check", width: 10, drop: 4, right: false },
    Col { title: "wt", width: 3, drop: 5, right: true },
    Col { title: "sess", width: 8, drop: 0, right: true },
    Col { title: "smax", width: 5, drop: 6, right: true },
    Col { title: "queue", width: 7, drop: 0, right: true },
    Col { title: "rate", width: 5, drop: 3, right: true },
    Col { title: "5xx", width: 4, drop: 2, right: true },
    Col { title: "econ", width: 4, drop: 7, right: true },
    Col { title: "eresp", width: 5, drop: 8, right: true },
    Col { title: "chg", width: 6, drop: 9, right: true },
    Col { title: "down", width: 6, drop: 10, right: true },
    // Only when a server in view has an agent check; the rest of the width.
    Col { title: "agent", width: 14, drop: 1, right: false },
];

/// The agent column's index in [`COLS`].
const AGENT_COL: usize = 13;

/// The columns that fit `width` (indexes into [`COLS`]); the agent's only when one speaks.
fn columns_for(width: u16, agent: bool) -> Vec<usize> {
    let mut keep: Vec<usize> = (0..COLS.len()).filter(|c| agent || *c != AGENT_COL).collect();
    let need = |k: &[usize]| k.iter().map(|i| COLS[*i].width + 1).sum::<u16>().saturating_sub(1);
    while need(&keep) > width {
        let Some(worst) = keep.iter().copied().filter(|i| COLS[*i].drop > 0).max_by_key(|i| COLS[*i].drop) else {
            break;
        };
        keep.retain(|i| *i != worst);
    }
    keep
}

pub fn status_style(class: StatusClass, t: &Theme) -> Style {
    match class {
        StatusClass::Up => t.ok,
        StatusClass::NoCheck => t.muted,
        StatusClass::Draining | StatusClass::Maint | StatusClass::Changing => t.warn,
        StatusClass::Full | StatusClass::Down => t.crit,
    }
}

fn count_style(n: u64, t: &Theme) -> Style {
    if n > 0 { t.warn } else { t.muted }
}

/// The queue cell: `▲3/5` critical while connections wait, warning if any waited since start.
pub fn queue_cell(r: &StatRow, t: &Theme) -> Span<'static> {
    if r.kind() == RowKind::Frontend {
        return Span::raw("");
    }
    if r.qcur > 0 {
        Span::styled(format!("▲{}/{}", r.qcur, r.qmax), t.crit)
    } else {
        Span::styled(format!("{}/{}", r.qcur, r.qmax), if r.qmax > 0 { t.warn } else { t.muted })
    }
}

/// The sessions cell: `cur/limit`, warning from 90% of the limit, critical at it.
fn sessions_cell(r: &StatRow, t: &Theme) -> Span<'static> {
    match r.slim.filter(|l| *l > 0) {
        Some(l) => {
            let st = if r.scur >= l {
                t.crit
            } else if r.scur * 10 >= l * 9 {
                t.warn
            } else {
                Style::default()
            };
            Span::styled(format!("{}/{l}", r.scur), st)
        }
        None => Span::raw(r.scur.to_string()),
    }
}

fn cell(r: &StatRow, col: usize, t: &Theme) -> Span<'static> {
    let server = r.kind() == RowKind::Server;
    let not_fe = r.kind() != RowKind::Frontend;
    match col {
        0 => match r.kind() {
            RowKind::Frontend => Span::styled(format!("{} (fe)", r.proxy), t.title),
            RowKind::Backend => Span::styled(format!("{} (be)", r.proxy), t.title),
            RowKind::Listener => Span::raw(format!("  {} (ln)", r.server)),
            RowKind::Server if r.backup => Span::raw(format!("  {} bk", r.server)),
            RowKind::Server => Span::raw(format!("  {}", r.server)),
        },
        1 => Span::styled(r.status.clone(), status_style(r.class(), t)),
        2 if server && !r.check_status.is_empty() => {
            let ok = r.check_status.contains("OK");
            let dur = r.check_duration.map(|d| format!(" {d}ms")).unwrap_or_default();
            Span::styled(format!("{}{dur}", r.check_status), if ok { t.muted } else { t.crit })
        }
        3 => Span::raw(r.weight.map(|w| w.to_string()).unwrap_or_default()),
        4 => sessions_cell(r, t),
        5 => Span::styled(r.smax.to_string(), t.muted),
        6 => queue_cell(r, t),
        7 => Span::raw(r.rate.to_string()),
        8 => Span::styled(r.hrsp_5xx.to_string(), count_style(r.hrsp_5xx, t)),
        9 if not_fe => Span::styled(r.econ.to_string(), count_style(r.econ, t)),
        10 if not_fe => Span::styled(r.eresp.to_string(), count_style(r.eresp, t)),
        11 if not_fe => Span::styled(r.lastchg.map(|s| fmt::seconds(s as f64)).unwrap_or_default(), t.muted),
        AGENT_COL if server && !r.agent_text().is_empty() => {
            let st = if r.status.contains("(agent)") { t.warn } else { t.muted };
            Span::styled(r.agent_text().to_string(), st)
        }
        12 if not_fe => match r.downtime {
            Some(d) if d > 0 => Span::styled(fmt::seconds(d as f64), t.warn),
            Some(_) => Span::styled("-", t.muted),
            None => Span::raw(""),
        },
        _ => Span::raw(""),
    }
}

/// The instance's title line.
fn title_line(h: &Target<HaproxyStats>, health: Health, t: &Theme) -> Line<'static> {
    let (hs, word) = health_style(health, t);
    let mut spans = vec![Span::styled(format!("{} ", h.name), t.title), Span::styled(word, hs)];
    if let Some(e) = &h.error {
        spans.push(Span::styled(format!("  {e}"), t.crit));
    }
    // The urgent counts first: a narrow column cuts the end of the line.
    if let Some(st) = &h.last {
        let s = st.summary();
        if s.queued > 0 {
            spans.push(Span::styled(format!("  ▲ {} queued", s.queued), t.crit));
        }
        if s.down > 0 {
            spans.push(Span::styled(format!("  {} DOWN", s.down), t.crit));
        }
        if s.maint > 0 {
            spans.push(Span::styled(format!("  {} MAINT", s.maint), t.warn));
        }
        if s.draining > 0 {
            spans.push(Span::styled(format!("  {} DRAIN", s.draining), t.warn));
        }
        spans.push(Span::styled(format!("  {} servers", s.servers), t.muted));
        if let Some(i) = &st.info {
            spans.push(Span::styled(format!("  HAProxy {}", i.version), t.muted));
            if let Some(u) = i.uptime_secs {
                spans.push(Span::styled(format!("  up {}", fmt::seconds(u as f64)), t.muted));
            }
            if let (Some(c), Some(m)) = (i.curr_conns, i.maxconn) {
                let st = if m > 0 && c * 10 >= m * 9 { t.crit } else { t.muted };
                spans.push(Span::styled(format!("  conns {c}/{m}"), st));
            }
            if i.stopping {
                spans.push(Span::styled("  STOPPING", t.warn));
            }
        }
    }
    Line::from(spans)
}

/// One line of a table before it is drawn.
enum Entry<'a> {
    Title(usize),
    Stat { row: &'a StatRow, dim: bool, selected: bool },
    Empty(&'static str),
}

/// `sort queue  /web` when not the defaults.
fn view_note(ctx: &Ctx) -> String {
    let v = &ctx.app.hap;
    let mut parts = Vec::new();
    if v.sort != SortKey::Config {
        parts.push(format!("sort {}", v.sort.label()));
    }
    if !v.filter.is_empty() {
        parts.push(format!("/{}", v.filter));
    }
    parts.join("  ")
}

fn draw_table(f: &mut Frame, area: Rect, ctx: &Ctx, entries: &[Entry]) {
    let t = ctx.theme;
    let app = ctx.app;
    // The name column as wide as the longest name in view (plus its marks), within reason.
    let longest = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Stat { row, .. } => Some(row.proxy.chars().count().max(row.server.chars().count() + 3) + 5),
            _ => None,
        })
        .max()
        .unwrap_or(12)
        .clamp(COLS[0].width as usize, 32) as u16;
    // The status as wide as `DRAIN (agent)` when an agent speaks for a server in view.
    let agent = entries.iter().any(|e| matches!(e, Entry::Stat { row, .. } if !row.agent_status.is_empty()));
    let status_w = if agent { 13 } else { COLS[1].width };
    let cols = columns_for(area.width.saturating_sub(longest - COLS[0].width + status_w - COLS[1].width), agent);
    let visible = area.height.saturating_sub(1) as usize;
    let sel = entries.iter().position(|e| matches!(e, Entry::Stat { selected: true, .. })).unwrap_or(0);
    let offset = scroll_offset(sel, visible);
    // Titles and notes span the whole width: drawn over their (empty) table rows afterwards.
    let mut spanning: Vec<(u16, Line)> = Vec::new();
    let rows: Vec<Row> = entries
        .iter()
        .skip(offset)
        .take(visible)
        .enumerate()
        .map(|(k, e)| match e {
            Entry::Title(i) => {
                let h = &app.data.haproxies[*i];
                spanning.push((k as u16, title_line(h, h.health(ctx.now, app.data.stale_after()), t)));
                Row::new(vec![Cell::from("")])
            }
            Entry::Empty(text) => {
                spanning.push((k as u16, Line::from(Span::styled(*text, t.muted))));
                Row::new(vec![Cell::from("")])
            }
            Entry::Stat { row, dim, selected } => {
                let cells: Vec<Cell> = cols
                    .iter()
                    .map(|c| {
                        let line = Line::from(cell(row, *c, t));
                        Cell::from(if COLS[*c].right { line.right_aligned() } else { line })
                    })
                    .collect();
                let mut r = Row::new(cells);
                if *dim {
                    r = r.style(t.stale);
                }
                if ctx.focused && *selected {
                    r = r.style(t.selected);
                }
                r
            }
        })
        .collect();
    let header = Row::new(cols.iter().map(|c| {
        let line = Line::from(COLS[*c].title);
        Cell::from(if COLS[*c].right { line.right_aligned() } else { line })
    }))
    .style(t.header);
    let widths: Vec<Constraint> = cols
        .iter()
        .map(|c| match *c {
            0 => Constraint::Length(longest),
            1 => Constraint::Length(status_w),
            AGENT_COL => Constraint::Min(COLS[*c].width),
            _ => Constraint::Length(COLS[*c].width),
        })
        .collect();
    f.render_widget(Table::new(rows, widths).header(header).column_spacing(1), area);
    for (k, line) in spanning {
        let y = area.y + 1 + k;
        if y < area.y + area.height {
            f.render_widget(Paragraph::new(line), Rect { x: area.x, y, width: area.width, height: 1 });
        }
    }
}

pub fn draw(f: &mut Frame, area: Rect, ctx: &Ctx) {
    let app = ctx.app;
    let t = ctx.theme;
    if app.data.haproxies.is_empty() {
        return note(f, area, t, "no [[haproxy]] in the config");
    }
    let (table_area, detail_area) = if app.zoom && ctx.focused && area.height >= 16 {
        let [a, b] = Layout::vertical([Constraint::Fill(1), Constraint::Length(10)]).areas(area);
        (a, Some(b))
    } else {
        (area, None)
    };
    let lists = hapview::visible(&app.data.haproxies, &app.hap);
    let (sel_pos, _) = hapview::selected_position(&lists, &app.hap);
    let stale = app.data.stale_after();
    let entries_of = |i: usize, first_flat: usize| -> Vec<Entry> {
        let h = &app.data.haproxies[i];
        let dim = h.health(ctx.now, stale) != Health::Up;
        let mut v = vec![Entry::Title(i)];
        if h.last.is_some() && lists[i].is_empty() {
            v.push(Entry::Empty("  no row matches the filter (/ to change, esc in it to clear)"));
        }
        v.extend(lists[i].iter().enumerate().map(|(k, row)| Entry::Stat {
            row,
            dim,
            selected: first_flat + k == sel_pos,
        }));
        v
    };
    let n = app.data.haproxies.len();
    let firsts: Vec<usize> = lists.iter().scan(0, |acc, l| Some(std::mem::replace(acc, *acc + l.len()))).collect();
    if n > 1 && table_area.width / n as u16 >= 60 {
        // An active/passive pair (or more) side by side.
        let areas = Layout::horizontal(vec![Constraint::Fill(1); n]).spacing(1).split(table_area);
        for i in 0..n {
            draw_table(f, areas[i], ctx, &entries_of(i, firsts[i]));
        }
    } else {
        let entries: Vec<Entry> = (0..n).flat_map(|i| entries_of(i, firsts[i])).collect();
        draw_table(f, table_area, ctx, &entries);
    }
    // Sort and filter, on the pane's top border (right), when not the defaults.
    let note = view_note(ctx);
    if !note.is_empty() && area.y > 0 {
        let w = (note.chars().count() as u16 + 2).min(area.width);
        let r = Rect { x: area.x + area.width - w, y: area.y - 1, width: w, height: 1 };
        f.render_widget(Paragraph::new(Line::from(Span::styled(format!(" {note} "), t.label))), r);
    }
    if let Some(d) = detail_area {
        let selected = hapview::at(&lists, sel_pos);
        detail::draw(f, d, ctx, selected);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_panes_keep_the_urgent_columns() {
        let names = |w| columns_for(w, false).iter().map(|i| COLS[*i].title).collect::<Vec<_>>();
        assert_eq!(names(200).len(), COLS.len() - 1);
        assert_eq!(columns_for(200, true).len(), COLS.len(), "with an agent check its column too");
        assert_eq!(names(40), vec!["proxy/server", "status", "sess", "queue"]);
        assert!(names(60).contains(&"5xx"));
        assert!(!names(60).contains(&"down"));
    }
}
