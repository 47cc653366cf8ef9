//! The Apache collector: `/server-status?auto`, then the HTML page for the in-flight requests
//! (ExtendedStatus On). The page costs Apache a full scoreboard walk and us an HTML parse, so it
//! is read only when the `?auto` scoreboard shows a request besides our own (or every
//! [`HTML_AT_REST_EVERY`]th poll at rest); a page without a worker table is asked for again only
//! every 30 polls.

use super::{Collector, PollError, Polled, Update};
use crate::config::ApacheConfig;
use crate::config::login::Login;
use crate::http::{Http, Reuse};
use crate::model::apache::{ApacheStatus, parse_auto};
use crate::model::apache_workers::{busy_in_scoreboard, in_flight, parse_workers};

/// Polls to wait before asking again for a page that had no worker table.
const RETRY_WORKERS_AFTER: u32 = 30;

/// With only our own request busy the page is read this seldom (it lists nothing in flight).
const HTML_AT_REST_EVERY: u32 = 10;

pub struct ApacheCollector {
    url: String,
    html_url: String,
    login: Login,
    client: Http,
    reuse: Reuse,
    /// Polls left before the HTML page is read again, after it had no worker table.
    skip_html: u32,
    last_note: Option<String>,
    /// Polls since the HTML page was last read.
    since_html: u32,
}

impl ApacheCollector {
    pub fn new(cfg: &ApacheConfig, login: &Login, client: Http) -> Self {
        let base = cfg.status_url.split('?').next().unwrap_or(&cfg.status_url);
        Self {
            url: format!("{base}?auto"),
            html_url: base.to_string(),
            login: login.clone(),
            client,
            reuse: Reuse::default(),
            skip_html: 0,
            last_note: None,
            since_html: HTML_AT_REST_EVERY,
        }
    }
}

impl Collector for ApacheCollector {
    type Sample = ApacheStatus;

    fn update(polled: Polled<ApacheStatus>) -> Update {
        Update::Apache(polled)
    }

    async fn poll(&mut self) -> Result<ApacheStatus, PollError> {
        let text = self.client.get_text(&self.url, &self.login, &mut self.reuse).await?;
        let mut status = parse_auto(&text)?;
        let at_rest = busy_in_scoreboard(&status.scoreboard) <= 1;
        if self.skip_html > 0 {
            self.skip_html -= 1;
            status.in_flight_note = self.last_note.clone();
        } else if at_rest && self.since_html + 1 < HTML_AT_REST_EVERY {
            // Only our own status request is busy: nothing is in flight.
            self.since_html += 1;
            status.in_flight = Some(Vec::new());
        } else {
            self.since_html = 0;
            let page = self.client.get_text(&self.html_url, &self.login, &mut self.reuse).await;
            match page.map_err(|e| e.message).and_then(|h| parse_workers(&h)) {
                Ok(rows) => {
                    status.in_flight = Some(in_flight(&rows));
                    self.last_note = None;
                }
                Err(e) => {
                    self.skip_html = RETRY_WORKERS_AFTER;
                    self.last_note = Some(e.clone());
                    status.in_flight_note = Some(e);
                }
            }
        }
        Ok(status)
    }
}
