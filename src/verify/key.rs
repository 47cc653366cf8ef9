//! A primary key value: one part per key column, as the server sent it, so integer, string, binary
//! and composite keys are compared, shown, bound as statement parameters and serialized alike.
//! Integer columns become numbers (they sort and print as numbers); text stays text; bytes that
//! are not UTF-8 stay bytes (shown as `X'..'`).

use mysql_async::Value;
use serde::{Deserialize, Serialize};

use super::chunk::{Column, is_integer};

/// One key column's value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Part {
    Int(i64),
    /// An unsigned integer above `i64::MAX` (so every part orders as a number).
    Big(u64),
    Text(String),
    Bytes(Vec<u8>),
}

/// A primary key value, one part per key column in key order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Key(pub Vec<Part>);

impl Part {
    /// A value as the server sent it for a column of `data_type` (`None` for SQL NULL, which a
    /// primary key never holds).
    pub fn from_value(v: &Value, data_type: &str) -> Option<Part> {
        match v {
            Value::NULL => None,
            Value::Int(i) => Some(Part::Int(*i)),
            Value::UInt(u) => Some(Part::int(i128::from(*u))),
            Value::Bytes(b) => {
                if is_integer(data_type)
                    && let Some(i) = std::str::from_utf8(b).ok().and_then(|s| s.trim().parse::<i128>().ok())
                {
                    return Some(Part::int(i));
                }
                Some(match String::from_utf8(b.clone()) {
                    Ok(s) => Part::Text(s),
                    Err(e) => Part::Bytes(e.into_bytes()),
                })
            }
            other => Some(Part::Text(other.as_sql(true).trim_matches('\'').to_string())),
        }
    }

    /// An integer part (a value beyond 64 bits, which no integer column holds, becomes text).
    pub fn int(i: i128) -> Part {
        match (i64::try_from(i), u64::try_from(i)) {
            (Ok(v), _) => Part::Int(v),
            (_, Ok(v)) => Part::Big(v),
            _ => Part::Text(i.to_string()),
        }
    }

    /// The value to bind for a `?` that compares with this key column.
    pub fn to_value(&self) -> Value {
        match self {
            Part::Int(i) => Value::Int(*i),
            Part::Big(u) => Value::UInt(*u),
            Part::Text(s) => Value::Bytes(s.as_bytes().to_vec()),
            Part::Bytes(b) => Value::Bytes(b.clone()),
        }
    }

    /// As an SQL literal for reading (`42`, `'o''brien'`, `X'00ff'`).
    pub fn literal(&self) -> String {
        match self {
            Part::Int(i) => i.to_string(),
            Part::Big(u) => u.to_string(),
            Part::Text(s) => crate::db::quote::sql_string(s),
            Part::Bytes(b) => hex_literal(b),
        }
    }
}

/// `X'00FF10'`.
pub fn hex_literal(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2 + 3);
    s.push_str("X'");
    for byte in b {
        s.push_str(&format!("{byte:02X}"));
    }
    s.push('\'');
    s
}

impl Key {
    pub fn int(i: i128) -> Key {
        Key(vec![Part::int(i)])
    }

    /// The key read from `values` (one per key column, with the columns' types); `None` when a
    /// part is NULL.
    pub fn from_values(values: &[Value], columns: &[&Column]) -> Option<Key> {
        values.iter().zip(columns).map(|(v, c)| Part::from_value(v, &c.data_type)).collect::<Option<Vec<_>>>().map(Key)
    }

    /// `900003`, or `(1, 'ab')` for a composite key.
    pub fn text(&self) -> String {
        match self.0.as_slice() {
            [one] => one.literal(),
            parts => format!("({})", parts.iter().map(Part::literal).collect::<Vec<_>>().join(", ")),
        }
    }

    /// The values to bind, in key column order.
    pub fn params(&self) -> Vec<Value> {
        self.0.iter().map(Part::to_value).collect()
    }
}

/// `id`, or `(a, k)` for a composite key: how a key's columns are named in texts.
pub fn key_name(pk: &[String]) -> String {
    match pk {
        [one] => one.clone(),
        many => format!("({})", many.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, t: &str) -> Column {
        Column { name: name.into(), data_type: t.into(), column_type: t.into() }
    }

    #[test]
    fn parts_from_server_values() {
        let int = col("id", "bigint");
        let txt = col("k", "varchar");
        let key = Key::from_values(&[Value::Bytes(b"900003".to_vec()), Value::Bytes(b"o'b".to_vec())], &[&int, &txt]);
        let key = key.expect("no NULL");
        assert_eq!(key, Key(vec![Part::Int(900_003), Part::Text("o'b".into())]));
        assert!(Key::int(i128::from(i64::MAX)) < Key::int(i128::from(i64::MAX) + 1), "Big after Int");
        assert_eq!(key.text(), "(900003, 'o''b')");
        assert_eq!(Key::int(7).text(), "7");
        let bin = Key::from_values(&[Value::Bytes(vec![0, 0xff])], &[&col("h", "varbinary")]).expect("bytes");
        assert_eq!(bin.text(), "X'00FF'");
        assert_eq!(bin.params(), vec![Value::Bytes(vec![0, 0xff])]);
        assert!(Key::from_values(&[Value::NULL], &[&int]).is_none());
        assert_eq!(Key::int(i128::from(u64::MAX)).params(), vec![Value::UInt(u64::MAX)]);
        assert_eq!(key_name(&["a".into(), "k".into()]), "(a, k)");
    }

    #[test]
    fn numbers_sort_as_numbers_and_json_is_plain() {
        assert!(Key::int(9) < Key::int(10));
        let k = Key(vec![Part::Int(5), Part::Text("ab".into()), Part::Bytes(vec![1, 255])]);
        let json = serde_json::to_string(&k).expect("json");
        assert_eq!(json, r#"[5,"ab",[1,255]]"#);
        assert_eq!(serde_json::from_str::<Key>(&json).expect("back"), k);
    }
}
