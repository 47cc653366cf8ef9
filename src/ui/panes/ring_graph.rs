//! The ring drawn as boxes around a loop: the first half of the nodes left to right on top, the
//! rest right to left below, arrows between them in ring order. A broken link is drawn in the
//! critical style with `✗` and its error number; a link whose downstream is down or stale is
//! dashed with `?`. Falls back to `None` when the ring does not fit the area.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::model::topology::{LinkState, Topology};
use crate::ui::theme::Theme;

/// A node as drawn: its name and the style of its box.
pub struct GraphNode<'a> {
    pub name: &'a str,
    pub mark: &'a str,
    pub style: Style,
    /// Whether the node answered its last poll; links into a node that did not are unknown.
    pub answering: bool,
}

/// A character grid with a style per cell.
struct Grid {
    w: usize,
    cells: Vec<(char, Style)>,
}

impl Grid {
    fn new(w: usize, h: usize) -> Grid {
        Grid { w, cells: vec![(' ', Style::default()); w * h] }
    }
    fn put(&mut self, x: usize, y: usize, c: char, st: Style) {
        if x < self.w
            && let Some(cell) = self.cells.get_mut(y * self.w + x)
        {
            *cell = (c, st);
        }
    }
    fn text(&mut self, x: usize, y: usize, s: &str, st: Style) {
        for (i, c) in s.chars().enumerate() {
            self.put(x + i, y, c, st);
        }
    }
    fn hline(&mut self, x0: usize, x1: usize, y: usize, c: char, st: Style) {
        for x in x0.min(x1)..=x0.max(x1) {
            self.put(x, y, c, st);
        }
    }
    fn vline(&mut self, x: usize, y0: usize, y1: usize, c: char, st: Style) {
        for y in y0.min(y1)..=y0.max(y1) {
            self.put(x, y, c, st);
        }
    }
    fn boxed(&mut self, x: usize, y: usize, w: usize, label: &str, st: Style) {
        self.put(x, y, '┌', st);
        self.put(x + w - 1, y, '┐', st);
        self.put(x, y + 2, '└', st);
        self.put(x + w - 1, y + 2, '┘', st);
        self.hline(x + 1, x + w - 2, y, '─', st);
        self.hline(x + 1, x + w - 2, y + 2, '─', st);
        self.put(x, y + 1, '│', st);
        self.put(x + w - 1, y + 1, '│', st);
        self.text(x + 2, y + 1, label, st);
    }
    fn lines(self) -> Vec<Line<'static>> {
        self.cells
            .chunks(self.w)
            .map(|row| {
                let mut spans: Vec<Span<'static>> = Vec::new();
                let mut cur = String::new();
                let mut cur_st = row.first().map(|c| c.1).unwrap_or_default();
                for (c, st) in row {
                    if *st != cur_st && !cur.is_empty() {
                        spans.push(Span::styled(std::mem::take(&mut cur), cur_st));
                    }
                    cur_st = *st;
                    cur.push(*c);
                }
                spans.push(Span::styled(cur.trim_end().to_string(), cur_st));
                Line::from(spans)
            })
            .collect()
    }
}

/// How a link is drawn: its line style, the line characters, and a short label.
fn link_look(topo: &Topology, up: usize, down: usize, answering: bool, t: &Theme) -> (Style, char, char, String) {
    match topo.link_between(up, down) {
        None if !answering => (t.stale, '┄', '┆', "?".into()),
        None => (t.crit, '─', '│', "✗none".into()),
        Some(l) => match l.state {
            LinkState::Running => (t.ok, '─', '│', String::new()),
            LinkState::Lagging => (t.warn, '─', '│', l.seconds_behind.map(|s| format!("{s}s")).unwrap_or_default()),
            LinkState::Broken => {
                let what = if l.errno != 0 {
                    l.errno.to_string()
                } else {
                    l.problem.as_deref().unwrap_or("").split(' ').next().unwrap_or("").to_string()
                };
                (t.crit, '─', '│', format!("✗{what}"))
            }
            LinkState::Unknown => (t.stale, '┄', '┆', "?".into()),
        },
    }
}

