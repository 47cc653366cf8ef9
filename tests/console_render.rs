//! Snapshot tests of the whole console rendered from model states: healthy, broken, node down.

use std::path::Path;
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ringdeck::app::App;
use ringdeck::collect::{Polled, Update};
use ringdeck::config::Config;
use ringdeck::model::apache::parse_auto;
use ringdeck::model::haproxy::{HaproxyStats, parse_csv};
use ringdeck::model::replication::*;
use ringdeck::ui::PaneCache;
use ringdeck::ui::theme::Theme;

const CFG: &str = r#"
[[node]]
name = "node1"
host = "127.0.0.1"
port = 33301
[[node]]
name = "node2"
host = "127.0.0.1"
port = 33302
[[node]]
name = "node3"
host = "127.0.0.1"
port = 33303
[[haproxy]]
name = "lb"
stats_url = "http://127.0.0.1:33390/stats"
[[apache]]
name = "web1"
status_url = "http://127.0.0.1:33381/server-status"
[[apache]]
name = "web2"
status_url = "http://127.0.0.1:33382/server-status"
[[probe]]
name = "site"
http = "http://127.0.0.1:33380/"
[[probe]]
name = "node1 sql"
sql = "node1"
"#;

fn link(up_port: u16, up_id: u32, sql_errno: u32) -> ReplicaLink {
    ReplicaLink {
        connection: String::new(),
        master_host: "127.0.0.1".into(),
        master_port: up_port,
        master_server_id: Some(up_id),
        io: IoState::Running,
        sql_running: sql_errno == 0,
        last_io_errno: 0,
        last_io_error: String::new(),
        last_sql_errno: sql_errno,
        last_sql_error: if sql_errno == 1062 {
            "Could not execute Write_rows_v1 event on table app.posts; Duplicate entry '1000' for key 'PRIMARY', Error_code: 1062".into()
        } else {
            String::new()
        },
        seconds_behind: (sql_errno == 0).then_some(0),
        master_log_file: format!("binlog-n{up_id}.000002"),
        read_master_log_pos: 1200,
        relay_master_log_file: format!("binlog-n{up_id}.000002"),
        exec_master_log_pos: if sql_errno == 0 { 1200 } else { 900 },
        sql_state: String::new(),
        using_gtid: "No".into(),
        gtid_io_pos: String::new(),
        props: Default::default(),
    }
}

fn node(i: u32, broken: bool) -> NodeStatus {
    let up = if i == 1 { 3 } else { i - 1 };
    NodeStatus {
        version: "10.11.19-MariaDB-0+deb12u1-log".into(),
        dialect: Dialect::MariaDb,
        vars: NodeVars {
            server_id: i,
            hostname: "lab".into(),
            auto_increment_increment: 3,
            auto_increment_offset: i,
            log_slave_updates: true,
            max_connections: 151,
            ..Default::default()
        },
        counters: NodeCounters { uptime: 3600, threads_connected: 4, threads_running: 1, questions: 10 },
        binlog: Some(BinlogPos { file: format!("binlog-n{i}.000002"), position: 1200 }),
        links: vec![link(33300 + up as u16, up, if broken { 1062 } else { 0 })],
        processes: if i == 3 {
            vec![Process {
                id: 77,
                user: "ringdeck".into(),
                host: "127.0.0.1:50000".into(),
                db: "app".into(),
                command: "Query".into(),
                time: 12.5,
                state: "User sleep".into(),
                info: "SELECT SLEEP(30)".into(),
            }]
        } else {
            vec![]
        },
        digests: Some(if i == 1 {
            use ringdeck::model::digest::{Digest, Digests};
            Digests::Rows(vec![
                Digest {
                    schema: "app".into(),
                    text: "SELECT * FROM `posts` WHERE `author` = ? ORDER BY `created` DESC".into(),
                    count: 12000,
                    total: 84.5,
                    avg: 0.00704,
                    rows_examined: 9_600_000,
                },
                Digest {
                    schema: "app".into(),
                    text: "INSERT INTO `posts` VALUES (...)".into(),
                    count: 300,
                    total: 1.2,
                    avg: 0.004,
                    rows_examined: 0,
                },
            ])
        } else {
            ringdeck::model::digest::Digests::Unavailable(ringdeck::model::digest::OFF_HINT.into())
        }),
    }
}

