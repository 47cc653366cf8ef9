//! `lab break`: a duplicate-key break of one node's SQL thread (error 1062), a real conflict (the
//! same key written on two nodes: both links break), a missing row (1032), a row on one node only
//! (unlogged), a crash of one node (SIGKILL), or one Apache stopped.

use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, bail};
use nix::sys::signal::Signal;

use super::spec::Spec;
use super::{apache, mariadb, proc, sql};

fn check_node(spec: &Spec, k: u16) -> Result<()> {
    if !(1..=spec.nodes).contains(&k) {
        bail!("--node {k}: the lab has nodes 1 to {}", spec.nodes);
    }
    Ok(())
}

/// Runs `stmt` on this connection with `sql_log_bin = 0`: the change stays on this node.
async fn unlogged_exec(c: &mut mysql_async::Conn, stmt: &str) -> Result<()> {
    sql::exec(c, "SET sql_log_bin=0").await?;
    sql::exec(c, stmt).await?;
    sql::exec(c, "SET sql_log_bin=1").await
}

/// Breaks node k's SQL thread with a duplicate key: a row with id X written unlogged on node k,
/// then id X written on node k's upstream, whose event then fails on node k with 1062.
pub fn dup(spec: &Spec, k: u16) -> Result<()> {
    check_node(spec, k)?;
    let up = spec.upstream(k);
    let rt = sql::runtime()?;
    rt.block_on(async {
        let mut local = sql::operator(spec, k).await?;
        let mut upstream = sql::operator(spec, up).await?;
        // An id neither node has used yet, on node k's own auto-increment offset.
        let max = |v: Option<String>| v.and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
        let m = max(sql::scalar(&mut local, "SELECT MAX(id) FROM app.posts").await?)
            .max(max(sql::scalar(&mut upstream, "SELECT MAX(id) FROM app.posts").await?));
        let x = m + 1000;
        unlogged_exec(
            &mut local,
            &format!(
                "INSERT INTO app.posts (id, node, body) VALUES ({x}, 'node{k}', 'local row written unlogged by lab break dup')"
            ),
        )
        .await?;
        sql::exec(
            &mut upstream,
            &format!(
                "INSERT INTO app.posts (id, node, body) VALUES ({x}, 'node{up}', 'row that collides on node{k}')"
            ),
        )
        .await?;
        let _ = upstream.disconnect().await;
        let _ = local.disconnect().await;
        eprintln!("wrote id {x} on node{k} with sql_log_bin=0, then id {x} on its upstream node{up}");
        wait_stopped(spec, k, "1062").await
    })
}

/// Writes a row on node k only, unlogged: no other node ever receives it (what a verify finds
/// and a repair makes equal).
pub fn unlogged(spec: &Spec, k: u16) -> Result<()> {
    check_node(spec, k)?;
    let rt = sql::runtime()?;
    rt.block_on(async {
        let mut c = sql::operator(spec, k).await?;
        let max = sql::scalar(&mut c, "SELECT MAX(id) FROM app.posts").await?;
        let x = max.and_then(|s| s.parse::<u64>().ok()).unwrap_or(0) + 500_000;
        unlogged_exec(
            &mut c,
            &format!(
                "INSERT INTO app.posts (id, node, body) VALUES ({x}, 'node{k}', 'written on node{k} only, unlogged')"
            ),
        )
        .await?;
        let _ = c.disconnect().await;
        println!("wrote id {x} on node{k} only, with sql_log_bin=0");
        Ok(())
    })
}

