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
    let (year, month, day) = crate::fmt::civil_from_days(days);
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

    /// Every event of a recorded binlog file.
    fn events(bytes: &[u8]) -> Vec<Event> {
        use mysql_async::binlog::BinlogVersion;
        use mysql_common::binlog::EventStreamReader;
        let mut input = &bytes[4..];
        let mut r = EventStreamReader::new(BinlogVersion::Version4);
        let mut out = Vec::new();
        while let Some(ev) = r.read(&mut input).expect("a readable event") {
            out.push(ev);
        }
        out
    }

    #[test]
    fn a_recorded_mariadb_conflict_transaction() {
        // node1's binlog of a lab after `lab break conflict --nodes 1,2` (the third one): node2
        // stopped on the event ending at 4247 of the transaction starting at 3952.
        let bytes = include_bytes!("../../tests/fixtures/mariadb-10.11-binlog-conflict.000001");
        let evs = events(bytes);
        let mut f = Fold::new(3952, Some(4247));
        let done = evs.iter().map(|e| f.push(e)).find(|r| !matches!(r, Ok(false)));
        assert_eq!(done, Some(Ok(true)), "the transaction ends (XID)");
        let tx = f.finish();
        assert_eq!((tx.server_id, tx.gtid.as_deref(), tx.complete), (Some(1), Some("0-1-6"), true));
        assert_eq!((tx.rows.len(), tx.total_rows), (1, 1));
        let r = &tx.rows[0];
        assert_eq!((r.table.as_str(), r.op, r.failing), ("app.posts", RowOp::Insert, true));
        let after = r.after.as_ref().expect("an after image");
        assert_eq!(after[0], Value::Int(3009));
        assert_eq!(after[1], Value::Bytes(b"node1".to_vec()));
        assert_eq!(after[2], Value::Bytes(b"written on node1 in a conflict".to_vec()));
        assert!(matches!(after[3], Value::Date(2026, 11, 29, ..)), "a TIMESTAMP as a UTC date: {:?}", after[3]);
        assert!(tx.skipped.contains(&"ANNOTATE_ROWS_EVENT".to_string()), "{:?}", tx.skipped);
        // Started in the middle of nothing (the file's first events): no transaction, no panic.
        let mut f = Fold::new(5, None);
        for e in evs.iter().take(4) {
            assert!(f.push(e).is_ok());
        }
    }

    /// MySQL 8.0 / 8.4 binlogs, built from the documented format (MySQL's `binlog_event.h`,
    /// `rows_event.h`, `control_events.h`): this machine runs MariaDB only.
    mod mysql8 {
        use super::*;

        fn crc32(data: &[u8]) -> u32 {
            let mut c = !0u32;
            for b in data {
                c ^= u32::from(*b);
                for _ in 0..8 {
                    c = if c & 1 != 0 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
                }
            }
            !c
        }

        /// Post-header lengths of MySQL 8.0's 41 event types (type 1 first).
        const POST_HEADERS: [u8; 41] = [
            56, 13, 0, 8, 0, 0, 0, 0, 4, 0, 4, 0, 0, 0, 98, 0, 4, 26, 8, 0, 0, 0, 8, 8, 8, 2, 0, 0, 0, 10, 10, 10, 42,
            42, 0, 18, 52, 0, 10, 40, 0,
        ];

        struct Binlog {
            bytes: Vec<u8>,
            checksum: bool,
        }

        impl Binlog {
            fn new(version: &str, checksum: bool) -> Binlog {
                let mut b = Binlog { bytes: vec![0xfe, b'b', b'i', b'n'], checksum };
                let mut fde = 4u16.to_le_bytes().to_vec();
                let mut v = version.as_bytes().to_vec();
                v.resize(50, 0);
                fde.extend(v);
                fde.extend(0u32.to_le_bytes());
                fde.push(19);
                fde.extend(POST_HEADERS);
                fde.push(u8::from(checksum));
                // The format description always carries its checksum.
                b.event(15, 1, &fde, true);
                b
            }

            /// Appends an event; returns where it ends.
            fn event(&mut self, ty: u8, server_id: u32, body: &[u8], force_crc: bool) -> u32 {
                let crc = self.checksum || force_crc;
                let len = 19 + body.len() + if crc { 4 } else { 0 };
                let end = (self.bytes.len() + len) as u32;
                let mut e = 0u32.to_le_bytes().to_vec();
                e.push(ty);
                e.extend(server_id.to_le_bytes());
                e.extend((len as u32).to_le_bytes());
                e.extend(end.to_le_bytes());
                e.extend(0u16.to_le_bytes());
                e.extend(body);
                if crc {
                    let c = crc32(&e);
                    e.extend(c.to_le_bytes());
                }
                self.bytes.extend(e);
                end
            }

            fn gtid(&mut self, server_id: u32, sid: [u8; 16], gno: u64) {
                let mut g = vec![1u8];
                g.extend(sid);
                g.extend(gno.to_le_bytes());
                g.push(2);
                g.extend(0u64.to_le_bytes());
                g.extend(1u64.to_le_bytes());
                self.event(33, server_id, &g, false);
            }

            fn query(&mut self, server_id: u32, q: &str) {
                let mut b = 7u32.to_le_bytes().to_vec();
                b.extend(0u32.to_le_bytes());
                b.push(3);
                b.extend(0u16.to_le_bytes());
                b.extend(0u16.to_le_bytes());
                b.extend(b"app\0");
                b.extend(q.as_bytes());
                self.event(2, server_id, &b, false);
            }

            /// app.posts (id INT NOT NULL, node VARCHAR(16), created TIMESTAMP, at DATETIME(6)).
            fn table_map(&mut self, server_id: u32) {
                let mut b = vec![42, 0, 0, 0, 0, 0, 1, 0];
                b.extend([3, b'a', b'p', b'p', 0, 5, b'p', b'o', b's', b't', b's', 0]);
                b.push(4);
                b.extend([3, 15, 17, 18]);
                b.extend([4, 0x40, 0x00, 0, 6]);
                b.push(0b1110);
                self.event(19, server_id, &b, false);
            }

            fn row_image(id: i32, node: &str, ts: u32, dt: (u16, u8, u8, u8, u8, u8, u32)) -> Vec<u8> {
                let mut r = vec![0u8];
                r.extend(id.to_le_bytes());
                r.push(node.len() as u8);
                r.extend(node.as_bytes());
                r.extend(ts.to_be_bytes());
                let (y, mo, d, h, mi, s, us) = dt;
                let ymd = ((u64::from(y) * 13 + u64::from(mo)) << 5) | u64::from(d);
                let hms = (u64::from(h) << 12) | (u64::from(mi) << 6) | u64::from(s);
                let packed = ((ymd << 17) | hms) + 0x80_0000_0000;
                r.extend(&packed.to_be_bytes()[3..]);
                r.extend(&us.to_be_bytes()[1..]);
                r
            }

            /// A rows event v2 (30 write, 31 update) for table 42; returns its end.
            fn rows(&mut self, ty: u8, server_id: u32, images: &[Vec<u8>]) -> u32 {
                let mut b = vec![42, 0, 0, 0, 0, 0, 1, 0, 2, 0];
                b.push(4);
                b.push(0x0f);
                if ty == 31 {
                    b.push(0x0f);
                }
                for i in images {
                    b.extend(i);
                }
                self.event(ty, server_id, &b, false)
            }

            fn xid(&mut self, server_id: u32) {
                self.event(16, server_id, &99u64.to_le_bytes(), false);
            }
        }

        fn fold(b: &Binlog, start: u64, end: Option<u64>) -> Transaction {
            let mut f = Fold::new(start, end);
            for e in events(&b.bytes) {
                if f.push(&e).expect("readable") {
                    break;
                }
            }
            f.finish()
        }

        #[test]
        fn mysql_80_insert_with_checksums() {
            let mut b = Binlog::new("8.0.36", true);
            let start = b.bytes.len() as u64;
            b.gtid(7, [0x3e; 16], 12);
            b.query(7, "BEGIN");
            b.table_map(7);
            let img = Binlog::row_image(1009, "node1", 1_798_761_599, (2026, 11, 29, 12, 34, 56, 654_321));
            let end = b.rows(30, 7, &[img]);
            b.xid(7);
            let tx = fold(&b, start, Some(u64::from(end)));
            assert_eq!(tx.gtid.as_deref(), Some("3e3e3e3e-3e3e-3e3e-3e3e-3e3e3e3e3e3e:12"));
            assert_eq!((tx.server_id, tx.complete, tx.total_rows), (Some(7), true, 1));
            let r = &tx.rows[0];
            assert_eq!((r.table.as_str(), r.op, r.failing), ("app.posts", RowOp::Insert, true));
            assert_eq!(
                r.after,
                Some(vec![
                    Value::Int(1009),
                    Value::Bytes(b"node1".to_vec()),
                    Value::Date(2026, 12, 31, 23, 59, 59, 0),
                    Value::Date(2026, 11, 29, 12, 34, 56, 654_321),
                ])
            );
        }

        #[test]
        fn mysql_84_update_without_checksums() {
            let mut b = Binlog::new("8.4.2", false);
            let start = b.bytes.len() as u64;
            b.gtid(9, [0xab; 16], 3);
            b.query(9, "BEGIN");
            b.table_map(9);
            let before = Binlog::row_image(5, "old", 0, (2000, 1, 1, 0, 0, 0, 0));
            let after = Binlog::row_image(5, "new", 0, (2000, 1, 1, 0, 0, 0, 1));
            let end = b.rows(31, 9, &[[before, after].concat()]);
            b.xid(9);
            let tx = fold(&b, start, Some(u64::from(end)));
            assert_eq!((tx.server_id, tx.complete), (Some(9), true));
            let r = &tx.rows[0];
            assert_eq!(r.op, RowOp::Update);
            assert_eq!(r.before.as_ref().map(|v| v[1].clone()), Some(Value::Bytes(b"old".to_vec())));
            assert_eq!(r.after.as_ref().map(|v| v[3].clone()), Some(Value::Date(2000, 1, 1, 0, 0, 0, 1)));
        }
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
