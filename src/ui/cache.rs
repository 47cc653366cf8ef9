//! Panes kept between frames: each pane's drawn cells, by the fingerprint of what it was drawn
//! from ([`super::fingerprint`]). A pane whose fingerprint did not change is copied instead of
//! rebuilt: at rest the ring pane (its data did not change), on a key the panes it did not touch.
//! A pane that changed on each of its last two frames (HAProxy, Apache and the probes at rest:
//! every poll changes them) is not copied out after drawing: it would change again with the next
//! poll. It is kept again from the first frame that finds it unchanged (the first key).
//!
//! A debug build draws every pane anyway and checks each would-be hit against the fresh drawing:
//! a fingerprint that misses something the pane shows fails every test that draws it.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::app::action::Pane;

/// What one pane was last drawn from, and its cells when they were kept.
#[derive(Default)]
struct Slot {
    key: Option<u64>,
    /// The cells drawn from `key` (none while the pane keeps changing).
    cells: Option<Buffer>,
    /// The key changed on the frame before too.
    changing: bool,
}

/// The kept panes of one screen.
pub struct PaneCache {
    slots: [Slot; 5],
    /// Draw every pane and compare with the kept one instead of copying it (debug builds).
    check: bool,
    /// Panes copied (or, checking, that matched) and panes drawn.
    pub hits: u64,
    pub misses: u64,
}

impl Default for PaneCache {
    fn default() -> Self {
        PaneCache::new(cfg!(debug_assertions))
    }
}

impl PaneCache {
    /// `check`: draw every pane and assert that a kept one would have been the same.
    pub fn new(check: bool) -> PaneCache {
        PaneCache { slots: Default::default(), check, hits: 0, misses: 0 }
    }

    /// Puts `pane` on `area` of the frame: the kept cells when `key` matches them, else what
    /// `draw` draws (then kept under `key`, unless the pane keeps changing).
    pub fn pane(&mut self, f: &mut Frame, pane: Pane, area: Rect, key: u64, draw: impl FnOnce(&mut Frame)) {
        let slot = &mut self.slots[pane.index()];
        let same = slot.key == Some(key);
        if same {
            slot.changing = false;
        }
        match slot.cells.as_ref().filter(|c| same && c.area == area) {
            Some(cells) if !self.check => {
                self.hits += 1;
                copy(cells, f.buffer_mut(), area);
            }
            Some(cells) => {
                self.hits += 1;
                draw(f);
                let mut fresh = None;
                capture(&mut fresh, f.buffer_mut(), area);
                if let Some(fresh) = fresh.filter(|f| f != cells) {
                    panic!(
                        "pane cache: the {} pane changed while its fingerprint did not (it misses an input):\n{}",
                        pane.title(),
                        first_difference(cells, &fresh)
                    );
                }
            }
            None => {
                self.misses += 1;
                draw(f);
                let changing = !same && slot.key.is_some();
                if changing && slot.changing {
                    slot.cells = None;
                } else {
                    capture(&mut slot.cells, f.buffer_mut(), area);
                }
                (slot.key, slot.changing) = (Some(key), changing);
            }
        }
    }
}

/// Copies the cells of `area` (inside `buf`'s own area) into `into`, in place when it has that
/// area already.
fn capture(into: &mut Option<Buffer>, buf: &Buffer, area: Rect) {
    let area = area.intersection(buf.area);
    let w = area.width as usize;
    let rows = (area.top()..area.bottom()).map(|y| buf.index_of(area.x, y));
    match into {
        Some(out) if out.area == area => {
            for (k, from) in rows.enumerate() {
                out.content[k * w..(k + 1) * w].clone_from_slice(&buf.content[from..from + w]);
            }
        }
        _ => {
            let mut content = Vec::with_capacity(area.area() as usize);
            rows.for_each(|from| content.extend_from_slice(&buf.content[from..from + w]));
            *into = Some(Buffer { area, content });
        }
    }
}

/// The first row that differs, kept and drawn (text only: a change of style alone shows twice
/// the same text).
fn first_difference(kept: &Buffer, fresh: &Buffer) -> String {
    let area = kept.area;
    let row = |b: &Buffer, y: u16| (area.left()..area.right()).map(|x| b[(x, y)].symbol()).collect::<String>();
    let y = (area.top()..area.bottom())
        .find(|&y| (area.left()..area.right()).any(|x| kept[(x, y)] != fresh[(x, y)]))
        .unwrap_or(area.top());
    format!("kept:  {}\ndrawn: {}", row(kept, y), row(fresh, y))
}

/// Copies the kept cells onto the same area of `buf`.
fn copy(kept: &Buffer, buf: &mut Buffer, area: Rect) {
    let area = area.intersection(buf.area).intersection(kept.area);
    for y in area.top()..area.bottom() {
        let (from, to) = (kept.index_of(area.x, y), buf.index_of(area.x, y));
        let w = area.width as usize;
        buf.content[to..to + w].clone_from_slice(&kept.content[from..from + w]);
    }
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::widgets::Paragraph;

    use super::*;

    fn frame(cache: &mut PaneCache, key: u64, text: &str) -> String {
        let mut term = Terminal::new(TestBackend::new(12, 2)).unwrap();
        let area = Rect::new(0, 0, 12, 1);
        term.draw(|f| cache.pane(f, Pane::Ring, area, key, |f| f.render_widget(Paragraph::new(text), area))).unwrap();
        let buf = term.backend().buffer().clone();
        (0..12).map(|x| buf[(x, 0)].symbol()).collect()
    }

    #[test]
    fn a_kept_pane_is_copied_until_its_key_changes() {
        let mut c = PaneCache::new(false);
        assert_eq!(frame(&mut c, 1, "first"), "first       ");
        assert_eq!(frame(&mut c, 1, "second"), "first       ", "same key: the kept cells");
        assert_eq!(frame(&mut c, 2, "second"), "second      ");
        assert_eq!((c.hits, c.misses), (1, 2));
    }

    #[test]
    fn a_pane_that_keeps_changing_is_kept_again_once_it_holds() {
        let mut c = PaneCache::new(false);
        frame(&mut c, 1, "a");
        frame(&mut c, 2, "b");
        assert_eq!(frame(&mut c, 3, "c"), "c           ", "changed twice: drawn, not kept");
        assert!(c.slots[0].cells.is_none());
        assert_eq!(frame(&mut c, 3, "c"), "c           ", "unchanged: drawn once more and kept");
        assert_eq!(frame(&mut c, 3, "stale"), "c           ", "then copied");
        assert_eq!((c.hits, c.misses), (1, 4));
    }

    #[test]
    #[should_panic(expected = "the Replication ring pane changed while its fingerprint did not")]
    fn checking_catches_a_fingerprint_that_misses_an_input() {
        let mut c = PaneCache::new(true);
        frame(&mut c, 1, "first");
        frame(&mut c, 1, "second");
    }
}
