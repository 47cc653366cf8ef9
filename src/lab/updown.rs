//! `lab up` and `lab down`: bring every component up (only the ones that are down), wait for
//! health, write the console config; stop everything the lab started and leave nothing behind.

use std::path::Path;
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr, bail, eyre};

use super::proc::{self, Progress};
use super::spec::{DEFAULT_NODES, DEFAULT_PORT_BASE, Spec, make_dir};
use super::status::{haproxy_server_states, http_status};
use super::{UpArgs, agent, apache, configfile, haproxy, mariadb, sql, sshd};

/// Every binary the lab runs, checked before anything starts.
const BINARIES: [&str; 5] = ["mariadbd", "mariadb-install-db", "haproxy", "apache2", "sshd"];

/// True if every component of the lab is running.
fn all_running(spec: &Spec) -> bool {
    spec.ring_configured
        && (1..=spec.nodes).all(|k| mariadb::initialised(spec, k) && mariadb::running(spec, k).is_some())
        && haproxy::running(spec).is_some()
        && (1..=2).all(|k| apache::running(spec, k).is_some())
        && sshd::running(spec).is_some()
        && (!spec.agent || agent::running(spec).is_some())
}

/// Apache's children switch to www-data when we are root: they must be able to reach D.
fn check_traversable(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for anc in dir.ancestors().skip(1) {
        if let Ok(m) = std::fs::metadata(anc)
            && m.permissions().mode() & 0o001 == 0
        {
            bail!(
                "{} is not searchable by other users (mode {:o}), so Apache's www-data children cannot read the lab's pages; pick another --dir (e.g. under /tmp)",
                anc.display(),
                m.permissions().mode() & 0o777
            );
        }
    }
    Ok(())
}

/// Checks that none of the lab's ports is taken by someone else.
fn check_ports_free(spec: &Spec) -> Result<()> {
    let busy: Vec<String> =
        spec.all_ports().into_iter().filter(|p| proc::port_open(*p)).map(|p| p.to_string()).collect();
    if !busy.is_empty() {
        bail!("ports {} on 127.0.0.1 are already in use by something else; pick another --port-base", busy.join(", "));
    }
    Ok(())
}

pub fn up(args: &UpArgs) -> Result<()> {
    let dir = super::spec::resolve_dir(args.dir.dir.as_deref())?;
    let existing = Spec::load(&dir)?;
    let mut spec = match existing {
        Some(mut s) => {
            let differs = args.nodes.is_some_and(|n| n != s.nodes)
                || args.port_base.is_some_and(|b| b != s.port_base)
                || (args.gtid && !s.gtid)
                || (args.tls && !s.tls);
            if differs {
                bail!(
                    "the lab in {} was created with {} nodes at port base {} ({}); run `ringdeck lab down --purge --dir {}` before changing that",
                    dir.display(),
                    s.nodes,
                    s.port_base,
                    if s.gtid { "GTID" } else { "position-based" },
                    dir.display()
                );
            }
            if args.agent && !s.agent {
                // HAProxy is started again with the agent-check lines.
                s.agent = true;
                haproxy::stop(&s)?;
            }
            s
        }
        None => Spec::new(
            dir.clone(),
            args.nodes.unwrap_or(DEFAULT_NODES),
            args.port_base.unwrap_or(DEFAULT_PORT_BASE),
            args.gtid,
        )
        .map(|mut s| {
            s.tls = args.tls;
            s.agent = args.agent;
            s
        })?,
    };
    spec.validate()?;
    if all_running(&spec) {
        eprintln!(
            "the lab in {} is already running ({} nodes, port base {}); nothing to do",
            dir.display(),
            spec.nodes,
            spec.port_base
        );
        println!("ringdeck --config {}", spec.config_path().display());
        return Ok(());
    }
    for b in BINARIES.iter().chain(&["ssh-keygen"]) {
        proc::find_binary(b)?;
    }
    let fresh = !spec.ring_configured;
    if fresh && proc::scan(&dir).is_empty() {
        check_ports_free(&spec)?;
    }
    // 0711: Apache's www-data children must be able to pass through (secrets stay 0600).
    make_dir(&dir, 0o711)?;
    if proc::is_root() {
        check_traversable(&dir)?;
    }
    spec.save()?;
    eprintln!(
        "lab in {} ({} nodes, port base {}, {})",
        dir.display(),
        spec.nodes,
        spec.port_base,
        match (spec.gtid, spec.tls) {
            (true, true) => "GTID, TLS",
            (true, false) => "GTID",
            (false, true) => "position-based, TLS",
            (false, false) => "position-based",
        }
    );
    if spec.tls {
        let p = Progress::begin("making the lab's CA and node certificates");
        super::tls::ensure(&spec)?;
        p.ok();
    }
    let rt = sql::runtime()?;
    let hint = format!(
        "lab up failed; `ringdeck lab status --dir {0}` shows what runs, `ringdeck lab down --dir {0}` stops it",
        dir.display()
    );
    let db_changed = mariadb::up(&mut spec, &rt).wrap_err_with(|| hint.clone())?;
    for k in 1..=2 {
        let p = Progress::begin(&format!("starting web{k} on 127.0.0.1:{}", spec.web_port(k)));
        match apache::up(&spec, k).wrap_err_with(|| hint.clone())? {
            true => p.ok(),
            false => p.done("already running"),
        }
    }
    let p = Progress::begin(&format!(
        "starting haproxy on 127.0.0.1:{}/{}/{}",
        spec.mysql_lb_port(),
        spec.http_port(),
        spec.stats_port()
    ));
    match haproxy::up(&spec).wrap_err_with(|| hint.clone())? {
        true => p.ok(),
        false => p.done("already running"),
    }
    let p = Progress::begin(&format!("starting sshd on 127.0.0.1:{}", spec.ssh_port()));
    match sshd::up(&spec).wrap_err_with(|| hint.clone())? {
        true => p.ok(),
        false => p.done("already running"),
    }
    wait_healthy(&spec).wrap_err_with(|| hint.clone())?;
    if db_changed {
        mariadb::check_ring(&spec, &rt, fresh).wrap_err_with(|| hint.clone())?;
    }
    configfile::write(&spec)?;
    if spec.agent {
        let p = Progress::begin(&format!(
            "starting ringdeck agent on 127.0.0.1:{}/{}",
            spec.agent_port(),
            spec.agent_http_port()
        ));
        match agent::up(&spec).wrap_err_with(|| hint.clone())? {
            true => p.ok(),
            false => p.done("already running"),
        }
    }
    eprintln!("lab is up; open the console with:");
    println!("ringdeck --config {}", spec.config_path().display());
    Ok(())
}

