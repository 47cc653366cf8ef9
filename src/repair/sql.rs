//! The SQL a repair reads and writes with (pure text; values are bound, names quoted).

use crate::db::quote::sql_string;
use crate::verify::sql::{idents, row_image_keys, table};

/// One row by primary key (`?` per key column), with the CRC verify computes for it first:
/// `rd_crc`, then every column in order. `FOR UPDATE` when `lock`.
pub fn key_row(schema: &str, t: &str, pk: &[String], columns: &[String], lock: bool) -> String {
    let cond: Vec<String> = pk.iter().map(|c| format!("{} = ?", crate::verify::sql::ident(c))).collect();
    format!(
        "SELECT CRC32({img}) AS rd_crc, {cols} FROM {tb} WHERE {cond}{lock}",
        img = row_image_keys(pk, columns),
        cols = idents(columns),
        tb = table(schema, t),
        cond = cond.join(" AND "),
        lock = if lock { " FOR UPDATE" } else { "" }
    )
}

/// Triggers on a table: `n` name, `w` BEFORE/AFTER, `e` INSERT/UPDATE/DELETE.
pub fn triggers(schema: &str, t: &str) -> String {
    format!(
        "SELECT TRIGGER_NAME AS n, ACTION_TIMING AS w, EVENT_MANIPULATION AS e FROM information_schema.TRIGGERS \
         WHERE EVENT_OBJECT_SCHEMA = {} AND EVENT_OBJECT_TABLE = {} ORDER BY TRIGGER_NAME",
        sql_string(schema),
        sql_string(t)
    )
}

/// Foreign keys of a table and onto it, with their rules.
pub fn foreign_keys(schema: &str, t: &str) -> String {
    let (s, t) = (sql_string(schema), sql_string(t));
    format!(
        "SELECT k.TABLE_SCHEMA AS fs, k.TABLE_NAME AS ft, k.COLUMN_NAME AS fc, k.REFERENCED_TABLE_SCHEMA AS rs, \
         k.REFERENCED_TABLE_NAME AS rt, k.REFERENCED_COLUMN_NAME AS rc, r.DELETE_RULE AS d, r.UPDATE_RULE AS u \
         FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
         ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
         AND r.TABLE_NAME = k.TABLE_NAME \
         WHERE k.REFERENCED_TABLE_NAME IS NOT NULL AND ((k.TABLE_SCHEMA = {s} AND k.TABLE_NAME = {t}) \
         OR (k.REFERENCED_TABLE_SCHEMA = {s} AND k.REFERENCED_TABLE_NAME = {t})) \
         ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_by_its_key() {
        let q = key_row("app", "t", &["a".into(), "k".into()], &["a".into(), "k".into(), "v".into()], true);
        assert_eq!(
            q,
            "SELECT CRC32(CONCAT_WS('#', `a`, `k`, ISNULL(`v`), `v`)) AS rd_crc, `a`, `k`, `v` FROM `app`.`t` \
             WHERE `a` = ? AND `k` = ? FOR UPDATE"
        );
        assert!(triggers("a'b", "t").contains("EVENT_OBJECT_SCHEMA = 'a''b'"));
        assert!(foreign_keys("app", "posts").contains("k.REFERENCED_TABLE_NAME = 'posts'"));
    }
}
