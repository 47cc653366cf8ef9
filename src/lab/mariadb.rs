//! The MariaDB ring: per-node my.cnf and `ctl` script, `mariadb-install-db`, bootstrap of users
//! and schema (with `sql_log_bin=0`, then `RESET MASTER`, so bootstrapping leaves no events in the
//! ring), replication around the circle, and the "does the ring replicate" check.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr, bail, eyre};

use super::proc::{self, Progress};
use super::spec::{Spec, make_dir, write_file};
use super::sql::{self, quote};

/// How long a node may take to start (ctl start waits this long too).
const START_TIMEOUT_SECS: u32 = 60;
/// How long a clean shutdown may take before ctl stop gives up.
const STOP_TIMEOUT_SECS: u32 = 120;

fn marker(spec: &Spec, k: u16) -> std::path::PathBuf {
    spec.node_dir(k).join("bootstrapped")
}

/// True once node k's data dir is initialised and its users and schema exist.
pub fn initialised(spec: &Spec, k: u16) -> bool {
    marker(spec, k).exists()
}

/// Node k's mariadbd, if running.
pub fn running(spec: &Spec, k: u16) -> Option<i32> {
    proc::pid_from_file(&spec.node_pid(k), &spec.node_dir(k))
}

/// The generated option file; nothing from /etc/mysql is read.
fn my_cnf(spec: &Spec, k: u16) -> String {
    let d = |p: &Path| p.display().to_string();
    let nd = spec.node_dir(k);
    let mut s = format!(
        "# node{k} of the ringdeck lab in {dir}; written by `ringdeck lab up`.\n\
         [mysqld]\n\
         datadir={data}\n\
         socket={sock}\n\
         pid-file={pid}\n\
         log-error={log}\n\
         tmpdir={tmp}\n\
         port={port}\n\
         bind-address=127.0.0.1\n\
         skip-name-resolve\n\
         server_id={k}\n\
         log_bin=binlog-n{k}\n\
         relay_log=relay-n{k}\n\
         binlog_format=ROW\n\
         log_slave_updates=ON\n\
         auto_increment_increment={n}\n\
         auto_increment_offset={k}\n\
         sync_master_info=1\n\
         sync_relay_log_info=1\n\
         max_connect_errors=1000000\n\
         max_connections=100\n\
         performance_schema=ON\n\
         innodb_buffer_pool_size=32M\n\
         innodb_log_file_size=16M\n\
         innodb_log_buffer_size=4M\n\
         innodb_flush_log_at_trx_commit=2\n\
         key_buffer_size=1M\n\
         sync_binlog=0\n\
         character-set-server=utf8mb4\n",
        dir = d(&spec.dir),
        data = d(&spec.node_data(k)),
        sock = d(&spec.node_socket(k)),
        pid = d(&spec.node_pid(k)),
        log = d(&spec.node_log(k)),
        tmp = d(&nd.join("tmp")),
        port = spec.node_port(k),
        n = spec.nodes,
    );
    if spec.gtid {
        s.push_str(&format!("gtid_domain_id={k}\n"));
    }
    if spec.tls {
        s.push_str(&format!(
            "ssl_ca={}\nssl_cert={}\nssl_key={}\nrequire_secure_transport=ON\n",
            d(&spec.tls_ca()),
            d(&spec.node_cert(k)),
            d(&spec.node_key(k))
        ));
    }
    if proc::is_root() {
        s.push_str("user=root\n");
    }
    s.push_str(&format!("[client]\nsocket={}\nport={}\n", d(&spec.node_socket(k)), spec.node_port(k)));
    s
}

