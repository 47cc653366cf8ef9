//! `ringdeck check` against a real lab: OK on a healthy ring (exit 0, Nagios `OK` line), a
//! duplicate-key break on node2 reported as CRITICAL with node1 as the most complete node, green
//! again after a manual skip, and a hung or killed node3 reported as down within the timeout.

mod common;

use std::time::{Duration, Instant};

use common::{Lab, Stopped, node_pid, wait_until};
use serde_json::Value;

/// Runs `ringdeck check --config <lab> --format F`: (exit code, stdout, elapsed).
fn check(lab: &Lab, format: &str) -> (i32, String, Duration) {
    let started = Instant::now();
    let cfg = lab.config_path();
    let out = lab.ringdeck(&["check", "--config", cfg.to_str().expect("utf-8 temp path"), "--format", format]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.stderr.is_empty(), "check wrote to stderr: {}", String::from_utf8_lossy(&out.stderr));
    (out.status.code().expect("check exited, not killed"), stdout, started.elapsed())
}

fn check_json(lab: &Lab) -> (i32, Value) {
    let (code, out, _) = check(lab, "json");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["exit_code"], code, "{out}");
    (code, v)
}

#[test]
fn healthy_then_dup_break_then_manual_skip() {
    let lab = Lab::start(3);

    let (code, out, _) = check(&lab, "nagios");
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("OK - ring node1 -> node2 -> node3 -> node1"), "{out}");
    assert!(out.contains("'lag_node2'=0s;10;300"), "{out}");
    let (code, out, _) = check(&lab, "text");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("FINDINGS (worst first)\n  none"), "{out}");
    assert!(!out.contains(&lab_password(&lab)), "the password is never printed");

    lab.ringdeck_ok(&["lab", "break", "dup", "--node", "2"]);
    let (code, v) = check_json(&lab);
    assert_eq!(code, 2, "{v:#}");
    assert_eq!(v["state"], "CRITICAL");
    assert_eq!(v["shape"]["kind"], "ring");
    let broken = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["kind"] == "link_broken")
        .unwrap_or_else(|| panic!("no link_broken finding: {v:#}"));
    assert_eq!(broken["severity"], "CRITICAL");
    assert_eq!(broken["nodes"][0], "node2");
    let msg = broken["message"].as_str().expect("message");
    assert!(msg.starts_with("node1 -> node2  SQL stopped  1062 Duplicate entry"), "{msg}");
    assert_eq!(v["most_complete"]["node"], "node1", "{v:#}");
    assert_eq!(v["most_complete"]["certain"], true);
    let evidence = v["most_complete"]["evidence"].to_string();
    assert!(evidence.contains("bytes not applied"), "{evidence}");
    let link =
        v["links"].as_array().expect("links").iter().find(|l| l["downstream"] == "node2").expect("the link into node2");
    assert_eq!((link["state"].as_str(), link["errno"].as_u64()), (Some("broken"), Some(1062)));
    let node2 = &v["nodes"][1];
    assert_eq!(node2["name"], "node2");
    assert_eq!(node2["state"], "up");
    assert_eq!(node2["dialect"], "MariaDB");
    assert_eq!(node2["log_slave_updates"], true);

    // The manual skip an operator would type; the ring runs again.
    lab.query(2, "STOP SLAVE; SET GLOBAL sql_slave_skip_counter=1; START SLAVE");
    let mut last = String::new();
    wait_until(Duration::from_secs(20), "check to turn OK after the skip", || {
        let (code, out, _) = check(&lab, "nagios");
        last = out;
        code == 0
    });
    assert!(last.starts_with("OK - "), "{last}");
}

fn lab_password(lab: &Lab) -> String {
    ringdeck::config::Config::load(&lab.config_path()).expect("lab config").nodes[0]
        .password
        .as_ref()
        .expect("password")
        .expose()
        .to_string()
}

/// `check` with every node's `[node.tls] ssl_mode` set to `mode`: (exit code, JSON).
fn check_with_ssl_mode(lab: &Lab, mode: &str) -> (i32, Value) {
    let text = std::fs::read_to_string(lab.config_path()).expect("lab config");
    let text = text.replace("[node.ssh]", &format!("[node.tls]\nssl_mode = \"{mode}\"\n\n[node.ssh]"));
    let path = lab.dir().join(format!("ringdeck-{mode}.toml"));
    std::fs::write(&path, text).expect("write");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    let out = lab.ringdeck(&["check", "--config", path.to_str().expect("utf-8"), "--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    (out.status.code().expect("exited"), v)
}

#[test]
fn hung_or_killed_node_is_down_within_the_timeout() {
    let lab = Lab::start(3);

    // The lab's nodes offer no TLS: `preferred` connects in plain, as the MySQL clients do;
    // `required` refuses, and says why on the node.
    let (code, v) = check_with_ssl_mode(&lab, "preferred");
    assert_eq!(code, 0, "{v:#}");
    let (code, v) = check_with_ssl_mode(&lab, "required");
    assert!(code >= 2, "every node down: CRITICAL or UNKNOWN, never OK: {v:#}");
    let e = v["nodes"][0]["error"].as_str().unwrap_or_default();
    assert!(e.contains("the server offers no TLS"), "the reason names TLS: {v:#}");

    // The lab config's timeout is 3 s.
    let limit = Duration::from_secs(6);

    {
        let _hung = Stopped::new(node_pid(&lab, 3));
        let (code, out, took) = check(&lab, "nagios");
        assert_eq!(code, 2, "{out}");
        assert!(out.starts_with("CRITICAL - node3 "), "{out}");
        assert!(took < limit, "check took {took:?} with a hung node");
        assert!(took >= Duration::from_secs(2), "hung node waited for: {took:?}");
    }

    lab.ringdeck_ok(&["lab", "break", "stop", "--node", "3"]);
    let (code, v) = check_json(&lab);
    assert_eq!(code, 2, "{v:#}");
    let node3 = &v["nodes"][2];
    assert_eq!((node3["name"].as_str(), node3["state"].as_str()), (Some("node3"), Some("down")));
    assert!(node3["error"].as_str().is_some_and(|e| !e.is_empty()), "{v:#}");
    assert!(node3["server_id"].is_null());
    let down = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["kind"] == "node_down")
        .unwrap_or_else(|| panic!("no node_down finding: {v:#}"));
    assert_eq!(down["nodes"][0], "node3");
    assert_eq!(down["severity"], "CRITICAL");
    assert_eq!(v["most_complete"]["node"], "node2", "{v:#}");
    let (_, _, took) = check(&lab, "text");
    assert!(took < limit, "check took {took:?} with a dead node");
}
