//! known_hosts files, read and appended the way OpenSSH does: `[marker] patterns keytype base64
//! [comment]` lines; patterns are comma-separated host names with `*`/`?` wildcards, `!negations`
//! and hashed `|1|salt|hmac-sha1` entries; a port other than 22 is looked up as `[host]:port`.
//!
//! [`verdict`] says what a file says about an offered host key: known, unknown, changed (the host
//! has entries, none of them this key: fail closed) or revoked (`@revoked`). `@cert-authority`
//! lines are ignored (ringdeck does not ask for host certificates). [`learn`] appends a key under
//! an exclusive lock after checking the file again, so two connections never write it twice.

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use data_encoding::BASE64;
use hmac::{Hmac, KeyInit, Mac};
use russh::keys::{Algorithm, HashAlg, PublicKey};
use sha1::Sha1;

/// `SHA256:base64` (unpadded), as `ssh-keygen -l` and `ssh` print it.
pub fn fingerprint_of(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// The name a host is recorded under: `host`, or `[host]:port` when the port is not 22.
pub fn host_entry_name(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 { host } else { format!("[{host}]:{port}") }
}

/// A line's marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    None,
    Revoked,
    CertAuthority,
}

/// A line of a known_hosts file whose patterns match the host.
#[derive(Clone, Debug)]
pub struct Entry {
    /// 1-based line number.
    pub line: usize,
    pub marker: Marker,
    /// The key type named on the line (`ssh-ed25519`, ...).
    pub key_type: String,
    /// The key, or `None` when the line's key does not parse (kept: the host is still known).
    pub key: Option<PublicKey>,
}

/// What a known_hosts file says about an offered key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A line records this key for the host.
    Known,
    /// No line names the host.
    Unknown,
    /// The host has lines, none with this key; `line` is the first of the same key type (or the
    /// first at all), `recorded_type` its key type.
    Changed { line: usize, recorded_type: String },
    /// An `@revoked` line holds this key.
    Revoked { line: usize },
}

/// Case-insensitive glob with `*` (any run) and `?` (one character).
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Does a hashed `|1|salt|hash` pattern hash `name`?
fn hashed_match(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.trim_start_matches("|1|").splitn(2, '|');
    let (Some(salt), Some(hash)) = (parts.next(), parts.next()) else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (BASE64.decode(salt.as_bytes()), BASE64.decode(hash.as_bytes())) else {
        return false;
    };
    match Hmac::<Sha1>::new_from_slice(&salt) {
        Ok(mac) => mac.chain_update(name.as_bytes()).verify_slice(&hash).is_ok(),
        Err(_) => false,
    }
}

/// Do a line's comma-separated patterns match `name` (a negated match wins)?
fn patterns_match(patterns: &str, name: &str) -> bool {
    let mut matched = false;
    for p in patterns.split(',').filter(|p| !p.is_empty()) {
        if p.starts_with("|1|") {
            matched |= hashed_match(p, name);
        } else if let Some(neg) = p.strip_prefix('!') {
            if glob(neg, name) {
                return false;
            }
        } else {
            matched |= glob(p, name);
        }
    }
    matched
}

/// The lines of `text` that match `host`:`port`.
pub fn parse_entries(text: &str, host: &str, port: u16) -> Vec<Entry> {
    let name = host_entry_name(host, port);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let Some(mut first) = fields.next() else { continue };
        let marker = match first {
            "@revoked" => Marker::Revoked,
            "@cert-authority" => Marker::CertAuthority,
            m if m.starts_with('@') => continue,
            _ => Marker::None,
        };
        if marker != Marker::None {
            match fields.next() {
                Some(f) => first = f,
                None => continue,
            }
        }
        let (Some(key_type), Some(b64)) = (fields.next(), fields.next()) else { continue };
        if !patterns_match(first, &name) {
            continue;
        }
        let key = PublicKey::from_openssh(&format!("{key_type} {b64}")).ok();
        out.push(Entry { line: i + 1, marker, key_type: key_type.to_string(), key });
    }
    out
}

