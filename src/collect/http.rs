//! The shared HTTP client (rustls, connect and total timeouts) and a GET helper with basic auth.

use std::time::Duration;

use crate::config::login::Login;

pub fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(timeout)
        .timeout(timeout)
        .user_agent(concat!("ringdeck/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build HTTP client: {e}"))
}

/// GETs `url` and returns the body of a 2xx answer; other statuses are errors with the status line.
pub async fn get_text(client: &reqwest::Client, url: &str, login: &Login) -> Result<String, String> {
    let mut req = client.get(url);
    if let Some(user) = &login.user {
        req = req.basic_auth(user, login.password.as_ref().map(|p| p.expose()));
    }
    let resp = req.send().await.map_err(|e| describe(&e))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    resp.text().await.map_err(|e| describe(&e))
}

/// A short, secret-free description of a reqwest error (its URL never has credentials in it).
pub fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection refused or unreachable"
    } else if e.is_body() || e.is_decode() {
        "bad response body"
    } else {
        "request failed"
    };
    match std::error::Error::source(e) {
        Some(src) if !e.is_timeout() => format!("{what}: {src}"),
        _ => what.to_string(),
    }
}
