//! `ringdeck agent` on a real lab whose HAProxy asks it (`lab up --agent`: agent-check every 1 s,
//! `agent-send "nodeN\n"`): a duplicate-key break on node2 makes HAProxy drain node2 within two
//! agent intervals of the agent's answer, writes through the MySQL frontend keep landing on node1
//! (whose links run), and after the conflict is resolved node2 is back UP; with every node broken
//! the most complete one stays in the pool; killing the agent leaves HAProxy's servers as they
//! were. `agent --once`, the HTTP check (a backend checked by `option httpchk` against the agent,
//! as contrib/haproxy-agent.cfg wires it), /health and /metrics are checked on the way.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Lab, LabOptions, http_get, rd, rd_ok, wait_until};
use mysql_async::prelude::Queryable;

/// HAProxy's agent-check interval in the lab.
const AGENT_INTER: Duration = Duration::from_secs(1);

/// A backend's servers as HAProxy reports them: name -> (status, last_agt).
fn servers_of(lab: &Lab, proxy: &str) -> BTreeMap<String, (String, String)> {
    let sock = lab.dir().join("haproxy.sock");
    let Ok(mut s) = std::os::unix::net::UnixStream::connect(&sock) else { return BTreeMap::new() };
    let _ = s.write_all(b"show stat\n");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let rows = ringdeck::model::haproxy::parse_csv(&text).unwrap_or_default();
    rows.iter()
        .filter(|r| r.proxy == proxy && r.server.starts_with("node"))
        .map(|r| (r.server.to_string(), (r.status.to_string(), r.last_agt.to_string())))
        .collect()
}

/// The `mysql` backend's servers (asked by agent-check).
fn mysql_servers(lab: &Lab) -> BTreeMap<String, (String, String)> {
    servers_of(lab, "mysql")
}

/// A server's status in the backend checked by HTTP against the agent (`option httpchk`).
fn httpchk_status(lab: &Lab, server: &str) -> String {
    servers_of(lab, "mysql_httpchk").get(server).map(|s| s.0.clone()).unwrap_or_default()
}

fn status_of(lab: &Lab, server: &str) -> String {
    mysql_servers(lab).get(server).map(|s| s.0.clone()).unwrap_or_default()
}

/// The agent's HTTP answer for a node: (status code, body).
fn agent_http(lab: &Lab, path: &str) -> (u16, String) {
    let (code, body, _) = http_get(lab.port_base() + 78, path, None);
    (code, body)
}

/// What the lab's MySQL frontend (HAProxy, port B) connects a client to: that server's port.
fn frontend_port(lab: &Lab) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let opts = lab.client_opts(1).tcp_port(lab.port_base());
    rt.block_on(async {
        let mut c = mysql_async::Conn::new(opts).await.expect("connect through HAProxy");
        let port: u16 = c.query_first("SELECT @@port").await.expect("SELECT @@port").expect("a port");
        c.exec_drop("INSERT INTO app.posts (node, body) VALUES ('frontend', 'through haproxy')", ())
            .await
            .expect("a write through the frontend");
        let _ = c.disconnect().await;
        port
    })
}

/// The agent's own user needs only replication monitoring and PROCESS, its password from the
/// environment (never the command line).
fn least_privilege(lab: &Lab) {
    lab.query(1, "CREATE USER 'ragent'@'127.0.0.1' IDENTIFIED BY 'agent-pw-7'");
    lab.query(1, "GRANT REPLICATION CLIENT, SLAVE MONITOR, PROCESS ON *.* TO 'ragent'@'127.0.0.1'");
    wait_until(Duration::from_secs(20), "the agent's user on every node", || {
        (1..=3)
            .all(|k| lab.query_one(k, "SELECT COUNT(*) FROM mysql.user WHERE user = 'ragent'").as_deref() == Some("1"))
    });
    let nodes: String = (1..=3)
        .map(|k| {
            format!(
                "[[node]]\nname = \"node{k}\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"ragent\"\npassword_env = \"RAGENT_PASSWORD\"\n",
                lab.node_port(k)
            )
        })
        .collect();
    let path = lab.dir().join("agent-least.toml");
    std::fs::write(&path, format!("poll_interval = \"1s\"\ntimeout = \"3s\"\n{nodes}")).expect("write the config");
    let out = Command::new(env!("CARGO_BIN_EXE_ringdeck"))
        .args(["agent", "--once", "--config"])
        .arg(&path)
        .env("RAGENT_PASSWORD", "agent-pw-7")
        .output()
        .expect("run ringdeck agent --once");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(text.lines().filter(|l| l.starts_with("default") && l.ends_with("up 100%")).count(), 3, "{text}");
}

