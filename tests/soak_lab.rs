//! No false alarms: a healthy lab under `ringdeck lab load` watched by the console in tmux for a
//! few minutes (`RINGDECK_SOAK_SECS`, default 180) never shows a probe failure mark, a WARNING or
//! CRITICAL finding, a stale or down target, and the console's log never says "not answering";
//! `ringdeck check` says OK throughout. Then one real fault (Apache 2 stopped) shows within two
//! polls, so nothing true is hidden.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::tmux::Tmux;
use common::{Lab, rd};

/// What a healthy screen never shows, with the reason it would be there.
const ALARMS: &[(&str, &str)] = &[
    ("×", "a probe failure mark in a sparkline"),
    ("✗", "a failure count or a broken link"),
    ("FAIL", "a probe failing now"),
    ("WARN ", "a WARNING finding"),
    ("CRIT ", "a CRITICAL finding"),
    ("UNKN ", "an UNKNOWN finding"),
    ("stale", "a stale target"),
    ("DOWN", "a target or server down"),
];

fn soak_secs() -> u64 {
    std::env::var("RINGDECK_SOAK_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(180)
}

/// Runs `lab load` again and again until `until` (one load run writes a bounded number of rows).
fn load_until(lab: &Lab, until: Instant) -> std::thread::JoinHandle<usize> {
    let dir = lab.dir().to_path_buf();
    std::thread::spawn(move || {
        let mut runs = 0;
        loop {
            let left = until.saturating_duration_since(Instant::now()).as_secs();
            if left < 2 {
                return runs;
            }
            let status = Command::new(env!("CARGO_BIN_EXE_ringdeck"))
                .args(["lab", "load", "--seconds", &left.min(60).to_string(), "--dir"])
                .arg(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("run lab load");
            assert!(status.success(), "lab load failed: {status}");
            runs += 1;
        }
    })
}

#[test]
fn a_healthy_lab_under_load_shows_no_failure_then_a_real_fault_shows_within_two_polls() {
    let lab = Lab::start(3);
    let state = tempfile::tempdir().expect("state dir");
    let bin = env!("CARGO_BIN_EXE_ringdeck");
    let tmux = Tmux::new(
        "soak",
        160,
        45,
        &format!(
            "XDG_STATE_HOME='{}' RINGDECK_LOG=info {bin} --config '{}'; sleep 60",
            state.path().display(),
            lab.config_path().display()
        ),
    );
    tmux.wait_for(Duration::from_secs(20), "every target up and every probe sampled", |s| {
        s.contains("db 3/3  lb 1/1  web 2/2")
            && s.contains("ring healthy")
            && ["http-lb", "http-web1", "http-web2", "sql-node3"]
                .iter()
                .all(|p| s.lines().any(|l| l.contains(p) && l.contains("ms")))
    });

    let secs = soak_secs();
    let started = Instant::now();
    let until = started + Duration::from_secs(secs);
    let load = load_until(&lab, until);
    let (mut screens, mut checks) = (0usize, 0usize);
    let mut next_check = started;
    while Instant::now() < until {
        let s = tmux.screen();
        screens += 1;
        for (word, what) in ALARMS {
            assert!(
                !s.contains(word),
                "{what} ({word:?}) on a healthy lab after {:.1}s of the soak:\n{s}",
                started.elapsed().as_secs_f64()
            );
        }
        assert!(
            s.contains("db 3/3  lb 1/1  web 2/2") && s.contains("ring healthy: every link running, no findings"),
            "not every target up and the ring healthy after {:.1}s:\n{s}",
            started.elapsed().as_secs_f64()
        );
        if Instant::now() >= next_check {
            let (code, out) = rd(&lab, state.path(), &["check"]);
            assert_eq!(code, 0, "ringdeck check under load:\n{out}");
            checks += 1;
            next_check += Duration::from_secs(15);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let loads = load.join().expect("the load thread");
    let log = std::fs::read_to_string(state.path().join("ringdeck/ringdeck.log")).unwrap_or_default();
    let silent: Vec<&str> = log.lines().filter(|l| l.contains("not answering")).collect();
    assert!(silent.is_empty(), "the log says a target was not answering:\n{}", silent.join("\n"));
    eprintln!("soak: {secs}s, {loads} load run(s), {screens} screens and {checks} checks, no false alarm");

    // One real fault: it must still show, within two polls of the 1 s interval.
    lab.ringdeck_ok(&["lab", "break", "stop", "--web", "2"]);
    let stopped = Instant::now();
    let screen = tmux.wait_for(Duration::from_millis(2500), "web2 down and its probe failing", |s| {
        s.contains("web 1/2") && s.lines().any(|l| l.contains("http-web2") && l.contains("FAIL"))
    });
    eprintln!("Apache 2 stopped: shown after {} ms", stopped.elapsed().as_millis());
    assert!(
        screen.lines().any(|l| l.contains("http-lb") && !l.contains("FAIL")),
        "the site through HAProxy keeps answering:\n{screen}"
    );
}
