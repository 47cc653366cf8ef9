//! Pure state and findings built from samples; no I/O.

pub mod advice;
pub mod apache;
pub mod apache_workers;
pub mod digest;
pub mod haproxy;
pub mod haproxy_runtime;
pub mod linkprops;
pub mod poll;
pub mod replication;
pub mod ring;
pub mod row;
pub mod series;
pub mod sqltext;
pub mod topology;

#[cfg(test)]
pub(crate) mod tests;
