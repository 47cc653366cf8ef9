//! `lab up --agent`: `ringdeck agent` beside the lab's HAProxy, on B+77 (agent-check) and B+78
//! (HTTP), its output in `D/agent/agent.log`; the lab's MySQL servers carry `agent-check` lines
//! that ask it (see `lab::haproxy`). `lab down` stops it with the rest.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr, bail};

use super::proc;
use super::spec::{Spec, make_dir};

fn dir(spec: &Spec) -> PathBuf {
    spec.dir.join("agent")
}
fn pid_file(spec: &Spec) -> PathBuf {
    dir(spec).join("agent.pid")
}
pub fn log_file(spec: &Spec) -> PathBuf {
    dir(spec).join("agent.log")
}

/// The running agent, if any.
pub fn running(spec: &Spec) -> Option<i32> {
    proc::pid_from_file(&pid_file(spec), &spec.dir)
}

/// Starts the agent on the lab's console config unless it runs; waits for its `/health`.
/// Returns true if it started it.
pub fn up(spec: &Spec) -> Result<bool> {
    if running(spec).is_some() {
        return Ok(false);
    }
    make_dir(&dir(spec), 0o700)?;
    let exe = std::env::current_exe().wrap_err("cannot find ringdeck's own binary")?;
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log_file(spec))?;
    let child = Command::new(exe)
        .arg("--config")
        .arg(spec.config_path())
        .arg("agent")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Its own process group: a Ctrl-C in the terminal of `lab up` does not reach it.
        .process_group(0)
        .spawn()
        .wrap_err("cannot start ringdeck agent")?;
    std::fs::write(pid_file(spec), format!("{}\n", child.id()))?;
    let port = spec.agent_http_port();
    let healthy = || super::status::http_status(port, "/health", Duration::from_secs(2)) == Some(200);
    if !proc::wait_for(Duration::from_secs(20), healthy) {
        bail!("ringdeck agent did not answer /health on {port} within 20s\n{}", proc::log_tail(&log_file(spec), 20));
    }
    Ok(true)
}

pub fn stop(spec: &Spec) -> Result<()> {
    if let Some(pid) = running(spec) {
        proc::terminate(&[pid], Duration::from_secs(10))?;
    }
    Ok(())
}
