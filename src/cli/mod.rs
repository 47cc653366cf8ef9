//! The subcommands: each parses its arguments, starts from [`start::load`] (config, logins,
//! runtime) and calls the use cases below; exit codes are decided here and nowhere else.

pub mod agent;
pub mod bench;
pub mod check;
pub mod inspect;
pub mod lab;
pub mod recover;
pub mod repair;
pub mod run;
pub mod snapshot;
pub mod ssh_check;
pub mod start;
pub mod verify;