/// A broken link carries a `✗` on the line itself, so it reads as broken without colour.
fn mid_mark(g: &mut Grid, label: &str, x: usize, y: usize, st: Style) {
    if label.starts_with('✗') {
        g.put(x, y, '✗', st);
    }
}

/// Rows the drawing needs.
pub const HEIGHT: u16 = 8;

/// Draws `nodes` (in ring order; `order[i]` is the topology index of drawn node i) within `width`.
pub fn draw(
    nodes: &[GraphNode<'_>],
    order: &[usize],
    topo: &Topology,
    t: &Theme,
    width: u16,
) -> Option<Vec<Line<'static>>> {
    let n = nodes.len();
    if n < 2 {
        return None;
    }
    let name_w = nodes.iter().map(|g| g.name.chars().count()).max().unwrap_or(4);
    let bw = name_w + 6; // "│ ● name │" with a space of slack
    let top = n.div_ceil(2);
    let bottom = n - top;
    let (lm, rm) = (7usize, 7usize);
    let mut gap = 14usize;
    let total = |gap: usize| lm + top * bw + (top - 1) * gap + rm;
    while total(gap) > width as usize && gap > 8 {
        gap -= 1;
    }
    if total(gap) > width as usize {
        return None;
    }
    let w = total(gap);
    let mut g = Grid::new(w, HEIGHT as usize);
    let col_x = |c: usize| lm + c * (bw + gap);
    let (ty, by) = (0usize, 5usize);
    // Boxes: drawn node i at (col, row).
    let pos = |i: usize| {
        if i < top { (col_x(i), ty) } else { (col_x(top - 1 - (i - top)), by) }
    };
    for (i, node) in nodes.iter().enumerate() {
        let (x, y) = pos(i);
        g.boxed(x, y, bw, &format!("{} {}", node.mark, node.name), node.style);
    }
    for i in 0..n {
        let j = (i + 1) % n;
        let (up, down) = (order[i], order[j]);
        let (st, hc, vc, label) = link_look(topo, up, down, nodes[j].answering, t);
        let (x0, _) = pos(i);
        let (x1, _) = pos(j);
        let lbl_w = label.chars().count();
        if i + 1 < top {
            // top row, left to right
            let (a, b) = (x0 + bw, x1 - 1);
            g.hline(a, b - 1, ty + 1, hc, st);
            g.put(b, ty + 1, '▶', st);
            mid_mark(&mut g, &label, (a + b) / 2, ty + 1, st);
            g.text(a + (b - a).saturating_sub(lbl_w) / 2, ty, &label, st);
        } else if i + 1 == top && bottom > 0 {
            // down the right side into the first bottom node (same column)
            let x = x0 + bw * 2 / 3;
            g.vline(x, ty + 3, by - 2, vc, st);
            g.put(x, by - 1, '▼', st);
            mid_mark(&mut g, &label, x, ty + 3, st);
            g.text(x + 2, ty + 3, &label, st);
        } else if i >= top && j >= top {
            // bottom row, right to left
            let (a, b) = (x1 + bw, x0 - 1);
            g.put(a, by + 1, '◀', st);
            g.hline(a + 1, b, by + 1, hc, st);
            mid_mark(&mut g, &label, (a + b) / 2, by + 1, st);
            g.text(a + (b - a).saturating_sub(lbl_w) / 2 + 1, by + 2, &label, st);
        } else {
            // back to the first node: up the left side
            let x = col_x(0) + bw / 3;
            if x0 == col_x(0) {
                g.vline(x, ty + 4, by - 1, vc, st);
            } else {
                g.hline(x + 1, x0 - 1, by + 1, hc, st);
                g.put(x, by + 1, '└', st);
                g.vline(x, ty + 4, by, vc, st);
            }
            g.put(x, ty + 3, '▲', st);
            mid_mark(&mut g, &label, x, ty + 4, st);
            g.text(x.saturating_sub(lbl_w + 1), ty + 4, &label, st);
        }
    }
    Some(g.lines())
}
