//! The fault matrix: one lab and one console (tmux) in a network namespace of this test's own,
//! and every fault an incident brings, one after another: a node killed (-9), a node frozen
//! (SIGSTOP), the packets to a node dropped (routed into a veth pair of the namespace, where
//! they vanish: connects time out), HAProxy stopped, an Apache stopped, a refused login (the
//! console's password changed on a node), TLS required by the server but not offered, and a
//! stats URL (a proxy of this test in front of the real HAProxy stats) answering 60 MB, HTML
//! instead of CSV, or one byte per second.
//!
//! For each: keys answer within 100 ms while the fault lasts (the median of three presses of
//! `?`), the screen shows the right state within two polls (plus the timeout where the fault is
//! a silence), and once the fault ends the console shows everything healthy again without a
//! restart: the same console process throughout.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use common::tmux::Tmux;
use common::{Lab, Stopped, node_pid};
use mysql_async::prelude::Queryable;

const NETNS_ENV: &str = "RINGDECK_FAULT_NETNS";
/// The lab config's poll interval and timeout.
const POLL: Duration = Duration::from_secs(1);
const TIMEOUT: Duration = Duration::from_secs(3);

/// What the stats proxy answers.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Stats {
    Pass,
    Huge,
    Html,
    Slow,
}

/// An HTTP proxy in front of HAProxy's stats port that can be told to misbehave.
struct StatsProxy {
    port: u16,
    mode: Arc<AtomicU8>,
}

impl StatsProxy {
    fn start(upstream: u16) -> StatsProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the stats proxy");
        let port = listener.local_addr().expect("addr").port();
        let mode = Arc::new(AtomicU8::new(Stats::Pass as u8));
        let m = mode.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let mode = m.load(Ordering::SeqCst);
                std::thread::spawn(move || serve(conn, upstream, mode));
            }
        });
        StatsProxy { port, mode }
    }

    fn set(&self, s: Stats) {
        self.mode.store(s as u8, Ordering::SeqCst);
    }
}

/// Reads one request's head.
fn read_head(conn: &mut TcpStream) -> Vec<u8> {
    let mut req = Vec::new();
    let mut buf = [0u8; 4096];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    req
}