/// Waits until node k's SQL thread stopped with `errno` (the error is set a moment before the
/// thread reports itself stopped: both are waited for); prints the error.
async fn wait_stopped(spec: &Spec, k: u16, errno: &str) -> Result<()> {
    let mut c = sql::operator(spec, k).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let st = sql::replica_status(&mut c).await?.unwrap_or_default();
        let e = st.get("Last_SQL_Errno").map_or("", String::as_str);
        let stopped = st.get("Slave_SQL_Running").map(String::as_str) == Some("No");
        if e == errno && stopped {
            println!(
                "node{k}: SQL thread stopped with Last_SQL_Errno {errno}: {}",
                st.get("Last_SQL_Error").map_or("", String::as_str)
            );
            let _ = c.disconnect().await;
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("node{k}'s SQL thread did not stop with error {errno} within 30s (Last_SQL_Errno {e:?})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A real conflict: the same key inserted on nodes k and l "at the same moment", both logged.
/// Every SQL thread is paused while both rows are written, so each node's event reaches the
/// other's side only after its own row is there: both links into them break with 1062 (and the
/// local version has already travelled on downstream of each).
pub fn conflict(spec: &Spec, k: u16, l: u16) -> Result<()> {
    check_node(spec, k)?;
    check_node(spec, l)?;
    if k == l {
        bail!("--nodes {k},{l}: two different nodes");
    }
    let rt = sql::runtime()?;
    rt.block_on(async {
        let mut conns = Vec::new();
        for n in 1..=spec.nodes {
            conns.push(sql::operator(spec, n).await?);
        }
        let mut max = 0u64;
        for c in conns.iter_mut() {
            let m = sql::scalar(c, "SELECT MAX(id) FROM app.posts").await?;
            max = max.max(m.and_then(|s| s.parse().ok()).unwrap_or(0));
        }
        let x = max + 1000;
        for c in conns.iter_mut() {
            sql::exec(c, "STOP SLAVE SQL_THREAD").await?;
        }
        for n in [k, l] {
            sql::exec(
                &mut conns[usize::from(n) - 1],
                &format!(
                    "INSERT INTO app.posts (id, node, body) VALUES ({x}, 'node{n}', 'written on node{n} in a conflict')"
                ),
            )
            .await?;
        }
        for c in conns.iter_mut() {
            sql::exec(c, "START SLAVE SQL_THREAD").await?;
        }
        for c in conns {
            let _ = c.disconnect().await;
        }
        eprintln!("wrote id {x} on node{k} and on node{l}, both logged, while every SQL thread was paused");
        // node k's row collides on the first node after k that holds node l's row, and the other
        // way round: in a ring, the downstream nodes of each, up to the other.
        let first_after = |from: u16, other: u16| {
            let mut n = from % spec.nodes + 1;
            while n != other && n != from {
                n = n % spec.nodes + 1;
            }
            n
        };
        wait_stopped(spec, first_after(k, l), "1062").await?;
        wait_stopped(spec, first_after(l, k), "1062").await
    })
}

/// A missing row: a row every node has is deleted on node k unlogged, then updated on its
/// upstream; the update fails on node k with 1032 (row not found).
pub fn missing(spec: &Spec, k: u16) -> Result<()> {
    check_node(spec, k)?;
    let up = spec.upstream(k);
    let rt = sql::runtime()?;
    rt.block_on(async {
        let mut local = sql::operator(spec, k).await?;
        let mut upstream = sql::operator(spec, up).await?;
        let Some(id) = sql::scalar(&mut local, "SELECT MIN(id) FROM app.posts").await? else {
            bail!("node{k} has no row in app.posts to delete");
        };
        unlogged_exec(&mut local, &format!("DELETE FROM app.posts WHERE id = {id}")).await?;
        sql::exec(
            &mut upstream,
            &format!("UPDATE app.posts SET body = 'updated on node{up} after node{k} lost it' WHERE id = {id}"),
        )
        .await?;
        let _ = local.disconnect().await;
        let _ = upstream.disconnect().await;
        eprintln!("deleted id {id} on node{k} with sql_log_bin=0, then updated it on its upstream node{up}");
        wait_stopped(spec, k, "1032").await
    })
}

/// Crashes node k: SIGKILL, then waits until its port refuses.
pub fn stop_node(spec: &Spec, k: u16) -> Result<()> {
    check_node(spec, k)?;
    let Some(pid) = mariadb::running(spec, k) else {
        println!("node{k} is not running");
        return Ok(());
    };
    proc::signal(pid, Signal::SIGKILL);
    if !proc::wait_gone(&[pid], Duration::from_secs(10)) {
        bail!("node{k} (pid {pid}) survived SIGKILL for 10s");
    }
    let port = spec.node_port(k);
    if !proc::wait_for(Duration::from_secs(10), || !proc::port_open(port)) {
        bail!("node{k}'s port {port} still accepts connections");
    }
    println!("node{k} (pid {pid}) killed with SIGKILL; `ringdeck lab up` starts it again");
    Ok(())
}

/// Stops Apache k and waits until its port refuses.
pub fn stop_web(spec: &Spec, k: u16) -> Result<()> {
    if !(1..=2).contains(&k) {
        bail!("--web {k}: the lab has web1 and web2");
    }
    apache::stop(spec, k)?;
    let port = spec.web_port(k);
    if !proc::wait_for(Duration::from_secs(10), || !proc::port_open(port)) {
        bail!("web{k}'s port {port} still accepts connections");
    }
    println!("web{k} stopped; `ringdeck lab up` starts it again");
    Ok(())
}
