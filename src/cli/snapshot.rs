//! `ringdeck snapshot`: polls every target like the console does until each has answered a few
//! times (or a deadline passes), then renders one frame to text or SVG. Screenshots in
//! `screenshots/` are made with it from real lab states.

use std::path::Path;
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, eyre};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

use crate::app::App;
use crate::app::action::{Action, Pane};
use crate::collect::{self, TargetId};
use crate::config::Config;
use crate::config::login::Logins;
use crate::ui::theme::{self, Theme};

/// What to capture.
pub struct SnapshotOpts<'a> {
    pub width: u16,
    pub height: u16,
    /// Polls every target must have answered (or failed) before the frame is taken.
    pub polls: u32,
    pub focus: Option<Pane>,
    pub zoom: bool,
    /// Show the recovery wizard over the panes.
    pub recover: bool,
    /// Run a verify and plan its repair, and show the overlay.
    pub verify: bool,
    /// Show the conflict inspector.
    pub inspect: bool,
    /// Keys pressed before the frame is taken (one character each).
    pub keys: &'a str,
    pub out: Option<&'a Path>,
}

/// Runs the collectors, renders once, and writes SVG (for `.svg` paths) or plain text.
pub fn run(cfg: Config, source: &str, o: &SnapshotOpts) -> Result<()> {
    let cfg_for_wizard = cfg.clone();
    let logins = Logins::resolve(&cfg).map_err(|e| eyre!(e))?;
    let theme_name = cfg.theme.clone().unwrap_or_else(|| "default".into());
    let user_dir = crate::config::paths::config_dir();
    let color = theme::color_enabled();
    let theme = Theme::load(&theme_name, user_dir.as_deref(), color).map_err(|e| eyre!("theme: {e}"))?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let app = rt.block_on(async {
        let (tx, mut rx) = mpsc::channel::<collect::Update>(1024);
        collect::spawn_all(&cfg, &logins, &tx).map_err(|e| eyre!(e))?;
        drop(tx);
        let mut app = App::new(&cfg, source);
        let targets = cfg.nodes.len() + cfg.haproxies.len() + cfg.apaches.len() + cfg.effective_probes().len();
        let mut seen: std::collections::HashMap<TargetId, u32> = Default::default();
        let deadline =
            tokio::time::Instant::now() + cfg.poll_interval.0 * (o.polls + 1) + cfg.timeout.0 + Duration::from_secs(2);
        while seen.len() < targets || seen.values().any(|n| *n < o.polls) {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(u)) => {
                    *seen.entry(u.target()).or_default() += 1;
                    app.apply(u);
                }
                _ => break,
            }
        }
        Ok::<App, color_eyre::Report>(app)
    })?;
    let mut app = app;
    app.data.set_forks(crate::fork::load_for(&cfg_for_wizard));
    if o.verify {
        let report = rt.block_on(crate::verify::verify(&cfg_for_wizard, &logins, &Default::default(), None));
        app.verify.running = Some((0, String::new()));
        app.verify_done(0, report.clone());
        if let (Ok(r), true) =
            (&report, app.requests.iter().any(|q| matches!(q, crate::app::request::Request::PlanRepair { .. })))
        {
            let forks = crate::fork::load_for(&cfg_for_wizard).unwrap_or_default();
            let p = crate::repair::Prefer::Default;
            let plan = rt.block_on(crate::repair::prepare(
                &cfg_for_wizard,
                &logins,
                r,
                &p,
                crate::repair::DEFAULT_MAX_ROWS,
                &forks,
                None,
            ));
            app.repair_planned(0, plan);
        }
        app.requests.clear();
    }
    if o.inspect {
        app.open_inspector();
        if let Some(crate::app::request::Request::Inspect { id, node }) = app.requests.pop() {
            let r = rt.block_on(crate::inspect::conflict::inspect(
                &cfg_for_wizard,
                &logins,
                &node,
                cfg_for_wizard.timeout.0,
            ));
            app.inspected(id, r);
        }
        app.requests.clear();
    }
    if let Some(p) = o.focus {
        app.act(Action::Focus(p));
    }
    app.zoom = o.zoom;
    if o.recover {
        let w = crate::app::wizard::open(&cfg_for_wizard, std::path::Path::new(source), &app.data.nodes)
            .map_err(|e| eyre!(e))?;
        app.wizard = Some(w);
    }
    app.screen = (o.width, o.height);
    for c in o.keys.chars() {
        let ev =
            crossterm::event::KeyEvent::new(crossterm::event::KeyCode::Char(c), crossterm::event::KeyModifiers::NONE);
        if app.dialog.is_some() {
            app.dialog_key(&ev);
        }
    }
    let mut term = Terminal::new(TestBackend::new(o.width, o.height))?;
    let now = Instant::now();
    term.draw(|f| crate::ui::render(f, &app, &theme, now, &mut Default::default()))?;
    let buf = term.backend().buffer().clone();
    let text = match o.out {
        Some(p) if p.extension().is_some_and(|e| e == "svg") => crate::ui::svg::to_svg(&buf),
        _ => (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect::<String>().trim_end().to_string() + "\n"
            })
            .collect(),
    };
    match o.out {
        Some(p) => std::fs::write(p, text).map_err(|e| eyre!("{}: {e}", p.display()))?,
        None => print!("{text}"),
    }
    Ok(())
}
