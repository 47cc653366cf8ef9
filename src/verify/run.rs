//! Running a verify against the servers: one dedicated read-only connection per node (connect and
//! every query under a timeout), every statement sent to all nodes at once. Reads replication
//! state and binlog positions, lists schemas and tables, runs pass 1 (`CHECKSUM TABLE`) and, for
//! differing tables with a single-column integer primary key, pass 2 (chunks, then rows).

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tokio::sync::mpsc::UnboundedSender;

use super::VerifyOpts;
use super::chunk::{self, ChunkPlan, Column};
use super::compare;
use super::key::{Key, key_name};
use super::report::{ChunkNode, ChunkReport, MEANINGFUL_WHEN, NodeReport, NodeTable, Report, TableReport, TableStatus};
use super::sql;
use crate::config::Config;
use crate::config::login::Logins;
use crate::db::session::{Node, Session, cell, int, on_all, on_connected, open, send, uint};
use crate::model::replication::{BinlogPos, ReplicaLink, Row};

/// A differing range with at most this many rows on every node has its rows listed.
pub const ROW_DETAIL_MAX: u64 = 50;
/// Range and row queries spent per table finding the differing rows inside differing chunks.
const DRILL_BUDGET: usize = 200;
/// Differing rows kept per table.
const ROWS_KEPT: usize = 500;

/// Reads every node's replica links (`None`: no answer) and binlog position.
async fn replication(nodes: &mut [Node]) -> (Vec<Option<Vec<ReplicaLink>>>, Vec<Option<BinlogPos>>) {
    let sqls: Vec<Option<String>> =
        nodes.iter().map(|n| n.conn.as_ref().map(|_| n.dialect.replica_status_sql().to_string())).collect();
    let links = on_all(nodes, &sqls)
        .await
        .into_iter()
        .map(|r| r.and_then(Result::ok).map(|rows| rows.iter().filter_map(|r| ReplicaLink::from_row(r).ok()).collect()))
        .collect();
    (links, binlogs(nodes).await)
}

async fn binlogs(nodes: &mut [Node]) -> Vec<Option<BinlogPos>> {
    let sqls: Vec<Option<String>> =
        nodes.iter().map(|n| n.conn.as_ref().map(|_| n.dialect.binlog_status_sql().to_string())).collect();
    on_all(nodes, &sqls)
        .await
        .into_iter()
        .map(|r| r.and_then(Result::ok).and_then(|rows| rows.first().map(BinlogPos::from_row)))
        .collect()
}

/// Why a verify did not start (everything found while it runs is in the [`Report`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the config names no [[node]] to verify")]
    NoNodes,
    #[error("--chunk-size must be at least 1")]
    ChunkSize,
    /// A `--table` that is not `DB.TABLE`.
    #[error("{0}")]
    Table(String),
}

