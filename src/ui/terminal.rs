//! Error and panic hooks. color-eyre's hooks go in before the terminal is put in raw mode;
//! `ratatui::try_init` then wraps the panic hook so the terminal is restored before any report.
//! A panic is also written to `$XDG_STATE_HOME/ringdeck/panic-<time>.txt` (message, place,
//! backtrace; never a secret: `Secret` does not format), so a crash in a pane that was cleared
//! afterwards still leaves its report behind.

use std::io::Write;

use color_eyre::eyre::Result;

/// Installs color-eyre's error and panic reports, and the report file.
pub fn install_hooks() -> Result<()> {
    let (panic_hook, eyre_hook) = color_eyre::config::HookBuilder::default().display_env_section(false).into_hooks();
    eyre_hook.install()?;
    let panic_hook = panic_hook.into_panic_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Some(path) = write_report(info) {
            eprintln!("ringdeck: the crash report is in {}", path.display());
        }
        panic_hook(info);
    }));
    Ok(())
}

/// Writes the panic's report to the state dir; `None` when it cannot.
fn write_report(info: &std::panic::PanicHookInfo<'_>) -> Option<std::path::PathBuf> {
    let dir = crate::config::paths::state_dir()?;
    let now = std::time::SystemTime::now();
    let stamp = crate::runbook::audit::rfc3339(now).replace(':', "-");
    let path = dir.join(format!("panic-{stamp}.txt"));
    let mut f = crate::statefile::open_private_append(&path).ok()?;
    let bt = std::backtrace::Backtrace::force_capture();
    writeln!(f, "ringdeck {} panicked at {}", env!("CARGO_PKG_VERSION"), crate::runbook::audit::rfc3339(now)).ok()?;
    writeln!(f, "{info}\n\n{bt}").ok()?;
    Some(path)
}
