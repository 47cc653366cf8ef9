//! `ringdeck agent` against nodes that do not answer, no lab needed: one node accepts connections
//! and never says a word (a hung server), one refuses them. HAProxy's checks must still be
//! answered at once from the last sample, the dead and the hung node answered `down` with the
//! reason, unknown nodes and paths told so, /metrics in Prometheus text, `--once` CRITICAL, an
//! address off the allow-list refused without an answer, and SIGTERM a clean stop.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{PortClaim, http_get, wait_until};

/// A server that accepts every connection and never writes: a MySQL client waits for its greeting.
fn hung_server(port: u16) {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("bind the hung server");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
}

/// The agent's answer line to `agent-send "<node>\n"`, and how long it took.
fn ask(port: u16, node: &str) -> (String, Duration) {
    let started = Instant::now();
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect to the agent");
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    s.write_all(format!("{node}\n").as_bytes()).expect("send the node name");
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    (answer, started.elapsed())
}

struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn config(dir: &std::path::Path, base: u16, allow: &str) -> std::path::PathBuf {
    let text = format!(
        "poll_interval = \"500ms\"\ntimeout = \"1s\"\n\
         [[node]]\nname = \"hung\"\nhost = \"127.0.0.1\"\nport = {hung}\nuser = \"mon\"\npassword_env = \"AGENT_TEST_PW\"\n\
         [[node]]\nname = \"gone\"\nhost = \"127.0.0.1\"\nport = {gone}\nuser = \"mon\"\npassword_env = \"AGENT_TEST_PW\"\n\
         [agent]\nlisten = \"127.0.0.1:{a}\"\nhttp = \"127.0.0.1:{h}\"\nallow = [{allow}]\n",
        hung = base + 1,
        gone = base + 2,
        a = base + 77,
        h = base + 78,
    );
    let path = dir.join(format!("agent-{}.toml", base + 77));
    std::fs::write(&path, text).expect("write the config");
    path
}

fn spawn(config: &std::path::Path, state: &std::path::Path) -> Agent {
    let child = Command::new(env!("CARGO_BIN_EXE_ringdeck"))
        .args(["agent", "--config"])
        .arg(config)
        .env("AGENT_TEST_PW", "not-a-real-password")
        .env("XDG_STATE_HOME", state)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ringdeck agent");
    Agent(child)
}

#[test]
fn answers_at_once_while_nodes_hang_or_refuse() {
    let claim = PortClaim::new(3);
    let base = claim.base;
    let dir = tempfile::tempdir().expect("temp dir");
    hung_server(base + 1);
    let cfg = config(dir.path(), base, "\"127.0.0.0/8\"");
    let mut agent = spawn(&cfg, dir.path());
    wait_until(Duration::from_secs(15), "the agent's /health", || {
        common::port_open(base + 78) && http_get(base + 78, "/health", None).0 == 200
    });

    // Every answer comes from the board, well within the 1 s the hung node holds its poll.
    for _ in 0..10 {
        let (_, took) = ask(base + 77, "hung");
        assert!(took < Duration::from_secs(1), "an agent-check answer took {took:?} while a node hangs");
    }
    wait_until(Duration::from_secs(15), "both nodes answered down", || {
        ask(base + 77, "hung").0.starts_with("down #no answer")
            && ask(base + 77, "gone").0.starts_with("down #no answer")
    });
    let (gone, _) = ask(base + 77, "gone");
    assert!(gone.ends_with('\n') && gone.lines().count() == 1, "{gone:?}");
    assert!(gone.to_lowercase().contains("refused"), "{gone}");
    let (code, body, _) = http_get(base + 78, "/node/hung", None);
    assert!(code == 503 && body.starts_with("down #no answer"), "{code} {body}");
    // Unknown names: an empty line for HAProxy (no change), 404 over HTTP.
    assert_eq!(ask(base + 77, "db9").0, "\n");
    let (code, body, _) = http_get(base + 78, "/node/db9", None);
    assert!(code == 404 && body.contains("no node \"db9\""), "{code} {body}");
    assert_eq!(http_get(base + 78, "/nothing", None).0, 404);
    let metrics = http_get(base + 78, "/metrics", None).1;
    assert!(metrics.contains("ringdeck_node_up{node=\"hung\"} 0"), "{metrics}");
    assert!(metrics.contains("ringdeck_agent_answer{pool=\"default\",node=\"gone\",answer=\"down\"} 1"), "{metrics}");
    assert!(metrics.contains("ringdeck_agent_requests_total{protocol=\"agent\"}"), "{metrics}");

    let once = Command::new(env!("CARGO_BIN_EXE_ringdeck"))
        .args(["agent", "--once", "--node", "gone", "--config"])
        .arg(&cfg)
        .env("AGENT_TEST_PW", "not-a-real-password")
        .output()
        .expect("agent --once");
    assert_eq!(once.status.code(), Some(2), "{}", String::from_utf8_lossy(&once.stdout));

    // SIGTERM: a clean stop that says HAProxy keeps what it was told; the log names each change
    // and never the password.
    let pid = agent.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let status = agent.0.wait().expect("wait for the agent");
    assert!(status.success(), "{status}");
    let mut log = String::new();
    agent.0.stderr.take().expect("stderr").read_to_string(&mut log).expect("read the log");
    assert!(log.contains("hung (pool default): (no answer yet) -> down #no answer"), "{log}");
    assert!(log.contains("HAProxy keeps each server as last answered"), "{log}");
    assert!(!log.contains("not-a-real-password"), "{log}");
}

#[test]
fn clients_off_the_allow_list_get_no_answer() {
    let claim = PortClaim::new(3);
    let base = claim.base;
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = config(dir.path(), base, "\"10.0.0.0/8\"");
    let mut agent = spawn(&cfg, dir.path());
    wait_until(Duration::from_secs(15), "the agent listens", || common::port_open(base + 77));
    for port in [base + 77, base + 78] {
        let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5))).ok();
        let _ = s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n");
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        assert!(got.is_empty(), "port {port} answered a refused client: {:?}", String::from_utf8_lossy(&got));
    }
    let _ = agent.0.kill();
    let _ = agent.0.wait();
    let mut log = String::new();
    agent.0.stderr.take().expect("stderr").read_to_string(&mut log).expect("read the log");
    assert_eq!(log.matches("refused 127.0.0.1: not in [agent] allow").count(), 1, "logged once: {log}");
}
