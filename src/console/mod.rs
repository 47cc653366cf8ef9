//! The console: the terminal, the collector tasks feeding the loop over a channel, the task
//! runner for steps and checks, and a loop that redraws only when state changed or a key came.

pub mod runner;
pub mod terminal;

/// Everything that reaches the console loop, over one channel.
#[derive(Debug)]
pub enum Message {
    /// A collector's poll.
    Sample(collect::Update),
    /// What a task the runner started reports.
    Task(runner::TaskEvent),
    /// A terminal event: a key, a resize.
    Term(Event),
    /// The terminal's input failed (`Some`) or ended (`None`).
    TermEnded(Option<String>),
}

impl From<collect::Update> for Message {
    fn from(u: collect::Update) -> Message {
        Message::Sample(u)
    }
}

impl From<runner::TaskEvent> for Message {
    fn from(e: runner::TaskEvent) -> Message {
        Message::Task(e)
    }
}

/// Reads the terminal's events into the loop's channel (ends with the terminal or the loop).
async fn forward_terminal(tx: mpsc::Sender<Message>) {
    let mut events = EventStream::new();
    loop {
        let m = match events.next().await {
            Some(Ok(ev)) => Message::Term(ev),
            Some(Err(e)) => Message::TermEnded(Some(e.to_string())),
            None => Message::TermEnded(None),
        };
        let end = matches!(m, Message::TermEnded(_));
        if tx.send(m).await.is_err() || end {
            return;
        }
    }
}

use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, eyre};
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use std::sync::Arc;

use crate::app::App;
use crate::app::keymap::Keymap;
use crate::collect;
use crate::config::Config;
use crate::config::login::Logins;
use crate::runbook::EngineCtx;
use crate::ui::theme::{self, Theme};
use runner::Runner;

/// Opens the full-screen console on `cfg` and runs until the user quits.
pub fn run_console(cfg: Config, source: &str) -> Result<()> {
    // Credentials first: a password command may prompt on the terminal.
    let logins = Logins::resolve(&cfg).map_err(|e| eyre!(e))?;
    let user_dir = crate::config::paths::config_dir();
    let theme_name = cfg.theme.clone().unwrap_or_else(|| "default".into());
    let theme =
        Theme::load(&theme_name, user_dir.as_deref(), theme::color_enabled()).map_err(|e| eyre!("theme: {e}"))?;
    let keymap = Keymap::load(user_dir.as_deref()).map_err(|e| eyre!("keymap: {e}"))?;
    crate::logging::init_file();
    tracing::info!(config = source, nodes = cfg.nodes.len(), read_only = cfg.read_only, "console starting");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(console_loop(cfg, logins, theme, keymap, source.to_string()))
}

async fn console_loop(cfg: Config, logins: Logins, theme: Theme, keymap: Keymap, source: String) -> Result<()> {
    let (tx, mut rx) = mpsc::channel::<Message>(1024);
    let poll_now = collect::spawn_all(&cfg, &logins, &tx).map_err(|e| eyre!(e))?;
    let mut app = App::new(&cfg, source);
    app.help = keymap.help();
    app.hints = keymap.status_hints();
    let cfg = Arc::new(cfg);
    let mut ctx = EngineCtx::new(cfg.clone(), Arc::new(logins)).map_err(|e| eyre!(e))?;
    ctx.read_only |= app.read_only;
    let config_path = std::path::PathBuf::from(&app.source);
    let runner = Runner::new(cfg, Arc::new(ctx), tx.clone(), poll_now, &config_path);
    runner.resume_wizard(&mut app);
    let mut terminal = terminal::enter()?;
    if let Ok(size) = terminal.size() {
        app.screen = (size.width, size.height);
    }
    let input = tokio::spawn(forward_terminal(tx));
    let mut trace = FrameTrace::from_env();
    // Samples of one poll round arrive within a few milliseconds of each other (the collectors
    // poll on the same ticks): they are drawn together, at most this long after the first.
    let gather = (app.data.interval / 4).min(Duration::from_millis(150));
    let result = async {
        // Time alone changes only staleness; check it once a second and redraw if it changed.
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut healths = app.data.healths(Instant::now());
        let mut panes = crate::ui::PaneCache::default();
        let t = Instant::now();
        terminal.draw(|f| crate::ui::render(f, &app, &theme, t, &mut panes))?;
        trace.frame();
        // When a sample changed the screen: draw by then (keys draw at once).
        let mut pending: Option<Instant> = None;
        loop {
            let wake = pending.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            let mut redraw = tokio::select! {
                Some(m) = rx.recv() => handle(&mut app, &keymap, &runner, m, &mut trace)?,
                _ = tick.tick() => Redraw::No,
                _ = tokio::time::sleep_until(wake.into()), if pending.is_some() => Redraw::No,
            };
            // Fold in every message already waiting (samples, task reports, keys), then draw once.
            while let Ok(m) = rx.try_recv() {
                redraw = redraw.max(handle(&mut app, &keymap, &runner, m, &mut trace)?);
            }
            if app.should_quit() {
                return Ok(());
            }
            let now = Instant::now();
            let h = app.data.healths(now);
            if h != healths {
                healths = h;
                redraw = redraw.max(Redraw::Now);
            }
            if redraw == Redraw::Soon && pending.is_none() {
                pending = Some(now + gather);
            }
            if redraw == Redraw::Now || pending.is_some_and(|p| now >= p) {
                terminal.draw(|f| crate::ui::render(f, &app, &theme, now, &mut panes))?;
                trace.frame();
                pending = None;
            }
        }
    }
    .await;
    input.abort();
    terminal::leave();
    result
}

