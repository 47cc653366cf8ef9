//! `ringdeck bench --stack` (`make bench`): the console watching a whole practice lab beside
//! innotop watching one of its nodes, in one run on this machine. Both run in a detached tmux at
//! 160x45; after a warm-up their CPU time (utime + stime) and peak memory (VmHWM) are sampled over
//! the same window. Then the console's first-frame time, its frames at rest and its key-to-frame
//! latency (from its frame trace, `RINGDECK_FRAME_TRACE`), also with one node frozen (SIGSTOP).
//! Figures are reported, never asserted: the machine is shared and noisy.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use color_eyre::eyre::{Result, eyre};

/// What `--stack` runs.
#[derive(clap::Args, Debug, Clone)]
pub struct StackArgs {
    /// Run the side-by-side benchmark on a practice lab (else only the synthetic figures).
    #[arg(long)]
    pub stack: bool,
    /// Seconds CPU and memory are sampled over (a clock tick is 10 ms: a long window keeps the
    /// ratio above the tick noise).
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Seconds the console then keeps watching the lab, its resident memory read at the start and
    /// the end (memory must stay flat: every history is a fixed ring). 0 skips it.
    #[arg(long, default_value_t = 600)]
    pub soak: u64,
    /// Seconds before sampling starts (connections made, the short histories the panes draw
    /// filled: the console all day is what is measured, not its first seconds).
    #[arg(long, default_value_t = 15)]
    pub warmup: u64,
    /// Key presses timed (each changes the screen), with every node answering and again with one frozen.
    #[arg(long, default_value_t = 200)]
    pub keys: usize,
    /// The lab's port base (below 32768, apart from the default lab's).
    #[arg(long, default_value_t = 17700)]
    pub port_base: u16,
    /// The lab's directory (created, and removed afterwards).
    #[arg(long, default_value = "/tmp/ringdeck-bench-lab")]
    pub dir: PathBuf,
}

/// Tears down what the run started, however it ends: the tmux session, a frozen node, the lab.
struct Cleanup {
    exe: PathBuf,
    dir: PathBuf,
    session: String,
    frozen: Option<i32>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(pid) = self.frozen.take() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGCONT);
        }
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.session]).output();
        let dir = self.dir.display().to_string();
        let _ = Command::new(&self.exe).args(["lab", "down", "--purge", "--dir", &dir]).output();
    }
}

fn run_ok(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().map_err(|e| eyre!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(eyre!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn epoch_us() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_micros()
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// A memory figure of `/proc/<pid>/status` in KiB: `VmHWM` (peak resident) or `VmRSS` (now).
fn status_kib(pid: i32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))?.split_whitespace().next()?.parse().ok()
}

/// The frame trace's lines: (`key` or `frame`, microseconds since the epoch).
fn trace(path: &Path) -> Vec<(String, u128)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (what, t) = l.split_once(' ')?;
            Some((what.to_string(), t.parse().ok()?))
        })
        .collect()
}

/// The console's resident memory over `seconds` of watching: (at the start, at the end, most),
/// read every 10 s.
fn soak(pid: i32, seconds: u64) -> Option<(u64, u64, u64)> {
    if seconds == 0 {
        return None;
    }
    println!("watching {seconds} s more for the memory figure ...");
    let start = status_kib(pid, "VmRSS")?;
    let (mut end, mut max) = (start, start);
    let until = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < until {
        std::thread::sleep(Duration::from_secs(10).min(until.saturating_duration_since(Instant::now())));
        end = status_kib(pid, "VmRSS")?;
        max = max.max(end);
    }
    Some((start, end, max))
}

fn pane_pid(target: &str) -> Result<i32> {
    let out = run_ok(Command::new("tmux").args(["list-panes", "-t", target, "-F", "#{pane_pid}"]))?;
    out.trim().parse().map_err(|_| eyre!("no pane pid for {target}: {out:?}"))
}

