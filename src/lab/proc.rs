//! Processes: finding binaries, running and spawning them detached, pid files, scanning /proc
//! for everything that belongs to a lab directory, stopping with deadlines, and port checks.
//!
//! PID 1 in some sandboxes does not reap orphans, so a stopped daemon can linger as a zombie:
//! a zombie holds no ports or files, and every check here treats it as gone.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{BufRead, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr, bail, eyre};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Looks a binary up in PATH plus /usr/sbin and /sbin; the error names the Debian package.
pub fn find_binary(name: &str) -> Result<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    dirs.extend([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin"), PathBuf::from("/usr/bin")]);
    for d in dirs {
        let p = d.join(name);
        if is_executable(&p) {
            return Ok(p);
        }
    }
    let Some(package) = package_for(name) else { bail!("{name} not found in PATH, /usr/sbin or /sbin") };
    bail!(
        "{name} not found in PATH, /usr/sbin or /sbin: install the Debian package {package} (apt-get install {package})"
    )
}

/// The Debian package that ships a binary the lab runs.
fn package_for(name: &str) -> Option<&'static str> {
    Some(match name {
        "mariadbd" | "mariadb-install-db" => "mariadb-server",
        "mariadb" | "mariadb-admin" => "mariadb-client",
        "haproxy" => "haproxy",
        "apache2" => "apache2",
        "sshd" => "openssh-server",
        "ssh-keygen" | "ssh" => "openssh-client",
        _ => return None,
    })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs a command to completion; on failure the error carries its output's tail.
pub fn run(cmd: &mut Command, what: &str) -> Result<Output> {
    let out =
        cmd.stdin(Stdio::null()).output().wrap_err_with(|| format!("{what}: cannot run {:?}", cmd.get_program()))?;
    if !out.status.success() {
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        bail!("{what} failed ({}):\n{}", out.status, last_lines(&text, 20));
    }
    Ok(out)
}

/// The last `n` lines of some text.
pub fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The last `n` lines of a log file, with its path, for failure messages.
pub fn log_tail(path: &Path, n: usize) -> String {
    match fs::read_to_string(path) {
        Ok(t) => format!("last lines of {}:\n{}", path.display(), last_lines(&t, n)),
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// Reads a pid file.
pub fn read_pid(path: &Path) -> Option<i32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// One process's state letter from /proc/PID/stat, and its parent.
fn stat(pid: i32) -> Option<(char, i32)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: parse after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let mut it = rest.split_whitespace();
    let state = it.next()?.chars().next()?;
    let ppid = it.next()?.parse().ok()?;
    Some((state, ppid))
}

/// True if the process exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    stat(pid).is_some_and(|(s, _)| s != 'Z' && s != 'X')
}

/// A process's command line, arguments joined by spaces.
pub fn cmdline(pid: i32) -> Option<Vec<String>> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(raw.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect())
}

/// The live process in `pid_file` if its command line mentions `marker` (so a stale pid file
/// whose number was reused by something else is not trusted).
pub fn pid_from_file(pid_file: &Path, marker: &Path) -> Option<i32> {
    let pid = read_pid(pid_file)?;
    (alive(pid) && cmdline(pid).is_some_and(|c| mentions(&c, marker))).then_some(pid)
}

/// Does a command line mention `dir` (as itself or a path under it)?
pub fn mentions(args: &[String], dir: &Path) -> bool {
    let d = dir.to_string_lossy();
    let d = d.trim_end_matches('/');
    args.iter().any(|a| {
        a.match_indices(d).any(|(i, _)| {
            let after = &a[i + d.len()..];
            after.is_empty() || after.starts_with('/')
        })
    })
}

