//! What the collectors read, folded in: every target's last good sample, its error and age, the
//! time series, and the ring's forked-data records. Pure: `apply` takes an [`Update`].

use std::time::{Duration, Instant};

use crate::collect::{PollError, Polled, ProbeSample, Update};
use crate::config::Config;
use crate::model::apache::{ApacheStatus, Counters, RateStep, Rates, rate_step};
use crate::model::haproxy::HaproxyStats;
use crate::model::replication::NodeStatus;
use crate::model::series::Series;
use crate::model::topology::{NodeInput, NodeState, Thresholds, Topology};

/// How fresh a target's data is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Health {
    /// Not polled yet.
    Unknown,
    Up,
    /// No answer for longer than two intervals, or the last poll failed in a way the next poll may
    /// not (a timeout, a reset): the data shown is old.
    Stale,
    /// The last poll failed with a hard fact (refused, login denied, unreadable answer), or two
    /// polls in a row failed.
    Down,
}

/// One polled target.
#[derive(Clone, Debug)]
pub struct Target<T> {
    pub name: String,
    /// Where it is (host:port or URL), for the screen.
    pub address: String,
    pub last: Option<T>,
    /// The good sample before `last`, when both came from consecutive polls (for findings that
    /// need two samples to agree, such as lag).
    pub prev: Option<T>,
    pub last_ok: Option<Instant>,
    pub error: Option<String>,
    /// Polls in a row that failed (0 while it answers).
    pub failures: u32,
    /// Whether the last failure may pass by the next poll (a timeout, a reset).
    pub transient: bool,
    pub updated: Option<Instant>,
    /// Polls folded in so far (the identity of the latest sample, for the pane cache).
    pub polls: u64,
}

impl<T> Target<T> {
    pub fn new(name: impl Into<String>, address: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            address: address.into(),
            last: None,
            prev: None,
            last_ok: None,
            error: None,
            failures: 0,
            transient: false,
            updated: None,
            polls: 0,
        }
    }

    pub fn health(&self, now: Instant, stale_after: Duration) -> Health {
        let Some(updated) = self.updated else { return Health::Unknown };
        if self.error.is_some() {
            // One transient failure of a target that had answered: stale (old data, retrying);
            // a hard fact, or the second failure in a row: down.
            return match (self.transient && self.failures < 2, self.last_ok) {
                (true, Some(_)) => Health::Stale,
                (true, None) => Health::Unknown,
                (false, _) => Health::Down,
            };
        }
        if now.saturating_duration_since(updated) > stale_after { Health::Stale } else { Health::Up }
    }

    fn record(&mut self, at: Instant, value: Result<T, PollError>) {
        self.updated = Some(at);
        self.polls += 1;
        match value {
            Ok(v) => {
                let consecutive = self.failures == 0;
                let before = self.last.replace(v);
                self.prev = if consecutive { before } else { None };
                self.last_ok = Some(at);
                self.error = None;
                self.failures = 0;
                self.transient = false;
            }
            Err(e) => {
                self.prev = None;
                self.error = Some(e.message);
                self.failures = self.failures.saturating_add(1);
                self.transient = e.transient;
            }
        }
    }

    /// Seconds since the last good sample.
    pub fn age(&self, now: Instant) -> Option<Duration> {
        self.last_ok.map(|t| now.saturating_duration_since(t))
    }
}

/// Apache with its derived rates.
#[derive(Clone, Debug)]
pub struct ApacheTarget {
    pub target: Target<ApacheStatus>,
    /// Requests/s and bytes/s from counter deltas; `None` until two samples, or after a restart.
    pub rates: Option<Rates>,
    /// The reading the next rates are computed from.
    pub base: Option<Counters>,
    pub busy: Series,
}

/// A probe with its series of round trips in milliseconds (gaps for failures).
#[derive(Clone, Debug)]
pub struct ProbeTarget {
    pub target: Target<ProbeSample>,
    pub series: Series,
    /// Per sample of `series`, whether its first try was sent again on a new connection.
    pub retried: std::collections::VecDeque<bool>,
    /// When the latest retry happened and why.
    pub last_retry: Option<(Instant, String)>,
    pub warn_ms: f64,
    pub crit_ms: f64,
}

/// How many samples each series keeps (enough for a very wide terminal).
pub const SERIES_LEN: usize = 600;

