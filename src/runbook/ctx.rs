//! What every step runs with: the config, the resolved logins, read-only, the audit log, the
//! timeouts and the operator's name; and the one message of a step refused read-only.

use std::sync::Arc;
use std::time::Duration;

use super::audit::{self, AuditLog};
use super::step::Step;
use crate::config::login::{Login, Logins};
use crate::config::{Config, NodeConfig};

/// Everything the engine needs; cheap to clone (the config and logins are shared).
#[derive(Clone, Debug)]
pub struct EngineCtx {
    pub cfg: Arc<Config>,
    /// Resolved logins, in config order (the console resolves them once at start).
    pub logins: Arc<Logins>,
    /// Refuse every step (`--read-only` or `read_only = true`).
    pub read_only: bool,
    pub audit: AuditLog,
    /// Timeout of each connect and each status read.
    pub timeout: Duration,
    /// Timeout of each statement (`STOP SLAVE` waits for the running event to finish).
    pub statement_timeout: Duration,
    /// How long to wait for the server to settle after the statements (threads starting, a
    /// skipped event applied or the next error) before the postconditions count as failed.
    pub settle: Duration,
    /// Who runs the steps (the login name), for the audit log.
    pub operator: String,
}

impl EngineCtx {
    /// A context from the config: its timeout, `read_only`, audit log and this user's login name.
    pub fn new(cfg: Arc<Config>, logins: Arc<Logins>) -> Result<EngineCtx, String> {
        let audit = AuditLog::from_config(&cfg)?;
        let timeout = cfg.timeout.0;
        Ok(EngineCtx {
            read_only: cfg.read_only,
            cfg,
            logins,
            audit,
            timeout,
            statement_timeout: (timeout * 5).max(Duration::from_secs(10)),
            settle: Duration::from_secs(20),
            operator: audit::operator(),
        })
    }

    /// A configured node and its resolved login.
    pub(crate) fn node_login(&self, name: &str) -> Result<(&NodeConfig, Login), String> {
        self.node(name)
    }

    pub(crate) fn node(&self, name: &str) -> Result<(&NodeConfig, Login), String> {
        let i = self
            .cfg
            .nodes
            .iter()
            .position(|n| n.name() == name)
            .ok_or_else(|| format!("no [[node]] is named {name:?} in the config"))?;
        Ok((&self.cfg.nodes[i], self.logins.nodes.get(i).cloned().unwrap_or_default()))
    }
}

/// The message a read-only console gives for every step.
pub fn read_only_message(step: &Step) -> String {
    super::refusal::ReadOnly::console(format!("`{}`", step.title)).to_string()
}
