//! HAProxy server steps: planning (exact commands, refused names, warnings) and execution against
//! a stand-in admin socket that answers like HAProxy 2.6 does (recorded on the lab): nothing for a
//! command that worked, an error line otherwise, `Permission denied.` below level admin.

use std::sync::{Arc, Mutex};

use super::*;
use crate::model::haproxy::parse_csv;

const STATS: &str = include_str!("../../tests/fixtures/haproxy-2.6-show-stat-web2-maint.csv");

fn config(dir: &Path, socket: &Path) -> Config {
    let text = format!(
        "audit_log = \"{}\"\ntimeout = \"2s\"\n[[haproxy]]\nname = \"lb\"\nsocket = \"{}\"\n[[haproxy]]\nname = \"nosock\"\nstats_url = \"http://127.0.0.1:1/stats\"\n",
        dir.join("audit.log").display(),
        socket.display()
    );
    Config::parse(&text, Path::new("t.toml")).unwrap()
}

fn action(server: &str, op: ServerOp) -> StepAction {
    StepAction::HaproxyServer { haproxy: "lb".into(), server: server.into(), op }
}

#[test]
fn plans_the_exact_socket_command_with_the_reload_warning() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &dir.path().join("s"));
    let rows = parse_csv(STATS).unwrap();
    let step = plan(&action("web/web1", ServerOp::Drain), &cfg, Some(&rows)).unwrap();
    assert_eq!(step.statements, vec!["set server web/web1 state drain"]);
    assert_eq!(step.title, "drain web/web1 on lb");
    assert_eq!(step.node, "lb");
    assert_eq!(step.danger, Danger::Medium);
    assert!(step.warnings[0].contains("reloads"), "{:?}", step.warnings);
    // web2 is in MAINT in this sample: web1 is the last one serving.
    assert!(step.warnings.iter().any(|w| w.contains("only server of backend web")), "{:?}", step.warnings);
    let step = plan(&action("web/web1", ServerOp::Weight(50)), &cfg, Some(&rows)).unwrap();
    assert_eq!(step.statements, vec!["set weight web/web1 50"]);
    assert_eq!(step.postconditions[0].what, "web/web1 has weight 50");
    let step = plan(&action("web/web2", ServerOp::Ready), &cfg, Some(&rows)).unwrap();
    assert_eq!(step.statements, vec!["set server web/web2 state ready"]);
    assert_eq!(step.danger, Danger::Low);
    assert_eq!(step.warnings.len(), 1, "{:?}", step.warnings);
    let step = plan(&action("web/web1", ServerOp::Maint), &cfg, None).unwrap();
    assert_eq!(step.statements, vec!["set server web/web1 state maint"]);
}

#[test]
fn refuses_what_cannot_be_sent_safely() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &dir.path().join("s"));
    let rows = parse_csv(STATS).unwrap();
    let e = plan(&action("web/web1;shutdown sessions server web/web2", ServerOp::Drain), &cfg, None).unwrap_err();
    assert!(e.contains("may only hold"), "{e}");
    assert!(plan(&action("web1", ServerOp::Drain), &cfg, None).unwrap_err().contains("BACKEND/SERVER"));
    assert!(plan(&action("web/web9", ServerOp::Drain), &cfg, Some(&rows)).unwrap_err().contains("no server web/web9"));
    assert!(plan(&action("web/BACKEND", ServerOp::Drain), &cfg, Some(&rows)).is_err(), "aggregates are not servers");
    assert!(plan(&action("web/web1", ServerOp::Weight(300)), &cfg, None).unwrap_err().contains("0 to 256"));
    let nosock = StepAction::HaproxyServer { haproxy: "nosock".into(), server: "web/web1".into(), op: ServerOp::Drain };
    assert!(plan(&nosock, &cfg, None).unwrap_err().contains("has no `socket`"));
    let unknown = StepAction::HaproxyServer { haproxy: "lb9".into(), server: "web/web1".into(), op: ServerOp::Drain };
    assert!(plan(&unknown, &cfg, None).unwrap_err().contains("no [[haproxy]]"));
}

