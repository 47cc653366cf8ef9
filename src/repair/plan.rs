//! Planning a repair (pure): for every differing key, each node's version (its row, or absent),
//! the version every node should end with, and per node the statement that makes it hold that
//! version: `INSERT` where the row is missing, `UPDATE` of the differing columns where it differs,
//! `DELETE` where it should be absent, each by primary key with every value bound. Never
//! `REPLACE`: it deletes any other row colliding on another unique key and fires delete triggers
//! and `ON DELETE CASCADE`. The plan also carries what refuses it and what to warn about.

use mysql_async::Value;

use super::Prefer;
use crate::verify::Key;
use crate::verify::chunk::Column;
use crate::verify::key::hex_literal;
use crate::verify::sql::{ident, idents, table as table_ident};

/// A table a repair writes to, as the nodes describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableMeta {
    pub schema: String,
    pub table: String,
    pub columns: Vec<Column>,
    /// Primary key columns, in key order (empty: no primary key).
    pub pk: Vec<String>,
    /// `posts_ai AFTER INSERT`: they fire on each node's repair statements, logged or not.
    pub triggers: Vec<String>,
    /// Foreign keys of the table and onto it (`comments.post_id -> posts.id ON DELETE CASCADE`).
    pub foreign_keys: Vec<String>,
}

impl TableMeta {
    pub fn name(&self) -> String {
        format!("{}.{}", self.schema, self.table)
    }

    /// `id 100001`, `(a, k) (5, 'abc')`.
    pub fn key_text(&self, key: &Key) -> String {
        format!("{} {}", crate::verify::key::key_name(&self.pk), key.text())
    }
}

/// What a node holds for a key.
#[derive(Clone, Debug, PartialEq)]
pub enum Seen {
    /// The row's values in column order, and the CRC of its image (as verify computes it).
    Row {
        values: Vec<Value>,
        crc: u64,
    },
    Absent,
    /// The node could not be read.
    Unknown(String),
}

impl Seen {
    fn same(&self, other: &Seen) -> bool {
        match (self, other) {
            (Seen::Row { values: a, .. }, Seen::Row { values: b, .. }) => a == b,
            (Seen::Absent, Seen::Absent) => true,
            _ => false,
        }
    }

    /// The CRC verify compares (`None`: no row).
    pub fn crc(&self) -> Option<u64> {
        match self {
            Seen::Row { crc, .. } => Some(*crc),
            _ => None,
        }
    }
}

/// One differing key.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyCase {
    /// Index into [`Plan::tables`].
    pub table: usize,
    pub key: Key,
    /// Per node, config order.
    pub seen: Vec<Seen>,
    /// The forked-data record this key is the key of, when one is.
    pub fork: Option<String>,
    /// The node whose version it ends with, or why none could be chosen.
    pub keep: Result<usize, String>,
    /// Why `keep` (`the most complete node`, `majority (3 of 4)`, `--prefer node1`, `chosen`).
    pub why: String,
}

impl KeyCase {
    /// The distinct versions among the nodes that answered, each with its nodes, most held
    /// first (ties in config order of their first node).
    pub fn versions(&self) -> Vec<(Seen, Vec<usize>)> {
        let mut out: Vec<(Seen, Vec<usize>)> = Vec::new();
        for (i, s) in self.seen.iter().enumerate() {
            if matches!(s, Seen::Unknown(_)) {
                continue;
            }
            match out.iter_mut().find(|(v, _)| v.same(s)) {
                Some((_, nodes)) => nodes.push(i),
                None => out.push((s.clone(), vec![i])),
            }
        }
        out.sort_by_key(|(_, nodes)| std::cmp::Reverse(nodes.len()));
        out
    }
}

/// What a node must do for a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Insert,
    /// Only the columns that differ (indexes into the table's columns).
    Update(Vec<usize>),
    Delete,
}

impl Op {
    pub fn word(&self) -> &'static str {
        match self {
            Op::Insert => "insert",
            Op::Update(_) => "update",
            Op::Delete => "delete",
        }
    }
}