/// Waits until every port answers, HAProxy sees its servers up and serves through both paths.
fn wait_healthy(spec: &Spec) -> Result<()> {
    let p = Progress::begin("waiting for every server to answer");
    let timeout = Duration::from_secs(30);
    let ports = spec.all_ports();
    if !proc::wait_for(timeout, || ports.iter().all(|p| proc::port_open(*p))) {
        p.failed();
        let closed: Vec<String> = ports.iter().filter(|p| !proc::port_open(**p)).map(|p| p.to_string()).collect();
        bail!(
            "ports {} did not open within 30s\n{}\n{}\n{}",
            closed.join(", "),
            proc::log_tail(&haproxy::log_file(spec), 10),
            proc::log_tail(&apache::error_log(spec, 1), 10),
            proc::log_tail(&sshd::log_file(spec), 10)
        );
    }
    for k in 1..=2 {
        let port = spec.web_port(k);
        if !proc::wait_for(timeout, || http_status(port, "/index.html", Duration::from_secs(2)) == Some(200)) {
            p.failed();
            bail!(
                "web{k} does not answer GET /index.html with 200\n{}",
                proc::log_tail(&apache::error_log(spec, k), 20)
            );
        }
    }
    let mut last = String::new();
    let lb_ok = proc::wait_for(timeout, || match haproxy_server_states(spec) {
        Ok(states) => {
            let up = |px: &str, sv: &str| states.iter().any(|(p, s, st)| p == px && s == sv && st == "UP");
            last = format!("{states:?}");
            // Exactly "UP": "UP 1/2" means the first check has not passed yet.
            up("web", "web1") && up("web", "web2") && up("mysql", "node1")
        }
        Err(e) => {
            last = format!("{e:#}");
            false
        }
    });
    if !lb_ok {
        p.failed();
        bail!(
            "HAProxy does not see node1, web1 and web2 up within 30s: {last}\n{}",
            proc::log_tail(&haproxy::log_file(spec), 20)
        );
    }
    if http_status(spec.http_port(), "/", Duration::from_secs(3)) != Some(200) {
        p.failed();
        bail!("GET / through HAProxy on {} is not 200", spec.http_port());
    }
    p.ok();
    Ok(())
}

/// Stops everything started for the lab in `dir`; `purge` also removes the directory.
pub fn down(dir: &Path, purge: bool) -> Result<()> {
    let spec = Spec::load(dir)?;
    if let Some(spec) = &spec {
        let p = Progress::begin("stopping web1, web2, haproxy, sshd");
        let r = (|| {
            agent::stop(spec)?;
            apache::stop(spec, 1)?;
            apache::stop(spec, 2)?;
            haproxy::stop(spec)?;
            if let Some(pid) = sshd::running(spec) {
                proc::terminate(&[pid], Duration::from_secs(10))?;
            }
            Ok(())
        })();
        p.finish(r)?;
        let pids: Vec<i32> = (1..=spec.nodes).filter_map(|k| mariadb::running(spec, k)).collect();
        if !pids.is_empty() {
            let p = Progress::begin(&format!("shutting down {} MariaDB node(s) cleanly", pids.len()));
            let killed = proc::terminate(&pids, Duration::from_secs(120));
            match killed {
                Ok(k) if k.is_empty() => p.ok(),
                Ok(k) => p.done(&format!("needed SIGKILL for pids {k:?}")),
                Err(e) => {
                    p.failed();
                    return Err(e);
                }
            }
        }
    }
    // Whatever else carries the lab dir in its command line, and its descendants.
    let rest = proc::scan(dir);
    if !rest.is_empty() {
        let p = Progress::begin(&format!("stopping {} leftover process(es)", rest.len()));
        p.finish(proc::terminate(&rest, Duration::from_secs(30)))?;
    }
    let left = proc::scan(dir);
    if !left.is_empty() {
        return Err(eyre!("processes {left:?} of the lab are still running"));
    }
    if let Some(spec) = &spec {
        let ports = spec.all_ports();
        if !proc::wait_for(Duration::from_secs(10), || ports.iter().all(|p| !proc::port_open(*p))) {
            eprintln!("warning: some lab ports still accept connections");
        }
    }
    if purge {
        // Only a directory that holds a lab state file is removed: --dir may be mistyped.
        if spec.is_some() {
            std::fs::remove_dir_all(dir).wrap_err_with(|| format!("cannot remove {}", dir.display()))?;
            eprintln!("lab in {} stopped and removed", dir.display());
        } else {
            eprintln!("no lab.state in {}: nothing removed", dir.display());
        }
    } else {
        eprintln!(
            "lab in {} stopped (data kept; `lab up` starts it again, `lab down --purge` removes it)",
            dir.display()
        );
    }
    Ok(())
}
