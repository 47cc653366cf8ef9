//! `ringdeck::ssh` against the lab's real sshd (no mocks): commands with their exit status,
//! stdout, stderr and streamed lines; arguments with spaces, quotes, `$(id)` and newlines arriving
//! unchanged; the idle timeout; `relay` copying a directory tree with tar between two sessions
//! (and failing when either side fails); host keys: unknown (fingerprint as `ssh-keygen -l`
//! prints it), accepted with `AcceptNew`, hashed known_hosts, changed (refused even with
//! `AcceptNew`); a TCP listener that never speaks times out; `ringdeck ssh-check` on the lab, with
//! `--accept-new` and through an ssh-agent. Every known_hosts file lives in a temp dir: the real
//! `~/.ssh` is never touched.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::Lab;
use ringdeck::config::Config;
use ringdeck::ssh::{self, HostKeyPolicy, OutputLine, Session, SshError, SshTarget, Stream};

const TIMEOUT: Duration = Duration::from_secs(10);
const IDLE: Duration = Duration::from_secs(20);

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime")
}

fn lab_config(lab: &Lab) -> Config {
    Config::load(&lab.config_path()).expect("the lab config loads")
}

/// node1's SSH target from the lab config, optionally with another known_hosts file.
fn target(lab: &Lab, known_hosts: Option<&Path>) -> SshTarget {
    let cfg = lab_config(lab);
    let mut t = SshTarget::for_node(&cfg.nodes[0], TIMEOUT).expect("node1 has [node.ssh]");
    if let Some(k) = known_hosts {
        t.known_hosts = k.to_path_buf();
    }
    t
}

fn connect(rt: &tokio::runtime::Runtime, t: &SshTarget, policy: &HostKeyPolicy) -> Result<Session, SshError> {
    rt.block_on(ssh::connect(t, policy))
}

