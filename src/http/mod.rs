//! HTTP for the collectors and probes: a client that keeps connections alive (rustls, connect and
//! total timeouts), a client that never reuses one, and [`Http::get`], which sends a GET again, once,
//! on a new connection when a kept-alive connection was closed before any byte of the answer.
//!
//! Why the retry (measured on the lab, 2026-11-29, a packet capture of the probe's port): HAProxy
//! answered 15 `GET /` on one kept-alive probe connection; 2 ms after the 16th request arrived it
//! sent FIN without a byte of answer (the server-side connection it meant to reuse had just been
//! closed by Apache's keep-alive timeout). hyper reports that as "connection closed before message
//! completed" and, having written the request, does not send it again. HTTP lets a client retry an
//! idempotent request on a new connection in exactly that case (RFC 9110, 9.2.2), as browsers and
//! curl do. Without it the probe through HAProxy marked a failure every 10 to 20 s on a healthy
//! stack (5 in 90 s). A request that fails on a *new* connection, or after the answer began, or by
//! timeout or refused connect, is never retried: that is the site failing.

pub mod socket;

use std::time::{Duration, Instant};

use reqwest::{Client, Response, StatusCode, Version, header};

use crate::config::login::Login;
use crate::model::poll::PollError;

/// How long an idle kept-alive connection stays in the pool (set on the client, so [`Reuse`]
/// knows whether the next request can find one).
const POOL_IDLE: Duration = Duration::from_secs(60);

/// The shared HTTP clients (cheap to clone: both share their pools).
#[derive(Clone, Debug)]
pub struct Http {
    kept: Client,
    fresh: Client,
    /// The largest body read; a larger answer is refused.
    max: usize,
}

/// Per target: whether its last answer left a kept-alive connection in the pool, and when.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reuse {
    idle_since: Option<Instant>,
}

impl Reuse {
    /// Whether the next request will most likely go out on a connection an earlier one used.
    fn likely(&self, now: Instant) -> bool {
        self.idle_since.is_some_and(|t| now.saturating_duration_since(t) < POOL_IDLE)
    }
}

/// A GET's answer.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: String,
    /// Why the first try was sent again on a new connection (`None`: it was not).
    pub retried: Option<String>,
}

fn builder(timeout: Duration) -> reqwest::ClientBuilder {
    Client::builder()
        .connect_timeout(timeout)
        .timeout(timeout)
        .user_agent(concat!("ringdeck/", env!("CARGO_PKG_VERSION")))
}

/// `16 MiB`, `512 KiB`, `900 bytes`.
pub fn size_text(n: usize) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

impl Http {
    /// Clients with connect and total timeouts, reading at most `max` bytes of a body.
    pub fn new(timeout: Duration, max: usize) -> Result<Http, String> {
        let kept = builder(timeout)
            .pool_idle_timeout(POOL_IDLE)
            .build()
            .map_err(|e| format!("cannot build HTTP client: {e}"))?;
        let fresh =
            builder(timeout).pool_max_idle_per_host(0).build().map_err(|e| format!("cannot build HTTP client: {e}"))?;
        Ok(Http { kept, fresh, max })
    }

    /// GETs `url` (basic auth when the login has a user) and reads the whole body. A first try that
    /// failed on a kept-alive connection before any byte of the answer is sent again on a new
    /// connection; the answer says so in `retried`.
    pub async fn get(&self, url: &str, login: &Login, reuse: &mut Reuse) -> Result<Answer, PollError> {
        self.exchange(url, login, reuse, true).await
    }

    /// [`Http::get`] that reads the body (still under the cap) without keeping it: a probe times
    /// the whole answer but has no use for its text. `body` is empty.
    pub async fn get_discarding(&self, url: &str, login: &Login, reuse: &mut Reuse) -> Result<Answer, PollError> {
        self.exchange(url, login, reuse, false).await
    }

    async fn exchange(&self, url: &str, login: &Login, reuse: &mut Reuse, keep: bool) -> Result<Answer, PollError> {
        let reused = reuse.likely(Instant::now());
        reuse.idle_since = None;
        let (resp, retried) = match send(&self.kept, url, login).await {
            Ok(r) => (r, None),
            Err(e) if reused && closed_before_answer(&e) => {
                let why = format!("kept-alive connection closed before an answer ({})", innermost(&e));
                tracing::debug!(url, %why, "sending the request again on a new connection");
                (send(&self.fresh, url, login).await.map_err(|e| poll_error(&e))?, Some(why))
            }
            Err(e) => return Err(poll_error(&e)),
        };
        let status = resp.status();
        let kept_alive = retried.is_none() && keeps_alive(&resp);
        let body = self.body(resp, keep).await?;
        if kept_alive {
            reuse.idle_since = Some(Instant::now());
        }
        Ok(Answer { status, body, retried })
    }

