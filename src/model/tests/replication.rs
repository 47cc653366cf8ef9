//! Unit tests of the replication parsers on recorded MariaDB output and documented MySQL columns.

use crate::model::replication::*;

/// Builds a row from `Name: value` lines as `\G` output prints them (`NULL` is NULL).
pub fn row_from_vertical(text: &str) -> Row {
    text.lines()
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
        .map(|(k, v)| (k, if v == "NULL" { None } else { Some(v) }))
        .collect()
}

#[test]
fn dialect_from_version() {
    assert_eq!(Dialect::detect("10.11.19-MariaDB-0+deb12u1-log", "Debian 12"), Dialect::MariaDb);
    assert_eq!(Dialect::detect("11.4.2-MariaDB", ""), Dialect::MariaDb);
    assert_eq!(Dialect::detect("5.7.44-log", "MySQL Community Server (GPL)"), Dialect::MySqlLegacy);
    assert_eq!(Dialect::detect("8.0.21", "MySQL Community Server - GPL"), Dialect::MySqlLegacy);
    assert_eq!(Dialect::detect("8.0.36", "MySQL Community Server - GPL"), Dialect::MySql80);
    assert_eq!(Dialect::detect("8.4.3", "MySQL Community Server - GPL"), Dialect::MySql84);
    assert_eq!(Dialect::detect("9.1.0", "MySQL Community Server - GPL"), Dialect::MySql84);
}

#[test]
fn dialect_statements() {
    assert_eq!(Dialect::MariaDb.replica_status_sql(), "SHOW ALL SLAVES STATUS");
    assert_eq!(Dialect::MySqlLegacy.replica_status_sql(), "SHOW SLAVE STATUS");
    assert_eq!(Dialect::MySql80.replica_status_sql(), "SHOW REPLICA STATUS");
    assert_eq!(Dialect::MySql84.binlog_status_sql(), "SHOW BINARY LOG STATUS");
    assert_eq!(Dialect::MySql80.binlog_status_sql(), "SHOW MASTER STATUS");
    assert!(Dialect::MySql84.variables_sql().contains("@@log_replica_updates"));
    assert!(Dialect::MariaDb.variables_sql().contains("@@gtid_slave_pos"));
}

/// MySQL 8.0.22+/8.4 `SHOW REPLICA STATUS\G`, column names as documented, a broken SQL thread.
pub const MYSQL84_REPLICA_STATUS: &str = "\
Replica_IO_State: Waiting for source to send event
Source_Host: 10.0.0.11
Source_User: repl
Source_Port: 3306
Connect_Retry: 60
Source_Log_File: binlog.000007
Read_Source_Log_Pos: 8812
Relay_Log_File: relay.000004
Relay_Log_Pos: 1021
Relay_Source_Log_File: binlog.000007
Replica_IO_Running: Yes
Replica_SQL_Running: No
Last_Errno: 1062
Last_Error: Could not execute Write_rows event on table app.posts; Duplicate entry '7' for key 'posts.PRIMARY'
Skip_Counter: 0
Exec_Source_Log_Pos: 7342
Seconds_Behind_Source: NULL
Last_IO_Errno: 0
Last_IO_Error: 
Last_SQL_Errno: 1062
Last_SQL_Error: Could not execute Write_rows event on table app.posts; Duplicate entry '7' for key 'posts.PRIMARY'
Source_Server_Id: 1
Source_UUID: 3e11fa47-71ca-11e1-9e33-c80aa9429562
Replica_SQL_Running_State: 
Retrieved_Gtid_Set: 3e11fa47-71ca-11e1-9e33-c80aa9429562:1-20
Executed_Gtid_Set: 3e11fa47-71ca-11e1-9e33-c80aa9429562:1-18
Auto_Position: 1
Channel_Name: 
";

