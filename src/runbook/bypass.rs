//! Planning a bypass (seed 001's "restore around a failed node"): the failed node F replicated
//! from U and D replicated from F. Everything F executed from U up to F's executed coordinates in
//! U's binlog reached D through F's binlog (when D caught up with F), so D continues from U at
//! exactly those coordinates: STOP SLAVE; CHANGE MASTER TO U at F's executed position; START SLAVE.
//! Writes made on F itself that D had not received are lost to the ring; the dialog says so.

use super::plan::{Sql, cond, status_of, upstream_name};
use super::step::{Danger, Step, StepAction, Threads};
use crate::config::Config;
use crate::model::replication::{NodeStatus, ReplicaLink};
use crate::model::ring::{NodeIdent, upstream_of};

/// Plans the bypass of `failed`; the step runs on its downstream.
pub fn plan(failed: &str, cfg: &Config, statuses: &[(&str, Option<&NodeStatus>)]) -> Result<Step, String> {
    let fcfg = cfg.node(failed).ok_or_else(|| format!("no [[node]] is named {failed:?} in the config"))?;
    let fst = status_of(statuses, failed).ok_or_else(|| {
        format!("{failed} has never answered: its executed position is unknown, so there is nothing safe to bypass to")
    })?;
    let idents: Vec<NodeIdent<'_>> = cfg
        .nodes
        .iter()
        .map(|n| NodeIdent { host: &n.host, port: n.port, status: status_of(statuses, n.name()) })
        .collect();
    let fi = cfg.nodes.iter().position(|n| n.name() == failed).ok_or("failed node not configured")?;
    let flink: &ReplicaLink = match fst.links.as_slice() {
        [one] => one,
        [] => return Err(format!("{failed} has no replication link: it is not in a ring")),
        _ => return Err(format!("{failed} has several replication connections: bypass it with the SQL client")),
    };
    let ui = upstream_of(flink, &idents).ok_or_else(|| {
        format!("{failed}'s upstream {}:{} is not a configured node", flink.master_host, flink.master_port)
    })?;
    let upstream = cfg.nodes[ui].name().to_string();
    let (di, dlink) = (0..idents.len())
        .filter(|&j| j != fi)
        .find_map(|j| idents[j].status?.links.iter().find(|l| upstream_of(l, &idents) == Some(fi)).map(|l| (j, l)))
        .ok_or_else(|| format!("no configured node replicates from {failed}: nothing to bypass"))?;
    let down = cfg.nodes[di].name().to_string();
    if di == ui {
        return Err(format!(
            "{down} is both {failed}'s upstream and downstream: a ring of two has nothing to bypass to"
        ));
    }
    let dst = status_of(statuses, &down).ok_or_else(|| format!("{down} has not answered"))?;
    let (file, pos) = (flink.relay_master_log_file.clone(), flink.exec_master_log_pos);
    if file.is_empty() || pos == 0 {
        return Err(format!("{failed} reports no executed coordinates of {upstream}'s binlog"));
    }
    let user = cfg.nodes[di].replication_user.as_deref().ok_or_else(|| {
        format!(
            "bypass refused: {down} has no replication_user in the config (the account it connects to {upstream} with)"
        )
    })?;
    let ucfg = &cfg.nodes[ui];
    let sql = Sql { dialect: dst.dialect, connection: &dlink.connection };
    // The new link keeps what the old one had (TLS, delay; by GTID when it was: the
    // downstream's own GTID position then says where to go on, in every domain).
    let props = super::changemaster::with_config(dlink.props.clone(), &cfg.nodes[di]);
    let at = if super::changemaster::positions_by_gtid(dst.dialect, &props) {
        super::changemaster::SourcePos::Gtid
    } else {
        super::changemaster::SourcePos::File { file: file.clone(), pos }
    };
    let caught_up = match &fst.binlog {
        Some(b) => dlink.relay_master_log_file == b.file && dlink.exec_master_log_pos == b.position,
        None => false,
    };
    let mut warnings = vec![
        format!(
            "Writes made on {failed} itself that {down} had not received are lost to the ring; {failed} stays out of it \
             until it is rejoined from a copy of a healthy node (ringdeck recover --rejoin {failed})."
        ),
        format!("Keep clients off {failed}: anything written there now never reaches the others."),
    ];
    if !caught_up {
        warnings.push(format!(
            "{down} has executed {failed}'s binlog up to {}:{} but {failed} was last seen at {}: events in between \
             are not applied on {down}. Wait until {down} caught up if {failed} still serves its binlog.",
            dlink.relay_master_log_file,
            dlink.exec_master_log_pos,
            fst.binlog.as_ref().map_or("an unknown position".to_string(), |b| format!("{}:{}", b.file, b.position)),
        ));
    }
    Ok(Step {
        action: StepAction::Bypass { failed: failed.to_string(), upstream: upstream.clone(), file: file.clone(), pos },
        node: down.clone(),
        title: format!("bypass {failed}: point {down} at {upstream} {file}:{pos}"),
        statements: vec![
            sql.stop(Threads::Both),
            sql.change_master_to(&ucfg.host, ucfg.port, user, &at, &props),
            sql.start(),
        ],
        preconditions: vec![
            cond(format!("{down} has a replication link (now from {})", upstream_name(dlink, cfg, statuses))),
            cond(format!("upstream {upstream} is a configured node and answering")),
            cond("replication password configured"),
        ],
        postconditions: vec![
            cond(format!("Master_Host/Port now {upstream}'s ({})", ucfg.address())),
            cond("IO and SQL threads running"),
        ],
        effect: format!(
            "{down} will replicate from {upstream} ({}) starting where {failed} stopped executing ({file}:{pos}), so \
             the ring closes without {failed} ({} was {failed}'s address)",
            ucfg.address(),
            fcfg.address()
        ),
        warnings,
        danger: Danger::TypeNodeName,
    })
}