/// Whether and when a message makes the screen be drawn again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Redraw {
    No,
    /// A sample changed it: drawn with the rest of its poll round.
    Soon,
    /// A key, a resize or a task's report: drawn at once.
    Now,
}

impl Redraw {
    fn at_once(dirty: bool) -> Redraw {
        if dirty { Redraw::Now } else { Redraw::No }
    }
}

/// With `RINGDECK_FRAME_TRACE=<file>`: one line per key received and per frame drawn, with the
/// time in microseconds since the epoch (`make bench` reads it for key-to-frame latency and
/// frames at rest). Off otherwise, at no cost.
struct FrameTrace(Option<std::io::BufWriter<std::fs::File>>);

impl FrameTrace {
    fn from_env() -> FrameTrace {
        let file = std::env::var_os("RINGDECK_FRAME_TRACE").and_then(|p| std::fs::File::create(p).ok());
        FrameTrace(file.map(std::io::BufWriter::new))
    }

    fn line(&mut self, what: &str) {
        use std::io::Write;
        if let Some(w) = &mut self.0 {
            let us = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_micros();
            let _ = writeln!(w, "{what} {us}");
        }
    }

    fn key(&mut self) {
        self.line("key");
    }

    fn frame(&mut self) {
        use std::io::Write;
        self.line("frame");
        if let Some(w) = &mut self.0 {
            let _ = w.flush();
        }
    }
}

/// Folds one message into the state and performs the requests it made (planning, live checks
/// and steps run off this task; their results come back as messages). Says when the screen must
/// be redrawn; an error ends the console.
fn handle(app: &mut App, keymap: &Keymap, runner: &Runner, m: Message, trace: &mut FrameTrace) -> Result<Redraw> {
    let redraw = match m {
        Message::Sample(u) => {
            if app.apply(u) {
                Redraw::Soon
            } else {
                Redraw::No
            }
        }
        Message::Task(ev) => Redraw::at_once(runner.apply(app, ev)),
        Message::Term(Event::Key(k)) if k.kind != KeyEventKind::Release => {
            trace.key();
            Redraw::at_once(if app.dialog.is_some() {
                app.dialog_key(&k)
            } else if app.wizard.as_ref().is_some_and(|w| w.visible) {
                app.wizard_key(&k)
            } else {
                let had_message = app.message.take().is_some();
                keymap.action_for(&k).is_some_and(|a| app.act(a)) || had_message
            })
        }
        Message::Term(Event::Resize(w, h)) => {
            app.screen = (w, h);
            Redraw::Now
        }
        Message::Term(_) => Redraw::No,
        Message::TermEnded(Some(e)) => return Err(eyre!("terminal input: {e}")),
        Message::TermEnded(None) => {
            app.quit = true;
            Redraw::No
        }
    };
    runner.perform(app);
    Ok(redraw)
}
