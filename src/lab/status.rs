//! `lab status`: every component with its port and up/down, and per node the replication state.
//! Also the small health probes `up` waits on (HTTP status over a plain TCP stream, HAProxy's
//! `show stat` over the admin socket).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr, eyre};

use super::spec::Spec;
use super::{apache, haproxy, mariadb, proc, sql, sshd};

/// GET `path` on 127.0.0.1:port (HTTP/1.0, optional basic auth header value); the status code.
pub fn http_status(port: u16, path: &str, timeout: Duration) -> Option<u16> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut s = TcpStream::connect_timeout(&addr, timeout).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    s.set_write_timeout(Some(timeout)).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let line = proc::first_line(&mut s);
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Sends one command to HAProxy's stats socket and returns the answer.
pub fn haproxy_command(socket: &Path, command: &str) -> Result<String> {
    let mut s = UnixStream::connect(socket).wrap_err_with(|| format!("cannot connect to {}", socket.display()))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))?;
    s.write_all(format!("{command}\n").as_bytes())?;
    let mut out = String::new();
    s.read_to_string(&mut out).wrap_err("reading the HAProxy socket answer")?;
    Ok(out)
}

/// `show stat` as (proxy, server) -> status, mapped by the CSV header.
pub fn haproxy_server_states(spec: &Spec) -> Result<Vec<(String, String, String)>> {
    let csv = haproxy_command(&spec.haproxy_socket(), "show stat")?;
    let mut lines = csv.lines();
    let header: Vec<&str> =
        lines.next().ok_or_else(|| eyre!("empty show stat"))?.trim_start_matches("# ").split(',').collect();
    let col = |n: &str| header.iter().position(|h| *h == n);
    let (px, sv, st) = (
        col("pxname").ok_or_else(|| eyre!("no pxname column"))?,
        col("svname").ok_or_else(|| eyre!("no svname column"))?,
        col("status").ok_or_else(|| eyre!("no status column"))?,
    );
    Ok(lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let get = |i: usize| f.get(i).copied().unwrap_or("").to_string();
            (get(px), get(sv), get(st))
        })
        .collect())
}

fn updown(b: bool) -> &'static str {
    if b { "up" } else { "down" }
}

/// Prints the status of the lab in `spec.dir`.
pub fn print(spec: &Spec) -> Result<()> {
    let mut lines = Vec::new();
    lines.push(format!(
        "lab in {} ({} nodes, port base {}, {})",
        spec.dir.display(),
        spec.nodes,
        spec.port_base,
        if spec.gtid { "GTID" } else { "position-based" }
    ));
    let rt = sql::runtime()?;
    for k in 1..=spec.nodes {
        let port = spec.node_port(k);
        let up = mariadb::running(spec, k).is_some() && proc::port_open(port);
        let repl = if up {
            match rt.block_on(replication_line(spec, k)) {
                Ok(l) => l,
                Err(e) => format!("replication unknown: {e:#}"),
            }
        } else {
            String::new()
        };
        lines.push(format!("{:<8} 127.0.0.1:{port:<6} {:<5} {repl}", format!("node{k}"), updown(up)));
    }
    let lb_up = haproxy::running(spec).is_some() && proc::port_open(spec.mysql_lb_port());
    let mut lb_note = format!(
        "mysql {}, http {}, stats http://127.0.0.1:{}/stats",
        spec.mysql_lb_port(),
        spec.http_port(),
        spec.stats_port()
    );
    if lb_up && let Ok(states) = haproxy_server_states(spec) {
        let servers: Vec<String> = states
            .iter()
            .filter(|(_, sv, _)| sv != "FRONTEND" && sv != "BACKEND")
            .filter(|(px, _, _)| px != "stats")
            .map(|(px, sv, st)| format!("{px}/{sv} {st}"))
            .collect();
        lb_note.push_str(&format!("; {}", servers.join(", ")));
    }
    lines.push(format!("{:<8} 127.0.0.1:{:<6} {:<5} {lb_note}", "haproxy", spec.mysql_lb_port(), updown(lb_up)));
    for k in 1..=2 {
        let port = spec.web_port(k);
        let up = apache::running(spec, k).is_some() && proc::port_open(port);
        lines.push(format!("{:<8} 127.0.0.1:{port:<6} {}", format!("web{k}"), updown(up)));
    }
    let ssh_up = sshd::running(spec).is_some() && proc::port_open(spec.ssh_port());
    lines.push(format!("{:<8} 127.0.0.1:{:<6} {}", "sshd", spec.ssh_port(), updown(ssh_up)));
    if spec.agent {
        let up = proc::port_open(spec.agent_port()) && proc::port_open(spec.agent_http_port());
        lines.push(format!(
            "{:<8} 127.0.0.1:{:<6} {:<5} HTTP 127.0.0.1:{} (/node/NAME, /health, /metrics)",
            "agent",
            spec.agent_port(),
            updown(up),
            spec.agent_http_port()
        ));
    }
    lines.push(format!("console: ringdeck --config {}", spec.config_path().display()));
    lines.push(String::new());
    // One write; a closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::stdout().write_all(lines.join("\n").as_bytes());
    Ok(())
}

async fn replication_line(spec: &Spec, k: u16) -> Result<String> {
    let mut c = sql::operator(spec, k).await?;
    let st = sql::replica_status(&mut c).await?;
    let _ = c.disconnect().await;
    let Some(st) = st else {
        return Ok("replication not configured".into());
    };
    let g = |n: &str| st.get(n).map_or("", String::as_str).to_string();
    let mut line = format!(
        "from 127.0.0.1:{} IO {} SQL {} behind {}",
        g("Master_Port"),
        g("Slave_IO_Running"),
        g("Slave_SQL_Running"),
        match g("Seconds_Behind_Master").as_str() {
            "" => "NULL".to_string(),
            s => format!("{s}s"),
        }
    );
    if g("Using_Gtid") != "No" && !g("Using_Gtid").is_empty() {
        line.push_str(&format!(" gtid_io_pos {}", g("Gtid_IO_Pos")));
    }
    let errno = g("Last_SQL_Errno");
    line.push_str(&format!(" Last_SQL_Errno {errno}"));
    if errno != "0" && !errno.is_empty() {
        line.push_str(&format!(": {}", g("Last_SQL_Error")));
    }
    let io_errno = g("Last_IO_Errno");
    if io_errno != "0" && !io_errno.is_empty() {
        line.push_str(&format!(" Last_IO_Errno {io_errno}: {}", g("Last_IO_Error")));
    }
    Ok(line)
}
