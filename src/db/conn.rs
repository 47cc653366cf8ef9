//! Opening a connection to a node: its address over TCP (never a local socket behind our back),
//! its TLS as the MySQL clients mean `ssl_mode`, and a deadline on the connect.

use std::time::Duration;

use mysql_async::{Conn, Opts, OptsBuilder, SslOpts};

use super::DbError;
use crate::config::login::Login;
use crate::config::{NodeConfig, SslMode, TlsConfig};

/// How to connect to a node: the driver's options, and whether a server without TLS gets a
/// plain connection (`ssl_mode = "preferred"`).
#[derive(Clone, Debug)]
pub struct ConnOpts {
    pub opts: Opts,
    pub plain_fallback: bool,
}

/// Connection options for a node: TCP only (never a local socket behind our back), its TLS.
pub fn opts(node: &NodeConfig, login: &Login) -> ConnOpts {
    let mut b = OptsBuilder::default()
        .ip_or_hostname(node.host.clone())
        .tcp_port(node.port)
        .prefer_socket(false)
        .user(login.user.clone())
        .pass(login.password.as_ref().map(|p| p.expose().to_string()))
        .stmt_cache_size(0);
    if let Some(ssl) = node.tls.as_ref().and_then(ssl_opts) {
        b = b.ssl_opts(ssl);
    }
    let plain_fallback = node.tls.as_ref().is_some_and(|t| t.mode() == SslMode::Preferred);
    ConnOpts { opts: b.into(), plain_fallback }
}

/// The TLS options of an `ssl_mode`, as the MySQL clients mean them: `preferred` and `required`
/// encrypt without verifying (a `preferred` connect falls back to plain when the server offers
/// no TLS, see [`connect`]); `verify_ca` checks the chain to `ca`; `verify_identity` also the
/// host name. `None`: no TLS.
fn ssl_opts(tls: &TlsConfig) -> Option<SslOpts> {
    let path = |p: &std::path::Path| crate::config::paths::expand_tilde(p);
    let mut ssl = match tls.mode() {
        SslMode::Disabled => return None,
        SslMode::Preferred | SslMode::Required => {
            SslOpts::default().with_danger_accept_invalid_certs(true).with_danger_skip_domain_validation(true)
        }
        SslMode::VerifyCa => SslOpts::default().with_danger_skip_domain_validation(true),
        SslMode::VerifyIdentity => SslOpts::default(),
    };
    if let Some(ca) = &tls.ca {
        ssl = ssl.with_root_certs(vec![path(ca).into()]);
    }
    if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
        ssl = ssl.with_client_identity(Some(mysql_async::ClientIdentity::new(path(cert).into(), path(key).into())));
    }
    Some(ssl)
}

/// Connects within `timeout` (mysql_async has no connect timeout of its own). With
/// `ssl_mode = "preferred"` a server without TLS gets a plain connection, as the MySQL clients do.
pub async fn connect(opts: &ConnOpts, timeout: Duration) -> Result<Conn, DbError> {
    let attempt = |o: Opts| async move {
        tokio::time::timeout(timeout, Conn::new(o)).await.map_err(|_| DbError::ConnectTimeout(timeout))
    };
    match attempt(opts.opts.clone()).await?.map_err(DbError::from) {
        Err(DbError::TlsRequired) if opts.plain_fallback => {
            let plain: Opts = OptsBuilder::from_opts(opts.opts.clone()).ssl_opts(None::<SslOpts>).into();
            Ok(attempt(plain).await??)
        }
        other => other,
    }
}
