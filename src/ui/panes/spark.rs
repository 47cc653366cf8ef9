//! Sparklines that keep gaps: a missing sample is drawn as a mark, never as a zero bar.

use ratatui::style::Style;
use ratatui::text::Span;

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// One character per point, scaled to `max` (or the points' own maximum); gaps as `gap`.
pub fn spark(points: &[Option<f64>], max: Option<f64>, style: Style, gap_style: Style) -> Vec<Span<'static>> {
    let top = max.unwrap_or_else(|| points.iter().flatten().copied().fold(0.0, f64::max));
    points
        .iter()
        .map(|p| match p {
            Some(v) => {
                let i = if top <= 0.0 { 0 } else { ((v / top) * 7.0).round().clamp(0.0, 7.0) as usize };
                Span::styled(BARS[i].to_string(), style)
            }
            None => Span::styled("×", gap_style),
        })
        .collect()
}
