//! Resolving a conflict, planned in full before anything runs: per node the row statements (run
//! with `sql_log_bin = 0`, so they do not travel), and per stopped link whether its event is
//! skipped or applied. Then run: live checks (each link still stopped on the same error at the
//! same coordinates, each row still what the inspector read), the node statements, the skips
//! and starts through the runbook engine (audited), a wait until the ring has applied what it
//! had, and the key compared on every node.
//!
//! The event that wins (when one does) is applied, not skipped, so the rest of its transaction
//! is kept: the nodes it has not reached lose their row for the key first, then its link starts.
//! - `event`: the event's version everywhere (1062: the event's row; 1032: its update or delete,
//!   after putting its before-image where the row is missing).
//! - `local`: the stopped node's own row everywhere (the other direction's event, in a double
//!   break, carries it and wins; otherwise the row is written where it differs).
//! - `both` (1062 on an integer key): the local row moves to the next free value of the stopped
//!   node's auto-increment sequence on every node, then the event applies.
//! - `delete` (1032): the event is skipped and the row deleted everywhere.

use std::time::{Duration, Instant, SystemTime};

use futures_util::future::join_all;
use mysql_async::Value;
use tokio::sync::mpsc::UnboundedSender;

use super::conflict::{Conflict, Inspection};
use super::event::RowOp;
use crate::config::Config;
use crate::config::login::Logins;
use crate::db::session::{Node, Session, open, send};
use crate::repair::plan::{Seen, TableMeta, shown_value};
use crate::repair::prepare::read_key;
use crate::runbook::audit::{self, AuditRecord};
use crate::runbook::{EngineCtx, StepAction};
use crate::verify::Key;
use crate::verify::sql::{ident, idents, table as table_ident};

/// Which version wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Keep {
    /// The failing event's version.
    Event,
    /// The stopped node's own row.
    Local,
    /// Both: the local row moves to a new key, the event applies (1062, integer key).
    Both,
    /// No row: the event is skipped and the row deleted everywhere (1032).
    Delete,
}

impl Keep {
    pub fn word(self) -> &'static str {
        match self {
            Keep::Event => "take the event's version",
            Keep::Local => "keep the local version",
            Keep::Both => "keep both",
            Keep::Delete => "skip it and delete the row everywhere",
        }
    }
}

/// A row statement on one node, checked against what the node held when planned.
#[derive(Clone, Debug, PartialEq)]
pub struct Write {
    pub node: usize,
    pub sql: String,
    pub params: Vec<Value>,
    pub shown: String,
    /// The row's CRC the node must still hold (`None`: no row).
    pub expect: Option<u64>,
}

/// What happens to a stopped link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkAct {
    /// Skip its event (the skip's forked-data record is settled by the final compare).
    Skip { node: String, at: String, errno: u32 },
    /// Start it: its event applies.
    Start { node: String, at: String, errno: u32 },
}

/// A planned resolution.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolution {
    pub keep: Keep,
    pub nodes: Vec<String>,
    pub meta: TableMeta,
    pub key: Key,
    /// Where the local row moves (`both`).
    pub new_key: Option<Key>,
    pub writes: Vec<Write>,
    pub links: Vec<LinkAct>,
    pub refusals: Vec<String>,
    pub warnings: Vec<String>,
}

/// A statement: the SQL with `?`, its values, and how it is shown.
type Stmt = (String, Vec<Value>, String);

fn stmt_delete(t: &TableMeta, key: &Key) -> Stmt {
    let (cond, shown) = where_key(t, key);
    let tb = table_ident(&t.schema, &t.table);
    (format!("DELETE FROM {tb} WHERE {cond}"), key.params(), format!("DELETE FROM {tb} WHERE {shown}"))
}

fn stmt_insert(t: &TableMeta, values: &[Value]) -> Stmt {
    let cols: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
    let tb = table_ident(&t.schema, &t.table);
    (
        format!("INSERT INTO {tb} ({}) VALUES ({})", idents(&cols), vec!["?"; cols.len()].join(", ")),
        values.to_vec(),
        format!(
            "INSERT INTO {tb} ({}) VALUES ({})",
            idents(&cols),
            values.iter().map(shown_value).collect::<Vec<_>>().join(", ")
        ),
    )
}

