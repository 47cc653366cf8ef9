//! Planning: exact statements per dialect for every action, refusals, warnings, danger levels and
//! password masking, on a 3-node ring config (node k at 127.0.0.1:3300+k replicates from k-1).

use std::path::Path;

use super::*;
use crate::model::replication::{BinlogPos, NodeCounters, NodeVars};
use crate::runbook::plan;

const CFG: &str = r#"
[[node]]
name = "node1"
host = "127.0.0.1"
port = 3301
replication_user = "repl"
replication_password = "s3cret-REPL"

[[node]]
name = "node2"
host = "127.0.0.1"
port = 3302
replication_user = "re'pl"
replication_password = "s3cret-REPL"

[[node]]
name = "node3"
host = "127.0.0.1"
port = 3303
"#;

fn cfg() -> Config {
    Config::parse(CFG, Path::new("test.toml")).expect("test config parses")
}

fn link(up: u16) -> ReplicaLink {
    ReplicaLink {
        connection: String::new(),
        master_host: "127.0.0.1".into(),
        master_port: 3300 + up,
        master_server_id: Some(u32::from(up)),
        io: IoState::Running,
        sql_running: true,
        last_io_errno: 0,
        last_io_error: String::new(),
        last_sql_errno: 0,
        last_sql_error: String::new(),
        seconds_behind: Some(0),
        master_log_file: format!("binlog-n{up}.000005"),
        read_master_log_pos: 3356,
        relay_master_log_file: format!("binlog-n{up}.000005"),
        exec_master_log_pos: 3356,
        sql_state: String::new(),
        using_gtid: "No".into(),
        gtid_io_pos: String::new(),
        props: Default::default(),
    }
}

const DUP: &str = "Could not execute Write_rows_v1 event on table app.posts; Duplicate entry '200001' for key \
                   'PRIMARY', Error_code: 1062; handler error HA_ERR_FOUND_DUPP_KEY; the event's master log \
                   binlog-n1.000005, end_log_pos 3356";

fn broken(mut l: ReplicaLink, errno: u32) -> ReplicaLink {
    l.sql_running = false;
    l.last_sql_errno = errno;
    l.last_sql_error = DUP.into();
    l
}

fn node(k: u16, dialect: Dialect, links: Vec<ReplicaLink>) -> NodeStatus {
    NodeStatus {
        version: "x".into(),
        dialect,
        vars: NodeVars { server_id: u32::from(k), ..NodeVars::default() },
        counters: NodeCounters::default(),
        binlog: Some(BinlogPos { file: format!("binlog-n{k}.000007"), position: 1234 }),
        links,
        processes: Vec::new(),
        digests: None,
    }
}

/// A ring in one dialect; node2's link is `l2`.
fn ring(dialect: Dialect, l2: ReplicaLink) -> Vec<NodeStatus> {
    vec![node(1, dialect, vec![link(3)]), node(2, dialect, vec![l2]), node(3, dialect, vec![link(2)])]
}

fn plan_on(action: StepAction, node: &str, st: &[NodeStatus]) -> Result<Step, String> {
    let names = ["node1", "node2", "node3"];
    let statuses: Vec<(&str, Option<&NodeStatus>)> = names.iter().copied().zip(st.iter().map(Some)).collect();
    plan(&action, node, &cfg(), &statuses)
}

const ALL: [Dialect; 4] = [Dialect::MariaDb, Dialect::MySqlLegacy, Dialect::MySql80, Dialect::MySql84];

fn statements(action: StepAction, dialect: Dialect, l2: ReplicaLink) -> Vec<String> {
    plan_on(action, "node2", &ring(dialect, l2)).unwrap_or_else(|e| panic!("{dialect:?}: {e}")).statements
}

