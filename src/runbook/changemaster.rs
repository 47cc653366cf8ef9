//! The `CHANGE MASTER TO` / `CHANGE REPLICATION SOURCE TO` that (re)creates a link, with every
//! property the link had ([`LinkProps`]: TLS, GTID mode, delay, MySQL 8's public-key options)
//! in the dialect's words, and the password masked (put in only by the engine).

use super::plan::Sql;
use crate::config::NodeConfig;
use crate::db::quote::{PASSWORD_MASK, sql_string};
use crate::model::linkprops::{GtidMode, LinkProps};
use crate::model::replication::Dialect;

/// Where the re-created link starts reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourcePos {
    /// Binlog coordinates.
    File { file: String, pos: u64 },
    /// By GTID, in the mode the link's properties name (MariaDB: from `gtid_slave_pos`, set
    /// first; MySQL: auto-positioning). A link whose properties say no GTID gets none.
    Gtid,
}

impl Sql<'_> {
    /// The statement re-creating a link from `host:port` as `user`, starting at `at`, with `p`.
    pub fn change_master_to(&self, host: &str, port: u16, user: &str, at: &SourcePos, p: &LinkProps) -> String {
        let modern = matches!(self.dialect, Dialect::MySql80 | Dialect::MySql84);
        let maria = self.dialect == Dialect::MariaDb;
        let (head, k) = if modern {
            ("CHANGE REPLICATION SOURCE TO".to_string(), "SOURCE")
        } else {
            (format!("CHANGE MASTER{} TO", self.maria_name()), "MASTER")
        };
        let mut v = vec![
            format!("{k}_HOST={}", sql_string(host)),
            format!("{k}_PORT={port}"),
            format!("{k}_USER={}", sql_string(user)),
            format!("{k}_PASSWORD={PASSWORD_MASK}"),
        ];
        match (at, p.gtid) {
            (SourcePos::Gtid, GtidMode::SlavePos) if maria => v.push("MASTER_USE_GTID=slave_pos".into()),
            (SourcePos::Gtid, GtidMode::CurrentPos) if maria => v.push("MASTER_USE_GTID=current_pos".into()),
            (SourcePos::Gtid, GtidMode::AutoPosition) if !maria => v.push(format!("{k}_AUTO_POSITION=1")),
            (SourcePos::File { file, pos }, _) => {
                v.push(format!("{k}_LOG_FILE={}", sql_string(file)));
                v.push(format!("{k}_LOG_POS={pos}"));
            }
            // GTID asked for but the link has no GTID mode of this dialect: nothing to position
            // by; the caller passes coordinates for such links.
            (SourcePos::Gtid, _) => {}
        }
        if p.ssl {
            v.push(format!("{k}_SSL=1"));
            for (name, val) in [
                ("CA", &p.ssl_ca),
                ("CAPATH", &p.ssl_capath),
                ("CERT", &p.ssl_cert),
                ("KEY", &p.ssl_key),
                ("CIPHER", &p.ssl_cipher),
                ("CRL", &p.ssl_crl),
                ("CRLPATH", &p.ssl_crlpath),
            ] {
                if !val.is_empty() {
                    v.push(format!("{k}_SSL_{name}={}", sql_string(val)));
                }
            }
            v.push(format!("{k}_SSL_VERIFY_SERVER_CERT={}", u8::from(p.ssl_verify_server_cert)));
            if !maria && !p.tls_version.is_empty() {
                v.push(format!("{k}_TLS_VERSION={}", sql_string(&p.tls_version)));
            }
        }
        if p.delay > 0 {
            v.push(format!("{k}_DELAY={}", p.delay));
        }
        if !maria {
            if p.get_public_key {
                v.push(if modern { "GET_SOURCE_PUBLIC_KEY=1".into() } else { "GET_MASTER_PUBLIC_KEY=1".into() });
            }
            if !p.public_key_path.is_empty() {
                v.push(format!("{k}_PUBLIC_KEY_PATH={}", sql_string(&p.public_key_path)));
            }
        }
        format!("{head} {}{}", v.join(", "), self.channel())
    }

    /// MariaDB: where a GTID link starts, set before `CHANGE MASTER ... MASTER_USE_GTID=slave_pos`
    /// (threads stopped).
    pub fn set_gtid_slave_pos(&self, pos: &str) -> String {
        format!("SET GLOBAL gtid_slave_pos = {}", sql_string(pos))
    }
}