fn stmt_set_all(t: &TableMeta, key: &Key, values: &[Value]) -> Stmt {
    let (cond, shown_cond) = where_key(t, key);
    let tb = table_ident(&t.schema, &t.table);
    let set: Vec<String> = t.columns.iter().map(|c| format!("{} = ?", ident(&c.name))).collect();
    let shown: Vec<String> =
        t.columns.iter().zip(values).map(|(c, v)| format!("{} = {}", ident(&c.name), shown_value(v))).collect();
    let mut params = values.to_vec();
    params.extend(key.params());
    (
        format!("UPDATE {tb} SET {} WHERE {cond}", set.join(", ")),
        params,
        format!("UPDATE {tb} SET {} WHERE {shown_cond}", shown.join(", ")),
    )
}

fn where_key(t: &TableMeta, key: &Key) -> (String, String) {
    let sql: Vec<String> = t.pk.iter().map(|c| format!("{} = ?", ident(c))).collect();
    let shown: Vec<String> = t.pk.iter().zip(&key.0).map(|(c, p)| format!("{} = {}", ident(c), p.literal())).collect();
    (sql.join(" AND "), shown.join(" AND "))
}

fn seen_of(c: &Conflict, i: usize) -> &Seen {
    &c.rows[i].1
}

/// Plans `keep` for the inspection (pure; `new_key` is the free key for `both`, found by the
/// caller).
// Long on purpose: each way to keep (event, local, both, delete) builds its writes and link steps from the
// same facts of the inspection; apart they would pass all of them around.
pub fn plan(ins: &Inspection, keep: Keep, new_key: Option<Key>) -> Result<Resolution, String> {
    let c = ins.conflicts.first().ok_or("nothing to resolve: no stopped link")?;
    let meta = c.meta.clone().ok_or("the conflicting table could not be read")?;
    let key = c.key.clone().ok_or("no key of the event could be tied to the error")?;
    let nodes: Vec<String> = c.rows.iter().map(|(n, _)| n.clone()).collect();
    let idx = |name: &str| nodes.iter().position(|n| n == name);
    let other = ins.conflicts.get(1);
    let event = c.event_row.as_ref().ok_or("the failing event's row could not be read")?;
    let mut r = Resolution {
        keep,
        nodes: nodes.clone(),
        meta: meta.clone(),
        key: key.clone(),
        new_key: None,
        writes: Vec::new(),
        links: Vec::new(),
        refusals: Vec::new(),
        warnings: Vec::new(),
    };
    let is_1032 = c.errno == 1032;
    match (keep, c.errno) {
        (Keep::Both, e) if e != 1062 => r.refusals.push("keep both is for a duplicate key (1062)".into()),
        (Keep::Delete, e) if e != 1032 => r.refusals.push("delete everywhere is for a row not found (1032)".into()),
        (Keep::Local, 1032) => {
            r.refusals.push("a row not found has no local version: take the event or delete it".into())
        }
        _ => {}
    }
    let skip = |x: &Conflict| LinkAct::Skip { node: x.node.clone(), at: x.at.clone(), errno: x.errno };
    let start = |x: &Conflict| LinkAct::Start { node: x.node.clone(), at: x.at.clone(), errno: x.errno };
    let mut write = |r: &mut Resolution, node: usize, (sql, params, shown): Stmt| {
        let expect = seen_of(c, node).crc();
        r.writes.push(Write { node, sql, params, shown: crate::model::sqltext::mask_secrets(&shown), expect });
    };
    // The winning event: its unreached nodes give up their row for the key, then it applies.
    let apply_winner = |r: &mut Resolution, w: &Conflict, write: &mut dyn FnMut(&mut Resolution, usize, Stmt)| {
        let before = w.event_row.as_ref().and_then(|e| e.before.clone());
        for name in &w.never {
            let Some(i) = idx(name) else { continue };
            match (seen_of(w, i), w.errno, &before) {
                (Seen::Row { .. }, 1062, _) => write(r, i, stmt_delete(&meta, &key)),
                (Seen::Absent, 1032, Some(b)) => write(r, i, stmt_insert(&meta, b)),
                _ => {}
            }
        }
        r.links.push(start(w));
    };
    match keep {
        Keep::Event => {
            if let Some(o) = other {
                r.links.push(skip(o));
            }
            apply_winner(&mut r, c, &mut write);
        }
        Keep::Local => match other {
            Some(o) => {
                r.links.push(skip(c));
                apply_winner(&mut r, o, &mut write);
            }
            None => {
                r.links.push(skip(c));
                let d = idx(&c.node).ok_or("the stopped node is not among the rows")?;
                if let Seen::Row { values, .. } = seen_of(c, d).clone() {
                    for (i, _) in nodes.iter().enumerate().filter(|(i, _)| *i != d) {
                        match seen_of(c, i) {
                            Seen::Row { values: v, .. } if *v == values => {}
                            Seen::Row { .. } => write(&mut r, i, stmt_set_all(&meta, &key, &values)),
                            Seen::Absent => write(&mut r, i, stmt_insert(&meta, &values)),
                            Seen::Unknown(e) => r.refusals.push(format!("{} could not be read: {e}", nodes[i])),
                        }
                    }
                }
            }
        },
        Keep::Both => {
            let nk = new_key.clone().ok_or("no free key to move the local row to")?;
            r.new_key = Some(nk.clone());
            let d = idx(&c.node).ok_or("the stopped node is not among the rows")?;
            let local = match seen_of(c, d) {
                Seen::Row { values, .. } => values.clone(),
                _ => return Err(format!("{} holds no local row for the key", c.node)),
            };
            let pk_i = meta.columns.iter().position(|col| meta.pk.first() == Some(&col.name)).unwrap_or(0);
            let mut moved = local.clone();
            moved[pk_i] = nk.params().into_iter().next().unwrap_or(Value::NULL);
            for (i, _) in nodes.iter().enumerate() {
                match seen_of(c, i) {
                    Seen::Row { values, .. } if *values == local => write(&mut r, i, stmt_set_all(&meta, &key, &moved)),
                    Seen::Row { .. } | Seen::Absent => write(&mut r, i, stmt_insert(&meta, &moved)),
                    Seen::Unknown(e) => r.refusals.push(format!("{} could not be read: {e}", nodes[i])),
                }
            }
            // The key is free where the local row was; the event inserts it there.
            if let Some(o) = other {
                r.links.push(skip(o));
            }
            r.links.push(start(c));
            let referencing: Vec<&String> = meta
                .foreign_keys
                .iter()
                .filter(|f| f.contains(&format!("-> {}.", meta.name())) && !f.contains("ON UPDATE CASCADE"))
                .collect();
            if !referencing.is_empty() {
                r.refusals.push(format!(
                    "rows of other tables point at {} and would not move with it: {}",
                    meta.key_text(&key),
                    referencing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("; ")
                ));
            }
        }
        Keep::Delete => {
            r.links.push(skip(c));
            for (i, _) in nodes.iter().enumerate() {
                if matches!(seen_of(c, i), Seen::Row { .. }) {
                    write(&mut r, i, stmt_delete(&meta, &key));
                }
            }
        }
    }
    for x in ins.conflicts.iter() {
        let skipped = r.links.iter().any(|l| matches!(l, LinkAct::Skip { node, .. } if *node == x.node));
        if skipped && x.tx.total_rows > x.touching {
            r.warnings.push(format!(
                "skipping on {} drops its whole transaction: {} other row(s) of it never reach {} (run a verify after)",
                x.node,
                x.tx.total_rows - x.touching,
                x.never.join(", ")
            ));
        }
    }
    if !meta.triggers.is_empty() {
        r.warnings.push(format!(
            "{} has triggers ({}): they fire on each node's statements",
            meta.name(),
            meta.triggers.join(", ")
        ));
    }
    if is_1032 && event.op == RowOp::Insert {
        r.warnings.push("an insert stopped on a row not found: unusual; read the event first".into());
    }
    Ok(r)
}