/// Compares the schemas and tables chosen by `opts` on every node of `cfg`.
///
/// Nodes that cannot be reached are reported (and make the result unequal), not an error; `Err`
/// only when nothing can be tried (no `[[node]]`, bad options). `progress` gets one line per stage.
// Long on purpose: the passes of a verify in order (checksums, chunks, rows), sharing the sessions and the
// report.
pub async fn verify(
    cfg: &Config,
    logins: &Logins,
    opts: &VerifyOpts,
    progress: Option<UnboundedSender<String>>,
) -> Result<Report, VerifyError> {
    let started = Instant::now();
    if cfg.nodes.is_empty() {
        return Err(VerifyError::NoNodes);
    }
    if opts.chunk_size == 0 {
        return Err(VerifyError::ChunkSize);
    }
    let named_tables = opts
        .tables
        .iter()
        .map(|t| compare::parse_table(t))
        .collect::<Result<Vec<(String, String)>, String>>()
        .map_err(VerifyError::Table)?;
    let query_t = opts.query_timeout.unwrap_or_else(|| (cfg.timeout.0 * 20).max(Duration::from_secs(60)));

    send(&progress, format!("connecting to {} node(s)", cfg.nodes.len()));
    let mut nodes: Vec<Node> =
        join_all((0..cfg.nodes.len()).map(|i| open(cfg, logins, i, query_t, Session::ReadOnly))).await;
    let names: Vec<String> = nodes.iter().map(|n| n.name.clone()).collect();

    send(&progress, "reading replication state".into());
    let (links, binlog_start) = replication(&mut nodes).await;

    send(&progress, "listing schemas and tables".into());
    let schemas_on: Vec<Option<Vec<String>>> = on_connected(&mut nodes, sql::SCHEMATA)
        .await
        .into_iter()
        .map(|r| {
            r.and_then(Result::ok).map(|rows| rows.iter().filter_map(|r| cell(r, "s").map(str::to_string)).collect())
        })
        .collect();
    let schemas = compare::select_schemas(&schemas_on, &opts.schemas, &named_tables);
    let missing_schemas = compare::missing_schemas(&names, &schemas_on, &schemas);
    let tables_on: Vec<Option<Vec<(String, String)>>> = on_connected(&mut nodes, &sql::tables_in(&schemas))
        .await
        .into_iter()
        .map(|r| {
            r.and_then(Result::ok).map(|rows| {
                rows.iter().filter_map(|r| Some((cell(r, "s")?.to_string(), cell(r, "t")?.to_string()))).collect()
            })
        })
        .collect();
    let tables = compare::select_tables(&tables_on, &named_tables);

    let mut reports = Vec::new();
    for (k, (schema, table)) in tables.iter().enumerate() {
        let name = format!("{schema}.{table}");
        send(&progress, format!("CHECKSUM TABLE {name} ({}/{})", k + 1, tables.len()));
        let mut rep = pass1(&mut nodes, &tables_on, schema, table).await;
        if rep.status == TableStatus::Differs {
            send(&progress, format!("{name} differs: comparing by key ranges of {}", opts.chunk_size));
            pass2(&mut nodes, &mut rep, opts.chunk_size, &progress).await;
        }
        reports.push(rep);
    }

    let binlog_end = binlogs(&mut nodes).await;
    let mut warnings = Vec::new();
    let mut node_reports = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        let (caught_up, replication) = match &links[i] {
            Some(l) => compare::replication_state(l),
            None => (false, "unknown (no answer)".into()),
        };
        let writes_seen = match (&binlog_start[i], &binlog_end[i]) {
            (Some(a), Some(b)) => a != b,
            _ => false,
        };
        let reachable = n.conn.is_some() && n.error.is_none();
        if !reachable {
            warnings.push(format!(
                "{} unreachable ({}): nothing on it was compared",
                n.name,
                n.error.as_deref().unwrap_or("no connection")
            ));
        } else {
            if !caught_up {
                warnings.push(format!(
                    "{} replication not caught up ({replication}): differences may be transient",
                    n.name
                ));
            }
            if writes_seen && let (Some(a), Some(b)) = (&binlog_start[i], &binlog_end[i]) {
                warnings.push(format!(
                    "{}'s binlog moved during the verify ({}:{} -> {}:{}): something was written, differences may be \
                     transient",
                    n.name, a.file, a.position, b.file, b.position
                ));
            }
        }
        node_reports.push(NodeReport {
            name: n.name.clone(),
            address: n.address.clone(),
            reachable,
            error: n.error.clone(),
            version: n.version.clone(),
            caught_up: reachable && caught_up,
            replication,
            writes_seen,
        });
    }
    for n in &mut nodes {
        n.close().await;
    }
    let mut report = Report {
        schema_version: super::report::SCHEMA_VERSION,
        equal: false,
        exit_code: 1,
        summary: String::new(),
        error: None,
        reliable: false,
        note: MEANINGFUL_WHEN.into(),
        warnings,
        chunk_size: opts.chunk_size,
        elapsed_ms: started.elapsed().as_millis() as u64,
        schemas,
        nodes: node_reports,
        missing_schemas,
        tables: reports,
    };
    report.finish();
    send(&progress, format!("done: {}", report.summary));
    Ok(report)
}

