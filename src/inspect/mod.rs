//! The conflict inspector: the event a stopped link failed on, read from its upstream's binary
//! log over the replication protocol, beside every node's row for the key it collided on.

pub mod conflict;
pub mod event;
pub mod read;
pub mod render;
pub mod resolve;