impl Resolution {
    /// The plan as lines: per node its statements, per link what happens.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "{} for {} {}{}",
            self.keep.word(),
            self.meta.name(),
            self.meta.key_text(&self.key),
            self.new_key
                .as_ref()
                .map(|k| format!(" (the local row moves to {})", self.meta.key_text(k)))
                .unwrap_or_default()
        )];
        for (i, n) in self.nodes.iter().enumerate() {
            let mine: Vec<&Write> = self.writes.iter().filter(|w| w.node == i).collect();
            if !mine.is_empty() {
                out.push(format!("{n} (sql_log_bin = 0):"));
                out.extend(mine.iter().map(|w| format!("  {}", crate::fmt::cut(&w.shown, 160))));
            }
        }
        for l in &self.links {
            out.push(match l {
                LinkAct::Skip { node, at, errno } => format!("{node}: skip the event at {at} ({errno}), START SLAVE"),
                LinkAct::Start { node, at, .. } => {
                    format!("{node}: START SLAVE: the event at {at} applies and travels on")
                }
            });
        }
        out
    }
}

/// The next value of node `inc`/`off`'s auto-increment sequence above `max`.
pub fn next_own_key(max: i64, inc: u32, off: u32) -> i64 {
    let (inc, off) = (i64::from(inc.max(1)), i64::from(off.max(1)));
    let mut v = max + 1;
    let r = (v - off).rem_euclid(inc);
    if r != 0 {
        v += inc - r;
    }
    v
}

