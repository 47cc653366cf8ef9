//! Property tests of everything ringdeck reads from the outside: the HAProxy CSV, `show info` and
//! `show servers state`, mod_status `?auto` and its HTML, the replica-status mapping, the config,
//! keymap and theme loaders. Inputs are recorded real answers (tests/fixtures) cut short at any
//! point, with bytes inserted, lines replaced or dropped, plus arbitrary text: whatever arrives,
//! the parsers answer `Ok` or `Err`, never panic; and what does not depend on the damage (the
//! column order of a CSV) gives the same answer.

use std::path::Path;

use proptest::prelude::*;
use ringdeck::config::Config;
use ringdeck::model::replication::{ReplicaLink, Row};
use ringdeck::model::{apache, apache_workers, haproxy, haproxy_runtime};

const CSV: &str = include_str!("fixtures/haproxy-2.6-show-stat-backend-queue.csv");
const CSV_OLD: &str = include_str!("fixtures/haproxy-1.8-show-stat-from-docs.csv");
const INFO: &str = include_str!("fixtures/haproxy-2.6-show-info.txt");
const SERVERS: &str = include_str!("fixtures/haproxy-2.6-show-servers-state-web1-drain-web2-maint.txt");
const AUTO: &str = include_str!("fixtures/apache-2.4-server-status-auto-under-load.txt");
const HTML: &str = include_str!("fixtures/apache-2.4-server-status-extended-slow-running.html");
const REPLICA: &str = include_str!("fixtures/mariadb-10.11-show-all-slaves-status-broken.txt");
const CONFIG: &str = include_str!("../ringdeck.example.toml");
const KEYMAP: &str = include_str!("../keymaps/default.toml");
const THEME: &str = include_str!("../themes/default.toml");

/// One way a real answer arrives damaged.
#[derive(Clone, Debug)]
enum Damage {
    /// Cut off after this many chars (a truncated read).
    Truncate(usize),
    /// This text inserted at this char.
    Insert(usize, String),
    /// Line n replaced by this text.
    ReplaceLine(usize, String),
    /// Line n left out.
    DropLine(usize),
}

fn damage() -> impl Strategy<Value = Damage> {
    // Text with the characters that matter to these formats, and multibyte ones.
    let junk = "[-a-zA-Z0-9 ,;:=#\"'&<>/\\[\\]{}\n\t\u{e9}\u{2192}\u{1F600}]{0,40}";
    prop_oneof![
        (0usize..20_000).prop_map(Damage::Truncate),
        (0usize..20_000, junk).prop_map(|(i, s)| Damage::Insert(i, s)),
        (0usize..200, junk).prop_map(|(i, s)| Damage::ReplaceLine(i, s)),
        (0usize..200).prop_map(Damage::DropLine),
    ]
}

fn apply(text: &str, damages: &[Damage]) -> String {
    let mut s = text.to_string();
    for d in damages {
        s = match d {
            Damage::Truncate(n) => s.chars().take(*n % (s.chars().count() + 1)).collect(),
            Damage::Insert(at, junk) => {
                let at = at % (s.chars().count() + 1);
                let mut out: String = s.chars().take(at).collect();
                out.push_str(junk);
                out.extend(s.chars().skip(at));
                out
            }
            Damage::ReplaceLine(n, junk) => {
                let mut lines: Vec<&str> = s.lines().collect();
                if !lines.is_empty() {
                    let i = n % lines.len();
                    lines[i] = junk;
                }
                lines.join("\n")
            }
            Damage::DropLine(n) => {
                let mut lines: Vec<&str> = s.lines().collect();
                if !lines.is_empty() {
                    lines.remove(n % lines.len());
                }
                lines.join("\n")
            }
        };
    }
    s
}

fn damaged(text: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec(damage(), 1..4).prop_map(move |ds| apply(text, &ds))
}

/// `\G` output to rows, as the fixtures are recorded.
fn rows_from_vertical(text: &str) -> Vec<Row> {
    text.split("*************************** ")
        .filter(|chunk| chunk.contains(':'))
        .map(|chunk| {
            chunk
                .lines()
                .skip(1)
                .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
                .map(|(k, v)| (k, if v == "NULL" { None } else { Some(v) }))
                .collect()
        })
        .collect()
}

