//! The console's state, owned by the UI task: every target's last good sample, its error and age,
//! time series, focus and selection. `apply` folds collector updates in; nothing here does I/O.

use std::time::{Duration, Instant};

use super::action::{Action, Pane};
use crate::collect::{Payload, TargetId, Update};
use crate::config::Config;
use crate::model::apache::ApacheStatus;
use crate::model::haproxy::StatRow;
use crate::model::replication::NodeStatus;
use crate::model::series::Series;
use crate::model::topology::{NodeInput, NodeState, Thresholds, Topology};

/// How fresh a target's data is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Not polled yet.
    Unknown,
    Up,
    /// No answer for longer than two intervals: the data shown is old.
    Stale,
    /// The last poll failed.
    Down,
}

/// One polled target.
#[derive(Clone, Debug)]
pub struct Target<T> {
    pub name: String,
    /// Where it is (host:port or URL), for the screen.
    pub address: String,
    pub last: Option<T>,
    pub last_ok: Option<Instant>,
    pub error: Option<String>,
    pub updated: Option<Instant>,
}

impl<T> Target<T> {
    pub fn new(name: impl Into<String>, address: impl Into<String>) -> Self {
        Self { name: name.into(), address: address.into(), last: None, last_ok: None, error: None, updated: None }
    }

    pub fn health(&self, now: Instant, stale_after: Duration) -> Health {
        match (&self.error, self.updated) {
            (_, None) => Health::Unknown,
            (Some(_), _) => Health::Down,
            (None, Some(t)) if now.saturating_duration_since(t) > stale_after => Health::Stale,
            (None, Some(_)) => Health::Up,
        }
    }

    fn record(&mut self, at: Instant, value: Result<T, String>) {
        self.updated = Some(at);
        match value {
            Ok(v) => {
                self.last = Some(v);
                self.last_ok = Some(at);
                self.error = None;
            }
            Err(e) => self.error = Some(e),
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
    /// Requests/s and kB/s from counter deltas; `None` until two samples, or after a restart.
    pub rates: Option<(f64, f64)>,
    pub busy: Series,
}

/// A probe with its series of round trips in milliseconds (gaps for failures).
#[derive(Clone, Debug)]
pub struct ProbeTarget {
    pub target: Target<Duration>,
    pub series: Series,
    pub warn_ms: f64,
    pub crit_ms: f64,
}

/// How many samples each series keeps (enough for a very wide terminal).
pub const SERIES_LEN: usize = 600;

/// The whole console state.
#[derive(Clone, Debug)]
pub struct App {
    pub nodes: Vec<Target<NodeStatus>>,
    pub node_lag: Vec<Series>,
    pub haproxies: Vec<Target<Vec<StatRow>>>,
    pub apaches: Vec<ApacheTarget>,
    pub probes: Vec<ProbeTarget>,
    pub interval: Duration,
    pub read_only: bool,
    pub focus: Pane,
    pub zoom: bool,
    pub show_help: bool,
    /// Selected row per pane (by `Pane::index`).
    pub selected: [usize; 5],
    pub quit: bool,
    /// Config file shown in the title bar.
    pub source: String,
    /// The help overlay's `(keys, description)` lines, from the keymap in use.
    pub help: Vec<(String, String)>,
}

impl App {
    pub fn new(cfg: &Config, source: impl Into<String>) -> App {
        App {
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
                    busy: Series::new(SERIES_LEN),
                })
                .collect(),
            probes: cfg
                .probes
                .iter()
                .map(|p| ProbeTarget {
                    target: Target::new(
                        p.name.get_ref(),
                        p.http.clone().or(p.tcp.clone()).or(p.sql.clone()).unwrap_or_default(),
                    ),
                    series: Series::new(SERIES_LEN),
                    warn_ms: p.warn.map_or(200.0, |d| d.0.as_secs_f64() * 1000.0),
                    crit_ms: p.crit.map_or(1000.0, |d| d.0.as_secs_f64() * 1000.0),
                })
                .collect(),
            interval: cfg.poll_interval.0,
            read_only: cfg.read_only,
            focus: Pane::Ring,
            zoom: false,
            show_help: false,
            selected: [0; 5],
            quit: false,
            source: source.into(),
            help: crate::ui::keymap::Keymap::builtin().help(),
        }
    }

    /// Data older than this shows as stale.
    pub fn stale_after(&self) -> Duration {
        self.interval * 2 + Duration::from_millis(500)
    }

