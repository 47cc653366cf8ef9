//! Reports built from sample data: equality, reliability, the summary, the text and the JSON.

use super::report::*;
use super::{Tone, json, lines, text};

fn node(name: &str) -> NodeReport {
    NodeReport {
        name: name.into(),
        address: format!("127.0.0.1:330{}", &name[4..]),
        reachable: true,
        error: None,
        version: Some("10.11.19-MariaDB".into()),
        caught_up: true,
        replication: "caught up".into(),
        writes_seen: false,
    }
}

fn table(t: &str, status: TableStatus, sums: &[u64]) -> TableReport {
    TableReport {
        schema: "app".into(),
        table: t.into(),
        status,
        nodes: sums
            .iter()
            .enumerate()
            .map(|(i, s)| NodeTable {
                node: format!("node{}", i + 1),
                present: true,
                checksum: Some(*s),
                ..Default::default()
            })
            .collect(),
        key: None,
        rows: Vec::new(),
        rows_note: None,
        chunks_compared: 0,
        note: None,
        chunks: Vec::new(),
    }
}

fn report(tables: Vec<TableReport>) -> Report {
    let mut r = Report::failed(String::new(), 1000);
    r.error = None;
    r.schemas = vec!["app".into()];
    r.nodes = vec![node("node1"), node("node2"), node("node3")];
    r.tables = tables;
    r.finish();
    r
}

fn differing_posts() -> TableReport {
    let mut t = table("posts", TableStatus::Differs, &[1480493319, 1480493319, 77]);
    t.key = Some("id".into());
    t.chunks_compared = 2;
    for (n, rows) in t.nodes.iter_mut().zip([9, 9, 10]) {
        n.rows = Some(rows);
    }
    let cn = |node: &str, rows: u64, crc: u64| ChunkNode {
        node: node.into(),
        rows: Some(rows),
        checksum: Some(crc),
        error: None,
    };
    t.chunks.push(ChunkReport {
        lo: 900003,
        hi: 900003,
        nodes: vec![cn("node1", 0, 0), cn("node2", 0, 0), cn("node3", 1, 123456)],
        rows: vec![RowReport {
            key: crate::verify::Key::int(900003),
            nodes: vec![
                RowNode { node: "node1".into(), state: RowState::Missing, crc: None },
                RowNode { node: "node2".into(), state: RowState::Missing, crc: None },
                RowNode { node: "node3".into(), state: RowState::Has, crc: Some(123456) },
            ],
            text: "app.posts id 900003: node1 missing, node2 missing, node3 has it".into(),
        }],
        rows_note: None,
    });
    t
}

#[test]
fn all_equal_only_when_everything_is() {
    let r = report(vec![table("posts", TableStatus::Equal, &[5, 5, 5])]);
    assert!(r.all_equal() && r.equal && r.reliable);
    assert_eq!(r.exit_code, 0);
    assert_eq!(r.summary, "all equal: 1 table(s) in 1 schema(s) on 3 node(s)");

    let r = report(vec![table("users", TableStatus::Equal, &[1, 1, 1]), differing_posts()]);
    assert!(!r.all_equal());
    assert_eq!(r.exit_code, 1);
    assert_eq!(r.tables[0].table, "posts", "differing tables first");
    assert_eq!(r.summary, "1 of 2 table(s) not equal: app.posts");

    let mut r = report(vec![table("posts", TableStatus::Equal, &[5, 5])]);
    r.nodes[2].reachable = false;
    r.nodes[2].error = Some("connection refused".into());
    r.finish();
    assert!(!r.equal && !r.reliable, "an unreachable node is never equal");
    assert!(r.summary.contains("not compared on node3 (unreachable)"), "{}", r.summary);
    assert!(text(&r).starts_with("ringdeck verify: INCOMPLETE - "), "nothing differs, but not all was compared");

    let mut r = report(vec![]);
    r.missing_schemas.push(MissingSchema {
        schema: "shop".into(),
        present_on: vec!["node1".into()],
        missing_on: vec!["node2".into(), "node3".into()],
    });
    r.finish();
    assert!(!r.equal);
    assert!(r.summary.contains("schema(s) missing on some node: shop"), "{}", r.summary);
}

