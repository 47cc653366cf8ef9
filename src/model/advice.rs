//! What to do about a stopped link, by its error (pure): shown under the finding in the ring pane
//! and in `check`. A skip is never the advice for a lost binlog or a schema drift: it cannot help
//! there, and it forks the data everywhere else.

use super::replication::{IoState, ReplicaLink};
use super::topology::error_facts;

/// Advice for a link stopped on an error, naming the keys of the console and the commands.
pub fn for_link(node: &str, upstream: &str, l: &ReplicaLink) -> Option<String> {
    let facts = error_facts(&l.last_sql_error);
    let table = facts.table.as_deref().unwrap_or("the table");
    let sql = match l.last_sql_errno {
        0 => None,
        1062 | 1032 | 1452 => Some(format!(
            "I: the event beside every node's row, then keep the event's version, {} (ringdeck inspect|resolve \
             --node {node}); a skip forks the data",
            if l.last_sql_errno == 1032 { "or delete the row" } else { "the local one or both" }
        )),
        1146 => Some(format!(
            "schema drift: {table} does not exist on {node}: create it as on {upstream}, then start slave (T); a skip \
             would drop every change to it"
        )),
        1054 => Some(format!(
            "schema drift: a column of {table} is missing on {node}: compare the table on every node, fix the \
             definition, then start slave (T)"
        )),
        1205 | 1213 => Some(format!("transient (lock wait or deadlock): start slave again (T) on {node}")),
        n => Some(format!("error {n}: read it, then skip (s) only if you accept forked data, or rebuild (R)")),
    };
    if sql.is_some() {
        return sql;
    }
    match l.last_io_errno {
        0 if l.io == IoState::Connecting => {
            Some(format!("{node} cannot reach {upstream} yet: is it up, is the network open?"))
        }
        0 => None,
        1236 => Some(format!(
            "{upstream} purged binlogs {node} still needed (from {}:{}): a skip cannot help; point {node} at {upstream}'s \
             current position (c) and repair the lost range (verify --repair), or rejoin/rebuild (R)",
            l.master_log_file, l.read_master_log_pos
        )),
        2003 | 2002 | 2005 | 2013 | 2006 => Some(format!(
            "network: {node} cannot talk to {upstream} at {}:{}: is it up, is the network open?",
            l.master_host, l.master_port
        )),
        1045 | 1044 | 1227 => Some(format!(
            "credentials: {upstream} refuses {node}'s replication user: fix the user or password, then change master (c)"
        )),
        n => Some(format!("IO error {n}: {upstream} is reachable? then start slave again (T)")),
    }
}

/// The MariaDB refusal of the skip counter under parallel replication in several GTID domains.
pub const SKIP_REFUSED_1966: &str = "MariaDB refuses sql_slave_skip_counter with parallel replication in several GTID \
    domains: move gtid_slave_pos past the failing GTID instead (STOP SLAVE; SET GLOBAL gtid_slave_pos = '...'; START \
    SLAVE), or inspect and resolve the conflict (I)";

#[cfg(test)]
mod tests {
    use super::*;

    fn link(sql: u32, io: u32) -> ReplicaLink {
        ReplicaLink {
            connection: String::new(),
            master_host: "10.0.0.1".into(),
            master_port: 3306,
            master_server_id: None,
            io: if io == 0 { IoState::Running } else { IoState::Connecting },
            sql_running: sql == 0,
            last_io_errno: io,
            last_io_error: String::new(),
            last_sql_errno: sql,
            last_sql_error: "Could not execute Write_rows_v1 event on table app.t; Table 'app.t' doesn't exist".into(),
            seconds_behind: None,
            master_log_file: "binlog.000007".into(),
            read_master_log_pos: 4,
            relay_master_log_file: String::new(),
            exec_master_log_pos: 0,
            sql_state: String::new(),
            using_gtid: String::new(),
            gtid_io_pos: String::new(),
            props: Default::default(),
        }
    }

    #[test]
    fn advice_by_error() {
        let a = |s, i| for_link("node2", "node1", &link(s, i)).unwrap_or_default();
        assert!(
            a(1062, 0).starts_with("I: the event beside every node's row, then keep the event's version, the local")
        );
        assert!(a(1062, 0).contains("(ringdeck inspect|resolve --node node2)"));
        assert!(a(1032, 0).contains("or delete the row"));
        assert!(a(1146, 0).starts_with("schema drift: app.t does not exist on node2"));
        assert!(a(1054, 0).contains("a column of app.t is missing"));
        assert!(a(1213, 0).starts_with("transient"));
        let purged = a(0, 1236);
        assert!(purged.contains("a skip cannot help") && purged.contains("from binlog.000007:4"), "{purged}");
        assert!(a(0, 2003).starts_with("network: node2 cannot talk to node1 at 10.0.0.1:3306"));
        assert!(a(0, 1045).starts_with("credentials"));
        assert_eq!(for_link("n", "u", &ReplicaLink { io: IoState::Running, ..link(0, 0) }), None);
    }
}
