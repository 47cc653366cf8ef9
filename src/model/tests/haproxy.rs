//! HAProxy stats, `show info` and `show servers state`: recorded from the lab's HAProxy 2.6
//! (Debian 12), and HAProxy 1.8 and 3.0 column sets built from their management guides (section
//! 9.1 "CSV format"; see tests/fixtures/README.md), plus truncated and garbage answers.

use crate::model::haproxy::*;

const V26_QUEUE: &str = include_str!("../../../tests/fixtures/haproxy-2.6-show-stat-backend-queue.csv");
const V26_MAINT: &str = include_str!("../../../tests/fixtures/haproxy-2.6-show-stat-web2-maint.csv");
const V26_AGENT: &str = include_str!("../../../tests/fixtures/haproxy-2.6-show-stat-agent-drain.csv");
/// Built from the HAProxy 1.8 management guide's field list (no wrew/uweight/agg_* columns).
const V18_DOCS: &str = include_str!("../../../tests/fixtures/haproxy-1.8-show-stat-from-docs.csv");
/// Built from the HAProxy 3.0 field list (srid, h1sess..., proto, then the `-` module columns).
const V30_DOCS: &str = include_str!("../../../tests/fixtures/haproxy-3.0-show-stat-from-docs.csv");

fn find<'a>(rows: &'a [StatRow], p: &str, s: &str) -> &'a StatRow {
    rows.iter().find(|r| r.proxy == p && r.server == s).unwrap_or_else(|| panic!("no row {p}/{s}"))
}

#[test]
fn recorded_26_web2_in_maint() {
    let rows = parse_csv(V26_MAINT).unwrap();
    assert_eq!(find(&rows, "web", "web2").status, "MAINT");
    assert_eq!(find(&rows, "web", "web2").class(), StatusClass::Maint);
    assert!(find(&rows, "web", "web1").is_up());
    assert_eq!(find(&rows, "mysql", "node1").check_status, "L7OK");
    assert_eq!(find(&rows, "mysql", "FRONTEND").kind(), RowKind::Frontend);
    assert_eq!(find(&rows, "mysql", "BACKEND").kind(), RowKind::Backend);
    assert!(find(&rows, "mysql", "node2").backup, "nodes 2..N are backups");
    assert!(!find(&rows, "mysql", "BACKEND").backup, "a backend's bck is a count, not a flag");
    let web1 = find(&rows, "web", "web1");
    assert_eq!((web1.scur, web1.smax, web1.stot, web1.rate), (1, 3, 226, 88));
    assert_eq!(web1.addr, "127.0.0.1:41081");
    assert_eq!(web1.check_desc, "Layer7 check passed");
    assert_eq!(web1.uweight, Some(1));
    assert_eq!(find(&rows, "web", "web2").downtime, Some(15));
    assert_eq!(find(&rows, "web", "BACKEND").algo, "roundrobin");
}

fn out_of_pool_for(rows: &[StatRow], name: &str, host: &str, port: u16) -> Vec<String> {
    rows.iter().filter(|r| r.out_of_pool() && r.fronts(name, host, port)).map(out_of_pool_text).collect()
}

#[test]
fn recorded_26_agent_drain_names_the_reason_and_the_node_out_of_the_pool() {
    let rows = parse_csv(V26_AGENT).unwrap();
    let two = find(&rows, "mysql", "node2");
    assert_eq!(two.status, "DRAIN (agent)");
    assert_eq!(two.class(), StatusClass::Draining);
    assert_eq!(two.agent_status, "L7OK");
    assert!(two.last_agt.starts_with("via agent : up (from node1: SQL stopped 1062"), "{}", two.last_agt);
    assert!(
        two.agent_text().starts_with("from node1: SQL stopped 1062 Duplicate entry '1009'"),
        "{}",
        two.agent_text()
    );
    assert_eq!(two.weight, Some(100));
    let one = find(&rows, "mysql", "node1");
    assert_eq!(one.agent_text(), "up");
    assert!(!one.out_of_pool());
    assert_eq!(out_of_pool_for(&rows, "node2", "127.0.0.1", 21602), vec!["mysql DRAIN (agent)".to_string()]);
    // Matched by address when the server is named otherwise, localhost as 127.0.0.1.
    assert_eq!(out_of_pool_for(&rows, "db2", "localhost", 21602).len(), 1);
    assert!(out_of_pool_for(&rows, "node1", "127.0.0.1", 21601).is_empty());
    assert!(out_of_pool_for(&rows, "db9", "127.0.0.1", 9).is_empty());
    // Servers without an agent check say nothing about one.
    assert_eq!(find(&rows, "web", "web1").agent_text(), "");
}

