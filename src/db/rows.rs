//! Column values as the text the model parses: decoded in this one place for every reader.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};

use super::DbError;
use crate::model::replication::Row;

/// A column value as text, the form the model parses.
pub fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Double(d) => Some(d.to_string()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

/// Converts a driver row into the model's name -> text row.
pub fn to_row(r: &mysql_async::Row) -> Row {
    r.columns_ref()
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name_str().into_owned(), r.as_ref(i).and_then(value_text)))
        .collect()
}

/// Runs a query and returns rows by column name (no deadline of its own: callers put one around).
pub async fn query_rows(conn: &mut Conn, sql: &str) -> Result<Vec<Row>, DbError> {
    let rows: Vec<mysql_async::Row> = conn.query(sql).await?;
    Ok(rows.iter().map(to_row).collect())
}

/// A row's values in column order, as text.
pub fn values(r: &mysql_async::Row) -> Vec<Option<String>> {
    (0..r.len()).map(|i| r.as_ref(i).and_then(value_text)).collect()
}

/// A cell of a row by column name.
pub fn cell<'a>(row: &'a Row, name: &str) -> Option<&'a str> {
    row.iter().find(|(n, _)| n == name).and_then(|(_, v)| v.as_deref())
}
