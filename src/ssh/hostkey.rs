//! The host key decision made during the handshake: what known_hosts says about the key the
//! server showed, and what the policy allows. A changed or revoked key is refused under every
//! policy; an unknown one only passes under `AcceptNew` with its exact fingerprint, and is then
//! recorded.

use std::path::Path;

use russh::keys::PublicKey;

use super::error::{ChangedKey, SshError};
use super::known_hosts::{self, Verdict, fingerprint_of};

/// What to do with a host key that known_hosts does not list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Only keys recorded in known_hosts.
    Strict,
    /// Also an unknown key whose SHA256 fingerprint is one of `fingerprints` (as shown by
    /// [`SshError::UnknownHostKey`] and confirmed by the operator); it is appended to known_hosts.
    /// Several: one `--accept-host-key` per host of a ring, each host matching its own.
    AcceptNew { fingerprints: Vec<String> },
}

/// `SHA256:xyz` for `xyz` or `SHA256:xyz`, trimmed.
fn normalize_fingerprint(f: &str) -> String {
    let f = f.trim();
    if f.starts_with("SHA256:") { f.to_string() } else { format!("SHA256:{f}") }
}

/// Checks `key` shown by `host`:`port` against the file at `path` under `policy`; records it when
/// the policy accepts a new key.
pub fn check_host_key(
    host: &str,
    port: u16,
    path: &Path,
    policy: &HostKeyPolicy,
    key: &PublicKey,
) -> Result<(), SshError> {
    let entries = known_hosts::entries_for(path, host, port).map_err(SshError::KnownHosts)?;
    let fingerprint = fingerprint_of(key);
    let key_type = key.algorithm().as_str().to_string();
    let refuse = |v: Verdict| match v {
        Verdict::Changed { line, recorded_type } => SshError::ChangedHostKey(Box::new(ChangedKey {
            host: host.to_string(),
            port,
            fingerprint: fingerprint.clone(),
            key_type: key_type.clone(),
            known_hosts: path.to_path_buf(),
            line,
            recorded_type,
        })),
        Verdict::Revoked { line } => SshError::RevokedHostKey {
            host: host.to_string(),
            port,
            fingerprint: fingerprint.clone(),
            known_hosts: path.to_path_buf(),
            line,
        },
        Verdict::Known | Verdict::Unknown => SshError::UnknownHostKey {
            host: host.to_string(),
            port,
            fingerprint: fingerprint.clone(),
            key_type: key_type.clone(),
        },
    };
    match known_hosts::verdict(&entries, key) {
        Verdict::Known => Ok(()),
        v @ (Verdict::Changed { .. } | Verdict::Revoked { .. }) => Err(refuse(v)),
        Verdict::Unknown => match policy {
            HostKeyPolicy::Strict => Err(refuse(Verdict::Unknown)),
            HostKeyPolicy::AcceptNew { fingerprints } => {
                let expected: Vec<String> = fingerprints.iter().map(|f| normalize_fingerprint(f)).collect();
                if !expected.contains(&fingerprint) {
                    return Err(SshError::FingerprintMismatch {
                        host: host.to_string(),
                        port,
                        expected: expected.join(" or "),
                        fingerprint: fingerprint.clone(),
                        key_type: key_type.clone(),
                    });
                }
                match known_hosts::learn(path, host, port, key).map_err(SshError::KnownHosts)? {
                    Verdict::Known | Verdict::Unknown => {
                        tracing::info!(host, port, %fingerprint, path = %path.display(), "host key added to known_hosts");
                        Ok(())
                    }
                    v => Err(refuse(v)),
                }
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const ED_A: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";
    const ED_B: &str = "AAAAC3NzaC1lZDI1NTE5AAAAILIG2T/B0l0gaqj3puu510tu9N1OkQ4znY3LYuEm5zCF";

    fn key(b64: &str) -> PublicKey {
        PublicKey::from_openssh(&format!("ssh-ed25519 {b64}")).unwrap()
    }

    #[test]
    fn strict_refuses_unknown_with_its_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        let e = check_host_key("h", 2222, &path, &HostKeyPolicy::Strict, &key(ED_A)).unwrap_err();
        assert_eq!(
            e,
            SshError::UnknownHostKey {
                host: "h".into(),
                port: 2222,
                fingerprint: fingerprint_of(&key(ED_A)),
                key_type: "ssh-ed25519".into()
            }
        );
        assert!(!path.exists(), "Strict never writes");
    }

    #[test]
    fn accept_new_needs_the_exact_fingerprint_then_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        let wrong = HostKeyPolicy::AcceptNew { fingerprints: vec![fingerprint_of(&key(ED_B))] };
        let e = check_host_key("h", 2222, &path, &wrong, &key(ED_A)).unwrap_err();
        assert!(matches!(e, SshError::FingerprintMismatch { .. }), "{e}");
        assert!(!path.exists());
        // Without the SHA256: prefix too.
        let fp = fingerprint_of(&key(ED_A));
        let bare = fp.trim_start_matches("SHA256:").to_string();
        let ok = HostKeyPolicy::AcceptNew { fingerprints: vec![bare] };
        check_host_key("h", 2222, &path, &ok, &key(ED_A)).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), format!("[h]:2222 ssh-ed25519 {ED_A}\n"));
        check_host_key("h", 2222, &path, &HostKeyPolicy::Strict, &key(ED_A)).unwrap();
    }

    #[test]
    fn several_accepted_fingerprints_each_host_matches_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        let both =
            HostKeyPolicy::AcceptNew { fingerprints: vec![fingerprint_of(&key(ED_A)), fingerprint_of(&key(ED_B))] };
        check_host_key("a", 22, &path, &both, &key(ED_A)).expect("host a's key is one of them");
        check_host_key("b", 22, &path, &both, &key(ED_B)).expect("host b's key is one of them");
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(&format!("a ssh-ed25519 {ED_A}")) || text.contains(&format!("[a]:22 ssh-ed25519 {ED_A}")),
            "{text}"
        );
        let only_b = HostKeyPolicy::AcceptNew { fingerprints: vec![fingerprint_of(&key(ED_B))] };
        let e = check_host_key("c", 22, &path, &only_b, &key(ED_A)).unwrap_err();
        assert!(matches!(e, SshError::FingerprintMismatch { .. }), "{e}");
    }

    #[test]
    fn changed_is_refused_under_every_policy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        fs::write(&path, format!("# hosts\n[h]:2222 ssh-ed25519 {ED_B}\n")).unwrap();
        for policy in
            [HostKeyPolicy::Strict, HostKeyPolicy::AcceptNew { fingerprints: vec![fingerprint_of(&key(ED_A))] }]
        {
            let e = check_host_key("h", 2222, &path, &policy, &key(ED_A)).unwrap_err();
            match e {
                SshError::ChangedHostKey(c) => {
                    assert_eq!(c.line, 2);
                    assert_eq!(c.known_hosts, path);
                }
                other => panic!("expected ChangedHostKey, got {other:?}"),
            }
        }
        assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 2, "nothing appended");
    }

    #[test]
    fn revoked_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        fs::write(&path, format!("@revoked * ssh-ed25519 {ED_A}\n")).unwrap();
        let policy = HostKeyPolicy::AcceptNew { fingerprints: vec![fingerprint_of(&key(ED_A))] };
        let e = check_host_key("h", 22, &path, &policy, &key(ED_A)).unwrap_err();
        assert!(matches!(e, SshError::RevokedHostKey { line: 1, .. }), "{e}");
    }
}
