//! `lab break`: a duplicate-key break of one node's SQL thread (error 1062), a row on one node
//! only (unlogged), a crash of one node (SIGKILL), or one Apache stopped.

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
        sql::exec(&mut local, "SET sql_log_bin=0").await?;
        sql::exec(
            &mut local,
            &format!(
                "INSERT INTO app.posts (id, node, body) VALUES ({x}, 'node{k}', 'local row written unlogged by lab break dup')"
            ),
        )
        .await?;
        sql::exec(&mut local, "SET sql_log_bin=1").await?;
        sql::exec(
            &mut upstream,
            &format!(
                "INSERT INTO app.posts (id, node, body) VALUES ({x}, 'node{up}', 'row that collides on node{k}')"
            ),
        )
        .await?;
        let _ = upstream.disconnect().await;
        eprintln!(
            "wrote id {x} on node{k} with sql_log_bin=0, then id {x} on its upstream node{up}"
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let st = sql::replica_status(&mut local).await?.unwrap_or_default();
            let errno = st.get("Last_SQL_Errno").map_or("", String::as_str);
            // The error is set a moment before the thread reports itself stopped: wait for both.
            let stopped = st.get("Slave_SQL_Running").map(String::as_str) == Some("No");
            if errno == "1062" && stopped {
                println!(
                    "node{k}: SQL thread stopped with Last_SQL_Errno 1062: {}",
                    st.get("Last_SQL_Error").map_or("", String::as_str)
                );
                let _ = local.disconnect().await;
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "node{k}'s SQL thread did not stop with error 1062 within 30s (Last_SQL_Errno {errno:?}, SQL running {:?})",
                    st.get("Slave_SQL_Running").map_or("", String::as_str)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
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
        sql::exec(&mut c, "SET sql_log_bin=0").await?;
        sql::exec(
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