/// MySQL 5.7 `SHOW SLAVE STATUS\G`, healthy with 3 s lag.
pub const MYSQL57_SLAVE_STATUS: &str = "\
Slave_IO_State: Waiting for master to send event
Master_Host: db3.internal
Master_User: repl
Master_Port: 3307
Master_Log_File: mysql-bin.000012
Read_Master_Log_Pos: 154
Relay_Master_Log_File: mysql-bin.000012
Slave_IO_Running: Yes
Slave_SQL_Running: Yes
Exec_Master_Log_Pos: 154
Seconds_Behind_Master: 3
Last_IO_Errno: 0
Last_IO_Error: 
Last_SQL_Errno: 0
Last_SQL_Error: 
Master_Server_Id: 3
Slave_SQL_Running_State: Slave has read all relay log; waiting for more updates
Auto_Position: 0
Channel_Name: 
";

#[test]
fn mysql84_columns_map_to_link() {
    let link = ReplicaLink::from_row(&row_from_vertical(MYSQL84_REPLICA_STATUS)).unwrap();
    assert_eq!(link.master_host, "10.0.0.11");
    assert_eq!(link.master_port, 3306);
    assert_eq!(link.io, IoState::Running);
    assert!(!link.sql_running);
    assert_eq!(link.last_sql_errno, 1062);
    assert_eq!(link.exec_master_log_pos, 7342);
    assert_eq!(link.read_master_log_pos, 8812);
    assert_eq!(link.seconds_behind, None);
    assert_eq!(link.master_server_id, Some(1));
    assert_eq!(link.using_gtid, "1");
    assert!(link.gtid_io_pos.ends_with(":1-20"));
    assert!(!link.healthy());
    assert!(link.problem().unwrap().starts_with("SQL stopped 1062 Could not execute"));
}

#[test]
fn mysql57_columns_map_to_link() {
    let link = ReplicaLink::from_row(&row_from_vertical(MYSQL57_SLAVE_STATUS)).unwrap();
    assert_eq!((link.master_host.as_str(), link.master_port), ("db3.internal", 3307));
    assert_eq!(link.seconds_behind, Some(3));
    assert!(link.healthy());
    assert_eq!(link.problem(), None);
    assert_eq!(link.sql_state, "Slave has read all relay log; waiting for more updates");
}

#[test]
fn row_without_host_is_an_error_not_a_panic() {
    let row = row_from_vertical("Foo: 1\nBar: NULL\n");
    assert!(ReplicaLink::from_row(&row).is_err());
}

#[test]
fn io_connecting_is_a_problem() {
    let text = MYSQL57_SLAVE_STATUS
        .replace("Slave_IO_Running: Yes", "Slave_IO_Running: Connecting")
        .replace("Last_IO_Errno: 0", "Last_IO_Errno: 2003")
        .replace("Last_IO_Error: ", "Last_IO_Error: error connecting to master");
    let link = ReplicaLink::from_row(&row_from_vertical(&text)).unwrap();
    assert_eq!(link.problem().unwrap(), "IO connecting 2003 error connecting to master");
}

#[test]
fn vars_and_counters() {
    let vals: Vec<Option<String>> = ["2", "db2", "0", "3", "2", "1", "151", "1-1-5,2-2-9", "1-1-5", "2"]
        .iter()
        .map(|s| Some(s.to_string()))
        .collect();
    let v = NodeVars::from_values(&vals).unwrap();
    assert_eq!((v.server_id, v.auto_increment_increment, v.auto_increment_offset), (2, 3, 2));
    assert!(v.log_slave_updates && !v.read_only);
    assert_eq!(v.gtid_domain_id, Some(2));
    assert!(NodeVars::from_values(&vals[..3]).is_err());
    let c = NodeCounters::from_pairs([("Uptime", "77"), ("Threads_connected", "5"), ("Odd", "x")]);
    assert_eq!((c.uptime, c.threads_connected), (77, 5));
}

#[test]
fn processlist_time_ms_preferred() {
    let row: Row = vec![
        ("ID".into(), Some("42".into())),
        ("USER".into(), Some("app".into())),
        ("COMMAND".into(), Some("Query".into())),
        ("TIME".into(), Some("3".into())),
        ("TIME_MS".into(), Some("3512.250".into())),
        ("INFO".into(), Some("SELECT SLEEP(30)".into())),
        ("DB".into(), None),
    ];
    let p = Process::from_row(&row);
    assert_eq!(p.id, 42);
    assert!((p.time - 3.51225).abs() < 1e-9);
    assert_eq!(p.db, "");
    assert!(!p.is_background());
}