/// A shell literal: single-quoted, with embedded single quotes escaped.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The per-node control script: `ctl start|stop|status`.
fn ctl_script(spec: &Spec, k: u16, mariadbd: &Path) -> String {
    let q = |p: &Path| sh_quote(&p.display().to_string());
    format!(
        r#"#!/bin/sh
# Control script for node{k} of the ringdeck lab; written by `ringdeck lab up`.
# Usage: ctl start | stop | status
set -u
NODEDIR={nodedir}
CNF={cnf}
PIDFILE={pidfile}
SOCK={sock}
ERRLOG={errlog}
MARIADBD={mariadbd}

# Is pid $1 alive (not a zombie)?
alive() {{
    [ -r "/proc/$1/stat" ] || return 1
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}}

# Sets $pid when this node's mariadbd is running.
running() {{
    pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
    case "$pid" in ''|*[!0-9]*) return 1 ;; esac
    alive "$pid" || return 1
    tr '\000' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$NODEDIR/"
}}

case "${{1:-}}" in
start)
    if running; then echo "node{k} already running (pid $pid)"; exit 0; fi
    rm -f "$SOCK" "$PIDFILE"
    if command -v setsid >/dev/null 2>&1; then
        setsid "$MARIADBD" --defaults-file="$CNF" </dev/null >>"$NODEDIR/mariadbd.out" 2>&1 &
    else
        "$MARIADBD" --defaults-file="$CNF" </dev/null >>"$NODEDIR/mariadbd.out" 2>&1 &
    fi
    child=$!
    i=0
    while [ "$i" -lt {start_ticks} ]; do
        if [ -S "$SOCK" ] && running; then echo "node{k} started (pid $pid)"; exit 0; fi
        if ! alive "$child"; then
            echo "node{k}: mariadbd exited during startup; see $ERRLOG" >&2
            tail -n 20 "$ERRLOG" >&2 2>/dev/null
            exit 1
        fi
        sleep 0.1
        i=$((i + 1))
    done
    echo "node{k}: not ready within {start}s; see $ERRLOG" >&2
    exit 1
    ;;
stop)
    if ! running; then echo "node{k} not running"; exit 0; fi
    kill -TERM "$pid"
    i=0
    while [ "$i" -lt {stop_ticks} ]; do
        if ! alive "$pid"; then echo "node{k} stopped"; exit 0; fi
        sleep 0.1
        i=$((i + 1))
    done
    echo "node{k}: pid $pid still running after {stop}s; see $ERRLOG" >&2
    exit 1
    ;;
status)
    if running; then echo "node{k} running (pid $pid)"; exit 0; fi
    echo "node{k} stopped"
    exit 3
    ;;
*)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
"#,
        nodedir = q(&spec.node_dir(k)),
        cnf = q(&spec.node_cnf(k)),
        pidfile = q(&spec.node_pid(k)),
        sock = q(&spec.node_socket(k)),
        errlog = q(&spec.node_log(k)),
        mariadbd = q(mariadbd),
        start_ticks = START_TIMEOUT_SECS * 10,
        start = START_TIMEOUT_SECS,
        stop_ticks = STOP_TIMEOUT_SECS * 10,
        stop = STOP_TIMEOUT_SECS,
    )
}

/// Writes node k's directories, my.cnf and ctl script (every `up`: they hold no state).
pub fn write_files(spec: &Spec, k: u16, mariadbd: &Path) -> Result<()> {
    let nd = spec.node_dir(k);
    make_dir(&nd, 0o700)?;
    make_dir(&nd.join("tmp"), 0o700)?;
    write_file(&spec.node_cnf(k), &my_cnf(spec, k), 0o600)?;
    write_file(&spec.node_ctl(k), &ctl_script(spec, k, mariadbd), 0o700)
}

