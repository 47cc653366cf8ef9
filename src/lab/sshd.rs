//! The lab's sshd on 127.0.0.1:B+22: its own host key, config and authorized_keys, a client key
//! pair it accepts, and a known_hosts file so the console can verify the host key.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr, bail};

use super::proc;
use super::spec::{Spec, make_dir, write_file};

fn host_key(spec: &Spec) -> PathBuf {
    spec.sshd_dir().join("host_ed25519_key")
}
fn config_file(spec: &Spec) -> PathBuf {
    spec.sshd_dir().join("sshd_config")
}
fn pid_file(spec: &Spec) -> PathBuf {
    spec.sshd_dir().join("sshd.pid")
}
pub fn log_file(spec: &Spec) -> PathBuf {
    spec.sshd_dir().join("sshd.log")
}

/// The listening sshd, if running.
pub fn running(spec: &Spec) -> Option<i32> {
    proc::pid_from_file(&pid_file(spec), &spec.dir)
}

fn keygen(ssh_keygen: &std::path::Path, path: &std::path::Path, comment: &str) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    proc::run(
        Command::new(ssh_keygen).args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"]).arg(path),
        "ssh-keygen",
    )?;
    Ok(())
}

fn config(spec: &Spec) -> String {
    format!(
        "# sshd of the ringdeck lab in {dir}; written by `ringdeck lab up`.\n\
         Port {port}\n\
         ListenAddress 127.0.0.1\n\
         HostKey {hostkey}\n\
         PidFile {pid}\n\
         AuthorizedKeysFile {auth}\n\
         StrictModes no\n\
         UsePAM no\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         PubkeyAuthentication yes\n\
         PermitRootLogin prohibit-password\n\
         AllowUsers {user}\n\
         X11Forwarding no\n\
         PrintMotd no\n\
         LogLevel INFO\n\
         Subsystem sftp internal-sftp\n",
        dir = spec.dir.display(),
        port = spec.ssh_port(),
        hostkey = host_key(spec).display(),
        pid = pid_file(spec).display(),
        auth = spec.sshd_dir().join("authorized_keys").display(),
        user = proc::login_name(),
    )
}

/// Keys, known_hosts, config; starts sshd if it is not running. Returns true if it started it.
pub fn up(spec: &Spec) -> Result<bool> {
    let sshd = proc::find_binary("sshd")?;
    let ssh_keygen = proc::find_binary("ssh-keygen")?;
    make_dir(&spec.sshd_dir(), 0o700)?;
    keygen(&ssh_keygen, &host_key(spec), "ringdeck-lab-host")?;
    keygen(&ssh_keygen, &spec.ssh_key(), "ringdeck-lab")?;
    let read = |p: PathBuf| fs::read_to_string(&p).wrap_err_with(|| format!("cannot read {}", p.display()));
    let client_pub = read(spec.ssh_key().with_extension("pub"))?;
    write_file(&spec.sshd_dir().join("authorized_keys"), client_pub.trim_end(), 0o600)?;
    let host_pub = read(host_key(spec).with_extension("pub"))?;
    let mut fields = host_pub.split_whitespace();
    let (Some(kind), Some(key)) = (fields.next(), fields.next()) else {
        bail!("odd host public key in {}", host_key(spec).display());
    };
    write_file(&spec.known_hosts(), &format!("[127.0.0.1]:{} {kind} {key}\n", spec.ssh_port()), 0o644)?;
    write_file(&config_file(spec), &config(spec), 0o600)?;
    if running(spec).is_some() {
        return Ok(false);
    }
    if proc::is_root() {
        // sshd's privilege separation needs this directory when it runs as root.
        let run = std::path::Path::new("/run/sshd");
        if !run.exists() {
            make_dir(run, 0o755)?;
        }
    }
    let _ = fs::remove_file(pid_file(spec));
    // Without -D sshd daemonizes once it listens; -E keeps its log inside the lab dir.
    proc::run(Command::new(&sshd).arg("-f").arg(config_file(spec)).arg("-E").arg(log_file(spec)), "sshd")
        .wrap_err_with(|| proc::log_tail(&log_file(spec), 20))?;
    // The pid file appears once the daemon listens.
    if !proc::wait_for(Duration::from_secs(10), || running(spec).is_some()) {
        bail!("sshd wrote no pid file within 10s\n{}", proc::log_tail(&log_file(spec), 20));
    }
    Ok(true)
}
