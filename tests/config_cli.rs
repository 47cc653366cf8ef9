//! The binary's handling of config files a user gets wrong: every error names file, line and key,
//! and the console never starts (or leaves the terminal in raw mode) on a broken config.

use std::process::Command;

fn ringdeck(args: &[&str], home: &std::path::Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ringdeck"))
        .args(args)
        .env("HOME", home)
        .env_remove("XDG_CONFIG_HOME")
        .env("NO_COLOR", "1")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run ringdeck");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn unknown_key_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.toml");
    std::fs::write(&p, "[[node]]\nname = \"db1\"\nhost = \"127.0.0.1\"\nprot = 3306\n").unwrap();
    let (code, err) = ringdeck(&["--config", p.to_str().unwrap()], dir.path());
    assert_ne!(code, 0);
    let want = format!("{}:4: key `prot`: unknown field `prot`", p.display());
    assert!(err.contains(&want), "stderr: {err}");
}

#[test]
fn bad_value_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.toml");
    std::fs::write(&p, "poll_interval = \"soon\"\n[[node]]\nname = \"db1\"\nhost = \"h\"\n").unwrap();
    let (code, err) = ringdeck(&["--config", p.to_str().unwrap()], dir.path());
    assert_ne!(code, 0);
    assert!(err.contains(":1: key `poll_interval`: bad duration"), "stderr: {err}");
}

#[test]
fn missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("nope.toml");
    let (code, err) = ringdeck(&["--config", p.to_str().unwrap()], dir.path());
    assert_ne!(code, 0);
    assert!(err.contains("nope.toml") && err.contains("cannot read"), "stderr: {err}");
}

#[test]
fn no_default_config_points_at_the_lab() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = ringdeck(&[], dir.path());
    assert_ne!(code, 0);
    assert!(err.contains(".config/ringdeck/config.toml"), "stderr: {err}");
    assert!(err.contains("ringdeck lab up"), "stderr: {err}");
}

#[test]
fn xdg_config_home_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("xdg/ringdeck");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(conf.join("config.toml"), "[[node]]\nname = \"db1\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ringdeck"))
        .env("XDG_CONFIG_HOME", dir.path().join("xdg"))
        .env("HOME", dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("xdg/ringdeck/config.toml"), "stderr: {err}");
    assert!(err.contains("missing field `host`"), "stderr: {err}");
}

#[test]
fn example_config_snapshot_reports_unreachable_hosts_without_hanging() {
    // A config whose targets refuse connections: `snapshot` still renders, showing them DOWN.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.toml");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }; // closed again: nothing listens there now
    std::fs::write(
        &p,
        format!(
            "timeout = \"1s\"\npoll_interval = \"200ms\"\n[[node]]\nname = \"db1\"\nhost = \"127.0.0.1\"\nport = {port}\nuser = \"x\"\npassword = \"sekret-pw\"\n[[apache]]\nname = \"web1\"\nstatus_url = \"http://127.0.0.1:{port}/server-status\"\n"
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ringdeck"))
        .args(["--config", p.to_str().unwrap(), "snapshot", "--width", "100", "--height", "30", "--polls", "1"])
        .env("HOME", dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(screen.contains("db 0/1"), "{screen}");
    assert!(screen.contains("DOWN"), "{screen}");
    assert!(!screen.contains("sekret-pw"));
}
