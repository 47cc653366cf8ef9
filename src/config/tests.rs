//! Unit tests of the config loader: parsing, defaults, file:line errors, credentials, TLS.

use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/etc/ringdeck.toml"))
}

const MINIMAL: &str = "[[node]]\nname = \"n1\"\nhost = \"127.0.0.1\"\n";

#[test]
fn shipped_example_parses() {
    let text = include_str!("../../ringdeck.example.toml");
    let cfg = parse(text).expect("example config must parse");
    assert_eq!(cfg.nodes.len(), 3);
    assert_eq!(cfg.nodes[1].port, 3306, "port defaults to 3306");
    assert_eq!(cfg.poll_interval.0, std::time::Duration::from_secs(1));
    assert!(cfg.nodes[0].ssh.as_ref().is_some_and(|s| s.port == 22));
    assert_eq!(cfg.probes.len(), 3);
}

#[test]
fn defaults_apply() {
    let cfg = parse(MINIMAL).unwrap();
    assert_eq!(cfg.poll_interval, Interval::from_millis(1000));
    assert_eq!(cfg.timeout, Interval::from_millis(3000));
    assert!(!cfg.read_only);
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let text = "poll_interval = \"1s\"\n[[node]]\nname = \"n1\"\nhost = \"h\"\npasword = \"x\"\n";
    let e = parse(text).unwrap_err();
    assert_eq!(e.line, Some(5), "{e}");
    assert_eq!(e.key.as_deref(), Some("pasword"), "{e}");
    let shown = e.to_string();
    assert!(shown.starts_with("/etc/ringdeck.toml:5: key `pasword`"), "{shown}");
    assert!(shown.contains("unknown field"), "{shown}");
}

#[test]
fn bad_value_names_its_key() {
    let e = parse("poll_interval = \"fast\"\n[[node]]\nname=\"a\"\nhost=\"h\"\n").unwrap_err();
    assert_eq!(e.line, Some(1));
    assert_eq!(e.key.as_deref(), Some("poll_interval"));
    assert!(e.message.contains("bad duration"), "{e}");

    let e = parse("[[node]]\nname=\"a\"\nhost=\"h\"\nport = \"x\"\n").unwrap_err();
    assert_eq!((e.line, e.key.as_deref()), (Some(4), Some("port")), "{e}");

    let e = parse("[[node]]\nname=\"a\"\nhost=\"h\"\nport = 70000\n").unwrap_err();
    assert_eq!(e.line, Some(4), "{e}");
}

#[test]
fn broken_toml_is_located() {
    let e = parse("[[node]\nname=1").unwrap_err();
    assert_eq!(e.line, Some(1), "{e}");
}

#[test]
fn duplicate_names_refused() {
    let text = format!("{MINIMAL}[[node]]\nname = \"n1\"\nhost = \"h2\"\n");
    let e = parse(&text).unwrap_err();
    assert_eq!(e.line, Some(5), "{e}");
    assert!(e.message.contains("used twice"), "{e}");
}

#[test]
fn two_password_sources_refused() {
    let text = format!("{MINIMAL}password = \"a\"\npassword_command = \"b\"\n");
    let e = parse(&text).unwrap_err();
    assert!(e.message.contains("only one"), "{e}");
}

#[test]
fn empty_config_refused() {
    let e = parse("poll_interval = \"1s\"\n").unwrap_err();
    assert!(e.message.contains("no [[node]]"), "{e}");
}

#[test]
fn probes_checked() {
    let e = parse(&format!("{MINIMAL}[[probe]]\nname = \"p\"\nsql = \"nope\"\n")).unwrap_err();
    assert!(e.message.contains("no [[node]] is named"), "{e}");
    let e = parse(&format!("{MINIMAL}[[probe]]\nname = \"p\"\nhttp = \"ftp://x/\"\n")).unwrap_err();
    assert!(e.message.contains("not http"), "{e}");
    let e = parse(&format!("{MINIMAL}[[probe]]\nname = \"p\"\ntcp = \"nohost\"\n")).unwrap_err();
    assert!(e.message.contains("host:port"), "{e}");
    let e = parse(&format!("{MINIMAL}[[probe]]\nname = \"p\"\n")).unwrap_err();
    assert!(e.message.contains("exactly one"), "{e}");
}

