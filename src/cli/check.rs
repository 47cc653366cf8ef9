//! `ringdeck check`: polls every configured node once (concurrently, each poll cut off at the
//! configured timeout), builds the ring topology and prints nodes, links, findings and, when the
//! ring is broken, the node with the most complete data, as text, JSON or a Nagios plugin line.
//! The exit code follows the Nagios convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (config
//! errors, or no node answered at all). Passwords are never printed.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::login::Logins;
use crate::config::{self, Config};
use crate::model::poll::PollError;
use crate::model::replication::NodeStatus;
use crate::model::topology::{
    Finding, FindingKind, LinkState, NodeInput, NodeState, Severity, Shape, Thresholds, Topology, Upstream,
};

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

/// The JSON document (schema version 1, documented in the README).
#[derive(Serialize, Debug)]
pub struct Report {
    pub schema_version: u32,
    pub state: Severity,
    pub exit_code: i32,
    pub summary: String,
    /// Why the check could not run at all (config errors); null otherwise.
    pub error: Option<String>,
    pub config: String,
    pub timeout_ms: u64,
    pub elapsed_ms: u64,
    pub lag_warn_secs: u64,
    pub lag_crit_secs: u64,
    pub nodes: Vec<NodeReport>,
    pub shape: ShapeReport,
    pub links: Vec<LinkReport>,
    pub findings: Vec<FindingReport>,
    pub most_complete: Option<MostCompleteReport>,
}

#[derive(Serialize, Debug)]
pub struct NodeReport {
    pub name: String,
    pub address: String,
    /// `up` or `down`.
    pub state: NodeState,
    pub error: Option<String>,
    pub poll_ms: u64,
    pub version: Option<String>,
    pub dialect: Option<String>,
    pub server_id: Option<u32>,
    pub hostname: Option<String>,
    pub read_only: Option<bool>,
    pub binlog_file: Option<String>,
    pub binlog_pos: Option<u64>,
    pub gtid_binlog_pos: Option<String>,
    pub gtid_slave_pos: Option<String>,
    pub gtid_domain_id: Option<u32>,
    pub auto_increment_increment: Option<u32>,
    pub auto_increment_offset: Option<u32>,
    pub log_slave_updates: Option<bool>,
    pub uptime_secs: Option<u64>,
    pub threads_connected: Option<u32>,
    pub threads_running: Option<u32>,
    pub max_connections: Option<u32>,
}

#[derive(Serialize, Debug)]
pub struct ShapeReport {
    /// `ring`, `chain` or `other`.
    pub kind: &'static str,
    /// Node names in replication order (each replicates from the previous one).
    pub order: Vec<String>,
}

#[derive(Serialize, Debug)]
pub struct LinkReport {
    /// A node name, or `host:port` of a server outside the config.
    pub upstream: String,
    pub upstream_configured: bool,
    pub downstream: String,
    /// MariaDB connection name / MySQL channel; empty for the default.
    pub connection: String,
    /// `running`, `lagging`, `broken` or `unknown`.
    pub state: LinkState,
    pub io_running: bool,
    pub sql_running: bool,
    pub errno: u32,
    pub problem: Option<String>,
    pub seconds_behind: Option<u64>,
    pub bytes_behind: Option<u64>,
    pub behind_by_file: bool,
    pub executed_file: String,
    pub executed_pos: u64,
    pub upstream_file: Option<String>,
    pub upstream_pos: Option<u64>,
}

#[derive(Serialize, Debug)]
pub struct FindingReport {
    pub severity: Severity,
    pub kind: FindingKind,
    pub nodes: Vec<String>,
    pub message: String,
    /// What to do about it (a broken link, by its error; a fork), or null.
    pub advice: Option<String>,
}

