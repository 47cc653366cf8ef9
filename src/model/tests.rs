//! Model unit tests on recorded server output (MariaDB from the lab, MySQL from its documented
//! column sets: MySQL is not packaged in Debian; HAProxy and Apache from the lab, other versions from
//! their documented formats).

mod apache;
mod haproxy;
pub(crate) mod replication;
pub(crate) mod topology;