#[test]
fn lag_makes_it_unreliable_not_unequal() {
    let mut r = report(vec![table("posts", TableStatus::Equal, &[5, 5, 5])]);
    r.nodes[1].caught_up = false;
    r.nodes[1].replication = "from 127.0.0.1:3301: 12 s behind".into();
    r.finish();
    assert!(r.equal && !r.reliable);
    let t = text(&r);
    assert!(t.contains("node2  127.0.0.1:3302  up  replication: from 127.0.0.1:3301: 12 s behind"), "{t}");
}

#[test]
fn text_names_table_chunk_and_key() {
    let r = report(vec![table("users", TableStatus::Equal, &[1, 1, 1]), differing_posts()]);
    let t = text(&r);
    assert!(t.starts_with("ringdeck verify: DIFFERENCES - 1 of 2 table(s) not equal: app.posts\n"), "{t}");
    assert!(t.contains("note: only meaningful while writes are quiet and replication caught up"), "{t}");
    assert!(t.contains("  app.posts  DIFFERS\n"), "{t}");
    assert!(t.contains("    CHECKSUM TABLE  node1 1480493319  node2 1480493319  node3 77\n"), "{t}");
    assert!(t.contains("    rows            node1 9  node2 9  node3 10\n"), "{t}");
    assert!(t.contains("    1 of 2 chunk(s) differ (key id)\n"), "{t}");
    assert!(
        t.contains("    chunk id 900003..900003: node1 0 rows crc 0 | node2 0 rows crc 0 | node3 1 row crc 123456\n"),
        "{t}"
    );
    assert!(t.contains("      app.posts id 900003: node1 missing, node2 missing, node3 has it\n"), "{t}");
    assert!(t.contains("EQUAL (1 table(s))\n  app.users\n"), "{t}");
    // The console colours the headline by its tone.
    assert_eq!(lines(&r)[0].0, Tone::Crit);
    assert_eq!(lines(&report(vec![]))[0].0, Tone::Ok);
}

#[test]
fn text_of_missing_and_unchunkable_tables() {
    let mut missing = table("audit", TableStatus::Missing, &[3, 3]);
    missing.nodes.push(NodeTable { node: "node3".into(), present: false, ..Default::default() });
    let mut nokey = table("tags", TableStatus::Differs, &[1, 2, 1]);
    nokey.note = Some("chunks not computed: no primary key: compared per table only".into());
    let t = text(&report(vec![missing, nokey]));
    assert!(t.contains("  app.audit  MISSING on node3 (present on node1, node2)\n"), "{t}");
    assert!(t.contains("  app.tags  DIFFERS\n    CHECKSUM TABLE  node1 1  node2 2  node3 1\n"), "{t}");
    assert!(t.contains("    chunks not computed: no primary key: compared per table only\n"), "{t}");
}

#[test]
fn json_has_the_difference_and_round_trips() {
    let r = report(vec![differing_posts()]);
    let s = json(&r);
    let v: serde_json::Value = serde_json::from_str(&s).unwrap();
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["equal"], false);
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["tables"][0]["status"], "differs");
    assert_eq!(v["tables"][0]["chunks"][0]["lo"], 900003);
    assert_eq!(v["tables"][0]["chunks"][0]["rows"][0]["key"], serde_json::json!([900003]));
    assert_eq!(v["tables"][0]["chunks"][0]["rows"][0]["nodes"][2]["state"], "has");
    assert_eq!(v["tables"][0]["chunks"][0]["rows"][0]["nodes"][0]["state"], "missing");
    let back: Report = serde_json::from_str(&s).unwrap();
    assert_eq!(back, r);
}

#[test]
fn failed_report() {
    let r = Report::failed("x.toml:3: key `port`: bad".into(), 1000);
    assert!(!r.all_equal());
    assert_eq!(r.exit_code, 1);
    assert_eq!(text(&r), "ringdeck verify: ERROR - x.toml:3: key `port`: bad\n");
    let v: serde_json::Value = serde_json::from_str(&json(&r)).unwrap();
    assert_eq!(v["error"], "x.toml:3: key `port`: bad");
}