/// `CHECKSUM TABLE` on every node that listed its tables.
async fn pass1(
    nodes: &mut [Node],
    tables_on: &[Option<Vec<(String, String)>>],
    schema: &str,
    table: &str,
) -> TableReport {
    let key = (schema.to_string(), table.to_string());
    let present: Vec<Option<bool>> = tables_on.iter().map(|t| t.as_ref().map(|l| l.contains(&key))).collect();
    let sqls: Vec<Option<String>> =
        present.iter().map(|p| (*p == Some(true)).then(|| sql::checksum_table(schema, table))).collect();
    let answers = on_all(nodes, &sqls).await;
    let mut per = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        let Some(p) = present[i] else { continue };
        let mut nt = NodeTable { node: n.name.clone(), present: p, ..NodeTable::default() };
        match &answers[i] {
            Some(Ok(rows)) => {
                nt.checksum = rows.first().and_then(|r| uint(r, "Checksum"));
                if nt.checksum.is_none() {
                    nt.error = Some("CHECKSUM TABLE gave no checksum (table gone?)".into());
                }
            }
            Some(Err(e)) => nt.error = Some(e.clone()),
            None => {}
        }
        per.push(nt);
    }
    let status = compare::table_status(&per);
    TableReport {
        schema: schema.into(),
        table: table.into(),
        status,
        nodes: per,
        key: None,
        chunks_compared: 0,
        note: None,
        chunks: Vec::new(),
        rows: Vec::new(),
        rows_note: None,
    }
}

/// Statements for the nodes holding the table (those in `rep.nodes`), `None` for the others.
fn for_table(nodes: &[Node], rep: &TableReport, q: &str) -> Vec<Option<String>> {
    nodes.iter().map(|n| rep.nodes.iter().any(|t| t.node == n.name && t.present).then(|| q.to_string())).collect()
}

/// Pairs each answer with its node's name (only nodes with a statement).
fn answered(nodes: &[Node], answers: Vec<Option<Result<Vec<Row>, String>>>) -> Vec<(String, Result<Vec<Row>, String>)> {
    nodes.iter().zip(answers).filter_map(|(n, a)| a.map(|a| (n.name.clone(), a))).collect()
}

/// Runs `q` on the nodes holding the table; answers with node names.
async fn ask(nodes: &mut [Node], rep: &TableReport, q: &str) -> Vec<(String, Result<Vec<Row>, String>)> {
    let sqls = for_table(nodes, rep, q);
    let answers = on_all(nodes, &sqls).await;
    answered(nodes, answers)
}