/// The CSV with its columns in another order (the header and every line alike).
fn permute_columns(csv: &str, order: &[usize]) -> String {
    csv.lines()
        .map(|l| {
            let (prefix, body) = l.strip_prefix("# ").map_or(("", l), |b| ("# ", b));
            let cells: Vec<&str> = body.split(',').collect();
            let moved: Vec<&str> = order.iter().filter_map(|&i| cells.get(i).copied()).collect();
            format!("{prefix}{}", moved.join(","))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn with_user_file(name: &str, text: &str, f: impl FnOnce(&Path)) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(&path, text).expect("write");
    f(dir.path());
}

#[test]
fn the_recorded_answers_parse_whole() {
    assert!(haproxy::parse_csv(CSV).expect("csv").len() > 3);
    assert!(haproxy::parse_csv(CSV_OLD).expect("old csv").len() > 3);
    haproxy_runtime::parse_info(INFO).expect("show info");
    assert!(!haproxy_runtime::parse_servers_state(SERVERS).expect("servers state").is_empty());
    apache::parse_auto(AUTO).expect("?auto");
    assert!(!apache_workers::parse_workers(HTML).expect("html").is_empty());
    let rows = rows_from_vertical(REPLICA);
    assert!(!rows.is_empty());
    for r in &rows {
        ReplicaLink::from_row(r).expect("replica row");
    }
    Config::parse(CONFIG, Path::new("ringdeck.example.toml")).expect("config");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn haproxy_csv_never_panics(text in prop_oneof![damaged(CSV), damaged(CSV_OLD), ".{0,400}"]) {
        let _ = haproxy::parse_csv(&text);
    }

    #[test]
    fn haproxy_csv_column_order_does_not_matter(seed in any::<u64>()) {
        let width = CSV.lines().next().map_or(0, |h| h.split(',').count());
        let mut order: Vec<usize> = (0..width).collect();
        // Fisher-Yates with the seed, keeping `pxname` first so the header still starts "# pxname".
        let mut x = seed | 1;
        for i in (2..width).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            order.swap(i, 1 + (x as usize) % i);
        }
        let moved = permute_columns(CSV, &order);
        prop_assert_eq!(haproxy::parse_csv(&moved), haproxy::parse_csv(CSV));
    }

    #[test]
    fn haproxy_runtime_answers_never_panic(info in damaged(INFO), servers in damaged(SERVERS), any in ".{0,300}") {
        let _ = haproxy_runtime::parse_info(&info);
        let _ = haproxy_runtime::parse_servers_state(&servers);
        let _ = haproxy_runtime::parse_info(&any);
        let _ = haproxy_runtime::parse_servers_state(&any);
    }

    #[test]
    fn mod_status_auto_and_html_never_panic(auto in damaged(AUTO), html in damaged(HTML), any in ".{0,300}") {
        let _ = apache::parse_auto(&auto);
        let _ = apache_workers::parse_workers(&html);
        let _ = apache::parse_auto(&any);
        let _ = apache_workers::parse_workers(&any);
    }

    #[test]
    fn replica_status_mapping_never_panics(
        text in damaged(REPLICA),
        column in 0usize..80,
        value in prop::option::of(".{0,30}"),
    ) {
        for mut row in rows_from_vertical(&text) {
            if !row.is_empty() {
                let i = column % row.len();
                row[i].1 = value.clone();
            }
            let _ = ReplicaLink::from_row(&row);
        }
    }

    #[test]
    fn config_loader_never_panics(text in prop_oneof![damaged(CONFIG), ".{0,300}"]) {
        if let Err(e) = Config::parse(&text, Path::new("ringdeck.toml")) {
            // A refused config says where: the file, and a line when the parser knows one.
            prop_assert!(e.to_string().starts_with("ringdeck.toml"), "{}", e);
        }
    }

    #[test]
    fn keymap_and_theme_loaders_never_panic(keymap in damaged(KEYMAP), theme in damaged(THEME)) {
        with_user_file("keymap.toml", &keymap, |dir| {
            let _ = ringdeck::app::keymap::Keymap::load(Some(dir));
        });
        with_user_file("themes/default.toml", &theme, |dir| {
            let _ = ringdeck::ui::theme::Theme::load("default", Some(dir), true);
        });
    }
}
