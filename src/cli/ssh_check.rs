//! `ringdeck ssh-check [--node NAME] [--accept-new SHA256:...]`: connects to every node's SSH (or
//! one), all at once, runs `uname -n` and `df -Pk -- <data_dir>`, and prints per node OK or the
//! error: an unknown host key with its fingerprint and how to accept it, a changed key refused.
//! Exit 0 when every checked node is OK, 1 otherwise (config errors included).

use std::path::Path;
use std::time::Duration;

use crate::config::{Config, NodeConfig};
use crate::ssh::{HostKeyPolicy, Session, SshError, SshTarget, connect};

/// `ringdeck ssh-check` options (`--config` is the global one).
#[derive(clap::Args, Debug)]
pub struct SshCheckArgs {
    /// Check only this node.
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Accept an unknown host key with exactly this fingerprint (as a previous run printed it)
    /// and add it to the node's known_hosts; repeat it for several hosts, each host's key must
    /// match one of them. A changed key is never accepted.
    #[arg(long, value_name = "SHA256:...")]
    pub accept_new: Vec<String>,
}

/// What one node's check found.
#[derive(Debug)]
pub struct NodeResult {
    pub node: String,
    /// `user@host:port`, when the node has an SSH target.
    pub target: Option<String>,
    pub outcome: Result<NodeInfo, NodeFailure>,
}

#[derive(Debug)]
pub struct NodeInfo {
    /// `uname -n`.
    pub hostname: String,
    /// The data_dir line, when the node has one.
    pub data_dir: Option<String>,
}

#[derive(Debug)]
pub struct NodeFailure {
    pub message: String,
    /// What to do about it, when there is something to say.
    pub hint: Option<String>,
}

/// `df -Pk` output for one path: "DIR: 1.2 GiB free of 9.8 GiB (87% used) on /mnt".
fn describe_df(dir: &str, out: &str) -> Result<String, String> {
    let line = out.lines().nth(1).ok_or_else(|| format!("df printed no line for {dir}"))?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.len() < 6 {
        return Err(format!("odd df line: {line}"));
    }
    let kb = |s: &str| s.parse::<u64>().map_err(|_| format!("odd df line: {line}"));
    let (total, avail) = (kb(fields[1])?, kb(fields[3])?);
    let mount = fields[5..].join(" ");
    Ok(format!("{dir}: {} free of {} ({} used) on {mount}", size(avail), size(total), fields[4]))
}

fn size(kb: u64) -> String {
    let gib = kb as f64 / (1024.0 * 1024.0);
    if gib >= 1.0 { format!("{gib:.1} GiB") } else { format!("{:.0} MiB", kb as f64 / 1024.0) }
}

/// The usual OpenSSH host key file for a key type.
fn host_key_file(key_type: &str) -> &'static str {
    if key_type.starts_with("ecdsa") {
        "ssh_host_ecdsa_key.pub"
    } else if key_type.contains("rsa") {
        "ssh_host_rsa_key.pub"
    } else {
        "ssh_host_ed25519_key.pub"
    }
}

fn hint_for(e: &SshError) -> Option<String> {
    match e {
        SshError::UnknownHostKey { fingerprint, key_type, .. } => Some(format!(
            "compare with the key on the host itself (there: `ssh-keygen -lf /etc/ssh/{}`), then re-run \
             with --accept-new {fingerprint}",
            host_key_file(key_type)
        )),
        SshError::FingerprintMismatch { fingerprint, .. } => Some(format!(
            "the host shows {fingerprint}: if that is really its key, re-run with --accept-new {fingerprint}"
        )),
        SshError::ChangedHostKey(c) => {
            let name = crate::ssh::known_hosts::host_entry_name(&c.host, c.port);
            Some(format!(
                "find out why the key changed before anything else; only then remove the old entry with \
                 `ssh-keygen -R '{name}' -f {}` and re-run",
                c.known_hosts.display()
            ))
        }
        _ => None,
    }
}

async fn check_node(node: &NodeConfig, timeout: Duration, policy: &HostKeyPolicy) -> NodeResult {
    let name = node.name().to_string();
    let target = match SshTarget::for_node(node, timeout) {
        Ok(t) => t,
        Err(message) => {
            return NodeResult { node: name, target: None, outcome: Err(NodeFailure { message, hint: None }) };
        }
    };
    let label = target.label();
    let outcome = match connect(&target, policy).await {
        Err(e) => Err(NodeFailure { hint: hint_for(&e), message: e.to_string() }),
        Ok(session) => {
            let r = probe(&session, node, timeout).await;
            session.close().await;
            r
        }
    };
    NodeResult { node: name, target: Some(label), outcome }
}

async fn probe(session: &Session, node: &NodeConfig, timeout: Duration) -> Result<NodeInfo, NodeFailure> {
    let fail = |e: SshError| NodeFailure { message: e.to_string(), hint: None };
    let hostname = session.run_ok(&["uname".into(), "-n".into()], timeout).await.map_err(fail)?;
    let data_dir = match &node.data_dir {
        None => None,
        Some(dir) => {
            let dir = dir.display().to_string();
            let out =
                session.run_ok(&["df".into(), "-Pk".into(), "--".into(), dir.clone()], timeout).await.map_err(fail)?;
            Some(describe_df(&dir, &out).map_err(|message| NodeFailure { message, hint: None })?)
        }
    };
    Ok(NodeInfo { hostname: hostname.trim().to_string(), data_dir })
}

