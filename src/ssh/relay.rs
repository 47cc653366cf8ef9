//! Piping one remote command's stdout into another's stdin through ringdeck: two sessions
//! (possibly two hosts that need no trust between them), flow-controlled by SSH's own windows
//! (a slow reader slows the writer down, nothing piles up in memory), with an idle watchdog over
//! both sides and both exit statuses checked.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use russh::client::Msg;
use russh::{ChannelMsg, ChannelReadHalf, ChannelWriteHalf};
use tokio::time::timeout;

use super::client::Session;
use super::error::SshError;
use super::exec::{Capture, SHOWN_COMMAND, STDERR_CAP, signal_name, tail_lines};
use super::quote::{check_argv, command_line, shorten};

/// How one side ended.
#[derive(Debug)]
struct Ended {
    status: Option<u32>,
    signal: Option<String>,
    output: Capture,
}

/// Milliseconds since `start`, as the watchdog's clock.
fn ms_since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Shared between the two halves (atomics: the future stays `Send`).
struct Shared {
    start: Instant,
    /// Last time anything moved, in ms since `start`.
    last: AtomicU64,
    /// The source's end of file was passed on to the destination.
    sent_all: AtomicBool,
}

impl Shared {
    fn touch(&self) {
        self.last.store(ms_since(self.start), Ordering::Relaxed);
    }
    fn idle_for(&self) -> Duration {
        Duration::from_millis(ms_since(self.start).saturating_sub(self.last.load(Ordering::Relaxed)))
    }
}

/// Pipes the stdout of `src_argv` run on `src` into the stdin of `dst_argv` run on `dst`, calling
/// `progress(bytes_so_far)` after each chunk. Returns the bytes copied. Both commands must exit
/// with status 0; [`SshError::Timeout`] when nothing moves on either side (no data, no output, no
/// exit) for `idle`. On any failure both channels are closed after a TERM request (best effort,
/// see [`Session::run`]): the destination sees end of file, the source a broken pipe once it writes.
pub async fn relay(
    src: &Session,
    src_argv: &[String],
    dst: &Session,
    dst_argv: &[String],
    idle: Duration,
    mut progress: impl FnMut(u64) + Send,
) -> Result<u64, SshError> {
    check_argv(src_argv).map_err(|e| SshError::Channel(format!("{}: {e}", src.label)))?;
    check_argv(dst_argv).map_err(|e| SshError::Channel(format!("{}: {e}", dst.label)))?;
    let src_cmd = command_line(src_argv);
    let dst_cmd = command_line(dst_argv);
    // The reader first, so the first bytes have somewhere to go.
    let dst_ch = dst.start(&dst_cmd).await?;
    let src_ch = match src.start(&src_cmd).await {
        Ok(ch) => ch,
        Err(e) => {
            let _ = timeout(Duration::from_secs(1), dst_ch.close()).await;
            return Err(e);
        }
    };
    // The source's stdin is empty.
    let _ = src_ch.eof().await;
    let (mut src_r, src_w) = src_ch.split();
    let (mut dst_r, dst_w) = dst_ch.split();
    let shared = Shared { start: Instant::now(), last: AtomicU64::new(0), sent_all: AtomicBool::new(false) };
    let names = Names {
        src: Side { target: src.label.clone(), command: shorten(&src_cmd, SHOWN_COMMAND) },
        dst: Side { target: dst.label.clone(), command: shorten(&dst_cmd, SHOWN_COMMAND) },
    };
    let total = AtomicU64::new(0);
    let result = drive(&mut src_r, &mut dst_r, &dst_w, &shared, &total, idle, &names, &mut progress).await;
    if result.is_err() {
        // TERM (many sshd refuse it), then close: the commands see end of file / a broken pipe.
        let close = async {
            for w in [&src_w, &dst_w] {
                let _ = w.signal(russh::Sig::TERM).await;
                let _ = w.close().await;
            }
        };
        let _ = timeout(Duration::from_secs(1), close).await;
    }
    let (s, d) = result?;
    let copied = total.load(Ordering::Relaxed);
    match (failure(&names.src, &s), failure(&names.dst, &d)) {
        (None, None) => Ok(copied),
        (Some(e), None) | (None, Some(e)) => Err(e),
        (Some(SshError::Command { target, command, status, signal, stderr }), Some(other)) => {
            Err(SshError::Command { target, command, status, signal, stderr: format!("{stderr}\nand {other}") })
        }
        (Some(e), Some(_)) => Err(e),
    }
}

/// One command of the relay, for messages.
struct Side {
    target: String,
    command: String,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: `{}`", self.target, self.command)
    }
}

struct Names {
    src: Side,
    dst: Side,
}

/// A side's failure as [`SshError::Command`], or `None` when it exited 0.
fn failure(side: &Side, e: &Ended) -> Option<SshError> {
    if e.status == Some(0) {
        return None;
    }
    Some(SshError::Command {
        target: side.target.clone(),
        command: side.command.clone(),
        status: e.status,
        signal: e.signal.clone(),
        stderr: tail_lines(&e.output.text(), 20),
    })
}

