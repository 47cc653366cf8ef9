//! The help overlay, generated from the keymap table that dispatches keys (see `Keymap::help`).

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::theme::Theme;

/// Draws `(keys, description)` lines in a centred popup.
pub fn draw(f: &mut Frame, theme: &Theme, help: &[(String, String)]) {
    let lines: Vec<Line> = help
        .iter()
        .map(|(keys, desc)| {
            Line::from(vec![Span::styled(format!("{keys:>16}  "), theme.label), Span::raw(desc.clone())])
        })
        .collect();
    let height = (lines.len() as u16 + 2).min(f.area().height);
    let [area] = Layout::vertical([Constraint::Length(height)]).flex(Flex::Center).areas(f.area());
    let [area] = Layout::horizontal([Constraint::Length(64.min(f.area().width))]).flex(Flex::Center).areas(area);
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(" keys (? or esc to close) ").border_style(theme.border_focused)),
        area,
    );
}
