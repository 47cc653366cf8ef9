//! Files ringdeck keeps in its state directory for one config file (the recovery wizard's state,
//! the forked-data records): where they live, and writing them atomically and durably.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A state file that could not be created, written, read or removed.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}: {source}", .path.display())]
pub struct StateFileError {
    /// What was being done: `create`, `write`, `rename into place`, ...
    pub action: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl From<StateFileError> for String {
    fn from(e: StateFileError) -> String {
        e.to_string()
    }
}

fn fail(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StateFileError {
    let path = path.to_path_buf();
    move |source| StateFileError { action, path, source }
}

/// `$XDG_STATE_HOME/ringdeck/<kind>/<hash of the config's absolute path>.json`: one file per
/// config, so two consoles on two rings never share a file.
pub fn for_config(kind: &str, config: &Path) -> Option<PathBuf> {
    let abs = std::fs::canonicalize(config).unwrap_or_else(|_| config.to_path_buf());
    // FNV-1a: stable across runs and builds (std's hasher is not).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in abs.as_os_str().as_encoded_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    crate::config::paths::state_dir().map(|d| d.join(kind).join(format!("{h:016x}.json")))
}

/// Creates `dir` (and its parents) private to this user: mode 700 for what it creates, and the
/// directory itself made 700 when it exists with a wider mode (whoever created it first).
pub fn private_dir(dir: &Path) -> Result<(), StateFileError> {
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(fail("create", dir))?;
    let meta = std::fs::metadata(dir).map_err(fail("stat", dir))?;
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(fail("make private", dir))?;
    }
    Ok(())
}

/// Opens `path` for appending, created with mode 600 in a private directory; an existing file
/// with a wider mode is made 600.
pub fn open_private_append(path: &Path) -> Result<std::fs::File, StateFileError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        private_dir(dir)?;
    }
    let f = std::fs::OpenOptions::new().append(true).create(true).mode(0o600).open(path).map_err(fail("open", path))?;
    let meta = f.metadata().map_err(fail("stat", path))?;
    if meta.permissions().mode() & 0o077 != 0 {
        f.set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(fail("make private", path))?;
    }
    Ok(f)
}

/// Writes `text` to `path` atomically (temp file, fsync, rename, fsync of the directory), mode
/// 600 in a directory of mode 700.
pub fn write_atomic(path: &Path, text: &[u8]) -> Result<(), StateFileError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    private_dir(dir)?;
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(fail("write", &tmp))?;
    f.write_all(text).and_then(|_| f.sync_all()).map_err(fail("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(fail("rename into place", &tmp))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Removes a file; one that is not there is fine.
pub fn remove(path: &Path) -> Result<(), StateFileError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(fail("remove", path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_files_are_private_whoever_made_the_directory() {
        let tmp = tempfile::tempdir().expect("dir");
        let dir = tmp.path().join("state");
        std::fs::create_dir(&dir).expect("dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let log = dir.join("ringdeck.log");
        std::fs::write(&log, "x").expect("file");
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        drop(open_private_append(&log).expect("open"));
        let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        assert_eq!((mode(&dir), mode(&log)), (0o700, 0o600));
        write_atomic(&dir.join("sub/x.json"), b"{}").expect("write");
        assert_eq!((mode(&dir.join("sub")), mode(&dir.join("sub/x.json"))), (0o700, 0o600));
    }
}
