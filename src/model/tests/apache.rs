//! Apache mod_status: `?auto` and the ExtendedStatus HTML page recorded from the lab's Apache 2.4
//! (Debian 12), Apache 2.2's shorter output built from its documented format (see
//! tests/fixtures/README.md), rates across restarts, and truncated and garbage answers.

use crate::model::apache::*;
use crate::model::apache_workers::*;

const AUTO_24: &str = include_str!("../../../tests/fixtures/apache-2.4-server-status-auto-under-load.txt");
/// Built from Apache 2.2's documented `?auto` keys (no ServerVersion, MPM or async counters).
const AUTO_22: &str = include_str!("../../../tests/fixtures/apache-2.2-server-status-auto-from-docs.txt");
const HTML_24_SLOW20: &str = include_str!("../../../tests/fixtures/apache-2.4-server-status-extended-slow-20.html");
const HTML_24_SLOW2: &str = include_str!("../../../tests/fixtures/apache-2.4-server-status-extended-slow-running.html");
/// Built from Apache 2.2's documented worker table (no Protocol or Dur column).
const HTML_22: &str = include_str!("../../../tests/fixtures/apache-2.2-server-status-extended-from-docs.html");

#[test]
fn recorded_24_auto() {
    let s = parse_auto(AUTO_24).unwrap();
    assert_eq!(s.server_version, "Apache/2.4.71 (Debian)");
    assert_eq!(s.mpm, "event");
    assert_eq!((s.busy_workers, s.idle_workers), (2, 8));
    assert_eq!(s.total_accesses, Some(257));
    assert_eq!(s.capacity(), 20);
    assert_eq!(s.conns_async_keepalive, Some(2));
    assert_eq!(s.graceful_workers, Some(0));
    assert_eq!(s.by_state(), vec![('_', 8), ('W', 2), ('.', 10)]);
    assert!((s.busy_ratio() - 0.1).abs() < 1e-9);
    // Two writing workers: ours and another request, so the HTML page is worth reading.
    assert_eq!(busy_in_scoreboard(&s.scoreboard), 2);
    // Keep-alive, idle, open and closing slots handle no request.
    assert_eq!(busy_in_scoreboard("W_K..I_"), 1);
}

#[test]
fn documented_22_auto_is_shorter() {
    let s = parse_auto(AUTO_22).unwrap();
    assert_eq!((s.server_version.as_str(), s.mpm.as_str()), ("", ""));
    assert_eq!((s.busy_workers, s.idle_workers, s.capacity()), (7, 3, 16));
    assert_eq!(s.conns_async_writing, None);
    assert_eq!(s.counters(), Some(Counters { uptime: 86400, accesses: 48213, kbytes: 301544 }));
    assert_eq!(s.count('W'), 5);
}

#[test]
fn auto_garbage_and_truncation() {
    assert!(parse_auto("<html>Not Found</html>").is_err());
    assert!(parse_auto("").is_err());
    assert!(parse_auto("BusyWorkers: lots\n").is_err());
    let cut = &AUTO_24[..AUTO_24.find("IdleWorkers").unwrap()];
    let s = parse_auto(cut).unwrap();
    assert_eq!(s.busy_workers, 2);
    assert_eq!(s.capacity(), 2, "without a scoreboard the capacity is what was counted");
}

#[test]
fn rates_from_counter_deltas_and_restarts() {
    let c = |uptime, accesses, kbytes| Counters { uptime, accesses, kbytes };
    assert_eq!(rate_step(&c(100, 50, 10), &c(102, 70, 14)), RateStep::Rates(Rates { requests: 10.0, bytes: 2048.0 }));
    assert_eq!(rate_step(&c(100, 50, 10), &c(3, 2, 1)), RateStep::Restarted, "uptime went down");
    assert_eq!(rate_step(&c(100, 50, 10), &c(101, 2, 1)), RateStep::Restarted, "counters went down");
    assert_eq!(rate_step(&c(100, 50, 10), &c(100, 51, 10)), RateStep::TooSoon);
}

#[test]
fn recorded_24_in_flight_slow_request_first() {
    let rows = parse_workers(HTML_24_SLOW20).unwrap();
    assert!(rows.len() >= 10, "{rows:?}");
    let live = in_flight(&rows);
    assert_eq!(live[0].request, "GET /slow?seconds=20 HTTP/1.1");
    assert_eq!(live[0].mode, 'W');
    assert_eq!(live[0].client, "127.0.0.1");
    assert!(live[0].vhost.starts_with("web1:"));
    assert!(live[0].seconds >= live.last().unwrap().seconds, "longest first");
    assert!(live.iter().any(|r| r.request == "GET /slow?seconds=6 HTTP/1.1"));
    assert!(live.iter().all(|r| !r.request.contains("/server-status")), "our own requests are left out");
}

#[test]
fn recorded_24_in_flight_one_slow_request() {
    let live = in_flight(&parse_workers(HTML_24_SLOW2).unwrap());
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!((live[0].request.as_str(), live[0].seconds), ("GET /slow?seconds=2 HTTP/1.1", 1));
}

#[test]
fn documented_22_worker_table() {
    let rows = parse_workers(HTML_22).unwrap();
    assert_eq!(rows.len(), 10);
    let live = in_flight(&rows);
    let shown: Vec<(&str, u64, char)> = live.iter().map(|r| (r.request.as_str(), r.seconds, r.mode)).collect();
    assert_eq!(
        shown,
        vec![
            ("GET /report.php?year=2009&full=1 HTTP/1.1", 187, 'W'),
            ("GET /export.csv HTTP/1.0", 42, 'W'),
            ("POST /cart/checkout HTTP/1.1", 3, 'W'),
            ("", 0, 'R'),
            ("GET /about.html HTTP/1.1", 0, 'C'),
        ],
        "entities decoded, NULL request shown empty, idle and keep-alive workers left out"
    );
    assert_eq!(live[1].vhost, "shop.example.org");
}

#[test]
fn worker_table_garbage_and_truncation() {
    assert!(parse_workers("").is_err());
    assert!(parse_workers("<html><body>Forbidden</body></html>").unwrap_err().contains("not a mod_status"));
    let no_table = &HTML_24_SLOW20[..HTML_24_SLOW20.find("<table border=\"0\">").unwrap()];
    assert!(parse_workers(no_table).unwrap_err().contains("ExtendedStatus"));
    // Cut inside a row: the whole rows before it are kept.
    let cut = &HTML_22[..HTML_22.find("2108").unwrap()];
    let rows = parse_workers(cut).unwrap();
    assert_eq!(rows.len(), 7);
    for n in (0..HTML_24_SLOW20.len()).step_by(53) {
        if HTML_24_SLOW20.is_char_boundary(n) {
            let _ = parse_workers(&HTML_24_SLOW20[..n]);
        }
    }
    let _ = parse_workers("<th>Srv</th><th>M</th><th>Request</th><tr><td>&#xZZ;&#99999999;&amp</td><td>W</td>");
}
