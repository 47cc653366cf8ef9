//! One planner per node step: the statements in the node's dialect, the conditions, the effect
//! and the warnings of stop, start, skip, reset master, reset slave all, change master and
//! read_only. Pure; [`super::plan`] picks the one for the action.

use super::*;

/// What every node step is planned from: the node, its config and last sample, the link the
/// step acts on, its dialect, and the nodes downstream of it in the ring.
pub(super) struct On<'a> {
    pub(super) node: &'a str,
    pub(super) cfg: &'a Config,
    pub(super) statuses: &'a [(&'a str, Option<&'a NodeStatus>)],
    pub(super) status: &'a NodeStatus,
    pub(super) link: Option<&'a ReplicaLink>,
    pub(super) sql: Sql<'a>,
    pub(super) downstream: Vec<String>,
    pub(super) ncfg: &'a NodeConfig,
}

impl<'a> On<'a> {
    fn need_link(&self) -> Result<&'a ReplicaLink, String> {
        self.link.ok_or_else(|| format!("{} has no replication configured (its replica status is empty)", self.node))
    }
}

/// ` (connection "name")` for a named connection, else nothing.
pub(super) fn named(l: &ReplicaLink) -> String {
    if l.connection.is_empty() { String::new() } else { format!(" (connection {:?})", l.connection) }
}

/// STOP SLAVE (both threads or one).
pub(super) fn stop_slave(o: &On<'_>, step: &mut Step, threads: &Threads) -> Result<(), String> {
    let On { node, cfg, statuses, sql, downstream, .. } = o;
    let l = o.need_link()?;
    let which = match threads {
        Threads::Both => "replication",
        Threads::Io => "the IO thread",
        Threads::Sql => "the SQL thread",
    };
    step.title = format!("stop {which} on {node}");
    step.statements = vec![sql.stop(*threads)];
    step.preconditions = vec![cond("replication is configured")];
    step.postconditions = vec![cond(match threads {
        Threads::Both => "IO and SQL threads stopped",
        Threads::Io => "IO thread stopped",
        Threads::Sql => "SQL thread stopped",
    })];
    step.effect = format!(
        "{node} stops {which} from {}{}; events wait upstream until it is started again",
        upstream_name(l, cfg, statuses),
        named(l)
    );
    if !downstream.is_empty() && *threads != Threads::Io {
        step.warnings.push(format!(
            "While stopped, writes from upstream of {node} are not applied on {node} and do not go on around \
             the ring to {}.",
            list(downstream)
        ));
    }
    step.danger = Danger::Medium;
    Ok(())
}

/// START SLAVE.
pub(super) fn start_slave(o: &On<'_>, step: &mut Step) -> Result<(), String> {
    let On { node, cfg, statuses, sql, .. } = o;
    let l = o.need_link()?;
    step.title = format!("start replication on {node}");
    step.statements = vec![sql.start()];
    step.preconditions = vec![cond("replication is configured"), cond("threads not both running")];
    step.postconditions = vec![cond("both threads running")];
    step.effect = format!(
        "{node} starts its IO and SQL threads from {}{} at {}:{}",
        upstream_name(l, cfg, statuses),
        named(l),
        l.relay_master_log_file,
        l.exec_master_log_pos
    );
    step.danger = Danger::Low;
    Ok(())
}

