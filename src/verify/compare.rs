//! Comparing what the nodes answered (pure): which schemas and tables to compare, a table's status
//! from its per-node checksums, whether a chunk differs, which rows differ and how (the value most
//! nodes hold counts as "has it"), and whether a node's replication is caught up.

use std::collections::{BTreeMap, BTreeSet};

use super::key::Key;
use super::report::{ChunkNode, MissingSchema, NodeTable, RowNode, RowReport, RowState, TableStatus};
use crate::model::replication::{IoState, ReplicaLink};

/// Schemas never compared unless named: the server's own.
pub const SYSTEM_SCHEMAS: &[&str] = &["mysql", "information_schema", "performance_schema", "sys"];

/// The schemas to compare: the ones named (`--schema`, and the schemas of `--table`), else every
/// schema any node has except the system ones. Sorted.
pub fn select_schemas(on_nodes: &[Option<Vec<String>>], named: &[String], tables: &[(String, String)]) -> Vec<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    if named.is_empty() && tables.is_empty() {
        for s in on_nodes.iter().flatten().flatten() {
            if !SYSTEM_SCHEMAS.contains(&s.to_ascii_lowercase().as_str()) {
                out.insert(s.clone());
            }
        }
    } else {
        out.extend(named.iter().cloned());
        out.extend(tables.iter().map(|(s, _)| s.clone()));
    }
    out.into_iter().collect()
}

/// Selected schemas that some answering node lacks (also those no node has).
pub fn missing_schemas(names: &[String], on_nodes: &[Option<Vec<String>>], selected: &[String]) -> Vec<MissingSchema> {
    let mut out = Vec::new();
    for s in selected {
        let (mut present_on, mut missing_on) = (Vec::new(), Vec::new());
        for (name, have) in names.iter().zip(on_nodes) {
            match have {
                Some(list) if list.contains(s) => present_on.push(name.clone()),
                Some(_) => missing_on.push(name.clone()),
                None => {}
            }
        }
        if !missing_on.is_empty() {
            out.push(MissingSchema { schema: s.clone(), present_on, missing_on });
        }
    }
    out
}

/// Parses `--table DB.T` (the first dot separates; backticks are not needed).
pub fn parse_table(arg: &str) -> Result<(String, String), String> {
    match arg.split_once('.') {
        Some((db, t)) if !db.is_empty() && !t.is_empty() => Ok((db.to_string(), t.to_string())),
        _ => Err(format!("--table {arg:?}: expected DB.TABLE")),
    }
}

/// The tables to compare: every table any node has (in the selected schemas), or only the named
/// ones when `--table` was given (named tables no node has are kept: they are missing everywhere).
pub fn select_tables(on_nodes: &[Option<Vec<(String, String)>>], named: &[(String, String)]) -> Vec<(String, String)> {
    let all: BTreeSet<(String, String)> = on_nodes.iter().flatten().flatten().cloned().collect();
    if named.is_empty() {
        return all.into_iter().collect();
    }
    let mut out: BTreeSet<(String, String)> = BTreeSet::new();
    for n in named {
        out.insert(n.clone());
    }
    out.into_iter().collect()
}

/// A table's status from its entries on the answering nodes.
pub fn table_status(nodes: &[NodeTable]) -> TableStatus {
    if nodes.is_empty() || nodes.iter().any(|n| !n.present) {
        return TableStatus::Missing;
    }
    if nodes.iter().any(|n| n.error.is_some() || n.checksum.is_none()) {
        return TableStatus::Error;
    }
    let first = nodes[0].checksum;
    if nodes.iter().all(|n| n.checksum == first) { TableStatus::Equal } else { TableStatus::Differs }
}

/// Whether a key range differs: any node failed, or row counts or checksums are not all the same.
pub fn chunk_differs(nodes: &[ChunkNode]) -> bool {
    if nodes.iter().any(|n| n.error.is_some()) {
        return true;
    }
    let first = nodes.first().map(|n| (n.rows, n.checksum));
    nodes.iter().any(|n| Some((n.rows, n.checksum)) != first)
}

