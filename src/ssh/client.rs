//! Connecting: TCP, the SSH handshake with the host key checked in `check_server_key` against
//! known_hosts (see [`super::hostkey`]), then public key authentication with the configured key
//! file or the ssh-agent. Each step is cut off at the target's timeout, so a host that accepts TCP
//! and never speaks gives [`SshError::Timeout`], never a hang.

use std::sync::Arc;
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::{PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use tokio::time::timeout;

use super::error::SshError;
use super::hostkey::{HostKeyPolicy, check_host_key};
use super::known_hosts;
use super::target::SshTarget;

/// How often an idle connection is probed, and how many unanswered probes close it.
const KEEPALIVE: Duration = Duration::from_secs(15);
const KEEPALIVE_MAX: usize = 3;

/// The russh handler: only the host key check.
pub(crate) struct Client {
    target: SshTarget,
    policy: HostKeyPolicy,
}

/// The handler's error: russh's own, or our host key refusal (carried out of the handshake).
#[derive(Debug)]
pub(crate) enum HandlerError {
    Russh(russh::Error),
    Refused(SshError),
}

impl From<russh::Error> for HandlerError {
    fn from(e: russh::Error) -> Self {
        HandlerError::Russh(e)
    }
}

impl client::Handler for Client {
    type Error = HandlerError;

    async fn check_server_key(&mut self, key: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = key else {
            // We never advertise certificate algorithms, so a certificate is a protocol oddity.
            return Err(HandlerError::Refused(SshError::Connect(format!(
                "{}: the server showed a host certificate; only plain host keys in known_hosts are supported",
                self.target.address()
            ))));
        };
        let t = &self.target;
        check_host_key(&t.host, t.port, &t.known_hosts, &self.policy, key).map_err(HandlerError::Refused)?;
        Ok(true)
    }
}

/// A connected, authenticated SSH connection. Commands run on channels of it (several at once are
/// fine); dropping it closes the connection.
pub struct Session {
    pub(crate) handle: Handle<Client>,
    pub(crate) label: String,
    pub(crate) timeout: Duration,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("target", &self.label).finish()
    }
}

impl Session {
    /// `user@host:port`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Ends the connection politely.
    pub async fn close(self) {
        let _ = timeout(self.timeout, self.handle.disconnect(russh::Disconnect::ByApplication, "", "en")).await;
    }

    /// Opens a session channel, cut off at the target's timeout.
    pub(crate) async fn open_channel(&self) -> Result<russh::Channel<client::Msg>, SshError> {
        match timeout(self.timeout, self.handle.channel_open_session()).await {
            Err(_) => Err(SshError::Timeout(format!("{}: no channel opened within {:?}", self.label, self.timeout))),
            Ok(Err(e)) => Err(SshError::Channel(format!("{}: cannot open a channel: {e}", self.label))),
            Ok(Ok(ch)) => Ok(ch),
        }
    }
}

fn russh_config(target: &SshTarget) -> Result<client::Config, SshError> {
    let entries =
        known_hosts::entries_for(&target.known_hosts, &target.host, target.port).map_err(SshError::KnownHosts)?;
    let mut config = client::Config {
        keepalive_interval: Some(KEEPALIVE),
        keepalive_max: KEEPALIVE_MAX,
        nodelay: true,
        ..Default::default()
    };
    let recorded = known_hosts::recorded_algorithms(&entries);
    if !recorded.is_empty() {
        config.preferred.key = known_hosts::prefer_recorded(&config.preferred.key, &recorded).into();
    }
    Ok(config)
}

