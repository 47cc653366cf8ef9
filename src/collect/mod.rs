//! Collectors: one task per target, each polling once per interval (every operation under a
//! timeout) and sending an [`Update`] to the UI over a channel. The UI never awaits the network.

pub mod apache;
pub mod haproxy;
pub mod node;
pub mod probe;

use std::future::Future;
use std::time::{Duration, Instant};

use std::sync::Arc;

use futures_util::FutureExt;
use tokio::sync::{Notify, mpsc};

use crate::config::Config;
use crate::config::login::Logins;
use crate::crash::Contained;
use crate::model::apache::ApacheStatus;
use crate::model::haproxy::HaproxyStats;
use crate::model::replication::NodeStatus;

/// Which configured target an update is about (index into the config's list of that kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TargetId {
    Node(usize),
    Haproxy(usize),
    Apache(usize),
    Probe(usize),
}

/// One poll of target `index` (of its kind): when it finished and what it read.
#[derive(Clone, Debug)]
pub struct Polled<T> {
    pub index: usize,
    pub at: Instant,
    pub result: Result<T, PollError>,
}

/// One poll's outcome; the kind of target carries the type of its sample.
#[derive(Clone, Debug)]
pub enum Update {
    Node(Polled<Box<NodeStatus>>),
    Haproxy(Polled<HaproxyStats>),
    Apache(Polled<ApacheStatus>),
    Probe(Polled<ProbeSample>),
}

impl Update {
    /// Which target it is about.
    pub fn target(&self) -> TargetId {
        match self {
            Update::Node(p) => TargetId::Node(p.index),
            Update::Haproxy(p) => TargetId::Haproxy(p.index),
            Update::Apache(p) => TargetId::Apache(p.index),
            Update::Probe(p) => TargetId::Probe(p.index),
        }
    }

    /// The poll's error, or "" when it answered.
    pub fn error_text(&self) -> &str {
        let e = match self {
            Update::Node(p) => p.result.as_ref().err(),
            Update::Haproxy(p) => p.result.as_ref().err(),
            Update::Apache(p) => p.result.as_ref().err(),
            Update::Probe(p) => p.result.as_ref().err(),
        };
        e.map_or("", |e| e.message.as_str())
    }

    /// Whether the poll answered.
    pub fn is_ok(&self) -> bool {
        match self {
            Update::Node(p) => p.result.is_ok(),
            Update::Haproxy(p) => p.result.is_ok(),
            Update::Apache(p) => p.result.is_ok(),
            Update::Probe(p) => p.result.is_ok(),
        }
    }
}

/// A probe's round trip (both tries when the first was sent again), and why it was sent again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeSample {
    pub took: Duration,
    pub retried: Option<String>,
}

pub use crate::model::poll::PollError;

/// A target that can be polled. `poll` is called once per interval and is cut off at the timeout.
pub trait Collector: Send + 'static {
    /// What one poll reads.
    type Sample: Send + 'static;
    fn poll(&mut self) -> impl Future<Output = Result<Self::Sample, PollError>> + Send;
    /// The update that carries one of its polls.
    fn update(polled: Polled<Self::Sample>) -> Update;
    /// Called when a poll timed out, so the next one starts afresh (e.g. reconnects).
    fn reset(&mut self) {}
}

/// How often and how long a collector polls, and how it is asked to poll at once.
#[derive(Clone)]
pub struct Schedule {
    pub interval: Duration,
    pub timeout: Duration,
    /// Notified to poll now (after a runbook step), then the interval starts again.
    pub now: Arc<Notify>,
    /// The first tick: every collector of a console starts on the same one, so a poll round's
    /// samples arrive together and are drawn in one frame.
    pub start: tokio::time::Instant,
}

impl Schedule {
    /// The config's interval and timeout on the grid that starts at `start`, with its own
    /// poll-now handle.
    pub fn on_grid(cfg: &Config, start: tokio::time::Instant) -> Schedule {
        Schedule { interval: cfg.poll_interval.0, timeout: cfg.timeout.0, now: Arc::new(Notify::new()), start }
    }
}

/// Polls `c` (target `index` of its kind) forever: one poll per interval (or at once when asked),
/// each cut off at the timeout, each sent as an [`Update`] in whatever message the receiver takes.
/// Stops when the receiver is gone.
pub async fn run<C: Collector, M: From<Update> + Send + 'static>(
    index: usize,
    mut c: C,
    sched: Schedule,
    tx: mpsc::Sender<M>,
) {
    let (interval, timeout) = (sched.interval, sched.timeout);
    // Ticks stay on the console's common grid (a slow poll skips ticks rather than shifting
    // them); a poll asked for at once does not move the grid, and the tick right after it is
    // skipped.
    let mut ticker = tokio::time::interval_at(sched.start, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut failing: Option<bool> = None;
    let mut last: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                if last.is_some_and(|l| l.elapsed() < interval / 2) {
                    continue;
                }
            }
            _ = sched.now.notified() => {}
        }
        last = Some(Instant::now());
        // A panic in a poll (a parser bug on odd input) is contained: it shows as an error on this
        // target and the next poll starts afresh, instead of the target falling silent.
        let polled = std::panic::AssertUnwindSafe(Contained::new(tokio::time::timeout(timeout, c.poll())));
        let result = match polled.catch_unwind().await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => {
                c.reset();
                Err(PollError::transient(format!("no answer within {}", crate::fmt::duration(timeout))))
            }
            Err(panic) => {
                c.reset();
                Err(PollError::from(format!(
                    "ringdeck's collector failed on this answer ({}); the report is in the state dir; retrying",
                    crate::crash::panic_message(panic.as_ref())
                )))
            }
        };
        let update = C::update(Polled { index, at: Instant::now(), result });
        // Log transitions only: one line when a target stops answering, one when it answers again.
        let target = update.target();
        match (update.is_ok(), failing) {
            (false, None | Some(false)) => tracing::warn!(?target, error = update.error_text(), "target not answering"),
            (true, Some(true)) => tracing::info!(?target, "target answering again"),
            _ => {}
        }
        failing = Some(!update.is_ok());
        if tx.send(M::from(update)).await.is_err() {
            return;
        }
    }
}