/// Runs `mariadb-install-db` for node k (a half-initialised data dir is wiped first).
pub fn install(spec: &Spec, k: u16, install_db: &Path) -> Result<()> {
    let data = spec.node_data(k);
    if data.exists() {
        fs::remove_dir_all(&data).wrap_err_with(|| format!("cannot remove half-initialised {}", data.display()))?;
    }
    make_dir(&data, 0o700)?;
    let log = spec.node_dir(k).join("install-db.log");
    let out = Command::new(install_db)
        .arg(format!("--defaults-file={}", spec.node_cnf(k).display()))
        .arg("--auth-root-authentication-method=normal")
        .arg("--skip-test-db")
        // No host name lookup: a fresh machine may resolve neither its own name nor localhost
        // (no /etc/hosts entry); install-db then stops unless forced. --force only skips that check.
        .arg("--skip-name-resolve")
        .arg("--force")
        .stdin(std::process::Stdio::null())
        .output()
        .wrap_err("cannot run mariadb-install-db")?;
    let mut text = out.stdout.clone();
    text.extend_from_slice(&out.stderr);
    fs::write(&log, &text).wrap_err_with(|| format!("cannot write {}", log.display()))?;
    if !out.status.success() {
        bail!(
            "mariadb-install-db for node{k} failed ({})\n{}\n{}",
            out.status,
            proc::log_tail(&log, 20),
            proc::log_tail(&spec.node_log(k), 20)
        );
    }
    Ok(())
}

/// Starts node k with its ctl script (which waits for the socket).
pub fn start(spec: &Spec, k: u16) -> Result<()> {
    let out = Command::new("/bin/sh")
        .arg(spec.node_ctl(k))
        .arg("start")
        .stdin(std::process::Stdio::null())
        .output()
        .wrap_err("cannot run the node's ctl script")?;
    if !out.status.success() {
        bail!(
            "node{k} did not start: {}\n{}",
            String::from_utf8_lossy(&out.stderr).trim(),
            proc::log_tail(&spec.node_log(k), 20)
        );
    }
    Ok(())
}

/// Creates users, the `app` schema and sets the root password, all unlogged, then clears the
/// binlog. Runs once per node (a marker file records it).
pub async fn bootstrap(spec: &Spec, k: u16) -> Result<()> {
    let sock = spec.node_socket(k);
    let root_pw = spec.root_password.expose();
    let mut conn = match sql::connect_socket(&sock, "root", None).await {
        Ok(c) => c,
        // An earlier bootstrap may have set the password before failing.
        Err(_) => sql::connect_socket(&sock, "root", Some(root_pw))
            .await
            .wrap_err_with(|| format!("node{k}: cannot log in as root"))?,
    };
    sql::exec(&mut conn, "SET sql_log_bin=0").await?;
    // Only root@localhost stays (over the socket, with a password): install-db also creates
    // password-less root@127.0.0.1, root@::1 and root@<hostname>, and skip-name-resolve makes
    // the hostname one unalterable with ALTER/DROP USER, so their rows are deleted directly.
    for stmt in [
        "DELETE FROM mysql.global_priv WHERE (User = 'root' AND Host <> 'localhost') OR User = ''",
        "DELETE FROM mysql.proxies_priv WHERE Host <> 'localhost'",
        "FLUSH PRIVILEGES",
    ] {
        sql::exec(&mut conn, stmt).await.wrap_err_with(|| format!("node{k}: bootstrap"))?;
    }
    sql::exec(&mut conn, &format!("ALTER USER 'root'@'localhost' IDENTIFIED BY {}", quote(root_pw)))
        .await
        .wrap_err_with(|| format!("node{k}: setting the root password"))?;
    let repl = quote(spec.repl_password.expose());
    let op = quote(spec.operator_password.expose());
    let stmts = [
        format!("CREATE OR REPLACE USER 'repl'@'127.0.0.1' IDENTIFIED BY {repl}"),
        "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'repl'@'127.0.0.1'".to_string(),
        format!("CREATE OR REPLACE USER 'ringdeck'@'127.0.0.1' IDENTIFIED BY {op}"),
        "GRANT ALL PRIVILEGES ON *.* TO 'ringdeck'@'127.0.0.1' WITH GRANT OPTION".to_string(),
        format!("CREATE OR REPLACE USER 'ringdeck'@'localhost' IDENTIFIED BY {op}"),
        "GRANT ALL PRIVILEGES ON *.* TO 'ringdeck'@'localhost' WITH GRANT OPTION".to_string(),
        // HAProxy's mysql-check logs in without a password and quits; it may do nothing else.
        "CREATE OR REPLACE USER 'haproxy_check'@'127.0.0.1'".to_string(),
        "CREATE DATABASE IF NOT EXISTS app".to_string(),
        "CREATE TABLE IF NOT EXISTS app.posts (\
            id INT AUTO_INCREMENT PRIMARY KEY, \
            node VARCHAR(16), \
            body VARCHAR(255), \
            created TIMESTAMP DEFAULT CURRENT_TIMESTAMP)"
            .to_string(),
        "FLUSH PRIVILEGES".to_string(),
        "RESET MASTER".to_string(),
        "SET GLOBAL gtid_slave_pos=''".to_string(),
    ];
    for s in &stmts {
        sql::exec(&mut conn, s).await.wrap_err_with(|| format!("node{k}: bootstrap"))?;
    }
    let _ = conn.disconnect().await;
    fs::write(marker(spec, k), "users and schema created\n").wrap_err("cannot write the bootstrap marker")?;
    Ok(())
}

