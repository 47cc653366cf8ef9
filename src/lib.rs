//! ringdeck as a library: the binary in `main.rs` and the integration tests both use it.

pub mod agent;
pub mod app;
pub mod cli;
pub mod collect;
pub mod config;
pub mod console;
pub mod crash;
pub mod db;
pub mod fmt;
pub mod fork;
pub mod http;
pub mod inspect;
pub mod lab;
pub mod logging;
pub mod model;
pub mod recover;
pub mod repair;
pub mod runbook;
pub mod ssh;
pub mod statefile;
pub mod ui;
pub mod verify;
