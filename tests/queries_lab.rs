//! The slow queries pane on a real lab: a `SELECT SLEEP(30)` on node3 (a thread of the test keeps
//! its connection) is at the top of the pane within a poll with its time growing, `x` kills it
//! through the runbook engine (confirm dialog with the statement, Cancel first) and the kill is
//! audited. `ringdeck run kill-query` does the same from the shell; `--read-only` refuses it.

mod common;

use std::time::{Duration, Instant};

use common::tmux::Tmux;
use common::{Lab, audit_lines, rd};

/// The data rows of the zoomed queries pane (the lines after its header).
fn query_rows(screen: &str) -> Vec<String> {
    let lines: Vec<&str> = screen.lines().collect();
    let Some(h) = lines.iter().position(|l| l.contains("node") && l.contains("user") && l.contains("statement")) else {
        return Vec::new();
    };
    lines[h + 1..].iter().take_while(|l| l.contains("node")).map(|l| l.to_string()).collect()
}

/// The seconds shown on a row (`  3.4s`).
fn seconds(row: &str) -> Option<f64> {
    row.split_whitespace().find_map(|w| w.strip_suffix('s')?.parse::<f64>().ok())
}

/// The id of the thread running `needle` on node3, from the server.
fn thread_running(lab: &Lab, needle: &str) -> Option<u64> {
    let sql = format!(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '%{needle}%' AND INFO NOT LIKE '%PROCESSLIST%'"
    );
    lab.query_one(3, &sql).and_then(|s| s.parse().ok())
}

fn wait_thread(lab: &Lab, needle: &str) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(id) = thread_running(lab, needle) {
            return id;
        }
        assert!(Instant::now() < deadline, "{needle} never showed on node3");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn slow_query_shown_and_killed_from_the_pane() {
    let lab = Lab::start(3);
    let cfg = lab.config_path();
    let bin = env!("CARGO_BIN_EXE_ringdeck");
    let state = tempfile::tempdir().unwrap();
    let tmux = Tmux::new(
        "queries",
        160,
        45,
        &format!(
            "XDG_STATE_HOME='{}' {bin} --config '{}'; echo RINGDECK-EXIT=$?; sleep 60",
            state.path().display(),
            cfg.display()
        ),
    );
    tmux.wait_for(Duration::from_secs(15), "all targets up", |s| s.contains("db 3/3"));
    tmux.keys(&["4", "z"]);
    tmux.wait_for(Duration::from_secs(2), "the zoomed queries pane", |s| {
        s.contains("Slow queries") && !s.contains("Replication ring")
    });

    std::thread::scope(|scope| {
        let started = Instant::now();
        let sleeper = scope.spawn(|| lab.try_query(3, "SELECT SLEEP(30) AS queries_lab"));
        let id = wait_thread(&lab, "queries_lab");

        // At the top within a poll (1 s) plus slack, with its time growing.
        let screen = tmux.wait_for(Duration::from_millis(2500), "SLEEP(30) at the top", |s| {
            query_rows(s).first().is_some_and(|r| r.contains("node3") && r.contains("SLEEP(30)"))
        });
        let first = seconds(&query_rows(&screen)[0]).expect("a time on the row");
        assert!(query_rows(&screen)[0].contains(&id.to_string()), "{screen}");
        tmux.wait_for(Duration::from_secs(3), "the time growing", |s| {
            query_rows(s).first().and_then(|r| seconds(r)).is_some_and(|t| t >= first + 1.0)
        });

        // The drill-in (the pane is zoomed) shows the EXPLAIN, run on its own connection.
        tmux.wait_for(Duration::from_secs(5), "the EXPLAIN in the drill-in", |s| {
            s.contains(&format!("{id} on node3")) && s.contains("No tables used")
        });
        // The lab's MariaDB runs with performance_schema: the top digests show (normalised text).
        tmux.wait_for(Duration::from_secs(8), "the top digests", |s| {
            // Which digests rank first varies; any normalised one (literals as `?`, lists as `(...)`) will do.
            s.contains("top digests by total latency")
                && s.contains("rows exa")
                && (s.contains("(...)") || s.contains(" ?"))
        });
        // `/` filters: a text nothing matches empties the pane, esc clears it.
        tmux.keys(&["/", "nomatch"]);
        tmux.wait_for(Duration::from_secs(2), "the filtered pane", |s| s.contains("no running statement matches"));
        tmux.keys(&["Escape"]);
        tmux.wait_for(Duration::from_secs(2), "the filter cleared", |s| {
            query_rows(s).first().is_some_and(|r| r.contains("SLEEP(30)"))
        });

        // x: the confirm dialog names the statement; Cancel is first, Tab then Enter runs it.
        tmux.keys(&["x"]);
        tmux.wait_for(Duration::from_secs(5), "the kill dialog with live preconditions", |s| {
            s.contains(&format!("kill query {id} on node3"))
                && s.contains(&format!("KILL QUERY {id}"))
                && s.contains("SELECT SLEEP(30)")
                && s.contains("checked live just now")
        });
        tmux.keys(&["Tab"]);
        tmux.keys(&["Enter"]);
        tmux.wait_for(Duration::from_secs(10), "the kill done", |s| s.contains("DONE"));
        tmux.keys(&["Enter"]);
        let answer = sleeper.join().expect("the sleeper thread");
        assert!(started.elapsed() < Duration::from_secs(25), "the sleep was cut short: {answer:?}");
        assert_eq!(thread_running(&lab, "queries_lab"), None, "no longer running");
        tmux.wait_for(Duration::from_secs(3), "the statement gone from the pane", |s| !s.contains("SLEEP(30)"));

        let audit = audit_lines(state.path());
        assert_eq!(audit.len(), 1, "one audit record: {audit:?}");
        let rec = &audit[0];
        assert_eq!(rec["node"], "node3");
        assert_eq!(rec["ok"], true, "{rec}");
        assert_eq!(rec["action"]["action"], "kill");
        assert_eq!(rec["action"]["id"], id);
        assert_eq!(rec["statements"][0], format!("KILL QUERY {id}"));
    });
    tmux.keys(&["q"]);
    tmux.wait_for(Duration::from_secs(3), "the console's exit", |s| s.contains("RINGDECK-EXIT=0"));

    // From the shell: dry run, read-only refusal, then --yes.
    std::thread::scope(|scope| {
        let sleeper = scope.spawn(|| lab.try_query(3, "SELECT SLEEP(30) AS queries_cli"));
        let id = wait_thread(&lab, "queries_cli").to_string();
        let args = ["run", "kill-connection", "--node", "node3", "--id", id.as_str()];
        let (code, text) = rd(&lab, state.path(), &args);
        assert_eq!(code, 0, "{text}");
        assert!(text.contains(&format!("KILL CONNECTION {id}")) && text.contains("dry run"), "{text}");
        let ro: Vec<&str> = ["--read-only"].iter().chain(args.iter()).chain(["--yes"].iter()).copied().collect();
        let (code, text) = rd(&lab, state.path(), &ro);
        assert_eq!(code, 3, "{text}");
        assert!(thread_running(&lab, "queries_cli").is_some(), "read-only changed nothing");
        let yes: Vec<&str> = args.iter().chain(["--yes"].iter()).copied().collect();
        let (code, text) = rd(&lab, state.path(), &yes);
        assert_eq!(code, 0, "{text}");
        assert!(sleeper.join().expect("the sleeper thread").is_err(), "the client was disconnected");
    });
    let audit = audit_lines(state.path());
    assert_eq!(audit.len(), 2, "the CLI kill audited, the read-only refusal not: {audit:?}");
    assert_eq!(audit[1]["action"]["connection"], true);
}