/// Every target's samples, in config order per kind.
#[derive(Clone, Debug)]
pub struct Collected {
    pub nodes: Vec<Target<NodeStatus>>,
    pub node_lag: Vec<Series>,
    pub haproxies: Vec<Target<HaproxyStats>>,
    pub apaches: Vec<ApacheTarget>,
    pub probes: Vec<ProbeTarget>,
    pub interval: Duration,
    /// The forked-data records of this ring (a skip that left the data unequal), or why they
    /// cannot be read: either way the ring is not called healthy. Set with [`Collected::set_forks`].
    pub forks: Result<Vec<crate::fork::Fork>, String>,
    /// Per node, what HAProxy has it out of (`mysql DRAIN (agent)`): found once per HAProxy
    /// sample, since the ring pane shows it for every node on every frame.
    node_out: Vec<Vec<String>>,
    /// Bumped when what the ring model is built from changed: a node's replication (variables,
    /// links, binlog position; not its counters or statements), a failed poll, the forks. The
    /// ring model, and the ring pane, are kept while it holds.
    ring_version: u64,
    /// The ring model of the last frame, by (ring version, every node's health and, when stale,
    /// its age in seconds): a frame that follows a poll that changed nothing in the ring, or a
    /// key, does not rebuild it.
    topo_cache: std::cell::RefCell<Option<TopoCache>>,
}

/// A ring model and what it was built from.
#[derive(Clone, Debug)]
struct TopoCache {
    ring_version: u64,
    healths: Vec<Health>,
    /// A stale node's age in whole seconds (its finding says how old its sample is), and whether
    /// it is past the stale deadline (the finding appears then).
    ages: Vec<Option<(u64, bool)>>,
    topology: std::sync::Arc<Topology>,
}

impl Collected {
    /// Every configured target, not polled yet.
    pub fn new(cfg: &Config) -> Collected {
        Collected {
            nodes: cfg.nodes.iter().map(|n| Target::new(n.name(), n.address())).collect(),
            node_lag: cfg.nodes.iter().map(|_| Series::new(SERIES_LEN)).collect(),
            haproxies: cfg
                .haproxies
                .iter()
                .map(|h| {
                    let addr = h.stats_url.clone().or_else(|| h.socket.as_ref().map(|s| s.display().to_string()));
                    Target::new(h.name.get_ref(), addr.unwrap_or_default())
                })
                .collect(),
            apaches: cfg
                .apaches
                .iter()
                .map(|a| ApacheTarget {
                    target: Target::new(a.name.get_ref(), &a.status_url),
                    rates: None,
                    base: None,
                    busy: Series::new(SERIES_LEN),
                })
                .collect(),
            probes: cfg
                .effective_probes()
                .iter()
                .map(|p| ProbeTarget {
                    target: Target::new(
                        p.name.get_ref(),
                        p.http.clone().or(p.tcp.clone()).or(p.sql.clone()).unwrap_or_default(),
                    ),
                    series: Series::new(SERIES_LEN),
                    retried: std::collections::VecDeque::with_capacity(SERIES_LEN),
                    last_retry: None,
                    warn_ms: p.warn.map_or(200.0, |d| d.0.as_secs_f64() * 1000.0),
                    crit_ms: p.crit.map_or(1000.0, |d| d.0.as_secs_f64() * 1000.0),
                })
                .collect(),
            interval: cfg.poll_interval.0,
            node_out: vec![Vec::new(); cfg.nodes.len()],
            forks: Ok(Vec::new()),
            ring_version: 0,
            topo_cache: std::cell::RefCell::new(None),
        }
    }

    /// Data older than this shows as stale.
    pub fn stale_after(&self) -> Duration {
        crate::model::topology::stale_after(self.interval)
    }

    /// Folds a collector update in. Returns whether the screen must be redrawn.
    pub fn apply(&mut self, u: Update) -> bool {
        match u {
            Update::Node(Polled { index: i, at, result }) => {
                let Some(t) = self.nodes.get_mut(i) else {
                    return false;
                };
                let r = result.map(|s| *s);
                let lag = r
                    .as_ref()
                    .ok()
                    .and_then(|s| s.links.iter().filter_map(|l| l.seconds_behind).max())
                    .map(|v| v as f64);
                self.node_lag[i].push(lag);
                // Unchanged for the ring: the two samples it reads (this one and the one before)
                // are the same as before, as far as replication goes.
                let steady = matches!((&t.prev, &t.last), (Some(p), Some(l)) if p.same_replication(l));
                t.record(at, r);
                let same = matches!((&t.prev, &t.last), (Some(p), Some(l)) if p.same_replication(l));
                if !(steady && same && t.error.is_none()) {
                    self.ring_version += 1;
                }
            }
            Update::Haproxy(Polled { index: i, at, result }) => {
                let Some(t) = self.haproxies.get_mut(i) else {
                    return false;
                };
                t.record(at, result);
                self.node_out = self.find_out_of_pool();
            }
            Update::Apache(Polled { index: i, at, result: r }) => {
                let Some(a) = self.apaches.get_mut(i) else {
                    return false;
                };
                match &r {
                    Ok(new) => {
                        let now = new.counters();
                        match (a.base.as_ref(), now.as_ref()) {
                            (Some(old), Some(now)) => match rate_step(old, now) {
                                RateStep::Rates(r) => {
                                    a.rates = Some(r);
                                    a.base = Some(*now);
                                }
                                RateStep::TooSoon => {}
                                RateStep::Restarted => {
                                    a.rates = None;
                                    a.base = Some(*now);
                                }
                            },
                            _ => {
                                a.rates = None;
                                a.base = now;
                            }
                        }
                        a.busy.push(Some(new.busy_workers as f64));
                    }
                    Err(_) => {
                        a.rates = None;
                        a.base = None;
                        a.busy.push(None);
                    }
                }
                a.target.record(at, r);
            }
            Update::Probe(Polled { index: i, at, result: r }) => {
                let Some(p) = self.probes.get_mut(i) else {
                    return false;
                };
                p.series.push(r.as_ref().ok().map(|s| s.took.as_secs_f64() * 1000.0));
                if p.retried.len() == SERIES_LEN {
                    p.retried.pop_front();
                }
                let why = r.as_ref().ok().and_then(|s| s.retried.clone());
                p.retried.push_back(why.is_some());
                if let Some(why) = why {
                    p.last_retry = Some((at, why));
                }
                p.target.record(at, r);
            }
        }
        true
    }

