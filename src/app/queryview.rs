//! The slow queries pane's view of the samples: running statements of every node, longest
//! first, sleeping/system/replication threads hidden, filtered with `/` (text, user, db or node),
//! the selection kept by (node, thread id) so a poll that reorders rows never moves a kill to
//! another statement, and the drill-in's EXPLAIN (asked of the loop, answered off the UI task).
//! Pure, like `hapview`.

use super::collected::Target;
use crate::model::replication::{NodeStatus, Process};
pub use crate::model::sqltext::explainable;

/// A row by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryKey {
    pub node: String,
    pub id: u64,
}

/// What an EXPLAIN answered: column names and rows, or why not.
#[derive(Clone, Debug, PartialEq)]
pub struct Explain {
    pub key: QueryKey,
    /// The statement explained (normalised), to tell a thread's next statement from this one.
    pub statement: String,
    pub result: Result<(Vec<String>, Vec<Vec<String>>), String>,
}

/// Filter, selection and drill-in of the slow queries pane.
#[derive(Clone, Debug, Default)]
pub struct QueriesView {
    /// Case-insensitive text a row must contain (node, user, db or statement); empty: all.
    pub filter: String,
    pub selected: Option<QueryKey>,
    /// The selected position, used when the selected row is gone.
    pub fallback: usize,
    /// The last EXPLAIN asked for or answered (`result` is `Err("…running")` while asked).
    pub explain: Option<Explain>,
    /// Also list sleeping, system and replication threads (`H`).
    pub show_hidden: bool,
}

/// Whether `p` (on `node`) matches the lower-cased `needle`.
fn hit(node: &str, p: &Process, needle: &str) -> bool {
    needle.is_empty()
        || [node, &p.user, &p.db, &p.info, &p.host, &p.command, &p.state]
            .iter()
            .any(|s| s.to_lowercase().contains(needle))
        || p.id.to_string() == needle
}

/// The statements of every node the view shows, in node order.
fn shown<'a: 'b, 'b>(
    nodes: &'a [Target<NodeStatus>],
    view: &'b QueriesView,
    needle: &'b str,
) -> impl Iterator<Item = (&'a str, &'a Process)> + 'b {
    nodes
        .iter()
        .filter_map(|t| t.last.as_ref().map(|s| (t.name.as_str(), s)))
        .flat_map(|(name, s)| {
            s.processes.iter().filter(|p| view.show_hidden || !p.is_background()).map(move |p| (name, p))
        })
        .filter(move |(name, p)| hit(name, p, needle))
}

/// Whether the view shows any statement (without sorting them).
pub fn any_visible(nodes: &[Target<NodeStatus>], view: &QueriesView) -> bool {
    let needle = view.filter.trim().to_lowercase();
    shown(nodes, view, &needle).next().is_some()
}

/// Running statements across all nodes, longest first, without background threads, filtered.
pub fn visible<'a>(nodes: &'a [Target<NodeStatus>], view: &QueriesView) -> Vec<(&'a str, &'a Process)> {
    let needle = view.filter.trim().to_lowercase();
    let mut v: Vec<_> = shown(nodes, view, &needle).collect();
    v.sort_by(|a, b| b.1.time.total_cmp(&a.1.time).then(a.0.cmp(b.0)).then(a.1.id.cmp(&b.1.id)));
    v
}

/// The position of the selection in `rows`.
pub fn selected_position(rows: &[(&str, &Process)], view: &QueriesView) -> usize {
    let found = view.selected.as_ref().and_then(|k| rows.iter().position(|(n, p)| *n == k.node && p.id == k.id));
    found.unwrap_or(view.fallback.min(rows.len().saturating_sub(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(id: u64, user: &str, db: &str, command: &str, time: f64, info: &str) -> Process {
        Process {
            id,
            user: user.into(),
            host: "h:1".into(),
            db: db.into(),
            command: command.into(),
            time,
            state: String::new(),
            info: info.into(),
        }
    }

    fn node(name: &str, ps: Vec<Process>) -> Target<NodeStatus> {
        let mut t = Target::new(name, "127.0.0.1:1");
        t.last = Some(NodeStatus {
            version: String::new(),
            dialect: crate::model::replication::Dialect::detect("10.11.6-MariaDB", ""),
            vars: Default::default(),
            counters: Default::default(),
            binlog: None,
            links: Vec::new(),
            processes: ps,
            digests: None,
        });
        t
    }

    #[test]
    fn longest_first_background_hidden_and_filtered() {
        let nodes = vec![
            node("node1", vec![p(1, "app", "shop", "Query", 0.5, "SELECT 1"), p(2, "app", "", "Sleep", 99.0, "")]),
            node(
                "node3",
                vec![
                    p(7, "app", "blog", "Query", 12.25, "SELECT SLEEP(30)"),
                    p(8, "system user", "", "Slave_SQL", 500.0, ""),
                    p(9, "repl", "", "Binlog Dump", 600.0, ""),
                ],
            ),
        ];
        let mut view = QueriesView::default();
        let ids = |v: &QueriesView| visible(&nodes, v).iter().map(|(n, p)| format!("{n}:{}", p.id)).collect::<Vec<_>>();
        assert_eq!(ids(&view), vec!["node3:7", "node1:1"]);
        view.filter = "SLEEP".into();
        assert_eq!(ids(&view), vec!["node3:7"]);
        view.filter = "shop".into();
        assert_eq!(ids(&view), vec!["node1:1"]);
        view.filter = "node3".into();
        assert_eq!(ids(&view), vec!["node3:7"]);
        view.filter = "nothing".into();
        assert!(ids(&view).is_empty());
        view.filter = String::new();
        view.show_hidden = true;
        assert_eq!(ids(&view), vec!["node3:9", "node3:8", "node1:2", "node3:7", "node1:1"], "H shows every thread");
    }

    #[test]
    fn selection_follows_the_thread_when_rows_reorder() {
        let mut nodes =
            vec![node("node1", vec![p(1, "a", "", "Query", 5.0, "SELECT 1"), p(2, "a", "", "Query", 3.0, "SELECT 2")])];
        let mut view = QueriesView { selected: Some(QueryKey { node: "node1".into(), id: 2 }), ..Default::default() };
        assert_eq!(selected_position(&visible(&nodes, &view), &view), 1);
        if let Some(s) = nodes[0].last.as_mut() {
            s.processes[1].time = 9.0;
        }
        assert_eq!(selected_position(&visible(&nodes, &view), &view), 0, "thread 2 is now first");
        view.selected = Some(QueryKey { node: "node1".into(), id: 99 });
        view.fallback = 5;
        assert_eq!(selected_position(&visible(&nodes, &view), &view), 1, "gone: clamped fallback");
    }

    #[test]
    fn only_a_single_select_is_explained() {
        assert!(explainable("  select * from t where a = 1"));
        assert!(explainable("SELECT SLEEP(30);"));
        assert!(!explainable("UPDATE t SET a = 1"));
        assert!(!explainable("SELECT 1; DROP TABLE t"));
        assert!(!explainable(""));
        assert!(!explainable("SEL"));
    }
}
