//! What can go wrong talking to a MySQL/MariaDB server, typed: the callers decide from the kind
//! whether the next poll may well answer ([`DbError::transient`]), whether a statement failed on
//! the server (its error code) or the connection is gone. Every message is free of secrets.

use std::time::Duration;

use crate::model::poll::PollError;

/// A failed connect, statement or status read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DbError {
    /// Nothing came back within the deadline (`what` says what was waited for).
    #[error("{what}: no answer within {}", crate::fmt::duration(*.after))]
    NoAnswer { what: String, after: Duration },
    /// The connect itself timed out.
    #[error("connect timed out after {}", crate::fmt::duration(*.0))]
    ConnectTimeout(Duration),
    /// The server answered with an error; the connection is still usable.
    #[error("{code} {message}")]
    Server { code: u16, message: String },
    /// The connection failed or was lost; `transient` when the next try may well work (a reset,
    /// a close mid-way), not for a refused connect.
    #[error("{message}")]
    Connection { message: String, transient: bool },
    /// `ssl_mode` asks for TLS and the server has none.
    #[error("the server offers no TLS, and this node's ssl_mode requires it")]
    TlsRequired,
    /// The server answered, and the answer cannot be read (a column missing, a value out of range).
    #[error("{0}")]
    Answer(String),
}

impl DbError {
    /// Whether the next poll may well answer: a timeout or a connection lost mid-way.
    pub fn transient(&self) -> bool {
        match self {
            DbError::NoAnswer { .. } | DbError::ConnectTimeout(_) => true,
            DbError::Connection { transient, .. } => *transient,
            DbError::Server { .. } | DbError::TlsRequired | DbError::Answer(_) => false,
        }
    }

    /// The server's error code, when the server answered with one.
    pub fn server_code(&self) -> Option<u16> {
        match self {
            DbError::Server { code, .. } => Some(*code),
            _ => None,
        }
    }

    pub fn no_answer(what: impl Into<String>, after: Duration) -> DbError {
        DbError::NoAnswer { what: what.into(), after }
    }
}

impl From<&mysql_async::Error> for DbError {
    /// A driver error: a connection lost mid-way (reset, closed, timed out) may pass by the next
    /// poll; a refused connect or a server error (access denied, too many connections, ...) is a
    /// hard fact. The driver's own text never holds the password.
    fn from(e: &mysql_async::Error) -> DbError {
        use mysql_async::{DriverError, Error, IoError};
        use std::io::ErrorKind;
        match e {
            Error::Server(s) => DbError::Server { code: s.code, message: s.message.clone() },
            Error::Io(IoError::Io(io)) => {
                let message = match io.kind() {
                    ErrorKind::ConnectionRefused => "connection refused".into(),
                    ErrorKind::ConnectionReset => "connection reset".into(),
                    ErrorKind::TimedOut => "timed out".into(),
                    ErrorKind::UnexpectedEof => "connection closed by the server".into(),
                    _ => io.to_string(),
                };
                let transient = !matches!(
                    io.kind(),
                    ErrorKind::ConnectionRefused | ErrorKind::NotFound | ErrorKind::PermissionDenied
                );
                DbError::Connection { message, transient }
            }
            Error::Io(io) => DbError::Connection { message: io.to_string(), transient: false },
            Error::Driver(DriverError::NoClientSslFlagFromServer) => DbError::TlsRequired,
            Error::Driver(d) => {
                DbError::Connection { message: d.to_string(), transient: matches!(d, DriverError::ConnectionClosed) }
            }
            other => DbError::Connection { message: other.to_string(), transient: false },
        }
    }
}

impl From<mysql_async::Error> for DbError {
    fn from(e: mysql_async::Error) -> DbError {
        DbError::from(&e)
    }
}

impl From<DbError> for PollError {
    fn from(e: DbError) -> PollError {
        PollError { transient: e.transient(), message: e.to_string() }
    }
}

impl From<DbError> for String {
    fn from(e: DbError) -> String {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_say_whether_the_next_poll_may_answer() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let refused = DbError::from(mysql_async::Error::Io(mysql_async::IoError::Io(refused)));
        let reset = DbError::from(mysql_async::Error::Io(mysql_async::IoError::Io(reset)));
        assert_eq!((refused.to_string().as_str(), refused.transient()), ("connection refused", false));
        assert_eq!((reset.to_string().as_str(), reset.transient()), ("connection reset", true));
        let t = DbError::no_answer("status read", Duration::from_secs(3));
        assert_eq!((t.to_string().as_str(), t.transient()), ("status read: no answer within 3s", true));
        let p = PollError::from(DbError::ConnectTimeout(Duration::from_millis(500)));
        assert_eq!((p.message.as_str(), p.transient), ("connect timed out after 500ms", true));
        assert_eq!(DbError::Server { code: 1045, message: "Access denied".into() }.server_code(), Some(1045));
    }
}