/// Pass 2: chunks of a differing table, then the rows of differing chunks.
async fn pass2(nodes: &mut [Node], rep: &mut TableReport, chunk_size: u64, progress: &Option<UnboundedSender<String>>) {
    let (schema, table) = (rep.schema.clone(), rep.table.clone());
    let name = rep.name();
    // Columns and primary key, which must be the same everywhere.
    let cols = ask(nodes, rep, &sql::columns(&schema, &table)).await;
    let pks = ask(nodes, rep, &sql::primary_key(&schema, &table)).await;
    let mut columns: Option<Vec<Column>> = None;
    let mut shapes: Vec<(String, String)> = Vec::new();
    for ((node, c), (_, p)) in cols.iter().zip(&pks) {
        let (c, p) = match (c, p) {
            (Ok(c), Ok(p)) => (c, p),
            (Err(e), _) | (_, Err(e)) => {
                rep.note = Some(format!("chunks not computed: {node} could not describe the table: {e}"));
                return;
            }
        };
        let list: Vec<Column> = c.iter().map(Column::from_row).collect();
        let pk: Vec<String> = p.iter().filter_map(|r| cell(r, "c").map(str::to_string)).collect();
        let shape = format!(
            "{}; primary key ({})",
            list.iter().map(|c| format!("{} {}", c.name, c.column_type)).collect::<Vec<_>>().join(", "),
            pk.join(", ")
        );
        shapes.push((node.clone(), shape));
        columns.get_or_insert(list);
    }
    if let Some((first_node, first)) = shapes.first()
        && let Some((other_node, other)) = shapes.iter().find(|(_, s)| s != first)
    {
        rep.note = Some(format!(
            "chunks not computed: the table's definition differs: {first_node} has ({first}), {other_node} has ({other})"
        ));
        return;
    }
    let Some(columns) = columns else {
        rep.note = Some("chunks not computed: no node described the table".into());
        return;
    };
    let pk: Vec<String> = pks
        .first()
        .and_then(|(_, p)| p.as_ref().ok())
        .map(|rows| rows.iter().filter_map(|r| cell(r, "c").map(str::to_string)).collect())
        .unwrap_or_default();
    let key = match chunk::chunk_key(&pk, &columns) {
        Ok(k) => k,
        Err(_) if !pk.is_empty() => return by_key_tuples(nodes, rep, &pk, &columns, progress).await,
        Err(why) => {
            rep.note = Some(format!("chunks not computed: {why}"));
            return;
        }
    };
    rep.key = Some(key.clone());
    let col_names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();

    let b = ask(nodes, rep, &sql::key_bounds(&schema, &table, &key)).await;
    if let Some((node, Err(e))) = b.iter().find(|(_, r)| r.is_err()) {
        rep.note = Some(format!("chunks not computed: {node} could not read the key range: {e}"));
        return;
    }
    let per_node: Vec<Option<(Option<i128>, Option<i128>)>> = b
        .iter()
        .map(|(_, r)| r.as_ref().ok().and_then(|rows| rows.first()).map(|row| (int(row, "lo"), int(row, "hi"))))
        .collect();
    let Some((min, max)) = chunk::bounds(&per_node) else {
        rep.note =
            Some("every node's table is empty, yet CHECKSUM TABLE differs (row format or server version?)".into());
        return;
    };

    let mut plan = ChunkPlan::new(min, max, chunk_size);
    let mut totals: Vec<(String, u64)> = Vec::new();
    let mut budget = DRILL_BUDGET;
    let mut rows_kept = 0usize;
    let mut last_report = Instant::now();
    while let Some((lo, hi)) = plan.current() {
        let q = sql::chunk(&schema, &table, &key, &col_names, lo, hi);
        let res = ask(nodes, rep, &q).await;
        rep.chunks_compared += 1;
        let (chunk_nodes, nexts) = chunk_nodes(&res);
        for c in &chunk_nodes {
            match totals.iter_mut().find(|(n, _)| *n == c.node) {
                Some((_, t)) => *t += c.rows.unwrap_or(0),
                None => totals.push((c.node.clone(), c.rows.unwrap_or(0))),
            }
        }
        if compare::chunk_differs(&chunk_nodes) {
            let mut cr = ChunkReport { lo, hi, nodes: chunk_nodes, rows: Vec::new(), rows_note: None };
            if let Some(bad) = cr.nodes.iter().find(|n| n.error.is_some()) {
                cr.rows_note = Some(format!("rows not listed: {} did not answer", bad.node));
            } else if rows_kept >= ROWS_KEPT {
                cr.rows_note = Some(format!("rows not listed: already {ROWS_KEPT} differing rows listed for {name}"));
            } else {
                drill(nodes, rep, &key, &col_names, &mut cr, &mut budget).await;
                rows_kept += cr.rows.len();
            }
            rep.chunks.push(cr);
        }
        if last_report.elapsed() >= Duration::from_millis(500) {
            send(progress, format!("{name}: {} chunk(s) compared, at {key} {hi} of {max}", rep.chunks_compared));
            last_report = Instant::now();
        }
        plan.advance(&nexts);
    }
    for nt in &mut rep.nodes {
        nt.rows = totals.iter().find(|(n, _)| *n == nt.node).map(|(_, t)| *t);
    }
    if rep.chunks.is_empty() && rep.chunks_compared > 0 {
        rep.status = TableStatus::Equal;
        rep.note = Some(format!(
            "CHECKSUM TABLE differed, but all {} chunk(s) have the same row count and CRC on every node (a write \
             between the passes, or a different row format or server version)",
            rep.chunks_compared
        ));
    }
}