/// One statement for one node.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub node: usize,
    /// Index into [`Plan::cases`].
    pub case: usize,
    pub op: Op,
}

/// A statement ready to run: text with `?`, the values to bind, and the text shown (values as
/// SQL literals, secrets masked, long values cut).
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<Value>,
    pub shown: String,
}

/// A whole repair.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Node names, config order.
    pub nodes: Vec<String>,
    pub tables: Vec<TableMeta>,
    pub cases: Vec<KeyCase>,
    pub changes: Vec<Change>,
    /// Why it must not run (empty: it may): [`Plan::blockers`] and what [`Plan::recompute`] finds.
    pub refusals: Vec<String>,
    /// Facts found while planning that refuse it whatever is chosen (a missing table, a node
    /// that cannot be read).
    pub blockers: Vec<String>,
    /// The ring's state when planned: `Err` (a link broken, a node down, not caught up) refuses
    /// every key that is not a recorded fork's.
    pub ring: Result<(), String>,
    /// Row changes allowed (`--max-rows`).
    pub max_rows: usize,
    /// What the operator should know (triggers, foreign keys, rows not all found).
    pub warnings: Vec<String>,
    /// Keys left out and why (changed since the verify: still in flight).
    pub notes: Vec<String>,
}

/// Rows a plan changes at most unless told otherwise.
pub const DEFAULT_MAX_ROWS: usize = 1000;

/// Chooses the version a key ends with.
///
/// `--prefer NODE`: that node's. `--prefer majority`: the version most nodes hold (a tie
/// decides nothing). Default: the most complete node's (the ring model's choice) when there is
/// one; else, for the key of a recorded fork, the node the skipped event came from; else the
/// majority.
pub fn decide(
    case: &KeyCase,
    nodes: &[String],
    prefer: &Prefer,
    most_complete: Option<usize>,
    fork_keep: Option<usize>,
) -> (Result<usize, String>, String) {
    let majority = || {
        let v = case.versions();
        match v.as_slice() {
            [] => (Err("no node answered for this key".to_string()), "majority".to_string()),
            [(_, a), (_, b), ..] if a.len() == b.len() => (
                Err(format!(
                    "no majority: {} node(s) hold each of two versions ({} / {}); choose with --prefer NODE",
                    a.len(),
                    names(nodes, a),
                    names(nodes, b)
                )),
                "majority".to_string(),
            ),
            [(_, a), ..] => (Ok(a[0]), format!("majority ({} of {})", a.len(), case.seen.len())),
        }
    };
    let node_version = |i: usize, why: String| match case.seen.get(i) {
        Some(Seen::Unknown(e)) => (Err(format!("{} could not be read: {e}", nodes[i])), why),
        Some(_) => (Ok(i), why),
        None => (Err("no such node".to_string()), why),
    };
    match prefer {
        Prefer::Node(name) => match nodes.iter().position(|n| n == name) {
            Some(i) => node_version(i, format!("--prefer {name}")),
            None => (Err(format!("--prefer {name}: no such node")), String::new()),
        },
        Prefer::Majority => majority(),
        Prefer::Default => match (most_complete, fork_keep) {
            (Some(i), _) => node_version(i, format!("{} has the most complete data", nodes[i])),
            (None, Some(i)) => node_version(i, format!("the skipped event's version, from {}", nodes[i])),
            (None, None) => majority(),
        },
    }
}

fn names(nodes: &[String], ix: &[usize]) -> String {
    ix.iter().map(|i| nodes[*i].as_str()).collect::<Vec<_>>().join(", ")
}

