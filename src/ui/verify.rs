//! Drawing a verify's result: a large overlay, green border and headline when all is equal, red
//! when not, the differences per table, chunk and key, scrolled by `App::verify_key`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};

use super::theme::Theme;
use crate::app::repairview::Mode;
use crate::app::verify::{VerifyView, overlay_size_of, wrap};
use crate::verify::Tone;

fn style(tone: Tone, t: &Theme) -> Style {
    match tone {
        Tone::Title => t.label,
        Tone::Ok => t.ok,
        Tone::Warn => t.warn,
        Tone::Crit => t.crit,
        Tone::Muted => t.muted,
        Tone::Plain => Style::default(),
    }
}

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

/// A large scrolling overlay of `lines` over the console (verify, inspector); returns its width.
pub(crate) fn overlay(
    f: &mut Frame,
    title: &str,
    border: Style,
    lines: &[(Tone, String)],
    scroll: usize,
    keys: &str,
    t: &Theme,
) -> u16 {
    let screen = f.area();
    let (w, h) = overlay_size_of(lines, (screen.width, screen.height));
    let (w, h) = (w.min(screen.width), h.min(screen.height));
    let [area] = Layout::vertical([Constraint::Length(h)]).flex(Flex::Center).areas(screen);
    let [area] = Layout::horizontal([Constraint::Length(w)]).flex(Flex::Center).areas(area);
    let inner_w = w.saturating_sub(2).max(1) as usize;
    let inner_h = h.saturating_sub(2) as usize;
    let rows: Vec<Line> = lines
        .iter()
        .flat_map(|(tone, text)| {
            let st = style(*tone, t);
            wrap(text, inner_w).into_iter().map(move |r| Line::from(Span::styled(r, st)))
        })
        .collect();
    let top = scroll.min(rows.len().saturating_sub(inner_h));
    let end = (top + inner_h).min(rows.len());
    let position =
        if rows.len() > inner_h { format!(" {}-{} of {} ", top + 1, end, rows.len()) } else { String::new() };
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(border)
        .title(Line::from(Span::styled(format!(" {title} "), border)))
        .title_bottom(Line::from(vec![Span::styled(keys.to_string(), t.muted), Span::styled(position, t.muted)]));
    f.render_widget(Clear, area);
    f.render_widget(Paragraph::new(rows[top..end].to_vec()).block(block), area);
    w
}

/// A box over an overlay (a confirm, a progress, a result), keeping its end in view; with
/// `buttons` (Run focused, Run allowed) the Cancel and Run buttons under it.
pub(crate) fn boxed(
    f: &mut Frame,
    title: &str,
    lines: &[(Tone, String)],
    width: u16,
    buttons: Option<(bool, bool)>,
    t: &Theme,
) {
    let inner = width.saturating_sub(8).max(20) as usize;
    let mut rows: Vec<Line> = lines
        .iter()
        .flat_map(|(tone, text)| {
            let st = style(*tone, t);
            wrap(text, inner).into_iter().map(move |l| Line::from(Span::styled(l, st)))
        })
        .collect();
    if let Some((run_focused, can_run)) = buttons {
        rows.push(Line::from(""));
        rows.push(super::dialog::buttons(run_focused, can_run, t));
    }
    let max_h = f.area().height.saturating_sub(4) as usize;
    if rows.len() > max_h {
        // Keep the end (the buttons, the latest progress) in view.
        rows.drain(..rows.len() - max_h);
    }
    let area = super::dialog::popup(f, &rows, width.saturating_sub(4));
    let block =
        Block::bordered().border_type(BorderType::Thick).border_style(t.border_focused).title(title.to_string());
    f.render_widget(Clear, area);
    f.render_widget(Paragraph::new(rows).block(block), area);
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

    fn screen(app: &App, w: u16, h: u16) -> String {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| crate::ui::render(f, app, &Theme::builtin(false), Instant::now())).unwrap();
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