/// A chunk's per-node counts and checksums, and each node's first key after it.
fn chunk_nodes(res: &[(String, Result<Vec<Row>, String>)]) -> (Vec<ChunkNode>, Vec<Option<i128>>) {
    let mut out = Vec::new();
    let mut nexts = Vec::new();
    for (node, r) in res {
        let mut c = ChunkNode { node: node.clone(), ..ChunkNode::default() };
        match r {
            Ok(rows) => {
                let row = rows.first();
                c.rows = row.and_then(|r| uint(r, "n"));
                c.checksum = row.and_then(|r| uint(r, "crc"));
                nexts.push(row.and_then(|r| int(r, "next")));
            }
            Err(e) => {
                c.error = Some(e.clone());
                nexts.push(None);
            }
        }
        out.push(c);
    }
    (out, nexts)
}

/// Finds the differing rows of a differing chunk: ranges of at most [`ROW_DETAIL_MAX`] rows are
/// listed row by row; larger ones are split and only differing pieces followed, within `budget`
/// queries for the table.
async fn drill(
    nodes: &mut [Node],
    rep: &TableReport,
    key: &str,
    cols: &[String],
    cr: &mut ChunkReport,
    budget: &mut usize,
) {
    let most = |ns: &[ChunkNode]| ns.iter().filter_map(|n| n.rows).max().unwrap_or(0);
    let mut queue: VecDeque<(i128, i128, u64)> = VecDeque::from([(cr.lo, cr.hi, most(&cr.nodes))]);
    let names: Vec<String> = rep.nodes.iter().filter(|n| n.present).map(|n| n.node.clone()).collect();
    let name = rep.name();
    while let Some((lo, hi, max_rows)) = queue.pop_front() {
        let pieces = chunk::split(lo, hi, max_rows, ROW_DETAIL_MAX);
        let whole = pieces.len() == 1;
        if max_rows <= ROW_DETAIL_MAX || whole {
            if *budget == 0 {
                cr.rows_note = Some("not every row listed: the search budget for this table is spent".into());
                return;
            }
            *budget -= 1;
            let q = sql::rows(&rep.schema, &rep.table, key, cols, lo, hi);
            let res = ask(nodes, rep, &q).await;
            let per_node: Vec<Option<BTreeMap<Key, u64>>> = names
                .iter()
                .map(|n| {
                    res.iter().find(|(m, _)| m == n).and_then(|(_, r)| r.as_ref().ok()).map(|rows| {
                        rows.iter().filter_map(|r| Some((Key::int(int(r, "k")?), uint(r, "crc")?))).collect()
                    })
                })
                .collect();
            cr.rows.extend(compare::row_diffs(&names, &per_node, &name, key));
            continue;
        }
        for (a, b) in pieces {
            if *budget == 0 {
                cr.rows_note = Some("not every row listed: the search budget for this table is spent".into());
                return;
            }
            *budget -= 1;
            let q = sql::chunk(&rep.schema, &rep.table, key, cols, a, b);
            let res = ask(nodes, rep, &q).await;
            let (ns, _) = chunk_nodes(&res);
            if compare::chunk_differs(&ns) && ns.iter().all(|n| n.error.is_none()) {
                queue.push_back((a, b, most(&ns)));
            }
        }
    }
    if cr.rows.is_empty() && cr.rows_note.is_none() {
        cr.rows_note = Some("no single differing row found (rows changed while comparing?)".into());
    }
}

/// Key tuples read per page from each node, and the most kept per node.
const TUPLE_PAGE: usize = 5000;
const TUPLES_MAX: usize = 500_000;

