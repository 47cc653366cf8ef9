//! The `[agent]` section: how `ringdeck agent` answers HAProxy about each node (thresholds, the
//! word for a broken node, damping, pools) and who may ask (listen addresses, allow-list).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::duration::Interval;

/// What a node whose incoming link is broken (or lags past `lag_crit`) is answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutWord {
    /// `drain`: no new connections, open ones finish (HAProxy shows `DRAIN (agent)`).
    #[default]
    Drain,
    /// `down`: the server is marked down (HAProxy shows `DOWN (agent)`).
    Down,
}

/// One HAProxy backend's view: which nodes it holds and whether it takes writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    /// The name HAProxy asks with (`agent-send "db1 NAME\n"`, `/node/db1?pool=NAME`); usually the
    /// backend's name.
    pub name: String,
    /// Its nodes (default: every configured node).
    #[serde(default)]
    pub nodes: Vec<String>,
    /// A write pool drains a node with `read_only=ON` (default true).
    #[serde(default = "yes")]
    pub write: bool,
}

fn yes() -> bool {
    true
}

/// The `[agent]` section. Every key has a safe default for a ring behind `balance first`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentConfig {
    /// Where HAProxy's agent-check connects (`agent-port`).
    pub listen: String,
    /// Where `option httpchk`, `/health` and `/metrics` are served.
    pub http: String,
    /// Client addresses allowed to ask: addresses or CIDR blocks (default: loopback only).
    pub allow: Vec<String>,
    /// Replication lag from which the weight is cut in proportion (down to `min_weight`).
    pub lag_warn: Interval,
    /// Replication lag from which the node is taken out (as a broken link is).
    pub lag_crit: Interval,
    /// The lowest weight a lagging node is given, in percent of its configured weight.
    pub min_weight: u8,
    /// The answer for a broken incoming link or lag past `lag_crit`.
    pub broken: OutWord,
    /// Polls a new answer must hold before it is given (flapping damped).
    pub hold_polls: u32,
    /// Polls a node must be healthy (its links running) before it is answered `up` again.
    pub recover_polls: u32,
    /// How long `ready` is added to `up` after the agent's own `drain` or `maint` ended (HAProxy
    /// keeps an agent's drain until `ready`, and `ready` would also end an operator's drain, so it
    /// is sent only then).
    pub ready_window: Interval,
    #[serde(rename = "pool", skip_serializing_if = "Vec::is_empty")]
    pub pools: Vec<PoolConfig>,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:9777".into(),
            http: "127.0.0.1:9778".into(),
            allow: vec!["127.0.0.0/8".into(), "::1/128".into()],
            lag_warn: Interval(std::time::Duration::from_secs(10)),
            lag_crit: Interval(std::time::Duration::from_secs(60)),
            min_weight: 10,
            broken: OutWord::Drain,
            hold_polls: 2,
            recover_polls: 3,
            ready_window: Interval(std::time::Duration::from_secs(30)),
            pools: Vec::new(),
        }
    }
}

impl AgentConfig {
    pub fn is_default(&self) -> bool {
        *self == AgentConfig::default()
    }

    /// Problems with the section, for the config's validation.
    pub fn check(&self, node_names: &[&str]) -> Result<(), String> {
        for a in &self.allow {
            Cidr::parse(a)?;
        }
        if self.lag_crit.0 <= self.lag_warn.0 {
            return Err(format!("[agent] lag_crit ({}) must be above lag_warn ({})", self.lag_crit, self.lag_warn));
        }
        if self.min_weight == 0 || self.min_weight > 100 {
            return Err(format!("[agent] min_weight {} must be 1 to 100 (percent)", self.min_weight));
        }
        if self.hold_polls == 0 || self.recover_polls == 0 {
            return Err("[agent] hold_polls and recover_polls must be at least 1".into());
        }
        let mut seen = std::collections::HashSet::new();
        for p in &self.pools {
            if p.name.trim().is_empty() || p.name.contains(char::is_whitespace) {
                return Err(format!("[[agent.pool]] name {:?} must be one word", p.name));
            }
            if !seen.insert(p.name.as_str()) {
                return Err(format!("[[agent.pool]] {:?} is named twice", p.name));
            }
            if let Some(n) = p.nodes.iter().find(|n| !node_names.contains(&n.as_str())) {
                return Err(format!("[[agent.pool]] {:?} names node {n:?}, which is not a [[node]]", p.name));
            }
        }
        Ok(())
    }

    /// Whether `addr` may ask.
    pub fn allows(&self, addr: IpAddr) -> bool {
        self.allow.iter().filter_map(|a| Cidr::parse(a).ok()).any(|c| c.contains(addr))
    }
}

/// An address block: `10.0.0.0/8`, `::1/128`, or one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    bits: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let bad = || format!("[agent] allow: {text:?} is not an address or address/bits");
        let (a, bits) = match text.trim().split_once('/') {
            Some((a, b)) => (a, Some(b.parse::<u8>().map_err(|_| bad())?)),
            None => (text.trim(), None),
        };
        let addr: IpAddr = a.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = bits.unwrap_or(max);
        if bits > max {
            return Err(bad());
        }
        Ok(Cidr { addr, bits })
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        // An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d.
        let addr = match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
            v4 => v4,
        };
        let prefix = |a: u128, b: u128, width: u32| {
            let shift = width - u32::from(self.bits);
            shift >= width || (a >> shift) == (b >> shift)
        };
        match (self.addr, addr) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix(u128::from(u32::from(n)), u128::from(u32::from(a)), 32),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix(u128::from(n), u128::from(a), 128),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_contain_their_addresses_only() {
        let lo = Cidr::parse("127.0.0.0/8").unwrap();
        assert!(lo.contains("127.0.0.1".parse().unwrap()));
        assert!(lo.contains("::ffff:127.0.0.2".parse().unwrap()));
        assert!(!lo.contains("10.0.0.1".parse().unwrap()));
        assert!(!lo.contains("::1".parse().unwrap()));
        let one = Cidr::parse("10.1.2.3").unwrap();
        assert!(one.contains("10.1.2.3".parse().unwrap()) && !one.contains("10.1.2.4".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("192.0.2.1".parse().unwrap()));
        assert!(Cidr::parse("::1/128").unwrap().contains("::1".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("db1").is_err());
    }

    #[test]
    fn defaults_allow_loopback_and_check_pools() {
        let a = AgentConfig::default();
        assert!(a.allows("127.0.0.1".parse().unwrap()) && a.allows("::1".parse().unwrap()));
        assert!(!a.allows("192.168.1.5".parse().unwrap()));
        assert!(a.check(&["node1"]).is_ok());
        let mut b = a.clone();
        b.pools.push(PoolConfig { name: "mysql".into(), nodes: vec!["node9".into()], write: true });
        assert!(b.check(&["node1"]).unwrap_err().contains("node9"));
        let mut c = a;
        c.lag_crit = c.lag_warn;
        assert!(c.check(&[]).is_err());
    }
}