fn all_pids() -> Vec<i32> {
    fs::read_dir("/proc")
        .map(|rd| rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default()
}

/// Every live process whose command line mentions `dir`, plus all their descendants (sshd
/// sessions, Apache workers, CGI children), never ourselves or our ancestors.
pub fn scan(dir: &Path) -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut parent: HashMap<i32, i32> = HashMap::new();
    let mut live = Vec::new();
    for pid in all_pids() {
        if let Some((state, ppid)) = stat(pid) {
            parent.insert(pid, ppid);
            if state != 'Z' && state != 'X' {
                live.push(pid);
            }
        }
    }
    let mut protected = HashSet::new();
    let mut p = me;
    while p > 1 && protected.insert(p) {
        p = parent.get(&p).copied().unwrap_or(0);
    }
    let mut found: HashSet<i32> = live
        .iter()
        .copied()
        .filter(|pid| !protected.contains(pid))
        .filter(|pid| cmdline(*pid).is_some_and(|c| mentions(&c, dir)))
        .collect();
    // Descendants: repeat until no new child of a found process appears.
    loop {
        let before = found.len();
        for pid in &live {
            if !found.contains(pid) && !protected.contains(pid) && parent.get(pid).is_some_and(|pp| found.contains(pp))
            {
                found.insert(*pid);
            }
        }
        if found.len() == before {
            break;
        }
    }
    let mut v: Vec<i32> = found.into_iter().collect();
    v.sort_unstable();
    v
}

/// Sends a signal, ignoring processes that are already gone.
pub fn signal(pid: i32, sig: Signal) {
    let _ = kill(Pid::from_raw(pid), sig);
}

/// Waits until none of `pids` is alive; false if the deadline passed first.
pub fn wait_gone(pids: &[i32], timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if pids.iter().all(|p| !alive(*p)) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGTERM, wait up to `grace`, then SIGKILL and wait a little more. Returns the pids that
/// needed SIGKILL.
pub fn terminate(pids: &[i32], grace: Duration) -> Result<Vec<i32>> {
    for p in pids {
        signal(*p, Signal::SIGTERM);
    }
    if wait_gone(pids, grace) {
        return Ok(Vec::new());
    }
    let stubborn: Vec<i32> = pids.iter().copied().filter(|p| alive(*p)).collect();
    for p in &stubborn {
        signal(*p, Signal::SIGKILL);
    }
    if !wait_gone(&stubborn, Duration::from_secs(10)) {
        return Err(eyre!("processes {stubborn:?} survived SIGKILL"));
    }
    Ok(stubborn)
}

/// Is something accepting TCP connections on 127.0.0.1:port?
pub fn port_open(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
}

/// Polls until `check` holds or the deadline passes.
pub fn wait_for(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A progress line on stderr: `starting node1 ... ok (1.2s)`.
pub struct Progress {
    start: Instant,
}

impl Progress {
    pub fn begin(what: &str) -> Progress {
        eprint!("{what} ... ");
        let _ = std::io::stderr().flush();
        Progress { start: Instant::now() }
    }
    pub fn ok(self) {
        eprintln!("ok ({:.1}s)", self.start.elapsed().as_secs_f64());
    }
    pub fn done(self, note: &str) {
        eprintln!("{note} ({:.1}s)", self.start.elapsed().as_secs_f64());
    }
    pub fn failed(self) {
        eprintln!("FAILED ({:.1}s)", self.start.elapsed().as_secs_f64());
    }
    /// Ends the line with ok or FAILED according to `r`.
    pub fn finish<T>(self, r: Result<T>) -> Result<T> {
        match &r {
            Ok(_) => self.ok(),
            Err(_) => self.failed(),
        }
        r
    }
}

/// The current login name (for SSH).
pub fn login_name() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "root".into())
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Reads the first line of a file-like reader (for tiny protocol checks).
pub fn first_line(r: impl std::io::Read) -> String {
    let mut line = String::new();
    let _ = std::io::BufReader::new(r).read_line(&mut line);
    line.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_is_path_aware() {
        let d = Path::new("/tmp/lab1");
        let args = |s: &str| vec!["x".to_string(), s.to_string()];
        assert!(mentions(&args("--defaults-file=/tmp/lab1/node1/my.cnf"), d));
        assert!(mentions(&args("/tmp/lab1"), d));
        assert!(!mentions(&args("/tmp/lab10/node1/my.cnf"), d));
    }

    #[test]
    fn missing_binaries_name_their_package() {
        assert_eq!(package_for("mariadb-install-db"), Some("mariadb-server"));
        assert_eq!(package_for("ssh-keygen"), Some("openssh-client"));
        let err = find_binary("ringdeck-surely-missing-binary").unwrap_err();
        assert!(err.to_string().contains("not found in PATH"), "{err}");
    }

    #[test]
    fn we_are_alive_and_never_scanned() {
        assert!(alive(std::process::id() as i32));
        let exe = std::env::current_exe().unwrap();
        assert!(!scan(exe.parent().unwrap()).contains(&(std::process::id() as i32)));
    }
}