    /// Reads a body up to the cap, chunk by chunk (a larger answer is refused before it is held).
    /// The chunks are kept as they came and joined once at the end into a buffer of the exact
    /// size, each chunk freed as it is copied: no doubling of a growing buffer, so the memory a
    /// read holds stays near the body's size (measured in tests/bounded_answers.rs).
    async fn body(&self, mut resp: Response, keep: bool) -> Result<String, PollError> {
        let too_big = || PollError::from(format!("answer larger than {}", size_text(self.max)));
        if resp.content_length().is_some_and(|n| n > self.max as u64) {
            return Err(too_big());
        }
        let mut chunks = Vec::new();
        let mut total = 0usize;
        while let Some(chunk) = resp.chunk().await.map_err(|e| poll_error(&e))? {
            total += chunk.len();
            if total > self.max {
                return Err(too_big());
            }
            if keep {
                chunks.push(chunk);
            }
        }
        Ok(join_chunks(chunks, total))
    }

    /// [`Http::get`] of a 2xx answer's body; other statuses are errors with the status line.
    pub async fn get_text(&self, url: &str, login: &Login, reuse: &mut Reuse) -> Result<String, PollError> {
        let a = self.get(url, login, reuse).await?;
        if !a.status.is_success() {
            return Err(format!("HTTP {}", a.status).into());
        }
        Ok(a.body)
    }
}

/// The text of `chunks` (`total` bytes in all), copied once into a buffer of the exact size, each
/// chunk freed as soon as it is copied. Invalid UTF-8 is replaced, not refused.
pub fn join_chunks<C: AsRef<[u8]>>(chunks: Vec<C>, total: usize) -> String {
    let mut buf = Vec::with_capacity(total);
    for c in chunks {
        buf.extend_from_slice(c.as_ref());
    }
    String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

async fn send(client: &Client, url: &str, login: &Login) -> Result<Response, reqwest::Error> {
    let mut req = client.get(url);
    if let Some(user) = &login.user {
        req = req.basic_auth(user, login.password.as_ref().map(|p| p.expose()));
    }
    req.send().await
}

/// Whether the connection goes back to the pool after this answer (HTTP/1.1 unless it says
/// `Connection: close`; HTTP/1.0 only when it says `keep-alive`; HTTP/2 multiplexes).
fn keeps_alive(resp: &Response) -> bool {
    let says = |word: &str| {
        resp.headers()
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(word))
    };
    match resp.version() {
        Version::HTTP_09 => false,
        Version::HTTP_10 => says("keep-alive"),
        _ => !says("close"),
    }
}

/// The peer closed (or reset) the connection after the request was written and before the
/// answer's head was complete. Timeouts and failed connects are not this: the site failed.
fn closed_before_answer(e: &reqwest::Error) -> bool {
    if e.is_timeout() || e.is_connect() || e.is_body() || e.is_decode() || e.is_status() || e.is_redirect() {
        return false;
    }
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(h) = s.downcast_ref::<hyper::Error>()
            && (h.is_incomplete_message() || h.is_canceled())
        {
            return true;
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            if matches!(io.kind(), ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof) {
                return true;
            }
        }
        src = s.source();
    }
    false
}

/// The deepest cause's text ("connection closed before message completed"), not the wrapper's
/// ("client error (SendRequest)").
fn innermost(e: &reqwest::Error) -> String {
    let mut last: &dyn std::error::Error = e;
    while let Some(s) = last.source() {
        last = s;
    }
    last.to_string()
}

/// A failed request as a poll failure: a timeout or a connection closed before the answer may
/// pass by the next poll.
fn poll_error(e: &reqwest::Error) -> PollError {
    PollError { message: describe(e), transient: e.is_timeout() || closed_before_answer(e) }
}

/// A short, secret-free description of a reqwest error (its URL never has credentials in it).
pub fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        return "timed out".to_string();
    } else if e.is_connect() {
        "connection refused or unreachable"
    } else if e.is_body() || e.is_decode() {
        "bad response body"
    } else {
        "request failed"
    };
    match std::error::Error::source(e) {
        Some(_) => format!("{what}: {}", innermost(e)),
        None => what.to_string(),
    }
}

