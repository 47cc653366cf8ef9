//! Keymaps: `{ on, run, desc }` bindings from TOML. The shipped `keymaps/default.toml` is built in;
//! `~/.config/ringdeck/keymap.toml` replaces the bindings of the keys it names. Help is generated
//! from the same table that dispatches keys.

use std::path::Path;
use std::str::FromStr;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

use crate::app::action::Action;

const SHIPPED: &str = include_str!("../../keymaps/default.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeymapFile {
    #[serde(default)]
    bind: Vec<BindSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BindSpec {
    on: String,
    run: String,
    #[serde(default)]
    desc: String,
}

/// A key with modifiers, as written in a keymap (`ctrl-c`, `tab`, `?`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    /// The key of a terminal event; Shift is folded into the character it produced.
    pub fn from_event(ev: &KeyEvent) -> Key {
        let mut mods = ev.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        if matches!(ev.code, KeyCode::BackTab) {
            mods = KeyModifiers::NONE;
        }
        Key { code: ev.code, mods }
    }

    pub fn label(&self) -> String {
        let mut s = String::new();
        if self.mods.contains(KeyModifiers::CONTROL) {
            s.push_str("ctrl-");
        }
        if self.mods.contains(KeyModifiers::ALT) {
            s.push_str("alt-");
        }
        match self.code {
            KeyCode::Char(' ') => s.push_str("space"),
            KeyCode::Char(c) => s.push(c),
            KeyCode::Enter => s.push_str("enter"),
            KeyCode::Esc => s.push_str("esc"),
            KeyCode::Tab => s.push_str("tab"),
            KeyCode::BackTab => s.push_str("shift-tab"),
            KeyCode::Up => s.push('↑'),
            KeyCode::Down => s.push('↓'),
            KeyCode::Left => s.push('←'),
            KeyCode::Right => s.push('→'),
            KeyCode::PageUp => s.push_str("pgup"),
            KeyCode::PageDown => s.push_str("pgdn"),
            KeyCode::Home => s.push_str("home"),
            KeyCode::End => s.push_str("end"),
            KeyCode::F(n) => s.push_str(&format!("f{n}")),
            _ => s.push('?'),
        }
        s
    }
}

impl FromStr for Key {
    type Err = String;
    fn from_str(text: &str) -> Result<Key, String> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            if let Some(r) = rest.strip_prefix("ctrl-") {
                mods |= KeyModifiers::CONTROL;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("alt-") {
                mods |= KeyModifiers::ALT;
                rest = r;
            } else {
                break;
            }
        }
        let code = match rest {
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" | "shift-tab" => KeyCode::BackTab,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pageup" => KeyCode::PageUp,
            "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "space" => KeyCode::Char(' '),
            f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) => {
                KeyCode::F(f[1..].parse().unwrap_or(1))
            }
            c if c.chars().count() == 1 => KeyCode::Char(c.chars().next().unwrap_or(' ')),
            _ => return Err(format!("unknown key {text:?}")),
        };
        Ok(Key { code, mods })
    }
}

/// One binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub key: Key,
    pub action: Action,
    pub desc: String,
}

/// The status bar's key hints, per kind of focused pane.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusHints {
    pub default: String,
    pub haproxy: String,
    pub queries: String,
}

/// The key table.
#[derive(Clone, Debug)]
pub struct Keymap {
    pub bindings: Vec<Binding>,
}

fn parse(text: &str, origin: &str) -> Result<Vec<(Key, Option<Action>, String)>, String> {
    let f: KeymapFile = toml::from_str(text).map_err(|e| format!("{origin}: {}", e.message()))?;
    f.bind
        .into_iter()
        .map(|b| {
            let key: Key = b.on.parse().map_err(|e| format!("{origin}: {e}"))?;
            let action = if b.run == "noop" {
                None
            } else {
                Some(b.run.parse::<Action>().map_err(|e| format!("{origin}: key {}: {e}", b.on))?)
            };
            Ok((key, action, b.desc))
        })
        .collect()
}

impl Keymap {
    /// The shipped keymap with the user's `keymap.toml` (in `user_dir`) layered over it.
    pub fn load(user_dir: Option<&Path>) -> Result<Keymap, String> {
        let mut map = Keymap { bindings: Vec::new() };
        map.layer(parse(SHIPPED, "keymaps/default.toml")?);
        if let Some(p) = user_dir.map(|d| d.join("keymap.toml")).filter(|p| p.is_file()) {
            let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            map.layer(parse(&text, &p.display().to_string())?);
        }
        Ok(map)
    }

    fn layer(&mut self, entries: Vec<(Key, Option<Action>, String)>) {
        let user_keys: Vec<Key> = entries.iter().map(|(k, _, _)| *k).collect();
        let shipped_count = self.bindings.len();
        // A later file replaces every earlier binding of the keys it names.
        let mut kept: Vec<Binding> =
            self.bindings.drain(..shipped_count).filter(|b| !user_keys.contains(&b.key)).collect();
        for (key, action, desc) in entries {
            if let Some(action) = action {
                kept.push(Binding { key, action, desc });
            }
        }
        self.bindings = kept;
    }

    pub fn action_for(&self, ev: &KeyEvent) -> Option<Action> {
        let key = Key::from_event(ev);
        self.bindings.iter().find(|b| b.key == key).map(|b| b.action)
    }

    /// `(keys, description)` per action, in table order: the help overlay's lines.
    pub fn help(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut done: Vec<Action> = Vec::new();
        for b in &self.bindings {
            if done.contains(&b.action) {
                continue;
            }
            done.push(b.action);
            let keys: Vec<String> =
                self.bindings.iter().filter(|o| o.action == b.action).map(|o| o.key.label()).collect();
            out.push((keys.join(" "), b.desc.clone()));
        }
        out
    }

