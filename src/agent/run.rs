//! The agent's loop: node collectors feed samples in, the answers are made again after each
//! batch of samples (and at least once per poll interval, so an old sample ages into `down` even
//! when no collector reports), and published for the listeners. SIGTERM or Ctrl-C ends it.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use super::serve::{Protocol, Shared, listen};
use super::{Agent, Board};
use crate::app::collected::Collected;
use crate::collect::Update;
use crate::config::Config;
use crate::config::login::Logins;

/// Samples that arrive within this of the first are judged together.
const BATCH: Duration = Duration::from_millis(50);

/// Where to listen (the `[agent]` addresses unless the command line says otherwise).
pub struct Listen {
    pub agent: String,
    pub http: String,
}

async fn bind(addr: &str, what: &str) -> Result<TcpListener, String> {
    TcpListener::bind(addr).await.map_err(|e| format!("cannot listen for {what} on {addr}: {e}"))
}

/// Runs until SIGTERM or Ctrl-C. `cfg` should hold only the nodes (nothing else is polled).
pub async fn run(cfg: Config, logins: Logins, at: Listen) -> Result<(), String> {
    let agent_l = bind(&at.agent, "HAProxy's agent-check").await?;
    let http_l = bind(&at.http, "HTTP checks and metrics").await?;
    let (tx, mut rx) = mpsc::channel::<Update>(256);
    let start = tokio::time::Instant::now();
    let _now = crate::collect::spawn_nodes(&cfg, &logins, &tx, start, true);
    let (board_tx, board_rx) = watch::channel(Arc::new(Board::default()));
    let shared = Shared::new(board_rx, &cfg);
    tokio::spawn(listen(agent_l, Protocol::Agent, shared.clone()));
    tokio::spawn(listen(http_l, Protocol::Http, shared.clone()));
    eprintln!(
        "ringdeck agent: watching {} node(s) every {}; agent-check on {}, HTTP on {} (allow: {})",
        cfg.nodes.len(),
        crate::fmt::duration(cfg.poll_interval.0),
        at.agent,
        at.http,
        cfg.agent.allow.join(", ")
    );
    let mut data = Collected::new(&cfg);
    let mut agent = Agent::new(&cfg);
    let mut tick = tokio::time::interval(cfg.poll_interval.0);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut due: Option<tokio::time::Instant> = None;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("cannot watch SIGTERM: {e}"))?;
    loop {
        let batch_due = async {
            match due {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            m = rx.recv() => {
                let Some(u) = m else { return Err("every collector ended".into()) };
                if let Update::Node(p) = &u
                    && let Some(n) = agent.polls.get_mut(p.index)
                {
                    *n += 1;
                }
                data.apply(u);
                due.get_or_insert_with(|| tokio::time::Instant::now() + BATCH);
            }
            _ = batch_due => {
                due = None;
                let _ = board_tx.send(Arc::new(agent.evaluate(&data, std::time::Instant::now())));
            }
            _ = tick.tick() => {
                let _ = board_tx.send(Arc::new(agent.evaluate(&data, std::time::Instant::now())));
            }
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        }
    }
    eprintln!("ringdeck agent: stopping; HAProxy keeps each server as last answered");
    Ok(())
}