/// Runs both halves and the watchdog until both sides closed.
#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename these
async fn drive(
    src_r: &mut ChannelReadHalf,
    dst_r: &mut ChannelReadHalf,
    dst_w: &ChannelWriteHalf<Msg>,
    shared: &Shared,
    total: &AtomicU64,
    idle: Duration,
    names: &Names,
    progress: &mut (impl FnMut(u64) + Send),
) -> Result<(Ended, Ended), SshError> {
    let pump = pump(src_r, dst_w, shared, total, names, progress);
    let collect = collect(dst_r, shared, names);
    tokio::pin!(pump, collect);
    let (mut s, mut d) = (None, None);
    while s.is_none() || d.is_none() {
        let quiet = shared.idle_for();
        let left = idle.saturating_sub(quiet);
        tokio::select! {
            r = &mut pump, if s.is_none() => match r {
                Ok(e) => s = Some(e),
                Err(e) => {
                    // The destination may have died first: its exit says more than a failed write.
                    if d.is_none()
                        && let Ok(Ok(ended)) = timeout(Duration::from_secs(1).min(idle), &mut collect).await
                        && let Some(why) = failure(&names.dst, &ended)
                    {
                        return Err(why);
                    }
                    return Err(e);
                }
            },
            r = &mut collect, if d.is_none() => {
                let ended = r?;
                if !shared.sent_all.load(Ordering::Relaxed) {
                    return Err(failure(&names.dst, &ended).unwrap_or_else(|| SshError::Channel(format!(
                        "{} ended (status 0) before reading all of its input ({} bytes sent)",
                        names.dst,
                        total.load(Ordering::Relaxed)
                    ))));
                }
                d = Some(ended);
            }
            _ = tokio::time::sleep(left) => {
                if shared.idle_for() >= idle {
                    return Err(SshError::Timeout(format!(
                        "relay {} -> {}: nothing moved for {idle:?} ({} bytes copied)",
                        names.src,
                        names.dst,
                        total.load(Ordering::Relaxed)
                    )));
                }
            }
        }
    }
    match (s, d) {
        (Some(s), Some(d)) => Ok((s, d)),
        // The loop above only ends once both are set.
        _ => Err(SshError::Channel("relay ended in an impossible state".into())),
    }
}

/// Source side: its stdout goes to the destination's stdin; then end of file.
async fn pump(
    src: &mut ChannelReadHalf,
    dst: &ChannelWriteHalf<Msg>,
    shared: &Shared,
    total: &AtomicU64,
    names: &Names,
    progress: &mut (impl FnMut(u64) + Send),
) -> Result<Ended, SshError> {
    let mut ended = Ended { status: None, signal: None, output: Capture::tail(STDERR_CAP) };
    let write_failed = |e: russh::Error| SshError::Channel(format!("{}: cannot write its input: {e}", names.dst));
    while let Some(msg) = src.wait().await {
        shared.touch();
        match msg {
            ChannelMsg::Data { data } => {
                let n = data.len() as u64;
                dst.data_bytes(data).await.map_err(write_failed)?;
                shared.touch();
                let sum = total.fetch_add(n, Ordering::Relaxed) + n;
                progress(sum);
            }
            ChannelMsg::ExtendedData { data, .. } => ended.output.push(&data),
            ChannelMsg::Eof if !shared.sent_all.swap(true, Ordering::Relaxed) => {
                dst.eof().await.map_err(write_failed)?;
            }
            ChannelMsg::ExitStatus { exit_status } => ended.status = Some(exit_status),
            ChannelMsg::ExitSignal { signal_name: sig, .. } => ended.signal = Some(signal_name(&sig)),
            ChannelMsg::Failure => {
                return Err(SshError::Channel(format!("{}: the server refused to run it", names.src)));
            }
            ChannelMsg::Close => break,
            _ => {}
        }
    }
    if !shared.sent_all.swap(true, Ordering::Relaxed) {
        dst.eof().await.map_err(write_failed)?;
    }
    Ok(ended)
}

/// Destination side: its output (kept for messages) and exit.
async fn collect(dst: &mut ChannelReadHalf, shared: &Shared, names: &Names) -> Result<Ended, SshError> {
    let mut ended = Ended { status: None, signal: None, output: Capture::tail(STDERR_CAP) };
    while let Some(msg) = dst.wait().await {
        shared.touch();
        match msg {
            ChannelMsg::Data { data } | ChannelMsg::ExtendedData { data, .. } => ended.output.push(&data),
            ChannelMsg::ExitStatus { exit_status } => ended.status = Some(exit_status),
            ChannelMsg::ExitSignal { signal_name: sig, .. } => ended.signal = Some(signal_name(&sig)),
            ChannelMsg::Failure => {
                return Err(SshError::Channel(format!("{}: the server refused to run it", names.dst)));
            }
            ChannelMsg::Close => break,
            _ => {}
        }
    }
    Ok(ended)
}
