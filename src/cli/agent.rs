//! `ringdeck agent`: the HAProxy agent (see `crate::agent`), or with `--once` what it would
//! answer now, one line per pool and node, with a Nagios-style exit code (0 every node in,
//! 1 a weight cut, 2 a node out, 3 unknown).

use std::path::Path;

use super::start::{self, CliError};
use crate::agent::policy::{self, Class};
use crate::agent::run::Listen;
use crate::agent::wire;
use crate::model::topology::{Severity, stale_after};

/// `ringdeck agent` options (`--config` is the global one).
#[derive(clap::Args, Debug)]
pub struct AgentArgs {
    /// Where HAProxy's agent-check connects (default: `[agent] listen`, 127.0.0.1:9777).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// Where HTTP checks, /health and /metrics are served (default: `[agent] http`, 127.0.0.1:9778).
    #[arg(long, value_name = "ADDR:PORT")]
    pub http: Option<String>,
    /// Poll every node once, print what would be answered now and exit.
    #[arg(long)]
    pub once: bool,
    /// With --once: only this node.
    #[arg(long, value_name = "NAME", requires = "once")]
    pub node: Option<String>,
    /// With --once: only this pool.
    #[arg(long, value_name = "NAME", requires = "once")]
    pub pool: Option<String>,
}

/// Runs the command; returns the exit code.
pub fn run(config_flag: Option<&Path>, args: &AgentArgs) -> i32 {
    start::finish("agent", agent(config_flag, args))
}

fn agent(config_flag: Option<&Path>, args: &AgentArgs) -> Result<i32, CliError> {
    let loaded = start::config(config_flag, false)?;
    let mut cfg = loaded.cfg;
    if cfg.nodes.is_empty() {
        return Err(CliError::usage(format!(
            "{} names no [[node]]: the agent has nothing to answer for",
            loaded.path.display()
        )));
    }
    // The agent polls nodes only: no logins or collectors for the rest.
    cfg.haproxies.clear();
    cfg.apaches.clear();
    cfg.probes.clear();
    for w in &cfg.warnings {
        eprintln!("ringdeck agent: warning: {w}");
    }
    let logins = start::logins(&cfg)?;
    let rt = start::runtime()?;
    if args.once {
        return rt.block_on(once(&cfg, &logins, args));
    }
    let at = Listen {
        agent: args.listen.clone().unwrap_or_else(|| cfg.agent.listen.clone()),
        http: args.http.clone().unwrap_or_else(|| cfg.agent.http.clone()),
    };
    rt.block_on(crate::agent::run::run(cfg, logins, at)).map_err(CliError::failed)?;
    Ok(0)
}

async fn once(
    cfg: &crate::config::Config,
    logins: &crate::config::login::Logins,
    args: &AgentArgs,
) -> Result<i32, CliError> {
    if let Some(n) = &args.node
        && cfg.node(n).is_none()
    {
        return Err(CliError::usage(format!("no [[node]] is named {n:?}")));
    }
    let names: Vec<&str> = cfg.nodes.iter().map(|n| n.name()).collect();
    let pools = policy::pools(&cfg.agent, &names);
    if let Some(p) = &args.pool
        && !pools.iter().any(|x| &x.name == p)
    {
        return Err(CliError::usage(format!("no [[agent.pool]] is named {p:?}")));
    }
    let polled = crate::db::read_all(cfg, logins, cfg.timeout.0).await;
    let inputs = crate::db::node_inputs(cfg, &polled);
    let deadline = stale_after(cfg.poll_interval.0);
    let topo = crate::agent::topology(&inputs, cfg, deadline);
    let holds = crate::agent::holds(cfg);
    let own = crate::agent::own_verdicts(cfg, &pools, &inputs, &topo, &holds, deadline);
    let mut worst = Severity::Ok;
    for (pi, pool) in pools.iter().enumerate() {
        if args.pool.as_ref().is_some_and(|p| p != &pool.name) {
            continue;
        }
        let mut v = own[pi].clone();
        policy::fail_safe(&mut v, &inputs, &topo, pool);
        for &ni in &pool.nodes {
            let name = names[ni];
            if args.node.as_ref().is_some_and(|n| n != name) {
                continue;
            }
            let (line, severity) = match &v[ni] {
                Some(v) => (
                    wire::agent_line(v, false),
                    match v.class {
                        Class::Up if v.weight == 100 => Severity::Ok,
                        Class::Up => Severity::Warning,
                        _ => Severity::Critical,
                    },
                ),
                None => ("(no answer: never polled)".to_string(), Severity::Unknown),
            };
            worst = worst.max(severity);
            println!("{:<12} {:<12} {line}", pool.name, name);
        }
    }
    Ok(worst.exit_code())
}