/// The line of probe `name` in the response-time pane.
fn probe_line(screen: &str, name: &str) -> Option<String> {
    screen.lines().find(|l| l.contains(&format!("┃{name} ")) || l.contains(&format!("│{name} "))).map(str::to_string)
}

#[test]
fn stopping_apache_2_fails_its_probe_while_the_balancer_probe_stays_up() {
    let lab = Lab::start(3);
    let cfg = lab.config_path();
    let bin = env!("CARGO_BIN_EXE_ringdeck");
    let state = tempfile::tempdir().unwrap();
    let tmux = Tmux::new(
        "probes",
        160,
        45,
        &format!("XDG_STATE_HOME='{}' {bin} --config '{}'; sleep 60", state.path().display(), cfg.display()),
    );
    tmux.keys(&["5", "z"]);
    tmux.wait_for(Duration::from_secs(15), "both HTTP probes answering", |s| {
        ["http-lb", "http-web2"]
            .iter()
            .all(|n| probe_line(s, n).is_some_and(|l| l.contains("ms") && !l.contains("FAIL")))
    });
    lab.ringdeck_ok(&["lab", "break", "stop", "--web", "2"]);
    let screen = tmux.wait_for(Duration::from_secs(5), "http-web2 failing with marks", |s| {
        probe_line(s, "http-web2").is_some_and(|l| l.contains("FAIL") && l.contains('✗'))
    });
    assert!(probe_line(&screen, "http-web2").is_some_and(|l| l.contains('×')), "a failure mark in the line: {screen}");
    // Red (the theme's crit, lightred: colour 9 in tmux) on web2, green (2) and no red on the balancer.
    let ansi = tmux.screen_ansi();
    let line = |name: &str| ansi.lines().find(|l| l.contains(name)).unwrap_or_default().to_string();
    assert!(line("http-web2").contains("38;5;9m"), "http-web2 in red: {:?}", line("http-web2"));
    let lb = line("http-lb");
    assert!(lb.contains("38;5;2m") && !lb.contains("38;5;9m"), "http-lb green: {lb:?}");
    // For the next few polls the balancer's probe keeps answering (HAProxy redispatches to web1).
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        let s = tmux.screen();
        let lb = probe_line(&s, "http-lb").unwrap_or_default();
        assert!(!lb.contains("FAIL") && !lb.contains('✗') && lb.contains("ms"), "http-lb must stay up:\n{s}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