#[derive(Serialize, Debug)]
pub struct MostCompleteReport {
    pub node: String,
    pub certain: bool,
    pub reason: String,
    pub evidence: Vec<String>,
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

fn shape_report(shape: &Shape, name: impl Fn(usize) -> String) -> ShapeReport {
    let (kind, order) = match shape {
        Shape::Ring(o) => ("ring", o.clone()),
        Shape::Chain(o) => ("chain", o.clone()),
        Shape::Other => ("other", Vec::new()),
    };
    ShapeReport { kind, order: order.into_iter().map(name).collect() }
}

fn node_report(node: &config::NodeConfig, p: &Polled) -> NodeReport {
    let s = p.result.as_ref().ok();
    NodeReport {
        name: node.name().to_string(),
        address: node.address(),
        state: if s.is_some() { NodeState::Up } else { NodeState::Down },
        error: p.result.as_ref().err().cloned(),
        poll_ms: p.took.as_millis() as u64,
        version: s.map(|s| s.version.clone()),
        dialect: s.map(|s| s.dialect.label().to_string()),
        server_id: s.map(|s| s.vars.server_id),
        hostname: s.map(|s| s.vars.hostname.clone()),
        read_only: s.map(|s| s.vars.read_only),
        binlog_file: s.and_then(|s| s.binlog.as_ref()).map(|b| b.file.clone()),
        binlog_pos: s.and_then(|s| s.binlog.as_ref()).map(|b| b.position),
        gtid_binlog_pos: s.map(|s| s.vars.gtid_binlog_pos.clone()),
        gtid_slave_pos: s.map(|s| s.vars.gtid_slave_pos.clone()),
        gtid_domain_id: s.and_then(|s| s.vars.gtid_domain_id),
        auto_increment_increment: s.map(|s| s.vars.auto_increment_increment),
        auto_increment_offset: s.map(|s| s.vars.auto_increment_offset),
        log_slave_updates: s.map(|s| s.vars.log_slave_updates),
        uptime_secs: s.map(|s| s.counters.uptime),
        threads_connected: s.map(|s| s.counters.threads_connected),
        threads_running: s.map(|s| s.counters.threads_running),
        max_connections: s.map(|s| s.vars.max_connections),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
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

/// Builds the report from the config and the poll results (pure: unit-testable); `before` is an
/// earlier poll of the same nodes, when one was needed to confirm what `polled` shows.
fn report(
    cfg: &Config,
    source: &str,
    polled: &[Polled],
    before: Option<&[Polled]>,
    forks: &Result<Vec<crate::fork::Fork>, String>,
    th: &Thresholds,
    elapsed: Duration,
) -> Report {
    let inputs: Vec<NodeInput<'_>> = cfg
        .nodes
        .iter()
        .zip(polled)
        .enumerate()
        .map(|(i, (n, p))| match &p.result {
            Ok(s) => NodeInput {
                prev: before.and_then(|b| b.get(i)).and_then(|b| b.result.as_ref().ok()),
                ..NodeInput::up(n.name(), &n.host, n.port, s)
            },
            Err(e) => NodeInput::down(n.name(), &n.host, n.port, e),
        })
        .collect();
    let mut topo = Topology::build(&inputs, th);
    topo.add_findings(crate::fork::findings(forks));
    let name = |i: usize| inputs[i].name.to_string();
    let up_count = polled.iter().filter(|p| p.result.is_ok()).count();
    let mut state = topo.severity();
    let summary = if up_count == 0 {
        state = Severity::Unknown;
        format!(
            "no node answered ({})",
            topo.findings.iter().map(|f| one_line(&f.message)).collect::<Vec<_>>().join("; ")
        )
    } else {
        summary(&topo, &inputs)
    };
    Report {
        schema_version: 1,
        state,
        exit_code: state.exit_code(),
        summary,
        error: None,
        config: source.to_string(),
        timeout_ms: cfg.timeout.0.as_millis() as u64,
        elapsed_ms: elapsed.as_millis() as u64,
        lag_warn_secs: th.lag_warn_secs,
        lag_crit_secs: th.lag_crit_secs,
        nodes: cfg.nodes.iter().zip(polled).map(|(n, p)| node_report(n, p)).collect(),
        shape: shape_report(&topo.shape, name),
        links: topo
            .links
            .iter()
            .map(|l| LinkReport {
                upstream: topo.upstream_name(&inputs, l),
                upstream_configured: matches!(l.upstream, Upstream::Node(_)),
                downstream: name(l.downstream),
                connection: l.connection.clone(),
                state: l.state,
                io_running: l.io_running,
                sql_running: l.sql_running,
                errno: l.errno,
                problem: l.problem.clone(),
                seconds_behind: l.seconds_behind,
                bytes_behind: l.bytes_behind,
                behind_by_file: l.behind_by_file,
                executed_file: l.executed.file.clone(),
                executed_pos: l.executed.position,
                upstream_file: l.upstream_at.as_ref().map(|b| b.file.clone()),
                upstream_pos: l.upstream_at.as_ref().map(|b| b.position),
            })
            .collect(),
        findings: topo.findings.iter().map(finding_report).collect(),
        most_complete: topo.most_complete.as_ref().map(|m| MostCompleteReport {
            node: name(m.node),
            certain: m.certain,
            reason: m.reason.clone(),
            evidence: m.evidence.clone(),
        }),
    }
}

fn finding_report(f: &Finding) -> FindingReport {
    FindingReport {
        severity: f.severity,
        kind: f.kind,
        nodes: f.nodes.clone(),
        message: f.message.clone(),
        advice: f.advice.clone(),
    }
}

fn summary(topo: &Topology, inputs: &[NodeInput<'_>]) -> String {
    if let Some(first) = topo.findings.first() {
        let more = topo.findings.len() - 1;
        let mut s = one_line(&first.message);
        if more > 0 {
            s.push_str(&format!(" (+{more} more)"));
        }
        return s;
    }
    let lag = topo.links.iter().filter_map(|l| l.seconds_behind).max().unwrap_or(0);
    let what = match &topo.shape {
        Shape::Ring(o) => {
            let mut names: Vec<&str> = o.iter().map(|i| inputs[*i].name).collect();
            if let Some(first) = names.first().copied() {
                names.push(first);
            }
            format!("ring {}", names.join(" -> "))
        }
        Shape::Chain(o) => format!("chain {}", o.iter().map(|i| inputs[*i].name).collect::<Vec<_>>().join(" -> ")),
        Shape::Other => "replication".to_string(),
    };
    format!("{what}, {} nodes up, max lag {lag} s", inputs.iter().filter(|n| n.state == NodeState::Up).count())
}

/// A report for a check that could not run (config errors): UNKNOWN.
fn failed(error: String, source: &str) -> Report {
    Report {
        schema_version: 1,
        state: Severity::Unknown,
        exit_code: Severity::Unknown.exit_code(),
        summary: error.clone(),
        error: Some(error),
        config: source.to_string(),
        timeout_ms: 0,
        elapsed_ms: 0,
        lag_warn_secs: 0,
        lag_crit_secs: 0,
        nodes: Vec::new(),
        shape: ShapeReport { kind: "other", order: Vec::new() },
        links: Vec::new(),
        findings: Vec::new(),
        most_complete: None,
    }
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

fn json(r: &Report) -> String {
    match serde_json::to_string_pretty(r) {
        Ok(s) => format!("{s}\n"),
        // Only plain strings, numbers and enums: serialization cannot fail, but never panic.
        Err(e) => {
            format!("{{\"schema_version\":1,\"state\":\"UNKNOWN\",\"exit_code\":3,\"error\":{:?}}}\n", e.to_string())
        }
    }
}

fn state_word(s: Severity) -> &'static str {
    match s {
        Severity::Ok => "OK",
        Severity::Warning => "WARNING",
        Severity::Critical => "CRITICAL",
        Severity::Unknown => "UNKNOWN",
    }
}

/// Nagios plugin output: `STATE - summary | perfdata`, then one line per finding.
fn nagios(r: &Report) -> String {
    let clean = |s: &str| one_line(s).replace('|', "/");
    let mut perf = Vec::new();
    let up = r.nodes.iter().filter(|n| n.state == NodeState::Up).count();
    if !r.nodes.is_empty() {
        perf.push(format!("'nodes_up'={up};;;0;{}", r.nodes.len()));
    }
    for n in &r.nodes {
        let into: Vec<&LinkReport> = r.links.iter().filter(|l| l.downstream == n.name).collect();
        if let Some(lag) = into.iter().filter_map(|l| l.seconds_behind).max() {
            perf.push(format!("'lag_{}'={lag}s;{};{};0;", n.name, r.lag_warn_secs, r.lag_crit_secs));
        }
        if let Some(b) = into.iter().filter_map(|l| l.bytes_behind).max() {
            perf.push(format!("'behind_{}'={b}B;;;0;", n.name));
        }
    }
    let mut out = format!("{} - {}", state_word(r.state), clean(&r.summary));
    if !perf.is_empty() {
        out.push_str(" | ");
        out.push_str(&perf.join(" "));
    }
    out.push('\n');
    for f in &r.findings {
        out.push_str(&format!("{}: {}\n", state_word(f.severity), clean(&f.message)));
        if let Some(a) = &f.advice {
            out.push_str(&format!("  advice: {}\n", clean(a)));
        }
    }
    if let Some(m) = &r.most_complete {
        out.push_str(&format!(
            "most complete data: {} ({}): {}\n",
            m.node,
            if m.certain { "certain" } else { "not certain" },
            clean(&m.reason)
        ));
    }
    out
}

/// Left-aligned columns, two spaces apart, each row indented by two.
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> =
        (0..cols).map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::from(" ");
        for (c, cell) in r.iter().enumerate() {
            line.push(' ');
            line.push_str(cell);
            if c + 1 < r.len() {
                line.push_str(&" ".repeat(widths[c] - cell.chars().count() + 1));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or("-".to_string(), T::to_string)
}

fn on_off(v: Option<bool>, on: &str, off: &str) -> String {
    v.map_or("-".to_string(), |b| (if b { on } else { off }).to_string())
}

/// The human format: nodes, ring, links, findings worst first, then the recommendation.
fn text(r: &Report) -> String {
    let mut out = format!("ringdeck check: {} - {}\n", state_word(r.state), one_line(&r.summary));
    if r.error.is_some() {
        return out;
    }
    out.push_str(&format!(
        "config {}; {} node(s) polled in {} ms (timeout {} ms)\n\nNODES\n",
        r.config,
        r.nodes.len(),
        r.elapsed_ms,
        r.timeout_ms
    ));
    let mut rows = vec![
        ["name", "address", "state", "id", "ro", "lsu", "inc/off", "binlog", "gtid", "threads", "uptime", "version"]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    ];
    for n in &r.nodes {
        if n.state != NodeState::Up {
            rows.push(vec![n.name.clone(), n.address.clone(), "DOWN".into()]);
            continue;
        }
        rows.push(vec![
            n.name.clone(),
            n.address.clone(),
            "up".into(),
            opt(&n.server_id),
            on_off(n.read_only, "RO", "rw"),
            on_off(n.log_slave_updates, "on", "OFF"),
            format!("{}/{}", opt(&n.auto_increment_increment), opt(&n.auto_increment_offset)),
            match (&n.binlog_file, n.binlog_pos) {
                (Some(f), Some(p)) => format!("{f}:{p}"),
                _ => "-".into(),
            },
            n.gtid_binlog_pos.clone().filter(|g| !g.is_empty()).unwrap_or_else(|| "-".into()),
            format!("{}/{}", opt(&n.threads_connected), opt(&n.max_connections)),
            n.uptime_secs.map_or("-".into(), |u| crate::fmt::duration(Duration::from_secs(u))),
            opt(&n.version),
        ]);
    }
    // A down node's row ends after its state, followed by the error (not squeezed into a column).
    for (line, n) in table(&rows).lines().zip(std::iter::once(None).chain(r.nodes.iter().map(Some))) {
        out.push_str(line);
        if let Some(n) = n.filter(|n| n.state != NodeState::Up) {
            out.push_str(&format!("   {}", opt(&n.error)));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "\nSHAPE  {}\n",
        match r.shape.kind {
            "ring" => {
                let mut o = r.shape.order.clone();
                if let Some(f) = o.first().cloned() {
                    o.push(f);
                }
                format!("ring {}", o.join(" -> "))
            }
            "chain" => match r.nodes.iter().find(|n| Some(&n.name) == r.shape.order.first()) {
                Some(head) if head.state != NodeState::Up => format!(
                    "{} (a chain as far as known: {} is down, its own link is unknown)",
                    r.shape.order.join(" -> "),
                    head.name
                ),
                _ => format!("chain {} (not closed)", r.shape.order.join(" -> ")),
            },
            _ => "not one ring or chain".to_string(),
        }
    ));
    out.push_str("\nLINKS\n");
    if r.links.is_empty() {
        out.push_str("  (none)\n");
    }
    let rows: Vec<Vec<String>> = r
        .links
        .iter()
        .map(|l| {
            let conn = if l.connection.is_empty() { String::new() } else { format!(" ['{}']", l.connection) };
            let behind = match (l.bytes_behind, l.behind_by_file) {
                (Some(b), _) => format!("{b} B behind"),
                (None, true) => "behind by file".into(),
                _ => "-".into(),
            };
            vec![
                format!("{} -> {}{conn}", l.upstream, l.downstream),
                format!("{:?}", l.state).to_ascii_lowercase(),
                l.seconds_behind.map_or("lag -".into(), |s| format!("lag {s} s")),
                behind,
                format!("exec {}:{}", l.executed_file, l.executed_pos),
                l.problem.clone().unwrap_or_default(),
            ]
        })
        .collect();
    out.push_str(&table(&rows));
    out.push_str("\nFINDINGS (worst first)\n");
    if r.findings.is_empty() {
        out.push_str("  none\n");
    }
    let rows: Vec<Vec<String>> =
        r.findings.iter().map(|f| vec![state_word(f.severity).to_string(), f.message.clone()]).collect();
    out.push_str(&table(&rows));
    for f in r.findings.iter().filter(|f| f.advice.is_some()) {
        out.push_str(&format!("  advice ({}): {}\n", f.nodes.join(", "), f.advice.as_deref().unwrap_or("")));
    }
    if let Some(m) = &r.most_complete {
        out.push_str(&format!(
            "\nMOST COMPLETE DATA: {} ({})\n  {}\n  evidence:\n",
            m.node,
            if m.certain { "certain" } else { "NOT certain" },
            m.reason
        ));
        for e in &m.evidence {
            out.push_str(&format!("    {e}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
