//! `App`, the slow queries pane: selection, kill, EXPLAIN of the selected statement.

use crate::app::App;
use crate::app::action::Pane;
use crate::app::queryview::*;
use crate::app::request::Request;
use crate::model::replication::Process;

impl App {
    /// The queries pane's rows (filtered, longest first).
    pub fn query_rows(&self) -> Vec<(&str, &Process)> {
        visible(&self.data.nodes, &self.queries)
    }

    /// The selected statement now.
    pub fn selected_query(&self) -> Option<(&str, &Process)> {
        let rows = self.query_rows();
        let pos = selected_position(&rows, &self.queries);
        rows.get(pos).copied()
    }

    /// Moves the selection by `delta` rows (clamped), remembered by (node, id).
    pub(super) fn step_query(&mut self, delta: isize) {
        let rows = visible(&self.data.nodes, &self.queries);
        let pos = selected_position(&rows, &self.queries);
        let new = if rows.is_empty() { 0 } else { pos.saturating_add_signed(delta).min(rows.len() - 1) };
        let key = rows.get(new).map(|(n, p)| QueryKey { node: n.to_string(), id: p.id });
        self.queries.fallback = new;
        self.queries.selected = key;
        self.selected[Pane::Queries.index()] = new;
        self.ask_explain();
    }

    /// While the queries pane is zoomed (the drill-in shows), asks for the selected SELECT's plan
    /// once per statement.
    pub(super) fn ask_explain(&mut self) {
        if !(self.zoom && self.focus == Pane::Queries) {
            return;
        }
        let Some((node, p)) = self.selected_query() else { return };
        if !explainable(&p.info) {
            return;
        }
        let key = QueryKey { node: node.to_string(), id: p.id };
        let statement = p.info.clone();
        let db = p.db.clone();
        if self.queries.explain.as_ref().is_some_and(|e| e.key == key && e.statement == statement) {
            return;
        }
        self.queries.explain =
            Some(Explain { key: key.clone(), statement: statement.clone(), result: Err("EXPLAIN running…".into()) });
        self.requests.push(Request::Explain { node: key.node.clone(), id: key.id, db, sql: statement });
    }

    /// What an EXPLAIN answered (ignored when the drill-in moved on).
    pub fn explained(&mut self, e: Explain) -> bool {
        match &self.queries.explain {
            Some(cur) if cur.key == e.key && cur.statement == e.statement => {
                self.queries.explain = Some(e);
                true
            }
            _ => false,
        }
    }
}
