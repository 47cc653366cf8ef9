//! What can go wrong over SSH, as values the UI can act on (an unknown host key carries the
//! fingerprint to show and ask about). Messages never hold key material or passphrases.

use std::fmt;
use std::path::PathBuf;

/// An SSH failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SshError {
    /// known_hosts has no entry for the host: show the fingerprint, ask, and connect again with
    /// `HostKeyPolicy::AcceptNew { fingerprint }`.
    UnknownHostKey { host: String, port: u16, fingerprint: String, key_type: String },
    /// `AcceptNew` named a fingerprint, but the unknown key the host showed has another one.
    FingerprintMismatch { host: String, port: u16, expected: String, fingerprint: String, key_type: String },
    /// known_hosts has a different key for the host: refused under every policy.
    ChangedHostKey(Box<ChangedKey>),
    /// The key the host showed is marked `@revoked`.
    RevokedHostKey { host: String, port: u16, fingerprint: String, known_hosts: PathBuf, line: usize },
    /// known_hosts cannot be read or written.
    KnownHosts(String),
    /// No key was accepted, the key file cannot be loaded, no agent.
    Auth(String),
    /// TCP connect, handshake or protocol failures.
    Connect(String),
    /// A step did not finish (or a command gave no sign of life) in time.
    Timeout(String),
    /// The server refused a channel or a request on it, or closed it unexpectedly.
    Channel(String),
    /// A command exited non-zero (or by a signal); `stderr` is its tail.
    Command { target: String, command: String, status: Option<u32>, signal: Option<String>, stderr: String },
}

/// The details of [`SshError::ChangedHostKey`] (boxed: keeps `SshError` small).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangedKey {
    pub host: String,
    pub port: u16,
    /// What the host shows now.
    pub fingerprint: String,
    pub key_type: String,
    /// The file and line that record another key for the host.
    pub known_hosts: PathBuf,
    pub line: usize,
    /// The key type on that line.
    pub recorded_type: String,
}

impl SshError {
    /// True for the host key verdicts (unknown, mismatch, changed, revoked).
    pub fn is_host_key(&self) -> bool {
        matches!(
            self,
            SshError::UnknownHostKey { .. }
                | SshError::FingerprintMismatch { .. }
                | SshError::ChangedHostKey(_)
                | SshError::RevokedHostKey { .. }
        )
    }
}

fn host_port(host: &str, port: u16) -> String {
    if port == 22 { host.to_string() } else { format!("[{host}]:{port}") }
}

impl fmt::Display for SshError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SshError::UnknownHostKey { host, port, fingerprint, key_type } => write!(
                f,
                "unknown host key for {}: {key_type} {fingerprint} (not in known_hosts)",
                host_port(host, *port)
            ),
            SshError::FingerprintMismatch { host, port, expected, fingerprint, key_type } => write!(
                f,
                "host key of {} is {key_type} {fingerprint}, not the expected {expected}: not accepted",
                host_port(host, *port)
            ),
            SshError::ChangedHostKey(c) => {
                let ChangedKey { host, port, fingerprint, key_type, known_hosts, line, recorded_type } = &**c;
                write!(
                    f,
                    "HOST KEY CHANGED for {}: it shows {key_type} {fingerprint}, but {}:{line} records another \
                     {recorded_type} key; refused (someone may be intercepting the connection, or the host was \
                     reinstalled: check, then remove the old line)",
                    host_port(host, *port),
                    known_hosts.display()
                )
            }
            SshError::RevokedHostKey { host, port, fingerprint, known_hosts, line } => write!(
                f,
                "host key {fingerprint} of {} is marked @revoked in {}:{line}; refused",
                host_port(host, *port),
                known_hosts.display()
            ),
            SshError::KnownHosts(m) => write!(f, "known_hosts: {m}"),
            SshError::Auth(m) => write!(f, "authentication failed: {m}"),
            SshError::Connect(m) => write!(f, "connection failed: {m}"),
            SshError::Timeout(m) => write!(f, "timed out: {m}"),
            SshError::Channel(m) => write!(f, "ssh channel: {m}"),
            SshError::Command { target, command, status, signal, stderr } => {
                write!(f, "{target}: `{command}` ")?;
                match (status, signal) {
                    (Some(s), _) => write!(f, "exited with status {s}")?,
                    (None, Some(sig)) => write!(f, "was killed by signal {sig}")?,
                    (None, None) => write!(f, "ended without an exit status")?,
                }
                let tail = stderr.trim();
                if !tail.is_empty() {
                    write!(f, ": {tail}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for SshError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let e = SshError::UnknownHostKey {
            host: "127.0.0.1".into(),
            port: 2222,
            fingerprint: "SHA256:abc".into(),
            key_type: "ssh-ed25519".into(),
        };
        assert_eq!(e.to_string(), "unknown host key for [127.0.0.1]:2222: ssh-ed25519 SHA256:abc (not in known_hosts)");
        assert!(e.is_host_key());
        let e = SshError::Command {
            target: "root@db1".into(),
            command: "'false'".into(),
            status: Some(1),
            signal: None,
            stderr: "boom\n".into(),
        };
        assert_eq!(e.to_string(), "root@db1: `'false'` exited with status 1: boom");
        assert!(!e.is_host_key());
    }
}
