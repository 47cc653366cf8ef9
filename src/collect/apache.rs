//! The Apache collector: `/server-status?auto`.

use super::{Collector, Payload};
use crate::config::ApacheConfig;
use crate::config::login::Login;
use crate::model::apache::parse_auto;

pub struct ApacheCollector {
    url: String,
    login: Login,
    client: reqwest::Client,
}

impl ApacheCollector {
    pub fn new(cfg: &ApacheConfig, login: &Login, client: reqwest::Client) -> Self {
        let base = cfg.status_url.split('?').next().unwrap_or(&cfg.status_url);
        Self { url: format!("{base}?auto"), login: login.clone(), client }
    }
}

impl Collector for ApacheCollector {
    async fn poll(&mut self) -> Result<Payload, String> {
        let text = super::http::get_text(&self.client, &self.url, &self.login).await?;
        parse_auto(&text).map(Payload::Apache)
    }
}
