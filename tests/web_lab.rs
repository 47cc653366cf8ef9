//! The HAProxy and Apache panes and the HAProxy server steps on real labs (one per test, run in
//! parallel): `disable server` on the socket shows MAINT within a poll, draining web1 from the
//! console (Cancel first, then Run) shows DRAIN and is audited, a `/slow?seconds=20` request shows
//! in the in-flight list with its URI and a growing time, and `lab load` raises busy workers and
//! req/s. `ringdeck run drain|weight|ready|maint` from the command line: dry run, read-only,
//! `--yes` with one audit line carrying the exact socket command, and a socket without admin level.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::tmux::Tmux;
use common::{Lab, audit_lines, rd_config as rd};

/// Sends one command to a HAProxy stats socket and returns its answer.
fn socket(path: &Path, command: &str) -> String {
    let mut s = UnixStream::connect(path).unwrap_or_else(|e| panic!("connect {}: {e}", path.display()));
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    s.write_all(format!("{command}\n").as_bytes()).expect("send to the socket");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read the socket");
    out
}

fn admin_socket(lab: &Lab) -> PathBuf {
    lab.dir().join("haproxy.sock")
}

/// `srv_admin_state` and `srv_uweight` of web/NAME from `show servers state web`.
fn server_state(lab: &Lab, name: &str) -> (u32, u32) {
    let text = socket(&admin_socket(lab), "show servers state web");
    let line = text
        .lines()
        .find(|l| l.split_whitespace().nth(3) == Some(name))
        .unwrap_or_else(|| panic!("no {name} in {text}"));
    let f: Vec<&str> = line.split_whitespace().collect();
    (f[6].parse().unwrap(), f[7].parse().unwrap())
}

fn status_of(lab: &Lab, name: &str) -> String {
    let text = socket(&admin_socket(lab), "show stat");
    let line = text.lines().find(|l| l.starts_with(&format!("web,{name},"))).unwrap_or_else(|| panic!("{text}"));
    line.split(',').nth(17).unwrap_or_default().to_string()
}

