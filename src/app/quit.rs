//! Quitting while a write is in flight (a runbook step, a recovery step, a repair or a
//! resolution): `q`/ctrl-c then asks, with Cancel first, whether to quit when the write ends
//! (every statement and command has a deadline, so it does end) or now, cutting it off where it
//! stands; its write-ahead audit record then stays `started`, which `ringdeck audit` shows as
//! INTERRUPTED.

/// The buttons of the quit question, in their order on screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuitChoice {
    Cancel,
    WhenDone,
    Now,
}

/// The quit question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuitConfirm {
    /// What is running.
    pub what: String,
    pub choice: QuitChoice,
}
