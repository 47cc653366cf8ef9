//! The project's MySQL/MariaDB library: connections (TCP, TLS, deadlines, dialect), one
//! [`read_status`] for everyone who reads a node, column values decoded once, typed errors
//! ([`DbError`]), SQL quoting, and the dedicated sessions of verify, repair and inspect.
//! It knows nothing of collectors, steps or the console.

pub mod conn;
pub mod error;
pub mod quote;
pub mod ring;
pub mod rows;
pub mod session;
pub mod status;
pub mod target;

pub use conn::{ConnOpts, connect, opts};
pub use error::DbError;
pub use ring::{node_inputs, read_all};
pub use rows::{cell, query_rows, to_row, value_text};
pub use status::{Depth, read_node, read_status, read_version};
pub use target::Target;

/// Awaits `f` for at most `t`; past it the error says what was waited for.
pub async fn within<T>(
    t: std::time::Duration,
    what: &str,
    f: impl Future<Output = Result<T, DbError>>,
) -> Result<T, DbError> {
    tokio::time::timeout(t, f).await.unwrap_or_else(|_| Err(DbError::no_answer(what, t)))
}
