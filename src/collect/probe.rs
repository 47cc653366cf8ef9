//! Response-time probes: an HTTP GET, a TCP connect, or `SELECT 1` on a node's own connection.

use std::time::{Duration, Instant};

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::{Collector, PollError, Polled, ProbeSample, Update};
use crate::config::login::{Login, Logins};
use crate::config::{Config, ProbeConfig};
use crate::http::{Http, Reuse};

enum Kind {
    Http { url: String, reuse: Reuse },
    Tcp(String),
    Sql { opts: Box<crate::db::ConnOpts>, conn: Option<Conn> },
}

pub struct Probe {
    kind: Kind,
    client: Http,
    timeout: Duration,
}

impl Probe {
    pub fn new(
        p: &ProbeConfig,
        cfg: &Config,
        logins: &Logins,
        client: Http,
        timeout: Duration,
    ) -> Result<Self, String> {
        let kind = if let Some(url) = &p.http {
            Kind::Http { url: url.clone(), reuse: Reuse::default() }
        } else if let Some(addr) = &p.tcp {
            Kind::Tcp(addr.clone())
        } else if let Some(node) = &p.sql {
            let i = cfg.nodes.iter().position(|n| n.name() == node).ok_or_else(|| format!("probe: no node {node}"))?;
            Kind::Sql { opts: Box::new(crate::db::opts(&cfg.nodes[i], &logins.nodes[i])), conn: None }
        } else {
            return Err(format!("probe {} has no target", p.name.get_ref()));
        };
        Ok(Self { kind, client, timeout })
    }
}

impl Collector for Probe {
    type Sample = ProbeSample;

    fn update(polled: Polled<ProbeSample>) -> Update {
        Update::Probe(polled)
    }

    async fn poll(&mut self) -> Result<ProbeSample, PollError> {
        let start = Instant::now();
        match &mut self.kind {
            Kind::Http { url, reuse } => {
                let a = self.client.get_discarding(url, &Login::default(), reuse).await?;
                if !(a.status.is_success() || a.status.is_redirection()) {
                    return Err(format!("HTTP {}", a.status).into());
                }
                return Ok(ProbeSample { took: start.elapsed(), retried: a.retried });
            }
            Kind::Tcp(addr) => {
                tokio::net::TcpStream::connect(addr.as_str()).await.map_err(|e| e.to_string())?;
            }
            Kind::Sql { opts, conn } => {
                if conn.is_none() {
                    *conn = Some(crate::db::connect(opts, self.timeout).await?);
                }
                let start = Instant::now();
                let c = conn.as_mut().ok_or("not connected")?;
                let r: Result<Option<u8>, _> = c.query_first("SELECT 1").await;
                if let Err(e) = r {
                    *conn = None;
                    return Err(crate::db::DbError::from(e).into());
                }
                return Ok(ProbeSample { took: start.elapsed(), retried: None });
            }
        }
        Ok(ProbeSample { took: start.elapsed(), retried: None })
    }

    fn reset(&mut self) {
        if let Kind::Sql { conn, .. } = &mut self.kind {
            *conn = None;
        }
    }
}
