//! HAProxy's stats socket: one command, the whole answer read in pieces under a cap.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends one command to a stats socket and reads the whole answer (the socket closes after it),
/// at most `max` bytes: a larger answer is refused.
pub async fn socket_command(path: &Path, command: &str, max: usize) -> Result<String, String> {
    let mut s =
        tokio::net::UnixStream::connect(path).await.map_err(|e| format!("stats socket {}: {e}", path.display()))?;
    s.write_all(format!("{command}\n").as_bytes()).await.map_err(|e| e.to_string())?;
    // Read in pieces and joined once (see `http::join_chunks`): no doubling buffer.
    let (mut chunks, mut total, mut piece) = (Vec::new(), 0usize, vec![0u8; 64 * 1024]);
    loop {
        let n = s.read(&mut piece).await.map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        total += n;
        if total > max {
            return Err(format!("stats socket {}: answer larger than {}", path.display(), super::size_text(max)));
        }
        chunks.push(piece[..n].to_vec());
    }
    Ok(super::join_chunks(chunks, total))
}

/// [`socket_command`] cut off at `timeout`, with the default cap (the admin commands' answers
/// are short).
pub async fn socket_command_within(path: &Path, command: &str, timeout: Duration) -> Result<String, String> {
    tokio::time::timeout(timeout, socket_command(path, command, crate::config::schema::DEFAULT_MAX_RESPONSE))
        .await
        .unwrap_or_else(|_| Err(format!("stats socket {}: no answer within {timeout:?}", path.display())))
}
