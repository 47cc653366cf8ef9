//! Drawing a verify's result: a large overlay, green border and headline when all is equal, red
//! when not, the differences per table, chunk and key, scrolled by `App::verify_key`.

use ratatui::Frame;

use super::theme::Theme;
use super::widgets::{boxed, overlay};
use crate::app::repairview::Mode;
use crate::app::verify::VerifyView;

/// Draws the overlay over the whole console.
pub fn draw(f: &mut Frame, v: &VerifyView, t: &Theme) {
    let keys = match v.repair.as_ref().and_then(|r| r.plan()).filter(|p| !p.cases.is_empty()) {
        Some(_) => " j/k: key  p: version  P: repair  pgup/pgdn g/G: scroll  esc: close ",
        None => " j/k pgup/pgdn g/G: scroll  esc: close ",
    };
    let border = if v.equal { t.ok } else { t.crit };
    let w = overlay(f, &v.title, border, &v.all_lines().0, v.scroll, keys, t);
    if let Some(r) = &v.repair
        && let Some((title, lines)) = r.popup()
    {
        let buttons = match &r.mode {
            Mode::Confirm { run_focused, .. } => Some((*run_focused, r.can_run())),
            _ => None,
        };
        boxed(f, &title, &lines, w, buttons, t);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::app::App;
    use crate::app::dialog::Dialog;
    use crate::config::Config;
    use crate::verify::Tone;

    fn screen(app: &App, w: u16, h: u16) -> String {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| crate::ui::render(f, app, &Theme::builtin(false), Instant::now(), &mut Default::default()))
            .unwrap();
        let buf = term.backend().buffer().clone();
        (0..h).map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>() + "\n").collect()
    }

    fn view(n: usize) -> VerifyView {
        let mut lines =
            vec![(Tone::Crit, "ringdeck verify: DIFFERENCES - 1 of 1 table(s) not equal: app.posts".into())];
        lines.extend((0..n).map(|i| (Tone::Plain, format!("line {i}"))));
        lines.push((Tone::Plain, "      app.posts id 900003: node1 missing, node2 missing, node3 has it".into()));
        VerifyView { equal: false, title: "verify: NOT equal".into(), lines, scroll: 0, repair: None }
    }

    #[test]
    fn overlay_shows_the_result_and_scrolls() {
        let cfg =
            Config::parse("[[node]]\nname = \"node1\"\nhost = \"h\"\nport = 1\n", std::path::Path::new("t")).unwrap();
        let mut app = App::new(&cfg, "t.toml");
        app.dialog = Some(Dialog::Verify(view(3)));
        let s = screen(&app, 100, 30);
        assert!(s.contains("╔ verify: NOT equal ═"), "{s}");
        assert!(s.contains("app.posts id 900003: node1 missing, node2 missing, node3 has it"), "{s}");
        assert!(!s.contains("1-5 of 5"), "short: no position shown\n{s}");
        // Long: the end is reached by scrolling, and the position shows.
        let mut v = view(60);
        v.scroll = usize::MAX;
        app.dialog = Some(Dialog::Verify(v));
        let s = screen(&app, 100, 30);
        assert!(s.contains("node3 has it"), "{s}");
        assert!(s.contains(" 37-62 of 62 "), "{s}");
        assert!(!s.contains("DIFFERENCES"), "the top scrolled away\n{s}");
    }

    #[test]
    fn status_line_shows_progress() {
        let cfg =
            Config::parse("[[node]]\nname = \"node1\"\nhost = \"h\"\nport = 1\n", std::path::Path::new("t")).unwrap();
        let mut app = App::new(&cfg, "t.toml");
        app.verify.running = Some((1, "CHECKSUM TABLE app.posts (1/3)".into()));
        let s = screen(&app, 100, 30);
        assert!(s.lines().last().unwrap_or("").contains("verify: CHECKSUM TABLE app.posts (1/3) …"), "{s}");
    }
}