#[cfg(test)]
mod tests {
    //! Against a TCP listener that behaves as HAProxy did in the packet capture: it answers on a
    //! connection, then closes that connection without a byte when the next request arrives.

    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";

    /// Serves connections: each answers `answers_per_conn` requests, then closes on the next
    /// request without answering. Returns the address and the count of accepted connections.
    async fn server(answers_per_conn: usize) -> (String, Arc<AtomicUsize>) {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr").to_string();
        let conns = Arc::new(AtomicUsize::new(0));
        let c = conns.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                c.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let mut answered = 0;
                    loop {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        if answered == answers_per_conn {
                            let _ = s.shutdown().await;
                            return;
                        }
                        answered += 1;
                        if s.write_all(OK).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (format!("http://{addr}/"), conns)
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
    }

    #[test]
    fn a_kept_alive_connection_closed_before_the_answer_is_retried_once_on_a_new_one() {
        rt().block_on(async {
            let (url, conns) = server(1).await;
            let http = Http::new(Duration::from_secs(2), 1 << 20).expect("client");
            let mut reuse = Reuse::default();
            let login = Login::default();
            let a = http.get(&url, &login, &mut reuse).await.expect("first request");
            assert_eq!((a.status, a.body.as_str(), a.retried.is_none()), (StatusCode::OK, "ok", true));
            // The kept-alive connection is closed on the next request: sent again, not a failure.
            let b = http.get(&url, &login, &mut reuse).await.expect("the retry answers");
            let why = b.retried.expect("the retry is reported");
            assert!(why.contains("connection closed before message completed"), "{why}");
            assert_eq!(conns.load(Ordering::SeqCst), 2, "the retry went out on a new connection");
        });
    }

    #[test]
    fn a_new_connection_closed_before_the_answer_is_a_failure() {
        rt().block_on(async {
            let (url, conns) = server(0).await;
            let http = Http::new(Duration::from_secs(2), 1 << 20).expect("client");
            let mut reuse = Reuse::default();
            let e = http.get(&url, &Login::default(), &mut reuse).await.expect_err("the site failed").message;
            assert!(e.contains("connection closed before message completed"), "{e}");
            assert_eq!(conns.load(Ordering::SeqCst), 1, "no retry on a new connection");
        });
    }

    #[test]
    fn an_answer_over_the_cap_is_refused_without_being_held() {
        rt().block_on(async {
            let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let url = format!("http://{}/", l.local_addr().expect("addr"));
            tokio::spawn(async move {
                while let Ok((mut s, _)) = l.accept().await {
                    tokio::spawn(async move {
                        let mut buf = vec![0u8; 4096];
                        let _ = s.read(&mut buf).await;
                        // No Content-Length: the cap must hold while reading.
                        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n").await;
                        let chunk = vec![b'x'; 64 * 1024];
                        for _ in 0..64 {
                            if s.write_all(&chunk).await.is_err() {
                                return;
                            }
                        }
                    });
                }
            });
            let http = Http::new(Duration::from_secs(5), 1 << 20).expect("client");
            let e = http.get(&url, &Login::default(), &mut Reuse::default()).await.expect_err("4 MiB over a 1 MiB cap");
            assert_eq!(e.message, "answer larger than 1 MiB");
        });
        assert_eq!(size_text(16 << 20), "16 MiB");
        assert_eq!(size_text(1500), "1500 bytes");
    }

    #[test]
    fn refused_connections_and_close_headers() {
        rt().block_on(async {
            let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let url = format!("http://{}/", l.local_addr().expect("addr"));
            drop(l);
            let http = Http::new(Duration::from_secs(2), 1 << 20).expect("client");
            let mut reuse = Reuse { idle_since: Some(Instant::now()) };
            let e = http.get(&url, &Login::default(), &mut reuse).await.expect_err("refused");
            assert!(!e.transient, "a refused connect is a hard fact");
            let e = e.message;
            assert!(e.starts_with("connection refused or unreachable"), "{e}");
            assert!(!reuse.likely(Instant::now()), "a failure leaves nothing to reuse");
        });
        assert!(!Reuse { idle_since: Some(Instant::now() - POOL_IDLE) }.likely(Instant::now()), "expired");
    }
}
