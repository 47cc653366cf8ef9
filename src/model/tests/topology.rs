//! Topology: shape, findings and the most complete node, on replica rows built from the recorded
//! MariaDB fixtures (ports 41001..41003 as recorded) and the documented MySQL column sets.

use super::replication::{MYSQL84_REPLICA_STATUS, row_from_vertical, rows_from_vertical};
use crate::model::replication::*;
use crate::model::topology::*;
use std::time::Duration;

const HEALTHY: &str = include_str!("../../../tests/fixtures/mariadb-10.11-show-all-slaves-status-healthy.txt");
pub(crate) const BROKEN: &str = include_str!("../../../tests/fixtures/mariadb-10.11-show-all-slaves-status-broken.txt");
const CONNECTING: &str = include_str!("../../../tests/fixtures/mariadb-10.11-show-all-slaves-status-io-connecting.txt");
const GTID_BROKEN: &str = include_str!("../../../tests/fixtures/mariadb-10.11-gtid-show-all-slaves-status-broken.txt");

const NAMES: [&str; 4] = ["node1", "node2", "node3", "node4"];

/// The recorded healthy row (node3 from node2 at 41002), re-aimed at node `up` with `exec` done.
pub(crate) fn healthy_link(up: u16, exec: u64) -> ReplicaLink {
    let text = HEALTHY
        .replace("Master_Port: 41002", &format!("Master_Port: {}", 41000 + up))
        .replace("binlog-n2.", &format!("binlog-n{up}."))
        .replace("Master_Server_Id: 2", &format!("Master_Server_Id: {up}"))
        .replace("Read_Master_Log_Pos: 11244", &format!("Read_Master_Log_Pos: {exec}"))
        .replace("Exec_Master_Log_Pos: 11244", &format!("Exec_Master_Log_Pos: {exec}"));
    ReplicaLink::from_row(&rows_from_vertical(&text)[0]).unwrap()
}

/// A MariaDB node `k` of an `n` ring at `binlog-nK.000001:pos`, settings as a ring needs them.
pub(crate) fn node(k: u16, n: u32, pos: u64, links: Vec<ReplicaLink>) -> NodeStatus {
    NodeStatus {
        version: "10.11.19-MariaDB-0+deb12u1-log".into(),
        dialect: Dialect::MariaDb,
        vars: NodeVars {
            server_id: u32::from(k),
            hostname: format!("host{k}"),
            read_only: false,
            auto_increment_increment: n,
            auto_increment_offset: u32::from(k),
            log_slave_updates: true,
            max_connections: 151,
            gtid_binlog_pos: String::new(),
            gtid_slave_pos: String::new(),
            gtid_domain_id: Some(0),
        },
        counters: NodeCounters::default(),
        binlog: Some(BinlogPos { file: format!("binlog-n{k}.000001"), position: pos }),
        links,
        processes: Vec::new(),
        digests: None,
    }
}

/// A healthy ring of `n`: node k replicates from node k-1 (node 1 from node n), all caught up.
pub(crate) fn ring(n: u16) -> Vec<NodeStatus> {
    (1..=n)
        .map(|k| {
            let up = if k == 1 { n } else { k - 1 };
            node(k, u32::from(n), 2974, vec![healthy_link(up, 2974)])
        })
        .collect()
}

pub(crate) fn inputs(st: &[NodeStatus]) -> Vec<NodeInput<'_>> {
    st.iter().enumerate().map(|(i, s)| NodeInput::up(NAMES[i], "127.0.0.1", 41001 + i as u16, s)).collect()
}