/// Points every node at its upstream and starts replication (first `up` only).
pub async fn configure_ring(spec: &Spec) -> Result<()> {
    // Read every upstream's coordinates first, while the ring is quiet.
    let mut coords = HashMap::new();
    for k in 1..=spec.nodes {
        let mut c = sql::operator(spec, k).await?;
        let st = sql::rows(&mut c, "SHOW MASTER STATUS").await?;
        let row = st.first().ok_or_else(|| eyre!("node{k}: SHOW MASTER STATUS is empty (binlog off?)"))?;
        let file = row.get("File").cloned().flatten().unwrap_or_default();
        let pos = row.get("Position").cloned().flatten().unwrap_or_default();
        coords.insert(k, (file, pos));
        let _ = c.disconnect().await;
    }
    for k in 1..=spec.nodes {
        let up = spec.upstream(k);
        let mut c = sql::operator(spec, k).await?;
        let _ = sql::exec(&mut c, "STOP SLAVE").await;
        let position = if spec.gtid {
            sql::exec(&mut c, "SET GLOBAL gtid_slave_pos=''").await?;
            "MASTER_USE_GTID=slave_pos".to_string()
        } else {
            let (file, pos) = &coords[&up];
            let pos: u64 = pos.parse().wrap_err_with(|| format!("node{up}: odd binlog position {pos:?}"))?;
            format!("MASTER_USE_GTID=no, MASTER_LOG_FILE={}, MASTER_LOG_POS={pos}", quote(file))
        };
        let ssl = if spec.tls {
            format!(
                ", MASTER_SSL=1, MASTER_SSL_CA={}, MASTER_SSL_VERIFY_SERVER_CERT=1",
                quote(&spec.tls_ca().display().to_string())
            )
        } else {
            String::new()
        };
        sql::exec(
            &mut c,
            &format!(
                "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, \
                 MASTER_CONNECT_RETRY=1, {position}, MASTER_USER='repl', MASTER_PASSWORD={}{ssl}",
                spec.node_port(up),
                quote(spec.repl_password.expose())
            ),
        )
        .await
        .wrap_err_with(|| format!("node{k}: CHANGE MASTER TO"))?;
        sql::exec(&mut c, "START SLAVE").await.wrap_err_with(|| format!("node{k}: START SLAVE"))?;
        let _ = c.disconnect().await;
    }
    Ok(())
}

