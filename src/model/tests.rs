//! Model unit tests on recorded server output (MariaDB from the lab, MySQL from its documented
//! column sets: MySQL is not packaged in Debian).

mod replication;
mod topology;