fn build(inp: &[NodeInput<'_>]) -> Topology {
    Topology::build(inp, &Thresholds::default())
}

fn kinds(t: &Topology) -> Vec<FindingKind> {
    t.findings.iter().map(|f| f.kind).collect()
}

#[test]
fn healthy_ring_is_ok() {
    let st = ring(3);
    let t = build(&inputs(&st));
    assert_eq!(t.shape, Shape::Ring(vec![0, 1, 2]));
    assert!(t.findings.is_empty(), "{:#?}", t.findings);
    assert_eq!(t.severity(), Severity::Ok);
    assert_eq!(t.links.len(), 3);
    assert!(t.links.iter().all(|l| l.state == LinkState::Running));
    assert!(t.links.iter().all(|l| l.bytes_behind == Some(0)));
    assert!(t.most_complete.is_none());
    let l = t.link_between(0, 1).unwrap();
    assert_eq!(l.executed.position, 2974);
}

#[test]
fn ring_order_follows_replication_not_config_order() {
    // node1 <- node3 <- node2 <- node1: replication order 1 -> 3 -> 2 -> 1.
    let st = vec![
        node(1, 3, 2974, vec![healthy_link(2, 2974)]),
        node(2, 3, 2974, vec![healthy_link(3, 2974)]),
        node(3, 3, 2974, vec![healthy_link(1, 2974)]),
    ];
    assert_eq!(build(&inputs(&st)).shape, Shape::Ring(vec![0, 2, 1]));
}

#[test]
fn break_1062_on_node2_names_the_link_and_node1_most_complete() {
    let mut st = ring(3);
    // The recorded 1062 break on node2: executed binlog-n1.000001:2974, node1 wrote on to 3292.
    st[1].links = vec![ReplicaLink::from_row(&rows_from_vertical(BROKEN)[0]).unwrap()];
    st[0].binlog.as_mut().unwrap().position = 3292;
    let t = build(&inputs(&st));
    assert_eq!(t.severity(), Severity::Critical);
    assert_eq!(t.shape, Shape::Ring(vec![0, 1, 2]));
    let f = &t.findings[0];
    assert_eq!(f.kind, FindingKind::LinkBroken);
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.nodes, vec!["node2".to_string()]);
    assert!(
        f.message.starts_with("node1 -> node2  SQL stopped  1062 Duplicate entry '1009' for key 'PRIMARY'"),
        "{}",
        f.message
    );
    assert!(f.message.contains("app.posts"), "{}", f.message);
    assert!(f.message.contains("binlog-n1.000001 end_log_pos 3261"));
    let link = &t.links[f.link.unwrap()];
    assert_eq!((link.state, link.errno), (LinkState::Broken, 1062));
    assert_eq!(link.bytes_behind, Some(318));
    let m = t.most_complete.as_ref().unwrap();
    assert_eq!(m.node, 0);
    assert!(m.certain);
    assert!(m.reason.contains("node1 is node2's upstream"), "{}", m.reason);
    assert!(
        m.evidence.contains(
            &"node2 executed node1's binlog up to binlog-n1.000001:2974; node1 is at \
              binlog-n1.000001:3292 (318 bytes not applied) [SQL stopped  1062 Duplicate entry \
              '1009' for key 'PRIMARY' (table app.posts, event at binlog-n1.000001 end_log_pos \
              3261)]"
                .to_string()
        ),
        "{:#?}",
        m.evidence
    );
    assert!(m.evidence.iter().any(|e| e.contains("(all applied)")));
}

#[test]
fn node3_down_makes_node2_most_complete() {
    let mut st = ring(3);
    // node1's IO thread cannot reach node3 (recorded row, aimed at node3).
    let mut l = ReplicaLink::from_row(&rows_from_vertical(CONNECTING)[0]).unwrap();
    l.master_port = 41003;
    l.master_server_id = Some(3);
    st[0].links = vec![l];
    let st = &st[..2];
    let mut inp = inputs(st);
    inp.push(NodeInput::down("node3", "127.0.0.1", 41003, "connection refused"));
    let t = build(&inp);
    assert_eq!(t.severity(), Severity::Critical);
    assert_eq!(t.findings[0].kind, FindingKind::NodeDown);
    assert!(t.findings[0].message.contains("node3"));
    assert!(t.findings[0].message.contains("connection refused"));
    // The down node's links are unknown: a chain from node3, but no "not a ring" finding.
    assert_eq!(t.shape, Shape::Chain(vec![2, 0, 1]));
    assert!(!kinds(&t).contains(&FindingKind::NotARing));
    let io = t.findings.iter().find(|f| f.kind == FindingKind::LinkBroken).unwrap();
    assert!(io.message.starts_with("node3 -> node1  IO connecting  2003"), "{}", io.message);
    assert!(io.message.ends_with("(node3 is down)"), "{}", io.message);
    let m = t.most_complete.unwrap();
    assert_eq!(m.node, 1, "{m:#?}");
    assert!(m.certain);
    assert!(m.evidence.iter().any(|e| e.contains("node3 is down")));
}