#[test]
fn recorded_26_backend_queue_is_counted() {
    // Recorded with `set maxconn server web/webN 1` during `lab load`: requests wait in the
    // backend's queue, which seed 002 says you should never see.
    let stats = HaproxyStats { rows: parse_csv(V26_QUEUE).unwrap(), info: None, info_error: None };
    let be = stats.find("web", "BACKEND").unwrap();
    assert_eq!((be.qcur, be.qmax), (5, 5));
    assert_eq!(stats.find("web", "web1").unwrap().slim, Some(1));
    let sum = stats.summary();
    assert_eq!(sum.queued, 5);
    assert_eq!(sum.servers, 4, "2 mysql nodes (a 2-node lab) and 2 web servers");
    assert_eq!(sum.down, 0);
}

#[test]
fn documented_18_columns() {
    let rows = parse_csv(V18_DOCS).unwrap();
    assert_eq!(rows.len(), 6);
    let app2 = find(&rows, "app", "app2");
    assert_eq!(app2.class(), StatusClass::Down);
    assert_eq!((app2.check_status.as_str(), app2.chkfail, app2.downtime), ("L4CON", 14, Some(310)));
    assert_eq!(app2.last_chk, "Connection refused");
    assert_eq!(app2.uweight, None, "1.8 has no uweight column");
    assert_eq!(find(&rows, "app", "app3").class(), StatusClass::Draining, "NOLB");
    let spare = find(&rows, "app", "spare");
    assert_eq!(spare.class(), StatusClass::NoCheck);
    assert!(spare.backup && spare.is_up());
    assert_eq!(spare.lastsess, None, "-1: never");
    assert_eq!(find(&rows, "app", "app1").slim, Some(200));
    assert_eq!(find(&rows, "www", "FRONTEND").ereq, 4);
}

#[test]
fn documented_30_columns_quotes_and_running_checks() {
    let rows = parse_csv(V30_DOCS).unwrap();
    let api1 = find(&rows, "be_api", "api1");
    assert_eq!(api1.status, "UP 1/3");
    assert_eq!(api1.class(), StatusClass::Changing);
    assert!(api1.is_up());
    assert_eq!(api1.check_status, "L7STS", "a running check's '* ' prefix is dropped");
    assert_eq!(api1.last_chk, "<503 Service Unavailable, retry later>", "a quoted field keeps its comma");
    assert_eq!((api1.qcur, api1.qmax, api1.scur, api1.slim), (4, 9, 50, Some(50)));
    assert_eq!(api1.addr, "10.1.0.21:8080", "columns after the quoted field stay in place");
    assert_eq!(find(&rows, "be_api", "api2").class(), StatusClass::Draining);
    assert_eq!(find(&rows, "be_api", "api3").class(), StatusClass::Maint, "MAINT (via ...)");
    let stats = HaproxyStats { rows, info: None, info_error: None };
    let s = stats.summary();
    assert_eq!((s.servers, s.maint, s.draining, s.queued), (3, 1, 1, 15));
}