const CSV: &str = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,status,weight,bck,rate,hrsp_5xx,check_status\nweb_front,FRONTEND,,,1,3,2000,40,OPEN,,,1,0,\nweb,web1,0,0,1,2,,20,UP,1,0,1,0,L7OK\nweb,web2,0,0,0,1,,20,MAINT,1,0,0,0,\nweb,BACKEND,0,0,1,2,200,40,UP,1,0,1,0,\n";

fn apache(busy: u32, acc: u64, up: u64) -> String {
    format!(
        "ServerVersion: Apache/2.4.62 (Debian)\nServerMPM: event\nUptime: {up}\nTotal Accesses: {acc}\nTotal kBytes: {acc}\nBusyWorkers: {busy}\nIdleWorkers: {}\nScoreboard: {}\n",
        20 - busy,
        "W".repeat(busy as usize) + &"_".repeat(20 - busy as usize)
    )
}

fn probe(took: Duration, retried: Option<String>) -> ringdeck::collect::ProbeSample {
    ringdeck::collect::ProbeSample { took, retried }
}

fn polled<T>(index: usize, at: Instant, result: Result<T, ringdeck::collect::PollError>) -> Polled<T> {
    Polled { index, at, result }
}

fn state(broken_node2: bool, node3_down: bool) -> (App, Instant) {
    let cfg = Config::parse(CFG, Path::new("lab.toml")).unwrap();
    let mut app = App::new(&cfg, "lab.toml");
    let now = Instant::now();
    for i in 0..3u32 {
        let r = if i == 2 && node3_down {
            Err("2003 Can't connect to server on '127.0.0.1' (111)".into())
        } else {
            Ok(Box::new(node(i + 1, broken_node2 && i == 1)))
        };
        app.apply(Update::Node(polled(i as usize, now, r)));
    }
    let stats = HaproxyStats { rows: parse_csv(CSV).unwrap(), info: None, info_error: None };
    app.apply(Update::Haproxy(polled(0, now, Ok(stats))));
    for (i, busy) in [(0usize, 4u32), (1, 18)] {
        app.apply(Update::Apache(polled(i, now, Ok(parse_auto(&apache(busy, 100, 100)).unwrap()))));
        app.apply(Update::Apache(polled(i, now, Ok(parse_auto(&apache(busy, 120, 102)).unwrap()))));
    }
    for ms in [3u64, 4, 3, 5, 40, 3] {
        // The slow one had its kept-alive connection closed by HAProxy and was sent again.
        let retried = (ms == 40).then(|| "kept-alive connection closed before an answer".to_string());
        app.apply(Update::Probe(polled(0, now, Ok(probe(Duration::from_millis(ms), retried)))));
    }
    app.apply(Update::Probe(polled(0, now, Err("connection refused".into()))));
    for ms in [1u64, 1, 2] {
        app.apply(Update::Probe(polled(1, now, Ok(probe(Duration::from_micros(ms * 700), None)))));
    }
    (app, now)
}

fn render(app: &App, now: Instant, w: u16, h: u16) -> String {
    render_kept(app, now, w, h, &mut Default::default())
}