#[test]
fn serializes_for_the_audit_log() {
    let v = serde_json::to_value(action("web/web1", ServerOp::Weight(50))).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"action": "haproxy-server", "haproxy": "lb", "server": "web/web1", "op": {"weight": 50}})
    );
    let v = serde_json::to_value(action("web/web1", ServerOp::Drain)).unwrap();
    assert_eq!(v["op"], "drain");
}

/// A stand-in admin socket: `level` is what `show cli level` says (`None`: an old HAProxy that
/// does not know the command), admin states change with the set commands.
struct FakeHaproxy {
    level: Option<&'static str>,
    /// (server, admin state, weight) of backend `web`.
    servers: Mutex<Vec<(String, u32, u32)>>,
    commands: Mutex<Vec<String>>,
}

impl FakeHaproxy {
    fn answer(&self, cmd: &str) -> String {
        self.commands.lock().unwrap().push(cmd.to_string());
        let admin = self.level.unwrap_or("user") == "admin";
        let mut servers = self.servers.lock().unwrap();
        let words: Vec<&str> = cmd.split_whitespace().collect();
        match words.as_slice() {
            ["show", "cli", "level"] => match self.level {
                Some(l) => format!("{l}\n"),
                None => "Unknown command. Please enter one of the following commands only :\n".into(),
            },
            ["show", "servers", "state", "web"] => {
                let mut out = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight\n"
                    .to_string();
                for (i, (s, a, w)) in servers.iter().enumerate() {
                    out.push_str(&format!("4 web {} {s} 127.0.0.1 2 {a} {w}\n", i + 1));
                }
                out
            }
            ["show", "servers", "state", _] => "Can't find backend.\n".into(),
            ["show", "stat"] => STATS.to_string(),
            ["set", ..] if !admin => "Permission denied.\n".into(),
            ["set", "server", id, "state", st] => {
                let Some(entry) = servers.iter_mut().find(|(s, _, _)| Some(s.as_str()) == id.strip_prefix("web/"))
                else {
                    return "No such server.\n".into();
                };
                entry.1 = match *st {
                    "drain" => 0x08,
                    "maint" => 0x01,
                    _ => 0,
                };
                "\n".into()
            }
            ["set", "weight", id, w] => {
                let Some(entry) = servers.iter_mut().find(|(s, _, _)| Some(s.as_str()) == id.strip_prefix("web/"))
                else {
                    return "No such server.\n".into();
                };
                entry.2 = w.parse().unwrap_or(0);
                "\n".into()
            }
            _ => "Unknown command.\n".into(),
        }
    }
}

fn serve(rt: &tokio::runtime::Runtime, path: &Path, fake: Arc<FakeHaproxy>) {
    let listener = rt.block_on(async { tokio::net::UnixListener::bind(path) }).unwrap();
    rt.spawn(async move {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        while let Ok((stream, _)) = listener.accept().await {
            let fake = fake.clone();
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut line = String::new();
                if BufReader::new(r).read_line(&mut line).await.is_ok() {
                    let _ = w.write_all(fake.answer(line.trim()).as_bytes()).await;
                }
            });
        }
    });
}

fn run(level: Option<&'static str>, op: ServerOp) -> (Outcome, Arc<FakeHaproxy>, String, Vec<Progress>) {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("admin.sock");
    let cfg = Arc::new(config(dir.path(), &sock));
    let fake = Arc::new(FakeHaproxy {
        level,
        servers: Mutex::new(vec![("web1".into(), 0, 1), ("web2".into(), 0x01, 1)]),
        commands: Mutex::new(Vec::new()),
    });
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    serve(&rt, &sock, fake.clone());
    let logins = crate::config::login::Logins::resolve(&cfg).unwrap();
    let mut ctx = EngineCtx::new(cfg.clone(), Arc::new(logins)).unwrap();
    ctx.operator = "tester".into();
    let step = plan(&action("web/web1", op), &cfg, Some(&parse_csv(STATS).unwrap())).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(32);
    // Through the engine's entry point, as the console and `ringdeck run` call it.
    let outcome = rt.block_on(crate::runbook::execute(step, &ctx, tx));
    let mut events = Vec::new();
    while let Ok(p) = rx.try_recv() {
        events.push(p);
    }
    let audit = std::fs::read_to_string(dir.path().join("audit.log")).unwrap_or_default();
    (outcome, fake, audit, events)
}

