//! Running one command on a [`Session`]: argv quoted with [`command_line`], stdout and stderr
//! captured (with caps) and streamed line by line as they arrive, an idle timeout while the
//! command is silent, and the exit status.

use std::time::Duration;

use russh::{ChannelMsg, Sig};
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::timeout;

use super::client::Session;
use super::error::SshError;
use super::quote::{check_argv, command_line, shorten};

/// Most stdout kept in [`CommandOutput::stdout`] (the start of it).
pub const STDOUT_CAP: usize = 4 << 20;
/// Most stderr kept in [`CommandOutput::stderr`] (the end of it: where errors are).
pub const STDERR_CAP: usize = 64 << 10;
/// A line longer than this is passed on in pieces.
const LINE_CAP: usize = 16 << 10;
/// How much of a command line goes into a message.
pub(crate) const SHOWN_COMMAND: usize = 200;

/// Which stream a line came on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One line of a running command's output (without its newline).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputLine {
    pub stream: Stream,
    pub text: String,
}

/// What a finished command gave.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandOutput {
    /// Exit status; `None` when killed by a signal or none was sent.
    pub status: Option<u32>,
    /// The signal that ended it (`KILL`, `TERM`, ...).
    pub signal: Option<String>,
    /// The first [`STDOUT_CAP`] bytes of stdout (lossy UTF-8).
    pub stdout: String,
    /// The last [`STDERR_CAP`] bytes of stderr (lossy UTF-8).
    pub stderr: String,
    /// True when stdout or stderr was longer than its cap.
    pub truncated: bool,
}

impl CommandOutput {
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }
}

/// A capped byte buffer that keeps the head or the tail.
#[derive(Debug)]
pub(crate) struct Capture {
    buf: Vec<u8>,
    cap: usize,
    keep_tail: bool,
    pub(crate) truncated: bool,
}

impl Capture {
    pub(crate) fn head(cap: usize) -> Capture {
        Capture { buf: Vec::new(), cap, keep_tail: false, truncated: false }
    }
    pub(crate) fn tail(cap: usize) -> Capture {
        Capture { buf: Vec::new(), cap, keep_tail: true, truncated: false }
    }
    pub(crate) fn push(&mut self, data: &[u8]) {
        if self.keep_tail {
            self.buf.extend_from_slice(data);
            if self.buf.len() > self.cap {
                let cut = self.buf.len() - self.cap;
                self.buf.drain(..cut);
                self.truncated = true;
            }
        } else {
            let room = self.cap.saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&data[..data.len().min(room)]);
            self.truncated |= data.len() > room;
        }
    }
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf).into_owned()
    }
}

/// Splits a byte stream into lines and sends each to `tx`.
struct Lines {
    stream: Stream,
    pending: Vec<u8>,
}

impl Lines {
    fn new(stream: Stream) -> Lines {
        Lines { stream, pending: Vec::new() }
    }
    fn emit(&self, tx: &UnboundedSender<OutputLine>, bytes: &[u8]) {
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        // A closed receiver only means nobody watches any more: the command still runs to its end.
        let _ = tx.send(OutputLine { stream: self.stream, text: String::from_utf8_lossy(bytes).into_owned() });
    }
    fn push(&mut self, data: &[u8], tx: &UnboundedSender<OutputLine>) {
        self.pending.extend_from_slice(data);
        while let Some(i) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=i).collect();
            self.emit(tx, &line[..line.len() - 1]);
        }
        while self.pending.len() > LINE_CAP {
            let piece: Vec<u8> = self.pending.drain(..LINE_CAP).collect();
            self.emit(tx, &piece);
        }
    }
    fn finish(&mut self, tx: &UnboundedSender<OutputLine>) {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.emit(tx, &rest);
        }
    }
}

/// Output handling of one command: captures and optional line streaming.
struct Sink {
    stdout: Capture,
    stderr: Capture,
    lines: Option<(UnboundedSender<OutputLine>, Lines, Lines)>,
}

impl Sink {
    fn new(lines: Option<UnboundedSender<OutputLine>>) -> Sink {
        Sink {
            stdout: Capture::head(STDOUT_CAP),
            stderr: Capture::tail(STDERR_CAP),
            lines: lines.map(|tx| (tx, Lines::new(Stream::Stdout), Lines::new(Stream::Stderr))),
        }
    }
    fn data(&mut self, stream: Stream, data: &[u8]) {
        match stream {
            Stream::Stdout => self.stdout.push(data),
            Stream::Stderr => self.stderr.push(data),
        }
        if let Some((tx, out, err)) = &mut self.lines {
            match stream {
                Stream::Stdout => out.push(data, tx),
                Stream::Stderr => err.push(data, tx),
            }
        }
    }
    fn finish(&mut self) {
        if let Some((tx, out, err)) = &mut self.lines {
            out.finish(tx);
            err.finish(tx);
        }
    }
}

/// A signal's name as OpenSSH sends it (`KILL`, `TERM`, ...).
pub(crate) fn signal_name(sig: &Sig) -> String {
    match sig {
        Sig::Custom(name) => name.clone(),
        other => format!("{other:?}"),
    }
}

