//! Statement digests from `performance_schema.events_statements_summary_by_digest` (top by total
//! latency): count, total and average latency, rows examined. Timers are picoseconds. When
//! performance_schema is off (MariaDB's default) or unreadable, the reason is kept for a hint.

use std::collections::HashMap;

use serde::Serialize;

use super::row::Row;

/// The query the collector runs when `@@performance_schema` is on.
pub const DIGEST_SQL: &str = "SELECT SCHEMA_NAME, DIGEST_TEXT, COUNT_STAR, SUM_TIMER_WAIT, AVG_TIMER_WAIT, \
     SUM_ROWS_EXAMINED FROM performance_schema.events_statements_summary_by_digest \
     WHERE DIGEST_TEXT IS NOT NULL ORDER BY SUM_TIMER_WAIT DESC LIMIT 10";

/// The hint shown when there are no digests because performance_schema is off.
pub const OFF_HINT: &str = "performance_schema OFF: no digests (performance_schema = ON in my.cnf, then restart)";

/// One digest row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Digest {
    pub schema: String,
    /// The normalised statement (`SELECT * FROM t WHERE id = ?`).
    pub text: String,
    pub count: u64,
    /// Seconds.
    pub total: f64,
    /// Seconds.
    pub avg: f64,
    pub rows_examined: u64,
}

/// What a node says about digests.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Digests {
    Rows(Vec<Digest>),
    /// Why there are none (performance_schema off, no privilege).
    Unavailable(String),
}

impl Digest {
    /// Reads a row of [`DIGEST_SQL`] by column name; `None` without a digest text.
    pub fn from_row(row: &Row) -> Option<Digest> {
        let ix: HashMap<String, Option<&str>> =
            row.iter().map(|(k, v)| (k.to_ascii_uppercase(), v.as_deref())).collect();
        let get = |k: &str| ix.get(k).copied().flatten();
        let n = |k: &str| get(k).and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(0);
        let ps = |k: &str| n(k) as f64 / 1e12;
        let text = get("DIGEST_TEXT")?.split_whitespace().collect::<Vec<_>>().join(" ");
        Some(Digest {
            schema: get("SCHEMA_NAME").unwrap_or("").to_string(),
            text,
            count: n("COUNT_STAR"),
            total: ps("SUM_TIMER_WAIT"),
            avg: ps("AVG_TIMER_WAIT"),
            rows_examined: n("SUM_ROWS_EXAMINED"),
        })
    }
}

/// Whether `@@performance_schema` reads as on (`1`, `ON`).
pub fn enabled(value: Option<&str>) -> bool {
    matches!(value.map(|v| v.trim().to_ascii_uppercase()).as_deref(), Some("1" | "ON"))
}

/// Every node's digests merged, top by total latency: (node, digest).
pub fn merged<'a>(nodes: impl Iterator<Item = (&'a str, &'a Digests)>) -> Vec<(&'a str, &'a Digest)> {
    let mut v: Vec<(&str, &Digest)> = nodes
        .flat_map(|(n, d)| match d {
            Digests::Rows(rows) => rows.iter().map(|r| (n, r)).collect::<Vec<_>>(),
            Digests::Unavailable(_) => Vec::new(),
        })
        .collect();
    v.sort_by(|a, b| b.1.total.total_cmp(&a.1.total));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, Option<&str>)]) -> Row {
        pairs.iter().map(|(k, v)| (k.to_string(), v.map(str::to_string))).collect()
    }

    #[test]
    fn reads_a_digest_row_in_any_column_order() {
        let r = row(&[
            ("SUM_ROWS_EXAMINED", Some("1500")),
            ("DIGEST_TEXT", Some("SELECT * FROM `posts`\n WHERE `id` = ?")),
            ("COUNT_STAR", Some("300")),
            ("SUM_TIMER_WAIT", Some("4500000000000")),
            ("AVG_TIMER_WAIT", Some("15000000000")),
            ("SCHEMA_NAME", None),
        ]);
        let d = Digest::from_row(&r).expect("a digest");
        assert_eq!(d.text, "SELECT * FROM `posts` WHERE `id` = ?");
        assert_eq!(d.count, 300);
        assert!((d.total - 4.5).abs() < 1e-9 && (d.avg - 0.015).abs() < 1e-9);
        assert_eq!(d.rows_examined, 1500);
        assert_eq!(d.schema, "");
        assert_eq!(Digest::from_row(&row(&[("DIGEST_TEXT", None)])), None, "no text: skipped");
        let garbage = row(&[("DIGEST_TEXT", Some("x")), ("COUNT_STAR", Some("-3")), ("SUM_TIMER_WAIT", Some("?"))]);
        assert_eq!(Digest::from_row(&garbage).map(|d| (d.count, d.total)), Some((0, 0.0)), "bad numbers read as 0");
    }

    #[test]
    fn enabled_and_merged() {
        assert!(enabled(Some("1")) && enabled(Some("ON")) && !enabled(Some("0")) && !enabled(None));
        let d =
            |t: f64| Digest { schema: "app".into(), text: "q".into(), count: 1, total: t, avg: t, rows_examined: 0 };
        let a = Digests::Rows(vec![d(1.0), d(3.0)]);
        let b = Digests::Rows(vec![d(2.0)]);
        let off = Digests::Unavailable(OFF_HINT.into());
        let m = merged([("n1", &a), ("n2", &b), ("n3", &off)].into_iter());
        let order: Vec<(&str, f64)> = m.iter().map(|(n, d)| (*n, d.total)).collect();
        assert_eq!(order, vec![("n1", 3.0), ("n2", 2.0), ("n1", 1.0)]);
    }
}
