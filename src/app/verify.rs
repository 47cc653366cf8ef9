//! The console side of `verify`: the `V` key and `:verify` ask the loop to run one (it only reads,
//! so read-only mode allows it), its progress shows in the status line, and the result opens in a
//! scrollable overlay. Pure state and key handling; the overlay's layout math is here so the key
//! handler and the drawing agree on how far it scrolls.

use crossterm::event::{KeyCode, KeyEvent};

use super::repairview::{Mode, RepairPane};
use crate::verify::{Report, Tone};

/// A verify in progress, or a finished one not shown yet.
#[derive(Clone, Debug, Default)]
pub struct VerifyRun {
    /// The running verify's id and its latest progress line.
    pub running: Option<(u64, String)>,
    /// A result that arrived while another dialog was open (`V` shows it).
    pub unseen: Option<Box<VerifyView>>,
}

/// The result overlay.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifyView {
    /// All equal (green) or not (red).
    pub equal: bool,
    pub title: String,
    pub lines: Vec<(Tone, String)>,
    /// First wrapped row shown.
    pub scroll: usize,
    /// The repair of the differing keys, when the verify listed any.
    pub repair: Option<RepairPane>,
}

impl VerifyView {
    pub fn new(result: &Result<Report, crate::verify::VerifyError>) -> VerifyView {
        match result {
            Ok(r) => VerifyView {
                equal: r.equal,
                title: format!("verify: {}", if r.equal { "all equal" } else { "NOT equal" }),
                lines: crate::verify::lines(r),
                scroll: 0,
                repair: None,
            },
            Err(e) => VerifyView {
                equal: false,
                title: "verify: could not run".into(),
                lines: vec![(Tone::Crit, format!("verify could not run: {e}"))],
                scroll: 0,
                repair: None,
            },
        }
    }

    /// The report's lines, then the repair's; and the index of the selected key's line.
    pub fn all_lines(&self) -> (Vec<(Tone, String)>, Option<usize>) {
        let mut out = self.lines.clone();
        let mut sel = None;
        if let Some(r) = &self.repair {
            let (more, s) = r.lines();
            sel = s.map(|s| s + out.len());
            out.extend(more);
        }
        (out, sel)
    }

    /// Scrolls so that the selected key's line is in view on a screen of this size.
    pub(crate) fn follow_selection(&mut self, screen: (u16, u16)) {
        let (lines, Some(sel)) = self.all_lines() else { return };
        let (w, h) = overlay_size(self, screen);
        let (inner_w, inner_h) = (w.saturating_sub(2) as usize, h.saturating_sub(2) as usize);
        let row: usize = lines[..sel].iter().map(|(_, l)| wrap(l, inner_w).len()).sum();
        // The selected key and the versions under it.
        let tail = 4.min(inner_h.saturating_sub(1));
        if row < self.scroll {
            self.scroll = row;
        } else if row + tail >= self.scroll + inner_h {
            self.scroll = (row + tail + 1).saturating_sub(inner_h);
        }
    }

    /// The repair pane of verify `id`, if this view has it.
    pub fn repair_of(&mut self, id: u64) -> Option<&mut RepairPane> {
        self.repair.as_mut().filter(|r| r.id == id)
    }

    /// The repair pane whose repair `run` is running.
    pub fn running_repair(&mut self, run: u64) -> Option<&mut RepairPane> {
        self.repair.as_mut().filter(|r| matches!(r.mode, Mode::Running { id, .. } if id == run))
    }
}

/// The overlay's outer size on a `(width, height)` screen: nearly all of it (at most 140 wide),
/// or less high when the text is short.
pub fn overlay_size(view: &VerifyView, screen: (u16, u16)) -> (u16, u16) {
    overlay_size_of(&view.all_lines().0, screen)
}

/// [`overlay_size`] for any overlay's lines (the inspector's too).
pub fn overlay_size_of(lines: &[(Tone, String)], screen: (u16, u16)) -> (u16, u16) {
    let (w, h) = if screen.0 == 0 || screen.1 == 0 { (80, 24) } else { screen };
    let w = w.saturating_sub(4).clamp(20, 140);
    let inner = w.saturating_sub(2) as usize;
    let rows: usize = lines.iter().map(|(_, l)| wrap(l, inner).len()).sum();
    let h = h.saturating_sub(2).min(u16::try_from(rows + 2).unwrap_or(u16::MAX)).max(5);
    (w, h)
}

/// The largest useful scroll of these lines in an overlay on a screen of this size.
pub fn max_scroll_of(lines: &[(Tone, String)], screen: (u16, u16)) -> usize {
    let (w, h) = overlay_size_of(lines, screen);
    let (inner_w, inner_h) = (w.saturating_sub(2) as usize, h.saturating_sub(2) as usize);
    let rows: usize = lines.iter().map(|(_, l)| wrap(l, inner_w).len()).sum();
    rows.saturating_sub(inner_h)
}

/// A scrolling key for an overlay: the new scroll, or `None` when it is not one.
pub fn scroll_key(ev: &KeyEvent, scroll: usize, max: usize, page: usize) -> Option<usize> {
    Some(match ev.code {
        KeyCode::Down | KeyCode::Char('j') => (scroll + 1).min(max),
        KeyCode::Up | KeyCode::Char('k') => scroll.saturating_sub(1),
        KeyCode::PageDown | KeyCode::Char(' ') => (scroll + page).min(max),
        KeyCode::PageUp => scroll.saturating_sub(page),
        KeyCode::Home | KeyCode::Char('g') => 0,
        KeyCode::End | KeyCode::Char('G') => max,
        _ => return None,
    })
}

/// `text` cut into rows of at most `width` characters (an empty text is one empty row).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars.chunks(width.max(1)).map(|c| c.iter().collect()).collect()
}

/// The largest useful scroll on a screen of this size.
pub fn max_scroll(view: &VerifyView, screen: (u16, u16)) -> usize {
    max_scroll_of(&view.all_lines().0, screen)
}
