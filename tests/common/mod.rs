//! Test harness for integration tests against a real lab (MariaDB ring, HAProxy, Apache, sshd).
//!
//! `Lab::start(3)` claims a free port base (race-free across parallel test processes: a random
//! base, an O_EXCL lock file under the system temp dir, and a bind check of every port the lab
//! needs), makes a temp dir, and runs the real binary's `lab up`. Dropping the `Lab` runs
//! `lab down --purge` (also when a test panics) and releases the claim.
#![allow(dead_code)] // Each test binary uses a different part of the harness.

pub mod tmux;

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{OptsBuilder, Row, Value};
use ringdeck::config::Config;

/// Options for [`Lab::start_with`].
#[derive(Clone, Debug)]
pub struct LabOptions {
    pub nodes: u16,
    /// Replicate with GTIDs (`lab up --gtid`).
    pub gtid: bool,
    /// Serve and replicate over TLS (`lab up --tls`).
    pub tls: bool,
    /// Run `ringdeck agent` and have HAProxy ask it (`lab up --agent`).
    pub agent: bool,
}

/// A running lab, torn down on drop.
pub struct Lab {
    dir: tempfile::TempDir,
    /// Released after `lab down` (fields drop after `Drop::drop`).
    claim: PortClaim,
    nodes: u16,
    /// The operator password, read from the written ringdeck.toml once `up` succeeded.
    password: String,
    /// `lab up --tls`: client connections verify the node with the lab's CA.
    tls: bool,
}

/// The ports a lab with `nodes` nodes at `base` listens on.
fn lab_ports(base: u16, nodes: u16) -> Vec<u16> {
    let mut v = vec![base, base + 22, base + 77, base + 78, base + 80, base + 81, base + 82, base + 90];
    v.extend((1..=nodes).map(|k| base + k));
    v
}

fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)).expect("read /dev/urandom");
    u32::from_le_bytes(b)
}

fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Claims a port base: random in 20000..32000 step 100, held by an O_EXCL lock file that names
/// our pid (a claim whose process is gone is stale and taken over), and every port bindable.
fn claim_port_base(nodes: u16) -> (u16, PathBuf) {
    let lock_dir = std::env::temp_dir().join("ringdeck-test-ports");
    fs::create_dir_all(&lock_dir).expect("create the port lock dir");
    for _ in 0..200 {
        // Below the kernel's ephemeral range (32768+): a client probing a port there can connect to
        // itself (TCP simultaneous open) and hold the port a lab server needs.
        let base = 20000 + (random_u32() % 120) as u16 * 100;
        let lock = lock_dir.join(format!("{base}.lock"));
        let file = fs::OpenOptions::new().write(true).create_new(true).open(&lock);
        let mut file = match file {
            Ok(f) => f,
            Err(_) => {
                let owner = fs::read_to_string(&lock).ok().and_then(|s| s.trim().parse::<u32>().ok());
                if owner.is_some_and(|p| !pid_alive(p)) {
                    let _ = fs::remove_file(&lock);
                }
                continue;
            }
        };
        let _ = write!(file, "{}", std::process::id());
        let free = lab_ports(base, nodes).iter().all(|p| TcpListener::bind((Ipv4Addr::LOCALHOST, *p)).is_ok());
        if free {
            return (base, lock);
        }
        let _ = fs::remove_file(&lock);
    }
    panic!("found no free port base for a lab after 200 tries");
}

impl Lab {
    /// A position-based ring of `nodes` nodes.
    pub fn start(nodes: u16) -> Lab {
        Self::start_with(LabOptions { nodes, gtid: false, tls: false, agent: false })
    }

