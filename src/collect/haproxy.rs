//! The HAProxy collector: the stats CSV over HTTP (`<stats uri>;csv`, basic auth) or, without a
//! stats URL, `show stat` on the stats socket.

use std::path::{Path, PathBuf};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Collector, Payload};
use crate::config::HaproxyConfig;
use crate::config::login::Login;
use crate::model::haproxy::parse_csv;

pub struct HaproxyCollector {
    url: Option<String>,
    socket: Option<PathBuf>,
    login: Login,
    client: reqwest::Client,
}

impl HaproxyCollector {
    pub fn new(cfg: &HaproxyConfig, login: &Login, client: reqwest::Client) -> Self {
        Self {
            url: cfg.stats_url.as_ref().map(|u| format!("{};csv", u.trim_end_matches(";csv"))),
            socket: cfg.socket.clone(),
            login: login.clone(),
            client,
        }
    }
}

/// Sends one command to a stats socket and reads the whole answer (the socket closes after it).
pub async fn socket_command(path: &Path, command: &str) -> Result<String, String> {
    let mut s =
        tokio::net::UnixStream::connect(path).await.map_err(|e| format!("stats socket {}: {e}", path.display()))?;
    s.write_all(format!("{command}\n").as_bytes()).await.map_err(|e| e.to_string())?;
    let mut out = String::new();
    s.read_to_string(&mut out).await.map_err(|e| e.to_string())?;
    Ok(out)
}

impl Collector for HaproxyCollector {
    async fn poll(&mut self) -> Result<Payload, String> {
        let text = match (&self.url, &self.socket) {
            (Some(url), _) => super::http::get_text(&self.client, url, &self.login).await?,
            (None, Some(sock)) => socket_command(sock, "show stat").await?,
            (None, None) => return Err("no stats_url or socket configured".into()),
        };
        parse_csv(&text).map(Payload::Haproxy)
    }
}
