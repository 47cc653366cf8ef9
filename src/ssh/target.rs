//! Where and as whom to connect: a node's `[node.ssh]` section resolved into an [`SshTarget`]
//! (host defaults to the node's host, known_hosts to `~/.ssh/known_hosts`, `~/` expanded).

use std::path::PathBuf;
use std::time::Duration;

use crate::config::NodeConfig;
use crate::config::paths::{expand_tilde, home_dir};

/// One SSH destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// Private key file; `None`: the keys of the ssh-agent at `SSH_AUTH_SOCK`.
    pub key: Option<PathBuf>,
    pub known_hosts: PathBuf,
    /// Limit of each network step: TCP connect, handshake, authentication, channel open.
    pub timeout: Duration,
}

impl SshTarget {
    /// The target of `node`'s `[node.ssh]`; an error when it has none (or no home directory to
    /// find `~/.ssh/known_hosts` in).
    pub fn for_node(node: &NodeConfig, timeout: Duration) -> Result<SshTarget, String> {
        let Some(ssh) = &node.ssh else {
            return Err(format!("node {} has no [node.ssh] section (how to reach its host over SSH)", node.name()));
        };
        let known_hosts = match &ssh.known_hosts {
            Some(p) => expand_tilde(p),
            None => home_dir().map(|h| h.join(".ssh").join("known_hosts")).ok_or_else(|| {
                format!("node {}: no known_hosts set and no $HOME to find ~/.ssh/known_hosts", node.name())
            })?,
        };
        Ok(SshTarget {
            host: ssh.host.clone().unwrap_or_else(|| node.host.clone()),
            port: ssh.port,
            user: ssh.user.clone(),
            key: ssh.key.as_deref().map(expand_tilde),
            known_hosts,
            timeout,
        })
    }

    /// `host:port` (`[v6]:port` for IPv6 literals), for messages.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `user@host:port`, for messages.
    pub fn label(&self) -> String {
        format!("{}@{}", self.user, self.address())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::path::Path;

    fn node(extra: &str) -> NodeConfig {
        let text = format!("[[node]]\nname = \"db1\"\nhost = \"10.0.0.11\"\n{extra}");
        Config::parse(&text, Path::new("t.toml")).unwrap().nodes.remove(0)
    }

    #[test]
    fn defaults_come_from_the_node() {
        let t = SshTarget::for_node(&node("[node.ssh]\nuser = \"root\"\n"), Duration::from_secs(3)).unwrap();
        assert_eq!(t.host, "10.0.0.11");
        assert_eq!(t.port, 22);
        assert_eq!(t.user, "root");
        assert_eq!(t.key, None);
        if let Some(home) = home_dir() {
            assert_eq!(t.known_hosts, home.join(".ssh/known_hosts"));
        }
        assert_eq!(t.label(), "root@10.0.0.11:22");
    }

    #[test]
    fn explicit_values_and_tilde() {
        let t = SshTarget::for_node(
            &node(
                "[node.ssh]\nhost = \"::1\"\nport = 2222\nuser = \"ops\"\nkey = \"/k/id\"\nknown_hosts = \"/k/kh\"\n",
            ),
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!((t.host.as_str(), t.port, t.user.as_str()), ("::1", 2222, "ops"));
        assert_eq!(t.key.as_deref(), Some(Path::new("/k/id")));
        assert_eq!(t.known_hosts, Path::new("/k/kh"));
        assert_eq!(t.address(), "[::1]:2222");
    }

    #[test]
    fn no_ssh_section_is_an_error() {
        let e = SshTarget::for_node(&node(""), Duration::from_secs(1)).unwrap_err();
        assert!(e.contains("db1") && e.contains("[node.ssh]"), "{e}");
    }
}
