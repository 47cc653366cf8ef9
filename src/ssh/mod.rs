//! SSH to the nodes' hosts, for the ring-recovery wizard and `ringdeck ssh-check`: a russh client
//! (aws-lc-rs, like the rest) that checks host keys against known_hosts itself (unknown keys are
//! reported with their fingerprint, changed keys refused), authenticates with a key file or the
//! ssh-agent, runs argv commands quoted for a POSIX shell, and relays one command's output into
//! another's input across two hosts. Every network step has a timeout.

mod client;
mod error;
mod exec;
mod hostkey;
pub mod known_hosts;
mod quote;
mod relay;
mod target;

pub use client::{Session, connect};
pub use error::{ChangedKey, SshError};
pub use exec::{CommandOutput, OutputLine, STDERR_CAP, STDOUT_CAP, Stream};
pub use hostkey::{HostKeyPolicy, check_host_key};
pub use known_hosts::fingerprint_of;
pub use quote::{command_line, quote, shorten};
pub use relay::relay;
pub use target::SshTarget;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn assert_send<T: Send>(_: &T) {}

    /// The console runs steps with `tokio::spawn`: every future here must be `Send`. Compiling is
    /// the test; the futures are never polled.
    #[test]
    fn futures_are_send() {
        fn check(s: &Session, t: &SshTarget) {
            let argv: Vec<String> = Vec::new();
            assert_send(&connect(t, &HostKeyPolicy::Strict));
            assert_send(&s.run(&argv, None, Duration::ZERO));
            assert_send(&s.run_ok(&argv, Duration::ZERO));
            assert_send(&relay(s, &argv, s, &argv, Duration::ZERO, |_| {}));
        }
        let _ = check;
    }
}
