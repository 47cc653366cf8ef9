//! Snapshot tests of the whole console rendered from model states: healthy, broken, node down.

use std::path::Path;
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ringdeck::app::App;
use ringdeck::collect::{Payload, TargetId, Update};
use ringdeck::config::Config;
use ringdeck::model::apache::parse_auto;
use ringdeck::model::haproxy::parse_csv;
use ringdeck::model::replication::*;
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

fn state(broken_node2: bool, node3_down: bool) -> (App, Instant) {
    let cfg = Config::parse(CFG, Path::new("lab.toml")).unwrap();
    let mut app = App::new(&cfg, "lab.toml");
    let now = Instant::now();
    let send = |app: &mut App, target, result| {
        app.apply(Update { target, at: now, result });
    };
    for i in 0..3u32 {
        let r = if i == 2 && node3_down {
            Err("2003 Can't connect to server on '127.0.0.1' (111)".to_string())
        } else {
            Ok(Payload::Node(Box::new(node(i + 1, broken_node2 && i == 1))))
        };
        send(&mut app, TargetId::Node(i as usize), r);
    }
    send(&mut app, TargetId::Haproxy(0), Ok(Payload::Haproxy(parse_csv(CSV).unwrap())));
    for (i, busy) in [(0usize, 4u32), (1, 18)] {
        send(&mut app, TargetId::Apache(i), Ok(Payload::Apache(parse_auto(&apache(busy, 100, 100)).unwrap())));
        send(&mut app, TargetId::Apache(i), Ok(Payload::Apache(parse_auto(&apache(busy, 120, 102)).unwrap())));
    }
    for ms in [3u64, 4, 3, 5, 40, 3] {
        send(&mut app, TargetId::Probe(0), Ok(Payload::Probe(Duration::from_millis(ms))));
    }
    send(&mut app, TargetId::Probe(0), Err("connection refused".into()));
    for ms in [1u64, 1, 2] {
        send(&mut app, TargetId::Probe(1), Ok(Payload::Probe(Duration::from_micros(ms * 700))));
    }
    (app, now)
}

fn render(app: &App, now: Instant, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    let theme = Theme::builtin(false);
    term.draw(|f| ringdeck::ui::render(f, app, &theme, now)).unwrap();
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
    app.act(ringdeck::app::action::Action::Step(ringdeck::app::action::StepKey::Skip));
    assert!(app.requests.is_empty(), "nothing is planned or run");
    let screen = render(&app, now, 120, 36);
    assert!(screen.contains("read-only: refusing skip on node1"), "{screen}");
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
        vec![ringdeck::app::state::Request::Plan {
            action: ringdeck::runbook::StepAction::Skip { count: 2 },
            node: "node2".into()
        }]
    );
}
