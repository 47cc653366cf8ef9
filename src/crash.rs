//! What a panic does. Outside a collector: the terminal is restored (when the console had it),
//! color-eyre prints its report, and the report is also written to
//! `$XDG_STATE_HOME/ringdeck/panic-<time>.txt` (message, place, backtrace; never a secret:
//! `Secret` does not format), so a crash in a pane that was cleared afterwards leaves its report.
//!
//! Inside a collector's poll ([`Contained`]) a panic must not take the console down nor restore
//! the terminal under a running UI: only the report file is written (a few per run, not one per
//! poll), and the collector turns the panic into an error shown on its target.

use std::cell::Cell;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::task::{Context, Poll};

use color_eyre::eyre::Result;

/// Set while the console has the terminal in raw mode on the alternate screen.
static TERMINAL_ACTIVE: AtomicBool = AtomicBool::new(false);
/// Report files written for contained panics, so a collector panicking every poll writes a few.
static CONTAINED_REPORTS: AtomicU32 = AtomicU32::new(0);
const MAX_CONTAINED_REPORTS: u32 = 3;

thread_local! {
    /// True while this thread polls a [`Contained`] future.
    static IN_CONTAINED: Cell<bool> = const { Cell::new(false) };
}

/// Installs color-eyre's error and panic reports, the report file and the terminal restore.
/// Call once, before the terminal is put in raw mode.
pub fn install_hooks() -> Result<()> {
    let (panic_hook, eyre_hook) = color_eyre::config::HookBuilder::default().display_env_section(false).into_hooks();
    eyre_hook.install()?;
    let panic_hook = panic_hook.into_panic_hook();
    std::panic::set_hook(Box::new(move |info| {
        if IN_CONTAINED.with(Cell::get) {
            if CONTAINED_REPORTS.fetch_add(1, Ordering::Relaxed) < MAX_CONTAINED_REPORTS {
                let _ = write_report(info);
            }
            return;
        }
        if TERMINAL_ACTIVE.swap(false, Ordering::SeqCst) {
            ratatui::restore();
        }
        if let Some(path) = write_report(info) {
            eprintln!("ringdeck: the crash report is in {}", path.display());
        }
        panic_hook(info);
    }));
    Ok(())
}

/// Records whether the console holds the terminal (the panic hook restores it only then).
pub fn set_terminal_active(active: bool) {
    TERMINAL_ACTIVE.store(active, Ordering::SeqCst);
}

/// Writes the panic's report to the state dir; `None` when it cannot.
fn write_report(info: &std::panic::PanicHookInfo<'_>) -> Option<std::path::PathBuf> {
    let dir = crate::config::paths::state_dir()?;
    let now = std::time::SystemTime::now();
    let stamp = crate::fmt::rfc3339(now).replace(':', "-");
    let path = dir.join(format!("panic-{stamp}.txt"));
    let mut f = crate::statefile::open_private_append(&path).ok()?;
    let bt = std::backtrace::Backtrace::force_capture();
    writeln!(f, "ringdeck {} panicked at {}", env!("CARGO_PKG_VERSION"), crate::fmt::rfc3339(now)).ok()?;
    writeln!(f, "{info}\n\n{bt}").ok()?;
    Some(path)
}

/// A future whose panics are the caller's to handle (with `catch_unwind`): while it is polled,
/// the panic hook only writes the report file.
pub struct Contained<F>(Pin<Box<F>>);

impl<F: Future> Contained<F> {
    pub fn new(f: F) -> Self {
        Contained(Box::pin(f))
    }
}

impl<F: Future> Future for Contained<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        struct Reset(bool);
        impl Drop for Reset {
            fn drop(&mut self) {
                IN_CONTAINED.with(|c| c.set(self.0));
            }
        }
        let _reset = Reset(IN_CONTAINED.with(|c| c.replace(true)));
        self.0.as_mut().poll(cx)
    }
}

/// The message of a caught panic's payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}