/// Whether a link with `p` is re-created by GTID in `dialect`.
pub fn positions_by_gtid(dialect: Dialect, p: &LinkProps) -> bool {
    match p.gtid {
        GtidMode::SlavePos | GtidMode::CurrentPos => dialect == Dialect::MariaDb,
        GtidMode::AutoPosition => dialect != Dialect::MariaDb,
        GtidMode::Off => false,
    }
}

/// The link's recorded properties with the node's config laid over them: `replication_ssl*`
/// and `replication_get_public_key` set in the config win (a link with no record, or one the
/// operator wants encrypted from now on).
pub fn with_config(mut p: LinkProps, ncfg: &NodeConfig) -> LinkProps {
    if let Some(on) = ncfg.replication_ssl {
        p.ssl = on;
    }
    for (field, val) in [
        (&mut p.ssl_ca, &ncfg.replication_ssl_ca),
        (&mut p.ssl_cert, &ncfg.replication_ssl_cert),
        (&mut p.ssl_key, &ncfg.replication_ssl_key),
    ] {
        if let Some(v) = val {
            *field = v.clone();
        }
    }
    if let Some(v) = ncfg.replication_ssl_verify_server_cert {
        p.ssl_verify_server_cert = v;
    }
    if let Some(v) = ncfg.replication_get_public_key {
        p.get_public_key = v;
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configs_replication_tls_goes_into_every_link_written() {
        let cfg: crate::config::Config = toml::from_str(
            "[[node]]\nname = \"n1\"\nhost = \"127.0.0.1\"\nreplication_ssl = true\n\
             replication_ssl_ca = \"/etc/mysql/ca.pem\"\nreplication_ssl_verify_server_cert = true\n\
             replication_get_public_key = true\n",
        )
        .expect("a valid config");
        let p = with_config(Default::default(), &cfg.nodes[0]);
        assert!(p.ssl && p.ssl_verify_server_cert && p.get_public_key && p.ssl_ca == "/etc/mysql/ca.pem");
    }

    fn file() -> SourcePos {
        SourcePos::File { file: "binlog.000009".into(), pos: 4 }
    }

    fn tls() -> LinkProps {
        LinkProps {
            ssl: true,
            ssl_ca: "/etc/mysql/ca.pem".into(),
            ssl_cert: "/etc/mysql/client-cert.pem".into(),
            ssl_key: "/etc/mysql/client-key.pem".into(),
            ssl_verify_server_cert: true,
            delay: 60,
            ..Default::default()
        }
    }

    #[test]
    fn a_plain_link_is_host_user_and_coordinates() {
        let s = Sql { dialect: Dialect::MariaDb, connection: "" };
        assert_eq!(
            s.change_master_to("db1", 3306, "repl", &file(), &LinkProps::default()),
            "CHANGE MASTER TO MASTER_HOST='db1', MASTER_PORT=3306, MASTER_USER='repl', MASTER_PASSWORD='***', \
             MASTER_LOG_FILE='binlog.000009', MASTER_LOG_POS=4"
        );
    }

    #[test]
    fn tls_and_delay_in_each_dialect() {
        let maria = Sql { dialect: Dialect::MariaDb, connection: "east" }.change_master_to(
            "db1",
            3306,
            "repl",
            &file(),
            &tls(),
        );
        assert_eq!(
            maria,
            "CHANGE MASTER 'east' TO MASTER_HOST='db1', MASTER_PORT=3306, MASTER_USER='repl', MASTER_PASSWORD='***', \
             MASTER_LOG_FILE='binlog.000009', MASTER_LOG_POS=4, MASTER_SSL=1, MASTER_SSL_CA='/etc/mysql/ca.pem', \
             MASTER_SSL_CERT='/etc/mysql/client-cert.pem', MASTER_SSL_KEY='/etc/mysql/client-key.pem', \
             MASTER_SSL_VERIFY_SERVER_CERT=1, MASTER_DELAY=60"
        );
        // MySQL 8.0.23+/8.4 (documented CHANGE REPLICATION SOURCE TO options), with a channel.
        let mut p = tls();
        p.get_public_key = true;
        p.tls_version = "TLSv1.3".into();
        p.gtid = GtidMode::AutoPosition;
        let modern = Sql { dialect: Dialect::MySql84, connection: "ring" }.change_master_to(
            "db1",
            3306,
            "repl",
            &SourcePos::Gtid,
            &p,
        );
        assert_eq!(
            modern,
            "CHANGE REPLICATION SOURCE TO SOURCE_HOST='db1', SOURCE_PORT=3306, SOURCE_USER='repl', \
             SOURCE_PASSWORD='***', SOURCE_AUTO_POSITION=1, SOURCE_SSL=1, SOURCE_SSL_CA='/etc/mysql/ca.pem', \
             SOURCE_SSL_CERT='/etc/mysql/client-cert.pem', SOURCE_SSL_KEY='/etc/mysql/client-key.pem', \
             SOURCE_SSL_VERIFY_SERVER_CERT=1, SOURCE_TLS_VERSION='TLSv1.3', SOURCE_DELAY=60, \
             GET_SOURCE_PUBLIC_KEY=1 FOR CHANNEL 'ring'"
        );
        // MySQL 5.7 / early 8.0: the MASTER_ words, GET_MASTER_PUBLIC_KEY.
        let legacy = Sql { dialect: Dialect::MySqlLegacy, connection: "" }.change_master_to(
            "db1",
            3306,
            "repl",
            &SourcePos::Gtid,
            &LinkProps { gtid: GtidMode::AutoPosition, get_public_key: true, ..Default::default() },
        );
        assert!(legacy.ends_with("MASTER_AUTO_POSITION=1, GET_MASTER_PUBLIC_KEY=1"), "{legacy}");
    }

    #[test]
    fn mariadb_gtid_links_start_from_gtid_slave_pos() {
        let s = Sql { dialect: Dialect::MariaDb, connection: "" };
        let p = LinkProps { gtid: GtidMode::SlavePos, ..Default::default() };
        assert!(positions_by_gtid(Dialect::MariaDb, &p));
        assert!(!positions_by_gtid(Dialect::MySql80, &p), "slave_pos is MariaDB's");
        let stmt = s.change_master_to("db1", 3306, "repl", &SourcePos::Gtid, &p);
        assert!(stmt.ends_with("MASTER_USE_GTID=slave_pos") && !stmt.contains("LOG_POS"), "{stmt}");
        assert_eq!(s.set_gtid_slave_pos("1-1-40,2-2-7"), "SET GLOBAL gtid_slave_pos = '1-1-40,2-2-7'");
        // Paths are literals: a hostile one cannot leave its quotes.
        let evil = LinkProps { ssl: true, ssl_ca: "x', MASTER_HOST='evil".into(), ..Default::default() };
        assert!(s.change_master_to("db1", 1, "r", &file(), &evil).contains("MASTER_SSL_CA='x'', MASTER_HOST=''evil'"));
    }

    #[test]
    fn replica_status_columns_of_each_dialect_read_back() {
        use crate::model::replication::ReplicaLink;
        let row = |pairs: &[(&str, &str)]| -> crate::model::replication::Row {
            pairs.iter().map(|(k, v)| (k.to_string(), Some(v.to_string()))).collect()
        };
        // MariaDB 10.11 names.
        let m = ReplicaLink::from_row(&row(&[
            ("Master_Host", "db1"),
            ("Master_SSL_Allowed", "Yes"),
            ("Master_SSL_CA_File", "/ca.pem"),
            ("Master_SSL_Verify_Server_Cert", "Yes"),
            ("Using_Gtid", "Slave_Pos"),
            ("SQL_Delay", "30"),
        ]))
        .unwrap();
        assert_eq!(m.props.summary(), "ssl (verify), gtid slave_pos, delay 30s");
        assert_eq!(m.props.ssl_ca, "/ca.pem");
        // MySQL 8.0.22+ SHOW REPLICA STATUS names.
        let y = ReplicaLink::from_row(&row(&[
            ("Source_Host", "db1"),
            ("Source_SSL_Allowed", "Yes"),
            ("Source_SSL_Verify_Server_Cert", "No"),
            ("Source_TLS_Version", "TLSv1.3"),
            ("Auto_Position", "1"),
            ("Get_Source_public_key", "1"),
            ("Source_public_key_path", ""),
            ("Channel_Name", "ring"),
        ]))
        .unwrap();
        assert_eq!(y.props.connection, "ring", "the channel is kept with the link");
        assert!(y.props.ssl && !y.props.ssl_verify_server_cert && y.props.get_public_key);
        assert_eq!((y.props.gtid, y.props.tls_version.as_str()), (GtidMode::AutoPosition, "TLSv1.3"));
        // MySQL 5.7 / 8.0 before the renames: Get_master_public_key.
        let o = ReplicaLink::from_row(&row(&[("Master_Host", "db1"), ("Get_master_public_key", "1")])).unwrap();
        assert!(o.props.get_public_key);
    }
}
