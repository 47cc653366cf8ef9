//! What a lab is: its size, ports, paths and secrets, and the state file (`D/lab.state`, mode 600)
//! that remembers them so `down`, `status`, `break` and `load` need no flags.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, WrapErr, bail, eyre};
use serde::{Deserialize, Serialize};

use crate::config::Secret;

/// Default port base B: below the kernel's ephemeral range (32768-60999), which hands ports to
/// outgoing connections; a lab port there can be taken by any client's socket.
pub const DEFAULT_PORT_BASE: u16 = 13300;
/// The kernel's ephemeral port range (`/proc/sys/net/ipv4/ip_local_port_range`), or Linux's
/// default 32768-60999.
fn ephemeral_range() -> (u32, u32) {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| {
            let mut it = t.split_whitespace().filter_map(|v| v.parse().ok());
            Some((it.next()?, it.next()?))
        })
        .unwrap_or((32768, 60999))
}

/// Default ring size.
pub const DEFAULT_NODES: u16 = 3;
/// Offsets from the port base.
pub const SSH_OFFSET: u16 = 22;
pub const HTTP_OFFSET: u16 = 80;
pub const STATS_OFFSET: u16 = 90;
/// `ringdeck agent` of `lab up --agent`: agent-check on B+77, HTTP on B+78.
pub const AGENT_OFFSET: u16 = 77;
/// Longest unix socket path the kernel accepts (sun_path is 108 bytes with the NUL).
const MAX_SOCKET_PATH: usize = 107;

/// The lab's spec and secrets, as stored in the state file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Spec {
    pub nodes: u16,
    pub port_base: u16,
    pub gtid: bool,
    /// `lab up --tls` (see `lab::tls`).
    #[serde(default)]
    pub tls: bool,
    /// `lab up --agent`: ringdeck's agent runs and HAProxy's MySQL servers ask it.
    #[serde(default)]
    pub agent: bool,
    pub root_password: Secret,
    pub operator_password: Secret,
    pub repl_password: Secret,
    pub stats_password: Secret,
    /// Set once replication has been configured around the ring (the first `up`).
    #[serde(default)]
    pub ring_configured: bool,
    #[serde(skip)]
    pub dir: PathBuf,
}

/// The default lab directory: `$XDG_RUNTIME_DIR/ringdeck-lab`, else `/tmp/ringdeck-lab-$UID`.
/// As root, Apache's workers run as www-data and must pass through the directory, so a runtime
/// dir closed to others (the usual 0700 `/run/user/0`) is passed over for `/tmp`.
pub fn default_dir() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let uid = nix::unistd::getuid();
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()).map(PathBuf::from);
    let usable =
        |p: &PathBuf| !uid.is_root() || std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o001 != 0);
    match runtime.filter(usable) {
        Some(run) => run.join("ringdeck-lab"),
        None => PathBuf::from(format!("/tmp/ringdeck-lab-{uid}")),
    }
}

/// Resolves `--dir` (or the default) to an absolute path.
pub fn resolve_dir(flag: Option<&Path>) -> Result<PathBuf> {
    let dir = flag.map_or_else(default_dir, Path::to_path_buf);
    if dir.is_absolute() {
        Ok(dir)
    } else {
        Ok(std::env::current_dir().wrap_err("cannot read the current directory")?.join(dir))
    }
}

/// An alphanumeric password of `len` characters from /dev/urandom.
pub fn generate_password(len: usize) -> Result<Secret> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut f = fs::File::open("/dev/urandom").wrap_err("cannot open /dev/urandom")?;
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        f.read_exact(&mut buf).wrap_err("cannot read /dev/urandom")?;
        for b in buf {
            // 248 = 4 * 62: reject the top bytes so every character is equally likely.
            if b < 248 && out.len() < len {
                out.push(ALPHABET[(b % 62) as usize] as char);
            }
        }
    }
    Ok(Secret::new(out))
}

