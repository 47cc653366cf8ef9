//! `ringdeck bench`: prints how long the hot paths take on large synthetic inputs (parsing a
//! HAProxy CSV with thousands of servers, folding samples into the state, drawing a full frame)
//! and the process's resident memory. Figures, not pass/fail: compare runs on the same machine.
//! With `--stack`, first the side-by-side run against innotop on a practice lab ([`stack`]).

pub mod stack;

use std::path::Path;
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, eyre};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::app::App;
use crate::app::action::{Action, Pane};
use crate::collect::{Polled, ProbeSample, Update};
use crate::config::Config;
use crate::model::apache::parse_auto;
use crate::model::haproxy::{HaproxyStats, parse_csv};
use crate::ui::PaneCache;
use crate::ui::theme::Theme;

/// A stats answer recorded from the lab's HAProxy 2.6 (129 columns): its header and server lines
/// are the template of the synthetic answers, so a server costs what a real one does.
const RECORDED: &str = include_str!("../../../tests/fixtures/haproxy-2.6-show-stat-backend-queue.csv");

/// A stats CSV with `servers` servers spread over backends of 50, each line a recorded server line
/// with its own backend, name, queue, sessions and status.
pub fn synthetic_csv(servers: usize) -> String {
    let mut lines = RECORDED.lines();
    let header = lines.next().unwrap_or_default();
    let template: Vec<&str> = lines.find(|l| l.contains(",L7OK,")).unwrap_or_default().split(',').collect();
    let mut s = String::with_capacity(servers * 320);
    s.push_str(header);
    s.push('\n');
    let mut fields: Vec<String> = template.iter().map(|f| f.to_string()).collect();
    for i in 0..servers {
        if fields.len() > 17 {
            fields[0] = format!("be{}", i / 50);
            fields[1] = format!("srv{i}");
            fields[2] = (i % 3).to_string();
            fields[4] = (i % 7).to_string();
            fields[17] = if i % 97 == 0 { "DOWN" } else { "UP" }.to_string();
        }
        s.push_str(&fields.join(","));
        s.push('\n');
    }
    s
}

fn time<T>(runs: u32, mut f: impl FnMut() -> T) -> Duration {
    let start = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(f());
    }
    start.elapsed() / runs
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
}

/// Runs the benchmarks and prints one line per figure.
pub fn run() -> Result<()> {
    let cfg_text = "[[node]]\nname = \"n1\"\nhost = \"127.0.0.1\"\n[[haproxy]]\nname = \"lb\"\nstats_url = \"http://127.0.0.1:1/stats\"\n[[apache]]\nname = \"web1\"\nstatus_url = \"http://127.0.0.1:2/server-status\"\n[[probe]]\nname = \"p\"\ntcp = \"127.0.0.1:3\"\n";
    let cfg = Config::parse(cfg_text, Path::new("bench.toml")).map_err(|e| eyre!("{e}"))?;
    println!("rss at start: {} KiB", rss_kib().unwrap_or(0));
    for servers in [100usize, 1000, 5000] {
        let csv = synthetic_csv(servers);
        let d = time(20, || parse_csv(&csv).map(|r| r.len()).unwrap_or(0));
        println!("parse haproxy csv, {servers:>5} servers ({:>7} bytes): {:>9.3} ms", csv.len(), d.as_secs_f64() * 1e3);
    }
    let auto = "ServerVersion: Apache/2.4.62\nServerMPM: event\nUptime: 10\nTotal Accesses: 5\nTotal kBytes: 5\nBusyWorkers: 3\nIdleWorkers: 17\nScoreboard: ___WW_R_____________\n";
    let d = time(10_000, || parse_auto(auto).map(|s| s.busy_workers).unwrap_or(0));
    println!("parse apache ?auto: {:>9.3} µs", d.as_secs_f64() * 1e6);

    let mut app = App::new(&cfg, "bench");
    let rows = parse_csv(&synthetic_csv(5000)).map_err(|e| eyre!(e))?;
    let now = Instant::now();
    let stats = HaproxyStats { rows, info: None, info_error: None };
    app.apply(Update::Haproxy(Polled { index: 0, at: now, result: Ok(stats) }));
    let d = time(1000, || {
        let took = Duration::from_millis(3);
        app.apply(Update::Probe(Polled { index: 0, at: now, result: Ok(ProbeSample { took, retried: None }) }))
    });
    println!("fold one probe sample into the state: {:>9.3} µs", d.as_secs_f64() * 1e6);
    let theme = Theme::builtin(true);
    for (w, h) in [(80u16, 24u16), (160, 45), (300, 100)] {
        let mut term = Terminal::new(TestBackend::new(w, h))?;
        // Every pane drawn (a cache of its own per frame): the cost of a frame after a poll.
        let d =
            time(50, || term.draw(|f| crate::ui::render(f, &app, &theme, now, &mut PaneCache::new(false))).map(|_| ()));
        println!("draw a full frame {w}x{h} with 5000 HAProxy servers: {:>9.3} ms", d.as_secs_f64() * 1e3);
    }
    big_frame(&theme)?;
    println!("rss at end: {} KiB", rss_kib().unwrap_or(0));
    Ok(())
}