/// Connects to `target`, checks its host key under `policy`, and authenticates.
pub async fn connect(target: &SshTarget, policy: &HostKeyPolicy) -> Result<Session, SshError> {
    let t = target.timeout;
    let addr = target.address();
    let config = Arc::new(russh_config(target)?);
    let stream = match timeout(t, tokio::net::TcpStream::connect((target.host.as_str(), target.port))).await {
        Err(_) => return Err(SshError::Timeout(format!("{addr}: no TCP connection within {t:?}"))),
        Ok(Err(e)) => return Err(SshError::Connect(format!("{addr}: {e}"))),
        Ok(Ok(s)) => s,
    };
    let handler = Client { target: target.clone(), policy: policy.clone() };
    let mut handle = match timeout(t, client::connect_stream(config, stream, handler)).await {
        Err(_) => {
            return Err(SshError::Timeout(format!("{addr}: the SSH handshake did not finish within {t:?}")));
        }
        Ok(Err(HandlerError::Refused(e))) => return Err(e),
        Ok(Err(HandlerError::Russh(e))) => return Err(SshError::Connect(format!("{addr}: SSH handshake failed: {e}"))),
        Ok(Ok(h)) => h,
    };
    match timeout(t, authenticate(&mut handle, target)).await {
        Err(_) => Err(SshError::Timeout(format!("{}: authentication did not finish within {t:?}", target.label()))),
        Ok(Err(e)) => Err(e),
        Ok(Ok(())) => Ok(Session { handle, label: target.label(), timeout: t }),
    }
}

async fn authenticate(handle: &mut Handle<Client>, target: &SshTarget) -> Result<(), SshError> {
    let who = target.label();
    let Some(path) = &target.key else {
        return authenticate_with_agent(handle, target).await;
    };
    let shown = path.display();
    // Errors name the file and the kind of problem, never its contents.
    let key = russh::keys::load_secret_key(path, None).map_err(|e| match e {
        russh::keys::Error::KeyIsEncrypted => SshError::Auth(format!(
            "{shown} is protected by a passphrase: add it to ssh-agent and leave `key` unset to use the agent"
        )),
        russh::keys::Error::IO(io) => SshError::Auth(format!("cannot read the key file {shown}: {io}")),
        _ => SshError::Auth(format!("cannot load the key file {shown}: not a usable private key")),
    })?;
    let hash = if key.algorithm().is_rsa() {
        handle.best_supported_rsa_hash().await.map_err(|e| SshError::Connect(format!("{who}: {e}")))?.flatten()
    } else {
        None
    };
    let res = handle
        .authenticate_publickey(target.user.as_str(), PrivateKeyWithHashAlg::new(Arc::new(key), hash))
        .await
        .map_err(|e| SshError::Connect(format!("{who}: during authentication: {e}")))?;
    if res.success() { Ok(()) } else { Err(SshError::Auth(format!("{who}: the server refused the key {shown}"))) }
}

async fn authenticate_with_agent(handle: &mut Handle<Client>, target: &SshTarget) -> Result<(), SshError> {
    let who = target.label();
    let mut agent = AgentClient::connect_env().await.map_err(|e| {
        SshError::Auth(format!("{who}: no `key` configured and no usable ssh-agent (SSH_AUTH_SOCK): {e}"))
    })?;
    let identities = agent
        .request_identities()
        .await
        .map_err(|e| SshError::Auth(format!("{who}: cannot list the ssh-agent's keys: {e}")))?;
    let keys: Vec<_> = identities
        .iter()
        .filter_map(|i| match i {
            AgentIdentity::PublicKey { key, .. } => Some(key.clone()),
            AgentIdentity::Certificate { .. } => None,
        })
        .collect();
    if keys.is_empty() {
        return Err(SshError::Auth(format!("{who}: the ssh-agent holds no keys")));
    }
    let mut rsa_hash = None;
    for key in &keys {
        let hash = if key.algorithm().is_rsa() {
            if rsa_hash.is_none() {
                rsa_hash = Some(
                    handle
                        .best_supported_rsa_hash()
                        .await
                        .map_err(|e| SshError::Connect(format!("{who}: {e}")))?
                        .flatten(),
                );
            }
            rsa_hash.flatten()
        } else {
            None
        };
        match handle.authenticate_publickey_with(target.user.as_str(), key.clone(), hash, &mut agent).await {
            Ok(r) if r.success() => return Ok(()),
            Ok(_) => continue,
            Err(e) => tracing::debug!(target = %who, error = %e, "the ssh-agent could not sign"),
        }
    }
    Err(SshError::Auth(format!("{who}: the server refused every key of the ssh-agent ({})", keys.len())))
}