#[test]
fn haproxy_drains_a_broken_node_through_the_agent() {
    let lab = Lab::start_with(LabOptions { nodes: 3, gtid: false, tls: false, agent: true });
    let state = tempfile::tempdir().expect("state dir");
    let state = state.path();

    wait_until(Duration::from_secs(30), "every MySQL server UP with the agent's `up`", || {
        let s = mysql_servers(&lab);
        s.len() == 3 && s.values().all(|(st, agt)| st == "UP" && agt.contains("via agent : up"))
    });
    wait_until(Duration::from_secs(20), "the HTTP-checked backend UP", || {
        (1..=3).all(|k| httpchk_status(&lab, &format!("node{k}")) == "UP")
    });
    let (code, once) = rd(&lab, state, &["agent", "--once"]);
    assert_eq!(code, 0, "{once}");
    assert_eq!(once.lines().filter(|l| l.ends_with("up 100%")).count(), 3, "{once}");
    let (code, health) = agent_http(&lab, "/health");
    assert!(code == 200 && health.starts_with("ok: 3 node(s) watched"), "{code} {health}");
    least_privilege(&lab);

    // A duplicate key stops node2's SQL thread: the agent answers drain, HAProxy drains it.
    lab.ringdeck_ok(&["lab", "break", "dup", "--node", "2"]);
    wait_until(Duration::from_secs(20), "the agent answers 503 for node2", || agent_http(&lab, "/node/node2").0 == 503);
    let flipped = Instant::now();
    let (_, body) = agent_http(&lab, "/node/node2");
    assert!(body.starts_with("drain up #from node1: SQL stopped 1062"), "{body}");
    wait_until(Duration::from_secs(10), "HAProxy drains node2", || status_of(&lab, "node2").starts_with("DRAIN"));
    assert!(
        flipped.elapsed() <= 2 * AGENT_INTER,
        "HAProxy took {:?} after the agent's answer changed (agent-inter {AGENT_INTER:?})",
        flipped.elapsed()
    );
    let servers = mysql_servers(&lab);
    assert!(servers["node2"].1.contains("1062"), "the reason reaches HAProxy's last_agt: {servers:?}");
    assert_eq!(servers["node1"].0, "UP", "{servers:?}");
    assert_eq!(agent_http(&lab, "/node/node1").0, 200);
    wait_until(Duration::from_secs(10), "the HTTP check marks node2 down", || {
        httpchk_status(&lab, "node2").starts_with("DOWN")
    });
    assert_eq!(httpchk_status(&lab, "node1"), "UP");
    let (code, once) = rd(&lab, state, &["agent", "--once", "--node", "node2"]);
    assert_eq!(code, 2, "a node out is CRITICAL: {once}");
    // Writes through the frontend keep landing on node1, whose links run.
    assert_eq!(frontend_port(&lab), lab.node_port(1));
    let metrics = agent_http(&lab, "/metrics").1;
    assert!(metrics.contains("ringdeck_agent_answer{pool=\"mysql\",node=\"node2\",answer=\"drain\"} 1"), "{metrics}");
    assert!(metrics.contains("ringdeck_link_running{node=\"node2\",upstream=\"node1\""), "{metrics}");
    assert!(metrics.contains("ringdeck_findings{kind=\"link_broken\",severity=\"critical\"} 1"), "{metrics}");

    // The conflict resolved (the event's version kept): node2 is back in the pool.
    rd_ok(&lab, state, &["resolve", "--node", "node2", "--keep", "event", "--yes"]);
    wait_until(Duration::from_secs(20), "HAProxy has node2 UP again", || status_of(&lab, "node2") == "UP");
    wait_until(Duration::from_secs(10), "the HTTP check has node2 up again", || httpchk_status(&lab, "node2") == "UP");
    assert_eq!(agent_http(&lab, "/node/node2").0, 200);

    // Every node broken: the most complete one stays in, and says why.
    for k in 1..=3 {
        lab.ringdeck_ok(&["lab", "break", "dup", "--node", &k.to_string()]);
    }
    wait_until(Duration::from_secs(30), "two servers drained, one kept up", || {
        let s = mysql_servers(&lab);
        s.values().filter(|(st, _)| st.starts_with("DRAIN")).count() == 2
            && s.values().filter(|(st, _)| st == "UP").count() == 1
    });
    let servers = mysql_servers(&lab);
    let (kept, _) = servers.iter().find(|(_, (st, _))| st == "UP").expect("one server up");
    let (code, body) = agent_http(&lab, &format!("/node/{kept}"));
    assert!(code == 200 && body.contains("#kept up, every other server of pool mysql is out"), "{code} {body}");
    let once = rd(&lab, state, &["agent", "--once"]).1;
    assert!(once.lines().any(|l| l.contains(kept.as_str()) && l.contains("kept up")), "{once}");
    // The frontend still takes connections, on the kept node.
    assert_eq!(frontend_port(&lab), lab.node_port(kept.trim_start_matches("node").parse().expect("nodeN")));

    // Killing the agent changes nothing in HAProxy: servers stay as last answered.
    let pid = std::fs::read_to_string(lab.dir().join("agent/agent.pid")).expect("the agent's pid file");
    let killed = Command::new("kill").args(["-KILL", pid.trim()]).status().expect("kill");
    assert!(killed.success());
    wait_until(Duration::from_secs(10), "the agent's port closed", || !common::port_open(lab.port_base() + 77));
    let before: Vec<String> = servers.values().map(|s| s.0.clone()).collect();
    // Several agent intervals, each one a failed agent check for HAProxy.
    let until = Instant::now() + 4 * AGENT_INTER;
    while Instant::now() < until {
        let now: Vec<String> = mysql_servers(&lab).values().map(|s| s.0.clone()).collect();
        assert_eq!(now, before, "a server changed after the agent died");
        std::thread::sleep(Duration::from_millis(200));
    }
}
