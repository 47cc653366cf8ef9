//! The two lab Apaches (web1, web2): own ServerRoot under the lab dir, event MPM with a small
//! worker capacity, mod_status with ExtendedStatus, a few static pages, and `/slow?seconds=S`
//! (a CGI through mod_cgid that validates S before sleeping).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use color_eyre::eyre::{Result, bail};

use super::proc;
use super::spec::{Spec, make_dir, write_file};

const MODULES: &str = "/usr/lib/apache2/modules";

fn conf_file(spec: &Spec, k: u16) -> PathBuf {
    spec.web_dir(k).join("conf/httpd.conf")
}
fn pid_file(spec: &Spec, k: u16) -> PathBuf {
    spec.web_dir(k).join("run/httpd.pid")
}
pub fn error_log(spec: &Spec, k: u16) -> PathBuf {
    spec.web_dir(k).join("logs/error.log")
}

/// Apache k's parent process, if running.
pub fn running(spec: &Spec, k: u16) -> Option<i32> {
    proc::pid_from_file(&pid_file(spec, k), &spec.web_dir(k))
}

fn config(spec: &Spec, k: u16) -> String {
    let w = spec.web_dir(k);
    let d = |p: &Path| p.display().to_string();
    let modules = [
        ("mpm_event_module", "mod_mpm_event.so"),
        ("authz_core_module", "mod_authz_core.so"),
        ("authz_host_module", "mod_authz_host.so"),
        ("mime_module", "mod_mime.so"),
        ("dir_module", "mod_dir.so"),
        ("alias_module", "mod_alias.so"),
        ("status_module", "mod_status.so"),
        ("cgid_module", "mod_cgid.so"),
    ]
    .iter()
    .map(|(name, file)| format!("LoadModule {name} {MODULES}/{file}\n"))
    .collect::<String>();
    let user = if proc::is_root() {
        // Apache refuses to serve as root: its children switch to www-data.
        "User www-data\nGroup www-data\n"
    } else {
        ""
    };
    format!(
        r#"# web{k} of the ringdeck lab in {dir}; written by `ringdeck lab up`.
ServerRoot "{root}"
ServerName web{k}
Listen 127.0.0.1:{port}
PidFile "{pid}"
DefaultRuntimeDir "{run}"
ScriptSock "{run}/cgisock"
{modules}{user}
StartServers 1
ServerLimit 2
ThreadsPerChild 10
MaxRequestWorkers 20
MinSpareThreads 5
MaxSpareThreads 20
ThreadLimit 10
KeepAlive On
KeepAliveTimeout 2
Timeout 30

ErrorLog "{logs}/error.log"
LogLevel warn
LogFormat "%h %l %u %t \"%r\" %>s %b %D" timed
CustomLog "{logs}/access.log" timed
TypesConfig /etc/mime.types

DocumentRoot "{docs}"
DirectoryIndex index.html
<Directory />
    Require all denied
    AllowOverride None
</Directory>
<Directory "{docs}">
    Require all granted
</Directory>
ScriptAlias /slow "{cgi}/slow"
<Directory "{cgi}">
    Require all granted
    Options +ExecCGI
</Directory>

ExtendedStatus On
<Location /server-status>
    SetHandler server-status
    Require ip 127.0.0.1
</Location>
"#,
        dir = d(&spec.dir),
        root = d(&w),
        port = spec.web_port(k),
        pid = d(&pid_file(spec, k)),
        run = d(&w.join("run")),
        logs = d(&w.join("logs")),
        docs = d(&w.join("htdocs")),
        cgi = d(&w.join("cgi-bin")),
    )
}

