//! Drawing the conflict inspector: the event beside every node's row in a large overlay, and
//! over it the confirm box of a resolution (Enter or Esc cancel, `y` runs), its progress and
//! its result.

use ratatui::Frame;

use super::theme::Theme;
use super::widgets::{boxed, overlay};
use crate::app::inspectview::{InspectView, Stage};

pub fn draw(f: &mut Frame, v: &InspectView, read_only: bool, t: &Theme) {
    let area = f.area();
    let lines = v.lines(read_only, (area.width, area.height));
    let border = match v.stage {
        Stage::Failed(_) => t.crit,
        _ => t.warn,
    };
    let keys = " j/k pgup/pgdn g/G: scroll  esc: close ";
    let w = overlay(f, &format!("inspect {}", v.node), border, &lines, v.scroll, keys, t);
    if let Some((title, lines)) = v.popup(read_only) {
        boxed(f, &title, &lines, w, None, t);
    }
}