#[test]
fn column_order_does_not_matter() {
    let rows = parse_csv("# svname,status,pxname,qcur\nweb1,UP 1/3,web,4\n").unwrap();
    assert_eq!(rows[0].proxy, "web");
    assert_eq!(rows[0].qcur, 4);
    assert!(rows[0].is_up());
}

#[test]
fn status_words() {
    assert_eq!(StatusClass::of("DOWN 1/2"), StatusClass::Changing);
    assert_eq!(StatusClass::of("MAINT (resolution)"), StatusClass::Maint);
    assert_eq!(StatusClass::of("FULL"), StatusClass::Full);
    assert_eq!(StatusClass::of("something new"), StatusClass::Down, "unknown words are not taken for UP");
    assert!(StatusClass::of("DOWN").severity() > StatusClass::of("DRAIN").severity());
}

#[test]
fn garbage_and_truncation_are_errors_or_skipped_never_panics() {
    assert!(parse_csv("").is_err());
    assert!(parse_csv("<html>401 Unauthorized</html>").unwrap_err().contains("header"));
    assert!(parse_csv("# a,b,c\n1,2,3\n").unwrap_err().contains("pxname"));
    // Cut in the middle of the last line: the whole lines are kept, the cut one is skipped.
    let cut = &V26_MAINT[..V26_MAINT.find("web,web2").unwrap() + 30];
    let rows = parse_csv(cut).unwrap();
    assert!(rows.iter().any(|r| r.server == "web1"));
    assert!(!rows.iter().any(|r| r.server == "web2"));
    // Every prefix parses or errors without panicking.
    for n in (0..V30_DOCS.len()).step_by(37) {
        if V30_DOCS.is_char_boundary(n) {
            let _ = parse_csv(&V30_DOCS[..n]);
        }
    }
    let _ = parse_csv("# pxname,svname,status\n\"unterminated,x,UP\n");
}

#[test]
fn recorded_show_info() {
    let info = parse_info(include_str!("../../../tests/fixtures/haproxy-2.6-show-info.txt")).unwrap();
    assert_eq!(info.version, "2.6.12-1+deb12u4");
    assert_eq!(info.maxconn, Some(500));
    assert_eq!(info.idle_pct, Some(100));
    assert!(!info.stopping);
    assert!(parse_info("Unknown command. Please enter one of the following commands only :\n").is_err());
    assert!(parse_info("").is_err());
}

#[test]
fn recorded_servers_state() {
    let text = include_str!("../../../tests/fixtures/haproxy-2.6-show-servers-state-web1-drain-web2-maint.txt");
    let st = parse_servers_state(text).unwrap();
    let web1 = st.iter().find(|s| s.server == "web1").unwrap();
    assert!(web1.drain() && !web1.maint());
    assert_eq!(web1.uweight, Some(50));
    assert_eq!(web1.describe(), "admin state 0x08 (drain), weight 50");
    let web2 = st.iter().find(|s| s.server == "web2").unwrap();
    assert!(web2.maint() && !web2.drain());
    assert_eq!(parse_servers_state("Can't find backend.\n").unwrap_err(), "Can't find backend.");
    assert!(parse_servers_state("").is_err());
}

#[test]
fn a_quote_in_a_read_field_is_read_as_csv_and_one_past_them_is_left_alone() {
    let rows = parse_csv("# pxname,svname,status,check_desc\nweb,web1,UP,\"a,b\"\n").unwrap();
    assert_eq!(rows[0].check_desc, "a,b", "a quoted comma in the last field read");
    let rows = parse_csv("# pxname,svname,status,check_desc\nweb,web1,UP,\"say \"\"hi\"\"\"\n").unwrap();
    assert_eq!(rows[0].check_desc, "say \"hi\"", "a quoted field without a comma, quotes doubled");
    let rows = parse_csv("# pxname,svname,status,qcur,extra\nweb,web1,UP,4,\"x,y\"\n").unwrap();
    assert_eq!((rows[0].server.as_str(), rows[0].qcur), ("web1", 4), "a quote after every column read");
}