#[test]
fn chain_and_node_without_links() {
    let mut st = ring(3);
    st[0].links.clear();
    let t = build(&inputs(&st));
    assert_eq!(t.shape, Shape::Chain(vec![0, 1, 2]));
    assert_eq!(t.severity(), Severity::Warning);
    let chain = t.findings.iter().find(|f| f.kind == FindingKind::NotARing).unwrap();
    assert!(chain.message.contains("node1 -> node2 -> node3"), "{}", chain.message);
    assert!(chain.message.contains("writes on node3 never reach node1, node2"));
    assert!(kinds(&t).contains(&FindingKind::NoReplication));
    assert!(t.most_complete.is_none());
}

#[test]
fn external_upstream() {
    let mut st = ring(3);
    let mut l = healthy_link(2, 2974);
    l.master_host = "10.9.9.9".into();
    l.master_port = 3306;
    l.master_server_id = Some(77);
    st[2].links = vec![l];
    let t = build(&inputs(&st));
    let f = t.findings.iter().find(|f| f.kind == FindingKind::ExternalUpstream).unwrap();
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.message.contains("node3 replicates from 10.9.9.9:3306"));
    assert!(matches!(t.links[2].upstream, Upstream::External { .. }));
    assert_eq!(t.links[2].bytes_behind, None);
    assert_ne!(t.shape, Shape::Ring(vec![0, 1, 2]));
}

#[test]
fn link_matched_by_server_id_when_host_differs() {
    let mut st = ring(3);
    st[1].links[0].master_host = "db1.internal".into();
    st[1].links[0].master_port = 3306;
    let t = build(&inputs(&st));
    assert_eq!(t.shape, Shape::Ring(vec![0, 1, 2]));
    assert!(t.findings.is_empty());
}

#[test]
fn duplicate_server_id() {
    let mut st = ring(3);
    st[2].vars.server_id = 1;
    // node3's upstream is still found by host:port; node1's link (server id 3) by host:port too.
    let t = build(&inputs(&st));
    let f = t.findings.iter().find(|f| f.kind == FindingKind::DuplicateServerId).unwrap();
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.nodes, vec!["node1".to_string(), "node3".to_string()]);
    assert!(f.message.contains("server_id 1"));
}

#[test]
fn auto_increment_collisions() {
    // Same offset modulo increment.
    let mut st = ring(3);
    st[2].vars.auto_increment_offset = 2;
    let t = build(&inputs(&st));
    let f = t.findings.iter().find(|f| f.kind == FindingKind::AutoIncrementCollision).unwrap();
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.nodes, vec!["node2".to_string(), "node3".to_string()]);
    // Increment smaller than the node count.
    let mut st = ring(3);
    for s in &mut st {
        s.vars.auto_increment_increment = 1;
        s.vars.auto_increment_offset = 1;
    }
    let t = build(&inputs(&st));
    let ai: Vec<&Finding> = t.findings.iter().filter(|f| f.kind == FindingKind::AutoIncrementCollision).collect();
    assert_eq!(ai.len(), 1, "{ai:#?}");
    assert!(ai[0].message.contains("smaller than the 3 nodes"));
    // Offset above the increment (ignored by the server, acts as 1: collides with node1).
    let mut st = ring(3);
    st[2].vars.auto_increment_offset = 5;
    let t = build(&inputs(&st));
    let ai: Vec<&Finding> = t.findings.iter().filter(|f| f.kind == FindingKind::AutoIncrementCollision).collect();
    assert!(ai.iter().any(|f| f.message.contains("offset 5 > ")));
    assert!(ai.iter().any(|f| f.nodes == ["node1", "node3"]));
    // Different increments that never meet: 1+2k and 2+4k.
    let mut st = ring(2);
    st[0].vars.auto_increment_increment = 2;
    st[1].vars.auto_increment_increment = 4;
    assert!(build(&inputs(&st)).findings.is_empty());
}