/// What a resolution did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub ok: bool,
    pub summary: String,
    pub lines: Vec<String>,
}

/// Plans `keep` against the servers: for `both`, the free key (the next value of the stopped
/// node's auto-increment sequence above the largest key on any node).
pub async fn prepare(cfg: &Config, logins: &Logins, ins: &Inspection, keep: Keep) -> Result<Resolution, String> {
    let mut new_key = None;
    if keep == Keep::Both
        && let Some(c) = ins.conflicts.first()
        && let Some(m) = &c.meta
    {
        let polled = crate::db::read_all(cfg, logins, cfg.timeout.0).await;
        let d = cfg.nodes.iter().position(|n| n.name() == c.node).ok_or("no such node")?;
        let vars = &polled[d].as_ref().map_err(|e| format!("{}: {e}", c.node))?.vars;
        let [pk] = m.pk.as_slice() else { return Err("keep both needs a single-column integer primary key".into()) };
        if !m.columns.iter().any(|col| &col.name == pk && crate::verify::chunk::is_integer(&col.data_type)) {
            return Err("keep both needs a single-column integer primary key".into());
        }
        let mut max = 0i64;
        for i in 0..cfg.nodes.len() {
            let mut n = open(cfg, logins, i, cfg.timeout.0 * 5, Session::ReadOnly).await;
            let rows =
                n.query(&format!("SELECT MAX({}) AS m FROM {}", ident(pk), table_ident(&m.schema, &m.table))).await?;
            n.close().await;
            let v = rows.first().and_then(|r| crate::db::session::cell(r, "m")).and_then(|s| s.parse::<i64>().ok());
            max = max.max(v.unwrap_or(0));
        }
        new_key =
            Some(Key::int(i128::from(next_own_key(max, vars.auto_increment_increment, vars.auto_increment_offset))));
    }
    plan(ins, keep, new_key)
}

/// What a running resolution reports: each line goes to the progress channel and the outcome.
struct Report {
    progress: Option<UnboundedSender<String>>,
    lines: Vec<String>,
}

impl Report {
    fn say(&mut self, l: String) {
        send(&self.progress, l.clone());
        self.lines.push(l);
    }

    fn stop(self, summary: String) -> Outcome {
        Outcome { summary, lines: self.lines, ..Outcome::default() }
    }
}

/// Runs a planned resolution (never one with refusals, nor read-only): checks that every link is
/// still stopped where it was inspected, writes the rows (per node one transaction, unlogged),
/// skips and starts the links, waits for the ring, and compares the key on every node.
pub async fn apply(res: &Resolution, ctx: &EngineCtx, progress: Option<UnboundedSender<String>>) -> Outcome {
    let mut out = Report { progress, lines: Vec::new() };
    if ctx.read_only {
        return out.stop(crate::runbook::ReadOnly::console("the resolution").to_string());
    }
    if !res.refusals.is_empty() {
        return out.stop(format!("refused: {}", res.refusals.join("; ")));
    }
    if let Err(e) = still_stopped(res, ctx).await {
        return out.stop(e);
    }
    if !write_rows(res, ctx, &mut out).await {
        return out.stop("stopped: a node's statements failed (rolled back); no link was touched".into());
    }
    if let Err(e) = move_links(res, ctx, &mut out).await {
        return out.stop(e);
    }
    let all_equal = compare_after(res, ctx, &mut out).await;
    let polled = crate::db::read_all(&ctx.cfg, &ctx.logins, ctx.timeout).await;
    let running =
        polled.iter().all(|p| p.as_ref().is_ok_and(|s| s.links.iter().all(|l| l.sql_running && l.last_sql_errno == 0)));
    let summary = format!(
        "{}: {}; {}",
        res.keep.word(),
        if running { "every link running" } else { "NOT every link running" },
        if all_equal { "the key is equal on every node" } else { "the key still differs" }
    );
    Outcome { ok: all_equal && running, summary, lines: out.lines }
}