/// Compares the rows of one key range. `per_node` holds each node's `(key, crc)` pairs, `None`
/// when the node did not answer. A row is reported when some node lacks it or holds another
/// value; the value most nodes hold is "has it" (on a tie, the first node's in config order).
pub fn row_diffs(
    names: &[String],
    per_node: &[Option<BTreeMap<Key, u64>>],
    table: &str,
    key_name: &str,
) -> Vec<RowReport> {
    let keys: BTreeSet<&Key> = per_node.iter().flatten().flat_map(|m| m.keys()).collect();
    let mut out = Vec::new();
    for k in keys {
        let vals: Vec<Option<Option<u64>>> = per_node.iter().map(|m| m.as_ref().map(|m| m.get(k).copied())).collect();
        let present: Vec<u64> = vals.iter().flatten().flatten().copied().collect();
        let answered = vals.iter().filter(|v| v.is_some()).count();
        if present.len() == answered && present.iter().all(|c| *c == present[0]) {
            continue;
        }
        // The majority value; ties go to the value seen first in config order.
        let mut best: Option<(u64, usize)> = None;
        for c in &present {
            let count = present.iter().filter(|x| *x == c).count();
            if best.is_none_or(|(_, n)| count > n) {
                best = Some((*c, count));
            }
        }
        let reference = best.map(|(c, _)| c);
        let nodes: Vec<RowNode> = names
            .iter()
            .zip(&vals)
            .map(|(name, v)| {
                let (state, crc) = match v {
                    None => (RowState::Unknown, None),
                    Some(None) => (RowState::Missing, None),
                    Some(Some(c)) if Some(*c) == reference => (RowState::Has, Some(*c)),
                    Some(Some(c)) => (RowState::Differs, Some(*c)),
                };
                RowNode { node: name.clone(), state, crc }
            })
            .collect();
        let text = format!(
            "{table} {key_name} {}: {}",
            k.text(),
            nodes
                .iter()
                .map(|n| format!(
                    "{} {}",
                    n.node,
                    match n.state {
                        RowState::Has => "has it",
                        RowState::Differs => "differs",
                        RowState::Missing => "missing",
                        RowState::Unknown => "did not answer",
                    }
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
        out.push(RowReport { key: k.clone(), nodes, text });
    }
    out
}

/// Whether a node's replication is caught up, and in words: `caught up`, `no replica link`, or
/// every link's problem (`SQL stopped 1062 ...`, `12 s behind`, `lag unknown`).
pub fn replication_state(links: &[ReplicaLink]) -> (bool, String) {
    if links.is_empty() {
        return (false, "no replica link".into());
    }
    let mut problems = Vec::new();
    for l in links {
        let name = if l.connection.is_empty() { String::new() } else { format!("['{}'] ", l.connection) };
        let from = format!("{name}from {}:{}", l.master_host, l.master_port);
        if let Some(p) = l.problem() {
            problems.push(format!("{from}: {}", one_line(&p)));
        } else if l.io != IoState::Running || !l.sql_running {
            problems.push(format!("{from}: not running"));
        } else {
            match l.seconds_behind {
                Some(0) => {}
                Some(s) => problems.push(format!("{from}: {s} s behind")),
                None => problems.push(format!("{from}: lag unknown")),
            }
        }
    }
    if problems.is_empty() { (true, "caught up".into()) } else { (false, problems.join("; ")) }
}

fn one_line(s: &str) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > 160 { format!("{}…", s.chars().take(159).collect::<String>()) } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::key::Part;

    fn names() -> Vec<String> {
        vec!["node1".into(), "node2".into(), "node3".into()]
    }

    fn nt(node: &str, present: bool, checksum: Option<u64>) -> NodeTable {
        NodeTable { node: node.into(), present, checksum, rows: None, error: None }
    }

    #[test]
    fn schemas_default_to_all_but_the_system_ones() {
        let on = vec![
            Some(vec!["app".to_string(), "mysql".into(), "sys".into(), "information_schema".into()]),
            Some(vec!["app".to_string(), "shop".into(), "performance_schema".into()]),
            None,
        ];
        assert_eq!(select_schemas(&on, &[], &[]), vec!["app".to_string(), "shop".into()]);
        assert_eq!(select_schemas(&on, &["mysql".into()], &[]), vec!["mysql".to_string()]);
        assert_eq!(
            select_schemas(&on, &[], &[("shop".into(), "orders".into())]),
            vec!["shop".to_string()],
            "a --table selects its schema"
        );
        let missing = missing_schemas(&names(), &on, &["app".into(), "shop".into()]);
        assert_eq!(
            missing,
            vec![MissingSchema {
                schema: "shop".into(),
                present_on: vec!["node2".into()],
                missing_on: vec!["node1".into()]
            }],
            "node3 did not answer: neither present nor missing"
        );
    }

    #[test]
    fn table_filters() {
        assert_eq!(parse_table("app.posts"), Ok(("app".into(), "posts".into())));
        assert_eq!(parse_table("app.we.ird"), Ok(("app".into(), "we.ird".into())));
        assert!(parse_table("posts").is_err());
        assert!(parse_table(".posts").is_err());
        let on = vec![
            Some(vec![("app".to_string(), "posts".to_string()), ("app".into(), "users".into())]),
            Some(vec![("app".to_string(), "posts".to_string())]),
        ];
        assert_eq!(select_tables(&on, &[]).len(), 2, "the union");
        let named = vec![("app".to_string(), "nope".to_string())];
        assert_eq!(select_tables(&on, &named), named, "kept, to be reported missing");
    }

    #[test]
    fn table_status_from_checksums() {
        assert_eq!(table_status(&[nt("a", true, Some(1)), nt("b", true, Some(1))]), TableStatus::Equal);
        assert_eq!(table_status(&[nt("a", true, Some(1)), nt("b", true, Some(2))]), TableStatus::Differs);
        assert_eq!(table_status(&[nt("a", true, Some(1)), nt("b", false, None)]), TableStatus::Missing);
        assert_eq!(table_status(&[nt("a", true, Some(1)), nt("b", true, None)]), TableStatus::Error);
        let mut e = nt("b", true, Some(1));
        e.error = Some("timed out".into());
        assert_eq!(table_status(&[nt("a", true, Some(1)), e]), TableStatus::Error);
        assert_eq!(table_status(&[]), TableStatus::Missing);
    }

    #[test]
    fn chunk_comparison() {
        let c =
            |rows: u64, crc: u64| ChunkNode { node: "n".into(), rows: Some(rows), checksum: Some(crc), error: None };
        assert!(!chunk_differs(&[c(10, 5), c(10, 5), c(10, 5)]));
        assert!(chunk_differs(&[c(10, 5), c(10, 6), c(10, 5)]), "same count, other content");
        assert!(chunk_differs(&[c(10, 5), c(11, 5)]), "same crc, other count");
        let mut failed = c(10, 5);
        failed.error = Some("timed out".into());
        assert!(chunk_differs(&[c(10, 5), failed]));
        assert!(!chunk_differs(&[]));
    }

    /// Rows as the comparison takes them: key -> crc per node (`None`: the node did not answer).
    fn rows(per_node: &[Option<&[(i128, u64)]>]) -> Vec<Option<BTreeMap<Key, u64>>> {
        per_node.iter().map(|r| r.map(|rows| rows.iter().map(|(k, c)| (Key::int(*k), *c)).collect())).collect()
    }

    #[test]
    fn rows_missing_and_differing() {
        let per_node = rows(&[
            Some(&[(1, 11), (2, 22), (200_001, 7)]),
            Some(&[(1, 11), (2, 22), (200_001, 8)]),
            Some(&[(1, 11), (2, 22), (300_003, 9)]),
        ]);
        let d = row_diffs(&names(), &per_node, "app.posts", "id");
        let texts: Vec<&str> = d.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "app.posts id 200001: node1 has it, node2 differs, node3 missing",
                "app.posts id 300003: node1 missing, node2 missing, node3 has it",
            ]
        );
        assert_eq!(d[0].nodes[1], RowNode { node: "node2".into(), state: RowState::Differs, crc: Some(8) });
    }

    #[test]
    fn majority_value_has_it_and_silent_nodes_are_unknown() {
        let per_node = rows(&[Some(&[(5, 1)]), Some(&[(5, 2)]), Some(&[(5, 2)])]);
        let d = row_diffs(&names(), &per_node, "t", "id");
        assert_eq!(d[0].text, "t id 5: node1 differs, node2 has it, node3 has it");
        let per_node = rows(&[Some(&[(5, 1)]), None, Some(&[(5, 1)])]);
        assert!(row_diffs(&names(), &per_node, "t", "id").is_empty(), "equal where known");
        let per_node = rows(&[Some(&[(5, 1)]), None, Some(&[])]);
        assert_eq!(
            row_diffs(&names(), &per_node, "t", "id")[0].text,
            "t id 5: node1 has it, node2 did not answer, node3 missing"
        );
        let composite =
            vec![Some(BTreeMap::from([(Key(vec![Part::Int(1), Part::Text("a".into())]), 3)])), Some(BTreeMap::new())];
        let d = row_diffs(&names()[..2], &composite, "t", "(n, k)");
        assert_eq!(d[0].text, "t (n, k) (1, 'a'): node1 has it, node2 missing");
    }

    fn link(io: IoState, sql: bool, behind: Option<u64>) -> ReplicaLink {
        ReplicaLink {
            connection: String::new(),
            master_host: "127.0.0.1".into(),
            master_port: 3301,
            master_server_id: None,
            io,
            sql_running: sql,
            last_io_errno: 0,
            last_io_error: String::new(),
            last_sql_errno: 0,
            last_sql_error: String::new(),
            seconds_behind: behind,
            master_log_file: String::new(),
            read_master_log_pos: 0,
            relay_master_log_file: String::new(),
            exec_master_log_pos: 0,
            sql_state: String::new(),
            using_gtid: String::new(),
            gtid_io_pos: String::new(),
            props: Default::default(),
        }
    }

    #[test]
    fn replication_caught_up_or_not() {
        assert_eq!(replication_state(&[link(IoState::Running, true, Some(0))]), (true, "caught up".into()));
        assert_eq!(replication_state(&[]), (false, "no replica link".into()));
        let (ok, why) = replication_state(&[link(IoState::Running, true, Some(12))]);
        assert!(!ok && why.contains("12 s behind"), "{why}");
        let mut broken = link(IoState::Running, false, None);
        broken.last_sql_errno = 1062;
        broken.last_sql_error = "Duplicate entry '9' for key 'PRIMARY'".into();
        let (ok, why) = replication_state(&[broken]);
        assert!(!ok && why.contains("SQL stopped 1062 Duplicate entry"), "{why}");
        let (ok, why) = replication_state(&[link(IoState::Connecting, true, None)]);
        assert!(!ok && why.contains("IO connecting"), "{why}");
    }
}
