//! A stats URL and a status page that answer 60 MB (a misconfigured proxy, a runaway page): the
//! console reads each under `max_response_bytes` (16 MiB by default), shows the target as
//! refused ("answer larger than 16 MiB") and its memory stays small. Measured on the real binary
//! (`ringdeck snapshot` runs the console's collectors and renders the frame) against loopback
//! HTTP servers of this test; this file holds one test so the children's peak RSS is its own.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;

const BODY_BYTES: usize = 60 << 20;

/// Serves `first_line` then copies of `line` up to 60 MB to every request, until the test ends.
fn serve_huge(first_line: &'static str, line: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut req = [0u8; 4096];
                let _ = conn.read(&mut req);
                let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n");
                let _ = conn.write_all(first_line.as_bytes());
                let chunk = line.repeat(65536 / line.len());
                let mut sent = 0;
                // The client hangs up once over its cap: a write error ends this answer.
                while sent < BODY_BYTES && conn.write_all(chunk.as_bytes()).is_ok() {
                    sent += chunk.len();
                }
            });
        }
    });
    port
}

#[test]
fn a_60_mb_answer_is_refused_and_memory_stays_small() {
    let stats = serve_huge("# pxname,svname,qcur,qmax,scur,smax,slim,stot,status\n", "web,web1,0,0,1,1,,4,UP\n");
    let status = serve_huge("Total Accesses: 1\nScoreboard: ", "_________________W______________________________\n");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("ringdeck.toml");
    std::fs::write(
        &config,
        format!(
            "poll_interval = \"500ms\"\ntimeout = \"20s\"\n\n[[haproxy]]\nname = \"lb\"\nstats_url = \"http://127.0.0.1:{stats}/stats\"\n\n\
             [[apache]]\nname = \"web1\"\nstatus_url = \"http://127.0.0.1:{status}/server-status\"\n"
        ),
    )
    .expect("config");
    let out = Command::new(env!("CARGO_BIN_EXE_ringdeck"))
        .args(["snapshot", "--polls", "3", "--width", "160", "--height", "40", "--focus", "haproxy", "--config"])
        .arg(&config)
        .env("XDG_STATE_HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .output()
        .expect("ringdeck snapshot runs");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(screen.contains("answer larger than 16 MiB"), "the refusal is on screen:\n{screen}");

    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN).expect("getrusage");
    let peak_mib = usage.max_rss() as f64 / 1024.0; // Linux reports KiB
    eprintln!("peak RSS of ringdeck with two 60 MB answers: {peak_mib:.1} MiB");
    assert!(peak_mib < 64.0, "peak RSS {peak_mib:.1} MiB with a 60 MB answer (the cap is 16 MiB)");
}
