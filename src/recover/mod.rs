//! Guided recovery of a broken ring (seed 001's nine steps) and the rejoin of a bypassed node:
//! planning from the config and the last samples (pure), the saved wizard state, running each step
//! over SQL and SSH with its post-checks and audit record, and `ringdeck recover`.

pub mod exec;
pub mod files;
pub mod lock;
pub mod state;
pub mod stopped;

use std::collections::BTreeMap;

use crate::config::Config;
use crate::model::replication::NodeStatus;
use crate::model::topology::{NodeInput, Thresholds, Topology, Upstream};
pub use exec::{Ctx, Event, run_next};
pub use state::{Procedure, RecoveryState, StepKind};

/// A shell word for the operator to copy (the same quoting the SSH commands use).
pub(crate) fn files_quote(s: &str) -> String {
    crate::ssh::command_line(&[s])
}

pub fn procedure_name(p: &Procedure) -> String {
    match p {
        Procedure::Rebuild => "rebuild the ring".into(),
        Procedure::Rejoin { node, donor } => format!("rejoin {node} from {donor}"),
    }
}

/// `(backend, server, address, port)` of every server in `show servers state` output (columns
/// by the header line; the first line is the format version).
pub fn haproxy_servers(text: &str) -> Vec<(String, String, String, u16)> {
    let mut header: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(h) = line.strip_prefix('#') {
            header = h.split_whitespace().collect();
            continue;
        }
        let cols: Vec<&str> = line.split_whitespace().collect();
        let get = |k: &str| header.iter().position(|h| *h == k).and_then(|i| cols.get(i)).copied();
        if let (Some(b), Some(s), Some(a)) = (get("be_name"), get("srv_name"), get("srv_addr")) {
            let port = get("srv_port").and_then(|p| p.parse().ok()).unwrap_or(0);
            out.push((b.to_string(), s.to_string(), a.to_string(), port));
        }
    }
    out
}

/// The ring to rebuild: each node's upstream. The current links where they point at configured
/// nodes and form one circle through every node; else the config order (node i from node i-1).
pub fn plan_upstreams(cfg: &Config, statuses: &[(&str, Option<&NodeStatus>)]) -> (BTreeMap<String, String>, String) {
    let names: Vec<String> = cfg.nodes.iter().map(|n| n.name().to_string()).collect();
    let by_config: BTreeMap<String, String> =
        (0..names.len()).map(|i| (names[i].clone(), names[(i + names.len() - 1) % names.len()].clone())).collect();
    let inputs = inputs(cfg, statuses);
    let topo = Topology::build(&inputs, &Thresholds::default());
    let mut found = BTreeMap::new();
    for l in &topo.links {
        if let Upstream::Node(u) = l.upstream {
            found.insert(names[l.downstream].clone(), names[u].clone());
        }
    }
    let circle = found.len() == names.len() && {
        let mut seen = vec![names[0].clone()];
        let mut cur = names[0].clone();
        while let Some(up) = found.get(&cur) {
            if seen.contains(up) {
                break;
            }
            seen.push(up.clone());
            cur = up.clone();
        }
        seen.len() == names.len() && found.get(&cur) == Some(&names[0])
    };
    if circle {
        (found, "the current links".into())
    } else {
        (by_config, "the config order (the current links do not form one circle)".into())
    }
}

fn inputs<'a>(cfg: &'a Config, statuses: &[(&'a str, Option<&'a NodeStatus>)]) -> Vec<NodeInput<'a>> {
    cfg.nodes
        .iter()
        .map(|n| match statuses.iter().find(|(name, _)| *name == n.name()).and_then(|(_, s)| *s) {
            Some(s) => NodeInput::up(n.name(), &n.host, n.port, s),
            None => NodeInput::down(n.name(), &n.host, n.port, "no sample"),
        })
        .collect()
}

/// The model's proposal for step 3 with its evidence, if the ring is broken.
pub fn propose_source(cfg: &Config, statuses: &[(&str, Option<&NodeStatus>)]) -> Option<(String, Vec<String>)> {
    let inputs = inputs(cfg, statuses);
    let topo = Topology::build(&inputs, &Thresholds::default());
    topo.most_complete.map(|m| {
        let mut why = vec![m.reason.clone()];
        why.extend(m.evidence.iter().cloned());
        if !m.certain {
            why.push("several breaks: this is a judgement call, check the evidence".into());
        }
        (inputs[m.node].name.to_string(), why)
    })
}