    /// A lab with options; panics (after tearing down) if `lab up` fails.
    pub fn start_with(opts: LabOptions) -> Lab {
        let claim = PortClaim::new(opts.nodes);
        let port_base = claim.base;
        // Short path: unix sockets live inside it.
        let dir = tempfile::Builder::new().prefix("rdlab").tempdir().expect("create a temp dir");
        let mut lab = Lab { dir, claim, nodes: opts.nodes, password: String::new(), tls: opts.tls };
        let mut args = vec![
            "lab".to_string(),
            "up".into(),
            "--nodes".into(),
            opts.nodes.to_string(),
            "--port-base".into(),
            port_base.to_string(),
        ];
        if opts.gtid {
            args.push("--gtid".into());
        }
        if opts.tls {
            args.push("--tls".into());
        }
        if opts.agent {
            args.push("--agent".into());
        }
        let started = Instant::now();
        let out = lab.ringdeck(&args);
        assert!(
            out.status.success(),
            "lab up failed ({}):\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("lab up ({} nodes at {port_base}) took {:.1}s", opts.nodes, started.elapsed().as_secs_f64());
        let cfg = Config::load(&lab.config_path()).expect("the lab's ringdeck.toml loads");
        lab.password =
            cfg.nodes[0].password.as_ref().expect("the lab config has the operator password").expose().to_string();
        lab
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
    pub fn port_base(&self) -> u16 {
        self.claim.base
    }
    pub fn nodes(&self) -> u16 {
        self.nodes
    }
    pub fn config_path(&self) -> PathBuf {
        self.dir().join("ringdeck.toml")
    }
    pub fn node_port(&self, node: u16) -> u16 {
        self.claim.base + node
    }
    /// The operator's password (for tests that hold their own connection).
    pub fn password(&self) -> &str {
        &self.password
    }

    /// Runs the real binary with `args` plus `--dir D` (for `lab ...` commands).
    pub fn ringdeck<S: AsRef<str>>(&self, args: &[S]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ringdeck"));
        cmd.args(args.iter().map(AsRef::as_ref));
        if args.first().is_some_and(|a| a.as_ref() == "lab") {
            cmd.arg("--dir").arg(self.dir());
        }
        cmd.env("RUST_BACKTRACE", "0").output().expect("run the ringdeck binary")
    }

    /// Like [`Lab::ringdeck`] but panics unless it succeeds; returns stdout + stderr.
    pub fn ringdeck_ok<S: AsRef<str>>(&self, args: &[S]) -> String {
        let out = self.ringdeck(args);
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let shown: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
        assert!(out.status.success(), "ringdeck {shown:?} failed: {text}");
        text
    }

    /// Runs `sql` on node `node` as the operator over TCP; rows of optional strings.
    pub fn query(&self, node: u16, sql: &str) -> Vec<Vec<Option<String>>> {
        self.try_query(node, sql).unwrap_or_else(|e| panic!("node{node}: {sql}: {e}"))
    }

    /// Like [`Lab::query`] but returns errors (for nodes that may be down).
    pub fn try_query(&self, node: u16, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
        self.rows(node, sql)
            .map(|rows| rows.iter().map(|r| (0..r.len()).map(|i| r.as_ref(i).and_then(text)).collect()).collect())
    }

    /// The first column of the first row.
    pub fn query_one(&self, node: u16, sql: &str) -> Option<String> {
        self.query(node, sql).into_iter().next().and_then(|r| r.into_iter().next().flatten())
    }

    /// `SHOW SLAVE STATUS` on `node` by column name (empty if none configured).
    pub fn replica_status(&self, node: u16) -> HashMap<String, String> {
        let rows =
            self.rows(node, "SHOW SLAVE STATUS").unwrap_or_else(|e| panic!("node{node}: SHOW SLAVE STATUS: {e}"));
        rows.first()
            .map(|r| {
                r.columns_ref()
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.name_str().into_owned(), r.as_ref(i).and_then(text).unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The operator's connection options to `node` (TLS verified by the lab's CA on a TLS lab).
    pub fn client_opts(&self, node: u16) -> OptsBuilder {
        let o = OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.node_port(node))
            .prefer_socket(false)
            .user(Some("ringdeck"))
            .pass(Some(self.password.clone()));
        if self.tls {
            let ca = self.dir().join("tls/ca.pem");
            o.ssl_opts(mysql_async::SslOpts::default().with_root_certs(vec![ca.into()]))
        } else {
            o
        }
    }

    fn rows(&self, node: u16, sql: &str) -> Result<Vec<Row>, String> {
        let opts = self.client_opts(node);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        rt.block_on(async {
            let t = Duration::from_secs(10);
            let mut conn = tokio::time::timeout(t, mysql_async::Conn::new(opts))
                .await
                .map_err(|_| "connect timed out".to_string())?
                .map_err(|e| e.to_string())?;
            let rows: Vec<Row> = tokio::time::timeout(t, conn.query(sql))
                .await
                .map_err(|_| "query timed out".to_string())?
                .map_err(|e| e.to_string())?;
            let _ = conn.disconnect().await;
            Ok(rows)
        })
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

/// A port base claimed like a lab's (for a test's own servers), released on drop.
pub struct PortClaim {
    pub base: u16,
    lock: PathBuf,
}

impl PortClaim {
    /// A base whose ports for a lab of `nodes` nodes are all free.
    pub fn new(nodes: u16) -> PortClaim {
        let (base, lock) = claim_port_base(nodes);
        PortClaim { base, lock }
    }
}

impl Drop for PortClaim {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.lock);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let out = self.ringdeck(&["lab", "down", "--purge"]);
        if !out.status.success() {
            eprintln!("lab down --purge failed in {}: {}", self.dir().display(), String::from_utf8_lossy(&out.stderr));
        }
    }
}

/// Polls `check` every 50 ms until it holds; panics naming `what` if `deadline` passes first.
pub fn wait_until(deadline: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let end = Instant::now() + deadline;
    loop {
        if check() {
            return;
        }
        if Instant::now() >= end {
            panic!("timed out after {deadline:?} waiting for: {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Processes (not zombies) whose command line mentions `dir`. Zombies are skipped because PID 1
/// in some sandboxes never reaps orphans: a zombie holds no ports, files or memory.
pub fn processes_mentioning(dir: &Path) -> Vec<(u32, String)> {
    let needle = dir.to_string_lossy().into_owned();
    let mut out = Vec::new();
    for entry in fs::read_dir("/proc").expect("read /proc").flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let stat = fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let state = stat.rfind(')').and_then(|i| stat[i + 1..].split_whitespace().next().map(str::to_string));
        if state.as_deref() == Some("Z") || state.is_none() {
            continue;
        }
        let cmd = fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(&needle) {
            out.push((pid, cmd));
        }
    }
    out
}

/// Is something accepting connections on 127.0.0.1:port?
pub fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_millis(300)).is_ok()
}

/// A plain HTTP/1.0 GET on 127.0.0.1:port with optional basic auth: (status, body, elapsed).
pub fn http_get(port: u16, path: &str, auth: Option<(&str, &str)>) -> (u16, String, Duration) {
    let started = Instant::now();
    let mut s = std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port))
        .unwrap_or_else(|e| panic!("connect to 127.0.0.1:{port}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(15))).ok();
    let mut req = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n");
    if let Some((u, p)) = auth {
        req.push_str(&format!("Authorization: Basic {}\r\n", base64(format!("{u}:{p}").as_bytes())));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("send the request");
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).expect("read the response");
    let resp = String::from_utf8_lossy(&resp).into_owned();
    let status = resp.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body, started.elapsed())
}

fn base64(data: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

// Shared by the runbook and recovery tests.

/// Runs the binary with `args --config <lab>` and `XDG_STATE_HOME=state`: (exit code, stdout+stderr).
pub fn rd(lab: &Lab, state: &Path, args: &[&str]) -> (i32, String) {
    rd_config(&lab.config_path(), state, args)
}

/// [`rd`] with another config file.
pub fn rd_config(config: &Path, state: &Path, args: &[&str]) -> (i32, String) {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_ringdeck"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env("XDG_STATE_HOME", state)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run the ringdeck binary");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

pub fn rd_ok(lab: &Lab, state: &Path, args: &[&str]) -> String {
    let (code, text) = rd(lab, state, args);
    assert_eq!(code, 0, "ringdeck {args:?} failed:\n{text}");
    text
}

/// The audit log's records of steps that ended (a step's `started` record, written before it
/// runs, is left out: see [`audit_all`]).
pub fn audit_lines(state: &Path) -> Vec<serde_json::Value> {
    audit_all(state).into_iter().filter(|r| r["phase"] != "started").collect()
}

/// Every record of the audit log, `started` ones too.
pub fn audit_all(state: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(state.join("ringdeck/audit.log")).unwrap_or_default();
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

/// `started` records with no `ended` record of the same id: steps that were interrupted.
pub fn audit_interrupted(state: &Path) -> Vec<serde_json::Value> {
    let all = audit_all(state);
    all.iter()
        .filter(|r| r["phase"] == "started" && !all.iter().any(|e| e["phase"] != "started" && e["id"] == r["id"]))
        .cloned()
        .collect()
}

pub fn healthy(lab: &Lab, k: u16) -> bool {
    let s = lab.replica_status(k);
    let g = |c: &str| s.get(c).map(String::as_str).unwrap_or("");
    g("Slave_IO_Running") == "Yes" && g("Slave_SQL_Running") == "Yes" && g("Last_SQL_Errno") == "0"
}

pub fn ring_green(lab: &Lab) {
    wait_until(Duration::from_secs(30), "every node replicating without error", || {
        (1..=lab.nodes()).all(|k| healthy(lab, k))
    });
}

/// Writes a row on `on` and waits until every node has it.
pub fn replicates(lab: &Lab, on: u16, id: u64) {
    lab.query(on, &format!("INSERT INTO app.posts (id, node, body) VALUES ({id}, 'node{on}', 'runbook lab')"));
    wait_until(Duration::from_secs(30), &format!("row {id} written on node{on} on every node"), || {
        (1..=lab.nodes()).all(|k| {
            lab.query_one(k, &format!("SELECT COUNT(*) FROM app.posts WHERE id = {id}")).as_deref() == Some("1")
        })
    });
}

// Shared by the repair and inspector tests.

/// Each node's uptime in seconds (a restart makes it go back).
pub fn uptimes(lab: &Lab) -> Vec<u64> {
    (1..=lab.nodes())
        .map(|k| {
            lab.query_one(
                k,
                "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME'",
            )
            .and_then(|v| v.parse().ok())
            .expect("uptime")
        })
        .collect()
}

/// Every node replicating with nothing left to apply.
pub fn caught_up(lab: &Lab) -> bool {
    (1..=lab.nodes()).all(|k| {
        let s = lab.replica_status(k);
        let g = |c: &str| s.get(c).map(String::as_str).unwrap_or("");
        healthy(lab, k)
            && g("Seconds_Behind_Master") == "0"
            && g("Relay_Master_Log_File") == g("Master_Log_File")
            && g("Exec_Master_Log_Pos") == g("Read_Master_Log_Pos")
    })
}

pub fn checksum(lab: &Lab, k: u16, table: &str) -> String {
    lab.query(k, &format!("CHECKSUM TABLE {table}"))[0][1].clone().unwrap_or_default()
}

/// Inserts a row on `node` every 50 ms until stopped; counts the rows and the slowest insert.
pub struct Writer {
    stop: Arc<AtomicBool>,
    rows: Arc<AtomicUsize>,
    slowest_ms: Arc<AtomicUsize>,
    handle: Option<std::thread::JoinHandle<Result<(), String>>>,
}

impl Writer {
    pub fn start(lab: &Lab, node: u16) -> Writer {
        let (stop, rows, slowest_ms) =
            (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (s, r, m) = (stop.clone(), rows.clone(), slowest_ms.clone());
        let opts = lab.client_opts(node);
        let handle = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            rt.block_on(async move {
                use mysql_async::prelude::Queryable;
                let mut conn = mysql_async::Conn::new(opts).await.map_err(|e| e.to_string())?;
                let mut i = 0;
                while !s.load(Ordering::SeqCst) {
                    i += 1;
                    let t = Instant::now();
                    let q = format!("INSERT INTO app.posts (node, body) VALUES ('node{node}', 'writer row {i}')");
                    tokio::time::timeout(Duration::from_secs(10), conn.query_drop(q))
                        .await
                        .map_err(|_| format!("insert {i} blocked for 10 s"))?
                        .map_err(|e| format!("insert {i}: {e}"))?;
                    m.fetch_max(t.elapsed().as_millis() as usize, Ordering::SeqCst);
                    r.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                let _ = conn.disconnect().await;
                Ok(())
            })
        });
        Writer { stop, rows, slowest_ms, handle: Some(handle) }
    }

    pub fn rows(&self) -> usize {
        self.rows.load(Ordering::SeqCst)
    }

    pub fn finish(mut self) -> (usize, usize) {
        self.stop.store(true, Ordering::SeqCst);
        let r = self.handle.take().expect("running").join().expect("the writer thread");
        assert!(r.is_ok(), "the writer failed: {r:?}");
        (self.rows(), self.slowest_ms.load(Ordering::SeqCst))
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The pid of node `k`'s mariadbd (from its pid file).
pub fn node_pid(lab: &Lab, k: u16) -> i32 {
    let text = fs::read_to_string(lab.dir().join(format!("node{k}/mariadbd.pid"))).expect("pid file");
    text.trim().parse().expect("pid")
}

/// A process stopped with SIGSTOP (a hung server), sent SIGCONT on drop so a failing test never
/// leaves it stopped.
pub struct Stopped(i32);

impl Stopped {
    pub fn new(pid: i32) -> Stopped {
        signal(pid, nix::sys::signal::Signal::SIGSTOP);
        Stopped(pid)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        signal(self.0, nix::sys::signal::Signal::SIGCONT);
    }
}

pub fn signal(pid: i32, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig).expect("signal");
}