#[test]
fn stop_and_start_per_dialect() {
    let expect = [
        (Dialect::MariaDb, ["STOP SLAVE", "STOP SLAVE IO_THREAD", "STOP SLAVE SQL_THREAD", "START SLAVE"]),
        (Dialect::MySqlLegacy, ["STOP SLAVE", "STOP SLAVE IO_THREAD", "STOP SLAVE SQL_THREAD", "START SLAVE"]),
        (Dialect::MySql80, ["STOP REPLICA", "STOP REPLICA IO_THREAD", "STOP REPLICA SQL_THREAD", "START REPLICA"]),
        (Dialect::MySql84, ["STOP REPLICA", "STOP REPLICA IO_THREAD", "STOP REPLICA SQL_THREAD", "START REPLICA"]),
    ];
    for (d, [both, io, sql, start]) in expect {
        assert_eq!(statements(StepAction::StopSlave { threads: Threads::Both }, d, link(1)), [both]);
        assert_eq!(statements(StepAction::StopSlave { threads: Threads::Io }, d, link(1)), [io]);
        assert_eq!(statements(StepAction::StopSlave { threads: Threads::Sql }, d, link(1)), [sql]);
        assert_eq!(statements(StepAction::StartSlave, d, link(1)), [start]);
    }
}

#[test]
fn skip_per_dialect() {
    let b = broken(link(1), 1062);
    assert_eq!(
        statements(StepAction::Skip { count: 2 }, Dialect::MariaDb, b.clone()),
        ["STOP SLAVE", "SET GLOBAL sql_slave_skip_counter = 2", "START SLAVE"]
    );
    assert_eq!(
        statements(StepAction::Skip { count: 1 }, Dialect::MySqlLegacy, b.clone()),
        ["STOP SLAVE", "SET GLOBAL sql_slave_skip_counter = 1", "START SLAVE"]
    );
    for d in [Dialect::MySql80, Dialect::MySql84] {
        assert_eq!(
            statements(StepAction::Skip { count: 1 }, d, b.clone()),
            ["STOP REPLICA", "SET GLOBAL sql_replica_skip_counter = 1", "START REPLICA"]
        );
    }
    // skip-until-healthy shows the statements of one round.
    let s = plan_on(
        StepAction::SkipUntilHealthy { errnos: vec![1062, 1032], limit: 10 },
        "node2",
        &ring(Dialect::MariaDb, b),
    )
    .unwrap();
    assert_eq!(s.statements, ["STOP SLAVE", "SET GLOBAL sql_slave_skip_counter = 1", "START SLAVE"]);
    assert_eq!(s.danger, Danger::Medium);
    assert!(s.title.contains("until healthy"), "{}", s.title);
}

#[test]
fn mysql_gtid_skip_is_an_empty_transaction() {
    let uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    let mut b = broken(link(1), 1062);
    b.using_gtid = "1".into();
    b.gtid_io_pos = format!("{uuid}:1-23");
    b.last_sql_error = "Could not execute Write_rows event on table app.posts; Duplicate entry".into();
    let mut st = ring(Dialect::MySql80, b.clone());
    st[1].vars.gtid_binlog_pos = format!("{uuid}:1-22,aaaaaaaa-71ca-11e1-9e33-c80aa9429562:1-5");
    let s = plan_on(StepAction::Skip { count: 1 }, "node2", &st).unwrap();
    assert_eq!(
        s.statements,
        [
            "STOP REPLICA".to_string(),
            format!("SET GTID_NEXT='{uuid}:23'"),
            "BEGIN".into(),
            "COMMIT".into(),
            "SET GTID_NEXT='AUTOMATIC'".into(),
            "START REPLICA".into()
        ]
    );
    // Named in the error text: that one wins.
    b.last_sql_error = format!("Worker 1 failed executing transaction '{uuid}:19' at source log binlog.000002");
    let st = ring(Dialect::MySql84, b.clone());
    let s = plan_on(StepAction::Skip { count: 1 }, "node2", &st).unwrap();
    assert_eq!(s.statements[1], format!("SET GTID_NEXT='{uuid}:19'"));
    // Not derivable: refused with a reason.
    b.last_sql_error = "Duplicate entry".into();
    b.gtid_io_pos = format!("{uuid}:1-5");
    let mut st = ring(Dialect::MySql80, b.clone());
    st[1].vars.gtid_binlog_pos = format!("{uuid}:1-5");
    let e = plan_on(StepAction::Skip { count: 1 }, "node2", &st).unwrap_err();
    assert!(e.contains("cannot tell the failing GTID"), "{e}");
    let e = plan_on(
        StepAction::Skip { count: 2 },
        "node2",
        &ring(Dialect::MySql80, {
            let mut x = b.clone();
            x.gtid_io_pos = format!("{uuid}:1-6");
            x
        }),
    )
    .unwrap_err();
    assert!(e.contains("1 at a time"), "{e}");
}