    /// Every target's health, to notice when time alone changes what the screen must show.
    pub fn healths(&self, now: Instant) -> Vec<Health> {
        let s = self.stale_after();
        self.nodes
            .iter()
            .map(|t| t.health(now, s))
            .chain(self.haproxies.iter().map(|t| t.health(now, s)))
            .chain(self.apaches.iter().map(|a| a.target.health(now, s)))
            .chain(self.probes.iter().map(|p| p.target.health(now, s)))
            .collect()
    }

    /// The nodes as the topology model takes them.
    pub fn node_inputs(&self, now: Instant) -> Vec<NodeInput<'_>> {
        let stale = self.stale_after();
        self.nodes
            .iter()
            .map(|t| {
                let (host, port) = t.address.rsplit_once(':').unwrap_or((t.address.as_str(), "0"));
                NodeInput {
                    name: &t.name,
                    host,
                    port: port.parse().unwrap_or(0),
                    state: match t.health(now, stale) {
                        Health::Up => NodeState::Up,
                        Health::Stale => NodeState::Stale,
                        Health::Down => NodeState::Down,
                        Health::Unknown => NodeState::Unknown,
                    },
                    status: t.last.as_ref(),
                    prev: t.prev.as_ref(),
                    error: t.error.as_deref(),
                    age: t.age(now),
                }
            })
            .collect()
    }

    /// What HAProxy has node `i` out of (`mysql DRAIN (agent)`, `lb2: mysql MAINT` with several
    /// instances), from every instance's last rows.
    pub fn out_of_pool(&self, i: usize) -> &[String] {
        self.node_out.get(i).map_or(&[], Vec::as_slice)
    }

    fn find_out_of_pool(&self) -> Vec<Vec<String>> {
        use crate::model::haproxy::out_of_pool_text;
        let many = self.haproxies.len() > 1;
        let out: Vec<(&str, &crate::model::haproxy::StatRow)> = self
            .haproxies
            .iter()
            .filter_map(|h| Some((h.name.as_str(), h.last.as_ref()?)))
            .flat_map(|(h, st)| st.rows.iter().map(move |r| (h, r)))
            // Server rows only: `fronts` below takes nothing else.
            .filter(|(_, r)| r.out_of_pool())
            .collect();
        self.nodes
            .iter()
            .map(|node| {
                let Some((host, port)) = node.address.rsplit_once(':') else { return Vec::new() };
                let port = port.parse::<u16>().unwrap_or(0);
                out.iter()
                    .filter(|(_, r)| r.fronts(&node.name, host, port))
                    .map(|(h, r)| if many { format!("{h}: {}", out_of_pool_text(r)) } else { out_of_pool_text(r) })
                    .collect()
            })
            .collect()
    }

    /// Replaces the forked-data records.
    pub fn set_forks(&mut self, forks: Result<Vec<crate::fork::Fork>, String>) {
        self.forks = forks;
        self.ring_version += 1;
    }

    /// The ring model of the current samples, with the forked-data findings. Built once per
    /// change of what it reads ([`Collected::ring_version`]), of a node's health or of a stale
    /// node's age in seconds (its finding says it), then shared.
    pub fn topology(&self, now: Instant) -> std::sync::Arc<Topology> {
        let stale = self.stale_after();
        let healths: Vec<Health> = self.nodes.iter().map(|t| t.health(now, stale)).collect();
        // A stale node's finding says its age in whole seconds, once past `stale`.
        let ages: Vec<Option<(u64, bool)>> = (self.nodes.iter().zip(&healths))
            .map(|(t, h)| t.age(now).filter(|_| *h == Health::Stale).map(|a| (a.as_secs(), a > stale)))
            .collect();
        if let Some(c) = self.topo_cache.borrow().as_ref()
            && c.ring_version == self.ring_version
            && c.ages == ages
            && c.healths == healths
        {
            return c.topology.clone();
        }
        let th = Thresholds { stale_after: stale, ..Thresholds::default() };
        let mut t = Topology::build(&self.node_inputs(now), &th);
        t.add_findings(crate::fork::findings(&self.forks));
        let topology = std::sync::Arc::new(t);
        *self.topo_cache.borrow_mut() =
            Some(TopoCache { ring_version: self.ring_version, healths, ages, topology: topology.clone() });
        topology
    }

    /// Bumped whenever the ring model's inputs changed other than by time (see the field).
    pub fn ring_version(&self) -> u64 {
        self.ring_version
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(uptime: u64, acc: u64, kb: u64) -> ApacheStatus {
        ApacheStatus { uptime: Some(uptime), total_accesses: Some(acc), total_kbytes: Some(kb), ..Default::default() }
    }

    #[test]
    fn apache_rates_survive_a_poll_too_soon_and_restart_on_a_restart() {
        let cfg = Config::parse(
            "[[apache]]\nname = \"web1\"\nstatus_url = \"http://127.0.0.1:1/server-status\"\n",
            std::path::Path::new("t.toml"),
        )
        .unwrap();
        let mut data = Collected::new(&cfg);
        let t0 = Instant::now();
        let mut feed = |s: ApacheStatus| {
            data.apply(Update::Apache(Polled { index: 0, at: t0, result: Ok(s) }));
            data.apaches[0].rates.map(|r| (r.requests, r.bytes))
        };
        assert_eq!(feed(status(100, 50, 10)), None, "one reading has no rate");
        assert_eq!(feed(status(102, 70, 14)), Some((10.0, 2048.0)));
        assert_eq!(feed(status(102, 71, 14)), Some((10.0, 2048.0)), "same uptime second: rates kept");
        assert_eq!(feed(status(103, 80, 15)), Some((10.0, 1024.0)), "from the last base, 102 -> 103");
        assert_eq!(feed(status(3, 2, 1)), None, "restart: uptime went down");
        assert_eq!(feed(status(4, 12, 2)), Some((10.0, 1024.0)));
    }

    #[test]
    fn health_transitions() {
        let t0 = Instant::now();
        let mut t: Target<u32> = Target::new("a", "h:1");
        let stale = Duration::from_secs(2);
        assert_eq!(t.health(t0, stale), Health::Unknown);
        t.record(t0, Ok(1));
        assert_eq!(t.health(t0 + Duration::from_secs(1), stale), Health::Up);
        assert_eq!(t.health(t0 + Duration::from_secs(3), stale), Health::Stale);
        t.record(t0 + Duration::from_secs(4), Err("refused".into()));
        assert_eq!(t.health(t0 + Duration::from_secs(4), stale), Health::Down);
        assert_eq!(t.last, Some(1), "the last good sample is kept while down");
    }

    #[test]
    fn one_transient_failure_is_stale_two_are_down() {
        let t0 = Instant::now();
        let s = |secs: u64| t0 + Duration::from_secs(secs);
        let stale = Duration::from_secs(2);
        let mut t: Target<u32> = Target::new("a", "h:1");
        t.record(s(0), Err(PollError::transient("no answer within 3s")));
        assert_eq!(t.health(s(0), stale), Health::Unknown, "never answered: nothing to call stale");
        t.record(s(1), Ok(1));
        t.record(s(2), Ok(2));
        assert_eq!((t.last, t.prev), (Some(2), Some(1)), "two samples in a row");
        t.record(s(3), Err(PollError::transient("connection reset")));
        assert_eq!(t.health(s(3), stale), Health::Stale);
        assert_eq!(t.prev, None, "no longer two samples in a row");
        t.record(s(4), Ok(3));
        assert_eq!((t.health(s(4), stale), t.prev), (Health::Up, None), "answers the next: up, one sample");
        t.record(s(5), Err(PollError::transient("connection reset")));
        t.record(s(6), Err(PollError::transient("no answer within 3s")));
        assert_eq!(t.health(s(6), stale), Health::Down, "the second failure in a row");
        t.record(s(7), Ok(4));
        t.record(s(8), Err("connection refused".into()));
        assert_eq!(t.health(s(8), stale), Health::Down, "a hard fact at once");
    }
}
