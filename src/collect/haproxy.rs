//! The HAProxy collector: the stats CSV over HTTP(S) (`<stats uri>;csv`, basic auth) or, without
//! a stats URL, `show stat` on the stats socket; with a socket also `show info` (version, uptime,
//! connections). A failing `show info` does not fail the sample.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::http::{Http, Reuse};
use super::{Collector, Payload, PollError};
use crate::config::HaproxyConfig;
use crate::config::login::Login;
use crate::model::haproxy::{HaproxyStats, parse_csv, parse_info};

pub struct HaproxyCollector {
    /// The largest socket answer read.
    max: usize,
    url: Option<String>,
    socket: Option<PathBuf>,
    login: Login,
    client: Http,
    reuse: Reuse,
}

impl HaproxyCollector {
    pub fn new(cfg: &HaproxyConfig, login: &Login, client: Http, max: usize) -> Self {
        Self {
            max,
            url: cfg.stats_url.as_ref().map(|u| format!("{};csv", u.trim_end_matches(";csv"))),
            socket: cfg.socket.clone(),
            login: login.clone(),
            client,
            reuse: Reuse::default(),
        }
    }
}

/// Sends one command to a stats socket and reads the whole answer (the socket closes after it),
/// at most `max` bytes: a larger answer is refused.
pub async fn socket_command(path: &Path, command: &str, max: usize) -> Result<String, String> {
    let mut s =
        tokio::net::UnixStream::connect(path).await.map_err(|e| format!("stats socket {}: {e}", path.display()))?;
    s.write_all(format!("{command}\n").as_bytes()).await.map_err(|e| e.to_string())?;
    // Read in pieces and joined once (see `http::join_chunks`): no doubling buffer.
    let (mut chunks, mut total, mut piece) = (Vec::new(), 0usize, vec![0u8; 64 * 1024]);
    loop {
        let n = s.read(&mut piece).await.map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        total += n;
        if total > max {
            return Err(format!("stats socket {}: answer larger than {}", path.display(), super::http::size_text(max)));
        }
        chunks.push(piece[..n].to_vec());
    }
    Ok(super::http::join_chunks(chunks, total))
}

/// [`socket_command`] cut off at `timeout`, with the default cap (the admin commands' answers
/// are short).
pub async fn socket_command_within(path: &Path, command: &str, timeout: Duration) -> Result<String, String> {
    tokio::time::timeout(timeout, socket_command(path, command, crate::config::schema::DEFAULT_MAX_RESPONSE))
        .await
        .unwrap_or_else(|_| Err(format!("stats socket {}: no answer within {timeout:?}", path.display())))
}

impl Collector for HaproxyCollector {
    async fn poll(&mut self) -> Result<Payload, PollError> {
        let text = match (&self.url, &self.socket) {
            (Some(url), _) => self.client.get_text(url, &self.login, &mut self.reuse).await?,
            (None, Some(sock)) => socket_command(sock, "show stat", self.max).await?,
            (None, None) => return Err("no stats_url or socket configured".into()),
        };
        let rows = parse_csv(&text)?;
        let (info, info_error) = match &self.socket {
            Some(sock) => match socket_command(sock, "show info", self.max).await.and_then(|t| parse_info(&t)) {
                Ok(i) => (Some(i), None),
                Err(e) => (None, Some(e)),
            },
            None => (None, None),
        };
        Ok(Payload::Haproxy(HaproxyStats { rows, info, info_error }))
    }
}