/// Splits `\G` output into rows (one per `*** N. row ***` header).
pub fn rows_from_vertical(text: &str) -> Vec<Row> {
    text.split("*************************** ")
        .filter(|chunk| chunk.contains(':'))
        .map(|chunk| row_from_vertical(chunk.split_once('\n').map_or("", |(_, rest)| rest)))
        .collect()
}

const BROKEN: &str = include_str!("../../../tests/fixtures/mariadb-10.11-show-all-slaves-status-broken.txt");
const HEALTHY: &str = include_str!("../../../tests/fixtures/mariadb-10.11-show-all-slaves-status-healthy.txt");
const CONNECTING: &str = include_str!("../../../tests/fixtures/mariadb-10.11-show-all-slaves-status-io-connecting.txt");
const GTID_BROKEN: &str = include_str!("../../../tests/fixtures/mariadb-10.11-gtid-show-all-slaves-status-broken.txt");
const MASTER: &str = include_str!("../../../tests/fixtures/mariadb-10.11-show-master-status.txt");
const PROCESSLIST: &str = include_str!("../../../tests/fixtures/mariadb-10.11-information-schema-processlist.txt");

#[test]
fn recorded_mariadb_1062_break() {
    let rows = rows_from_vertical(BROKEN);
    assert_eq!(rows.len(), 1);
    let l = ReplicaLink::from_row(&rows[0]).unwrap();
    assert_eq!((l.master_host.as_str(), l.master_port, l.master_server_id), ("127.0.0.1", 41001, Some(1)));
    assert_eq!(l.io, IoState::Running);
    assert!(!l.sql_running);
    assert_eq!(l.last_sql_errno, 1062);
    assert!(l.last_sql_error.contains("Duplicate entry '1009'"));
    assert_eq!((l.exec_master_log_pos, l.read_master_log_pos), (2974, 3292));
    assert_eq!(l.seconds_behind, None);
    assert_eq!(l.using_gtid, "No");
    assert!(l.problem().unwrap().starts_with("SQL stopped 1062 Could not execute Write_rows_v1"));
}

#[test]
fn recorded_mariadb_healthy_and_connecting() {
    let l = ReplicaLink::from_row(&rows_from_vertical(HEALTHY)[0]).unwrap();
    assert!(l.healthy(), "{l:?}");
    assert_eq!(l.seconds_behind, Some(0));
    let l = ReplicaLink::from_row(&rows_from_vertical(CONNECTING)[0]).unwrap();
    assert_eq!(l.io, IoState::Connecting);
    assert_eq!(l.last_io_errno, 2003);
    assert!(l.problem().unwrap().starts_with("IO connecting 2003"));
}

#[test]
fn recorded_mariadb_gtid_break() {
    let l = ReplicaLink::from_row(&rows_from_vertical(GTID_BROKEN)[0]).unwrap();
    assert_eq!(l.using_gtid, "Slave_Pos");
    assert_eq!(l.gtid_io_pos, "1-1-4,2-2-3,3-3-3");
    assert_eq!(l.last_sql_errno, 1062);
}

#[test]
fn recorded_master_status_and_processlist() {
    let b = BinlogPos::from_row(&rows_from_vertical(MASTER)[0]);
    assert_eq!((b.file.as_str(), b.position), ("binlog-n1.000001", 3292));
    let procs: Vec<Process> = rows_from_vertical(PROCESSLIST).iter().map(Process::from_row).collect();
    let sleep = procs.iter().find(|p| p.info.contains("SLEEP(3)")).expect("the sleeping query");
    assert!((sleep.time - 1.008986).abs() < 1e-6, "TIME_MS gives sub-second time: {}", sleep.time);
    assert_eq!(sleep.state, "User sleep");
    assert!(procs.iter().any(|p| p.is_background()), "replication/daemon threads are recognised");
}