fn serve(mut conn: TcpStream, upstream: u16, mode: u8) {
    let req = read_head(&mut conn);
    let head = |body_len: Option<usize>| match body_len {
        Some(n) => {
            format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {n}\r\nConnection: close\r\n\r\n")
        }
        None => "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n".to_string(),
    };
    match mode {
        m if m == Stats::Huge as u8 => {
            let _ = conn.write_all(head(None).as_bytes());
            let _ = conn.write_all(b"# pxname,svname,status\n");
            let chunk = "web,web1,UP\n".repeat(5000);
            let mut sent = 0;
            while sent < 60 << 20 && conn.write_all(chunk.as_bytes()).is_ok() {
                sent += chunk.len();
            }
        }
        m if m == Stats::Html as u8 => {
            let body = "<html><head><title>Statistics Report</title></head><body><h1>HAProxy</h1></body></html>\n";
            let _ = conn.write_all(format!("{}{body}", head(Some(body.len()))).as_bytes());
        }
        m if m == Stats::Slow as u8 => {
            let body = "# pxname,svname,status\nweb,web1,UP\n";
            let _ = conn.write_all(head(Some(body.len())).as_bytes());
            for b in body.bytes() {
                if conn.write_all(&[b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        _ => {
            // Pass: the request to the real stats page, its answer back as it comes.
            let Ok(mut up) = TcpStream::connect(("127.0.0.1", upstream)) else { return };
            // One request per connection: HAProxy closes after its answer, so the copy ends.
            let text = String::from_utf8_lossy(&req);
            let head: Vec<&str> = text
                .trim_end_matches("\r\n")
                .split("\r\n")
                .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
                .collect();
            let req = format!("{}\r\nConnection: close\r\n\r\n", head.join("\r\n"));
            if up.write_all(req.as_bytes()).is_err() {
                return;
            }
            let _ = std::io::copy(&mut up, &mut conn);
        }
    }
}

/// Runs `cmd` in this network namespace; panics with its output when it fails.
fn sh(cmd: &[&str]) {
    let out = Command::new(cmd[0]).args(&cmd[1..]).output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Loopback up, and a veth pair whose far end drops what it gets: a route into it is a black hole
/// (packets leave and vanish, as behind a firewall's DROP). The local table is moved behind the
/// rules that send a port's packets there.
fn setup_namespace() {
    sh(&["ip", "link", "set", "lo", "up"]);
    sh(&["ip", "link", "add", "rdv0", "type", "veth", "peer", "name", "rdv1"]);
    sh(&["ip", "link", "set", "rdv0", "up"]);
    sh(&["ip", "link", "set", "rdv1", "up"]);
    for dev in ["all", "rdv0"] {
        std::fs::write(format!("/proc/sys/net/ipv4/conf/{dev}/route_localnet"), "1").expect("route_localnet");
    }
    sh(&["ip", "route", "add", "127.0.0.1/32", "dev", "rdv0", "table", "200"]);
    sh(&["ip", "rule", "add", "pref", "100", "lookup", "local"]);
    sh(&["ip", "rule", "del", "pref", "0", "lookup", "local"]);
}

/// Packets to `port` dropped from now on (`false`: delivered again).
fn drop_packets_to(port: u16, on: bool) {
    let p = port.to_string();
    let verb = if on { "add" } else { "del" };
    // ipproto 6 (TCP) by number: a minimal Debian has no /etc/protocols to name it.
    sh(&["ip", "rule", verb, "pref", "10", "ipproto", "6", "dport", &p, "lookup", "200"]);
}

/// The median time from a key to the screen answering it, over three presses of `?` (help on,
/// help off).
fn key_latency(tmux: &Tmux) -> Duration {
    let mut times = Vec::new();
    for _ in 0..3 {
        for want_help in [true, false] {
            let t = Instant::now();
            tmux.keys(&["?"]);
            loop {
                let shown = tmux.screen().contains("keys (? or esc to close)");
                if shown == want_help {
                    break;
                }
                assert!(t.elapsed() < Duration::from_secs(5), "the console does not answer `?`");
                std::thread::sleep(Duration::from_millis(2));
            }
            times.push(t.elapsed());
        }
    }
    times.sort();
    times[times.len() / 2]
}

/// The title bar's counts when everything is up, and no target row marked stale or down.
fn all_healthy(s: &str) -> bool {
    s.contains("db 3/3  lb 1/1  web 2/2") && !s.contains("DOWN") && !s.contains(" stale")
}

/// Node `name`'s row of the ring pane's table (not its box in the drawing).
fn row<'a>(s: &'a str, name: &str) -> &'a str {
    s.lines()
        .find(|l| {
            let t = l.trim_start_matches(['┃', '│']);
            t.starts_with(&format!("● {name} "))
                || t.starts_with(&format!("✗ {name} "))
                || t.starts_with(&format!("○ {name} "))
        })
        .unwrap_or("")
}

/// One fault: injected, seen, keys answer, healed, seen healed.
fn fault(
    tmux: &Tmux,
    name: &str,
    within: Duration,
    inject: impl FnOnce(),
    seen: impl Fn(&str) -> bool,
    heal: impl FnOnce(),
) {
    inject();
    let t = Instant::now();
    let screen = tmux.wait_for(within, name, &seen);
    eprintln!("{name}: shown after {:.1}s", t.elapsed().as_secs_f64());
    let latency = key_latency(tmux);
    eprintln!("{name}: keys answer in {latency:?}");
    assert!(latency < Duration::from_millis(100), "{name}: a key took {latency:?} to answer; screen:\n{screen}");
    heal();
    tmux.wait_for(POLL * 4 + TIMEOUT * 2, &format!("everything healthy again after {name}"), all_healthy);
}

/// The operator's connection to node `k`, kept open (its password may change meanwhile).
fn operator(lab: &Lab, k: u16, rt: &tokio::runtime::Runtime) -> mysql_async::Conn {
    rt.block_on(mysql_async::Conn::new(lab.client_opts(k))).expect("operator connection")
}

fn exec(rt: &tokio::runtime::Runtime, c: &mut mysql_async::Conn, sql: &str) {
    rt.block_on(c.query_drop(sql)).unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Kills every connection of `user` on the node but `keep`'s own: the console must log in again.
fn kick(rt: &tokio::runtime::Runtime, keep: &mut mysql_async::Conn, user: &str) {
    let ids: Vec<u64> = rt
        .block_on(keep.query(format!(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = '{user}' AND ID <> CONNECTION_ID()"
        )))
        .expect("processlist");
    for id in ids {
        let _ = rt.block_on(keep.query_drop(format!("KILL {id}")));
    }
}

#[test]
fn fault_matrix() {
    if std::env::var_os(NETNS_ENV).is_none() {
        // This test itself again, inside a network namespace of its own (root, as on CI).
        let exe = std::env::current_exe().expect("the test binary");
        let status = Command::new("unshare")
            .args(["--net", "--"])
            .arg(exe)
            .args(["--exact", "fault_matrix", "--nocapture", "--test-threads=1"])
            .env(NETNS_ENV, "1")
            .status()
            .expect("unshare (util-linux) runs");
        assert!(status.success(), "the fault matrix failed inside its network namespace (see above)");
        return;
    }
    setup_namespace();
    let lab = Lab::start(3);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let proxy = StatsProxy::start(lab.port_base() + 90);
    let config = lab.dir().join("faults.toml");
    let text = std::fs::read_to_string(lab.config_path()).expect("lab config");
    let stats = format!("http://127.0.0.1:{}/stats", lab.port_base() + 90);
    assert!(text.contains(&stats));
    std::fs::write(&config, text.replace(&stats, &format!("http://127.0.0.1:{}/stats", proxy.port))).expect("config");
    std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    let state = tempfile::tempdir().expect("state dir");
    let cmd = format!(
        "XDG_STATE_HOME='{}' {} --config '{}'; sleep 60",
        state.path().display(),
        env!("CARGO_BIN_EXE_ringdeck"),
        config.display()
    );
    let tmux = Tmux::new("faults", 160, 45, &cmd);
    tmux.wait_for(Duration::from_secs(15), "a healthy lab", all_healthy);
    let console_pid = || {
        Command::new("pgrep")
            .args(["-f", "--", &format!("ringdeck --config {}", config.display())])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let pid = console_pid();
    assert!(!pid.is_empty(), "the console runs");
    let two_polls = POLL * 2 + Duration::from_millis(1500);
    let silent = TIMEOUT + POLL * 2 + Duration::from_millis(1500);
    let lab_up = || {
        lab.ringdeck_ok(&["lab", "up"]);
    };

    fault(
        &tmux,
        "node3 killed (-9)",
        two_polls,
        || {
            lab.ringdeck_ok(&["lab", "break", "stop", "--node", "3"]);
        },
        |s| row(s, "node3").contains("DOWN") && s.contains("db 2/3"),
        lab_up,
    );

    let frozen = std::cell::RefCell::new(None);
    fault(
        &tmux,
        "node2 frozen (SIGSTOP)",
        silent,
        || *frozen.borrow_mut() = Some(Stopped::new(node_pid(&lab, 2))),
        |s| {
            let r = row(s, "node2");
            r.contains("stale") || r.contains("DOWN")
        },
        || drop(frozen.borrow_mut().take()),
    );

    fault(
        &tmux,
        "packets to node1 dropped",
        silent,
        || drop_packets_to(lab.node_port(1), true),
        |s| {
            let r = row(s, "node1");
            r.contains("stale") || r.contains("DOWN")
        },
        || drop_packets_to(lab.node_port(1), false),
    );

    let haproxy_pid: i32 = std::fs::read_to_string(lab.dir().join("haproxy/haproxy.pid"))
        .expect("haproxy pid file")
        .trim()
        .parse()
        .expect("pid");
    fault(
        &tmux,
        "HAProxy stopped",
        two_polls,
        || common::signal(haproxy_pid, nix::sys::signal::Signal::SIGTERM),
        |s| s.contains("lb 0/1") && s.contains("lb DOWN"),
        lab_up,
    );

    fault(
        &tmux,
        "web2 stopped",
        two_polls,
        || {
            lab.ringdeck_ok(&["lab", "break", "stop", "--web", "2"]);
        },
        |s| s.contains("web 1/2") && s.contains("web2   DOWN"),
        lab_up,
    );

    // The console's login refused: its password changed on node3 (not replicated), and its
    // connection there dropped so it has to log in again.
    let admin = std::cell::RefCell::new(operator(&lab, 3, &rt));
    exec(&rt, &mut admin.borrow_mut(), "SET sql_log_bin = 0");
    fault(
        &tmux,
        "node3 refuses the console's login",
        two_polls,
        || {
            exec(
                &rt,
                &mut admin.borrow_mut(),
                "ALTER USER 'ringdeck'@'127.0.0.1' IDENTIFIED BY 'not-the-configured-one'",
            );
            kick(&rt, &mut admin.borrow_mut(), "ringdeck");
        },
        |s| row(s, "node3").contains("DOWN") && s.contains("Access denied"),
        || {
            exec(
                &rt,
                &mut admin.borrow_mut(),
                &format!("ALTER USER 'ringdeck'@'127.0.0.1' IDENTIFIED BY '{}'", lab.password()),
            )
        },
    );

    // TLS required by the server for the console's account, which the lab's config does not offer.
    fault(
        &tmux,
        "node3 requires TLS the console does not offer",
        two_polls,
        || {
            exec(&rt, &mut admin.borrow_mut(), "ALTER USER 'ringdeck'@'127.0.0.1' REQUIRE SSL");
            kick(&rt, &mut admin.borrow_mut(), "ringdeck");
        },
        |s| row(s, "node3").contains("DOWN"),
        || exec(&rt, &mut admin.borrow_mut(), "ALTER USER 'ringdeck'@'127.0.0.1' REQUIRE NONE"),
    );
    drop(admin);

    fault(
        &tmux,
        "stats answer 60 MB",
        two_polls,
        || proxy.set(Stats::Huge),
        |s| s.contains("lb DOWN") && s.contains("answer larger than 16 MiB"),
        || proxy.set(Stats::Pass),
    );
    fault(
        &tmux,
        "stats answer HTML instead of CSV",
        two_polls,
        || proxy.set(Stats::Html),
        |s| s.contains("lb DOWN") && s.contains("does not start with a '# pxname"),
        || proxy.set(Stats::Pass),
    );
    fault(
        &tmux,
        "stats answer one byte per second",
        silent,
        || proxy.set(Stats::Slow),
        |s| s.contains("lb 0/1") || s.contains("lb stale") || s.contains("lb DOWN"),
        || proxy.set(Stats::Pass),
    );

    assert_eq!(console_pid(), pid, "the same console throughout, never restarted");
}
