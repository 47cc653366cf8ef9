//! The five panes. Each `draw` takes the pane's inner area and a [`Ctx`].

pub mod apache;
pub mod haproxy;
pub mod probes;
pub mod queries;
pub mod ring;
pub mod ring_graph;
pub mod spark;

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Theme;
use crate::app::App;

/// What every pane draws from.
pub struct Ctx<'a> {
    pub app: &'a App,
    pub theme: &'a Theme,
    pub now: Instant,
    pub focused: bool,
    pub selected: usize,
}

/// A one-line muted note, for empty panes ("no [[apache]] in the config").
pub fn note(f: &mut Frame, area: Rect, theme: &Theme, text: &str) {
    f.render_widget(Paragraph::new(Line::from(Span::styled(text.to_string(), theme.muted))), area);
}

/// The first row to show so that `selected` stays visible in `height` rows.
pub fn scroll_offset(selected: usize, height: usize) -> usize {
    if height == 0 { 0 } else { selected.saturating_sub(height - 1) }
}