/// Runs the binary with `args --config <config>` and `XDG_STATE_HOME=state`: (exit code, output).
#[test]
fn haproxy_steps_from_the_command_line() {
    let lab = Lab::start(2);
    let cfg = lab.config_path();
    let state = tempfile::tempdir().expect("state dir");
    let state = state.path();
    let drain = ["run", "drain", "--haproxy", "lb", "--server", "web/web1"];

    // Dry run: the plan with the exact command and live checks, nothing changed, nothing audited.
    let (code, out) = rd(&cfg, state, &drain);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("socket commands:\n  set server web/web1 state drain\n"), "{out}");
    assert!(out.contains("[ok  ] the admin socket of lb answers at level admin: level admin"), "{out}");
    assert!(out.contains("WARNING: Runtime change only"), "{out}");
    assert!(out.contains("dry run: nothing was changed"), "{out}");
    assert_eq!(server_state(&lab, "web1").0, 0);
    assert!(audit_lines(state).is_empty());

    // --read-only refuses before touching anything.
    let mut ro = vec!["--read-only"];
    ro.extend(drain);
    ro.push("--yes");
    let (code, out) = rd(&cfg, state, &ro);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("read-only") && out.contains("nothing was changed"), "{out}");
    assert_eq!(server_state(&lab, "web1").0, 0);
    assert!(audit_lines(state).is_empty());

    // --yes: sent, the new state checked, one audit line with the exact command.
    let mut yes = drain.to_vec();
    yes.push("--yes");
    let (code, out) = rd(&cfg, state, &yes);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("running: set server web/web1 state drain"), "{out}");
    assert!(out.contains("[ok  ] web/web1 is in drain"), "{out}");
    assert_eq!(server_state(&lab, "web1").0 & 0x08, 0x08);
    assert_eq!(status_of(&lab, "web1"), "DRAIN");
    let audit = audit_lines(state);
    assert_eq!(audit.len(), 1, "{audit:#?}");
    assert_eq!(audit[0]["node"], "lb");
    assert_eq!(audit[0]["address"], admin_socket(&lab).display().to_string());
    assert_eq!(
        audit[0]["action"],
        serde_json::json!({"action": "haproxy-server", "haproxy": "lb", "server": "web/web1", "op": "drain"})
    );
    assert_eq!(audit[0]["statements"], serde_json::json!(["set server web/web1 state drain"]));
    assert_eq!((audit[0]["statements_run"].as_u64(), audit[0]["ok"].as_bool()), (Some(1), Some(true)));

    // weight and ready; `--haproxy` may be left out with one instance.
    let (code, out) = rd(&cfg, state, &["run", "weight", "50", "--server", "web/web1", "--yes"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(server_state(&lab, "web1").1, 50);
    let (code, out) = rd(&cfg, state, &["run", "ready", "--server", "web/web1", "--yes"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(server_state(&lab, "web1").0, 0);
    let (code, out) = rd(&cfg, state, &["run", "weight", "1", "--server", "web/web1", "--yes"]);
    assert_eq!(code, 0, "{out}");
    let audit = audit_lines(state);
    assert_eq!(audit.len(), 4);
    assert_eq!(audit[1]["statements"][0], "set weight web/web1 50");
    assert_eq!(audit[2]["statements"][0], "set server web/web1 state ready");
    let shown = rd(&cfg, state, &["audit"]).1;
    assert!(shown.contains("lb (") && shown.contains("> set weight web/web1 50"), "{shown}");

    // A server that does not exist, and a name that could smuggle a second command.
    let (code, out) = rd(&cfg, state, &["run", "drain", "--server", "web/web9", "--yes"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no server web/web9"), "{out}");
    let (code, out) = rd(&cfg, state, &["run", "drain", "--server", "web/web1;disable server web/web2", "--yes"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(status_of(&lab, "web2"), "UP");

    // A socket without admin level: refused with its level on screen, nothing changed, audited.
    let text = std::fs::read_to_string(&cfg).unwrap();
    let user_cfg = lab.dir().join("user-socket.toml");
    std::fs::write(&user_cfg, text.replace("haproxy.sock", "haproxy-ro.sock")).unwrap();
    let (code, out) = rd(&user_cfg, state, &["run", "maint", "--server", "web/web2"]);
    assert_eq!(code, 1, "the dry run already says it cannot run: {out}");
    assert!(out.contains("[FAIL] the admin socket of lb answers at level admin: level user"), "{out}");
    let (code, out) = rd(&user_cfg, state, &["run", "maint", "--server", "web/web2", "--yes"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("level user") && out.contains("Permission denied"), "{out}");
    assert_eq!(server_state(&lab, "web2").0, 0, "web2 untouched");
    let audit = audit_lines(state);
    assert_eq!(audit.len(), 5);
    assert_eq!((audit[4]["ok"].as_bool(), audit[4]["statements_run"].as_u64()), (Some(false), Some(0)));
    // And HAProxy's own answer to a command below admin level, as the engine would show it.
    let denied = socket(&lab.dir().join("haproxy-ro.sock"), "set server web/web2 state maint");
    assert!(denied.contains("Permission denied"), "{denied}");
}

/// A plain HTTP/1.0 GET that may take a while: (status, body, elapsed).
fn slow_get(port: u16, path: &str) -> (u16, String, Duration) {
    let started = Instant::now();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to web1");
    s.set_read_timeout(Some(Duration::from_secs(40))).ok();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes()).expect("send");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("read the slow answer");
    let status = resp.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, resp, started.elapsed())
}

/// The HAProxy pane's line of server `name` (the pane is the right half at 160 columns).
fn hap_line<'a>(screen: &'a str, name: &str) -> Option<&'a str> {
    screen.lines().find(|l| l.contains(&format!("┃  {name} ")) || l.contains(&format!("│  {name} ")))
}

/// The seconds the in-flight list shows for a request line containing `uri`.
fn in_flight_seconds(screen: &str, uri: &str) -> Option<u64> {
    let line = screen.lines().find(|l| l.contains(uri))?;
    let before = &line[..line.find(uri)?];
    before.split_whitespace().rev().find_map(|w| w.strip_suffix('s')?.parse().ok())
}

/// (busy, req/s) of Apache `name` from its first line in the Apache pane.
fn apache_figures(screen: &str, name: &str) -> Option<(u32, f64)> {
    let line = screen.lines().find(|l| l.contains(&format!("│{name}  ")) || l.contains(&format!("┃{name}  ")))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let busy = words.iter().find_map(|w| w.split_once('/').and_then(|(b, _)| b.parse().ok()))?;
    let rate = words.iter().position(|w| *w == "req/s").and_then(|i| words.get(i - 1)?.parse().ok())?;
    Some((busy, rate))
}

#[test]
fn console_shows_haproxy_and_apache_live_and_drains_from_the_keyboard() {
    let lab = Lab::start(2);
    let cfg = lab.config_path();
    let state = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_ringdeck");
    let tmux = Tmux::new(
        "web",
        160,
        45,
        &format!(
            "XDG_STATE_HOME='{}' {bin} --config '{}'; echo RINGDECK-EXIT=$?; sleep 60",
            state.path().display(),
            cfg.display()
        ),
    );
    tmux.wait_for(Duration::from_secs(15), "all targets up", |s| s.contains("db 2/2  lb 1/1  web 2/2"));
    tmux.wait_for(Duration::from_secs(5), "web1 and web2 UP", |s| {
        hap_line(s, "web1").is_some_and(|l| l.contains(" UP "))
            && hap_line(s, "web2").is_some_and(|l| l.contains(" UP "))
    });

    // `disable server` on the socket shows within a poll (1 s) plus slack for the screen.
    let answer = socket(&admin_socket(&lab), "disable server web/web2");
    assert_eq!(answer.trim(), "", "{answer}");
    tmux.wait_for(Duration::from_millis(2000), "web2 in MAINT", |s| {
        hap_line(s, "web2").is_some_and(|l| l.contains("MAINT"))
    });
    socket(&admin_socket(&lab), "enable server web/web2");
    tmux.wait_for(Duration::from_secs(5), "web2 back UP", |s| hap_line(s, "web2").is_some_and(|l| l.contains(" UP ")));

    // Drain web1 from the keyboard: filter to it, select it, read the dialog, Cancel first.
    tmux.keys(&["2"]);
    tmux.keys(&["/", "web1", "Enter"]);
    tmux.wait_for(Duration::from_secs(2), "the filtered pane", |s| {
        s.contains("/web1 ┓") && hap_line(s, "web2").is_none()
    });
    tmux.keys(&["j", "d"]);
    let dialog = tmux.wait_for(Duration::from_secs(5), "the drain dialog with live checks", |s| {
        s.contains("drain web/web1 on lb") && s.contains("checked live just now")
    });
    assert!(dialog.contains("set server web/web1 state drain"), "{dialog}");
    assert!(dialog.contains("✓ the admin socket of lb answers at level admin"), "{dialog}");
    assert!(dialog.contains("reloads or restarts"), "the dialog warns that runtime changes are lost: {dialog}");
    tmux.keys(&["Enter"]);
    tmux.wait_for(Duration::from_secs(2), "the dialog closed by Cancel", |s| !s.contains("drain web/web1 on lb"));
    assert_eq!(server_state(&lab, "web1").0, 0, "Cancel changed nothing");
    tmux.keys(&["d"]);
    tmux.wait_for(Duration::from_secs(5), "the drain dialog again", |s| s.contains("checked live just now"));
    tmux.keys(&["Tab"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for(Duration::from_secs(10), "the step done", |s| s.contains("DONE") && s.contains("is in drain"));
    tmux.keys(&["Enter"]);
    // The step polls HAProxy at once when it ends: the pane shows DRAIN right away.
    tmux.wait_for(Duration::from_millis(1500), "web1 in DRAIN", |s| {
        hap_line(s, "web1").is_some_and(|l| l.contains("DRAIN"))
    });
    let audit = audit_lines(state.path());
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert!(common::audit_interrupted(state.path()).is_empty(), "the started record has its end");
    let rec = &audit[0];
    assert_eq!(rec["statements"], serde_json::json!(["set server web/web1 state drain"]));
    assert_eq!(rec["ok"], true);
    tmux.keys(&["/", "Escape"]);
    tmux.wait_for(Duration::from_secs(2), "the filter cleared", |s| hap_line(s, "web2").is_some());

    // A request that does not finish shows in the in-flight list with its URI, its time growing.
    let port = lab.port_base() + 81;
    let slow = std::thread::spawn(move || slow_get(port, "/slow?seconds=20"));
    let uri = "GET /slow?seconds=20";
    let first =
        tmux.wait_for(Duration::from_secs(5), "the slow request in flight", |s| in_flight_seconds(s, uri).is_some());
    let t0 = in_flight_seconds(&first, uri).unwrap_or(0);
    let later = tmux.wait_for(Duration::from_secs(6), "its time growing", |s| {
        in_flight_seconds(s, uri).is_some_and(|t| t >= t0 + 2)
    });
    assert!(later.lines().any(|l| l.contains(uri) && l.contains("web1")), "{later}");

    // `lab load` raises busy workers and req/s (through HAProxy: web2 takes it, web1 drains).
    let idle = apache_figures(&tmux.screen(), "web2");
    let loader = {
        let dir = lab.dir().to_path_buf();
        std::thread::spawn(move || {
            Command::new(bin).args(["lab", "load", "--seconds", "8", "--dir"]).arg(dir).output().expect("run lab load")
        })
    };
    let busy = tmux.wait_for(Duration::from_secs(8), "web2 busier under load", |s| {
        apache_figures(s, "web2").is_some_and(|(busy, rate)| busy >= 3 && rate >= 1.0)
    });
    assert!(idle.is_some_and(|(b, _)| b <= 2), "idle before the load: {idle:?}\n{busy}");
    let out = loader.join().expect("load thread");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (status, body, took) = slow.join().expect("slow request thread");
    assert_eq!(status, 200, "{body}");
    assert!(took >= Duration::from_secs(19), "{took:?}");

    tmux.keys(&["q"]);
    let screen = tmux.wait_for(Duration::from_secs(3), "the console's exit", |s| s.contains("RINGDECK-EXIT="));
    assert!(screen.contains("RINGDECK-EXIT=0"), "{screen}");
}