/// The `/slow` CGI: sleeps S seconds, S a whole number 0..=60, anything else is a 400.
/// The query string is matched by `case` patterns, never evaluated.
fn slow_cgi(k: u16) -> String {
    format!(
        r#"#!/bin/sh
# /slow?seconds=S on web{k}: answers after S seconds (0..60). Written by `ringdeck lab up`.
bad() {{
    printf 'Status: 400 Bad Request\r\nContent-Type: text/plain\r\n\r\nseconds must be a whole number from 0 to 60\n'
    exit 0
}}
case "${{QUERY_STRING:-}}" in
    "") s=1 ;;
    seconds=[0-9]) s="${{QUERY_STRING#seconds=}}" ;;
    seconds=[0-9][0-9]) s="${{QUERY_STRING#seconds=}}" ;;
    *) bad ;;
esac
[ "$s" -le 60 ] || bad
sleep "$s"
printf 'Content-Type: text/plain\r\n\r\nweb{k} slept %s second(s)\n' "$s"
"#
    )
}

/// Writes web k's tree: config, pages, CGI. Directories Apache's children read are 0755.
fn write_files(spec: &Spec, k: u16) -> Result<()> {
    let w = spec.web_dir(k);
    make_dir(&w, 0o755)?;
    for sub in ["conf", "logs", "run"] {
        make_dir(&w.join(sub), 0o755)?;
    }
    make_dir(&w.join("htdocs"), 0o755)?;
    make_dir(&w.join("cgi-bin"), 0o755)?;
    write_file(&conf_file(spec, k), &config(spec, k), 0o644)?;
    let page = |title: &str, body: &str| {
        format!(
            "<!doctype html>\n<html><head><title>{title}</title></head>\n<body><h1>{title}</h1>\n<p>{body}</p></body></html>\n"
        )
    };
    write_file(
        &w.join("htdocs/index.html"),
        &page(
            &format!("web{k}"),
            "ringdeck lab. Try <a href=\"about.html\">about</a>, <a href=\"posts.html\">posts</a> or <a href=\"/slow?seconds=2\">/slow?seconds=2</a>.",
        ),
        0o644,
    )?;
    write_file(&w.join("htdocs/about.html"), &page("about", &format!("Served by web{k} of the ringdeck lab.")), 0o644)?;
    write_file(
        &w.join("htdocs/posts.html"),
        &page("posts", "A static page standing in for an application page."),
        0o644,
    )?;
    write_file(&w.join("htdocs/health.txt"), "ok\n", 0o644)?;
    write_file(&w.join("cgi-bin/slow"), &slow_cgi(k), 0o755)
}

/// Writes and starts web k if it is not running. Returns true if it started it.
pub fn up(spec: &Spec, k: u16) -> Result<bool> {
    let apache = proc::find_binary("apache2")?;
    write_files(spec, k)?;
    if running(spec, k).is_some() {
        return Ok(false);
    }
    let _ = std::fs::remove_file(pid_file(spec, k));
    let out = Command::new(&apache)
        .arg("-f")
        .arg(conf_file(spec, k))
        .arg("-k")
        .arg("start")
        .env_remove("APACHE_CONFDIR")
        .stdin(std::process::Stdio::null())
        .output();
    let ok = out.as_ref().is_ok_and(|o| o.status.success());
    if !ok {
        let text = match &out {
            Ok(o) => format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)),
            Err(e) => e.to_string(),
        };
        bail!("web{k} (apache2) did not start: {}\n{}", text.trim(), proc::log_tail(&error_log(spec, k), 20));
    }
    Ok(true)
}

/// Stops web k: SIGTERM to the parent (it stops its children), wait until every process of
/// that server is gone, SIGKILL after a deadline.
pub fn stop(spec: &Spec, k: u16) -> Result<()> {
    let mut pids = proc::scan(&spec.web_dir(k));
    if let Some(pid) = running(spec, k) {
        pids.retain(|p| *p != pid);
        pids.insert(0, pid);
    }
    if let Some(parent) = pids.first() {
        proc::signal(*parent, nix::sys::signal::Signal::SIGTERM);
        if !proc::wait_gone(&pids, Duration::from_secs(10)) {
            proc::terminate(&pids, Duration::from_secs(1))?;
        }
    }
    Ok(())
}
