//! The lab's TLS (`lab up --tls`): its own CA and one server certificate per node (EC P-256,
//! for 127.0.0.1 and localhost), made once with the `openssl` command into `D/tls/`. The nodes
//! then serve TLS with `require_secure_transport`, replicate with `MASTER_SSL=1` verifying each
//! other's certificate, and the console config verifies the nodes (`ssl_mode = verify_identity`).

use std::path::{Path, PathBuf};
use std::process::Command;

use color_eyre::eyre::Result;

use super::proc;
use super::spec::{Spec, make_dir, write_file};

impl Spec {
    pub fn tls_dir(&self) -> PathBuf {
        self.dir.join("tls")
    }
    /// The lab CA's certificate: what every client verifies the nodes with.
    pub fn tls_ca(&self) -> PathBuf {
        self.tls_dir().join("ca.pem")
    }
    pub fn node_cert(&self, k: u16) -> PathBuf {
        self.tls_dir().join(format!("node{k}-cert.pem"))
    }
    pub fn node_key(&self, k: u16) -> PathBuf {
        self.tls_dir().join(format!("node{k}-key.pem"))
    }
}

/// `openssl req` arguments for a new EC P-256 key, unencrypted, written to the path that follows.
const NEW_EC_KEY: [&str; 6] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout"];

fn openssl(args: &[&str], what: &str) -> Result<()> {
    proc::run(Command::new("openssl").args(args), what).map(|_| ())
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Makes the CA and every node's certificate unless they are there.
pub fn ensure(spec: &Spec) -> Result<()> {
    let dir = spec.tls_dir();
    make_dir(&dir, 0o700)?;
    let ca_key = dir.join("ca-key.pem");
    if !spec.tls_ca().exists() {
        let mut args = vec!["req", "-x509"];
        args.extend(NEW_EC_KEY);
        let (key, ca) = (s(&ca_key), s(&spec.tls_ca()));
        args.extend([key.as_str(), "-out", &ca, "-days", "3650", "-subj", "/CN=ringdeck lab CA"]);
        args.extend([
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(&args, "openssl: the lab CA")?;
    }
    let ext = dir.join("server.ext");
    write_file(
        &ext,
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
        0o600,
    )?;
    for k in 1..=spec.nodes {
        if spec.node_cert(k).exists() {
            continue;
        }
        let csr = dir.join(format!("node{k}.csr"));
        let mut args = vec!["req"];
        args.extend(NEW_EC_KEY);
        let (key, csr_s, subj) = (s(&spec.node_key(k)), s(&csr), format!("/CN=node{k}.ringdeck-lab"));
        args.extend([key.as_str(), "-out", &csr_s, "-subj", &subj]);
        openssl(&args, &format!("openssl: node{k}'s key"))?;
        openssl(
            &[
                "x509",
                "-req",
                "-in",
                &s(&csr),
                "-CA",
                &s(&spec.tls_ca()),
                "-CAkey",
                &s(&ca_key),
                "-CAcreateserial",
                "-out",
                &s(&spec.node_cert(k)),
                "-days",
                "3650",
                "-extfile",
                &s(&ext),
            ],
            &format!("openssl: node{k}'s certificate"),
        )?;
        let _ = std::fs::remove_file(&csr);
    }
    Ok(())
}