/// The entries of the file at `path` for `host`:`port`; a missing file has none.
pub fn entries_for(path: &Path, host: &str, port: u16) -> Result<Vec<Entry>, String> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(parse_entries(&text, host, port)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

fn same_key(a: &PublicKey, b: &PublicKey) -> bool {
    a.key_data() == b.key_data()
}

/// What `entries` (of one host) say about `key`.
pub fn verdict(entries: &[Entry], key: &PublicKey) -> Verdict {
    let holds = |e: &Entry| e.key.as_ref().is_some_and(|k| same_key(k, key));
    if let Some(e) = entries.iter().find(|e| e.marker == Marker::Revoked && holds(e)) {
        return Verdict::Revoked { line: e.line };
    }
    let plain: Vec<&Entry> = entries.iter().filter(|e| e.marker == Marker::None).collect();
    if plain.iter().any(|e| holds(e)) {
        return Verdict::Known;
    }
    let offered = key.algorithm();
    let first =
        plain.iter().find(|e| e.key.as_ref().is_some_and(|k| k.algorithm() == offered)).or_else(|| plain.first());
    match first {
        Some(e) => Verdict::Changed { line: e.line, recorded_type: e.key_type.clone() },
        None => Verdict::Unknown,
    }
}

/// The key algorithms recorded for the host (plain lines), to ask the server for those first.
pub fn recorded_algorithms(entries: &[Entry]) -> Vec<Algorithm> {
    let mut out: Vec<Algorithm> = Vec::new();
    for e in entries.iter().filter(|e| e.marker == Marker::None) {
        if let Some(a) = e.key.as_ref().map(PublicKey::algorithm)
            && !out.contains(&a)
        {
            out.push(a);
        }
    }
    out
}

/// `preferred` with the algorithms of `recorded` keys moved to the front (OpenSSH does the same:
/// a server with several host keys then shows the one on record, not a new one). RSA keys match
/// every `rsa-sha2-*` / `ssh-rsa` signature algorithm.
pub fn prefer_recorded(preferred: &[Algorithm], recorded: &[Algorithm]) -> Vec<Algorithm> {
    let rsa = |a: &Algorithm| matches!(a, Algorithm::Rsa { .. });
    let is_recorded = |a: &Algorithm| recorded.iter().any(|r| r == a || (rsa(r) && rsa(a)));
    let mut out: Vec<Algorithm> = preferred.iter().filter(|a| is_recorded(a)).cloned().collect();
    out.extend(preferred.iter().filter(|a| !is_recorded(a)).cloned());
    out
}

/// Appends `key` for `host`:`port` to the file at `path` (created with mode 644, its directory
/// with 700, if missing), under an exclusive `flock`, after reading the file again: returns
/// `Verdict::Unknown` when it wrote the line, or what the file says now if another writer was
/// first (`Known`: nothing to do; `Changed`/`Revoked`: nothing written).
pub fn learn(path: &Path, host: &str, port: u16, key: &PublicKey) -> Result<Verdict, String> {
    use nix::fcntl::{Flock, FlockArg};
    let shown = path.display();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let file = fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o644)
        .open(path)
        .map_err(|e| format!("cannot open {shown}: {e}"))?;
    let mut file = Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, e)| format!("cannot lock {shown}: {e}"))?;
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).map_err(|e| format!("cannot read {shown}: {e}"))?;
    file.read_to_string(&mut text).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let now = verdict(&parse_entries(&text, host, port), key);
    if now != Verdict::Unknown {
        return Ok(now);
    }
    let openssh = key.to_openssh().map_err(|e| format!("cannot encode the host key: {e}"))?;
    let mut line = String::new();
    if !text.is_empty() && !text.ends_with('\n') {
        line.push('\n');
    }
    // The key alone: `to_openssh` adds the comment, which a host key from the wire does not have.
    line.push_str(&format!("{} {}\n", host_entry_name(host, port), openssh.trim_end()));
    file.write_all(line.as_bytes()).map_err(|e| format!("cannot write {shown}: {e}"))?;
    file.sync_data().map_err(|e| format!("cannot sync {shown}: {e}"))?;
    Ok(Verdict::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED_A: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";
    const ED_B: &str = "AAAAC3NzaC1lZDI1NTE5AAAAILIG2T/B0l0gaqj3puu510tu9N1OkQ4znY3LYuEm5zCF";
    const ED_C: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIA6rWI3G1sz07DnfFlrouTcysQlj2P+jpNSOEWD9OJ3X";

    fn key(b64: &str) -> PublicKey {
        PublicKey::from_openssh(&format!("ssh-ed25519 {b64}")).unwrap()
    }

    fn hashed(name: &str, salt: &[u8]) -> String {
        let mac = Hmac::<Sha1>::new_from_slice(salt).unwrap().chain_update(name.as_bytes()).finalize().into_bytes();
        format!("|1|{}|{}", BASE64.encode(salt), BASE64.encode(&mac))
    }

    fn v(text: &str, host: &str, port: u16, k: &str) -> Verdict {
        verdict(&parse_entries(text, host, port), &key(k))
    }

    #[test]
    fn plain_entries_and_ports() {
        let text = format!("[127.0.0.1]:2222 ssh-ed25519 {ED_A}\nexample.com,10.0.0.1 ssh-ed25519 {ED_B} c\n");
        assert_eq!(v(&text, "127.0.0.1", 2222, ED_A), Verdict::Known);
        // Port 22 is looked up without brackets: the [..]:2222 line does not name it.
        assert_eq!(v(&text, "127.0.0.1", 22, ED_A), Verdict::Unknown);
        assert_eq!(v(&text, "127.0.0.1", 2223, ED_A), Verdict::Unknown);
        assert_eq!(v(&text, "10.0.0.1", 22, ED_B), Verdict::Known);
        assert_eq!(v(&text, "EXAMPLE.com", 22, ED_B), Verdict::Known);
        assert_eq!(
            v(&text, "127.0.0.1", 2222, ED_B),
            Verdict::Changed { line: 1, recorded_type: "ssh-ed25519".into() }
        );
    }

    #[test]
    fn hashed_entries() {
        // Known vector from russh's tests: example.com, port 22.
        let text = format!("|1|O33ESRMWPVkMYIwJ1Uw+n877jTo=|nuuC5vEqXlEZ/8BXQR7m619W6Ak= ssh-ed25519 {ED_B}\n");
        assert_eq!(v(&text, "example.com", 22, ED_B), Verdict::Known);
        assert_eq!(v(&text, "example.org", 22, ED_B), Verdict::Unknown);
        // A non-22 port hashes the bracketed form.
        let text = format!("{} ssh-ed25519 {ED_A}\n", hashed("[127.0.0.1]:2222", b"0123456789abcdefghij"));
        assert_eq!(v(&text, "127.0.0.1", 2222, ED_A), Verdict::Known);
        assert_eq!(v(&text, "127.0.0.1", 22, ED_A), Verdict::Unknown);
        assert!(matches!(v(&text, "127.0.0.1", 2222, ED_C), Verdict::Changed { line: 1, .. }));
    }

    #[test]
    fn comments_blank_lines_tabs_and_garbage() {
        let text = format!(
            "# a comment\n\n   \nnot a line\nbad ssh-ed25519 !!!notbase64\n#example.com ssh-ed25519 {ED_C}\nexample.com\tssh-ed25519   {ED_A}  a comment with spaces\n"
        );
        assert_eq!(v(&text, "example.com", 22, ED_A), Verdict::Known);
        // The commented-out line is not a record: C is a changed key, reported at line 7.
        assert_eq!(
            v(&text, "example.com", 22, ED_C),
            Verdict::Changed { line: 7, recorded_type: "ssh-ed25519".into() }
        );
    }

    #[test]
    fn unparsable_key_still_makes_the_host_known() {
        let text = "example.com ssh-ed25519 AAAAnotakey\n";
        assert_eq!(v(text, "example.com", 22, ED_A), Verdict::Changed { line: 1, recorded_type: "ssh-ed25519".into() });
    }

    #[test]
    fn different_key_type_is_a_change() {
        let rsa = "AAAAB3NzaC1yc2EAAAADAQABAAABAQC7";
        let text = format!("example.com ssh-rsa {rsa}\n");
        assert_eq!(v(&text, "example.com", 22, ED_A), Verdict::Changed { line: 1, recorded_type: "ssh-rsa".into() });
    }

    #[test]
    fn wildcards_and_negation() {
        let text = format!("*.example.com,!bad.example.com ssh-ed25519 {ED_A}\ndb?.lan ssh-ed25519 {ED_B}\n");
        assert_eq!(v(&text, "db1.example.com", 22, ED_A), Verdict::Known);
        assert_eq!(v(&text, "bad.example.com", 22, ED_A), Verdict::Unknown);
        assert_eq!(v(&text, "db1.lan", 22, ED_B), Verdict::Known);
        assert_eq!(v(&text, "db12.lan", 22, ED_B), Verdict::Unknown);
        assert!(glob("*", "anything"));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXbYY"));
        assert!(glob("[10.0.0.*]:2222", "[10.0.0.7]:2222"));
    }

    #[test]
    fn markers() {
        let text = format!(
            "@revoked * ssh-ed25519 {ED_C}\n@cert-authority *.lan ssh-ed25519 {ED_B}\nhost ssh-ed25519 {ED_A}\n"
        );
        assert_eq!(v(&text, "host", 22, ED_C), Verdict::Revoked { line: 1 });
        assert_eq!(v(&text, "host", 22, ED_A), Verdict::Known);
        // A CA line is no record of a host key.
        assert_eq!(v(&text, "db.lan", 22, ED_B), Verdict::Unknown);
    }

    #[test]
    fn preferred_order_puts_recorded_types_first() {
        let pref = vec![
            Algorithm::Ed25519,
            Algorithm::Ecdsa { curve: russh::keys::EcdsaCurve::NistP256 },
            Algorithm::Rsa { hash: Some(HashAlg::Sha512) },
            Algorithm::Rsa { hash: None },
        ];
        let out = prefer_recorded(&pref, &[Algorithm::Rsa { hash: None }]);
        assert_eq!(out[0], Algorithm::Rsa { hash: Some(HashAlg::Sha512) });
        assert_eq!(out[1], Algorithm::Rsa { hash: None });
        assert_eq!(out[2], Algorithm::Ed25519);
        assert_eq!(prefer_recorded(&pref, &[]), pref);
    }

    #[test]
    fn learn_appends_once_and_creates_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/known_hosts");
        assert_eq!(learn(&path, "127.0.0.1", 2222, &key(ED_A)).unwrap(), Verdict::Unknown);
        assert_eq!(learn(&path, "127.0.0.1", 2222, &key(ED_A)).unwrap(), Verdict::Known);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("[127.0.0.1]:2222 ssh-ed25519 {ED_A}\n"));
        // A changed key is never written.
        assert!(matches!(learn(&path, "127.0.0.1", 2222, &key(ED_B)).unwrap(), Verdict::Changed { .. }));
        // Port 22: the bare name; a file without a final newline gets one first.
        fs::write(&path, format!("other ssh-ed25519 {ED_C}")).unwrap();
        learn(&path, "Example.COM", 22, &key(ED_B)).unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            format!("other ssh-ed25519 {ED_C}\nexample.com ssh-ed25519 {ED_B}\n")
        );
    }

    #[test]
    fn fingerprint_is_openssh_style() {
        let fp = fingerprint_of(&key(ED_A));
        assert!(fp.starts_with("SHA256:"), "{fp}");
        assert_eq!(fp.len(), "SHA256:".len() + 43);
    }
}