/// The screen drawn with `kept`: the panes it holds whose data did not change are copied.
fn render_kept(app: &App, now: Instant, w: u16, h: u16, kept: &mut PaneCache) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    let theme = Theme::builtin(false);
    term.draw(|f| ringdeck::ui::render(f, app, &theme, now, kept)).unwrap();
    let buf = term.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        for x in 0..w {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[test]
fn healthy_lab_120x36() {
    let (app, now) = state(false, false);
    let screen = render(&app, now, 120, 36);
    assert!(screen.contains("node1 ──▶ node2 ──▶ node3 ──▶ node1"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn broken_link_80x24() {
    let (mut app, now) = state(true, false);
    app.selected[0] = 1;
    let screen = render(&app, now, 80, 24);
    assert!(screen.contains("node1 ──✗ node2"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn node_down_160x45() {
    let (app, now) = state(false, true);
    let screen = render(&app, now, 160, 45);
    assert!(screen.contains("DOWN"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn stale_after_silence() {
    let (app, now) = state(false, false);
    let later = now + Duration::from_secs(10);
    let screen = render(&app, later, 120, 36);
    assert!(screen.contains("stale 10s"), "{screen}");
}

#[test]
fn help_overlay_lists_bindings() {
    let (mut app, now) = state(false, false);
    app.act(ringdeck::app::action::Action::Help);
    let screen = render(&app, now, 100, 30);
    assert!(screen.contains("quit"), "{screen}");
    assert!(screen.contains("next pane"), "{screen}");
}

#[test]
fn zoomed_ring_shows_node_detail_and_evidence() {
    let (mut app, now) = state(true, false);
    app.selected[0] = 1;
    app.act(ringdeck::app::action::Action::Zoom);
    let screen = render(&app, now, 160, 45);
    assert!(screen.contains("SQL error 1062"), "{screen}");
    assert!(screen.contains("most complete data: node1"), "{screen}");
    assert!(screen.contains("node2 executed node1's binlog up to binlog-n1.000002:900"), "{screen}");
    insta::assert_snapshot!(screen);
}

fn skip_step() -> ringdeck::runbook::Step {
    use ringdeck::runbook::*;
    Step {
        action: StepAction::Skip { count: 1 },
        node: "node2".into(),
        title: "skip 1 event on node2".into(),
        statements: vec!["STOP SLAVE".into(), "SET GLOBAL sql_slave_skip_counter = 1".into(), "START SLAVE".into()],
        preconditions: vec![Condition { what: "SQL thread stopped on an error".into(), ok: None, seen: String::new() }],
        postconditions: vec![Condition {
            what: "SQL thread running without error".into(),
            ok: None,
            seen: String::new(),
        }],
        effect: "node2 skips the event that failed with 1062 and goes on replicating from node1".into(),
        warnings: vec!["the skipped event is never applied on node2 nor passed on to node3".into()],
        danger: Danger::Medium,
    }
}

#[test]
fn confirm_dialog_defaults_to_cancel_and_shows_live_checks() {
    use ringdeck::runbook::Condition;
    let (mut app, now) = state(true, false);
    app.open_confirm(skip_step());
    let screen = render(&app, now, 120, 36);
    assert!(screen.contains("SET GLOBAL sql_slave_skip_counter = 1;"), "{screen}");
    assert!(screen.contains("checking live"), "{screen}");
    let id = match &app.dialog {
        Some(ringdeck::app::dialog::Dialog::Confirm(c)) => c.id,
        _ => panic!("confirm dialog open"),
    };
    let live = vec![Condition { what: "SQL thread stopped on an error".into(), ok: Some(true), seen: "1062".into() }];
    assert!(app.live_preconditions(id, live));
    let screen = render(&app, now, 120, 36);
    assert!(screen.contains("✓ SQL thread stopped on an error  (1062)"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn read_only_refuses_before_planning() {
    let (mut app, now) = state(true, false);
    app.read_only = true;
    app.act(ringdeck::app::action::Action::Step(ringdeck::app::action::StepName::Skip));
    assert!(app.requests.is_empty(), "nothing is planned or run");
    let screen = render(&app, now, 120, 36);
    assert!(screen.contains("refused: ringdeck is read-only; skip on node1 was not run"), "{screen}");
    assert!(screen.contains("READ-ONLY"), "{screen}");
}

#[test]
fn command_line_shows_errors_in_place() {
    let (mut app, now) = state(true, false);
    app.act(ringdeck::app::action::Action::CommandLine);
    for c in "skip nodeX".chars() {
        app.dialog_key(&crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char(c),
            crossterm::event::KeyModifiers::NONE,
        ));
    }
    app.dialog_key(&crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Enter,
        crossterm::event::KeyModifiers::NONE,
    ));
    let screen = render(&app, now, 120, 36);
    assert!(screen.contains(":skip nodeX"), "{screen}");
    assert!(screen.contains("no node named \"nodeX\""), "{screen}");
    // A good command asks for the step to be planned on the named node.
    app.dialog = None;
    app.act(ringdeck::app::action::Action::CommandLine);
    for c in "skip 2 node2".chars() {
        app.dialog_key(&crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char(c),
            crossterm::event::KeyModifiers::NONE,
        ));
    }
    app.dialog_key(&crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Enter,
        crossterm::event::KeyModifiers::NONE,
    ));
    assert_eq!(
        app.requests,
        vec![ringdeck::app::request::Request::Plan {
            action: ringdeck::runbook::StepAction::Skip { count: 2 },
            node: "node2".into()
        }]
    );
}

// ---- HAProxy and Apache panes ----

use ringdeck::app::action::{Action, Pane, ServerKey};
use ringdeck::app::request::Request;
use ringdeck::model::apache_workers::{in_flight, parse_workers};
use ringdeck::model::haproxy::parse_info;

const QUEUE_CSV: &str = include_str!("fixtures/haproxy-2.6-show-stat-backend-queue.csv");
const SHOW_INFO: &str = include_str!("fixtures/haproxy-2.6-show-info.txt");
const SLOW_HTML: &str = include_str!("fixtures/apache-2.4-server-status-extended-slow-20.html");

fn key(app: &mut App, c: char) {
    app.dialog_key(&crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char(c),
        crossterm::event::KeyModifiers::NONE,
    ));
}

fn recorded_stats(csv: &str) -> HaproxyStats {
    HaproxyStats { rows: parse_csv(csv).unwrap(), info: Some(parse_info(SHOW_INFO).unwrap()), info_error: None }
}

/// The lab's HAProxy recorded with a queue on backend `web` (seed 002's "never see one").
fn haproxy_state() -> (App, Instant) {
    let (mut app, now) = state(false, false);
    app.apply(Update::Haproxy(Polled { index: 0, at: now, result: Ok(recorded_stats(QUEUE_CSV)) }));
    app.act(Action::Focus(Pane::Haproxy));
    (app, now)
}

fn select(app: &mut App, proxy: &str, server: &str) {
    for _ in 0..50 {
        if app.hap.selected_row(&app.data.haproxies).is_some_and(|(_, r)| r.proxy == proxy && r.server == server) {
            return;
        }
        app.act(Action::Down);
    }
    panic!("no row {proxy}/{server}");
}

#[test]
fn haproxy_pane_zoomed_shows_queue_and_server_detail() {
    let (mut app, now) = haproxy_state();
    select(&mut app, "web", "web1");
    app.act(Action::Zoom);
    let screen = render(&app, now, 160, 45);
    assert!(screen.contains("HAProxy 2.6.12-1+deb12u4"), "{screen}");
    assert!(screen.contains("▲ 5 queued"), "the instance says connections wait: {screen}");
    assert!(screen.contains("▲5/5"), "the backend's queue is marked: {screen}");
    assert!(screen.contains("web/web1 UP  server on lb  addr 127.0.0.1:47781"), "{screen}");
    assert!(screen.contains("Layer7 check passed"), "{screen}");
    assert!(screen.contains("d:drain"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn two_haproxy_instances_side_by_side() {
    let cfg = Config::parse(
        "[[haproxy]]\nname = \"lb-active\"\nsocket = \"/run/a.sock\"\n[[haproxy]]\nname = \"lb-passive\"\nsocket = \"/run/b.sock\"\n",
        Path::new("pair.toml"),
    )
    .unwrap();
    let mut app = App::new(&cfg, "pair.toml");
    let now = Instant::now();
    app.apply(Update::Haproxy(Polled { index: 0, at: now, result: Ok(recorded_stats(QUEUE_CSV)) }));
    let passive = include_str!("fixtures/haproxy-2.6-show-stat-web2-maint.csv");
    app.apply(Update::Haproxy(Polled { index: 1, at: now, result: Ok(recorded_stats(passive)) }));
    app.act(Action::Focus(Pane::Haproxy));
    app.act(Action::Zoom);
    let screen = render(&app, now, 160, 30);
    let title = screen.lines().find(|l| l.contains("lb-active up")).unwrap_or_else(|| panic!("{screen}"));
    assert!(title.contains("lb-passive up"), "both titles on one line: {screen}");
    let halves = |l: &str| {
        let c: Vec<char> = l.chars().collect();
        let mid = c.len() / 2;
        (c[..mid].iter().collect::<String>(), c[mid..].iter().collect::<String>())
    };
    assert!(screen.lines().any(|l| halves(l).0.contains("▲5/5")), "lb-active on the left: {screen}");
    assert!(screen.lines().any(|l| halves(l).1.contains("MAINT")), "lb-passive on the right: {screen}");
    insta::assert_snapshot!(screen);

    // The passive instance going away shows as DOWN with its error, its last rows dimmed.
    let later = now + Duration::from_secs(1);
    app.apply(Update::Haproxy(Polled {
        index: 1,
        at: later,
        result: Err("stats socket /run/b.sock: No such file or directory (os error 2)".into()),
    }));
    let screen = render(&app, later, 160, 30);
    assert!(screen.contains("lb-passive DOWN") && screen.contains("No such file"), "{screen}");
}

#[test]
fn haproxy_filter_sort_and_a_selection_that_follows_its_server() {
    let (mut app, now) = haproxy_state();
    select(&mut app, "web", "web2");
    // Sorting by queue reorders the proxies; the selection stays on web2.
    app.act(Action::Sort { forward: true });
    app.act(Action::Sort { forward: true });
    app.act(Action::Sort { forward: true });
    assert_eq!(app.hap.sort, ringdeck::app::hapview::SortKey::Queue);
    let screen = render(&app, now, 120, 36);
    assert!(screen.contains("sort queue"), "{screen}");
    let (_, r) = app.hap.selected_row(&app.data.haproxies).unwrap();
    assert_eq!((r.proxy.as_str(), r.server.as_str()), ("web", "web2"));
    let web_line = screen.lines().position(|l| l.contains("web (be)")).unwrap();
    let mysql_line = screen.lines().position(|l| l.contains("mysql (be)")).unwrap();
    assert!(web_line < mysql_line, "the queued backend first: {screen}");
    // `/` filters as it is typed; enter keeps it, esc clears it.
    app.act(Action::Filter);
    for c in "node2".chars() {
        key(&mut app, c);
    }
    let screen = render(&app, now, 120, 36);
    assert!(screen.contains("/node2▏"), "{screen}");
    let hap: String = screen.lines().take(16).map(|l| l.chars().skip(60).collect::<String>() + "\n").collect();
    assert!(hap.contains("  node2 bk") && !hap.contains("web1") && !hap.contains("node1"), "{screen}");
    app.dialog_key(&crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Enter,
        crossterm::event::KeyModifiers::NONE,
    ));
    assert_eq!(app.hap.filter, "node2");
    app.act(Action::Filter);
    for c in "zzz".chars() {
        key(&mut app, c);
    }
    let screen = render(&app, now, 120, 36);
    assert!(screen.contains("no row matches the filter"), "{screen}");
    app.dialog_key(&crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Esc,
        crossterm::event::KeyModifiers::NONE,
    ));
    assert_eq!(app.hap.filter, "", "esc clears the filter");
}

#[test]
fn server_keys_plan_a_step_on_the_selected_server_only() {
    let (mut app, _) = haproxy_state();
    // Outside the HAProxy pane the key says where to go, nothing is planned.
    app.act(Action::Focus(Pane::Ring));
    app.act(Action::Server(ServerKey::Drain));
    assert!(app.requests.is_empty());
    assert!(app.message.as_deref().unwrap_or("").contains("HAProxy pane"), "{:?}", app.message);
    // On a backend aggregate: refused with a hint.
    app.act(Action::Focus(Pane::Haproxy));
    select(&mut app, "web", "BACKEND");
    app.act(Action::Server(ServerKey::Drain));
    assert!(app.requests.is_empty());
    assert!(app.message.as_deref().unwrap_or("").contains("select one of its servers"), "{:?}", app.message);
    select(&mut app, "web", "web1");
    app.act(Action::Server(ServerKey::Drain));
    assert_eq!(
        app.requests,
        vec![Request::Plan {
            action: ringdeck::runbook::StepAction::HaproxyServer {
                haproxy: "lb".into(),
                server: "web/web1".into(),
                op: ringdeck::runbook::ServerOp::Drain
            },
            node: "lb".into()
        }]
    );
    app.requests.clear();
    // `w` opens `:weight `; the typed number goes to the same server.
    app.act(Action::Server(ServerKey::Weight));
    for c in "50".chars() {
        key(&mut app, c);
    }
    app.dialog_key(&crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Enter,
        crossterm::event::KeyModifiers::NONE,
    ));
    assert!(
        matches!(
            &app.requests[..],
            [Request::Plan { action: ringdeck::runbook::StepAction::HaproxyServer { op: ringdeck::runbook::ServerOp::Weight(50), server, .. }, .. }] if server == "web/web1"
        ),
        "{:?}",
        app.requests
    );
    // Read-only refuses on the spot.
    app.requests.clear();
    app.read_only = true;
    app.act(Action::Server(ServerKey::Maint));
    assert!(app.requests.is_empty());
    assert_eq!(
        app.message.as_deref(),
        Some(
            "refused: ringdeck is read-only; maint web/web1 on lb was not run and nothing was changed \
             (--read-only or read_only = true in the config)"
        )
    );
}

#[test]
fn drain_confirm_dialog_shows_the_socket_command_and_the_reload_warning() {
    let (mut app, now) = haproxy_state();
    let with_socket = CFG.replacen(
        "stats_url = \"http://127.0.0.1:33390/stats\"\n",
        "stats_url = \"http://127.0.0.1:33390/stats\"\nsocket = \"/tmp/lab/haproxy.sock\"\n",
        1,
    );
    let cfg = Config::parse(&with_socket, Path::new("lab.toml")).unwrap();
    let action = ringdeck::runbook::StepAction::HaproxyServer {
        haproxy: "lb".into(),
        server: "web/web1".into(),
        op: ringdeck::runbook::ServerOp::Drain,
    };
    let rows = app.data.haproxies[0].last.as_ref().map(|s| s.rows.clone());
    let step = ringdeck::runbook::haproxy::plan(&action, &cfg, rows.as_deref()).unwrap();
    app.open_confirm(step);
    let screen = render(&app, now, 120, 36);
    assert!(screen.contains("set server web/web1 state drain"), "{screen}");
    assert!(!screen.contains("state drain;"), "no SQL semicolon after a socket command: {screen}");
    assert!(screen.contains("will send on the admin socket"), "{screen}");
    assert!(screen.contains("reloads"), "{screen}");
    assert!(screen.contains("[ Cancel ]"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn apache_pane_zoomed_lists_the_request_that_never_finishes() {
    let (mut app, now) = state(false, false);
    let mut st = parse_auto(include_str!("fixtures/apache-2.4-server-status-auto-under-load.txt")).unwrap();
    st.in_flight = Some(in_flight(&parse_workers(SLOW_HTML).unwrap()));
    let mut st2 = st.clone();
    st2.uptime = st.uptime.map(|u| u + 2);
    st2.total_accesses = st.total_accesses.map(|a| a + 30);
    st2.total_kbytes = st.total_kbytes.map(|k| k + 12);
    app.apply(Update::Apache(Polled { index: 0, at: now, result: Ok(st) }));
    app.apply(Update::Apache(Polled { index: 0, at: now, result: Ok(st2) }));
    app.apply(Update::Apache(Polled { index: 1, at: now, result: Err("connection refused or unreachable".into()) }));
    let screen = render(&app, now, 160, 45);
    assert!(screen.contains("GET /slow?seconds=20 HTTP/1.1"), "the unzoomed pane lists it too: {screen}");
    app.act(Action::Focus(Pane::Apache));
    app.act(Action::Zoom);
    let screen = render(&app, now, 160, 45);
    let slow = screen.lines().position(|l| l.contains("GET /slow?seconds=20")).unwrap_or_else(|| panic!("{screen}"));
    let shorter = screen.lines().position(|l| l.contains("GET /slow?seconds=6")).unwrap();
    assert!(slow < shorter, "longest first: {screen}");
    assert!(screen.contains("15.0 req/s"), "{screen}");
    assert!(screen.contains("web2   DOWN connection refused"), "{screen}");
    assert!(screen.contains("scoreboard W__W______.........."), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn queries_pane_zoomed_shows_the_statement_its_explain_and_kills_only_it() {
    use ringdeck::app::action::{Action, Pane};
    use ringdeck::app::queryview::{Explain, QueryKey};
    use ringdeck::app::request::Request;
    let (mut app, now) = state(false, false);
    // Outside the queries pane, x only says where to go.
    app.act(Action::Kill { connection: false });
    assert!(app.requests.is_empty(), "nothing planned from another pane");
    assert!(app.message.as_deref().unwrap_or("").contains("Slow queries"));
    app.message = None;
    app.act(Action::Focus(Pane::Queries));
    app.act(Action::Zoom);
    let asked = app.requests.iter().any(|r| matches!(r, Request::Explain { node, id: 77, db, sql } if node == "node3" && db == "app" && sql == "SELECT SLEEP(30)"));
    assert!(asked, "the drill-in asks for the EXPLAIN: {:?}", app.requests);
    app.requests.clear();
    let cols = ["id", "select_type", "table", "type", "possible_keys", "key", "key_len", "ref", "rows", "Extra"];
    let row = ["1", "SIMPLE", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "No tables used"];
    assert!(app.explained(Explain {
        key: QueryKey { node: "node3".into(), id: 77 },
        statement: "SELECT SLEEP(30)".into(),
        result: Ok((cols.map(String::from).to_vec(), vec![row.map(String::from).to_vec()])),
    }));
    let screen = render(&app, now, 120, 36);
    assert!(screen.contains("77 on node3"), "{screen}");
    assert!(screen.contains("No tables used"), "{screen}");
    assert!(screen.contains("node1 conn 4/151 run 1"), "{screen}");
    insta::assert_snapshot!(screen);

    // The filter: nothing matches, then node3 does.
    app.act(Action::Filter);
    for c in "nomatch".chars() {
        key(&mut app, c);
    }
    let screen = render(&app, now, 120, 36);
    assert!(screen.contains("no running statement matches /nomatch"), "{screen}");
    app.dialog = None;
    app.queries.filter = "sleep".into();
    // x plans a kill of the selected thread on its node.
    app.act(Action::Kill { connection: true });
    let planned = app.requests.iter().any(|r| matches!(r, Request::Plan { action: ringdeck::runbook::StepAction::Kill { id: 77, connection: true, .. }, node } if node == "node3"));
    assert!(planned, "{:?}", app.requests);
    // Read-only refuses before planning.
    app.requests.clear();
    app.read_only = true;
    app.act(Action::Kill { connection: false });
    assert!(app.requests.is_empty());
    assert!(
        app.message
            .as_deref()
            .unwrap_or("")
            .contains("refused: ringdeck is read-only; kill query on node3 was not run"),
        "{:?}",
        app.message
    );
}

#[test]
fn kill_confirm_dialog_shows_the_statement_and_defaults_to_cancel() {
    let (mut app, now) = state(false, false);
    let cfg = Config::parse(CFG, Path::new("lab.toml")).unwrap();
    let st = node(3, false);
    let action = ringdeck::runbook::StepAction::Kill { id: 77, connection: false, statement: String::new() };
    let step = ringdeck::runbook::plan(&action, "node3", &cfg, &[("node3", Some(&st))]).unwrap();
    app.open_confirm(step);
    let screen = render(&app, now, 120, 36);
    assert!(screen.contains("KILL QUERY 77"), "{screen}");
    assert!(screen.contains("SELECT SLEEP(30)"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn probes_pane_zoomed_shows_min_avg_p95_max_and_failures_as_marks() {
    use ringdeck::app::action::{Action, Pane};
    let (mut app, now) = state(false, false);
    app.act(Action::Focus(Pane::Probes));
    app.act(Action::Zoom);
    let screen = render(&app, now, 120, 12);
    assert!(screen.contains("min") && screen.contains("avg") && screen.contains("p95"), "{screen}");
    assert!(screen.contains("FAIL") && screen.contains("✗1"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn quit_while_a_step_runs_asks_with_cancel_first_even_at_80x24() {
    let (mut app, now) = state(true, false);
    app.background =
        Some(ringdeck::app::dialog::Running { id: 7, step: skip_step(), events: Vec::new(), outcome: None });
    app.ask_quit();
    assert!(!app.should_quit());
    for (w, h) in [(80, 24), (160, 45)] {
        let screen = render(&app, now, w, h);
        for want in
            ["quit while a write runs?", "skip 1 event on node2", "[ Cancel ]", "[ Quit when it ends ]", "[ Quit now ]"]
        {
            assert!(screen.contains(want), "{w}x{h} lacks {want:?}:\n{screen}");
        }
    }
    insta::assert_snapshot!(render(&app, now, 80, 24));
}

#[test]
fn an_agent_drained_server_shows_its_reason_and_its_node_out_of_the_pool() {
    let (mut app, now) = state(true, false);
    let csv = include_str!("fixtures/haproxy-2.6-show-stat-agent-drain.csv");
    app.apply(Update::Haproxy(Polled { index: 0, at: now, result: Ok(recorded_stats(csv)) }));
    let screen = render(&app, now, 160, 45);
    assert!(screen.contains("node2 bk       DRAIN (agent)"), "{screen}");
    assert!(screen.contains("from node1: SQL"), "the agent's reason in the HAProxy pane: {screen}");
    let ring_row = screen.lines().find(|l| l.contains("node2") && l.contains("SQL✗")).unwrap_or_default();
    assert!(ring_row.contains("out: mysql DRAIN (agent)"), "the ring pane marks node2 out of the pool: {ring_row}");
    let one = screen.lines().find(|l| l.contains("● node1") && l.contains("IO✓")).unwrap_or_default();
    assert!(!one.contains("out:"), "{one}");
    app.act(Action::Focus(Pane::Haproxy));
    select(&mut app, "mysql", "node2");
    app.act(Action::Zoom);
    let screen = render(&app, now, 160, 45);
    assert!(screen.contains("agent    L7OK: from node1: SQL stopped 1062 Duplicate entry '1009'"), "{screen}");
}

/// A pane copied from the frame before is what drawing it afresh shows, through keys, new
/// samples and time passing; a key copies the panes it did not touch.
#[test]
fn kept_panes_are_what_a_fresh_frame_draws() {
    use ringdeck::model::topology::{Thresholds, Topology};
    let (mut app, now) = state(false, false);
    // One screen per size, copying as a release build does (a debug build draws and compares).
    let sizes = [(160u16, 45u16), (80, 24)];
    let mut kept = [PaneCache::new(false), PaneCache::new(false)];
    let mut check = |app: &App, at: Instant, what: &str| {
        // The ring model kept between frames is the one the samples make now.
        let th = Thresholds { stale_after: app.data.stale_after(), ..Thresholds::default() };
        let mut fresh = Topology::build(&app.data.node_inputs(at), &th);
        fresh.add_findings(ringdeck::fork::findings(&app.data.forks));
        assert_eq!(*app.data.topology(at), fresh, "{what}: the kept ring model is stale");
        for ((w, h), kept) in sizes.iter().zip(kept.iter_mut()) {
            let fresh = render(app, at, *w, *h);
            assert_eq!(render_kept(app, at, *w, *h, kept), fresh, "{what} at {w}x{h}: a kept pane is stale");
        }
        (kept[0].hits, kept[0].misses)
    };
    check(&app, now, "first frame");
    let before = check(&app, now, "nothing changed");
    assert_eq!(check(&app, now, "nothing changed").0 - before.0, 5, "nothing changed: every pane copied");
    check(&app, now, "focus on queries");
    app.act(Action::Focus(Pane::Queries));
    let before = check(&app, now, "focus on queries");
    app.act(Action::Down);
    let after = check(&app, now, "j in queries");
    assert_eq!((after.0 - before.0, after.1 - before.1), (4, 1), "j in queries: the four other panes copied");
    // The focus moves from the slow queries to the probes: those two drawn again, the rest kept.
    app.act(Action::Focus(Pane::Probes));
    let moved = check(&app, now, "focus on probes");
    assert_eq!((moved.0 - after.0, moved.1 - after.1), (3, 2), "focus moved: the three other panes copied");
    app.act(Action::Focus(Pane::Queries));
    check(&app, now, "focus back on queries");
    // Polls that change only a node's counters: the ring (and its model) kept, the queries pane
    // (connections per node) drawn again. (First its lag history fills.)
    for _ in 0..12 {
        app.apply(Update::Node(polled(0, now, Ok(Box::new(node(1, false))))));
    }
    let before = check(&app, now, "node1 polled again");
    let mut busier = node(1, false);
    busier.counters.threads_connected = 40;
    app.apply(Update::Node(polled(0, now, Ok(Box::new(busier)))));
    let after = check(&app, now, "node1 busier");
    assert_eq!((after.0 - before.0, after.1 - before.1), (4, 1), "counters only: the ring pane kept");
    // A node's link breaks: the ring and the queries pane change.
    app.apply(Update::Node(polled(1, now, Ok(Box::new(node(2, true))))));
    check(&app, now, "node2 broken");
    app.act(Action::Focus(Pane::Ring));
    app.act(Action::Down);
    check(&app, now, "ring selection");
    app.zoom = true;
    check(&app, now, "ring zoomed");
    app.apply(Update::Node(polled(1, now, Ok(Box::new(node(2, false))))));
    check(&app, now, "node2 mended, zoomed");
    app.zoom = false;
    // A probe sample, an HAProxy sample, an Apache sample.
    app.apply(Update::Probe(polled(1, now, Ok(probe(Duration::from_millis(90), None)))));
    check(&app, now, "probe sample");
    app.apply(Update::Haproxy(Polled { index: 0, at: now, result: Ok(recorded_stats(QUEUE_CSV)) }));
    check(&app, now, "HAProxy queue");
    app.apply(Update::Apache(polled(0, now, Ok(parse_auto(&apache(19, 150, 104)).unwrap()))));
    check(&app, now, "Apache busier");
    // Time alone: every target goes stale, then its age grows, in the tenths of a second shown
    // below ten seconds and across the stale deadline (a node's finding appears past it).
    let deadline = app.data.stale_after().as_millis() as u64;
    let mut times =
        vec![deadline - 300, deadline, deadline + 300, deadline + 600, 4000, 4300, 4600, 5000, 9000, 30_000];
    times.sort();
    for ms in times {
        check(&app, now + Duration::from_millis(ms), &format!("{ms} ms later"));
    }
    app.apply(Update::Node(polled(2, now, Err("2003 Can't connect to server on '127.0.0.1' (111)".into()))));
    check(&app, now + Duration::from_secs(30), "node3 down");
}