/// A frame of a large installation: 100 nodes in a ring, one HAProxy of 5000 servers and 1000
/// running statements spread over the nodes, every pane focused and zoomed in turn.
fn big_frame(theme: &Theme) -> Result<()> {
    use crate::model::replication::{Dialect, NodeStatus, Process};
    let mut text = String::new();
    for i in 1..=100 {
        text.push_str(&format!("[[node]]\nname = \"n{i}\"\nhost = \"10.0.{}.{}\"\n", i / 250, i % 250));
    }
    text.push_str("[[haproxy]]\nname = \"lb\"\nstats_url = \"http://127.0.0.1:1/stats\"\n");
    let cfg = Config::parse(&text, Path::new("bench-100.toml")).map_err(|e| eyre!("{e}"))?;
    let mut app = App::new(&cfg, "bench");
    let now = Instant::now();
    for i in 0..100usize {
        let processes = (0..10u64)
            .map(|k| Process {
                id: k + 100,
                user: "app".into(),
                host: format!("10.1.0.{k}:5{k}000"),
                db: "shop".into(),
                command: "Query".into(),
                time: (k * 7 + i as u64) as f64 / 3.0,
                state: "Sending data".into(),
                info: format!("SELECT * FROM orders WHERE customer_id = {k} AND created > NOW() - INTERVAL {i} DAY"),
            })
            .collect();
        let status = NodeStatus {
            version: "10.11.6-MariaDB".into(),
            dialect: Dialect::MariaDb,
            vars: Default::default(),
            counters: Default::default(),
            binlog: None,
            links: Vec::new(),
            processes,
            digests: None,
        };
        app.apply(Update::Node(Polled { index: i, at: now, result: Ok(Box::new(status)) }));
    }
    let rows = parse_csv(&synthetic_csv(5000)).map_err(|e| eyre!(e))?;
    app.apply(Update::Haproxy(Polled {
        index: 0,
        at: now,
        result: Ok(HaproxyStats { rows, info: None, info_error: None }),
    }));
    let mut term = Terminal::new(TestBackend::new(160, 45))?;
    let mut worst = (Duration::ZERO, String::new());
    for pane in Pane::ALL {
        for zoom in [false, true] {
            app.act(Action::Focus(pane));
            app.zoom = zoom;
            let d = time(20, || {
                term.draw(|f| crate::ui::render(f, &app, theme, now, &mut PaneCache::new(false))).map(|_| ())
            });
            if d > worst.0 {
                worst = (d, format!("{}{}", pane.title(), if zoom { " zoomed" } else { "" }));
            }
        }
    }
    println!(
        "draw a frame 160x45 with 100 nodes, 5000 HAProxy servers, 1000 statements: {:>9.3} ms (slowest: {})",
        worst.0.as_secs_f64() * 1e3,
        worst.1
    );
    // A key that moves the slow-query selection: that pane is drawn again, the four others are
    // copied from the frame before.
    app.zoom = false;
    app.act(Action::Focus(Pane::Queries));
    let mut kept = PaneCache::new(false);
    let mut down = true;
    let d = time(200, || {
        app.act(if down { Action::Down } else { Action::Up });
        down = !down;
        term.draw(|f| crate::ui::render(f, &app, theme, now, &mut kept)).map(|_| ())
    });
    println!(
        "  the same after a key (j/k in slow queries, the other panes kept): {:>9.3} ms ({} of {} panes kept)",
        d.as_secs_f64() * 1e3,
        kept.hits,
        kept.hits + kept.misses
    );
    Ok(())
}
