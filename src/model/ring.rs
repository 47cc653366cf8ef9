//! Ring topology: which configured node each replica link comes from, matched by host:port, then
//! by the upstream's server_id (the host a replica uses is often not the one the operator configured).

use super::replication::{NodeStatus, ReplicaLink};

/// What the model knows of a configured node when matching links.
#[derive(Clone, Debug)]
pub struct NodeIdent<'a> {
    pub host: &'a str,
    pub port: u16,
    /// The last status read, if any.
    pub status: Option<&'a NodeStatus>,
}

fn same_host(a: &str, b: &str) -> bool {
    let norm = |h: &str| {
        if h == "localhost" || h == "::1" { "127.0.0.1".to_string() } else { h.to_ascii_lowercase() }
    };
    norm(a) == norm(b)
}

/// The index of the configured node a link replicates from, if it is one of ours.
pub fn upstream_of(link: &ReplicaLink, nodes: &[NodeIdent<'_>]) -> Option<usize> {
    if let Some(i) = nodes.iter().position(|n| n.port == link.master_port && same_host(n.host, &link.master_host)) {
        return Some(i);
    }
    if let Some(id) = link.master_server_id.filter(|id| *id != 0)
        && let Some(i) = nodes.iter().position(|n| n.status.is_some_and(|s| s.vars.server_id == id))
    {
        return Some(i);
    }
    nodes.iter().position(|n| {
        n.status.is_some_and(|s| !s.vars.hostname.is_empty() && s.vars.hostname.eq_ignore_ascii_case(&link.master_host))
            && n.port == link.master_port
    })
}

/// The link on node `down` that comes from node `up`, if any.
pub fn link_between<'a>(nodes: &[NodeIdent<'a>], up: usize, down: usize) -> Option<&'a ReplicaLink> {
    let status = nodes.get(down)?.status?;
    status.links.iter().find(|l| upstream_of(l, nodes) == Some(up))
}