/// What each node must do so that it holds `case.seen[keep]`.
pub fn changes_for(case: &KeyCase, case_ix: usize, keep: usize) -> Vec<Change> {
    let Some(target) = case.seen.get(keep) else { return Vec::new() };
    let mut out = Vec::new();
    for (node, s) in case.seen.iter().enumerate() {
        let op = match (s, target) {
            (Seen::Unknown(_), _) | (_, Seen::Unknown(_)) => continue,
            (a, b) if a.same(b) => continue,
            (Seen::Absent, Seen::Row { .. }) => Op::Insert,
            (Seen::Row { .. }, Seen::Absent) => Op::Delete,
            (Seen::Row { values: have, .. }, Seen::Row { values: want, .. }) => {
                Op::Update((0..want.len()).filter(|c| have.get(*c) != want.get(*c)).collect())
            }
            (Seen::Absent, Seen::Absent) => continue,
        };
        out.push(Change { node, case: case_ix, op });
    }
    out
}

impl Plan {
    /// An empty plan for these nodes.
    pub fn new(nodes: Vec<String>, max_rows: usize) -> Plan {
        Plan {
            nodes,
            tables: Vec::new(),
            cases: Vec::new(),
            changes: Vec::new(),
            refusals: Vec::new(),
            blockers: Vec::new(),
            ring: Ok(()),
            max_rows,
            warnings: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Keeps `node`'s version of case `case` (the operator chose it) and recomputes.
    pub fn choose(&mut self, case: usize, node: usize) {
        if let Some(c) = self.cases.get_mut(case)
            && node < c.seen.len()
            && !matches!(c.seen[node], Seen::Unknown(_))
        {
            c.keep = Ok(node);
            c.why = format!("chosen: {}'s version", self.nodes[node]);
            self.recompute();
        }
    }

    /// Recomputes every change from the cases' choices, and the refusals.
    pub fn recompute(&mut self) {
        let (max_rows, ring) = (self.max_rows, self.ring.clone());
        self.changes = self
            .cases
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.keep.as_ref().ok().map(|k| changes_for(c, i, *k)))
            .flatten()
            .collect();
        self.refusals = self.blockers.clone();
        if let Err(why) = &ring
            && self.cases.iter().any(|c| c.fork.is_none())
        {
            self.refusals.push(format!(
                "{why}: differences may still be in flight (only the keys of recorded forks may be repaired now)"
            ));
        }
        for t in &self.tables {
            if t.pk.is_empty() {
                self.refusals.push(format!("{} has no primary key: its rows cannot be addressed one by one", t.name()));
            }
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if let Some(Seen::Unknown(e)) =
                self.cases.iter().find_map(|c| c.seen.get(i).filter(|s| matches!(s, Seen::Unknown(_))))
            {
                self.refusals.push(format!("{n} could not be read ({e}): its version of a key is unknown"));
            }
        }
        let undecided: Vec<String> =
            self.cases
                .iter()
                .filter_map(|c| {
                    c.keep.as_ref().err().map(|e| {
                        format!("{} {}: {e}", self.tables[c.table].name(), self.tables[c.table].key_text(&c.key))
                    })
                })
                .collect();
        if !undecided.is_empty() {
            self.refusals.push(format!(
                "{} key(s) without a version to keep: {}",
                undecided.len(),
                undecided.join("; ")
            ));
        }
        if self.changes.len() > max_rows {
            self.refusals.push(format!(
                "{} row changes planned, more than --max-rows {max_rows}: repair fewer tables (--table) or raise the limit",
                self.changes.len()
            ));
        }
    }

    /// `keep node1's version`, `keep it absent (as on node1, node2)`, or why nothing is kept.
    pub fn keep_text(&self, case: &KeyCase) -> String {
        match &case.keep {
            Ok(k) => match case.seen.get(*k) {
                Some(Seen::Absent) => {
                    let on: Vec<&str> = case
                        .seen
                        .iter()
                        .zip(&self.nodes)
                        .filter(|(s, _)| matches!(s, Seen::Absent))
                        .map(|(_, n)| n.as_str())
                        .collect();
                    format!("keep it absent (as on {})", on.join(", "))
                }
                _ => format!("keep {}'s version", self.nodes[*k]),
            },
            Err(e) => format!("UNDECIDED: {e}"),
        }
    }

    /// Nodes that get at least one statement.
    pub fn nodes_changed(&self) -> Vec<usize> {
        let mut v: Vec<usize> = self.changes.iter().map(|c| c.node).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The statement for a change.
    pub fn statement(&self, ch: &Change) -> Statement {
        let case = &self.cases[ch.case];
        let t = &self.tables[case.table];
        let target = case.keep.as_ref().ok().and_then(|k| case.seen.get(*k));
        let want: &[Value] = match target {
            Some(Seen::Row { values, .. }) => values,
            _ => &[],
        };
        let (pk_sql, pk_shown) = where_pk(t, &case.key);
        let tb = table_ident(&t.schema, &t.table);
        let (sql, params, shown) = match &ch.op {
            Op::Insert => {
                let cols: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
                (
                    format!("INSERT INTO {tb} ({}) VALUES ({})", idents(&cols), vec!["?"; cols.len()].join(", ")),
                    want.to_vec(),
                    format!(
                        "INSERT INTO {tb} ({}) VALUES ({})",
                        idents(&cols),
                        want.iter().map(shown_value).collect::<Vec<_>>().join(", ")
                    ),
                )
            }
            Op::Update(cols) => {
                let set: Vec<String> = cols.iter().map(|c| format!("{} = ?", ident(&t.columns[*c].name))).collect();
                let set_shown: Vec<String> = cols
                    .iter()
                    .map(|c| {
                        format!(
                            "{} = {}",
                            ident(&t.columns[*c].name),
                            want.get(*c).map(shown_value).unwrap_or_default()
                        )
                    })
                    .collect();
                let mut params: Vec<Value> = cols.iter().filter_map(|c| want.get(*c).cloned()).collect();
                params.extend(case.key.params());
                (
                    format!("UPDATE {tb} SET {} WHERE {pk_sql}", set.join(", ")),
                    params,
                    format!("UPDATE {tb} SET {} WHERE {pk_shown}", set_shown.join(", ")),
                )
            }
            Op::Delete => (
                format!("DELETE FROM {tb} WHERE {pk_sql}"),
                case.key.params(),
                format!("DELETE FROM {tb} WHERE {pk_shown}"),
            ),
        };
        Statement { sql, params, shown: crate::model::sqltext::mask_secrets(&shown) }
    }

    /// One line per change for the confirm dialog and the CLI: per node, per key, the operation
    /// with old and new values (each cut to `value_w` characters).
    pub fn lines(&self, value_w: usize) -> Vec<String> {
        let mut out = Vec::new();
        for n in self.nodes_changed() {
            let mine: Vec<&Change> = self.changes.iter().filter(|c| c.node == n).collect();
            out.push(format!("{}: {} row change(s)", self.nodes[n], mine.len()));
            for ch in mine {
                out.push(format!("  {}", self.change_text(ch, value_w)));
            }
        }
        out
    }

    /// `UPDATE app.posts id 100001: body 'local only' -> 'from node1'`.
    pub fn change_text(&self, ch: &Change, value_w: usize) -> String {
        let case = &self.cases[ch.case];
        let t = &self.tables[case.table];
        let have = match case.seen.get(ch.node) {
            Some(Seen::Row { values, .. }) => values.as_slice(),
            _ => &[],
        };
        let want: &[Value] = match case.keep.as_ref().ok().and_then(|k| case.seen.get(*k)) {
            Some(Seen::Row { values, .. }) => values,
            _ => &[],
        };
        let cut = |v: &Value| crate::fmt::cut(&crate::model::sqltext::mask_secrets(&shown_value(v)), value_w);
        let head = format!("{} {} {}", ch.op.word().to_uppercase(), t.name(), t.key_text(&case.key));
        let detail = match &ch.op {
            Op::Insert => t
                .columns
                .iter()
                .zip(want)
                .filter(|(c, _)| !t.pk.contains(&c.name))
                .map(|(c, v)| format!("{} {}", c.name, cut(v)))
                .collect::<Vec<_>>()
                .join(", "),
            Op::Update(cols) => cols
                .iter()
                .map(|c| {
                    let name = &t.columns[*c].name;
                    let old = have.get(*c).map(cut).unwrap_or_default();
                    let new = want.get(*c).map(cut).unwrap_or_default();
                    format!("{name} {old} -> {new}")
                })
                .collect::<Vec<_>>()
                .join(", "),
            Op::Delete => format!(
                "was {}",
                t.columns
                    .iter()
                    .zip(have)
                    .filter(|(c, _)| !t.pk.contains(&c.name))
                    .map(|(c, v)| format!("{} {}", c.name, cut(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        format!("{head}: {detail}")
    }
}

/// `` `a` = ? AND `k` = ? `` and the same with the key's literals.
fn where_pk(t: &TableMeta, key: &Key) -> (String, String) {
    let sql: Vec<String> = t.pk.iter().map(|c| format!("{} = ?", ident(c))).collect();
    let shown: Vec<String> = t.pk.iter().zip(&key.0).map(|(c, p)| format!("{} = {}", ident(c), p.literal())).collect();
    (sql.join(" AND "), shown.join(" AND "))
}

/// A bound value as an SQL literal, for showing: numbers plain, text quoted, bytes that are not
/// UTF-8 (or hold control characters) as `X'..'`, temporal values quoted.
pub fn shown_value(v: &Value) -> String {
    match v {
        Value::NULL => "NULL".into(),
        Value::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => crate::db::quote::sql_string(s),
            _ => hex_literal(b),
        },
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Double(d) => d.to_string(),
        other => other.as_sql(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> TableMeta {
        let col = |n: &str, t: &str| Column { name: n.into(), data_type: t.into(), column_type: t.into() };
        TableMeta {
            schema: "app".into(),
            table: "posts".into(),
            columns: vec![col("id", "int"), col("node", "varchar"), col("body", "blob")],
            pk: vec!["id".into()],
            triggers: Vec::new(),
            foreign_keys: Vec::new(),
        }
    }

    fn row(node: &str, body: &[u8], crc: u64) -> Seen {
        Seen::Row { values: vec![Value::Int(7), Value::Bytes(node.into()), Value::Bytes(body.to_vec())], crc }
    }

    fn names() -> Vec<String> {
        vec!["node1".into(), "node2".into(), "node3".into(), "node4".into()]
    }

    fn case(seen: Vec<Seen>) -> KeyCase {
        KeyCase { table: 0, key: Key::int(7), seen, fork: None, keep: Err(String::new()), why: String::new() }
    }

    fn plan_of(c: KeyCase, ring: Result<(), String>) -> Plan {
        let mut p = Plan::new(names(), DEFAULT_MAX_ROWS);
        p.tables.push(meta());
        p.cases.push(c);
        p.ring = ring;
        p.recompute();
        p
    }

    #[test]
    fn versions_decide_by_policy() {
        let a = row("node1", b"from node1", 1);
        let b = row("node2", b"local", 2);
        let c = case(vec![a.clone(), b.clone(), Seen::Absent, Seen::Absent]);
        let n = names();
        assert_eq!(decide(&c, &n, &Prefer::Majority, None, None).0, Ok(2), "absent is the majority");
        let tie = case(vec![a.clone(), a.clone(), b.clone(), b.clone()]);
        let e = decide(&tie, &n, &Prefer::Majority, None, None).0.expect_err("a tie decides nothing");
        assert!(e.contains("no majority") && e.contains("node1, node2 / node3, node4"), "{e}");
        assert_eq!(decide(&tie, &n, &Prefer::Node("node3".into()), None, None).0, Ok(2));
        assert!(decide(&tie, &n, &Prefer::Node("nodeX".into()), None, None).0.is_err());
        let (k, why) = decide(&c, &n, &Prefer::Default, Some(0), Some(1));
        assert_eq!((k, why.as_str()), (Ok(0), "node1 has the most complete data"));
        let (k, why) = decide(&c, &n, &Prefer::Default, None, Some(0));
        assert_eq!((k, why.as_str()), (Ok(0), "the skipped event's version, from node1"));
        let unknown = case(vec![Seen::Unknown("down".into()), a, b, Seen::Absent]);
        assert!(decide(&unknown, &n, &Prefer::Node("node1".into()), None, None).0.is_err(), "its version is unknown");
    }

    #[test]
    fn statements_insert_update_delete_by_primary_key() {
        let mut c = case(vec![row("node1", b"new", 1), row("node2", b"old", 2), Seen::Absent, row("node1", b"new", 1)]);
        c.keep = Ok(0);
        let p = plan_of(c, Ok(()));
        assert_eq!(p.changes.len(), 2, "node4 already holds it");
        let up = p.statement(&p.changes[0]);
        assert_eq!(up.sql, "UPDATE `app`.`posts` SET `node` = ?, `body` = ? WHERE `id` = ?");
        assert_eq!(up.params, vec![Value::Bytes(b"node1".to_vec()), Value::Bytes(b"new".to_vec()), Value::Int(7)]);
        assert_eq!(up.shown, "UPDATE `app`.`posts` SET `node` = 'node1', `body` = 'new' WHERE `id` = 7");
        let ins = p.statement(&p.changes[1]);
        assert_eq!(ins.sql, "INSERT INTO `app`.`posts` (`id`, `node`, `body`) VALUES (?, ?, ?)");
        assert_eq!(ins.params.len(), 3);
        assert_eq!(
            p.change_text(&p.changes[0], 40),
            "UPDATE app.posts id 7: node 'node2' -> 'node1', body 'old' -> 'new'"
        );
        // Keep "absent": deletes, binary values shown as hex.
        let mut c = case(vec![Seen::Absent, row("node2", &[0, 255], 2), Seen::Absent, Seen::Absent]);
        c.keep = Ok(0);
        let p = plan_of(c, Ok(()));
        assert_eq!(p.statement(&p.changes[0]).sql, "DELETE FROM `app`.`posts` WHERE `id` = ?");
        assert_eq!(p.change_text(&p.changes[0], 40), "DELETE app.posts id 7: was node 'node2', body X'00FF'");
    }

    #[test]
    fn refusals() {
        let mut c = case(vec![row("node1", b"a", 1), Seen::Absent, Seen::Absent, Seen::Absent]);
        c.keep = Ok(0);
        let p = plan_of(c.clone(), Err("link node1 -> node2 is broken".into()));
        assert!(
            p.refusals[0].starts_with("link node1 -> node2 is broken: differences may still be in flight"),
            "{:?}",
            p.refusals
        );
        let mut forked = c.clone();
        forked.fork = Some("f1".into());
        assert!(plan_of(forked, Err("broken".into())).refusals.is_empty(), "a recorded fork's key may be repaired");
        let mut p = plan_of(c.clone(), Ok(()));
        assert!(p.refusals.is_empty());
        p.max_rows = 2;
        p.recompute();
        assert!(p.refusals[0].contains("3 row changes planned, more than --max-rows 2"), "{:?}", p.refusals);
        let mut undecided = c;
        undecided.keep = Err("no majority".into());
        let p = plan_of(undecided, Ok(()));
        assert!(
            p.refusals[0].contains("1 key(s) without a version to keep: app.posts id 7: no majority"),
            "{:?}",
            p.refusals
        );
        let mut p = Plan::new(names(), 10);
        p.tables.push(TableMeta { pk: Vec::new(), ..meta() });
        p.recompute();
        assert!(p.refusals[0].contains("app.posts has no primary key"), "{:?}", p.refusals);
    }

    #[test]
    fn the_operator_chooses_a_version() {
        let c = case(vec![row("node1", b"a", 1), row("node2", b"b", 2), Seen::Absent, Seen::Absent]);
        let mut p = plan_of(c, Ok(()));
        p.choose(0, 1);
        assert_eq!(p.cases[0].keep, Ok(1));
        assert_eq!(p.cases[0].why, "chosen: node2's version");
        assert_eq!(p.changes.len(), 3, "node1 updated, node3 and node4 inserted");
        assert!(p.refusals.is_empty());
    }
}
