//! HAProxy in front of the lab: MySQL TCP on B (`balance first`, node1 then backups), HTTP on
//! B+80 over the two Apaches (backend `web`), the stats page on B+90 with basic auth, an
//! admin-level stats socket inside the lab dir, and a second one at level user (to rehearse what
//! an action gets from a socket without admin level).

use std::process::Command;

use color_eyre::eyre::{Result, bail};

use super::proc;
use super::spec::{Spec, make_dir, write_file};

fn pid_file(spec: &Spec) -> std::path::PathBuf {
    spec.haproxy_dir().join("haproxy.pid")
}
fn cfg_file(spec: &Spec) -> std::path::PathBuf {
    spec.haproxy_dir().join("haproxy.cfg")
}
pub fn log_file(spec: &Spec) -> std::path::PathBuf {
    spec.haproxy_dir().join("haproxy.log")
}

/// The running HAProxy, if any.
pub fn running(spec: &Spec) -> Option<i32> {
    proc::pid_from_file(&pid_file(spec), &spec.dir)
}

fn config(spec: &Spec) -> String {
    let mut mysql_servers = String::new();
    for k in 1..=spec.nodes {
        // With the agent, weight 100 lets a lag cut the weight in proportion (HAProxy takes the
        // agent's percentage of the configured weight: of 1, anything under 100% is 0).
        let agent = if spec.agent {
            format!(" weight 100 agent-check agent-port {} agent-inter 1s agent-send \"node{k}\\n\"", spec.agent_port())
        } else {
            String::new()
        };
        mysql_servers.push_str(&format!(
            "    server node{k} 127.0.0.1:{} check inter 1s fall 2 rise 1{}{agent}\n",
            spec.node_port(k),
            if k == 1 { "" } else { " backup" }
        ));
    }
    // With the agent, also the HTTP-check way of asking it (what clustercheck users wire), on a
    // backend of its own that takes no traffic: `show stat` shows what that check would do.
    let httpchk = if spec.agent {
        let mut s = format!(
            "\nbackend mysql_httpchk\n\
             \x20   mode tcp\n\
             \x20   balance first\n\
             \x20   option httpchk\n\
             \x20   http-check send meth GET uri-lf /node/%[srv_name] ver HTTP/1.1 hdr Host ringdeck-agent\n\
             \x20   http-check expect status 200\n\
             \x20   default-server check addr 127.0.0.1 port {} inter 1s fall 1 rise 1\n",
            spec.agent_http_port()
        );
        for k in 1..=spec.nodes {
            s.push_str(&format!("    server node{k} 127.0.0.1:{}\n", spec.node_port(k)));
        }
        s
    } else {
        String::new()
    };
    // A TLS lab's nodes refuse logins without TLS (require_secure_transport), which HAProxy's
    // check does not speak: there it reads the server's greeting only.
    let check_user = if spec.tls { "" } else { " user haproxy_check post-41" };
    format!(
        "# HAProxy of the ringdeck lab in {dir}; written by `ringdeck lab up`.\n\
         global\n\
         \x20   pidfile {pid}\n\
         \x20   stats socket {sock} mode 600 level admin\n\
         \x20   stats socket {user_sock} mode 600 level user\n\
         \x20   maxconn 500\n\
         \n\
         defaults\n\
         \x20   timeout connect 2s\n\
         \x20   timeout client 60s\n\
         \x20   timeout server 60s\n\
         \x20   timeout check 2s\n\
         \n\
         listen mysql\n\
         \x20   bind 127.0.0.1:{lb}\n\
         \x20   mode tcp\n\
         \x20   balance first\n\
         \x20   option mysql-check{check_user}\n\
         {mysql_servers}\
         {httpchk}\
         \n\
         frontend http\n\
         \x20   bind 127.0.0.1:{http}\n\
         \x20   mode http\n\
         \x20   default_backend web\n\
         \n\
         backend web\n\
         \x20   mode http\n\
         \x20   balance roundrobin\n\
         \x20   option httpchk GET /index.html\n\
         \x20   retries 2\n\
         \x20   option redispatch 1\n\
         \x20   server web1 127.0.0.1:{w1} check inter 1s fall 2 rise 1\n\
         \x20   server web2 127.0.0.1:{w2} check inter 1s fall 2 rise 1\n\
         \n\
         listen stats\n\
         \x20   bind 127.0.0.1:{stats}\n\
         \x20   mode http\n\
         \x20   stats enable\n\
         \x20   stats uri /stats\n\
         \x20   stats refresh 5s\n\
         \x20   stats auth admin:{pw}\n",
        dir = spec.dir.display(),
        pid = pid_file(spec).display(),
        sock = spec.haproxy_socket().display(),
        user_sock = spec.haproxy_user_socket().display(),
        lb = spec.mysql_lb_port(),
        http = spec.http_port(),
        w1 = spec.web_port(1),
        w2 = spec.web_port(2),
        stats = spec.stats_port(),
        pw = spec.stats_password.expose(),
    )
}

/// Writes the config and starts HAProxy if it is not running. Returns true if it started it.
pub fn up(spec: &Spec) -> Result<bool> {
    let haproxy = proc::find_binary("haproxy")?;
    make_dir(&spec.haproxy_dir(), 0o700)?;
    // The file holds the stats password.
    write_file(&cfg_file(spec), &config(spec), 0o600)?;
    if running(spec).is_some() {
        return Ok(false);
    }
    let cfg = cfg_file(spec);
    proc::run(Command::new(&haproxy).arg("-c").arg("-q").arg("-f").arg(&cfg), "haproxy -c (config check)")?;
    let _ = std::fs::remove_file(spec.haproxy_socket());
    let _ = std::fs::remove_file(spec.haproxy_user_socket());
    let log = log_file(spec);
    // -D: haproxy daemonizes itself; the foreground process exits once it has.
    let out = Command::new(&haproxy).arg("-D").arg("-f").arg(&cfg).stdin(std::process::Stdio::null()).output();
    let text = match &out {
        Ok(o) => format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)),
        Err(e) => e.to_string(),
    };
    let _ = std::fs::write(&log, &text);
    if !out.as_ref().is_ok_and(|o| o.status.success()) {
        bail!("haproxy did not start\n{}", proc::log_tail(&log, 20));
    }
    Ok(true)
}

/// Stops HAProxy (SIGTERM, then SIGKILL after a deadline).
pub fn stop(spec: &Spec) -> Result<()> {
    if let Some(pid) = running(spec) {
        proc::terminate(&[pid], std::time::Duration::from_secs(10))?;
    }
    Ok(())
}