/// Waits until every node's IO and SQL threads run.
pub async fn wait_replicating(spec: &Spec, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut problems = Vec::new();
        for k in 1..=spec.nodes {
            match node_replication(spec, k).await {
                Ok(Some(st)) => {
                    let io = st.get("Slave_IO_Running").map_or("", String::as_str);
                    let sqlr = st.get("Slave_SQL_Running").map_or("", String::as_str);
                    if io != "Yes" || sqlr != "Yes" {
                        problems.push(format!(
                            "node{k}: IO {io}, SQL {sqlr} {} {}",
                            st.get("Last_IO_Error").map_or("", String::as_str),
                            st.get("Last_SQL_Error").map_or("", String::as_str)
                        ));
                    }
                }
                Ok(None) => problems.push(format!("node{k}: no replication configured")),
                Err(e) => problems.push(format!("node{k}: {e}")),
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("replication did not start within {}s:\n{}", timeout.as_secs(), problems.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn node_replication(spec: &Spec, k: u16) -> Result<Option<HashMap<String, String>>> {
    let mut c = sql::operator(spec, k).await?;
    let st = sql::replica_status(&mut c).await;
    let _ = c.disconnect().await;
    st
}

/// Writes `per_node` rows on every node and waits until every node has all of them.
pub async fn write_and_converge(spec: &Spec, per_node: usize, body: &str, timeout: Duration) -> Result<()> {
    let mut ids = Vec::new();
    for k in 1..=spec.nodes {
        let mut c = sql::operator(spec, k).await?;
        for j in 1..=per_node {
            sql::exec(
                &mut c,
                &format!(
                    "INSERT INTO app.posts (node, body) VALUES ('node{k}', {})",
                    quote(&format!("{body} #{j} from node{k}"))
                ),
            )
            .await
            .wrap_err_with(|| format!("node{k}: insert"))?;
            ids.push(c.last_insert_id().unwrap_or(0));
        }
        let _ = c.disconnect().await;
    }
    let list = ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
    let want = ids.len().to_string();
    let deadline = Instant::now() + timeout;
    loop {
        let mut missing = Vec::new();
        for k in 1..=spec.nodes {
            let got = async {
                let mut c = sql::operator(spec, k).await?;
                let n = sql::scalar(&mut c, &format!("SELECT COUNT(*) FROM app.posts WHERE id IN ({list})")).await?;
                let _ = c.disconnect().await;
                Ok::<_, color_eyre::Report>(n.unwrap_or_default())
            }
            .await
            .unwrap_or_else(|e| format!("error: {e}"));
            if got != want {
                missing.push(format!("node{k} has {got} of {want}"));
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "rows written on every node did not reach every node within {}s: {}",
                timeout.as_secs(),
                missing.join(", ")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Brings the ring up: files, install (parallel), start (parallel), bootstrap, replication.
/// Returns true if anything had to be done.
pub fn up(spec: &mut Spec, rt: &tokio::runtime::Runtime) -> Result<bool> {
    let mariadbd = proc::find_binary("mariadbd")?;
    let install_db = proc::find_binary("mariadb-install-db")?;
    for k in 1..=spec.nodes {
        write_files(spec, k, &mariadbd)?;
    }
    let to_install: Vec<u16> = (1..=spec.nodes).filter(|k| !initialised(spec, *k)).collect();
    if spec.ring_configured && !to_install.is_empty() {
        bail!(
            "node{} of {} is not initialised (no bootstrapped marker) but the ring was already connected; re-initialising one node of a running ring is not supported: run `ringdeck lab down --purge` and `ringdeck lab up`",
            to_install[0],
            spec.dir.display()
        );
    }
    // A node whose bootstrap failed half-way may still run: stop it before its data is wiped.
    for k in &to_install {
        if let Some(pid) = running(spec, *k) {
            proc::terminate(&[pid], Duration::from_secs(60))?;
        }
    }
    let to_start: Vec<u16> = (1..=spec.nodes).filter(|k| running(spec, *k).is_none()).collect();
    if to_start.is_empty() && to_install.is_empty() {
        return Ok(false);
    }
    if !to_install.is_empty() {
        let names = to_install.iter().map(|k| format!("node{k}")).collect::<Vec<_>>().join(", ");
        let p = Progress::begin(&format!("initialising {names}"));
        let r = std::thread::scope(|s| {
            let handles: Vec<_> = to_install
                .iter()
                .map(|k| {
                    let spec = &*spec;
                    let install_db = &install_db;
                    s.spawn(move || install(spec, *k, install_db))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(eyre!("install thread panicked"))))
                .collect::<Result<Vec<()>>>()
        });
        p.finish(r)?;
    }
    let names = to_start.iter().map(|k| format!("node{k}")).collect::<Vec<_>>().join(", ");
    let p = Progress::begin(&format!("starting {names}"));
    let r = std::thread::scope(|s| {
        let handles: Vec<_> = to_start
            .iter()
            .map(|k| {
                let spec = &*spec;
                s.spawn(move || start(spec, *k))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(eyre!("start thread panicked"))))
            .collect::<Result<Vec<()>>>()
    });
    p.finish(r)?;
    for k in to_install {
        let p = Progress::begin(&format!("bootstrapping node{k} (users, app schema)"));
        p.finish(rt.block_on(bootstrap(spec, k)))?;
    }
    if !spec.ring_configured {
        let p = Progress::begin(&format!(
            "connecting the ring ({})",
            if spec.gtid { "GTID, MASTER_USE_GTID=slave_pos" } else { "binlog positions" }
        ));
        p.finish(rt.block_on(configure_ring(spec)))?;
        spec.ring_configured = true;
        spec.save()?;
    }
    Ok(true)
}

/// Nodes whose SQL thread stopped on an error (a break the operator made or has to fix).
async fn sql_errors(spec: &Spec) -> Vec<String> {
    let mut out = Vec::new();
    for k in 1..=spec.nodes {
        if let Ok(Some(st)) = node_replication(spec, k).await {
            let errno = st.get("Last_SQL_Errno").map_or("0", String::as_str);
            if st.get("Slave_SQL_Running").map(String::as_str) == Some("No") && errno != "0" {
                out.push(format!(
                    "node{k}: SQL thread stopped with error {errno}: {}",
                    st.get("Last_SQL_Error").map_or("", String::as_str)
                ));
            }
        }
    }
    out
}

/// Waits for replication threads and for rows written on every node to reach every node.
/// A ring with a node stopped on an SQL error is left as it is, with a warning.
pub fn check_ring(spec: &Spec, rt: &tokio::runtime::Runtime, first: bool) -> Result<()> {
    let broken = rt.block_on(sql_errors(spec));
    if !broken.is_empty() {
        eprintln!(
            "warning: the ring is broken, so lab up does not wait for it to replicate:\n  {}",
            broken.join("\n  ")
        );
        return Ok(());
    }
    let p = Progress::begin("waiting for replication threads");
    p.finish(rt.block_on(wait_replicating(spec, Duration::from_secs(60))))?;
    let (rows, body) = if first { (3, "hello") } else { (1, "ring check by lab up") };
    let p = Progress::begin(&format!("writing {rows} row(s) on every node and waiting for them everywhere"));
    p.finish(rt.block_on(write_and_converge(spec, rows, body, Duration::from_secs(60))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(sh_quote("/tmp/a'b"), r#"'/tmp/a'\''b'"#);
    }

    #[test]
    fn cnf_has_ring_settings() {
        let spec = Spec::new("/tmp/lab".into(), 3, 13300, true).unwrap();
        let c = my_cnf(&spec, 2);
        for line in [
            "server_id=2",
            "auto_increment_increment=3",
            "auto_increment_offset=2",
            "port=13302",
            "relay_log=relay-n2",
            "gtid_domain_id=2",
            "log_slave_updates=ON",
        ] {
            assert!(c.contains(line), "{line} missing in\n{c}");
        }
    }
}