    /// Folds a collector update in. Returns whether the screen must be redrawn.
    pub fn apply(&mut self, u: Update) -> bool {
        match (u.target, u.result) {
            (TargetId::Node(i), r) => {
                let Some(t) = self.nodes.get_mut(i) else {
                    return false;
                };
                let r = r.and_then(|p| match p {
                    Payload::Node(s) => Ok(*s),
                    _ => Err("wrong payload".to_string()),
                });
                let lag = r
                    .as_ref()
                    .ok()
                    .and_then(|s| s.links.iter().filter_map(|l| l.seconds_behind).max())
                    .map(|v| v as f64);
                self.node_lag[i].push(lag);
                t.record(u.at, r);
            }
            (TargetId::Haproxy(i), r) => {
                let Some(t) = self.haproxies.get_mut(i) else {
                    return false;
                };
                t.record(
                    u.at,
                    r.and_then(|p| match p {
                        Payload::Haproxy(rows) => Ok(rows),
                        _ => Err("wrong payload".to_string()),
                    }),
                );
            }
            (TargetId::Apache(i), r) => {
                let Some(a) = self.apaches.get_mut(i) else {
                    return false;
                };
                let r = r.and_then(|p| match p {
                    Payload::Apache(s) => Ok(s),
                    _ => Err("wrong payload".to_string()),
                });
                match &r {
                    Ok(new) => {
                        a.rates = a.target.last.as_ref().and_then(|old| rates(old, new));
                        a.busy.push(Some(new.busy_workers as f64));
                    }
                    Err(_) => {
                        a.rates = None;
                        a.busy.push(None);
                    }
                }
                a.target.record(u.at, r);
            }
            (TargetId::Probe(i), r) => {
                let Some(p) = self.probes.get_mut(i) else {
                    return false;
                };
                let r = r.and_then(|p| match p {
                    Payload::Probe(d) => Ok(d),
                    _ => Err("wrong payload".to_string()),
                });
                p.series.push(r.as_ref().ok().map(|d| d.as_secs_f64() * 1000.0));
                p.target.record(u.at, r);
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
                    error: t.error.as_deref(),
                    age: t.age(now),
                }
            })
            .collect()
    }

    /// The ring model of the current samples.
    pub fn topology(&self, now: Instant) -> Topology {
        Topology::build(&self.node_inputs(now), &Thresholds::default())
    }

    /// Rows the focused pane can select, for moving the selection.
    fn rows_in(&self, pane: Pane) -> usize {
        match pane {
            Pane::Ring => self.nodes.len(),
            Pane::Haproxy => self.haproxies.iter().map(|h| h.last.as_ref().map_or(0, Vec::len)).sum(),
            Pane::Apache => self.apaches.len(),
            Pane::Queries => self.visible_queries().len(),
            Pane::Probes => self.probes.len(),
        }
    }

    /// Running statements across all nodes, longest first, without background threads.
    pub fn visible_queries(&self) -> Vec<(&str, &crate::model::replication::Process)> {
        let mut v: Vec<_> = self
            .nodes
            .iter()
            .filter_map(|t| t.last.as_ref().map(|s| (t.name.as_str(), s)))
            .flat_map(|(name, s)| s.processes.iter().filter(|p| !p.is_background()).map(move |p| (name, p)))
            .collect();
        v.sort_by(|a, b| b.1.time.total_cmp(&a.1.time));
        v
    }

    /// Performs a UI action. Returns whether the screen must be redrawn.
    pub fn act(&mut self, a: Action) -> bool {
        match a {
            Action::Quit => {
                if self.show_help {
                    self.show_help = false;
                } else {
                    self.quit = true;
                }
            }
            Action::Help => self.show_help = !self.show_help,
            Action::Back => {
                if self.show_help {
                    self.show_help = false;
                } else {
                    self.zoom = false;
                }
            }
            Action::NextPane => self.focus = Pane::ALL[(self.focus.index() + 1) % Pane::ALL.len()],
            Action::PrevPane => self.focus = Pane::ALL[(self.focus.index() + Pane::ALL.len() - 1) % Pane::ALL.len()],
            Action::Focus(p) => self.focus = p,
            Action::Zoom => self.zoom = !self.zoom,
            Action::Up | Action::Down => {
                let n = self.rows_in(self.focus);
                let sel = &mut self.selected[self.focus.index()];
                if n == 0 {
                    *sel = 0;
                } else if a == Action::Down {
                    *sel = (*sel + 1).min(n - 1);
                } else {
                    *sel = sel.saturating_sub(1);
                }
            }
        }
        true
    }
}

/// Requests/s and kB/s between two readings, from the server's own uptime; `None` after a restart.
pub fn rates(old: &ApacheStatus, new: &ApacheStatus) -> Option<(f64, f64)> {
    let dt = new.uptime?.checked_sub(old.uptime?)? as f64;
    let dreq = new.total_accesses?.checked_sub(old.total_accesses?)? as f64;
    let dkb = new.total_kbytes?.checked_sub(old.total_kbytes?)? as f64;
    (dt > 0.0).then(|| (dreq / dt, dkb / dt))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(uptime: u64, acc: u64, kb: u64) -> ApacheStatus {
        ApacheStatus { uptime: Some(uptime), total_accesses: Some(acc), total_kbytes: Some(kb), ..Default::default() }
    }

    #[test]
    fn apache_rates_and_restart() {
        assert_eq!(rates(&status(100, 50, 10), &status(102, 70, 14)), Some((10.0, 2.0)));
        assert_eq!(rates(&status(100, 50, 10), &status(3, 2, 1)), None, "restart: counters went down");
        assert_eq!(rates(&status(100, 50, 10), &status(100, 50, 10)), None);
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
}