/// Pages through one node's `(key, crc)` in key order: `None` with the reason when it failed.
async fn tuples_of(
    node: &mut Node,
    rep: &TableReport,
    pk: &[String],
    pk_cols: &[&Column],
    col_names: &[String],
) -> Result<(BTreeMap<Key, u64>, bool), String> {
    let mut map = BTreeMap::new();
    let mut after: Option<Key> = None;
    loop {
        let q = sql::tuples_page(&rep.schema, &rep.table, pk, col_names, after.is_some(), TUPLE_PAGE);
        let rows = node.exec(&q, after.as_ref().map(Key::params).unwrap_or_default()).await?;
        let n = rows.len();
        for r in rows {
            let values: Vec<mysql_async::Value> =
                (0..pk.len()).map(|i| r.as_ref(i).cloned().unwrap_or(mysql_async::Value::NULL)).collect();
            let crc = r.as_ref(pk.len()).and_then(crate::db::value_text).and_then(|t| t.parse::<u64>().ok());
            if let (Some(k), Some(c)) = (Key::from_values(&values, pk_cols), crc) {
                after = Some(k.clone());
                map.insert(k, c);
            }
        }
        if n < TUPLE_PAGE {
            return Ok((map, true));
        }
        if map.len() >= TUPLES_MAX {
            return Ok((map, false));
        }
    }
}

/// Pass 2 of a table whose primary key is composite or not an integer: every node's key tuples
/// and row CRCs in key order, compared key by key.
async fn by_key_tuples(
    nodes: &mut [Node],
    rep: &mut TableReport,
    pk: &[String],
    columns: &[Column],
    progress: &Option<UnboundedSender<String>>,
) {
    let name = rep.name();
    let kname = key_name(pk);
    rep.key = Some(kname.clone());
    let pk_cols: Vec<&Column> = pk.iter().filter_map(|k| columns.iter().find(|c| &c.name == k)).collect();
    if pk_cols.len() != pk.len() {
        rep.note = Some("rows not compared: a primary key column is not among the columns".into());
        return;
    }
    let col_names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    send(progress, format!("{name}: comparing by key tuples {kname}"));
    let holding: Vec<bool> = nodes.iter().map(|n| rep.nodes.iter().any(|t| t.node == n.name && t.present)).collect();
    let answers = join_all(nodes.iter_mut().zip(&holding).map(|(n, h)| {
        let (rep, pk, pk_cols, col_names) = (&*rep, pk, &pk_cols, &col_names);
        async move {
            match h {
                true => Some(tuples_of(n, rep, pk, pk_cols, col_names).await),
                false => None,
            }
        }
    }))
    .await;
    let mut names = Vec::new();
    let mut per_node = Vec::new();
    let mut notes = Vec::new();
    for (n, a) in nodes.iter().zip(answers) {
        let Some(a) = a else { continue };
        names.push(n.name.clone());
        match a {
            Ok((map, complete)) => {
                if !complete {
                    notes.push(format!("{} has more than {TUPLES_MAX} rows: only the first were compared", n.name));
                }
                if let Some(nt) = rep.nodes.iter_mut().find(|t| t.node == n.name) {
                    nt.rows = Some(map.len() as u64);
                }
                per_node.push(Some(map));
            }
            Err(e) => {
                notes.push(format!("rows not listed: {} did not answer: {e}", n.name));
                per_node.push(None);
            }
        }
    }
    let mut rows = compare::row_diffs(&names, &per_node, &name, &kname);
    if rows.len() > ROWS_KEPT {
        notes.push(format!("only the first {ROWS_KEPT} of {} differing rows are listed", rows.len()));
        rows.truncate(ROWS_KEPT);
    }
    rep.chunks_compared = 0;
    rep.rows = rows;
    if !notes.is_empty() {
        rep.rows_note = Some(notes.join("; "));
    } else if rep.rows.is_empty() {
        rep.status = TableStatus::Equal;
        rep.note = Some(
            "CHECKSUM TABLE differed, but every key tuple has the same row CRC on every node (a write between the \
             passes, or a different row format or server version)"
                .into(),
        );
    }
}
