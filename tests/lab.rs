//! Integration tests of `ringdeck lab` against real servers: MariaDB ring, HAProxy, Apache, sshd.
//! Each test starts its own lab (they run in parallel on different port bases) and shares it
//! between assertions that do not interfere.

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::time::Duration;

use common::{Lab, LabOptions, http_get, port_open, processes_mentioning, wait_until};
use ringdeck::config::Config;

const REPLICATION: Duration = Duration::from_secs(20);

fn count_body(lab: &Lab, node: u16, body: &str) -> String {
    lab.query_one(node, &format!("SELECT COUNT(*) FROM app.posts WHERE body = '{body}'")).unwrap_or_default()
}

/// Writes a row on `from` and waits until every node in `to` has it.
fn assert_replicates(lab: &Lab, from: u16, to: &[u16], body: &str) {
    lab.query(from, &format!("INSERT INTO app.posts (node, body) VALUES ('node{from}', '{body}')"));
    for n in to {
        wait_until(REPLICATION, &format!("row {body:?} written on node{from} to reach node{n}"), || {
            count_body(lab, *n, body) == "1"
        });
    }
}

#[test]
fn ring_replicates_and_every_component_serves() {
    let lab = Lab::start(3);
    let base = lab.port_base();

    // The ring replicates both ways round; the seed rows reached every node.
    assert_replicates(&lab, 1, &[2, 3], "from node1 to node3");
    assert_replicates(&lab, 3, &[1, 2], "from node3 to node1 and node2");
    let counts: Vec<String> =
        (1..=3).map(|n| lab.query_one(n, "SELECT COUNT(*) FROM app.posts").unwrap_or_default()).collect();
    assert!(counts.iter().all(|c| c == &counts[0]), "{counts:?}");
    assert_eq!(lab.query_one(2, "SELECT @@auto_increment_offset").as_deref(), Some("2"));

    // Status shows every component up.
    let status = lab.ringdeck_ok(&["lab", "status"]);
    for name in ["node1", "node2", "node3", "haproxy", "web1", "web2", "sshd"] {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} line in status:\n{status}"));
        assert_eq!(line.split_whitespace().nth(2), Some("up"), "{name} not up: {line}");
    }
    assert!(status.contains("IO Yes SQL Yes"), "{status}");

    // A second `up` says so and changes nothing.
    let pid_before = std::fs::read_to_string(lab.dir().join("node1/mariadbd.pid")).unwrap();
    let rows_before = lab.query_one(1, "SELECT COUNT(*) FROM app.posts");
    let again = lab.ringdeck_ok(&["lab", "up"]);
    assert!(again.contains("already running"), "{again}");
    let pid_after = std::fs::read_to_string(lab.dir().join("node1/mariadbd.pid")).unwrap();
    assert_eq!(pid_before, pid_after);
    assert_eq!(rows_before, lab.query_one(1, "SELECT COUNT(*) FROM app.posts"));

    // The console config parses and is private.
    let cfg = Config::load(&lab.config_path()).expect("ringdeck.toml loads");
    let mode = std::fs::metadata(lab.config_path()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(cfg.nodes.len(), 3);
    assert_eq!(cfg.apaches.len(), 2);
    let state_mode = std::fs::metadata(lab.dir().join("lab.state")).unwrap().permissions().mode();
    assert_eq!(state_mode & 0o777, 0o600);

    // SSH with the lab's key, checking the host key against the lab's known_hosts.
    let ssh = cfg.nodes[0].ssh.as_ref().expect("node1 has ssh settings");
    let out = Command::new("ssh")
        .arg("-i")
        .arg(ssh.key.as_ref().unwrap())
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", ssh.known_hosts.as_ref().unwrap().display()))
        .args([
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-F",
            "/dev/null",
            "-p",
        ])
        .arg(ssh.port.to_string())
        .arg(format!("{}@127.0.0.1", ssh.user))
        .arg("true")
        .output()
        .expect("run ssh");
    assert!(out.status.success(), "ssh failed: {}", String::from_utf8_lossy(&out.stderr));

    // Apache: the slow page is slow, server-status answers on both.
    let (code, body, took) = http_get(base + 81, "/slow?seconds=1", None);
    assert_eq!(code, 200, "{body}");
    assert!(took >= Duration::from_secs(1), "{took:?}");
    let (code, _, _) = http_get(base + 81, "/slow?seconds=1;reboot", None);
    assert_eq!(code, 400);
    for port in [base + 81, base + 82] {
        let (code, body, _) = http_get(port, "/server-status?auto", None);
        assert_eq!(code, 200);
        assert!(body.contains("Scoreboard:"), "{body}");
    }

    // HAProxy: the CSV with basic auth lists both Apaches; the admin socket answers.
    let lb = &cfg.haproxies[0];
    let pw = lb.password.as_ref().unwrap().expose().to_string();
    let (code, csv, _) = http_get(base + 90, "/stats;csv", Some(("admin", &pw)));
    assert_eq!(code, 200, "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("web,web1,")), "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("web,web2,")), "{csv}");
    let (code, _, _) = http_get(base + 90, "/stats;csv", Some(("admin", "wrong")));
    assert_eq!(code, 401);
    let mut sock = UnixStream::connect(lb.socket.as_ref().unwrap()).expect("admin socket");
    sock.write_all(b"show info\n").unwrap();
    let mut info = String::new();
    sock.read_to_string(&mut info).unwrap();
    assert!(info.contains("Name: HAProxy"), "{info}");
    let mut sock = UnixStream::connect(lb.socket.as_ref().unwrap()).expect("admin socket");
    sock.write_all(b"show servers state web\n").unwrap();
    let mut state = String::new();
    sock.read_to_string(&mut state).unwrap();
    assert!(state.contains("web2"), "admin level answers: {state}");
}

