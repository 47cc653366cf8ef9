//! The HAProxy pane's view of the samples: rows grouped by proxy (its frontend and backend
//! aggregates first, then its servers), sorted, filtered with `/`, and the selected row kept by
//! name, so a poll that reorders rows never moves the selection to another server before an
//! action. Also the server commands of the `:` line (`drain`, `maint`, `ready`, `weight N`). Pure.

use std::collections::HashMap;

use super::collected::Target;
use crate::model::haproxy::{HaproxyStats, RowKind, StatRow};
use crate::runbook::ServerOp;

/// How the rows of each proxy (and the proxies) are ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    /// As HAProxy lists them (config order).
    #[default]
    Config,
    /// Worst status first.
    Status,
    /// Most current sessions first.
    Sessions,
    /// Most queued connections first (then the highest queue seen).
    Queue,
    /// Highest session rate first.
    Rate,
    /// Most 5xx, connection and response errors first.
    Errors,
    /// By name.
    Name,
}

impl SortKey {
    pub const ALL: [SortKey; 7] = [
        SortKey::Config,
        SortKey::Status,
        SortKey::Sessions,
        SortKey::Queue,
        SortKey::Rate,
        SortKey::Errors,
        SortKey::Name,
    ];

    pub fn label(self) -> &'static str {
        match self {
            SortKey::Config => "config",
            SortKey::Status => "status",
            SortKey::Sessions => "sessions",
            SortKey::Queue => "queue",
            SortKey::Rate => "rate",
            SortKey::Errors => "errors",
            SortKey::Name => "name",
        }
    }

    /// The next key (`forward`) or the previous one, wrapping.
    pub fn cycle(self, forward: bool) -> SortKey {
        let n = Self::ALL.len();
        let i = Self::ALL.iter().position(|k| *k == self).unwrap_or(0);
        Self::ALL[if forward { (i + 1) % n } else { (i + n - 1) % n }]
    }

    /// A value to sort descending by (names sort ascending elsewhere).
    fn weight(self, r: &StatRow) -> (u64, u64) {
        match self {
            SortKey::Config | SortKey::Name => (0, 0),
            SortKey::Status => (u64::from(r.class().severity()), r.qcur),
            SortKey::Sessions => (r.scur, r.smax),
            SortKey::Queue => (r.qcur, r.qmax),
            SortKey::Rate => (r.rate, r.rate_max),
            SortKey::Errors => (r.hrsp_5xx + r.econ + r.eresp, r.hrsp_5xx),
        }
    }
}

/// A row by name: the instance (index into the configured HAProxies), proxy and server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowKey {
    pub instance: usize,
    pub proxy: String,
    pub server: String,
}

/// Sort, filter and selection of the HAProxy pane.
#[derive(Clone, Debug, Default)]
pub struct HaproxyView {
    pub sort: SortKey,
    /// Case-insensitive text the rows must contain (`instance proxy/server status`); empty: all.
    pub filter: String,
    pub selected: Option<RowKey>,
    /// The selected position, used when the selected row is gone (filtered out, removed).
    pub fallback: usize,
}

/// The rows to show for one instance, in order.
pub fn instance_rows<'a>(name: &str, stats: &'a HaproxyStats, view: &HaproxyView) -> Vec<&'a StatRow> {
    // Group by proxy in order of first appearance: aggregates, then servers. One pass with an
    // index, so thousands of servers stay cheap.
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut groups: Vec<(Vec<&StatRow>, Vec<&StatRow>)> = Vec::new();
    for r in &stats.rows {
        let g = *index.entry(r.proxy.as_str()).or_insert_with(|| {
            groups.push((Vec::new(), Vec::new()));
            groups.len() - 1
        });
        if matches!(r.kind(), RowKind::Frontend | RowKind::Backend) {
            groups[g].0.push(r);
        } else {
            groups[g].1.push(r);
        }
    }
    let needle = view.filter.trim().to_lowercase();
    if !needle.is_empty() {
        let hit = |r: &StatRow| {
            format!("{name} {}/{} {}", r.proxy, r.server, r.status).to_lowercase().contains(&needle)
                || (r.kind() == RowKind::Server && r.addr.contains(&needle))
        };
        for (aggs, servers) in &mut groups {
            let proxy_hit = aggs.iter().any(|r| hit(r));
            if !proxy_hit {
                servers.retain(|r| hit(r));
                if servers.is_empty() {
                    aggs.clear();
                }
            }
        }
        groups.retain(|(a, s)| !a.is_empty() || !s.is_empty());
    }
    let key = view.sort;
    match key {
        SortKey::Config => {}
        SortKey::Name => {
            for (_, servers) in &mut groups {
                servers.sort_by(|a, b| a.server.cmp(&b.server));
            }
            groups.sort_by(|a, b| group_name(a).cmp(group_name(b)));
        }
        _ => {
            for (_, servers) in &mut groups {
                servers.sort_by_key(|r| std::cmp::Reverse(key.weight(r)));
            }
            let group_weight = |g: &(Vec<&StatRow>, Vec<&StatRow>)| {
                let own = g.0.iter().map(|r| key.weight(r)).max().unwrap_or((0, 0));
                let worst = g.1.first().map(|r| key.weight(r)).unwrap_or((0, 0));
                own.max(worst)
            };
            groups.sort_by_key(|g| std::cmp::Reverse(group_weight(g)));
        }
    }
    groups.into_iter().flat_map(|(aggs, servers)| aggs.into_iter().chain(servers)).collect()
}