#[test]
fn log_slave_updates_off() {
    let mut st = ring(3);
    st[1].vars.log_slave_updates = false;
    let t = build(&inputs(&st));
    assert_eq!(t.severity(), Severity::Critical);
    let f = &t.findings[0];
    assert_eq!(f.kind, FindingKind::LogSlaveUpdatesOff);
    assert_eq!(f.nodes, vec!["node2".to_string()]);
}

#[test]
fn read_only_mismatch_names_both_sides() {
    let mut st = ring(3);
    st[1].vars.read_only = true;
    let t = build(&inputs(&st));
    assert_eq!(t.severity(), Severity::Warning);
    let f = &t.findings[0];
    assert_eq!(f.kind, FindingKind::ReadOnlyMismatch);
    assert!(f.message.contains("writable node1, node3; read-only node2"), "{}", f.message);
}

#[test]
fn lag_warn_and_crit_with_bytes_behind() {
    let mut st = ring(3);
    st[0].binlog.as_mut().unwrap().position = 5000;
    st[1].links[0].seconds_behind = Some(42);
    // Two samples in a row, the node's previous one alike.
    let with_prev = |now: &[NodeStatus], before: &[NodeStatus]| {
        let mut inp = inputs(now);
        for (i, n) in inp.iter_mut().enumerate() {
            n.prev = Some(&before[i]);
        }
        build(&inp)
    };
    let t = with_prev(&st, &st);
    let f = &t.findings[0];
    assert_eq!((f.kind, f.severity), (FindingKind::Lag, Severity::Warning));
    assert!(
        f.message.starts_with("node1 -> node2  lag 42 s (limit 10 s), 2026 bytes of binlog not applied"),
        "{}",
        f.message
    );
    assert_eq!(t.links[1].state, LinkState::Lagging);
    let mut spike = st.clone();
    spike[1].links[0].seconds_behind = Some(900);
    assert_eq!(with_prev(&spike, &spike).findings[0].severity, Severity::Critical);
    assert_eq!(with_prev(&spike, &st).findings[0].severity, Severity::Warning, "900 s once after 42 s: still warning");
    // Executing an older file: bytes unknown, "behind by file".
    st[0].binlog = Some(BinlogPos { file: "binlog-n1.000002".into(), position: 400 });
    let t = with_prev(&st, &st);
    assert_eq!(t.links[1].bytes_behind, None);
    assert!(t.links[1].behind_by_file);
    assert!(
        t.findings[0].message.contains("behind by file: executing binlog-n1.000001, upstream writes binlog-n1.000002"),
        "{}",
        t.findings[0].message
    );
    assert_eq!(t.most_complete, None, "lag is not a break");
}

#[test]
fn a_lag_seen_in_one_sample_only_is_no_finding() {
    let mut st = ring(3);
    st[1].links[0].seconds_behind = Some(42);
    let t = build(&inputs(&st));
    assert!(t.findings.is_empty(), "no earlier sample to confirm it: {:?}", t.findings);
    assert_eq!(t.links[1].state, LinkState::Running);
    assert_eq!(t.links[1].seconds_behind, Some(42), "the value itself is still shown");
    // The sample before had caught up: a spike.
    let before = ring(3);
    let mut inp = inputs(&st);
    inp[1].prev = Some(&before[1]);
    assert!(build(&inp).findings.is_empty());
}

#[test]
fn one_failed_poll_of_a_node_is_no_finding_until_its_sample_is_old() {
    let st = ring(3);
    let mut inp = inputs(&st);
    inp[2].state = NodeState::Stale;
    inp[2].error = Some("connection reset");
    inp[2].age = Some(Duration::from_millis(1100));
    assert!(build(&inp).findings.is_empty(), "stale after one transient failure, sample 1.1 s old");
    inp[2].age = Some(Duration::from_millis(2600));
    let t = build(&inp);
    assert_eq!((t.findings[0].kind, t.findings[0].severity), (FindingKind::NodeStale, Severity::Warning));
    // A hard fact is immediate.
    let mut inp = inputs(&st);
    inp[2] = NodeInput::down("node3", "127.0.0.1", 41003, "connection refused");
    assert_eq!(build(&inp).findings[0].severity, Severity::Critical);
}

