//! A replicated transaction as the inspector shows it (pure): folds binlog events, from the
//! position where a link's executed coordinates point (the start of the failing transaction) to
//! its end (XID or COMMIT), into the rows it changes with their before and after images, its
//! statements, its GTID and the server_id of the node that first wrote it. Events it does not
//! know (MariaDB's annotate rows, checkpoints, ...) are named and skipped, never fatal.
//!
//! Values are made comparable with what a node's row reads through the binary protocol: a
//! TIMESTAMP (sent as seconds since the epoch) becomes a UTC date and time, a JSON binary value
//! its text.

use std::collections::HashMap;

use mysql_async::Value;
use mysql_async::binlog::EventType;
use mysql_async::binlog::events::{Event, EventData, RowsEventData, TableMapEvent};
use mysql_async::binlog::value::BinlogValue;
use mysql_async::consts::ColumnType;
use serde::Serialize;

/// MariaDB's own event types (not in MySQL's list).
const MARIADB_ANNOTATE_ROWS: u8 = 160;
const MARIADB_BINLOG_CHECKPOINT: u8 = 161;
const MARIADB_GTID: u8 = 162;
const MARIADB_GTID_LIST: u8 = 163;

/// Rows kept per transaction (the count goes on).
pub const ROWS_KEPT: usize = 10_000;

/// What a rows event does to a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowOp {
    Insert,
    Update,
    Delete,
}

impl RowOp {
    pub fn word(self) -> &'static str {
        match self {
            RowOp::Insert => "INSERT",
            RowOp::Update => "UPDATE",
            RowOp::Delete => "DELETE",
        }
    }
}

/// One row a transaction changes.
#[derive(Clone, Debug, PartialEq)]
pub struct RowChange {
    /// `db.table`.
    pub table: String,
    pub op: RowOp,
    /// The row before (updates and deletes) and after (inserts and updates), all columns in
    /// table order (full row images).
    pub before: Option<Vec<Value>>,
    pub after: Option<Vec<Value>>,
    /// Part of the event that ended at the error's `end_log_pos` (the one that failed).
    pub failing: bool,
}

/// A transaction read from a binlog.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Transaction {
    /// Where it starts (the link's executed position) and where the failing event ends.
    pub start: u64,
    pub failing_end: Option<u64>,
    /// The server_id of the node that first wrote it (every event carries its origin's id).
    pub server_id: Option<u32>,
    /// `0-1-5` (MariaDB) or `uuid:5` (MySQL), when the binlog has GTIDs.
    pub gtid: Option<String>,
    /// Statements other than BEGIN/COMMIT (statement-based events, DDL).
    pub statements: Vec<String>,
    pub rows: Vec<RowChange>,
    /// Rows in the whole transaction (more than `rows` holds when it is huge).
    pub total_rows: usize,
    /// It ended (XID or COMMIT) within what was read.
    pub complete: bool,
    /// Event types read and skipped, by name.
    pub skipped: Vec<String>,
}

/// Folds events into the transaction that starts at `start`. Events ending at or before
/// `start` (the fake rotate and format description a dump begins with, earlier transactions)
/// are ignored; folding stops at the transaction's end.
pub struct Fold {
    tx: Transaction,
    maps: HashMap<u64, TableMapEvent<'static>>,
    started: bool,
}

impl Fold {
    pub fn new(start: u64, failing_end: Option<u64>) -> Fold {
        Fold { tx: Transaction { start, failing_end, ..Transaction::default() }, maps: HashMap::new(), started: false }
    }

    /// Takes the next event; `Ok(true)` once the transaction is complete.
    pub fn push(&mut self, ev: &Event) -> Result<bool, String> {
        let h = ev.header();
        let end = u64::from(h.log_pos());
        // Fake events of a dump start (log_pos 0) and anything before the start.
        if end <= self.tx.start {
            return Ok(false);
        }
        let raw = ev.header().event_type_raw();
        if !self.started {
            self.started = true;
            self.tx.server_id = Some(h.server_id());
        }
        match raw {
            MARIADB_GTID => {
                self.tx.gtid = mariadb_gtid(ev.data(), h.server_id());
                return Ok(false);
            }
            MARIADB_ANNOTATE_ROWS | MARIADB_BINLOG_CHECKPOINT | MARIADB_GTID_LIST => {
                self.skip(raw);
                return Ok(false);
            }
            _ => {}
        }
        let data = match ev.read_data() {
            Ok(Some(d)) => d,
            Ok(None) => {
                self.skip(raw);
                return Ok(false);
            }
            Err(e) => return Err(format!("cannot read a binlog event (type {raw}) ending at {end}: {e}")),
        };
        match data {
            EventData::GtidEvent(g) => {
                self.tx.gtid = Some(format!("{}:{}", uuid(&g.sid()), g.gno()));
            }
            EventData::QueryEvent(q) => {
                let sql = q.query().trim().to_string();
                match sql.to_ascii_uppercase().as_str() {
                    "BEGIN" => {}
                    "COMMIT" => {
                        self.tx.complete = true;
                        return Ok(true);
                    }
                    _ => self.tx.statements.push(sql),
                }
            }
            EventData::XidEvent(_) => {
                self.tx.complete = true;
                return Ok(true);
            }
            EventData::TableMapEvent(t) => {
                self.maps.insert(t.table_id(), t.into_owned());
            }
            EventData::RowsEvent(r) => self.rows(&r, end == self.tx.failing_end.unwrap_or(0))?,
            EventData::FormatDescriptionEvent(_) | EventData::RotateEvent(_) => {}
            _ => self.skip(raw),
        }
        Ok(false)
    }