fn group_name<'a>(g: &(Vec<&'a StatRow>, Vec<&'a StatRow>)) -> &'a str {
    g.0.first().or(g.1.first()).map_or("", |r| r.proxy.as_str())
}

/// Every instance's rows (empty for an instance without a sample yet).
pub fn visible<'a>(instances: &'a [Target<HaproxyStats>], view: &HaproxyView) -> Vec<Vec<&'a StatRow>> {
    instances.iter().map(|t| t.last.as_ref().map(|s| instance_rows(&t.name, s, view)).unwrap_or_default()).collect()
}

/// The position of the selection in the flattened list, and the list's length.
pub fn selected_position(lists: &[Vec<&StatRow>], view: &HaproxyView) -> (usize, usize) {
    let total: usize = lists.iter().map(Vec::len).sum();
    let found = view.selected.as_ref().and_then(|k| {
        let before: usize = lists.iter().take(k.instance).map(Vec::len).sum();
        lists.get(k.instance)?.iter().position(|r| r.proxy == k.proxy && r.server == k.server).map(|p| before + p)
    });
    (found.unwrap_or(view.fallback.min(total.saturating_sub(1))), total)
}

/// The row at a flattened position: (instance, row).
pub fn at<'a>(lists: &[Vec<&'a StatRow>], mut pos: usize) -> Option<(usize, &'a StatRow)> {
    for (i, l) in lists.iter().enumerate() {
        if pos < l.len() {
            return Some((i, l[pos]));
        }
        pos -= l.len();
    }
    None
}

impl HaproxyView {
    /// Moves the selection by `delta` rows (clamped) and remembers the row by name.
    pub fn step(&mut self, instances: &[Target<HaproxyStats>], delta: isize) {
        let lists = visible(instances, self);
        let (pos, total) = selected_position(&lists, self);
        if total == 0 {
            self.selected = None;
            self.fallback = 0;
            return;
        }
        let new = pos.saturating_add_signed(delta).min(total - 1);
        self.fallback = new;
        self.selected = at(&lists, new).map(|(instance, r)| RowKey {
            instance,
            proxy: r.proxy.to_string(),
            server: r.server.to_string(),
        });
    }

    /// The selected row now: (instance, row).
    pub fn selected_row<'a>(&self, instances: &'a [Target<HaproxyStats>]) -> Option<(usize, &'a StatRow)> {
        let lists = visible(instances, self);
        let (pos, _) = selected_position(&lists, self);
        at(&lists, pos)
    }
}

/// A server command from the `:` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerCommand {
    pub op: ServerOp,
    /// `INSTANCE` when given.
    pub haproxy: Option<String>,
    /// `BACKEND/SERVER` when given; else the selected server.
    pub server: Option<String>,
}

pub const SERVER_USAGE: &str = "server commands: drain|maint|ready [HAPROXY] [BACKEND/SERVER], \
weight N [HAPROXY] [BACKEND/SERVER]; without BACKEND/SERVER: the server selected in the HAProxy pane";

/// Parses `drain`, `maint web/web2`, `ready lb2 web/web1`, `weight 50`. `None` when the verb is
/// not a server command (the node commands are parsed elsewhere).
pub fn parse_server_command(text: &str, haproxies: &[&str]) -> Option<Result<ServerCommand, String>> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let (&verb, rest) = words.split_first()?;
    let (op, rest) = match verb {
        "drain" => (ServerOp::Drain, rest),
        "maint" | "maintenance" => (ServerOp::Maint, rest),
        "ready" => (ServerOp::Ready, rest),
        "weight" => match rest.split_first() {
            Some((n, tail)) => match n.parse::<u32>() {
                Ok(w) if w <= 256 => (ServerOp::Weight(w), tail),
                _ => return Some(Err(format!("weight {n:?}: a whole number from 0 to 256"))),
            },
            None => return Some(Err("weight N [HAPROXY] [BACKEND/SERVER]: give the new weight (0-256)".into())),
        },
        _ => return None,
    };
    let mut cmd = ServerCommand { op, haproxy: None, server: None };
    for w in rest {
        if w.contains('/') && cmd.server.is_none() {
            cmd.server = Some(w.to_string());
        } else if haproxies.contains(w) && cmd.haproxy.is_none() {
            cmd.haproxy = Some(w.to_string());
        } else {
            return Some(Err(format!(
                "{w:?} is neither BACKEND/SERVER nor a configured HAProxy ({}); {SERVER_USAGE}",
                haproxies.join(", ")
            )));
        }
    }
    Some(Ok(cmd))
}
