//! The one refusal of a write in read-only mode, worded the same by every step, dialog, overlay
//! and command: what was refused and that nothing was changed first (a narrow status line cuts
//! the end), then what made ringdeck read-only.

/// What made ringdeck read-only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadOnlyBy {
    /// `--read-only` on the command line.
    Flag,
    /// `read_only = true` in the config.
    Config,
    /// Either (the console, which merged both).
    Either,
}

impl ReadOnlyBy {
    /// Which one, from the flag and the config (`None`: not read-only).
    pub fn of(flag: bool, config: bool) -> Option<ReadOnlyBy> {
        match (flag, config) {
            (true, _) => Some(ReadOnlyBy::Flag),
            (false, true) => Some(ReadOnlyBy::Config),
            (false, false) => None,
        }
    }

    fn text(self) -> &'static str {
        match self {
            ReadOnlyBy::Flag => "--read-only",
            ReadOnlyBy::Config => "read_only = true in the config",
            ReadOnlyBy::Either => "--read-only or read_only = true in the config",
        }
    }
}

/// A write refused because ringdeck is read-only: nothing reached a server.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("refused: ringdeck is read-only; {what} was not run and nothing was changed ({})", .by.text())]
pub struct ReadOnly {
    /// What was refused, as the operator knows it ("skip 1 event on node2", "the repair").
    pub what: String,
    pub by: ReadOnlyBy,
}

impl ReadOnly {
    pub fn new(what: impl Into<String>, by: ReadOnlyBy) -> ReadOnly {
        ReadOnly { what: what.into(), by }
    }

    /// In the console, where the flag and the config were merged.
    pub fn console(what: impl Into<String>) -> ReadOnly {
        ReadOnly::new(what, ReadOnlyBy::Either)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_wording_names_the_cause() {
        let e = ReadOnly::new("skip 1 event on node2", ReadOnlyBy::Flag);
        assert_eq!(
            e.to_string(),
            "refused: ringdeck is read-only; skip 1 event on node2 was not run and nothing was changed (--read-only)"
        );
        assert_eq!(ReadOnlyBy::of(false, true), Some(ReadOnlyBy::Config));
        assert_eq!(ReadOnlyBy::of(false, false), None);
        assert!(
            ReadOnly::console("the repair").to_string().ends_with("(--read-only or read_only = true in the config)")
        );
    }
}