/// Starts one collector per configured node, ticking on the grid that starts at `start`; the
/// agent's (`replication_only`) read only what the ring model needs. Returns the handles that
/// make each poll at once.
pub fn spawn_nodes<M: From<Update> + Send + 'static>(
    cfg: &Config,
    logins: &Logins,
    tx: &mpsc::Sender<M>,
    start: tokio::time::Instant,
    replication_only: bool,
) -> Vec<Arc<Notify>> {
    let timeout = cfg.timeout.0;
    let mut now = Vec::new();
    for (i, node) in cfg.nodes.iter().enumerate() {
        let opts = crate::db::opts(node, &logins.nodes[i]);
        let c = if replication_only {
            node::NodeCollector::replication_only(opts, timeout)
        } else {
            node::NodeCollector::new(opts, timeout)
        };
        let s = Schedule::on_grid(cfg, start);
        now.push(s.now.clone());
        tokio::spawn(run(i, c, s, tx.clone()));
    }
    now
}

/// Starts one collector task per configured target on the current runtime. Returns the handles
/// that make collectors poll at once: every node's in config order, then every HAProxy's (a
/// runbook step polls them all when it ends).
pub fn spawn_all<M: From<Update> + Send + 'static>(
    cfg: &Config,
    logins: &Logins,
    tx: &mpsc::Sender<M>,
) -> Result<Vec<Arc<Notify>>, String> {
    let timeout = cfg.timeout.0;
    let start = tokio::time::Instant::now();
    let sched = || Schedule::on_grid(cfg, start);
    let client = crate::http::Http::new(timeout, cfg.max_response())?;
    let mut node_now = spawn_nodes(cfg, logins, tx, start, false);
    for (i, h) in cfg.haproxies.iter().enumerate() {
        let c = haproxy::HaproxyCollector::new(h, &logins.haproxies[i], client.clone(), cfg.max_response());
        let s = sched();
        node_now.push(s.now.clone());
        tokio::spawn(run(i, c, s, tx.clone()));
    }
    for (i, a) in cfg.apaches.iter().enumerate() {
        let c = apache::ApacheCollector::new(a, &logins.apaches[i], client.clone());
        tokio::spawn(run(i, c, sched(), tx.clone()));
    }
    for (i, p) in cfg.effective_probes().iter().enumerate() {
        let c = probe::Probe::new(p, cfg, logins, client.clone(), timeout)?;
        tokio::spawn(run(i, c, sched(), tx.clone()));
    }
    Ok(node_now)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Panics on its first poll (as a parser bug on odd input would), answers afterwards.
    struct Flaky(u32);

    impl Collector for Flaky {
        type Sample = ProbeSample;

        fn update(polled: Polled<ProbeSample>) -> Update {
            Update::Probe(polled)
        }

        async fn poll(&mut self) -> Result<ProbeSample, PollError> {
            self.0 += 1;
            if self.0 == 1 {
                let cell = "&é";
                // A byte slice through a multibyte char: the kind of bug this guards against.
                let _ = &cell[..2];
            }
            Ok(ProbeSample { took: Duration::from_millis(1), retried: None })
        }
    }

    #[tokio::test]
    async fn a_panicking_poll_is_an_error_on_its_target_and_the_collector_goes_on() {
        let (tx, mut rx) = mpsc::channel(4);
        let sched = Schedule {
            interval: Duration::from_millis(10),
            timeout: Duration::from_secs(1),
            now: Arc::new(Notify::new()),
            start: tokio::time::Instant::now(),
        };
        let task = tokio::spawn(run(0, Flaky(0), sched, tx));
        let Some(Update::Probe(first)) = rx.recv().await else { panic!("a probe update for the panicking poll") };
        let e = first.result.expect_err("a panic is an error");
        assert!(e.message.contains("collector failed") && e.message.contains("char boundary"), "{e}");
        assert!(!e.transient, "a panic is not a network hiccup");
        let second: Update = rx.recv().await.expect("the collector still runs");
        assert!(second.is_ok());
        drop(rx);
        task.await.expect("the task ends when the UI is gone, without panicking");
    }
}