/// A skip of `count` events, or skip-until-healthy (one event per round).
pub(super) fn skip(o: &On<'_>, step: &mut Step, action: &StepAction, count: &u32) -> Result<(), String> {
    let On { node, cfg, statuses, status, downstream, .. } = o;
    let l = o.need_link()?;
    if l.sql_running || l.last_sql_errno == 0 {
        return Err(format!("skip refused: the SQL thread of {node} is not stopped on an error ({})", link_seen(l)));
    }
    if *count == 0 {
        return Err("skip refused: the count must be at least 1".into());
    }
    let up = upstream_name(l, cfg, statuses);
    let gist = error_gist(&l.last_sql_error);
    match action {
        StepAction::SkipUntilHealthy { errnos, limit } => {
            if errnos.is_empty() {
                return Err("skip-until-healthy refused: no error numbers to skip".into());
            }
            if !errnos.contains(&l.last_sql_errno) {
                return Err(format!(
                    "skip-until-healthy refused: error {} is not one of {}",
                    l.last_sql_errno,
                    errnos.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
                ));
            }
            let nums = errnos.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
            step.title = format!("skip events on {node} until healthy (errors {nums}, at most {limit})");
            step.statements = skip_statements(status, l, 1)?;
            step.preconditions =
                vec![cond("SQL thread stopped on an error"), cond(format!("error number is one of {nums}"))];
            step.postconditions = vec![cond("SQL thread running, no error")];
            step.effect = format!(
                "skips the failing event from {up} on {node}, waits until the SQL thread runs cleanly or \
                 stops on the next error, and repeats while the error is one of {nums}, at most {limit} times \
                 (the statements run once per event)"
            );
        }
        _ => {
            let plural = if *count == 1 { "event" } else { "events" };
            step.title = format!("skip {count} {plural} on {node}");
            step.statements = skip_statements(status, l, *count)?;
            step.preconditions =
                vec![cond("SQL thread stopped on an error"), cond(error_is_text(l.last_sql_errno, &l.last_sql_error))];
            step.postconditions = vec![cond("SQL thread running, no error, or the next error differs")];
            step.effect = format!(
                "{node} discards the next {count} {plural} from {up} (the first one failed with {} {gist}) and \
                 restarts replication",
                l.last_sql_errno
            );
        }
    }
    let gone = if downstream.is_empty() {
        format!("no node replicates from {node}, so only {node} misses it")
    } else {
        format!(
            "so no node downstream of {node} ever receives it through the ring: {} will not have it, except the \
             node that wrote it in the first place",
            list(downstream)
        )
    };
    step.warnings.push(format!(
        "A skip loses data in a ring. The skipped event ({gist}) is never applied on {node} and never written \
         to {node}'s binlog, {gone}. {up} and the nodes before it keep their version; {node} keeps its own row. \
         The data has forked afterwards: compare the row first (SHOW BINLOG EVENTS IN '{}' on {up}), and run \
         `ringdeck verify` (CHECKSUM TABLE on every node) once the ring is green.",
        l.relay_master_log_file
    ));
    step.danger = Danger::Medium;
    Ok(())
}

/// RESET MASTER.
pub(super) fn reset_master(o: &On<'_>, step: &mut Step) -> Result<(), String> {
    let On { node, status, sql, downstream, .. } = o;
    let Some(b) = &status.binlog else {
        return Err(format!("{node} has binary logging off: there is no binlog to reset"));
    };
    step.title = format!("reset the binary logs of {node}");
    step.statements = vec![sql.reset_master()];
    step.preconditions = vec![cond("replication stopped on this node")];
    step.postconditions = vec![cond("binlog starts over at .000001")];
    step.effect = format!(
        "deletes every binary log of {node} (now at {}:{}) and starts a new first one{}",
        b.file,
        b.position,
        if status.dialect == Dialect::MariaDb { ", clearing @@gtid_binlog_pos" } else { ", clearing @@gtid_executed" }
    );
    let readers = downstream.first().cloned();
    step.warnings.push(format!(
        "RESET deletes the binlogs of {node}: events in them that a downstream has not read yet are lost, and \
         every downstream's coordinates into {node} become invalid{}. Repoint {} with change-master to {node}'s \
         new coordinates before starting it.",
        readers.as_ref().map(|r| format!(" ({r} reads {}:{})", b.file, b.position)).unwrap_or_default(),
        readers.unwrap_or_else(|| "the downstream".into())
    ));
    step.danger = Danger::TypeNodeName;
    Ok(())
}

/// STOP SLAVE, RESET SLAVE ALL.
pub(super) fn reset_slave_all(o: &On<'_>, step: &mut Step) -> Result<(), String> {
    let On { node, cfg, statuses, sql, .. } = o;
    let l = o.need_link()?;
    let up = upstream_name(l, cfg, statuses);
    step.title = format!("forget the replication settings of {node}");
    step.statements = vec![sql.stop(Threads::Both), sql.reset_slave_all()];
    step.preconditions = vec![cond("replication is configured")];
    step.postconditions = vec![cond("no replication configured")];
    step.effect = format!(
        "stops replication and forgets {node}'s connection to {up} ({}:{}){}: host, port, user, password, \
         executed coordinates {}:{} and relay logs",
        l.master_host,
        l.master_port,
        named(l),
        l.relay_master_log_file,
        l.exec_master_log_pos
    );
    step.warnings.push(format!(
        "Note before you go on: {node} replicates from {up} at {}:{} (executed {}:{}). After RESET the server \
         no longer knows it, and the replication password is never shown by the server: it must come from \
         the config (replication_password) to repoint with change-master.",
        l.master_host, l.master_port, l.relay_master_log_file, l.exec_master_log_pos
    ));
    step.danger = Danger::TypeNodeName;
    Ok(())
}