/// A fresh rebuild for the current state of the ring; refused for fewer than two nodes.
pub fn new_rebuild(
    cfg: &Config,
    statuses: &[(&str, Option<&NodeStatus>)],
    config_path: &std::path::Path,
    source: Option<String>,
) -> Result<RecoveryState, String> {
    if cfg.nodes.len() < 2 {
        return Err(format!("the config names {} [[node]]: a ring to rebuild needs at least two", cfg.nodes.len()));
    }
    let nodes: Vec<String> = cfg.nodes.iter().map(|n| n.name().to_string()).collect();
    let mut st = RecoveryState::new(
        Procedure::Rebuild,
        nodes,
        config_path.to_path_buf(),
        crate::fmt::rfc3339(std::time::SystemTime::now()),
    );
    st.upstreams = plan_upstreams(cfg, statuses).0;
    st.source = source.or_else(|| propose_source(cfg, statuses).map(|p| p.0));
    Ok(st)
}

/// A rejoin of `node` (bypassed: nobody replicates from it) after `donor`, its old upstream:
/// `node` will replicate from `donor`, and `donor`'s current downstream from `node`.
pub fn new_rejoin(
    cfg: &Config,
    statuses: &[(&str, Option<&NodeStatus>)],
    config_path: &std::path::Path,
    node: &str,
    donor: &str,
) -> Result<RecoveryState, String> {
    if cfg.node(node).is_none() || cfg.node(donor).is_none() || node == donor {
        return Err(format!("rejoin needs two different configured nodes (got {node:?} and {donor:?})"));
    }
    let inputs = inputs(cfg, statuses);
    let topo = Topology::build(&inputs, &Thresholds::default());
    let di = cfg.nodes.iter().position(|n| n.name() == donor).ok_or("donor not configured")?;
    let downstream = topo
        .links
        .iter()
        .find(|l| l.upstream == Upstream::Node(di) && inputs[l.downstream].name != node)
        .map(|l| inputs[l.downstream].name.to_string())
        .ok_or_else(|| format!("no node replicates from {donor} now: bypass {node} first (ringdeck run bypass)"))?;
    let mut st = RecoveryState::new(
        Procedure::Rejoin { node: node.to_string(), donor: donor.to_string() },
        cfg.nodes.iter().map(|n| n.name().to_string()).collect(),
        config_path.to_path_buf(),
        crate::fmt::rfc3339(std::time::SystemTime::now()),
    );
    st.upstreams.insert(node.to_string(), donor.to_string());
    st.upstreams.insert(downstream, node.to_string());
    Ok(st)
}

/// What a step will do, on which host, one line each (for the wizard and `recover --plan`).
pub fn preview(cfg: &Config, st: &RecoveryState, kind: StepKind) -> Vec<String> {
    let host = |n: &str| {
        cfg.node(n).map_or_else(
            || format!("{n} (not configured!)"),
            |c| match &c.ssh {
                Some(s) => format!("{n} (ssh {}@{}:{})", s.user, s.host.as_deref().unwrap_or(&c.host), s.port),
                None => format!("{n} (no [node.ssh] configured!)"),
            },
        )
    };
    let dir = |n: &str| {
        cfg.node(n)
            .and_then(|c| c.data_dir.as_ref())
            .map_or("(no data_dir configured!)".into(), |d| d.display().to_string())
    };
    let cmd = |n: &str, start: bool| {
        cfg.node(n)
            .and_then(|c| if start { c.start_command.clone() } else { c.stop_command.clone() })
            .map_or("(no command configured!)".into(), |c| crate::ssh::command_line(&c))
    };
    let src = st.source.clone().unwrap_or_else(|| "(not chosen yet)".into());
    let targets = |k| exec_nodes(st, k);
    match kind {
        StepKind::Quiesce => {
            let mut v = vec![
                "show every node's process list; client connections (not replication, system or ringdeck's own) must go"
                    .to_string(),
                "put the HAProxy servers of the nodes into maint (admin socket), so no new writes arrive".to_string(),
                "watch that every node's binlog position stays unchanged".to_string(),
            ];
            v.extend(targets(kind).iter().map(|n| format!("  {n}: SHOW PROCESSLIST, SHOW MASTER STATUS")));
            v
        }
        StepKind::Backup => targets(kind)
            .iter()
            .flat_map(|n| {
                [
                    format!("{}: check free space for a copy of {}", host(n), dir(n)),
                    format!(
                        "  stop: {} (proven on the host); cp -a {} {}.ringdeck-backup-<time>.partial; sha256 of every \
                         file compared; renamed with its manifest .sha256; start: {}",
                        cmd(n, false),
                        dir(n),
                        dir(n),
                        cmd(n, true)
                    ),
                ]
            })
            .collect(),
        StepKind::PickSource => vec![
            format!("source: {src}"),
            "the model proposes the failed node's upstream (it has every event that went around); you may choose another"
                .into(),
        ],
        StepKind::StopSlaves => targets(kind).iter().map(|n| format!("{n}: STOP SLAVE (each connection)")).collect(),
        StepKind::Reset => {
            let mut v = vec!["first: every node's backup in place with the manifest recorded in step 2".to_string()];
            v.extend(targets(kind).iter().map(|n| format!("{n}: RESET MASTER; RESET SLAVE ALL")));
            v
        }
        StepKind::Shutdown => targets(kind)
            .iter()
            .map(|n| format!("{}: {}, then wait until the host proves it stopped", host(n), cmd(n, false)))
            .collect(),
        StepKind::Copy => st
            .copy_targets()
            .iter()
            .map(|t| {
                format!(
                    "{src}:{} -> {t}:{} through ringdeck (tar over two SSH sessions), leaving out binlogs, relay logs, \
                     *.info, auto.cnf, pid/socket/error files; first the target's backup checked and both servers \
                     proven stopped on their hosts; the target is emptied; then sha256 of every file compared",
                    st.source.as_deref().map_or(String::new(), dir),
                    dir(t)
                )
            })
            .collect(),
        StepKind::Start => targets(kind).iter().map(|n| format!("{}: {}, wait until it answers", host(n), cmd(n, true))).collect(),
        StepKind::Reconnect => {
            let mut v: Vec<String> = st
                .upstreams
                .iter()
                .map(|(d, u)| format!("{d}: CHANGE MASTER TO {u}'s current binlog coordinates (read now, writes blocked); START SLAVE"))
                .collect();
            v.push("wait until every link runs, then compare table checksums on every node (verify)".into());
            v.push("take the HAProxy servers out of maint".into());
            v
        }
    }
}

