//! Running one wizard step for real, off the UI task: SQL on dedicated connections, commands over
//! SSH (argv only), the streamed copy with its progress, post-checks, the saved state after every
//! change and one audit record per step. Every stage is reported as an [`Event`].

mod backup;
mod steps;

use steps::*;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::files::{self, ServerFiles};
use super::state::{self, MaintServer, Procedure, RecoveryState, StepKind};
use super::stopped;
use crate::config::login::{Logins, replication_password};
use crate::config::{Config, NodeConfig};
use crate::db::Target;
use crate::db::quote::{redact, unmask_password};
use crate::model::replication::{NodeStatus, Process};
use crate::model::sqltext::mask_secrets;
use crate::runbook::EngineCtx;
use crate::runbook::audit::{self, AuditLog, AuditRecord};
use crate::runbook::changemaster::{self, SourcePos};
use crate::runbook::plan::Sql;
use crate::runbook::{StepAction, Threads};
use crate::ssh::{self, HostKeyPolicy, Session, SshError, SshTarget};

/// Output lines of one remote command shown in the log (the rest is counted).
const STREAMED_LINES: usize = 12;

/// What a running step reports.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A line for the wizard's log (a command, its output, a check).
    Line(String),
    /// A long copy: bytes done of total.
    Progress { label: String, done: u64, total: u64 },
    /// The state was saved (the wizard redraws from it).
    State(Box<RecoveryState>),
    /// A host key is not in known_hosts: the operator may accept this fingerprint and re-run.
    UnknownHostKey { node: String, host: String, port: u16, fingerprint: String },
    /// The step ended.
    Finished { ok: bool, summary: String },
}

/// Everything a step needs.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// The runbook engine's context: config, logins, audit log, operator, timeout, read-only.
    pub engine: EngineCtx,
    pub state_path: PathBuf,
    /// Host keys the operator accepted: `host:port` -> the fingerprints its key may have.
    pub accepted: BTreeMap<String, Vec<String>>,
    /// Put the nodes' HAProxy servers into maint during quiesce.
    pub maint: bool,
    /// How long quiesce watches the binlog positions and the process list.
    pub watch: Duration,
    /// How long a server may take to stop or start and answer.
    pub server_wait: Duration,
    /// Silence allowed from a long remote command (a backup copy prints nothing until done).
    pub long_idle: Duration,
}

impl Ctx {
    pub fn new(cfg: Arc<Config>, logins: Arc<Logins>, state_path: PathBuf) -> Result<Ctx, String> {
        let watch = (cfg.poll_interval.0 * 3).max(Duration::from_secs(3));
        Ok(Ctx {
            engine: EngineCtx::new(cfg, logins)?,
            state_path,
            accepted: BTreeMap::new(),
            maint: true,
            watch,
            server_wait: Duration::from_secs(180),
            long_idle: Duration::from_secs(4 * 3600),
        })
    }

    fn node(&self, name: &str) -> Result<(&NodeConfig, crate::config::login::Login), String> {
        self.engine.node_login(name)
    }
}

/// A recovery step runs with everything a runbook step has, and more: the engine's fields read
/// through.
impl std::ops::Deref for Ctx {
    type Target = EngineCtx;
    fn deref(&self) -> &EngineCtx {
        &self.engine
    }
}

impl std::ops::DerefMut for Ctx {
    fn deref_mut(&mut self) -> &mut EngineCtx {
        &mut self.engine
    }
}

/// What one step did, for the audit record.
struct Run<'a> {
    ctx: &'a Ctx,
    tx: &'a UnboundedSender<Event>,
    commands: Vec<String>,
    notes: Vec<String>,
    sessions: BTreeMap<String, Session>,
}