/// Live: each link is still stopped on the same error at the same coordinates.
async fn still_stopped(res: &Resolution, ctx: &EngineCtx) -> Result<(), String> {
    let cfg = &ctx.cfg;
    let polled = crate::db::read_all(cfg, &ctx.logins, ctx.timeout).await;
    for l in &res.links {
        let (LinkAct::Skip { node, at, errno } | LinkAct::Start { node, at, errno }) = l;
        let i = cfg.nodes.iter().position(|n| n.name() == node);
        let still = i.and_then(|i| polled[i].as_ref().ok()).is_some_and(|s| {
            s.links.iter().any(|x| {
                x.last_sql_errno == *errno && format!("{}:{}", x.relay_master_log_file, x.exec_master_log_pos) == *at
            })
        });
        if !still {
            return Err(format!(
                "refused: {node} is no longer stopped on {errno} at {at}; inspect again. Nothing was changed"
            ));
        }
    }
    Ok(())
}

/// The row statements, per node one transaction, each row re-read FOR UPDATE first; per node an
/// audit record written (started) before its first statement, then ended. Whether all committed.
async fn write_rows(res: &Resolution, ctx: &EngineCtx, out: &mut Report) -> bool {
    let cfg = &ctx.cfg;
    let started = Instant::now();
    let time = crate::fmt::rfc3339(SystemTime::now());
    let targets: Vec<usize> = {
        let mut v: Vec<usize> = res.writes.iter().map(|w| w.node).collect();
        v.dedup();
        v
    };
    let record = |i: usize, mine: &[&Write]| {
        AuditRecord::new(
            time.clone(),
            &ctx.operator,
            (res.nodes[i].clone(), cfg.nodes.get(i).map(|n| n.address()).unwrap_or_default()),
            StepAction::Repair {
                keys: vec![format!("{} {} {}", res.meta.name(), res.meta.key_text(&res.key), res.keep.word())],
            },
            format!(
                "resolve {} {}: {} (sql_log_bin = 0)",
                res.meta.name(),
                res.meta.key_text(&res.key),
                res.keep.word()
            ),
            mine.iter().map(|w| w.shown.clone()).collect(),
        )
    };
    let results = join_all(targets.iter().map(|&i| {
        let mine: Vec<&Write> = res.writes.iter().filter(|w| w.node == i).collect();
        let rec = record(i, &mine);
        async move {
            let log = ctx.audit.clone();
            let begun = rec.clone();
            let id = tokio::task::spawn_blocking(move || log.begin(&begun)).await.ok().and_then(Result::ok);
            let mut n = open(cfg, &ctx.logins, i, ctx.statement_timeout, Session::Writes).await;
            let r = write_node(&mut n, res, &mine).await;
            n.close().await;
            (i, mine, r, rec, id)
        }
    }))
    .await;
    let mut all = true;
    for (i, mine, r, rec, id) in results {
        let name = &res.nodes[i];
        let rec = AuditRecord {
            id: id.unwrap_or_default(),
            phase: audit::Phase::Ended,
            statements_run: if r.is_ok() { mine.len() } else { 0 },
            ok: r.is_ok(),
            result: r.clone().map(|()| "committed".to_string()).unwrap_or_else(|e| e),
            duration_ms: started.elapsed().as_millis() as u64,
            ..rec
        };
        let log = ctx.audit.clone();
        let _ = tokio::task::spawn_blocking(move || log.append(&rec)).await;
        match r {
            Ok(()) => out.say(format!("{name}: {} statement(s) committed (sql_log_bin = 0)", mine.len())),
            Err(e) => {
                all = false;
                out.say(format!("{name}: FAILED, rolled back: {e}"));
            }
        }
    }
    all
}

