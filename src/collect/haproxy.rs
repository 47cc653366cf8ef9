//! The HAProxy collector: the stats CSV over HTTP(S) (`<stats uri>;csv`, basic auth) or, without
//! a stats URL, `show stat` on the stats socket; with a socket also `show info` (version, uptime,
//! connections). A failing `show info` does not fail the sample.

use std::path::PathBuf;

use super::{Collector, PollError, Polled, Update};
use crate::config::HaproxyConfig;
use crate::config::login::Login;
use crate::http::socket::socket_command;
use crate::http::{Http, Reuse};
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

impl Collector for HaproxyCollector {
    type Sample = HaproxyStats;

    fn update(polled: Polled<HaproxyStats>) -> Update {
        Update::Haproxy(polled)
    }

    async fn poll(&mut self) -> Result<HaproxyStats, PollError> {
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
        Ok(HaproxyStats { rows, info, info_error })
    }
}
