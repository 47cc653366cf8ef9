//! Why a target's poll failed: the message shown on its pane, and whether the next poll may
//! well answer (which decides stale against down).

/// Why a poll failed, and whether the next poll may well answer: a timeout or a connection the
/// peer reset or closed mid-way is `transient` (one such failure makes a target stale, two in a
/// row make it down); a refused connect, a refused login or an answer that cannot be read is a
/// hard fact (down at once).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PollError {
    pub message: String,
    pub transient: bool,
}

impl PollError {
    pub fn transient(message: impl Into<String>) -> PollError {
        PollError { message: message.into(), transient: true }
    }
}

impl From<String> for PollError {
    fn from(message: String) -> Self {
        PollError { message, transient: false }
    }
}

impl From<&str> for PollError {
    fn from(message: &str) -> Self {
        PollError { message: message.to_string(), transient: false }
    }
}
