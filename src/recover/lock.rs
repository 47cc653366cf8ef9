//! One wizard at a time: an exclusive lock (`flock`) on `<saved state>.lock`, held by the console
//! while its wizard is open and by `ringdeck recover` while it runs, across processes. The lock
//! file says who holds it (pid and since when) so a second one can say so; the kernel drops the
//! lock when its holder exits, however it exits.

use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another console or `ringdeck recover` holds it (`holder` says which, from the lock file).
    #[error("the recovery wizard is already open in {holder}: one wizard at a time (finish or quit it there)")]
    Held { holder: String },
    #[error(transparent)]
    File(#[from] crate::statefile::StateFileError),
}

impl From<LockError> for String {
    fn from(e: LockError) -> String {
        e.to_string()
    }
}

/// A held lock; dropping it releases it.
#[derive(Debug)]
pub struct WizardLock {
    _held: Flock<std::fs::File>,
    pub path: PathBuf,
}

/// The lock file of a saved state.
pub fn lock_path(state: &Path) -> PathBuf {
    state.with_extension("lock")
}

impl WizardLock {
    /// Takes the lock, or says who holds it.
    pub fn acquire(state: &Path) -> Result<WizardLock, LockError> {
        let path = lock_path(state);
        if let Some(dir) = path.parent() {
            crate::statefile::private_dir(dir)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|source| crate::statefile::StateFileError { action: "open", path: path.clone(), source })?;
        let mut holder = String::new();
        let _ = f.read_to_string(&mut holder);
        let mut held = match Flock::lock(f, FlockArg::LockExclusiveNonblock) {
            Ok(l) => l,
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                let who = holder.trim();
                let holder = if who.is_empty() { "another ringdeck".to_string() } else { who.to_string() };
                return Err(LockError::Held { holder });
            }
            Err((_, e)) => {
                let source = std::io::Error::from(e);
                return Err(crate::statefile::StateFileError { action: "lock", path, source }.into());
            }
        };
        let me = format!(
            "ringdeck pid {} on {}, since {}",
            std::process::id(),
            crate::runbook::audit::host_name(),
            crate::fmt::rfc3339(std::time::SystemTime::now())
        );
        let _ = held.set_len(0).and_then(|()| held.rewind()).and_then(|()| held.write_all(me.as_bytes()));
        Ok(WizardLock { _held: held, path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_told_who_holds_it() {
        let dir = tempfile::tempdir().expect("dir");
        let state = dir.path().join("recovery/x.json");
        let first = WizardLock::acquire(&state).expect("free");
        let e = WizardLock::acquire(&state).expect_err("held").to_string();
        assert!(e.contains(&format!("ringdeck pid {}", std::process::id())), "{e}");
        assert!(e.contains("one wizard at a time"), "{e}");
        drop(first);
        WizardLock::acquire(&state).expect("free again once dropped");
    }
}
