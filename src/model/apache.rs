//! Apache mod_status: `/server-status?auto` (2.2 and 2.4) as typed values, the scoreboard by
//! state, and requests/s and bytes/s from counter deltas. Unknown keys are ignored. The in-flight
//! requests of the ExtendedStatus HTML page are in [`super::apache_workers`].

use serde::Serialize;

use super::apache_workers::InFlight;

/// One reading of `?auto` (plus the in-flight requests when the HTML page was read too).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ApacheStatus {
    /// 2.4 only (`ServerVersion`); empty on 2.2.
    pub server_version: String,
    /// 2.4 only (`ServerMPM`).
    pub mpm: String,
    /// Needs ExtendedStatus On on 2.2 (always there on 2.4.x).
    pub total_accesses: Option<u64>,
    pub total_kbytes: Option<u64>,
    pub uptime: Option<u64>,
    pub busy_workers: u32,
    pub idle_workers: u32,
    pub graceful_workers: Option<u32>,
    pub processes: Option<u32>,
    pub conns_total: Option<u32>,
    pub conns_async_writing: Option<u32>,
    pub conns_async_keepalive: Option<u32>,
    pub conns_async_closing: Option<u32>,
    pub scoreboard: String,
    /// Requests running now, longest first; `None` when the HTML page was not read or has no
    /// worker table (ExtendedStatus Off).
    pub in_flight: Option<Vec<InFlight>>,
    /// Why there is no in-flight list.
    pub in_flight_note: Option<String>,
}

/// The scoreboard states in the order mod_status documents them, with their meaning.
pub const SCOREBOARD: [(char, &str); 11] = [
    ('_', "waiting"),
    ('S', "starting"),
    ('R', "reading"),
    ('W', "sending"),
    ('K', "keepalive"),
    ('D', "dns"),
    ('C', "closing"),
    ('L', "logging"),
    ('G', "graceful"),
    ('I', "idle cleanup"),
    ('.', "open slot"),
];

impl ApacheStatus {
    /// Worker capacity: the scoreboard's length (ServerLimit x ThreadsPerChild).
    pub fn capacity(&self) -> u32 {
        let n = self.scoreboard.chars().count() as u32;
        if n == 0 { self.busy_workers + self.idle_workers } else { n }
    }

    /// Count of scoreboard slots in state `c`.
    pub fn count(&self, c: char) -> usize {
        self.scoreboard.chars().filter(|x| *x == c).count()
    }

    /// Every state that occurs, in documented order: `[('W', 3), ('_', 14), ...]`.
    pub fn by_state(&self) -> Vec<(char, usize)> {
        let mut counts = [0usize; SCOREBOARD.len()];
        let mut other = 0usize;
        for c in self.scoreboard.chars() {
            match SCOREBOARD.iter().position(|(s, _)| *s == c) {
                Some(i) => counts[i] += 1,
                None => other += 1,
            }
        }
        let mut out: Vec<(char, usize)> =
            SCOREBOARD.iter().zip(counts).filter(|(_, n)| *n > 0).map(|((c, _), n)| (*c, n)).collect();
        if other > 0 {
            out.push(('?', other));
        }
        out
    }

    /// Busy workers as a fraction of capacity.
    pub fn busy_ratio(&self) -> f64 {
        self.busy_workers as f64 / self.capacity().max(1) as f64
    }

    pub fn counters(&self) -> Option<Counters> {
        Some(Counters { uptime: self.uptime?, accesses: self.total_accesses?, kbytes: self.total_kbytes? })
    }
}

/// The cumulative counters rates are computed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counters {
    pub uptime: u64,
    pub accesses: u64,
    pub kbytes: u64,
}

/// Requests/s and bytes/s between two readings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rates {
    pub requests: f64,
    pub bytes: f64,
}

/// What two readings say about rates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RateStep {
    Rates(Rates),
    /// The server's uptime did not move (two polls within its one-second resolution): keep the
    /// older reading as the base.
    TooSoon,
    /// Uptime or a counter went down: the server restarted; start again from the new reading.
    Restarted,
}

/// Rates from `old` to `new`, over the server's own uptime.
pub fn rate_step(old: &Counters, new: &Counters) -> RateStep {
    if new.uptime < old.uptime || new.accesses < old.accesses || new.kbytes < old.kbytes {
        return RateStep::Restarted;
    }
    let dt = (new.uptime - old.uptime) as f64;
    if dt == 0.0 {
        return RateStep::TooSoon;
    }
    RateStep::Rates(Rates {
        requests: (new.accesses - old.accesses) as f64 / dt,
        bytes: (new.kbytes - old.kbytes) as f64 * 1024.0 / dt,
    })
}

/// Parses `?auto` text. Needs at least `BusyWorkers` or a `Scoreboard` to be a status page.
pub fn parse_auto(text: &str) -> Result<ApacheStatus, String> {
    let mut s = ApacheStatus::default();
    let mut seen = false;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let v = value.trim();
        let n = || v.parse::<u64>().ok();
        let n32 = || v.parse::<u32>().ok();
        match key.trim() {
            "ServerVersion" => s.server_version = v.to_string(),
            "ServerMPM" => s.mpm = v.to_string(),
            "Total Accesses" => s.total_accesses = n(),
            "Total kBytes" => s.total_kbytes = n(),
            "Uptime" => s.uptime = n(),
            "BusyWorkers" => {
                s.busy_workers = v.parse().map_err(|_| format!("BusyWorkers is not a number: {v:?}"))?;
                seen = true;
            }
            "IdleWorkers" => s.idle_workers = v.parse().unwrap_or(0),
            "GracefulWorkers" => s.graceful_workers = n32(),
            "Processes" => s.processes = n32(),
            "ConnsTotal" => s.conns_total = n32(),
            "ConnsAsyncWriting" => s.conns_async_writing = n32(),
            "ConnsAsyncKeepAlive" => s.conns_async_keepalive = n32(),
            "ConnsAsyncClosing" => s.conns_async_closing = n32(),
            "Scoreboard" => {
                s.scoreboard = v.to_string();
                seen = true;
            }
            _ => {}
        }
    }
    if !seen {
        return Err("not a mod_status ?auto page (no BusyWorkers or Scoreboard)".into());
    }
    Ok(s)
}