    /// The label of the first key bound to `a`, if any.
    pub fn key_of(&self, a: Action) -> Option<String> {
        self.bindings.iter().find(|b| b.action == a).map(|b| b.key.label())
    }

    /// The status bar's hints with the keys as bound now (a rebound key shows its new key, an
    /// unbound action is left out).
    pub fn status_hints(&self) -> StatusHints {
        use crate::app::action::{Pane, ServerKey, StepName};
        // The pane keys, second on the default line: `tab/1-5` when the five panes have keys.
        let focus: Option<Vec<String>> = Pane::ALL.iter().map(|p| self.key_of(Action::Focus(*p))).collect();
        let panes: Vec<String> = self
            .key_of(Action::NextPane)
            .into_iter()
            .chain(focus.map(|f| format!("{}-{}", f[0], f[f.len() - 1])))
            .collect();
        let line = |with_panes: bool, hints: &[(&[Action], &str)]| -> String {
            let mut shown: Vec<String> = hints
                .iter()
                .filter_map(|(actions, label)| {
                    let keys: Vec<String> = actions.iter().map(|a| self.key_of(*a)).collect::<Option<_>>()?;
                    Some(format!("{}:{label}", keys.join("/")))
                })
                .collect();
            if with_panes && !panes.is_empty() {
                shown.insert(shown.len().min(1), format!("{}:pane", panes.join("/")));
            }
            format!(" {} ", shown.join("  "))
        };
        StatusHints {
            default: line(
                true,
                &[
                    (&[Action::Help], "help"),
                    (&[Action::Down, Action::Up], "select"),
                    (&[Action::Zoom], "zoom"),
                    (&[Action::Step(StepName::Skip)], "skip"),
                    (&[Action::Step(StepName::StopSlave), Action::Step(StepName::StartSlave)], "stop/start"),
                    (&[Action::CommandLine], "command"),
                    (&[Action::Quit], "quit"),
                ],
            ),
            haproxy: line(
                false,
                &[
                    (&[Action::Help], "help"),
                    (&[Action::Down, Action::Up], "select"),
                    (&[Action::Zoom], "detail"),
                    (&[Action::Server(ServerKey::Drain)], "drain"),
                    (&[Action::Server(ServerKey::Maint)], "maint"),
                    (&[Action::Server(ServerKey::Ready)], "ready"),
                    (&[Action::Server(ServerKey::Weight)], "weight"),
                    (&[Action::Filter], "filter"),
                    (&[Action::Sort { forward: true }, Action::Sort { forward: false }], "sort"),
                    (&[Action::Quit], "quit"),
                ],
            ),
            queries: line(
                false,
                &[
                    (&[Action::Help], "help"),
                    (&[Action::Down, Action::Up], "select"),
                    (&[Action::Zoom], "detail"),
                    (&[Action::Kill { connection: false }, Action::Kill { connection: true }], "kill query/conn"),
                    (&[Action::Filter], "filter"),
                    (&[Action::ToggleHidden], "all threads"),
                    (&[Action::Quit], "quit"),
                ],
            ),
        }
    }

    /// The built-in keymap (tests and fallback).
    pub fn builtin() -> Keymap {
        Self::load(None).unwrap_or(Keymap { bindings: Vec::new() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_keymap_parses_and_dispatches() {
        let k = Keymap::load(None).unwrap();
        let ev = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(k.action_for(&ev), Some(Action::Quit));
        let ev = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(k.action_for(&ev), Some(Action::Quit));
        let ev = KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(k.action_for(&ev), Some(Action::PrevPane));
    }

    #[test]
    fn status_hints_follow_the_keymap() {
        let shipped = Keymap::load(None).unwrap().status_hints();
        assert_eq!(
            shipped.default,
            " ?:help  tab/1-5:pane  j/k:select  z:zoom  s:skip  t/T:stop/start  ::command  q:quit "
        );
        assert!(shipped.haproxy.contains("d:drain") && shipped.queries.contains("x/X:kill query/conn"));
        // A user who moved skip to `K` and unbound `z` sees that on the status bar.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("keymap.toml"),
            "[[bind]]\non = \"K\"\nrun = \"skip\"\ndesc = \"skip\"\n\n[[bind]]\non = \"s\"\nrun = \"noop\"\n\n\
             [[bind]]\non = \"z\"\nrun = \"noop\"\n",
        )
        .unwrap();
        let user = Keymap::load(Some(dir.path())).unwrap().status_hints();
        assert!(user.default.contains("K:skip") && !user.default.contains("s:skip"), "{}", user.default);
        assert!(user.default.contains("enter:zoom"), "the other zoom key: {}", user.default);
    }

    #[test]
    fn user_keymap_layers_over() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("keymap.toml"),
            "[[bind]]\non = \"x\"\nrun = \"quit\"\ndesc = \"quit\"\n[[bind]]\non = \"q\"\nrun = \"noop\"\n",
        )
        .unwrap();
        let k = Keymap::load(Some(dir.path())).unwrap();
        assert_eq!(k.action_for(&KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE)), Some(Action::Quit));
        assert_eq!(k.action_for(&KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE)), None);
        assert_eq!(k.action_for(&KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE)), Some(Action::Help));
    }

    #[test]
    fn bad_keymap_is_clear() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keymap.toml"), "[[bind]]\non = \"x\"\nrun = \"explode\"\n").unwrap();
        let e = Keymap::load(Some(dir.path())).unwrap_err();
        assert!(e.contains("explode"), "{e}");
        assert!("ctrl-".parse::<Key>().is_err());
    }
}