/// The nodes a step acts on.
pub(crate) fn exec_nodes(st: &RecoveryState, kind: StepKind) -> Vec<String> {
    match (&st.procedure, kind) {
        (Procedure::Rebuild, _) | (_, StepKind::Quiesce) => st.nodes.clone(),
        (Procedure::Rejoin { node, donor }, StepKind::Shutdown | StepKind::Start) => vec![node.clone(), donor.clone()],
        (Procedure::Rejoin { node, .. }, _) => vec![node.clone()],
    }
}

/// The plan as text: every step with what it does where; done steps marked.
pub fn plan_text(cfg: &Config, st: &RecoveryState) -> String {
    let mut out = format!("{} ({} steps)\n", procedure_name(&st.procedure), st.steps.len());
    for (i, k) in st.steps.iter().enumerate() {
        let mark = if i < st.current {
            "done"
        } else if i == st.current && st.interrupted {
            "INTERRUPTED, runs again"
        } else if i == st.current {
            "next"
        } else {
            ""
        };
        let danger = if k.destructive() { "  [destructive: type the source node's name]" } else { "" };
        out.push_str(&format!(
            "{:>2}. {}{}{}\n",
            i + 1,
            k.title(),
            if mark.is_empty() { String::new() } else { format!("  ({mark})") },
            danger
        ));
        for l in preview(cfg, st, *k) {
            out.push_str(&format!("      {l}\n"));
        }
    }
    out
}

/// Compares table checksums on every node after step 9: `(all equal, report lines)`.
pub(crate) async fn verify_ring(
    ctx: &Ctx,
    tx: &tokio::sync::mpsc::UnboundedSender<Event>,
) -> Result<(bool, Vec<String>), String> {
    let _ = tx.send(Event::Line("verify: comparing table checksums on every node".into()));
    let report = crate::verify::verify(&ctx.cfg, &ctx.logins, &crate::verify::VerifyOpts::default(), None)
        .await
        .map_err(|e| e.to_string())?;
    Ok((report.all_equal(), crate::verify::text(&report).lines().map(str::to_string).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_state_columns_by_header() {
        let text = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight \
                    srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state \
                    srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord\n\
                    3 mysql 1 node1 127.0.0.1 2 0 1 1 61 6 3 4 6 0 0 0 - 33301 -\n\
                    3 mysql 2 node2 127.0.0.1 2 0 1 1 61 6 3 4 6 0 0 0 - 33302 -\n";
        let s = haproxy_servers(text);
        assert_eq!(s.len(), 2);
        assert_eq!(s[1], ("mysql".into(), "node2".into(), "127.0.0.1".into(), 33302));
        assert!(haproxy_servers("garbage\n\n# x y\n1 2\n").is_empty());
    }
}