/// Skips first (the losing events), then starts (the winning one applies and travels), each a
/// runbook step planned from a fresh read, run and audited by the engine.
async fn move_links(res: &Resolution, ctx: &EngineCtx, out: &mut Report) -> Result<(), String> {
    let cfg = &ctx.cfg;
    for l in &res.links {
        let (action, node) = match l {
            LinkAct::Skip { node, .. } => (StepAction::Skip { count: 1 }, node),
            LinkAct::Start { node, .. } => (StepAction::StartSlave, node),
        };
        let polled = crate::db::read_all(cfg, &ctx.logins, ctx.timeout).await;
        let statuses: Vec<(&str, Option<&crate::model::replication::NodeStatus>)> =
            cfg.nodes.iter().zip(&polled).map(|(n, p)| (n.name(), p.as_ref().ok())).collect();
        let step = match crate::runbook::plan(&action, node, cfg, &statuses) {
            Ok(s) => s,
            Err(e) => {
                out.say(format!("{node}: cannot plan it: {e}"));
                return Err(format!("stopped at {node}: {e}"));
            }
        };
        let (tx, _rx) = tokio::sync::mpsc::channel(64);
        let o = crate::runbook::execute(step, ctx, tx).await;
        out.say(o.summary.clone());
        if !o.ok {
            return Err(format!("stopped: {}", o.summary));
        }
    }
    Ok(())
}

/// Once everything went around the ring, the key (and the moved key) compared on every node;
/// a fork record the key covers is cleared when equal. Whether every key is equal.
async fn compare_after(res: &Resolution, ctx: &EngineCtx, out: &mut Report) -> bool {
    let cfg = &ctx.cfg;
    if let Err(e) = crate::repair::prepare::catch_up(cfg, &ctx.logins, Duration::from_secs(30)).await {
        out.say(format!("the ring did not catch up: {e}"));
    }
    let mut readers: Vec<Node> =
        join_all((0..cfg.nodes.len()).map(|i| open(cfg, &ctx.logins, i, ctx.statement_timeout, Session::ReadOnly)))
            .await;
    let mut all_equal = true;
    for k in std::iter::once(&res.key).chain(res.new_key.iter()) {
        let seen: Vec<Seen> =
            join_all(readers.iter_mut().map(|r| async { read_key(r, &res.meta, k, false).await })).await;
        let crcs: Vec<Option<u64>> = seen.iter().map(Seen::crc).collect();
        let equal = !seen.iter().any(|s| matches!(s, Seen::Unknown(_))) && crcs.windows(2).all(|w| w[0] == w[1]);
        all_equal &= equal;
        let what = format!("{} {}", res.meta.name(), res.meta.key_text(k));
        out.say(if equal { format!("{what}: equal on every node") } else { format!("{what}: STILL DIFFERS") });
    }
    for r in &mut readers {
        r.close().await;
    }
    if all_equal && let Some(p) = crate::fork::path_for(&cfg.source) {
        let table = res.meta.name();
        if let Ok(gone) = crate::fork::settle(&p, |f| f.covers(&table, &res.key)) {
            for f in gone {
                out.say(format!("fork {} cleared", f.id));
            }
        }
    }
    all_equal
}