#[test]
fn gtid_set_parsing() {
    let s = parse_gtid_set("3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:7-9:11,\n aaaa:3");
    assert_eq!(s["3e11fa47-71ca-11e1-9e33-c80aa9429562"], vec![(1, 5), (7, 9), (11, 11)]);
    assert_eq!(s["aaaa"], vec![(3, 3)]);
    assert_eq!(first_missing(&[(1, 9)], &[(1, 5), (7, 9)]), Some(6));
    assert_eq!(first_missing(&[(1, 9)], &[(1, 9)]), None);
}

#[test]
fn reset_and_read_only_per_dialect() {
    for d in ALL {
        let reset_master = if d == Dialect::MySql84 { "RESET BINARY LOGS AND GTIDS" } else { "RESET MASTER" };
        assert_eq!(statements(StepAction::ResetMaster, d, link(1)), [reset_master]);
        let (stop, reset) = match d {
            Dialect::MariaDb | Dialect::MySqlLegacy => ("STOP SLAVE", "RESET SLAVE ALL"),
            _ => ("STOP REPLICA", "RESET REPLICA ALL"),
        };
        assert_eq!(statements(StepAction::ResetSlaveAll, d, link(1)), [stop, reset]);
        assert_eq!(statements(StepAction::ReadOnly { on: true }, d, link(1)), ["SET GLOBAL read_only = ON"]);
        assert_eq!(statements(StepAction::ReadOnly { on: false }, d, link(1)), ["SET GLOBAL read_only = OFF"]);
    }
}

#[test]
fn change_master_per_dialect_masks_the_password_and_quotes() {
    let a = StepAction::ChangeMaster { upstream: "node1".into(), file: "binlog-n1.000009".into(), pos: 4 };
    let maria = "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=3301, MASTER_USER='re''pl', \
                 MASTER_PASSWORD='***', MASTER_LOG_FILE='binlog-n1.000009', MASTER_LOG_POS=4";
    assert_eq!(statements(a.clone(), Dialect::MariaDb, link(1)), [maria]);
    assert_eq!(statements(a.clone(), Dialect::MySqlLegacy, link(1)), [maria]);
    let modern = "CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=3301, SOURCE_USER='re''pl', \
                  SOURCE_PASSWORD='***', SOURCE_LOG_FILE='binlog-n1.000009', SOURCE_LOG_POS=4";
    assert_eq!(statements(a.clone(), Dialect::MySql80, link(1)), [modern]);
    assert_eq!(statements(a.clone(), Dialect::MySql84, link(1)), [modern]);
    let s = plan_on(a, "node2", &ring(Dialect::MariaDb, link(1))).unwrap();
    let text = serde_json::to_string(&s).unwrap();
    assert!(!text.contains("s3cret-REPL"), "{text}");
    assert_eq!(s.danger, Danger::TypeNodeName);
    assert_eq!(s.preconditions.len(), 3);
    assert!(s.preconditions.iter().all(|c| c.ok.is_none()));
    // A hostile file name cannot break out of its literal.
    let evil = StepAction::ChangeMaster { upstream: "node1".into(), file: "x', MASTER_HOST='evil".into(), pos: 4 };
    let s = statements(evil, Dialect::MariaDb, link(1));
    assert!(s[0].contains("MASTER_LOG_FILE='x'', MASTER_HOST=''evil'"), "{}", s[0]);
}

#[test]
fn change_master_prefills_the_upstream_coordinates() {
    let a = StepAction::ChangeMaster { upstream: "node1".into(), file: String::new(), pos: 0 };
    let s = plan_on(a, "node2", &ring(Dialect::MariaDb, link(1))).unwrap();
    assert_eq!(
        s.action,
        StepAction::ChangeMaster { upstream: "node1".into(), file: "binlog-n1.000007".into(), pos: 1234 }
    );
    assert!(s.statements[0].ends_with("MASTER_LOG_FILE='binlog-n1.000007', MASTER_LOG_POS=1234"), "{:?}", s.statements);
    // No replication_user on node3, unknown upstream, itself: refused.
    let a = StepAction::ChangeMaster { upstream: "node2".into(), file: String::new(), pos: 0 };
    let e = plan_on(a, "node3", &ring(Dialect::MariaDb, link(1))).unwrap_err();
    assert!(e.contains("replication_user"), "{e}");
    let a = StepAction::ChangeMaster { upstream: "nodeX".into(), file: String::new(), pos: 0 };
    assert!(plan_on(a, "node2", &ring(Dialect::MariaDb, link(1))).unwrap_err().contains("nodeX"));
    let a = StepAction::ChangeMaster { upstream: "node2".into(), file: String::new(), pos: 0 };
    assert!(plan_on(a, "node2", &ring(Dialect::MariaDb, link(1))).unwrap_err().contains("itself"));
}