/// Checks the selected nodes, all at once.
pub async fn check(cfg: &Config, only: Option<&str>, policy: &HostKeyPolicy) -> Result<Vec<NodeResult>, String> {
    let nodes: Vec<&NodeConfig> = match only {
        None => cfg.nodes.iter().collect(),
        Some(name) => match cfg.node(name) {
            Some(n) => vec![n],
            None => {
                let names: Vec<&str> = cfg.nodes.iter().map(NodeConfig::name).collect();
                return Err(format!("no node named {name:?} in the config (nodes: {})", names.join(", ")));
            }
        },
    };
    if nodes.is_empty() {
        return Err("the config names no [[node]]".into());
    }
    let timeout = cfg.timeout.0;
    Ok(futures_util::future::join_all(nodes.into_iter().map(|n| check_node(n, timeout, policy))).await)
}

/// The printed report.
pub fn render(results: &[NodeResult]) -> String {
    let width = results.iter().map(|r| r.node.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for r in results {
        let target = r.target.as_deref().unwrap_or_default();
        match &r.outcome {
            Ok(info) => {
                out.push_str(&format!("{:<width$}  OK      {target}  host {}\n", r.node, info.hostname));
                if let Some(d) = &info.data_dir {
                    out.push_str(&format!("{:<width$}          data_dir {d}\n", ""));
                }
            }
            Err(f) => {
                out.push_str(format!("{:<width$}  FAILED  {target}", r.node).trim_end());
                out.push('\n');
                out.push_str(&format!("{:<width$}          {}\n", "", f.message));
                if let Some(h) = &f.hint {
                    out.push_str(&format!("{:<width$}          hint: {h}\n", ""));
                }
            }
        }
    }
    let ok = results.iter().filter(|r| r.outcome.is_ok()).count();
    out.push_str(&format!("{ok} of {} nodes OK\n", results.len()));
    out
}

/// Runs `ringdeck ssh-check`; returns the exit code.
pub fn run(config_flag: Option<&Path>, args: &SshCheckArgs) -> i32 {
    match run_inner(config_flag, args) {
        Ok((text, all_ok)) => {
            print!("{text}");
            if all_ok { 0 } else { 1 }
        }
        Err(e) => {
            eprintln!("ringdeck ssh-check: {e}");
            1
        }
    }
}

fn run_inner(config_flag: Option<&Path>, args: &SshCheckArgs) -> Result<(String, bool), String> {
    let cfg = crate::cli::start::config(config_flag, false).map_err(|e| e.message)?.cfg;
    let policy = if args.accept_new.is_empty() {
        HostKeyPolicy::Strict
    } else {
        HostKeyPolicy::AcceptNew { fingerprints: args.accept_new.clone() }
    };
    let rt = crate::cli::start::runtime().map_err(|e| e.message)?;
    let results = rt.block_on(check(&cfg, args.node.as_deref(), &policy))?;
    let all_ok = results.iter().all(|r| r.outcome.is_ok());
    Ok((render(&results), all_ok))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn df_lines() {
        let out = "Filesystem     1024-blocks      Used Available Capacity Mounted on\n\
                   /dev/sda1         51475068  36561696  12275996      75% /var/lib/mysql data\n";
        assert_eq!(
            describe_df("/var/lib/mysql", out).unwrap(),
            "/var/lib/mysql: 11.7 GiB free of 49.1 GiB (75% used) on /var/lib/mysql data"
        );
        assert!(describe_df("/x", "Filesystem\n").is_err());
        assert!(describe_df("/x", "h\nfs a b c d e\n").is_err());
        assert_eq!(size(512), "0 MiB");
        assert_eq!(size(10 * 1024), "10 MiB");
    }

    #[test]
    fn report_shows_hints() {
        let results = vec![
            NodeResult {
                node: "node1".into(),
                target: Some("u@h:22".into()),
                outcome: Ok(NodeInfo { hostname: "db1".into(), data_dir: Some("/d: 1 GiB free".into()) }),
            },
            NodeResult {
                node: "n2".into(),
                target: Some("u@h:2222".into()),
                outcome: Err(NodeFailure { message: "unknown host key".into(), hint: Some("re-run".into()) }),
            },
        ];
        let text = render(&results);
        assert!(text.contains("node1  OK      u@h:22  host db1\n"), "{text}");
        assert!(text.contains("\n               data_dir /d"), "{text}");
        assert!(text.contains("data_dir /d: 1 GiB free"), "{text}");
        assert!(text.contains("n2     FAILED  u@h:2222\n"), "{text}");
        assert!(text.contains("hint: re-run"), "{text}");
        assert!(text.ends_with("1 of 2 nodes OK\n"), "{text}");
    }
}
