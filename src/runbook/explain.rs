//! EXPLAIN of a running SELECT for the queries drill-in, on a dedicated connection to its node
//! (the statement's default database selected first), under the engine's timeouts, off the UI
//! task. Only a single SELECT is explained (`queryview::explainable`); EXPLAIN does not run it.

use super::ctx::EngineCtx;
use crate::db::Target;
use crate::model::sqltext::explainable;

/// Column names and rows of `EXPLAIN sql` on `node` with default database `db`.
pub async fn explain(
    ctx: &EngineCtx,
    node: &str,
    db: &str,
    sql: &str,
) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    if !explainable(sql) {
        return Err("only a single SELECT is explained".into());
    }
    let (ncfg, login) = ctx.node_login(node)?;
    let mut target = Target::open(ncfg, &login, ctx.timeout).await?;
    let result = async {
        if !db.is_empty() {
            target.exec(&format!("USE `{}`", db.replace('`', "``")), ctx.timeout).await?;
        }
        let sql = sql.trim().trim_end_matches(';');
        target.rows(&format!("EXPLAIN {sql}")).await
    }
    .await;
    target.close().await;
    let rows = result?;
    let columns: Vec<String> = rows.first().map(|r| r.iter().map(|(k, _)| k.clone()).collect()).unwrap_or_default();
    let values =
        rows.iter().map(|r| r.iter().map(|(_, v)| v.clone().unwrap_or_else(|| "NULL".into())).collect()).collect();
    Ok((columns, values))
}