#[test]
fn mariadb_named_connection() {
    let mut l = broken(link(1), 1062);
    l.connection = "from'n1".into();
    let d = Dialect::MariaDb;
    assert_eq!(
        statements(StepAction::Skip { count: 1 }, d, l.clone()),
        [
            "STOP SLAVE 'from''n1'",
            "SET @@default_master_connection='from''n1'",
            "SET GLOBAL sql_slave_skip_counter = 1",
            "START SLAVE 'from''n1'"
        ]
    );
    assert_eq!(
        statements(StepAction::StopSlave { threads: Threads::Io }, d, l.clone()),
        ["STOP SLAVE 'from''n1' IO_THREAD"]
    );
    assert_eq!(
        statements(StepAction::ResetSlaveAll, d, l.clone()),
        ["STOP SLAVE 'from''n1'", "RESET SLAVE 'from''n1' ALL"]
    );
    let a = StepAction::ChangeMaster { upstream: "node1".into(), file: "f".into(), pos: 4 };
    assert!(statements(a, d, l.clone())[0].starts_with("CHANGE MASTER 'from''n1' TO MASTER_HOST="));
    let mut c = link(1);
    c.connection = "ch1".into();
    assert_eq!(statements(StepAction::StartSlave, Dialect::MySql80, c), ["START REPLICA FOR CHANNEL 'ch1'"]);
}

#[test]
fn skip_is_refused_without_an_sql_error() {
    let e = plan_on(StepAction::Skip { count: 1 }, "node2", &ring(Dialect::MariaDb, link(1))).unwrap_err();
    assert!(e.starts_with("skip refused: the SQL thread of node2 is not stopped on an error"), "{e}");
    let e = plan_on(
        StepAction::SkipUntilHealthy { errnos: vec![1062, 1032], limit: 10 },
        "node2",
        &ring(Dialect::MariaDb, link(1)),
    )
    .unwrap_err();
    assert!(e.contains("skip refused"), "{e}");
    let e = plan_on(
        StepAction::SkipUntilHealthy { errnos: vec![1032], limit: 10 },
        "node2",
        &ring(Dialect::MariaDb, broken(link(1), 1062)),
    )
    .unwrap_err();
    assert!(e.contains("1062 is not one of 1032"), "{e}");
    let e =
        plan_on(StepAction::Skip { count: 0 }, "node2", &ring(Dialect::MariaDb, broken(link(1), 1062))).unwrap_err();
    assert!(e.contains("at least 1"), "{e}");
    // No sample / unknown node.
    let e = plan(&StepAction::StartSlave, "node2", &cfg(), &[("node2", None)]).unwrap_err();
    assert!(e.contains("has not answered"), "{e}");
    let e = plan(&StepAction::StartSlave, "node9", &cfg(), &[]).unwrap_err();
    assert!(e.contains("node9"), "{e}");
    // Stop/start/reset slave need a link.
    let mut st = ring(Dialect::MariaDb, link(1));
    st[1].links.clear();
    let e = plan_on(StepAction::StartSlave, "node2", &st).unwrap_err();
    assert!(e.contains("no replication configured"), "{e}");
}