/// Sends `keys` key presses that each change the screen (the focus moves on), one at a time,
/// each waiting for its frame: the key-to-frame latencies in milliseconds.
fn time_keys(session: &str, trace_path: &Path, keys: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(keys);
    for i in 0..keys {
        let seen = trace(trace_path).len();
        let key = if i % 2 == 0 { "Tab" } else { "BTab" };
        let target = format!("{session}:console");
        if Command::new("tmux").args(["send-keys", "-t", &target, key]).output().is_err() {
            break;
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let lines = trace(trace_path);
            let new = &lines[seen.min(lines.len())..];
            let key_at = new.iter().find(|(w, _)| w == "key").map(|(_, t)| *t);
            let frame_at = key_at.and_then(|k| new.iter().find(|(w, t)| w == "frame" && *t >= k).map(|(_, t)| *t));
            if let (Some(k), Some(f)) = (key_at, frame_at) {
                out.push((f - k) as f64 / 1000.0);
                break;
            }
            if Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    out
}

fn percentile(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s[((s.len() - 1) as f64 * p).round() as usize]
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let n = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{n} CPUs, {cpu}")
}

/// Runs the side-by-side benchmark and prints its table.
pub fn run(args: &StackArgs) -> Result<()> {
    let exe = std::env::current_exe()?;
    let dir = args.dir.clone();
    let session = format!("ringdeck-bench-{}", std::process::id());
    let mut cleanup = Cleanup { exe: exe.clone(), dir: dir.clone(), session: session.clone(), frozen: None };
    let d = dir.display().to_string();
    let _ = Command::new(&exe).args(["lab", "down", "--purge", "--dir", &d]).output();
    println!("starting a practice lab in {d} (port base {}) ...", args.port_base);
    run_ok(Command::new(&exe).args(["lab", "up", "--dir", &d, "--port-base", &args.port_base.to_string()]))?;
    let cfg_path = dir.join("ringdeck.toml");
    let cfg = crate::config::Config::load(&cfg_path).map_err(|e| eyre!("{e}"))?;
    let node1 = cfg.nodes.first().ok_or_else(|| eyre!("the lab config has no node"))?;
    let (user, password) = (
        node1.user.clone().unwrap_or_default(),
        node1.password.as_ref().map(|p| p.expose().to_string()).unwrap_or_default(),
    );

    // innotop reads the login from a private ~/.my.cnf of its own (never from its command line).
    let home = dir.join("innotop-home");
    std::fs::create_dir_all(&home)?;
    let cnf = home.join(".my.cnf");
    std::fs::write(&cnf, format!("[client]\nuser={user}\npassword={password}\n"))?;
    std::fs::set_permissions(&cnf, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;

    let trace_path = dir.join("frames.log");
    let console = format!(
        "exec env RINGDECK_FRAME_TRACE={} {} --config {} console",
        crate::ssh::quote(&trace_path.display().to_string()),
        crate::ssh::quote(&exe.display().to_string()),
        crate::ssh::quote(&cfg_path.display().to_string()),
    );
    let spawned = epoch_us();
    run_ok(Command::new("tmux").args([
        "new-session",
        "-d",
        "-s",
        &session,
        "-n",
        "console",
        "-x",
        "160",
        "-y",
        "45",
        &console,
    ]))?;
    let innotop = format!(
        "exec env HOME={} innotop -h 127.0.0.1 -P {} -d 1 -m Q",
        crate::ssh::quote(&home.display().to_string()),
        node1.port
    );
    run_ok(Command::new("tmux").args(["new-window", "-d", "-t", &session, "-n", "innotop", &innotop]))?;
    let ours = pane_pid(&format!("{session}:console"))?;
    let theirs = pane_pid(&format!("{session}:innotop"))?;
    let dolphie = Command::new("sh").args(["-c", "command -v dolphie"]).output().is_ok_and(|o| o.status.success());

    // First frame: from the spawn to the first frame in the trace.
    let deadline = Instant::now() + Duration::from_secs(10);
    let first = loop {
        if let Some((_, t)) = trace(&trace_path).into_iter().find(|(w, _)| w == "frame") {
            break Some((t.saturating_sub(spawned)) as f64 / 1000.0);
        }
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };

    println!("warming up {} s, then sampling {} s ...", args.warmup, args.seconds);
    std::thread::sleep(Duration::from_secs(args.warmup));
    let (o0, t0, w0) = (cpu_ticks(ours), cpu_ticks(theirs), epoch_us());
    std::thread::sleep(Duration::from_secs(args.seconds));
    let (o1, t1, w1) = (cpu_ticks(ours), cpu_ticks(theirs), epoch_us());
    let frames_at_rest = trace(&trace_path).iter().filter(|(w, t)| w == "frame" && *t >= w0 && *t <= w1).count();
    let (our_peak, their_peak) = (status_kib(ours, "VmHWM"), status_kib(theirs, "VmHWM"));
    // What the resident set is made of: heap and stacks, and the program's own mapped code pages.
    let (our_anon, our_file) = (status_kib(ours, "RssAnon"), status_kib(ours, "RssFile"));

    println!("timing {} key presses ...", args.keys);
    let keys = time_keys(&session, &trace_path, args.keys);
    let pid2 = std::fs::read_to_string(dir.join("node2/mariadbd.pid"))
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok())
        .ok_or_else(|| eyre!("no pid file of node2"))?;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid2), nix::sys::signal::Signal::SIGSTOP)?;
    cleanup.frozen = Some(pid2);
    // Two polls, so node2's collector is stuck in a read when the keys come.
    std::thread::sleep(cfg.poll_interval.0 * 2);
    println!("timing {} key presses with node2 frozen ...", args.keys);
    let frozen = time_keys(&session, &trace_path, args.keys);
    if let Some(pid) = cleanup.frozen.take() {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGCONT)?;
    }
    let soak = soak(ours, args.soak);

    let ticks = |a: Option<u64>, b: Option<u64>| a.zip(b).map(|(a, b)| b.saturating_sub(a));
    let (ours_t, theirs_t) = (ticks(o0, o1), ticks(t0, t1));
    let mb = |k: Option<u64>| k.map_or("-".to_string(), |k| format!("{:.1} MB", k as f64 / 1024.0));
    let ratio = |t: Option<u64>| match (t, theirs_t) {
        (Some(t), Some(i)) if i > 0 => format!("{:.2}x", t as f64 / i as f64),
        _ => "-".into(),
    };
    let opt = |t: Option<u64>| t.map_or("-".to_string(), |t| t.to_string());
    println!();
    println!("side by side, {} s after a {} s warm-up, on {}:", args.seconds, args.warmup, machine());
    println!("  {:<44} {:>9} {:>11} {:>10}", "program", "CPU ticks", "vs innotop", "peak RSS");
    println!(
        "  {:<44} {:>9} {:>11} {:>10}",
        format!("ringdeck ({} nodes, HAProxy, Apache, probes)", cfg.nodes.len()),
        opt(ours_t),
        ratio(ours_t),
        mb(our_peak)
    );
    println!(
        "  {:<44} {:>9} {:>11} {:>10}",
        "innotop -d 1 -m Q (node1 only)",
        opt(theirs_t),
        ratio(theirs_t),
        mb(their_peak)
    );
    println!(
        "  ringdeck's resident set: {} heap and stacks (RssAnon), {} mapped code and libraries (RssFile)",
        mb(our_anon),
        mb(our_file)
    );
    if !dolphie {
        println!("  {:<44} {:>9}", "dolphie", "not installed");
    }
    println!(
        "  frames at rest: {frames_at_rest} in {} s (poll interval {})",
        args.seconds,
        crate::fmt::duration(cfg.poll_interval.0)
    );
    println!("  first frame: {}", first.map_or("none within 10 s".into(), |ms| format!("{ms:.1} ms")));
    let lat = |v: &[f64]| {
        format!(
            "p50 {:.2} ms, p99 {:.2} ms ({} of {} keys drawn)",
            percentile(v, 0.5),
            percentile(v, 0.99),
            v.len(),
            args.keys
        )
    };
    println!("  key to frame: {}", lat(&keys));
    println!("  key to frame, node2 frozen (SIGSTOP): {}", lat(&frozen));
    if let Some((start, end, max)) = soak {
        println!(
            "  memory over {} min of watching: VmRSS {} at the start, {} at the end ({:+.1} MB), at most {}",
            args.soak / 60,
            mb(Some(start)),
            mb(Some(end)),
            (end as f64 - start as f64) / 1024.0,
            mb(Some(max))
        );
    }
    drop(cleanup);
    println!();
    Ok(())
}
