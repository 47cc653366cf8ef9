//! `ringdeck check`: polls every configured node once (concurrently, each poll cut off at the
//! configured timeout), builds the ring topology and prints nodes, links, findings and, when the
//! ring is broken, the node with the most complete data, as text, JSON or a Nagios plugin line.
//! The exit code follows the Nagios convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (config
//! errors, or no node answered at all). Passwords are never printed.

use std::path::Path;
use std::time::{Duration, Instant};

mod render;
mod report;

use render::{json, nagios, text};
use report::{Report, failed, report};

use crate::config::login::Logins;
use crate::config::{self, Config};
use crate::model::poll::PollError;
use crate::model::replication::NodeStatus;
use crate::model::topology::Thresholds;

/// Output formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Nagios,
}

/// `ringdeck check` options (`--config` is the global one).
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Seconds behind its upstream that make a link WARNING.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub lag_warn: u64,
    /// Seconds behind its upstream that make a link CRITICAL.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub lag_crit: u64,
}

/// One node's poll outcome.
struct Polled {
    result: Result<NodeStatus, String>,
    took: Duration,
}

/// Polls every node once, concurrently; a dead or hung node costs at most `timeout`.
async fn poll_all(cfg: &Config, logins: &Logins, timeout: Duration) -> Vec<Polled> {
    let polls = cfg.nodes.iter().enumerate().map(|(i, node)| async move {
        let started = Instant::now();
        let result = async {
            let login = logins.nodes.get(i).cloned().unwrap_or_default();
            crate::db::read_node(node, &login, timeout, crate::db::Depth::Full).await.map_err(PollError::from)
        }
        .await;
        Polled { result: result.map_err(|e| e.message), took: started.elapsed() }
    });
    futures_util::future::join_all(polls).await
}

/// Whether one poll can lie about what it shows: a link lags (a spike seen once is not lag). Then
/// the check polls once more, one poll interval later, and needs both to agree. A node that did
/// not answer within the timeout is down at once: its deadline has passed, and a check must
/// return within about one timeout.
fn needs_second_poll(polled: &[Polled], th: &Thresholds) -> bool {
    polled
        .iter()
        .filter_map(|p| p.result.as_ref().ok())
        .any(|s| s.links.iter().any(|l| l.seconds_behind.unwrap_or(0) >= th.lag_warn_secs))
}

fn gather(config_flag: Option<&Path>, args: &CheckArgs) -> Result<Report, (String, String)> {
    let path = config::resolve_path(config_flag).map_err(|e| (e, String::new()))?;
    let source = path.display().to_string();
    let cfg = Config::load_cli(&path).map_err(|e| (e.to_string(), source.clone()))?;
    if cfg.nodes.is_empty() {
        return Err((format!("{source}: the config names no [[node]] to check"), source));
    }
    let logins = Logins::resolve(&cfg).map_err(|e| (e, source.clone()))?;
    let th = Thresholds {
        lag_warn_secs: args.lag_warn,
        lag_crit_secs: args.lag_crit.max(args.lag_warn),
        ..Thresholds::default()
    };
    let rt = crate::cli::start::runtime().map_err(|e| (e.message, source.clone()))?;
    let started = Instant::now();
    let forks = crate::fork::load_for(&cfg);
    let first = rt.block_on(poll_all(&cfg, &logins, cfg.timeout.0));
    if !needs_second_poll(&first, &th) {
        return Ok(report(&cfg, &source, &first, None, &forks, &th, started.elapsed()));
    }
    let second = rt.block_on(async {
        tokio::time::sleep(cfg.poll_interval.0).await;
        poll_all(&cfg, &logins, cfg.timeout.0).await
    });
    Ok(report(&cfg, &source, &second, Some(&first), &forks, &th, started.elapsed()))
}

/// Runs the check and prints it; returns the exit code.
pub fn run(config_flag: Option<&Path>, args: &CheckArgs) -> i32 {
    let report = gather(config_flag, args).unwrap_or_else(|(e, source)| failed(e, &source));
    let out = match args.format {
        Format::Text => text(&report),
        Format::Json => json(&report),
        Format::Nagios => nagios(&report),
    };
    print!("{out}");
    report.exit_code
}

#[cfg(test)]
mod tests {
    use super::render::table;
    use super::*;
    use crate::model::topology::Severity;

    #[test]
    fn table_aligns_columns() {
        let t = table(&[vec!["a".into(), "bbb".into(), "c".into()], vec!["aaaa".into(), "b".into()]]);
        assert_eq!(t, "  a     bbb  c\n  aaaa  b\n");
    }

    fn two_nodes() -> Config {
        let text = "[[node]]\nname = \"a\"\nhost = \"127.0.0.1\"\nport = 1\npassword = \"s3cret\"\n\
                    [[node]]\nname = \"b\"\nhost = \"127.0.0.1\"\nport = 2\n";
        Config::parse(text, Path::new("t.toml")).unwrap()
    }

    #[test]
    fn nothing_reachable_is_unknown() {
        let cfg = two_nodes();
        let polled: Vec<Polled> = (0..2)
            .map(|_| Polled { result: Err("connection refused".into()), took: Duration::from_millis(1) })
            .collect();
        let r = report(&cfg, "t.toml", &polled, None, &Ok(Vec::new()), &Thresholds::default(), Duration::ZERO);
        assert_eq!((r.state, r.exit_code), (Severity::Unknown, 3));
        assert!(nagios(&r).starts_with("UNKNOWN - no node answered (a (127.0.0.1:1) is down"));
        let t = text(&r);
        assert!(t.contains("DOWN   connection refused"), "{t}");
        assert!(!json(&r).contains("s3cret") && !t.contains("s3cret"));
    }

    #[test]
    fn config_error_is_unknown_in_every_format() {
        let r = failed("x.toml:3: key `port`: bad".into(), "x.toml");
        assert_eq!(r.exit_code, 3);
        assert!(nagios(&r).starts_with("UNKNOWN - x.toml:3"));
        assert!(text(&r).contains("UNKNOWN"));
        let v: serde_json::Value = serde_json::from_str(&json(&r)).unwrap();
        assert_eq!(v["state"], "UNKNOWN");
        assert_eq!(v["exit_code"], 3);
    }
}