#[test]
fn gtid_positions_parse_and_dominate() {
    let a = gtid_positions("1-1-5,2-2-9,3-3-3");
    let b = gtid_positions("1-1-4, 2-2-9,3-3-3");
    assert!(gtid_dominates(&a, &b) && !gtid_dominates(&b, &a));
    let m = gtid_positions("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-20:22-30,\nabc:1-5");
    assert_eq!(m["3e11fa47-71ca-11e1-9e33-c80aa9429562"], 30);
    assert_eq!(m["abc"], 5);
    assert!(gtid_positions("").is_empty());
}

#[test]
fn gtid_ring_two_breaks_names_dominating_node() {
    let mut st = ring(3);
    for (i, s) in st.iter_mut().enumerate() {
        s.vars.gtid_domain_id = Some(i as u32 + 1);
    }
    // Recorded GTID break on node2 (from node1 at 41001).
    st[1].links = vec![ReplicaLink::from_row(&rows_from_vertical(GTID_BROKEN)[0]).unwrap()];
    st[0].binlog.as_mut().unwrap().position = 3292;
    // And node3's link from node2 broken too.
    st[2].links[0].sql_running = false;
    st[2].links[0].last_sql_errno = 1032;
    st[2].links[0].last_sql_error =
        "Could not execute Delete_rows_v1 event on table app.posts; Can't find record in 'posts', Error_code: 1032"
            .into();
    st[0].vars.gtid_binlog_pos = "1-1-4,2-2-3,3-3-5".into();
    st[1].vars.gtid_binlog_pos = "1-1-3,2-2-3,3-3-3".into();
    st[2].vars.gtid_binlog_pos = "1-1-3,2-2-3,3-3-5".into();
    let t = build(&inputs(&st));
    let m = t.most_complete.unwrap();
    assert_eq!(m.node, 0, "{m:#?}");
    assert!(!m.certain);
    assert!(m.reason.starts_with("2 breaks"), "{}", m.reason);
    assert!(m.reason.contains("node1's GTID positions dominate"));
    assert!(m.evidence.iter().any(|e| e == "node1 gtid_binlog_pos 1-1-4,2-2-3,3-3-5"));
    assert_eq!(t.findings.iter().filter(|f| f.kind == FindingKind::LinkBroken).count(), 2);
}

#[test]
fn two_breaks_without_gtid_are_not_certain() {
    let mut st = ring(3);
    st[1].links[0].sql_running = false;
    st[2].links[0].sql_running = false;
    let t = build(&inputs(&st));
    let m = t.most_complete.unwrap();
    assert!(!m.certain);
    assert!(m.reason.contains("no node has every write"), "{}", m.reason);
    // Runs: node3 alone (into node1... ) and node2 -> node3 -> node1: node1 ends the longest.
    assert_eq!(m.node, 0);
}

#[test]
fn shared_gtid_domain_is_not_used_as_evidence() {
    let mut st = ring(3);
    st[1].links[0].sql_running = false;
    st[0].vars.gtid_binlog_pos = "0-1-5".into();
    st[1].vars.gtid_binlog_pos = "0-3-9".into();
    st[2].vars.gtid_binlog_pos = "0-3-9".into();
    let m = build(&inputs(&st)).most_complete.unwrap();
    assert_eq!(m.node, 0);
    assert!(m.certain, "{m:#?}");
    assert!(!m.evidence.iter().any(|e| e.contains("gtid")));
}

