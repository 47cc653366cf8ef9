//! The agent's two listeners. Each connection is answered from the current [`Board`] (never from
//! a database), within a short deadline, and only for clients on the allow-list.
//! - agent-check: read the line HAProxy sends (`db1\n`), write one answer line, close;
//! - HTTP/1.x: `GET /node/<name>[?pool=P]` 200 or 503 with the answer as body (for
//!   `option httpchk`), `GET /health`, `GET /metrics`.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use super::{Board, Miss, wire};
use crate::config::agent::AgentConfig;

/// A client's whole exchange must fit in this.
const DEADLINE: Duration = Duration::from_secs(2);
/// The longest request read (HAProxy's agent-send line, an HTTP head).
const REQUEST_MAX: usize = 4096;
/// Connections served at once; more wait for a slot.
const CONCURRENT: usize = 64;

/// What both listeners share.
pub struct Shared {
    pub board: watch::Receiver<Arc<Board>>,
    pub allow: AgentConfig,
    pub interval: Duration,
    pub agent_requests: AtomicU64,
    pub http_requests: AtomicU64,
    pub refused: AtomicU64,
    /// Addresses already logged as refused (each is logged once).
    refused_logged: Mutex<BTreeSet<IpAddr>>,
    slots: Semaphore,
}

impl Shared {
    pub fn new(board: watch::Receiver<Arc<Board>>, cfg: &crate::config::Config) -> Arc<Shared> {
        Arc::new(Shared {
            board,
            allow: cfg.agent.clone(),
            interval: cfg.poll_interval.0,
            agent_requests: AtomicU64::new(0),
            http_requests: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            refused_logged: Mutex::new(BTreeSet::new()),
            slots: Semaphore::new(CONCURRENT),
        })
    }

    fn allowed(&self, ip: IpAddr) -> bool {
        if self.allow.allows(ip) {
            return true;
        }
        self.refused.fetch_add(1, Ordering::Relaxed);
        if self.refused_logged.lock().is_ok_and(|mut s| s.insert(ip)) {
            eprintln!("ringdeck agent: refused {ip}: not in [agent] allow (logged once per address)");
        }
        false
    }
}

/// Which protocol a listener speaks.
#[derive(Clone, Copy, Debug)]
pub enum Protocol {
    Agent,
    Http,
}

/// Accepts connections for ever, each served in its own task.
pub async fn listen(listener: TcpListener, proto: Protocol, shared: Arc<Shared>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            // Out of descriptors and the like: wait a little rather than spin.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        if !shared.allowed(peer.ip()) {
            continue;
        }
        let shared = shared.clone();
        tokio::spawn(async move {
            let Ok(_slot) = shared.slots.acquire().await else { return };
            let _ = tokio::time::timeout(DEADLINE, serve(stream, proto, &shared)).await;
        });
    }
}

/// Reads until the end of the request (a newline for the agent, a blank line for HTTP), the
/// size cap or the peer's end of stream.
async fn read_request(stream: &mut TcpStream, proto: Protocol) -> String {
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    while buf.len() < REQUEST_MAX {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        let done = match proto {
            Protocol::Agent => buf.contains(&b'\n'),
            Protocol::Http => buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n"),
        };
        if done {
            break;
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

async fn serve(mut stream: TcpStream, proto: Protocol, shared: &Shared) {
    let request = read_request(&mut stream, proto).await;
    let board = shared.board.borrow().clone();
    let reply = match proto {
        Protocol::Agent => {
            shared.agent_requests.fetch_add(1, Ordering::Relaxed);
            agent_reply(&board, &request)
        }
        Protocol::Http => {
            shared.http_requests.fetch_add(1, Ordering::Relaxed);
            http_reply(&board, &request, shared)
        }
    };
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// The agent-check answer line. A request it cannot answer gets an empty line, which HAProxy
/// takes as no change (and the reason is on the HTTP side and in the log).
pub fn agent_reply(board: &Board, request: &str) -> String {
    let Some((node, pool)) = wire::agent_request(request) else { return "\n".into() };
    match board.find(node, pool) {
        Ok(a) => format!("{}\n", a.line),
        Err(_) => "\n".into(),
    }
}

/// The whole HTTP answer for one request head.
pub fn http_reply(board: &Board, head: &str, shared: &Shared) -> String {
    let Some(req) = wire::http_request(head) else {
        return wire::http_response(400, "text/plain", "bad request\n", false);
    };
    let head_only = req.method == "HEAD";
    if req.method != "GET" && !head_only {
        return wire::http_response(405, "text/plain", "only GET and HEAD\n", false);
    }
    let text = |status: u16, body: String| wire::http_response(status, "text/plain; charset=utf-8", &body, head_only);
    if let Some(node) = req.path.strip_prefix("/node/") {
        return match board.find(node, req.pool) {
            Ok(a) if a.verdict.in_pool() => text(200, format!("{}\n", a.line)),
            Ok(a) => text(503, format!("{}\n", a.line)),
            Err(Miss::Unknown(why)) => text(404, format!("{why}\n")),
            Err(Miss::NotYet(why)) => text(503, format!("{why}\n")),
        };
    }
    match req.path {
        "/health" => health(board, shared.interval, Instant::now()).map_or_else(|e| text(503, e), |ok| text(200, ok)),
        "/metrics" => {
            let mut body = board.gauges.clone();
            let counter = |name: &str, help: &str, lines: &[(&str, u64)]| {
                let mut s = format!("# HELP {name} {help}\n# TYPE {name} counter\n");
                for (labels, v) in lines {
                    s.push_str(&format!("{name}{labels} {v}\n"));
                }
                s
            };
            body.push_str(&counter(
                "ringdeck_agent_requests_total",
                "Requests answered, by protocol.",
                &[
                    ("{protocol=\"agent\"}", shared.agent_requests.load(Ordering::Relaxed)),
                    ("{protocol=\"http\"}", shared.http_requests.load(Ordering::Relaxed)),
                ],
            ));
            body.push_str(&counter(
                "ringdeck_agent_refused_total",
                "Connections refused by the allow-list.",
                &[("", shared.refused.load(Ordering::Relaxed))],
            ));
            wire::http_response(200, "text/plain; version=0.0.4; charset=utf-8", &body, head_only)
        }
        _ => text(404, "try /node/<name>, /health or /metrics\n".into()),
    }
}

/// The agent's own health: answers made within the last three poll intervals.
fn health(board: &Board, interval: Duration, now: Instant) -> Result<String, String> {
    let answered: usize = board.pools.values().map(|m| m.len()).sum();
    match board.evaluated {
        Some(t) if now.saturating_duration_since(t) <= interval * 3 => Ok(format!(
            "ok: {} node(s) watched, {answered} answer(s) in {} pool(s), made {} ago\n",
            board.nodes.len(),
            board.pools.len(),
            crate::fmt::duration(now.saturating_duration_since(t))
        )),
        Some(t) => Err(format!(
            "stalled: the last answers were made {} ago\n",
            crate::fmt::duration(now.saturating_duration_since(t))
        )),
        None => Err("starting: no answers made yet\n".into()),
    }
}
