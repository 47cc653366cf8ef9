//! Apache mod_status: `/server-status?auto` (2.2 and 2.4) as typed values. Unknown keys are ignored.

use serde::Serialize;

/// One reading of `?auto`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ApacheStatus {
    pub server_version: String,
    pub mpm: String,
    pub total_accesses: Option<u64>,
    pub total_kbytes: Option<u64>,
    pub uptime: Option<u64>,
    pub busy_workers: u32,
    pub idle_workers: u32,
    pub conns_async_writing: Option<u32>,
    pub conns_async_keepalive: Option<u32>,
    pub conns_async_closing: Option<u32>,
    pub scoreboard: String,
}

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
            "ConnsAsyncWriting" => s.conns_async_writing = v.parse().ok(),
            "ConnsAsyncKeepAlive" => s.conns_async_keepalive = v.parse().ok(),
            "ConnsAsyncClosing" => s.conns_async_closing = v.parse().ok(),
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

#[cfg(test)]
mod tests {
    use super::*;

    const V24: &str = "127.0.0.1\nServerVersion: Apache/2.4.62 (Debian)\nServerMPM: event\nServer Built: 2024-07-17T18:57:09\nCurrentTime: Monday, 23-Nov-2026 08:10:01 UTC\nUptime: 71\nTotal Accesses: 12\nTotal kBytes: 9\nReqPerSec: .169014\nBusyWorkers: 2\nIdleWorkers: 48\nConnsTotal: 1\nConnsAsyncWriting: 0\nConnsAsyncKeepAlive: 0\nConnsAsyncClosing: 0\nScoreboard: _W_R______________________________________________....................................................................................................\n";

    const V22: &str = "Total Accesses: 30\nTotal kBytes: 20\nUptime: 100\nReqPerSec: .3\nBusyWorkers: 1\nIdleWorkers: 7\nScoreboard: W_______........\n";

    #[test]
    fn reads_24() {
        let s = parse_auto(V24).unwrap();
        assert_eq!(s.mpm, "event");
        assert_eq!((s.busy_workers, s.idle_workers), (2, 48));
        assert_eq!(s.total_accesses, Some(12));
        assert_eq!(s.count('W'), 1);
        assert_eq!(s.capacity(), 150);
    }

    #[test]
    fn reads_22_shorter_output() {
        let s = parse_auto(V22).unwrap();
        assert_eq!(s.mpm, "");
        assert_eq!(s.capacity(), 16);
        assert_eq!(s.conns_async_writing, None);
    }

    #[test]
    fn recorded_apache_24_under_load() {
        let s = parse_auto(include_str!("../../tests/fixtures/apache-2.4-server-status-auto-under-load.txt")).unwrap();
        assert_eq!(s.server_version, "Apache/2.4.71 (Debian)");
        assert_eq!(s.mpm, "event");
        assert_eq!((s.busy_workers, s.idle_workers), (2, 8));
        assert_eq!(s.total_accesses, Some(257));
        assert_eq!(s.capacity() as usize, s.scoreboard.len());
        assert!(s.count('_') >= 8);
    }

    #[test]
    fn garbage_and_truncation() {
        assert!(parse_auto("<html>Not Found</html>").is_err());
        assert!(parse_auto("BusyWorkers: lots\n").is_err());
        let cut = &V24[..V24.find("IdleWorkers").unwrap()];
        let s = parse_auto(cut).unwrap();
        assert_eq!(s.busy_workers, 2);
    }
}