#[test]
fn skip_warning_names_the_downstream_nodes() {
    let s = plan_on(StepAction::Skip { count: 1 }, "node2", &ring(Dialect::MariaDb, broken(link(1), 1062))).unwrap();
    assert_eq!(downstream_chain("node2", &cfg(), &[]), Vec::<String>::new());
    let w = s.warnings.join("\n");
    assert!(w.contains("never applied on node2 and never written to node2's binlog"), "{w}");
    assert!(w.contains("node3 and node1 will not have it"), "{w}");
    assert!(w.contains("ringdeck verify"), "{w}");
    assert!(w.contains("CHECKSUM TABLE"), "{w}");
    assert!(w.contains("Duplicate entry '200001'"), "{w}");
    assert_eq!(s.title, "skip 1 event on node2");
    assert_eq!(s.preconditions[0].what, "SQL thread stopped on an error");
    assert!(s.preconditions[1].what.starts_with("error is 1062: "), "{}", s.preconditions[1].what);
    let (pre, _) = checks(&s, &cfg());
    assert_eq!(pre, vec![Check::SqlStoppedOnError, Check::ErrorIs(1062)]);
}

#[test]
fn danger_levels() {
    let b = ring(Dialect::MariaDb, broken(link(1), 1062));
    let ok = ring(Dialect::MariaDb, link(1));
    let cases = [
        (StepAction::ResetMaster, &ok, Danger::TypeNodeName),
        (StepAction::ResetSlaveAll, &ok, Danger::TypeNodeName),
        (StepAction::ChangeMaster { upstream: "node1".into(), file: String::new(), pos: 0 }, &ok, Danger::TypeNodeName),
        (StepAction::StopSlave { threads: Threads::Both }, &ok, Danger::Medium),
        (StepAction::Skip { count: 1 }, &b, Danger::Medium),
        (StepAction::SkipUntilHealthy { errnos: vec![1062], limit: 3 }, &b, Danger::Medium),
        (StepAction::ReadOnly { on: false }, &ok, Danger::Medium),
        (StepAction::StartSlave, &ok, Danger::Low),
        (StepAction::ReadOnly { on: true }, &ok, Danger::Low),
    ];
    for (a, st, danger) in cases {
        let s = plan_on(a.clone(), "node2", st).unwrap_or_else(|e| panic!("{a:?}: {e}"));
        assert_eq!(s.danger, danger, "{a:?}");
        assert!(!s.title.is_empty() && !s.effect.is_empty(), "{a:?}");
        let (pre, post) = checks(&s, &cfg());
        assert_eq!(pre.len(), s.preconditions.len(), "{a:?}");
        assert_eq!(post.len(), s.postconditions.len(), "{a:?}");
    }
    let s = plan_on(StepAction::ResetMaster, "node2", &ok).unwrap();
    let w = s.warnings.join(" ");
    assert!(w.contains("deletes the binlogs of node2") && w.contains("node3"), "{w}");
    let s = plan_on(StepAction::ReadOnly { on: false }, "node2", &ok).unwrap();
    assert!(!s.warnings.is_empty());
}

#[test]
fn evaluate_checks() {
    let st = node(2, Dialect::MariaDb, vec![broken(link(1), 1062)]);
    let live = Live { status: Some(&st), ..Live::default() };
    assert!(evaluate(&Check::SqlStoppedOnError, &live).0);
    assert!(evaluate(&Check::ErrorIs(1062), &live).0);
    assert!(!evaluate(&Check::ErrorIs(1032), &live).0);
    assert!(evaluate(&Check::NotBothRunning, &live).0);
    assert!(!evaluate(&Check::ReplicationStopped, &live).0);
    let (ok, seen) = evaluate(&Check::SqlStoppedOnError, &live);
    assert!(ok && seen.contains("Last_SQL_Errno = 1062"), "{seen}");
    // A skip moved on to a different error: advanced.
    let live2 = Live { status: Some(&st), error_before: Some((1062, "older".into())), ..Live::default() };
    assert!(evaluate(&Check::SkipAdvanced, &live2).0);
    let live3 = Live { status: Some(&st), error_before: Some((1062, DUP.into())), ..Live::default() };
    assert!(!evaluate(&Check::SkipAdvanced, &live3).0);
    let empty = node(2, Dialect::MariaDb, vec![]);
    let live = Live { status: Some(&empty), ..Live::default() };
    assert!(evaluate(&Check::ReplicationStopped, &live).0);
    assert!(evaluate(&Check::NoLink, &live).0);
    assert!(!evaluate(&Check::HasLink, &live).0);
    assert!(!evaluate(&Check::HasLink, &Live::default()).0);
}
