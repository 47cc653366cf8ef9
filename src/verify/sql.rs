//! The SQL a verify runs, built from names that came from the servers: identifiers are quoted with
//! backticks (a backtick inside doubled), strings as SQL literals. Pure text, unit-tested.

use crate::db::quote::sql_string;

/// Quotes an identifier: `` `name` ``, with every backtick inside doubled.
pub fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `` `db`.`table` ``.
pub fn table(schema: &str, table: &str) -> String {
    format!("{}.{}", ident(schema), ident(table))
}

/// A key value as an SQL literal (integers only, so no quoting is needed).
pub fn key(v: i128) -> String {
    v.to_string()
}

/// `'a', 'b'` for an `IN (...)` list (never empty: `NULL` matches nothing).
pub fn string_list(items: &[String]) -> String {
    if items.is_empty() {
        return "NULL".into();
    }
    items.iter().map(|s| sql_string(s)).collect::<Vec<_>>().join(", ")
}

/// Every schema on the server.
pub const SCHEMATA: &str = "SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA";

/// The base tables of `schemas` (MariaDB's system-versioned tables too: they hold rows as well).
pub fn tables_in(schemas: &[String]) -> String {
    format!(
        "SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t FROM information_schema.TABLES \
         WHERE TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') AND TABLE_SCHEMA IN ({}) \
         ORDER BY TABLE_SCHEMA, TABLE_NAME",
        string_list(schemas)
    )
}

/// A table's columns in order, with their types.
pub fn columns(schema: &str, t: &str) -> String {
    format!(
        "SELECT COLUMN_NAME AS c, DATA_TYPE AS d, COLUMN_TYPE AS ct FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {} ORDER BY ORDINAL_POSITION",
        sql_string(schema),
        sql_string(t)
    )
}

/// A table's primary key columns in order.
pub fn primary_key(schema: &str, t: &str) -> String {
    format!(
        "SELECT COLUMN_NAME AS c FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {} AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
        sql_string(schema),
        sql_string(t)
    )
}

/// `CHECKSUM TABLE`: one row, columns `Table` and `Checksum` (NULL when the table is gone).
pub fn checksum_table(schema: &str, t: &str) -> String {
    format!("CHECKSUM TABLE {}", table(schema, t))
}

/// The text whose CRC32 stands for a row: the key, then per other column `ISNULL(c), c`, so NULL
/// and the empty string differ although `CONCAT_WS` skips NULLs.
pub fn row_image(key: &str, columns: &[String]) -> String {
    row_image_keys(&[key.to_string()], columns)
}

/// [`row_image`] for a key of one or more columns (key columns first, in key order).
pub fn row_image_keys(keys: &[String], columns: &[String]) -> String {
    let mut parts: Vec<String> = keys.iter().map(|k| ident(k)).collect();
    for c in columns.iter().filter(|c| !keys.contains(c)) {
        parts.push(format!("ISNULL({})", ident(c)));
        parts.push(ident(c));
    }
    format!("CONCAT_WS('#', {})", parts.join(", "))
}

/// `` `a`, `b` `` for a list of identifiers.
pub fn idents(names: &[String]) -> String {
    names.iter().map(|n| ident(n)).collect::<Vec<_>>().join(", ")
}

/// One page of key tuples and row CRCs in key order, for a prepared statement: after the key
/// bound to the `?`s when `after` (one per key column).
pub fn tuples_page(schema: &str, t: &str, keys: &[String], columns: &[String], after: bool, limit: usize) -> String {
    let k = idents(keys);
    let cond = if after { format!(" WHERE ({k}) > ({})", vec!["?"; keys.len()].join(", ")) } else { String::new() };
    format!(
        "SELECT {k}, CRC32({img}) AS rd_crc FROM {tb}{cond} ORDER BY {k} LIMIT {limit}",
        img = row_image_keys(keys, columns),
        tb = table(schema, t),
    )
}