fn argv(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// `SHA256:...` of a public key file, as `ssh-keygen -lf` prints it.
fn keygen_fingerprint(pub_key: &Path) -> String {
    let out = Command::new("ssh-keygen").arg("-lf").arg(pub_key).output().expect("run ssh-keygen -lf");
    assert!(out.status.success(), "ssh-keygen -lf {}: {}", pub_key.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).split_whitespace().nth(1).expect("a fingerprint field").to_string()
}

/// The lab sshd's host public key.
fn lab_host_pub(lab: &Lab) -> PathBuf {
    lab.dir().join("sshd").join("host_ed25519_key.pub")
}

/// Every file under `dir`: relative path -> contents (directories as empty entries ending in /).
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(dir).expect("read_dir") {
            let p = e.expect("dir entry").path();
            let rel = p.strip_prefix(root).expect("under root").to_string_lossy().into_owned();
            if p.is_dir() {
                out.insert(format!("{rel}/"), Vec::new());
                walk(root, &p, out);
            } else {
                out.insert(rel, fs::read(&p).expect("read file"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Pseudo-random bytes (xorshift) so the copy cannot be compressed into one packet.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

/// Runs the binary: (exit code, stdout + stderr).
fn ringdeck(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ringdeck"));
    cmd.args(args).env("RUST_BACKTRACE", "0");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run ringdeck");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn lab_sshd_commands_relay_host_keys_and_ssh_check() {
    let lab = Lab::start(3);
    let rt = rt();
    let tmp = tempfile::tempdir().expect("temp dir");

    commands(&lab, &rt);
    relay(&lab, &rt, tmp.path());
    host_keys(&lab, &rt, tmp.path());
    ssh_check(&lab, tmp.path());
}

fn commands(lab: &Lab, rt: &tokio::runtime::Runtime) {
    let s = connect(rt, &target(lab, None), &HostKeyPolicy::Strict).expect("connect with the lab's known_hosts");

    // Exit status and stdout.
    let out = rt.block_on(s.run(&argv(&["uname", "-n"]), None, IDLE)).expect("uname -n");
    assert_eq!(out.status, Some(0));
    assert!(!out.stdout.trim().is_empty());
    assert_eq!(out.stderr, "");

    // Arguments arrive exactly as given: printf '%s\0' ARG... echoes each one back, NUL-terminated.
    let tricky = [
        "two words",
        "it's",
        "'",
        "$(id)",
        "`id`",
        "${HOME}",
        "a;b && c | d > /tmp/x",
        "line1\nline2",
        "",
        "-n",
        "--",
        "\\",
        "\"double\"",
        "*",
        "~",
        "données",
    ];
    let mut args = argv(&["printf", "%s\\0"]);
    args.extend(tricky.iter().map(|s| s.to_string()));
    let out = rt.block_on(s.run_ok(&args, IDLE)).expect("printf");
    let mut echoed: Vec<&str> = out.split('\0').collect();
    assert_eq!(echoed.pop(), Some(""), "NUL-terminated: {out:?}");
    assert_eq!(echoed, tricky, "{out:?}");

    // Non-zero exit: run reports it, run_ok turns it into an error with the stderr tail.
    let failing = argv(&["sh", "-c", "echo partial; echo 'no such thing' >&2; exit 3"]);
    let out = rt.block_on(s.run(&failing, None, IDLE)).expect("run");
    assert_eq!((out.status, out.stdout.as_str(), out.stderr.as_str()), (Some(3), "partial\n", "no such thing\n"));
    match rt.block_on(s.run_ok(&failing, IDLE)) {
        Err(SshError::Command { status: Some(3), stderr, command, .. }) => {
            assert_eq!(stderr, "no such thing");
            assert!(command.starts_with("'sh' '-c' "), "{command}");
        }
        other => panic!("expected SshError::Command with status 3, got {other:?}"),
    }
    let e = rt.block_on(s.run_ok(&argv(&["ls", "/nonexistent-ringdeck-dir"]), IDLE)).expect_err("ls fails");
    assert!(e.to_string().contains("exited with status 2"), "{e}");

    // Lines stream tagged as they arrive; the last line without a newline comes too.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let cmd = argv(&["sh", "-c", "echo out1; echo err1 >&2; printf 'out2'"]);
    let out = rt.block_on(s.run(&cmd, Some(tx), IDLE)).expect("run with lines");
    assert_eq!(out.status, Some(0));
    let mut lines: Vec<OutputLine> = Vec::new();
    while let Ok(l) = rx.try_recv() {
        lines.push(l);
    }
    let outs: Vec<&str> = lines.iter().filter(|l| l.stream == Stream::Stdout).map(|l| l.text.as_str()).collect();
    let errs: Vec<&str> = lines.iter().filter(|l| l.stream == Stream::Stderr).map(|l| l.text.as_str()).collect();
    assert_eq!((outs, errs), (vec!["out1", "out2"], vec!["err1"]));

    // Idle timeout: a silent command that does not finish.
    let started = Instant::now();
    let e = rt.block_on(s.run(&argv(&["sleep", "4"]), None, Duration::from_millis(700))).expect_err("idle timeout");
    assert!(matches!(e, SshError::Timeout(_)), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());

    // The connection still works afterwards.
    assert_eq!(rt.block_on(s.run_ok(&argv(&["echo", "still here"]), IDLE)).expect("echo"), "still here\n");
    rt.block_on(s.close());
}

fn relay(lab: &Lab, rt: &tokio::runtime::Runtime, tmp: &Path) {
    let src_dir = tmp.join("relay src");
    let dst_dir = tmp.join("relay dst");
    fs::create_dir_all(src_dir.join("sub dir/deeper")).expect("mkdir");
    fs::create_dir_all(&dst_dir).expect("mkdir");
    fs::write(src_dir.join("small.txt"), "hello\n").expect("write");
    fs::write(src_dir.join("it's $(odd).txt"), "name with quotes\n").expect("write");
    fs::write(src_dir.join("sub dir/big.bin"), noise(3 << 20, 0x9e37_79b9_7f4a_7c15)).expect("write");
    fs::write(src_dir.join("sub dir/deeper/empty"), "").expect("write");

    let t = target(lab, None);
    // Two sessions, as for two hosts.
    let a = connect(rt, &t, &HostKeyPolicy::Strict).expect("connect a");
    let b = connect(rt, &t, &HostKeyPolicy::Strict).expect("connect b");
    let src_argv = argv(&["tar", "-C", src_dir.to_str().expect("utf-8"), "-cf", "-", "."]);
    let dst_argv = argv(&["tar", "-C", dst_dir.to_str().expect("utf-8"), "-xf", "-"]);
    let mut seen: Vec<u64> = Vec::new();
    let copied = rt.block_on(ssh::relay(&a, &src_argv, &b, &dst_argv, IDLE, |n| seen.push(n))).expect("relay");
    assert_eq!(tree(&src_dir), tree(&dst_dir), "the copy differs");
    assert!(copied > 3 << 20, "copied {copied} bytes");
    assert!(seen.len() > 10, "progress called {} times", seen.len());
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "progress grows");
    assert_eq!(seen.last(), Some(&copied));

    // A failing destination is reported with its status and stderr.
    let bad_dst = argv(&["tar", "-C", "/nonexistent-ringdeck-dir", "-xf", "-"]);
    match rt.block_on(ssh::relay(&a, &src_argv, &b, &bad_dst, IDLE, |_| {})) {
        Err(SshError::Command { status: Some(s), stderr, command, .. }) => {
            assert_ne!(s, 0);
            assert!(stderr.contains("nonexistent-ringdeck-dir"), "{stderr}");
            assert!(command.contains("-xf"), "the destination is named: {command}");
        }
        other => panic!("expected the destination's failure, got {other:?}"),
    }
    // So is a failing source.
    let bad_src = argv(&["sh", "-c", "printf some; echo 'source broke' >&2; exit 4"]);
    let sink = argv(&["sh", "-c", "cat >/dev/null"]);
    match rt.block_on(ssh::relay(&a, &bad_src, &b, &sink, IDLE, |_| {})) {
        Err(SshError::Command { status: Some(4), stderr, .. }) => assert_eq!(stderr, "source broke"),
        other => panic!("expected the source's failure, got {other:?}"),
    }
    // Nothing moves: the idle watchdog fires.
    let started = Instant::now();
    let e = rt
        .block_on(ssh::relay(&a, &argv(&["sleep", "4"]), &b, &sink, Duration::from_millis(700), |_| {}))
        .expect_err("relay idle timeout");
    assert!(matches!(e, SshError::Timeout(_)), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());

    rt.block_on(a.close());
    rt.block_on(b.close());
}

fn host_keys(lab: &Lab, rt: &tokio::runtime::Runtime, tmp: &Path) {
    let port = lab.port_base() + 22;
    let want = keygen_fingerprint(&lab_host_pub(lab));

    // Empty known_hosts + Strict: unknown, with the fingerprint ssh-keygen prints.
    let kh = tmp.join("kh-new/known_hosts");
    let t = target(lab, Some(&kh));
    match connect(rt, &t, &HostKeyPolicy::Strict) {
        Err(SshError::UnknownHostKey { host, port: p, fingerprint, key_type }) => {
            assert_eq!((host.as_str(), p), ("127.0.0.1", port));
            assert_eq!(fingerprint, want);
            assert_eq!(key_type, "ssh-ed25519");
        }
        other => panic!("expected UnknownHostKey, got {other:?}"),
    }
    assert!(!kh.exists(), "Strict writes nothing");

    // AcceptNew with another fingerprint: refused, nothing written.
    let wrong =
        HostKeyPolicy::AcceptNew { fingerprints: vec!["SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()] };
    let e = connect(rt, &t, &wrong).expect_err("wrong fingerprint");
    assert!(matches!(e, SshError::FingerprintMismatch { .. }), "{e:?}");
    assert!(!kh.exists());

    // AcceptNew with the right one: connects and records `[127.0.0.1]:port type key`.
    let s =
        connect(rt, &t, &HostKeyPolicy::AcceptNew { fingerprints: vec![want.clone()] }).expect("AcceptNew connects");
    assert_eq!(rt.block_on(s.run_ok(&argv(&["echo", "ok"]), IDLE)).expect("echo"), "ok\n");
    rt.block_on(s.close());
    let text = fs::read_to_string(&kh).expect("known_hosts written");
    let host_pub = fs::read_to_string(lab_host_pub(lab)).expect("host pub");
    let key_b64 = host_pub.split_whitespace().nth(1).expect("key field");
    assert_eq!(text, format!("[127.0.0.1]:{port} ssh-ed25519 {key_b64}\n"));
    // Then Strict works, and `ssh-keygen -F` finds the entry we wrote.
    let s = connect(rt, &t, &HostKeyPolicy::Strict).expect("Strict after AcceptNew");
    rt.block_on(s.close());
    let found = Command::new("ssh-keygen")
        .args(["-F", &format!("[127.0.0.1]:{port}"), "-f"])
        .arg(&kh)
        .output()
        .expect("ssh-keygen -F");
    assert!(found.status.success(), "ssh-keygen -F does not find our line");

    // Hashed known_hosts (ssh-keygen -H) works too.
    let hashed = tmp.join("kh-hashed");
    fs::copy(&kh, &hashed).expect("copy");
    let out = Command::new("ssh-keygen").arg("-H").arg("-f").arg(&hashed).output().expect("ssh-keygen -H");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(fs::read_to_string(&hashed).expect("read").starts_with("|1|"), "hashed");
    let s = connect(rt, &target(lab, Some(&hashed)), &HostKeyPolicy::Strict).expect("hashed entry");
    rt.block_on(s.close());

    // A different key recorded for [127.0.0.1]:port: refused, also under AcceptNew, nothing written.
    let other_key = tmp.join("other_host_key");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "impostor", "-f"])
        .arg(&other_key)
        .output()
        .expect("ssh-keygen");
    assert!(out.status.success());
    let other_pub = fs::read_to_string(other_key.with_extension("pub")).expect("read pub");
    let other_b64 = other_pub.split_whitespace().nth(1).expect("key field");
    let changed = tmp.join("kh-changed");
    let changed_text = format!("# recorded earlier\n[127.0.0.1]:{port} ssh-ed25519 {other_b64}\n");
    fs::write(&changed, &changed_text).expect("write");
    let t = target(lab, Some(&changed));
    for policy in [HostKeyPolicy::Strict, HostKeyPolicy::AcceptNew { fingerprints: vec![want.clone()] }] {
        match connect(rt, &t, &policy) {
            Err(SshError::ChangedHostKey(c)) => {
                assert_eq!(c.fingerprint, want);
                assert_eq!((c.known_hosts.as_path(), c.line), (changed.as_path(), 2));
            }
            other => panic!("expected ChangedHostKey under {policy:?}, got {other:?}"),
        }
    }
    assert_eq!(fs::read_to_string(&changed).expect("read"), changed_text, "nothing written");
}

/// The lab config with every node's known_hosts (and optionally key) replaced; returns its path.
fn config_copy(lab: &Lab, dir: &Path, name: &str, known_hosts: &Path, drop_key: bool) -> PathBuf {
    let mut cfg = lab_config(lab);
    for n in &mut cfg.nodes {
        let ssh = n.ssh.as_mut().expect("[node.ssh]");
        ssh.known_hosts = Some(known_hosts.to_path_buf());
        if drop_key {
            ssh.key = None;
        }
    }
    let path = dir.join(name);
    fs::write(&path, cfg.to_toml().expect("serialize")).expect("write config");
    path
}

fn ssh_check(lab: &Lab, tmp: &Path) {
    let cfg = lab.config_path();
    let cfg = cfg.to_str().expect("utf-8");
    let (code, out) = ringdeck(&["ssh-check", "--config", cfg], &[]);
    assert_eq!(code, 0, "{out}");
    for k in 1..=3 {
        assert!(out.contains(&format!("node{k}  OK ")), "node{k} missing: {out}");
        assert!(out.contains(&format!("data_dir {}", lab.dir().join(format!("node{k}/data")).display())), "{out}");
    }
    assert!(out.contains("3 of 3 nodes OK"), "{out}");
    let (code, out) = ringdeck(&["ssh-check", "--config", cfg, "--node", "node2"], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("node2  OK ") && !out.contains("node1") && out.contains("1 of 1 nodes OK"), "{out}");
    let (code, out) = ringdeck(&["ssh-check", "--config", cfg, "--node", "nodeX"], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no node named \"nodeX\""), "{out}");

    // Unknown key: exit 1, the fingerprint and the hint; then --accept-new records it once for all
    // three nodes (same sshd, same known_hosts, connected at the same time).
    let want = keygen_fingerprint(&lab_host_pub(lab));
    let kh = tmp.join("kh-check");
    let copy = config_copy(lab, tmp, "unknown.toml", &kh, false);
    let copy = copy.to_str().expect("utf-8");
    let (code, out) = ringdeck(&["ssh-check", "--config", copy], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAILED") && out.contains("unknown host key"), "{out}");
    assert!(out.contains(&format!("--accept-new {want}")), "{out}");
    let (code, out) = ringdeck(&["ssh-check", "--config", copy, "--accept-new", &want], &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(fs::read_to_string(&kh).expect("known_hosts").lines().count(), 1, "one line for one host");
    let (code, out) = ringdeck(&["ssh-check", "--config", copy], &[]);
    assert_eq!(code, 0, "{out}");

    // Changed key: refused even with --accept-new.
    let port = lab.port_base() + 22;
    let changed = tmp.join("kh-check-changed");
    fs::write(
        &changed,
        format!(
            "[127.0.0.1]:{port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ\n"
        ),
    )
    .expect("write");
    let copy = config_copy(lab, tmp, "changed.toml", &changed, false);
    let (code, out) = ringdeck(&["ssh-check", "--config", copy.to_str().expect("utf-8"), "--accept-new", &want], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("HOST KEY CHANGED") && out.contains("ssh-keygen -R"), "{out}");
    assert!(out.contains("0 of 3 nodes OK"), "{out}");

    // No key file: the ssh-agent at SSH_AUTH_SOCK is used.
    let sock = tmp.join("agent.sock");
    let mut agent = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start ssh-agent");
    common::wait_until(Duration::from_secs(10), "ssh-agent socket", || sock.exists());
    let added = Command::new("ssh-add").arg(lab.dir().join("id_ed25519")).env("SSH_AUTH_SOCK", &sock).output();
    let copy = config_copy(lab, tmp, "agent.toml", &lab.dir().join("known_hosts"), true);
    let copy = copy.to_str().expect("utf-8");
    let with_agent = ringdeck(&["ssh-check", "--config", copy], &[("SSH_AUTH_SOCK", sock.to_str().expect("utf-8"))]);
    let without_agent = ringdeck(&["ssh-check", "--config", copy], &[("SSH_AUTH_SOCK", "/nonexistent/agent.sock")]);
    let _ = agent.kill();
    let _ = agent.wait();
    let added = added.expect("run ssh-add");
    assert!(added.status.success(), "ssh-add: {}", String::from_utf8_lossy(&added.stderr));
    assert_eq!(with_agent.0, 0, "{}", with_agent.1);
    assert_eq!(without_agent.0, 1, "{}", without_agent.1);
    assert!(without_agent.1.contains("ssh-agent"), "{}", without_agent.1);
}

#[test]
fn a_listener_that_never_speaks_times_out() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    // Accepts one connection and holds it, silent, until the client hangs up.
    let holder = std::thread::spawn(move || {
        if let Ok((mut conn, _)) = listener.accept() {
            let mut buf = [0u8; 1024];
            while matches!(std::io::Read::read(&mut conn, &mut buf), Ok(n) if n > 0) {}
        }
    });
    let tmp = tempfile::tempdir().expect("temp dir");
    let t = SshTarget {
        host: "127.0.0.1".into(),
        port,
        user: "nobody".into(),
        key: None,
        known_hosts: tmp.path().join("known_hosts"),
        timeout: Duration::from_millis(800),
    };
    let started = Instant::now();
    let e = rt().block_on(ssh::connect(&t, &HostKeyPolicy::Strict)).expect_err("no SSH server there");
    let took = started.elapsed();
    assert!(matches!(e, SshError::Timeout(_)), "{e:?}");
    assert!(e.to_string().contains("handshake"), "{e}");
    assert!(took >= Duration::from_millis(700) && took < Duration::from_secs(3), "took {took:?}");
    holder.join().expect("the holder thread ends once the client hung up");
    assert!(!tmp.path().join("known_hosts").exists());
}