#[test]
fn round_trips_through_toml() {
    let cfg = parse(include_str!("../../ringdeck.example.toml")).unwrap();
    let text = cfg.to_toml().unwrap();
    let again = parse(&text).expect("serialized config parses");
    assert_eq!(again.nodes.len(), cfg.nodes.len());
    assert_eq!(again.haproxies[0].socket, cfg.haproxies[0].socket);
}

#[test]
fn a_password_in_a_file_others_can_read_is_warned_about() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ringdeck.toml");
    let write = |text: &str, mode: u32| {
        std::fs::write(&path, text).expect("write");
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(mode)).expect("chmod");
    };
    let inline = format!("{MINIMAL}password = \"s3cret-pw\"\n");
    write(&inline, 0o644);
    let cfg = Config::load(&path).expect("loads");
    assert_eq!(cfg.warnings.len(), 1, "{:?}", cfg.warnings);
    assert!(cfg.warnings[0].contains("mode 644") && cfg.warnings[0].contains("chmod 600"), "{}", cfg.warnings[0]);
    assert!(!cfg.warnings[0].contains("s3cret-pw"));
    write(&inline, 0o600);
    assert!(Config::load(&path).expect("loads").warnings.is_empty(), "a 600 file is private");
    write(&format!("{MINIMAL}password_env = \"DBPW\"\n"), 0o644);
    assert!(Config::load(&path).expect("loads").warnings.is_empty(), "no password in the file");
}

#[test]
fn my_cnf_debug_hides_the_password() {
    let cnf = secret::parse_my_cnf("[client]\nuser = ops\npassword = hunter2-pw\n");
    assert_eq!(cnf.password.as_deref(), Some("hunter2-pw"));
    let shown = format!("{cnf:?}");
    assert!(shown.contains("ops") && !shown.contains("hunter2"), "{shown}");
}

#[test]
fn tls_modes_as_the_mysql_clients_name_them() {
    let tls = |extra: &str| parse(&format!("{MINIMAL}[node.tls]\n{extra}")).map(|c| c.nodes[0].tls.clone().unwrap());
    assert_eq!(tls("").unwrap().mode(), SslMode::VerifyIdentity, "a [node.tls] verifies by default");
    assert_eq!(tls("verify_identity = false\nca = \"/ca.pem\"\n").unwrap().mode(), SslMode::VerifyCa);
    for (word, mode) in [
        ("disabled", SslMode::Disabled),
        ("preferred", SslMode::Preferred),
        ("required", SslMode::Required),
        ("verify_identity", SslMode::VerifyIdentity),
    ] {
        assert_eq!(tls(&format!("ssl_mode = \"{word}\"\n")).unwrap().mode(), mode);
    }
    let e = tls("ssl_mode = \"verify_ca\"\n").unwrap_err();
    assert!(e.message.contains("needs ca"), "{e}");
    let e = tls("cert = \"/c.pem\"\n").unwrap_err();
    assert!(e.message.contains("cert and key together"), "{e}");
    let e = tls("ssl_mode = \"sometimes\"\n").unwrap_err();
    assert!(e.to_string().contains("ssl_mode") || e.message.contains("unknown variant"), "{e}");
    let both = tls("ssl_mode = \"verify_ca\"\nca = \"/ca.pem\"\ncert = \"/c.pem\"\nkey = \"/k.pem\"\n").unwrap();
    assert_eq!((both.mode(), both.cert.is_some(), both.key.is_some()), (SslMode::VerifyCa, true, true));
}

#[test]
fn replication_tls_settings_are_read() {
    let cfg = parse(&format!(
        "{MINIMAL}replication_ssl = true\nreplication_ssl_ca = \"/etc/mysql/ca.pem\"\n\
         replication_ssl_verify_server_cert = true\nreplication_get_public_key = true\n"
    ))
    .unwrap();
    let n = &cfg.nodes[0];
    assert_eq!(n.replication_ssl, Some(true));
    assert_eq!(n.replication_ssl_ca.as_deref(), Some("/etc/mysql/ca.pem"));
    assert_eq!((n.replication_ssl_verify_server_cert, n.replication_get_public_key), (Some(true), Some(true)));
}
