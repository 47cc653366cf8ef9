//! `lab load`: for S seconds, writes rows on every node (with an occasional slow query) and sends
//! HTTP requests through HAProxy (fast pages and `/slow?seconds=1..3`), bounded in count and
//! time, then prints what it did.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr};
use futures_util::future::join_all;

use super::spec::Spec;
use super::sql::{self, quote};

/// Upper bounds whatever S is.
const MAX_ROWS_PER_NODE: usize = 500;
const MAX_REQUESTS_PER_WORKER: usize = 500;
const FAST_WORKERS: usize = 4;
const SLOW_WORKERS: usize = 3;

#[derive(Default)]
struct Tally {
    rows: BTreeMap<String, usize>,
    slow_queries: usize,
    sql_errors: Vec<String>,
    http: BTreeMap<String, usize>,
    slow_requests: usize,
    http_errors: usize,
}

async fn writer(spec: &Spec, k: u16, until: Instant) -> (usize, usize, Option<String>) {
    let mut rows = 0;
    let mut slow = 0;
    let mut conn = match sql::operator(spec, k).await {
        Ok(c) => c,
        Err(e) => return (0, 0, Some(format!("node{k}: {e:#}"))),
    };
    let mut i = 0usize;
    while Instant::now() < until && rows < MAX_ROWS_PER_NODE {
        i += 1;
        let r = if i.is_multiple_of(15) {
            slow += 1;
            sql::exec(&mut conn, "SELECT /* ringdeck lab load */ COUNT(*), SLEEP(1) FROM app.posts").await
        } else {
            rows += 1;
            sql::exec(
                &mut conn,
                &format!(
                    "INSERT INTO app.posts (node, body) VALUES ('node{k}', {})",
                    quote(&format!("load row {i} on node{k}"))
                ),
            )
            .await
        };
        if let Err(e) = r {
            let _ = conn.disconnect().await;
            return (rows, slow, Some(format!("node{k}: {e:#}")));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = conn.disconnect().await;
    (rows, slow, None)
}

async fn http_worker(
    client: &reqwest::Client,
    base: &str,
    slow: bool,
    seed: usize,
    until: Instant,
) -> (BTreeMap<String, usize>, usize, usize) {
    let mut codes = BTreeMap::new();
    let mut slow_count = 0;
    let mut errors = 0;
    let pages = ["/", "/about.html", "/posts.html", "/health.txt", "/missing.html"];
    let mut i = seed;
    let mut sent = 0;
    while Instant::now() < until && sent < MAX_REQUESTS_PER_WORKER {
        i += 1;
        sent += 1;
        let path = if slow {
            slow_count += 1;
            format!("/slow?seconds={}", 1 + i % 3)
        } else {
            pages[i % pages.len()].to_string()
        };
        match client.get(format!("{base}{path}")).send().await {
            Ok(r) => *codes.entry(r.status().as_u16().to_string()).or_insert(0) += 1,
            Err(_) => errors += 1,
        }
        if !slow {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    (codes, slow_count, errors)
}

/// Runs the load for `seconds` and prints a summary.
pub fn run(spec: &Spec, seconds: u64) -> Result<()> {
    let seconds = seconds.clamp(1, 3600);
    let rt = sql::runtime()?;
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(10))
        .build()
        .wrap_err("cannot build the HTTP client")?;
    let base = format!("http://127.0.0.1:{}", spec.http_port());
    eprintln!(
        "load for {seconds}s: {} SQL writers (one per node), {FAST_WORKERS} HTTP workers on pages and {SLOW_WORKERS} on /slow through HAProxy {base}",
        spec.nodes
    );
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let mut tally = Tally::default();
    rt.block_on(async {
        let writers = join_all((1..=spec.nodes).map(|k| writer(spec, k, until)));
        let https = join_all(
            (0..FAST_WORKERS + SLOW_WORKERS).map(|w| http_worker(&client, &base, w >= FAST_WORKERS, w, until)),
        );
        let (w, h) = tokio::join!(writers, https);
        for (k, (rows, slow, err)) in w.into_iter().enumerate() {
            tally.rows.insert(format!("node{}", k + 1), rows);
            tally.slow_queries += slow;
            tally.sql_errors.extend(err);
        }
        for (codes, slow, errors) in h {
            for (c, n) in codes {
                *tally.http.entry(c).or_insert(0) += n;
            }
            tally.slow_requests += slow;
            tally.http_errors += errors;
        }
    });
    let rows: Vec<String> = tally.rows.iter().map(|(n, r)| format!("{n} {r}")).collect();
    println!(
        "load ran {:.1}s: rows written: {}; slow queries (SLEEP(1)): {}",
        started.elapsed().as_secs_f64(),
        rows.join(", "),
        tally.slow_queries
    );
    let codes: Vec<String> = tally.http.iter().map(|(c, n)| format!("{n}x {c}")).collect();
    let total: usize = tally.http.values().sum();
    println!(
        "HTTP through HAProxy: {total} answered ({} to /slow; /missing.html is a 404 on purpose): {}; {} failed",
        tally.slow_requests,
        if codes.is_empty() { "none".to_string() } else { codes.join(", ") },
        tally.http_errors
    );
    for e in &tally.sql_errors {
        println!("SQL error: {e}");
    }
    Ok(())
}
