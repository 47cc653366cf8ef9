//! Every node of the config read once, at the same time, and the ring model's inputs from it.

use std::time::Duration;

use super::Depth;
use crate::config::Config;
use crate::config::login::Logins;
use crate::model::replication::NodeStatus;
use crate::model::topology::NodeInput;

/// Reads every node once, concurrently, each on a connection of its own cut off at `timeout`:
/// a dead or hung node costs at most `timeout`.
pub async fn read_all(cfg: &Config, logins: &Logins, timeout: Duration) -> Vec<Result<NodeStatus, String>> {
    let reads = cfg.nodes.iter().enumerate().map(|(i, node)| async move {
        let login = logins.nodes.get(i).cloned().unwrap_or_default();
        super::read_node(node, &login, timeout, Depth::Full).await.map_err(String::from)
    });
    futures_util::future::join_all(reads).await
}

/// The nodes as the ring model takes them, from one [`read_all`].
pub fn node_inputs<'a>(cfg: &'a Config, polled: &'a [Result<NodeStatus, String>]) -> Vec<NodeInput<'a>> {
    cfg.nodes
        .iter()
        .zip(polled)
        .map(|(n, p)| match p {
            Ok(s) => NodeInput::up(n.name(), &n.host, n.port, s),
            Err(e) => NodeInput::down(n.name(), &n.host, n.port, e),
        })
        .collect()
}