#[test]
fn mysql84_ring_with_source_columns() {
    let link_from = |up: u16, broken: bool| {
        let mut text = MYSQL84_REPLICA_STATUS
            .replace("Source_Host: 10.0.0.11", "Source_Host: 127.0.0.1")
            .replace("Source_Port: 3306", &format!("Source_Port: {}", 41000 + up))
            .replace("Source_Server_Id: 1", &format!("Source_Server_Id: {up}"));
        if !broken {
            text = text
                .replace("Replica_SQL_Running: No", "Replica_SQL_Running: Yes")
                .replace("Last_SQL_Errno: 1062", "Last_SQL_Errno: 0")
                .replace("Exec_Source_Log_Pos: 7342", "Exec_Source_Log_Pos: 8812")
                .replace("Seconds_Behind_Source: NULL", "Seconds_Behind_Source: 0");
            text = text
                .lines()
                .filter(|l| !l.starts_with("Last_SQL_Error") && !l.starts_with("Last_Error"))
                .collect::<Vec<_>>()
                .join("\n");
        }
        ReplicaLink::from_row(&row_from_vertical(&text)).unwrap()
    };
    let mk = |k: u16, up: u16, broken: bool| {
        let mut s = node(k, 3, 8812, vec![link_from(up, broken)]);
        s.dialect = Dialect::MySql84;
        s.binlog = Some(BinlogPos { file: "binlog.000007".into(), position: 8812 });
        s.vars.gtid_domain_id = None;
        s
    };
    let st = vec![mk(1, 3, false), mk(2, 1, true), mk(3, 2, false)];
    let t = build(&inputs(&st));
    assert_eq!(t.shape, Shape::Ring(vec![0, 1, 2]));
    let f = &t.findings[0];
    assert!(
        f.message.starts_with(
            "node1 -> node2  SQL stopped  1062 Duplicate entry '7' for key 'posts.PRIMARY' (table app.posts)"
        ),
        "{}",
        f.message
    );
    assert_eq!(t.links[1].bytes_behind, Some(1470));
    assert_eq!(t.most_complete.unwrap().node, 0);
}

#[test]
fn mariadb_multi_source_one_link_per_connection() {
    // node3 replicates from node1 and node2 over named connections; node1 and node2 from node3.
    let mut a = healthy_link(1, 2974);
    a.connection = "from1".into();
    let mut b = healthy_link(2, 2974);
    b.connection = "from2".into();
    b.io = IoState::Connecting;
    b.last_io_errno = 2003;
    b.last_io_error = "error connecting to master 'repl@127.0.0.1:41002' - retry-time: 60  maximum-retries: 86400  message: Can't connect to server on '127.0.0.1' (111)".into();
    let st = vec![
        node(1, 3, 2974, vec![healthy_link(3, 2974)]),
        node(2, 3, 2974, vec![healthy_link(3, 2974)]),
        node(3, 3, 2974, vec![a, b]),
    ];
    let t = build(&inputs(&st));
    assert_eq!(t.links_into(2).count(), 2);
    assert_eq!(t.shape, Shape::Other);
    let f = t.findings.iter().find(|f| f.kind == FindingKind::LinkBroken).unwrap();
    assert_eq!(
        f.message,
        "node2 -> node3 ['from2']  IO connecting  2003 error connecting to master \
         'repl@127.0.0.1:41002': Can't connect to server on '127.0.0.1' (111)"
    );
    let other = t.findings.iter().find(|f| f.kind == FindingKind::NotARing).unwrap();
    assert!(other.message.contains("node3 replicates from node1, node2"), "{}", other.message);
    assert!(other.message.contains("node3 feeds 2 nodes"), "{}", other.message);
}

#[test]
fn stale_and_unknown_nodes() {
    let st = ring(3);
    let mut inp = inputs(&st);
    inp[0].state = NodeState::Stale;
    inp[0].age = Some(std::time::Duration::from_secs(12));
    inp[2].state = NodeState::Unknown;
    inp[2].status = None;
    let t = build(&inp);
    assert_eq!(t.severity(), Severity::Unknown);
    assert!(kinds(&t).contains(&FindingKind::NodeStale));
    assert!(t.findings.iter().any(|f| f.message == "node1: last sample 12 s old"));
    assert_eq!(t.node_severity("node1"), Severity::Warning);
    assert_eq!(t.links_into(0).next().unwrap().state, LinkState::Unknown);
}

#[test]
fn error_gist_keeps_what_matters() {
    assert_eq!(
        error_gist(
            "Could not execute Write_rows_v1 event on table app.posts; Duplicate entry '200001' for key 'PRIMARY', Error_code: 1062; handler error HA_ERR_FOUND_DUPP_KEY; the event's master log binlog-n1.000005, end_log_pos 3356"
        ),
        "Duplicate entry '200001' for key 'PRIMARY' (table app.posts, event at binlog-n1.000005 end_log_pos 3356)"
    );
    assert_eq!(error_gist("something else"), "something else");
    assert_eq!(error_gist(""), "");
}