#[test]
fn drain_sends_one_command_checks_the_new_state_and_audits_it() {
    let (outcome, fake, audit, events) = run(Some("admin"), ServerOp::Drain);
    assert!(outcome.ok, "{outcome:?}");
    assert!(outcome.summary.contains("admin state 0x08 (drain)"), "{}", outcome.summary);
    let sent: Vec<String> = fake.commands.lock().unwrap().iter().filter(|c| c.starts_with("set")).cloned().collect();
    assert_eq!(sent, vec!["set server web/web1 state drain"]);
    assert!(events.contains(&Progress::Statement("set server web/web1 state drain".into())));
    assert_eq!(audit.lines().count(), 2, "started, then ended: {audit}");
    let v: serde_json::Value = serde_json::from_str(audit.lines().nth(1).unwrap()).unwrap();
    assert_eq!(v["phase"], "ended");
    assert_eq!(v["node"], "lb");
    assert!(v["address"].as_str().unwrap().ends_with("admin.sock"));
    assert_eq!(v["statements"], serde_json::json!(["set server web/web1 state drain"]));
    assert_eq!(v["statements_run"], 1);
    assert_eq!(v["action"]["op"], "drain");
    assert_eq!(v["ok"], true);
    assert_eq!(v["postconditions"][0]["ok"], true);
}

#[test]
fn weight_is_checked_against_the_user_weight() {
    let (outcome, _, audit, _) = run(Some("admin"), ServerOp::Weight(50));
    assert!(outcome.ok, "{outcome:?}");
    assert!(audit.contains("set weight web/web1 50"), "{audit}");
}

#[test]
fn a_socket_below_level_admin_is_refused_before_sending() {
    let (outcome, fake, audit, _) = run(Some("user"), ServerOp::Drain);
    assert!(!outcome.ok);
    assert!(outcome.summary.contains("level user"), "{}", outcome.summary);
    assert!(outcome.summary.contains("nothing was sent"), "{}", outcome.summary);
    assert!(fake.commands.lock().unwrap().iter().all(|c| !c.starts_with("set")));
    let v: serde_json::Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!((v["ok"].as_bool(), v["statements_run"].as_u64()), (Some(false), Some(0)));
}

#[test]
fn haproxys_own_refusal_is_shown() {
    // An old HAProxy without `show cli level`: the level cannot be checked first, so the command
    // goes and HAProxy's answer is the error.
    let (outcome, _, audit, _) = run(None, ServerOp::Maint);
    assert!(!outcome.ok);
    assert!(outcome.summary.contains("HAProxy answered: Permission denied."), "{}", outcome.summary);
    assert!(audit.contains("Permission denied"), "{audit}");
}

#[test]
fn an_unreachable_socket_fails_the_live_checks_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Arc::new(config(dir.path(), &dir.path().join("missing.sock")));
    let logins = crate::config::login::Logins::resolve(&cfg).unwrap();
    let ctx = EngineCtx::new(cfg.clone(), Arc::new(logins)).unwrap();
    let step = plan(&action("web/web1", ServerOp::Drain), &cfg, None).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let live = rt.block_on(crate::runbook::check_preconditions(&step, &ctx));
    assert_eq!(live.len(), 2);
    assert!(live.iter().all(|c| c.ok == Some(false) && c.seen.contains("missing.sock")), "{live:?}");
}