#[test]
fn dup_break_stops_node2_and_web_stop_closes_apache() {
    // A GTID ring, so both replication modes are covered for real.
    let lab = Lab::start_with(LabOptions { nodes: 3, gtid: true, tls: false, agent: false });
    assert_eq!(lab.replica_status(2)["Using_Gtid"], "Slave_Pos");
    let out = lab.ringdeck_ok(&["lab", "break", "dup", "--node", "2"]);
    assert!(out.contains("1062"), "{out}");
    let st = lab.replica_status(2);
    assert_eq!(st["Last_SQL_Errno"], "1062", "{st:?}");
    assert_eq!(st["Slave_SQL_Running"], "No", "{st:?}");
    let st3 = lab.replica_status(3);
    assert_eq!(st3["Slave_SQL_Running"], "Yes", "{st3:?}");
    assert_eq!(st3["Slave_IO_Running"], "Yes", "{st3:?}");
    assert_eq!(st3["Last_SQL_Errno"], "0");
    let status = lab.ringdeck_ok(&["lab", "status"]);
    assert!(status.contains("Last_SQL_Errno 1062"), "{status}");

    let web2 = lab.port_base() + 82;
    assert!(port_open(web2));
    lab.ringdeck_ok(&["lab", "break", "stop", "--web", "2"]);
    assert!(!port_open(web2), "web2 still accepts connections");
    assert!(port_open(lab.port_base() + 81), "web1 went down too");
}

#[test]
fn crashed_node_comes_back_with_up_and_down_leaves_nothing() {
    let lab = Lab::start(3);
    let port3 = lab.node_port(3);
    lab.ringdeck_ok(&["lab", "break", "stop", "--node", "3"]);
    assert!(!port_open(port3), "node3's port still accepts connections");
    let status = lab.ringdeck_ok(&["lab", "status"]);
    let line = status.lines().find(|l| l.starts_with("node3")).unwrap();
    assert_eq!(line.split_whitespace().nth(2), Some("down"), "{line}");

    // A write while node3 is down waits in node2's binlog.
    lab.query(2, "INSERT INTO app.posts (node, body) VALUES ('node2', 'while node3 was down')");
    let up = lab.ringdeck_ok(&["lab", "up"]);
    assert!(up.contains("starting node3"), "{up}");
    assert!(!up.contains("starting node1"), "{up}");
    assert!(port_open(port3));
    wait_until(REPLICATION, "the row written during the crash to reach node3", || {
        count_body(&lab, 3, "while node3 was down") == "1"
    });
    assert_replicates(&lab, 3, &[1, 2], "after node3 came back");

    // Down stops everything: no process mentions the dir, every port is free.
    lab.ringdeck_ok(&["lab", "down"]);
    let left = processes_mentioning(lab.dir());
    assert!(left.is_empty(), "left behind: {left:?}");
    let base = lab.port_base();
    for port in [base, base + 1, base + 2, base + 3, base + 22, base + 80, base + 81, base + 82, base + 90] {
        assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(), "port {port} is not free after lab down");
    }
    // The data dir is kept without --purge.
    assert!(lab.dir().join("node1/data").is_dir());
}