/// One node's statements in one transaction; a row that changed since the plan rolls it back.
async fn write_node(n: &mut Node, res: &Resolution, mine: &[&Write]) -> Result<(), String> {
    if let Some(e) = &n.error {
        return Err(format!("cannot connect: {e}"));
    }
    n.query("SET SESSION sql_log_bin = 0").await?;
    let b = n.query("SELECT @@session.sql_log_bin AS b").await?;
    if b.first().and_then(|r| crate::db::session::cell(r, "b")) != Some("0") {
        return Err("sql_log_bin is still 1 on this session: nothing was written".into());
    }
    n.query("START TRANSACTION").await?;
    let result = async {
        let now = read_key(n, &res.meta, &res.key, true).await;
        for w in mine {
            if now.crc() != w.expect {
                return Err(format!("{} changed since the inspection", res.meta.key_text(&res.key)));
            }
            let changed = n.change(&w.sql, w.params.clone()).await.map_err(|e| format!("`{}` failed: {e}", w.shown))?;
            if changed != 1 {
                return Err(format!("`{}` changed {changed} rows, not 1", w.shown));
            }
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => n.query("COMMIT").await.map(|_| ()),
        Err(e) => {
            let _ = n.query("ROLLBACK").await;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_key_of_a_nodes_own_sequence() {
        assert_eq!(next_own_key(1009, 3, 2), 1010, "1010 = 2 + 3*336");
        assert_eq!(next_own_key(1010, 3, 2), 1013);
        assert_eq!(next_own_key(0, 3, 1), 1);
        assert_eq!(next_own_key(7, 1, 1), 8);
    }
}

#[cfg(test)]
mod plan_tests {
    use super::*;
    use crate::inspect::event::{RowChange, Transaction};
    use crate::verify::chunk::Column;

    fn meta() -> TableMeta {
        let col = |n: &str, t: &str| Column { name: n.into(), data_type: t.into(), column_type: t.into() };
        TableMeta {
            schema: "app".into(),
            table: "posts".into(),
            columns: vec![col("id", "int"), col("body", "varchar")],
            pk: vec!["id".into()],
            triggers: Vec::new(),
            foreign_keys: Vec::new(),
        }
    }

    fn row(body: &str) -> Seen {
        Seen::Row { values: vec![Value::Int(9), Value::Bytes(body.into())], crc: body.len() as u64 }
    }

    /// node1's insert of id 9 stopped on node2 (which holds its own row); node3 has nothing.
    fn dup(rows: [Seen; 3], reached: &[&str], never: &[&str], node: &str, upstream: &str) -> Conflict {
        Conflict {
            node: node.into(),
            upstream: upstream.into(),
            errno: 1062,
            error: "Duplicate entry '9' for key 'PRIMARY'".into(),
            at: "b.000001:100".into(),
            tx: Transaction { total_rows: 1, ..Transaction::default() },
            origin: Some(upstream.into()),
            meta: Some(meta()),
            key: Some(Key::int(9)),
            event_row: Some(RowChange {
                table: "app.posts".into(),
                op: RowOp::Insert,
                before: None,
                after: Some(vec![Value::Int(9), Value::Bytes(b"event".to_vec())]),
                failing: true,
            }),
            touching: 1,
            rows: ["node1", "node2", "node3"].into_iter().map(String::from).zip(rows).collect(),
            differing: vec![1],
            reached: reached.iter().map(|s| s.to_string()).collect(),
            never: never.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn ins(c: Vec<Conflict>) -> Inspection {
        Inspection { node: c[0].node.clone(), conflicts: c }
    }

    #[test]
    fn the_event_wins_by_being_applied_where_it_has_not_been() {
        let c = dup([row("event"), row("local"), Seen::Absent], &["node1"], &["node2", "node3"], "node2", "node1");
        let r = plan(&ins(vec![c]), Keep::Event, None).expect("plan");
        assert!(r.refusals.is_empty(), "{:?}", r.refusals);
        assert_eq!(r.writes.len(), 1, "node2 gives up its row; node3 has none");
        assert_eq!((r.writes[0].node, r.writes[0].sql.as_str()), (1, "DELETE FROM `app`.`posts` WHERE `id` = ?"));
        assert_eq!(r.writes[0].expect, Some(5), "only if node2 still holds what was read");
        assert!(matches!(&r.links[..], [LinkAct::Start { node, .. }] if node == "node2"));
    }

    #[test]
    fn the_local_row_wins_without_a_second_event_by_being_written_where_it_differs() {
        let c = dup([row("event"), row("local"), Seen::Absent], &["node1"], &["node2", "node3"], "node2", "node1");
        let r = plan(&ins(vec![c]), Keep::Local, None).expect("plan");
        assert!(matches!(&r.links[..], [LinkAct::Skip { node, .. }] if node == "node2"));
        let sql: Vec<(usize, &str)> =
            r.writes.iter().map(|w| (w.node, w.sql.split(' ').next().unwrap_or(""))).collect();
        assert_eq!(sql, vec![(0, "UPDATE"), (2, "INSERT")]);
        assert_eq!(r.writes[1].params, vec![Value::Int(9), Value::Bytes(b"local".to_vec())]);
    }

    #[test]
    fn a_double_break_skips_the_loser_and_applies_the_winner() {
        // node1's event stopped on node2; node2's event (through node3) stopped on node1.
        let a = dup([row("one"), row("two"), row("two")], &["node1"], &["node2", "node3"], "node2", "node1");
        let mut b = dup([row("one"), row("two"), row("two")], &["node2", "node3"], &["node1"], "node1", "node3");
        b.origin = Some("node2".into());
        let r = plan(&ins(vec![a.clone(), b.clone()]), Keep::Event, None).expect("plan");
        assert!(
            matches!(&r.links[..], [LinkAct::Skip { node: s, .. }, LinkAct::Start { node: t, .. }] if s == "node1" && t == "node2")
        );
        assert_eq!(
            r.writes.iter().map(|w| w.node).collect::<Vec<_>>(),
            vec![1, 2],
            "node2 and node3 give up node2's row"
        );
        let r = plan(&ins(vec![a, b]), Keep::Local, None).expect("plan");
        assert!(
            matches!(&r.links[..], [LinkAct::Skip { node: s, .. }, LinkAct::Start { node: t, .. }] if s == "node2" && t == "node1")
        );
        assert_eq!(r.writes.iter().map(|w| w.node).collect::<Vec<_>>(), vec![0], "node1 gives up its row");
    }

    #[test]
    fn keep_both_moves_the_local_row_and_refuses_what_it_cannot_move() {
        let c = dup([row("event"), row("local"), Seen::Absent], &["node1"], &["node2", "node3"], "node2", "node1");
        let r = plan(&ins(vec![c.clone()]), Keep::Both, Some(Key::int(11))).expect("plan");
        assert!(r.refusals.is_empty(), "{:?}", r.refusals);
        let w: Vec<(usize, &str)> = r.writes.iter().map(|w| (w.node, w.shown.as_str())).collect();
        assert_eq!(
            w,
            vec![
                (0, "INSERT INTO `app`.`posts` (`id`, `body`) VALUES (11, 'local')"),
                (1, "UPDATE `app`.`posts` SET `id` = 11, `body` = 'local' WHERE `id` = 9"),
                (2, "INSERT INTO `app`.`posts` (`id`, `body`) VALUES (11, 'local')"),
            ]
        );
        let mut fk = c;
        fk.meta.as_mut().expect("meta").foreign_keys =
            vec!["app.comments.post_id -> app.posts.id ON DELETE CASCADE ON UPDATE RESTRICT".into()];
        let r = plan(&ins(vec![fk]), Keep::Both, Some(Key::int(11))).expect("plan");
        assert!(r.refusals[0].starts_with("rows of other tables point at id 9"), "{:?}", r.refusals);
    }

    #[test]
    fn a_missing_row_is_applied_or_deleted() {
        let mut c = dup([row("old"), row("old"), Seen::Absent], &["node2"], &["node3", "node1"], "node3", "node2");
        c.errno = 1032;
        c.event_row = Some(RowChange {
            table: "app.posts".into(),
            op: RowOp::Update,
            before: Some(vec![Value::Int(9), Value::Bytes(b"old".to_vec())]),
            after: Some(vec![Value::Int(9), Value::Bytes(b"new".to_vec())]),
            failing: true,
        });
        let r = plan(&ins(vec![c.clone()]), Keep::Event, None).expect("plan");
        assert_eq!(r.writes.len(), 1);
        assert_eq!(r.writes[0].shown, "INSERT INTO `app`.`posts` (`id`, `body`) VALUES (9, 'old')", "the before-image");
        assert!(matches!(&r.links[..], [LinkAct::Start { node, .. }] if node == "node3"));
        let r = plan(&ins(vec![c.clone()]), Keep::Delete, None).expect("plan");
        assert_eq!(r.writes.iter().map(|w| w.node).collect::<Vec<_>>(), vec![0, 1]);
        assert!(matches!(&r.links[..], [LinkAct::Skip { node, .. }] if node == "node3"));
        assert!(!plan(&ins(vec![c]), Keep::Local, None).expect("plan").refusals.is_empty(), "no local version");
    }
}