    fn skip(&mut self, raw: u8) {
        let name = match EventType::try_from(raw) {
            Ok(t) => format!("{t:?}"),
            Err(_) => match raw {
                MARIADB_ANNOTATE_ROWS => "ANNOTATE_ROWS_EVENT".into(),
                MARIADB_BINLOG_CHECKPOINT => "BINLOG_CHECKPOINT_EVENT".into(),
                MARIADB_GTID_LIST => "GTID_LIST_EVENT".into(),
                other => format!("event type {other}"),
            },
        };
        if !self.tx.skipped.contains(&name) {
            self.tx.skipped.push(name);
        }
    }

    fn rows(&mut self, r: &RowsEventData<'_>, failing: bool) -> Result<(), String> {
        let tid = r.table_id();
        let Some(tme) = self.maps.get(&tid) else {
            return Err(format!("a rows event for table id {tid} without its table map"));
        };
        let table = format!("{}.{}", tme.database_name(), tme.table_name());
        let types: Vec<Option<ColumnType>> =
            (0..tme.columns_count() as usize).map(|i| tme.get_column_type(i).ok().flatten()).collect();
        let op = match r {
            RowsEventData::WriteRowsEventV1(_) | RowsEventData::WriteRowsEvent(_) => RowOp::Insert,
            RowsEventData::DeleteRowsEventV1(_) | RowsEventData::DeleteRowsEvent(_) => RowOp::Delete,
            _ => RowOp::Update,
        };
        for row in r.rows(tme) {
            let (before, after) = row.map_err(|e| format!("cannot read a row of {table}: {e}"))?;
            self.tx.total_rows += 1;
            if self.tx.rows.len() >= ROWS_KEPT {
                continue;
            }
            let image = |r: mysql_async::binlog::row::BinlogRow| -> Vec<Value> {
                r.unwrap()
                    .into_iter()
                    .zip(types.iter().chain(std::iter::repeat(&None)))
                    .map(|(v, t)| value(v, *t))
                    .collect()
            };
            self.tx.rows.push(RowChange {
                table: table.clone(),
                op,
                before: before.map(image),
                after: after.map(image),
                failing,
            });
        }
        Ok(())
    }

    /// What was folded so far.
    pub fn finish(self) -> Transaction {
        self.tx
    }
}

/// A binlog value as the binary protocol would read it from the table.
fn value(v: BinlogValue<'_>, t: Option<ColumnType>) -> Value {
    let v = match v {
        BinlogValue::Value(v) => v,
        BinlogValue::Jsonb(_) => Value::try_from(v).unwrap_or(Value::NULL),
        BinlogValue::JsonDiff(_) => return Value::Bytes(b"(a partial JSON update)".to_vec()),
    };
    match (t, &v) {
        (Some(ColumnType::MYSQL_TYPE_TIMESTAMP2 | ColumnType::MYSQL_TYPE_TIMESTAMP), Value::Bytes(b)) => {
            std::str::from_utf8(b).ok().and_then(epoch_to_date).unwrap_or(v)
        }
        (Some(ColumnType::MYSQL_TYPE_TIMESTAMP), Value::Int(s)) => epoch_to_date(&s.to_string()).unwrap_or(v),
        _ => v,
    }
}

/// `1732869600.123456` (seconds since the epoch) as a UTC `Value::Date`.
fn epoch_to_date(s: &str) -> Option<Value> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, "0"));
    let secs: i64 = secs.parse().ok()?;
    let micros: u32 = format!("{frac:0<6}").get(..6)?.parse().ok()?;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Some(Value::Date(
        u16::try_from(year).ok()?,
        month as u8,
        day as u8,
        (rem / 3600) as u8,
        (rem % 3600 / 60) as u8,
        (rem % 60) as u8,
        micros,
    ))
}

/// MariaDB's GTID event body: sequence number (8 bytes), domain id (4 bytes), flags.
fn mariadb_gtid(data: &[u8], server_id: u32) -> Option<String> {
    let seq = u64::from_le_bytes(data.get(..8)?.try_into().ok()?);
    let domain = u32::from_le_bytes(data.get(8..12)?.try_into().ok()?);
    Some(format!("{domain}-{server_id}-{seq}"))
}

fn uuid(b: &[u8; 16]) -> String {
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_become_utc_dates() {
        assert_eq!(epoch_to_date("0"), Some(Value::Date(1970, 1, 1, 0, 0, 0, 0)));
        assert_eq!(epoch_to_date("1798761599.5"), Some(Value::Date(2026, 12, 31, 23, 59, 59, 500_000)));
        assert_eq!(epoch_to_date("951782400.000123"), Some(Value::Date(2000, 2, 29, 0, 0, 0, 123)));
        assert_eq!(epoch_to_date("x"), None);
    }

    #[test]
    fn gtids() {
        let mut body = 5u64.to_le_bytes().to_vec();
        body.extend(2u32.to_le_bytes());
        body.push(0);
        assert_eq!(mariadb_gtid(&body, 3).as_deref(), Some("2-3-5"));
        assert_eq!(mariadb_gtid(&[1, 2], 3), None, "truncated");
        assert_eq!(uuid(&[0x3e; 16]), "3e3e3e3e-3e3e-3e3e-3e3e-3e3e3e3e3e3e");
    }
}