/// CHANGE MASTER TO a configured upstream.
pub(super) fn change_master(o: &On<'_>, step: &mut Step, upstream: &str, file: &str, pos: &u64) -> Result<(), String> {
    let On { node, cfg, statuses, link, sql, ncfg, .. } = o;
    if upstream == *node {
        return Err(format!("change-master refused: {node} cannot replicate from itself"));
    }
    let ucfg: &NodeConfig = cfg
        .node(upstream)
        .ok_or_else(|| format!("change-master refused: no [[node]] is named {upstream:?} in the config"))?;
    let (file, pos) = if file.is_empty() {
        let b = status_of(statuses, upstream).and_then(|s| s.binlog.as_ref()).ok_or_else(|| {
            format!(
                "no binlog coordinates of {upstream} are known (not answering, or binlog off): give file and position"
            )
        })?;
        (b.file.clone(), b.position)
    } else {
        (file.to_string(), *pos)
    };
    if file.is_empty() || pos == 0 {
        return Err(format!("change-master refused: {file:?}:{pos} are not binlog coordinates"));
    }
    let user = ncfg.replication_user.as_deref().ok_or_else(|| {
        format!("change-master refused: {node} has no replication_user in the config (the account it connects to {upstream} with)")
    })?;
    step.action = StepAction::ChangeMaster { upstream: upstream.to_string(), file: file.clone(), pos };
    step.title = format!("point {node} at {upstream} {file}:{pos}");
    // The link keeps its TLS, delay and key options; it is positioned at the coordinates
    // given, so a GTID link becomes a position-based one (said in the warnings).
    let was = link.map(|l| l.props.clone()).unwrap_or_default();
    let mut props = crate::runbook::changemaster::with_config(was.clone(), ncfg);
    props.gtid = crate::model::linkprops::GtidMode::Off;
    if was.gtid != crate::model::linkprops::GtidMode::Off {
        step.warnings.push(format!(
            "{node}'s link positioned by GTID ({}); this sets a binlog file and position instead, so it \
             stops using GTID",
            was.summary()
        ));
    }
    let at = crate::runbook::changemaster::SourcePos::File { file: file.clone(), pos };
    step.statements = vec![sql.change_master_to(&ucfg.host, ucfg.port, user, &at, &props)];
    step.preconditions = vec![
        cond("replication stopped"),
        cond(format!("upstream {upstream} is a configured node and answering")),
        cond("replication password configured"),
    ];
    step.postconditions = vec![cond(format!("Master_Host/Port now {upstream}'s ({})", ucfg.address()))];
    let from = match link {
        Some(l) => format!("instead of {} ", upstream_name(l, cfg, statuses)),
        None => String::new(),
    };
    step.effect = format!(
        "{node} will replicate from {upstream} ({}) {from}starting at {file}:{pos}, as {user}; replication \
         stays stopped: start it with start-slave once the coordinates are checked",
        ucfg.address()
    );
    step.warnings.push(format!(
        "Coordinates too early replay events {node} already has (duplicate keys, 1062); too late silently skip \
         events. Take them from {upstream}'s SHOW MASTER STATUS while writes are quiet."
    ));
    step.danger = Danger::TypeNodeName;
    Ok(())
}

/// SET GLOBAL read_only.
pub(super) fn read_only(o: &On<'_>, step: &mut Step, on: &bool) -> Result<(), String> {
    let On { node, sql, .. } = o;
    let word = if *on { "ON" } else { "OFF" };
    step.title = format!("set read_only {word} on {node}");
    step.statements = vec![sql.read_only(*on)];
    step.postconditions = vec![cond(format!("@@read_only = {word}"))];
    if *on {
        step.effect = format!("{node} refuses writes from clients without SUPER (replication still applies events)");
        step.danger = Danger::Low;
    } else {
        step.effect = format!("{node} accepts writes from every client with write privileges");
        step.warnings.push(format!(
            "With read_only OFF, {node} takes writes directly. In a ring, writes on several nodes at once \
             collide unless auto_increment_offset/increment keep them apart; keep writes going to one node \
             (HAProxy) unless the ring is healthy."
        ));
        step.danger = Danger::Medium;
    }
    Ok(())
}