/// Writes `contents` to `path` with `mode`, replacing any old file (written beside it, then renamed).
pub fn write_file(path: &Path, contents: &str, mode: u32) -> Result<()> {
    let tmp = path.with_extension("tmp-write");
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .wrap_err_with(|| format!("cannot create {}", tmp.display()))?;
    f.write_all(contents.as_bytes()).wrap_err_with(|| format!("cannot write {}", tmp.display()))?;
    // The umask may have narrowed the mode at creation: set it exactly.
    fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))
        .wrap_err_with(|| format!("cannot chmod {}", tmp.display()))?;
    fs::rename(&tmp, path).wrap_err_with(|| format!("cannot rename to {}", path.display()))
}

/// Creates a directory (and parents) and sets its mode.
pub fn make_dir(path: &Path, mode: u32) -> Result<()> {
    fs::create_dir_all(path).wrap_err_with(|| format!("cannot create {}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .wrap_err_with(|| format!("cannot chmod {}", path.display()))
}

impl Spec {
    /// A new lab with fresh secrets.
    pub fn new(dir: PathBuf, nodes: u16, port_base: u16, gtid: bool) -> Result<Spec> {
        let spec = Spec {
            nodes,
            port_base,
            gtid,
            tls: false,
            agent: false,
            root_password: generate_password(24)?,
            operator_password: generate_password(24)?,
            repl_password: generate_password(24)?,
            stats_password: generate_password(20)?,
            ring_configured: false,
            dir,
        };
        spec.validate()?;
        Ok(spec)
    }

    /// Checks that the ports fit and the socket paths are short enough.
    pub fn validate(&self) -> Result<()> {
        if !(2..SSH_OFFSET).contains(&self.nodes) {
            bail!("--nodes {}: a ring needs 2 to {} nodes", self.nodes, SSH_OFFSET - 1);
        }
        if self.port_base < 1024 || u32::from(self.port_base) + 100 > 65535 {
            bail!("--port-base {}: must be between 1024 and 65435 (the lab uses B..B+90)", self.port_base);
        }
        let (lo, hi) = ephemeral_range();
        if u32::from(self.port_base) + 90 >= lo && u32::from(self.port_base) <= hi {
            bail!(
                "--port-base {}: the lab's ports B..B+90 fall in the kernel's ephemeral range {lo}-{hi}, which it hands \
                 to outgoing connections (a lab server could find its port taken): pick B below {}",
                self.port_base,
                lo.saturating_sub(90)
            );
        }
        let longest = (1..=self.nodes)
            .map(|k| self.node_socket(k))
            .chain([self.haproxy_socket(), self.haproxy_user_socket(), self.web_dir(2).join("run/cgisock")])
            .map(|p| p.as_os_str().len())
            .max()
            .unwrap_or(0);
        if longest > MAX_SOCKET_PATH {
            bail!(
                "lab dir {} is too long: unix socket paths inside it would exceed {MAX_SOCKET_PATH} bytes; pick a shorter --dir",
                self.dir.display()
            );
        }
        Ok(())
    }

    pub fn state_path(dir: &Path) -> PathBuf {
        dir.join("lab.state")
    }

    /// Reads the state file of the lab in `dir`, if there is one.
    pub fn load(dir: &Path) -> Result<Option<Spec>> {
        let path = Self::state_path(dir);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(eyre!(e)).wrap_err_with(|| format!("cannot read {}", path.display()));
            }
        };
        let mut spec: Spec =
            toml::from_str(&text).wrap_err_with(|| format!("{} is not a lab state file", path.display()))?;
        spec.dir = dir.to_path_buf();
        Ok(Some(spec))
    }

    /// Reads the state file or explains that there is no lab in `dir`.
    pub fn require(dir: &Path) -> Result<Spec> {
        Self::load(dir)?
            .ok_or_else(|| eyre!("no lab in {} (no lab.state there); start one with `ringdeck lab up`", dir.display()))
    }

    pub fn save(&self) -> Result<()> {
        let text = toml::to_string(self).wrap_err("cannot serialize the lab state")?;
        write_file(&Self::state_path(&self.dir), &text, 0o600)
    }

    // Ports.
    pub fn node_port(&self, k: u16) -> u16 {
        self.port_base + k
    }
    pub fn mysql_lb_port(&self) -> u16 {
        self.port_base
    }
    pub fn ssh_port(&self) -> u16 {
        self.port_base + SSH_OFFSET
    }
    pub fn http_port(&self) -> u16 {
        self.port_base + HTTP_OFFSET
    }
    pub fn web_port(&self, k: u16) -> u16 {
        self.port_base + HTTP_OFFSET + k
    }
    pub fn stats_port(&self) -> u16 {
        self.port_base + STATS_OFFSET
    }
    /// `ringdeck agent`'s agent-check port (`lab up --agent`).
    pub fn agent_port(&self) -> u16 {
        self.port_base + AGENT_OFFSET
    }
    /// `ringdeck agent`'s HTTP port: httpchk, /health, /metrics.
    pub fn agent_http_port(&self) -> u16 {
        self.port_base + AGENT_OFFSET + 1
    }
    /// Every port the lab listens on.
    pub fn all_ports(&self) -> Vec<u16> {
        let mut v = vec![self.mysql_lb_port()];
        v.extend((1..=self.nodes).map(|k| self.node_port(k)));
        v.extend([self.ssh_port(), self.http_port(), self.web_port(1), self.web_port(2), self.stats_port()]);
        v
    }
    /// Node k's upstream in the ring: k-1, node 1's is node N.
    pub fn upstream(&self, k: u16) -> u16 {
        if k == 1 { self.nodes } else { k - 1 }
    }

    // Paths.
    pub fn node_dir(&self, k: u16) -> PathBuf {
        self.dir.join(format!("node{k}"))
    }
    pub fn node_data(&self, k: u16) -> PathBuf {
        self.node_dir(k).join("data")
    }
    pub fn node_cnf(&self, k: u16) -> PathBuf {
        self.node_dir(k).join("my.cnf")
    }
    pub fn node_socket(&self, k: u16) -> PathBuf {
        self.node_dir(k).join("sock")
    }
    pub fn node_pid(&self, k: u16) -> PathBuf {
        self.node_dir(k).join("mariadbd.pid")
    }
    pub fn node_log(&self, k: u16) -> PathBuf {
        self.node_dir(k).join("error.log")
    }
    pub fn node_ctl(&self, k: u16) -> PathBuf {
        self.node_dir(k).join("ctl")
    }
    pub fn haproxy_dir(&self) -> PathBuf {
        self.dir.join("haproxy")
    }
    pub fn haproxy_socket(&self) -> PathBuf {
        self.dir.join("haproxy.sock")
    }
    /// A second stats socket at level user: what a HAProxy action gets without admin level.
    pub fn haproxy_user_socket(&self) -> PathBuf {
        self.dir.join("haproxy-ro.sock")
    }
    pub fn web_dir(&self, k: u16) -> PathBuf {
        self.dir.join(format!("web{k}"))
    }
    pub fn sshd_dir(&self) -> PathBuf {
        self.dir.join("sshd")
    }
    pub fn ssh_key(&self) -> PathBuf {
        self.dir.join("id_ed25519")
    }
    pub fn known_hosts(&self) -> PathBuf {
        self.dir.join("known_hosts")
    }
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("ringdeck.toml")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_alphanumeric_and_distinct() {
        let a = generate_password(24).unwrap();
        let b = generate_password(24).unwrap();
        assert_eq!(a.expose().len(), 24);
        assert!(a.expose().chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn ring_upstreams() {
        let s = Spec::new(PathBuf::from("/tmp/x"), 3, 13300, false).unwrap();
        assert_eq!((s.upstream(1), s.upstream(2), s.upstream(3)), (3, 1, 2));
        assert_eq!(s.node_port(2), 13302);
        assert_eq!(s.web_port(2), 13382);
    }

    #[test]
    fn long_dirs_are_refused() {
        let long = PathBuf::from(format!("/tmp/{}", "x".repeat(100)));
        assert!(Spec::new(long, 3, 13300, false).is_err());
        let e = Spec::new(PathBuf::from("/tmp/x"), 3, 33300, false).expect_err("ephemeral");
        assert!(e.to_string().contains("ephemeral range"), "{e}");
    }
}