impl Session {
    /// Opens a channel and starts `command` on it (the exec request's answer comes through
    /// `wait()` as `Success`/`Failure`).
    pub(crate) async fn start(&self, command: &str) -> Result<russh::Channel<russh::client::Msg>, SshError> {
        let ch = self.open_channel().await?;
        match timeout(self.timeout, ch.exec(true, command.as_bytes())).await {
            Err(_) => Err(SshError::Timeout(format!(
                "{}: `{}` could not be sent within {:?}",
                self.label,
                shorten(command, SHOWN_COMMAND),
                self.timeout
            ))),
            Ok(Err(e)) => Err(SshError::Channel(format!(
                "{}: cannot start `{}`: {e}",
                self.label,
                shorten(command, SHOWN_COMMAND)
            ))),
            Ok(Ok(())) => Ok(ch),
        }
    }

    /// Runs `argv` (quoted with [`command_line`]; its stdin is empty). Each output line also goes
    /// to `lines` (tagged stdout/stderr) as it arrives. Fails with [`SshError::Timeout`] when
    /// nothing arrives and the command does not finish for `idle`: its channel is then closed
    /// after a TERM signal request, which OpenSSH's sshd often refuses ("session signalling
    /// requires privilege separation"), so a silent command may keep running on the host until it
    /// next writes (SIGPIPE) or ends. A non-zero exit is not an error here: see
    /// [`Session::run_ok`].
    pub async fn run(
        &self,
        argv: &[String],
        lines: Option<UnboundedSender<OutputLine>>,
        idle: Duration,
    ) -> Result<CommandOutput, SshError> {
        check_argv(argv).map_err(|e| SshError::Channel(format!("{}: {e}", self.label)))?;
        let command = command_line(argv);
        let shown = shorten(&command, SHOWN_COMMAND);
        let mut ch = self.start(&command).await?;
        // No stdin: a command that reads it sees end of file at once.
        let _ = ch.eof().await;
        let mut sink = Sink::new(lines);
        let mut out = CommandOutput::default();
        loop {
            let msg = match timeout(idle, ch.wait()).await {
                Err(_) => {
                    let _ = timeout(Duration::from_secs(1), ch.signal(Sig::TERM)).await;
                    let _ = timeout(Duration::from_secs(1), ch.close()).await;
                    sink.finish();
                    return Err(SshError::Timeout(format!(
                        "{}: `{shown}` gave no output and did not finish for {idle:?}",
                        self.label
                    )));
                }
                Ok(None) => break,
                Ok(Some(m)) => m,
            };
            match msg {
                ChannelMsg::Data { data } => sink.data(Stream::Stdout, &data),
                ChannelMsg::ExtendedData { data, .. } => sink.data(Stream::Stderr, &data),
                ChannelMsg::ExitStatus { exit_status } => out.status = Some(exit_status),
                ChannelMsg::ExitSignal { signal_name: sig, .. } => out.signal = Some(signal_name(&sig)),
                ChannelMsg::Failure => {
                    let _ = ch.close().await;
                    return Err(SshError::Channel(format!("{}: the server refused to run `{shown}`", self.label)));
                }
                ChannelMsg::Close => break,
                _ => {}
            }
        }
        sink.finish();
        out.stdout = sink.stdout.text();
        out.stderr = sink.stderr.text();
        out.truncated = sink.stdout.truncated || sink.stderr.truncated;
        Ok(out)
    }

    /// Runs `argv` like [`Session::run`] and returns its stdout; a non-zero exit (or none) is
    /// [`SshError::Command`] with the status and the tail of stderr.
    pub async fn run_ok(&self, argv: &[String], idle: Duration) -> Result<String, SshError> {
        let out = self.run(argv, None, idle).await?;
        if out.success() {
            return Ok(out.stdout);
        }
        Err(SshError::Command {
            target: self.label.clone(),
            command: shorten(&command_line(argv), SHOWN_COMMAND),
            status: out.status,
            signal: out.signal,
            stderr: tail_lines(&out.stderr, 20),
        })
    }
}

/// The last `n` lines of `text`.
pub(crate) fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_keeps_head_or_tail() {
        let mut h = Capture::head(5);
        h.push(b"abc");
        h.push(b"defg");
        assert_eq!((h.text().as_str(), h.truncated), ("abcde", true));
        let mut t = Capture::tail(5);
        t.push(b"abc");
        assert!(!t.truncated);
        t.push(b"defg");
        assert_eq!((t.text().as_str(), t.truncated), ("cdefg", true));
    }

    #[test]
    fn lines_are_split_across_chunks() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut l = Lines::new(Stream::Stderr);
        l.push(b"one\ntw", &tx);
        l.push(b"o\r\nthree", &tx);
        l.push(b"\n\nlast", &tx);
        l.finish(&tx);
        let mut got = Vec::new();
        while let Ok(line) = rx.try_recv() {
            assert_eq!(line.stream, Stream::Stderr);
            got.push(line.text);
        }
        assert_eq!(got, ["one", "two", "three", "", "last"]);
    }

    #[test]
    fn long_lines_come_in_pieces() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut l = Lines::new(Stream::Stdout);
        l.push(&vec![b'x'; LINE_CAP * 2 + 10], &tx);
        l.finish(&tx);
        let sizes: Vec<usize> = std::iter::from_fn(|| rx.try_recv().ok()).map(|l| l.text.len()).collect();
        assert_eq!(sizes, [LINE_CAP, LINE_CAP, 10]);
    }

    #[test]
    fn tails() {
        assert_eq!(tail_lines("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail_lines("", 2), "");
    }
}