impl Run<'_> {
    fn line(&mut self, l: impl Into<String>) {
        let l = l.into();
        let _ = self.tx.send(Event::Line(l.clone()));
        self.notes.push(l);
    }

    fn save(&self, st: &RecoveryState) -> Result<(), String> {
        state::save(&self.ctx.state_path, st)?;
        let _ = self.tx.send(Event::State(Box::new(st.clone())));
        Ok(())
    }

    async fn sql(&mut self, node: &str) -> Result<Target, String> {
        let (ncfg, login) = self.ctx.node(node)?;
        Target::open(ncfg, &login, self.ctx.timeout).await
    }

    /// Runs statements on a node, each shown first (password masked) and recorded.
    async fn exec(&mut self, node: &str, t: &mut Target, statements: &[String]) -> Result<(), String> {
        for s in statements {
            self.commands.push(format!("{node}: {s}"));
            self.line(format!("{node}> {s}"));
            let password = if crate::db::quote::has_password(s) {
                let (ncfg, _) = self.ctx.node(node)?;
                let ncfg = ncfg.clone();
                let p = tokio::task::spawn_blocking(move || replication_password(&ncfg))
                    .await
                    .map_err(|e| format!("password lookup failed: {e}"))??
                    .ok_or_else(|| format!("{node} has no replication_password in the config"))?;
                Some(p)
            } else {
                None
            };
            let real = password.as_ref().map_or_else(|| s.clone(), |p| unmask_password(s, p.expose()));
            if let Err(e) = t.exec(&real, self.ctx.timeout * 5).await {
                let e = e.to_string();
                let e = password.as_ref().map_or(e.clone(), |p| redact(&e, p.expose()));
                return Err(format!("{node}: `{s}` failed: {e}"));
            }
        }
        Ok(())
    }

    async fn session(&mut self, node: &str) -> Result<&Session, String> {
        if !self.sessions.contains_key(node) {
            let (ncfg, _) = self.ctx.node(node)?;
            let target = SshTarget::for_node(ncfg, self.ctx.timeout)?;
            let key = format!("{}:{}", target.host, target.port);
            let policy = match self.ctx.accepted.get(&key) {
                Some(f) if !f.is_empty() => HostKeyPolicy::AcceptNew { fingerprints: f.clone() },
                _ => HostKeyPolicy::Strict,
            };
            match ssh::connect(&target, &policy).await {
                Ok(s) => {
                    self.sessions.insert(node.to_string(), s);
                }
                Err(SshError::UnknownHostKey { host, port, fingerprint, .. }) => {
                    let _ = self.tx.send(Event::UnknownHostKey {
                        node: node.to_string(),
                        host: host.clone(),
                        port,
                        fingerprint: fingerprint.clone(),
                    });
                    return Err(format!(
                        "{node}: the host key of {host}:{port} is not in known_hosts (fingerprint {fingerprint}); \
                         accept it only after checking it on the host (`ssh-keygen -lf` of its host key)"
                    ));
                }
                Err(e) => return Err(format!("{node}: ssh: {e}")),
            }
        }
        self.sessions.get(node).ok_or_else(|| format!("{node}: no SSH session"))
    }

    /// [`Run::remote`] for a check run over and over (the stopped proof): not logged or
    /// recorded as a command each time, its result is.
    async fn remote_quiet(&mut self, node: &str, argv: &[String], idle: Duration) -> Result<String, String> {
        let session = self.session(node).await?;
        let out = session.run(argv, None, idle).await.map_err(|e| format!("{node}: {e}"))?;
        if !out.success() {
            return Err(format!("{node}: a check on the host failed: {}", ssh::shorten(out.stderr.trim(), 200)));
        }
        Ok(out.stdout)
    }

    /// Runs argv on a node's host; the output's first line is shown.
    async fn remote(&mut self, node: &str, argv: &[String], idle: Duration) -> Result<String, String> {
        let shown = ssh::command_line(argv);
        self.commands.push(format!("{node} (ssh): {shown}"));
        self.line(format!("{node}$ {}", ssh::shorten(&shown, 200)));
        let tx = self.tx.clone();
        let session = self.session(node).await?;
        // The command's output streams into the wizard's log as it comes (the first lines of a
        // long listing; the rest is counted).
        let (ltx, mut lrx) = tokio::sync::mpsc::unbounded_channel::<ssh::OutputLine>();
        let forward = async move {
            let mut n = 0usize;
            while let Some(l) = lrx.recv().await {
                n += 1;
                if n <= STREAMED_LINES {
                    let _ = tx.send(Event::Line(format!("  {}", l.text)));
                }
            }
            if n > STREAMED_LINES {
                let _ = tx.send(Event::Line(format!("  … {} more lines", n - STREAMED_LINES)));
            }
        };
        let (out, ()) = tokio::join!(session.run(argv, Some(ltx), idle), forward);
        let out = out.map_err(|e| format!("{node}: {e}"))?;
        if !out.success() {
            let tail: Vec<&str> = out.stderr.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect();
            let how = out.status.map_or_else(
                || format!("ended by {}", out.signal.as_deref().unwrap_or("?")),
                |c| format!("exited {c}"),
            );
            return Err(format!("{node}: `{}` {how}: {}", ssh::shorten(&shown, 120), tail.join(" / ")));
        }
        Ok(out.stdout)
    }

    /// The node's configured stop or start command.
    fn server_command(&self, node: &str, start: bool) -> Result<Vec<String>, String> {
        let (ncfg, _) = self.ctx.node(node)?;
        let (cmd, key) =
            if start { (&ncfg.start_command, "start_command") } else { (&ncfg.stop_command, "stop_command") };
        cmd.clone().filter(|c| !c.is_empty()).ok_or_else(|| format!("{node} has no {key} in the config"))
    }

    /// Runs the node's stop command, then waits until its host proves the server stopped (see
    /// [`stopped`]): a refused SQL login alone proves nothing. Refuses at the deadline with
    /// what the host last showed.
    async fn stop_server(&mut self, node: &str, files: Option<&ServerFiles>) -> Result<(), String> {
        let cmd = self.server_command(node, false)?;
        self.remote(node, &cmd, self.ctx.server_wait).await?;
        let deadline = Instant::now() + self.ctx.server_wait;
        let mut last = String::from("it still answers SQL");
        loop {
            if self.sql(node).await.is_err() {
                match self.proof(node, files).await? {
                    stopped::Proof::Stopped(e) => {
                        self.line(format!("{node}: server stopped: {e}"));
                        self.notes.push(format!("{node} stopped: {e}"));
                        return Ok(());
                    }
                    p => last = p.evidence().to_string(),
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{node}: not proven stopped {} after its stop command: {last}; nothing was copied or removed",
                    crate::fmt::duration(self.ctx.server_wait)
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// What the node's host says about its server now (one reading).
    async fn proof(&mut self, node: &str, files: Option<&ServerFiles>) -> Result<stopped::Proof, String> {
        let dir = data_dir(self.ctx.node(node)?.0)?;
        let (pid, sock) = files.map_or((String::new(), String::new()), |f| {
            (f.pid_file.clone().unwrap_or_default(), f.socket.clone().unwrap_or_default())
        });
        let out = self.remote_quiet(node, &stopped::argv(&dir, &pid, &sock), self.ctx.timeout * 10).await?;
        Ok(stopped::parse(&out))
    }

    /// Refuses unless the node's host proves its server stopped now: the guard of every step
    /// that reads or replaces a data directory under a server that must not run.
    async fn ensure_stopped(&mut self, node: &str, files: Option<&ServerFiles>, why: &str) -> Result<(), String> {
        match self.proof(node, files).await? {
            stopped::Proof::Stopped(e) => {
                self.line(format!("{node}: stopped: {e}"));
                self.notes.push(format!("{node} stopped: {e}"));
                Ok(())
            }
            p => Err(format!("{node}: not proven stopped ({}): {why}", p.evidence())),
        }
    }

    async fn start_server(&mut self, node: &str) -> Result<(), String> {
        let cmd = self.server_command(node, true)?;
        self.remote(node, &cmd, self.ctx.server_wait).await?;
        let deadline = Instant::now() + self.ctx.server_wait;
        loop {
            match self.sql(node).await {
                Ok(t) => {
                    t.close().await;
                    self.line(format!("{node}: server answers"));
                    return Ok(());
                }
                Err(e) if Instant::now() >= deadline => return Err(format!("{node}: not answering after start: {e}")),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
}

/// Runs the state's next step. The state is saved before (marked interrupted) and after.
pub async fn run_next(ctx: &Ctx, st: &mut RecoveryState, tx: &UnboundedSender<Event>) -> bool {
    let Some(kind) = st.next() else {
        let _ = tx.send(Event::Finished { ok: true, summary: "the procedure is complete".into() });
        return true;
    };
    if ctx.read_only {
        let _ = tx.send(Event::Finished {
            ok: false,
            summary: crate::runbook::ReadOnly::console("the recovery step").to_string(),
        });
        return false;
    }
    let number = st.current + 1;
    let started = std::time::SystemTime::now();
    let t0 = Instant::now();
    let mut run = Run { ctx, tx, commands: Vec::new(), notes: Vec::new(), sessions: BTreeMap::new() };
    st.interrupted = true;
    if let Err(e) = run.save(st) {
        let _ = tx.send(Event::Finished { ok: false, summary: e });
        return false;
    }
    run.line(format!("step {number}: {}", kind.title()));
    // Write-ahead: the step's start is on disk before its first statement or remote command.
    let begun = AuditRecord::new(
        crate::fmt::rfc3339(started),
        &ctx.operator,
        (super::exec_nodes(st, kind).join(","), String::new()),
        StepAction::Recover { step: number as u8, name: format!("{kind:?}").to_lowercase() },
        format!("recovery ({}) step {number}: {}", super::procedure_name(&st.procedure), kind.title()),
        Vec::new(),
    );
    let audit_id = ctx.audit.begin(&begun).unwrap_or_default();
    let result = match kind {
        StepKind::Quiesce => quiesce(&mut run, st).await,
        StepKind::Backup => backup::backup(&mut run, st).await,
        StepKind::PickSource => pick_source(&mut run, st).await,
        StepKind::StopSlaves => stop_slaves(&mut run, st).await,
        StepKind::Reset => reset(&mut run, st).await,
        StepKind::Shutdown => shutdown(&mut run, st).await,
        StepKind::Copy => copy(&mut run, st).await,
        StepKind::Start => start(&mut run, st).await,
        StepKind::Reconnect => reconnect(&mut run, st).await,
    };
    let ok = result.is_ok();
    let summary = match &result {
        Ok(s) => s.clone(),
        Err(e) => e.clone(),
    };
    st.interrupted = false;
    if ok {
        st.log.push(format!("{number} {}: {summary}", kind.title()));
        st.current += 1;
    }
    // A finished procedure is forgotten (its record is the audit log); anything else is saved.
    let saved = if ok && st.done() {
        let _ = tx.send(Event::State(Box::new(st.clone())));
        state::clear(&ctx.state_path)
    } else {
        run.save(st)
    };
    let rec = AuditRecord {
        id: audit_id,
        phase: audit::Phase::Ended,
        statements: run.commands.clone(),
        statements_run: run.commands.len(),
        notes: run.notes.clone(),
        ok,
        result: summary.clone(),
        duration_ms: t0.elapsed().as_millis() as u64,
        ..begun
    };
    let audited = ctx.audit.append(&rec);
    let summary = match (saved, audited) {
        (Ok(()), Ok(())) => summary,
        (Err(e), _) | (_, Err(e)) => format!("{summary} (WARNING: {e})"),
    };
    let _ = tx.send(Event::Finished { ok, summary });
    for (_, s) in std::mem::take(&mut run.sessions) {
        s.close().await;
    }
    ok
}

/// Appends the abandonment of a wizard to the audit log, with where its backups are.
pub fn record_abort(cfg: &Config, st: &RecoveryState) -> Result<(), String> {
    let log = AuditLog::from_config(cfg)?;
    log.append(&AuditRecord {
        id: String::new(),
        phase: audit::Phase::Ended,
        time: crate::fmt::rfc3339(std::time::SystemTime::now()),
        operator: audit::operator(),
        host: audit::host_name(),
        node: st.nodes.join(","),
        address: String::new(),
        action: StepAction::Recover { step: 0, name: "abort".into() },
        title: format!("recovery ({}) aborted at {}", super::procedure_name(&st.procedure), st.position()),
        statements: Vec::new(),
        statements_run: 0,
        preconditions: Vec::new(),
        postconditions: Vec::new(),
        notes: st.rollback_text(),
        ok: true,
        result: "aborted".into(),
        duration_ms: 0,
    })
}