/// Smallest and largest key.
pub fn key_bounds(schema: &str, t: &str, key: &str) -> String {
    let k = ident(key);
    format!("SELECT MIN({k}) AS lo, MAX({k}) AS hi FROM {}", table(schema, t))
}

/// Row count and XOR of row CRCs of the key range `lo..=hi`, and the first key after it (so a
/// run of empty ranges is skipped in one step).
pub fn chunk(schema: &str, t: &str, key: &str, columns: &[String], lo: i128, hi: i128) -> String {
    let k = ident(key);
    let tb = table(schema, t);
    format!(
        "SELECT COUNT(*) AS n, COALESCE(BIT_XOR(CRC32({img})), 0) AS crc, \
         (SELECT MIN({k}) FROM {tb} WHERE {k} > {hi}) AS next \
         FROM {tb} WHERE {k} BETWEEN {lo} AND {hi}",
        img = row_image(key, columns),
        lo = self::key(lo),
        hi = self::key(hi),
    )
}

/// Every row's key and CRC in `lo..=hi`.
pub fn rows(schema: &str, t: &str, key: &str, columns: &[String], lo: i128, hi: i128) -> String {
    let k = ident(key);
    format!(
        "SELECT {k} AS k, CRC32({img}) AS crc FROM {tb} WHERE {k} BETWEEN {lo} AND {hi} ORDER BY {k}",
        img = row_image(key, columns),
        tb = table(schema, t),
        lo = self::key(lo),
        hi = self::key(hi),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_backticked_and_escaped() {
        assert_eq!(ident("posts"), "`posts`");
        assert_eq!(ident("we`ird"), "`we``ird`");
        assert_eq!(ident("`"), "````");
        assert_eq!(ident(""), "``");
        assert_eq!(ident("a b.c'd\"e"), "`a b.c'd\"e`");
        // A name trying to close the quote and append SQL stays one identifier.
        assert_eq!(ident("x`; DROP TABLE t; --"), "`x``; DROP TABLE t; --`");
        assert_eq!(table("app", "po`sts"), "`app`.`po``sts`");
    }

    #[test]
    fn strings_go_through_literals() {
        assert_eq!(string_list(&["app".into(), "o'brien".into()]), "'app', 'o''brien'");
        assert_eq!(string_list(&[]), "NULL");
        assert!(columns("a'b", "t").contains("TABLE_SCHEMA = 'a''b'"));
    }

    #[test]
    fn row_image_is_null_safe() {
        let cols = vec!["id".to_string(), "node".into(), "we`ird".into()];
        assert_eq!(
            row_image("id", &cols),
            "CONCAT_WS('#', `id`, ISNULL(`node`), `node`, ISNULL(`we``ird`), `we``ird`)"
        );
    }

    #[test]
    fn chunk_and_rows_queries() {
        let cols = vec!["id".to_string(), "body".into()];
        let q = chunk("app", "posts", "id", &cols, 1, 1000);
        assert_eq!(
            q,
            "SELECT COUNT(*) AS n, COALESCE(BIT_XOR(CRC32(CONCAT_WS('#', `id`, ISNULL(`body`), `body`))), 0) AS crc, \
             (SELECT MIN(`id`) FROM `app`.`posts` WHERE `id` > 1000) AS next \
             FROM `app`.`posts` WHERE `id` BETWEEN 1 AND 1000"
        );
        let q = tuples_page("app", "t", &["a".into(), "k".into()], &["a".into(), "k".into(), "v".into()], true, 10);
        assert_eq!(
            q,
            "SELECT `a`, `k`, CRC32(CONCAT_WS('#', `a`, `k`, ISNULL(`v`), `v`)) AS rd_crc FROM `app`.`t` \
             WHERE (`a`, `k`) > (?, ?) ORDER BY `a`, `k` LIMIT 10"
        );
        let q = rows("app", "posts", "id", &cols, -5, 44);
        assert!(q.ends_with("WHERE `id` BETWEEN -5 AND 44 ORDER BY `id`"), "{q}");
        assert_eq!(checksum_table("app", "posts"), "CHECKSUM TABLE `app`.`posts`");
    }
}
