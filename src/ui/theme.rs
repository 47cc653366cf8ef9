//! Themes: semantic styles (`ok`, `warn`, `crit`, `stale`, ...) loaded from TOML. The shipped
//! `themes/*.toml` are built in; a user file in `~/.config/ringdeck/themes/` overrides the styles it
//! names. `NO_COLOR` drops every colour and keeps weights, so meaning never rests on colour alone.

use std::collections::BTreeMap;
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

const SHIPPED: &[(&str, &str)] =
    &[("default", include_str!("../../themes/default.toml")), ("mono", include_str!("../../themes/mono.toml"))];

/// One style as written in a theme file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    dim: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underline: bool,
    #[serde(default)]
    reversed: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[serde(default)]
    style: BTreeMap<String, StyleSpec>,
}

/// The resolved theme.
#[derive(Clone, Debug)]
pub struct Theme {
    pub ok: Style,
    pub warn: Style,
    pub crit: Style,
    pub stale: Style,
    pub muted: Style,
    pub label: Style,
    pub title: Style,
    pub border: Style,
    pub border_focused: Style,
    pub selected: Style,
    pub header: Style,
    pub bar_busy: Style,
    pub bar_idle: Style,
    pub spark: Style,
    pub statusbar: Style,
    pub readonly: Style,
}

fn parse_color(s: &str) -> Result<Color, String> {
    if let Ok(i) = s.parse::<u8>() {
        return Ok(Color::Indexed(i));
    }
    s.parse::<Color>().map_err(|_| format!("unknown colour {s:?}"))
}

fn to_style(spec: &StyleSpec, color: bool) -> Result<Style, String> {
    let mut st = Style::default();
    if color {
        if let Some(fg) = &spec.fg {
            st = st.fg(parse_color(fg)?);
        }
        if let Some(bg) = &spec.bg {
            st = st.bg(parse_color(bg)?);
        }
    }
    for (on, m) in [
        (spec.bold, Modifier::BOLD),
        (spec.dim, Modifier::DIM),
        (spec.italic, Modifier::ITALIC),
        (spec.underline, Modifier::UNDERLINED),
        (spec.reversed, Modifier::REVERSED),
    ] {
        if on {
            st = st.add_modifier(m);
        }
    }
    Ok(st)
}

impl Theme {
    /// Loads theme `name` (shipped or user), layering the user's file of the same name over the
    /// shipped one. `color` false (NO_COLOR) drops all colours.
    pub fn load(name: &str, user_dir: Option<&Path>, color: bool) -> Result<Theme, String> {
        let mut specs = parse_file(SHIPPED[0].1, "themes/default.toml")?;
        if let Some((_, text)) = SHIPPED.iter().find(|(n, _)| *n == name).filter(|(n, _)| *n != "default") {
            specs.extend(parse_file(text, &format!("themes/{name}.toml"))?);
        }
        let user = user_dir.map(|d| d.join("themes").join(format!("{name}.toml")));
        match user.as_deref().filter(|p| p.is_file()) {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
                specs.extend(parse_file(&text, &p.display().to_string())?);
            }
            None if !SHIPPED.iter().any(|(n, _)| *n == name) => {
                return Err(format!("no theme named {name:?} (shipped: default, mono)"));
            }
            None => {}
        }
        Self::from_specs(&specs, color)
    }

    fn from_specs(specs: &BTreeMap<String, StyleSpec>, color: bool) -> Result<Theme, String> {
        let get = |k: &str| -> Result<Style, String> {
            specs
                .get(k)
                .map(|s| to_style(s, color).map_err(|e| format!("style {k}: {e}")))
                .unwrap_or(Ok(Style::default()))
        };
        Ok(Theme {
            ok: get("ok")?,
            warn: get("warn")?,
            crit: get("crit")?,
            stale: get("stale")?,
            muted: get("muted")?,
            label: get("label")?,
            title: get("title")?,
            border: get("border")?,
            border_focused: get("border_focused")?,
            selected: get("selected")?,
            header: get("header")?,
            bar_busy: get("bar_busy")?,
            bar_idle: get("bar_idle")?,
            spark: get("spark")?,
            statusbar: get("statusbar")?,
            readonly: get("readonly")?,
        })
    }

    /// The shipped default theme (tests and fallbacks).
    pub fn builtin(color: bool) -> Theme {
        // The shipped file is tested to parse (see tests below); plain styles are the fallback.
        Self::load("default", None, color).unwrap_or_else(|_| Self::plain())
    }

    /// Every style empty.
    pub fn plain() -> Theme {
        let s = Style::default();
        Theme {
            ok: s,
            warn: s,
            crit: s,
            stale: s,
            muted: s,
            label: s,
            title: s,
            border: s,
            border_focused: s,
            selected: s.add_modifier(Modifier::REVERSED),
            header: s,
            bar_busy: s,
            bar_idle: s,
            spark: s,
            statusbar: s,
            readonly: s,
        }
    }
}

fn parse_file(text: &str, origin: &str) -> Result<BTreeMap<String, StyleSpec>, String> {
    let f: ThemeFile = toml::from_str(text).map_err(|e| format!("{origin}: {}", e.message()))?;
    Ok(f.style)
}

/// Whether colours are allowed: `NO_COLOR` set to anything non-empty turns them off.
pub fn color_enabled() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_themes_parse() {
        for (name, _) in SHIPPED {
            Theme::load(name, None, true).unwrap();
        }
        let t = Theme::load("default", None, true).unwrap();
        assert_eq!(t.ok.fg, Some(Color::Green));
    }

    #[test]
    fn no_color_keeps_weight_only() {
        let t = Theme::load("default", None, false).unwrap();
        assert_eq!(t.crit.fg, None);
        assert!(t.crit.add_modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn user_file_overrides_named_styles() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("themes")).unwrap();
        std::fs::write(dir.path().join("themes/default.toml"), "[style]\nok = { fg = \"blue\" }\n").unwrap();
        let t = Theme::load("default", Some(dir.path()), true).unwrap();
        assert_eq!(t.ok.fg, Some(Color::Blue));
        assert_eq!(t.crit.fg, Some(Color::LightRed), "styles it does not name stay shipped");
    }

    #[test]
    fn bad_theme_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("themes")).unwrap();
        std::fs::write(dir.path().join("themes/x.toml"), "[style]\nok = { fg = \"blurple\" }\n").unwrap();
        let e = Theme::load("x", Some(dir.path()), true).unwrap_err();
        assert!(e.contains("blurple"), "{e}");
        assert!(Theme::load("nope", Some(dir.path()), true).unwrap_err().contains("no theme"));
    }
}
