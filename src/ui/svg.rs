//! Renders a drawn terminal buffer as an SVG image (monospace text on cells), so screenshots of real
//! lab states come from the program itself, never from a drawing.

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

const CELL_W: f64 = 8.4;
const CELL_H: f64 = 17.0;
const DEFAULT_FG: &str = "#d0d0d0";
const DEFAULT_BG: &str = "#1c1c1c";

/// The xterm colour of a ratatui colour; `None` for the terminal default.
fn hex(c: Color) -> Option<String> {
    const BASE: [&str; 16] = [
        "#000000", "#cd3131", "#0dbc79", "#e5e510", "#2472c8", "#bc3fbc", "#11a8cd", "#e5e5e5", "#666666", "#f14c4c",
        "#23d18b", "#f5f543", "#3b8eea", "#d670d6", "#29b8db", "#ffffff",
    ];
    let idx = |i: usize| Some(BASE[i].to_string());
    match c {
        Color::Reset => None,
        Color::Black => idx(0),
        Color::Red => idx(1),
        Color::Green => idx(2),
        Color::Yellow => idx(3),
        Color::Blue => idx(4),
        Color::Magenta => idx(5),
        Color::Cyan => idx(6),
        Color::Gray => idx(7),
        Color::DarkGray => idx(8),
        Color::LightRed => idx(9),
        Color::LightGreen => idx(10),
        Color::LightYellow => idx(11),
        Color::LightBlue => idx(12),
        Color::LightMagenta => idx(13),
        Color::LightCyan => idx(14),
        Color::White => idx(15),
        Color::Rgb(r, g, b) => Some(format!("#{r:02x}{g:02x}{b:02x}")),
        Color::Indexed(i) if i < 16 => idx(i as usize),
        Color::Indexed(i) if i >= 232 => {
            let v = 8 + (i - 232) as u32 * 10;
            Some(format!("#{v:02x}{v:02x}{v:02x}"))
        }
        Color::Indexed(i) => {
            let i = i - 16;
            let level = |x: u8| if x == 0 { 0 } else { 55 + x as u32 * 40 };
            Some(format!("#{:02x}{:02x}{:02x}", level(i / 36), level((i / 6) % 6), level(i % 6)))
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The buffer as a standalone SVG document.
pub fn to_svg(buf: &Buffer) -> String {
    let (w, h) = (buf.area.width, buf.area.height);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0}\" height=\"{:.0}\" font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" font-size=\"14\">\n<rect width=\"100%\" height=\"100%\" fill=\"{DEFAULT_BG}\"/>\n",
        w as f64 * CELL_W,
        h as f64 * CELL_H
    );
    for y in 0..h {
        let mut x = 0;
        while x < w {
            let cell = &buf[(x, y)];
            let reversed = cell.modifier.contains(Modifier::REVERSED);
            let (mut fg, mut bg) = (hex(cell.fg).unwrap_or(DEFAULT_FG.into()), hex(cell.bg));
            if reversed {
                let old_fg = fg.clone();
                fg = bg.unwrap_or(DEFAULT_BG.into());
                bg = Some(old_fg);
            }
            let (px, py) = (x as f64 * CELL_W, y as f64 * CELL_H);
            if let Some(bg) = &bg {
                out.push_str(&format!(
                    "<rect x=\"{px:.1}\" y=\"{py:.1}\" width=\"{:.1}\" height=\"{CELL_H}\" fill=\"{bg}\"/>\n",
                    CELL_W + 0.5
                ));
            }
            let sym = cell.symbol();
            if !sym.trim().is_empty() {
                let mut attrs = format!("x=\"{px:.1}\" y=\"{:.1}\" fill=\"{fg}\"", py + CELL_H * 0.78);
                if cell.modifier.contains(Modifier::BOLD) {
                    attrs.push_str(" font-weight=\"bold\"");
                }
                if cell.modifier.contains(Modifier::DIM) {
                    attrs.push_str(" opacity=\"0.6\"");
                }
                if cell.modifier.contains(Modifier::ITALIC) {
                    attrs.push_str(" font-style=\"italic\"");
                }
                if cell.modifier.contains(Modifier::UNDERLINED) {
                    attrs.push_str(" text-decoration=\"underline\"");
                }
                out.push_str(&format!("<text {attrs}>{}</text>\n", escape(sym)));
            }
            x += 1;
        }
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    #[test]
    fn text_and_colours_become_svg() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 6, 1));
        buf.set_string(0, 0, "a<b", Style::default().fg(Color::Green).add_modifier(Modifier::BOLD));
        let svg = to_svg(&buf);
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("&lt;"));
        assert!(svg.contains("#0dbc79"));
        assert!(svg.contains("font-weight=\"bold\""));
        assert_eq!(hex(Color::Indexed(196)).as_deref(), Some("#ff0000"));
    }
}
