//! Taking and giving back the terminal: raw mode and the alternate screen. The panic hook
//! ([`crate::crash`]) restores the terminal when a panic ends the console, never for a panic a
//! collector contains, so ratatui's own restoring hook is not installed.

use ratatui::DefaultTerminal;
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{EnterAlternateScreen, enable_raw_mode};

/// Puts the terminal in raw mode on the alternate screen.
pub fn enter() -> std::io::Result<DefaultTerminal> {
    enable_raw_mode()?;
    crate::crash::set_terminal_active(true);
    execute!(std::io::stdout(), EnterAlternateScreen)?;
    ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(std::io::stdout()))
}

/// Gives the terminal back as it was.
pub fn leave() {
    crate::crash::set_terminal_active(false);
    ratatui::restore();
}
