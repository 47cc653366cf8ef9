//! The rebuild's and rejoin's steps, one function each (quiesce, stop the replicas, reset, stop the
//! servers, copy, start, reconnect, pick the source), run through [`super::Run`], which records
//! every statement and remote command for the audit log.

use super::*;

pub(super) fn data_dir(ncfg: &NodeConfig) -> Result<String, String> {
    ncfg.data_dir
        .as_ref()
        .map(|d| d.display().to_string())
        .ok_or_else(|| format!("{} has no data_dir in the config", ncfg.name()))
}

/// Reads a node's server-specific file names and checks that the server's `@@datadir` is the
/// configured `data_dir` (so the wizard never copies into or empties the wrong directory).
pub(super) async fn server_files(t: &mut Target, ncfg: &NodeConfig) -> Result<ServerFiles, String> {
    let rows = t
        .rows(
            "SELECT @@datadir AS d, @@log_bin_basename AS b, @@relay_log_basename AS r, @@pid_file AS p, \
             @@socket AS s",
        )
        .await?;
    let get = |k: &str| rows.first().and_then(|r| r.iter().find(|(n, _)| n == k)).and_then(|(_, v)| v.clone());
    let datadir = get("d").ok_or("the server did not report @@datadir")?;
    let configured = data_dir(ncfg)?;
    let norm = |p: &str| p.trim_end_matches('/').to_string();
    if norm(&datadir) != norm(&configured) {
        return Err(format!(
            "{}: the server's datadir is {datadir} but the config says data_dir = {configured}; fix the config first",
            ncfg.name()
        ));
    }
    Ok(ServerFiles {
        binlog_base: get("b").and_then(|b| files::base_in_datadir(&b, &datadir)),
        relay_base: get("r").and_then(|r| files::base_in_datadir(&r, &datadir)),
        pid_file: get("p").filter(|p| !p.is_empty()),
        socket: get("s").filter(|s| !s.is_empty()),
        datadir,
    })
}

pub(super) async fn processes(t: &mut Target) -> Result<Vec<Process>, String> {
    let rows = t
        .rows(
            "SELECT ID, USER, HOST, DB, COMMAND, TIME, STATE, INFO FROM information_schema.PROCESSLIST \
             WHERE ID <> CONNECTION_ID()",
        )
        .await?;
    Ok(rows.iter().map(Process::from_row).collect())
}

/// Client connections that would write during a rebuild: everything but replication, system
/// threads and ringdeck's own user.
pub(super) fn blockers<'a>(ps: &'a [Process], own_user: &str) -> Vec<&'a Process> {
    ps.iter()
        .filter(|p| {
            !matches!(
                p.command.as_str(),
                "Daemon" | "Binlog Dump" | "Binlog Dump GTID" | "Slave_IO" | "Slave_SQL" | "Slave_worker"
            ) && p.user != "system user"
                && p.user != "event_scheduler"
                && p.user != own_user
        })
        .collect()
}

/// HAProxy servers that front the nodes, found on each instance's admin socket by address or name.
pub(super) async fn node_servers(ctx: &Ctx, nodes: &[String]) -> Vec<(MaintServer, Result<(), String>)> {
    let mut out = Vec::new();
    for h in &ctx.cfg.haproxies {
        let Some(sock) = &h.socket else { continue };
        let text = match crate::http::socket::socket_command_within(sock, "show servers state", ctx.timeout).await {
            Ok(t) => t,
            Err(e) => {
                out.push((
                    MaintServer { haproxy: h.name.get_ref().to_string(), backend: "?".into(), server: "?".into() },
                    Err(e),
                ));
                continue;
            }
        };
        for (backend, server, addr, port) in crate::recover::haproxy_servers(&text) {
            let matches = nodes.iter().filter_map(|n| ctx.cfg.node(n)).any(|n| {
                n.name() == server
                    || (n.host == addr && n.port == port)
                    || (n.host == "localhost" && addr == "127.0.0.1" && n.port == port)
            });
            if matches {
                out.push((MaintServer { haproxy: h.name.get_ref().to_string(), backend, server }, Ok(())));
            }
        }
    }
    out
}

pub(super) async fn set_server_state(ctx: &Ctx, m: &MaintServer, state: &str) -> Result<String, String> {
    let h = ctx
        .cfg
        .haproxies
        .iter()
        .find(|h| *h.name.get_ref() == m.haproxy)
        .ok_or("HAProxy instance no longer configured")?;
    let sock = h.socket.as_ref().ok_or("no admin socket configured")?;
    let cmd = format!("set server {}/{} state {state}", m.backend, m.server);
    let ans =
        tokio::time::timeout(ctx.timeout, crate::http::socket::socket_command(sock, &cmd, ctx.cfg.max_response()))
            .await
            .map_err(|_| format!("{cmd}: no answer within {:?}", ctx.timeout))??;
    if ans.trim().is_empty() { Ok(cmd) } else { Err(format!("{cmd}: {}", ans.trim())) }
}

pub(super) fn binlog_of(st: &NodeStatus) -> Result<(String, u64), String> {
    st.binlog.as_ref().map(|b| (b.file.clone(), b.position)).ok_or_else(|| "binary logging is off".to_string())
}

pub(super) async fn quiesce(run: &mut Run<'_>, st: &mut RecoveryState) -> Result<String, String> {
    let nodes = st.nodes.clone();
    if run.ctx.maint && st.maint.is_empty() {
        for (m, found) in node_servers(run.ctx, &nodes).await {
            match found.and(Ok(())) {
                Ok(()) => match set_server_state(run.ctx, &m, "maint").await {
                    Ok(cmd) => {
                        run.commands.push(format!("{} (socket): {cmd}", m.haproxy));
                        run.line(format!("{}> {cmd}", m.haproxy));
                        st.maint.push(m);
                        run.save(st)?;
                    }
                    Err(e) => run.line(format!("{}: cannot put {}/{} into maint: {e}", m.haproxy, m.backend, m.server)),
                },
                Err(e) => run.line(format!("{}: {e}", m.haproxy)),
            }
        }
    }
    let mut first = BTreeMap::new();
    for n in &nodes {
        let mut t = run.sql(n).await?;
        let ps = processes(&mut t).await?;
        let st_now = t.read().await?;
        let files = server_files(&mut t, run.ctx.node(n)?.0).await?;
        st.files.insert(n.clone(), files);
        if let Some(l) = st_now.links.first() {
            run.line(format!("{n}: link from {}:{} is {}", l.master_host, l.master_port, l.props.summary()));
            st.links.insert(n.clone(), l.props.clone());
        }
        run.line(format!("{n}: {} connections", ps.len()));
        for p in &ps {
            run.line(format!(
                "  {n} #{} {}@{} {} {} {:.0}s {}",
                p.id,
                p.user,
                p.host,
                p.command,
                p.db,
                p.time,
                mask_secrets(&p.info)
            ));
        }
        first.insert(n.clone(), (binlog_of(&st_now).ok(), ps));
        t.close().await;
    }
    run.save(st)?;
    run.line(format!("watching binlog positions and connections for {:?}", run.ctx.watch));
    tokio::time::sleep(run.ctx.watch).await;
    let mut problems = Vec::new();
    for n in &nodes {
        let own = run.ctx.node(n)?.1.user.clone().unwrap_or_default();
        let mut t = run.sql(n).await?;
        let ps = processes(&mut t).await?;
        let now = binlog_of(&t.read().await?).ok();
        t.close().await;
        let (before, first_ps) = &first[n];
        if *before != now {
            problems.push(format!("{n}: binlog moved from {before:?} to {now:?}: something still writes"));
        }
        let earlier: Vec<u64> = blockers(first_ps, &own).iter().map(|p| p.id).collect();
        for p in blockers(&ps, &own).into_iter().filter(|p| earlier.contains(&p.id)) {
            problems.push(format!(
                "{n}: client connection #{} {}@{} ({} {})",
                p.id,
                p.user,
                p.host,
                p.command,
                mask_secrets(&p.info)
            ));
        }
    }
    if !problems.is_empty() {
        return Err(format!(
            "not quiet yet; stop the application or kill these, then run this step again: {}",
            problems.join("; ")
        ));
    }
    Ok(format!("quiet: no client connections, binlog positions unchanged on {} nodes", nodes.len()))
}

pub(super) async fn stop_slaves(run: &mut Run<'_>, st: &mut RecoveryState) -> Result<String, String> {
    for n in crate::recover::exec_nodes(st, StepKind::StopSlaves) {
        let mut t = run.sql(&n).await?;
        let status = t.read().await?;
        let stmts: Vec<String> = if status.links.is_empty() {
            Vec::new()
        } else {
            status
                .links
                .iter()
                .map(|l| Sql { dialect: t.dialect, connection: &l.connection }.stop(Threads::Both))
                .collect()
        };
        run.exec(&n, &mut t, &stmts).await?;
        let after = t.read().await?;
        t.close().await;
        if let Some(l) =
            after.links.iter().find(|l| l.sql_running || l.io != crate::model::replication::IoState::Stopped)
        {
            return Err(format!("{n}: replication still running after STOP ({})", crate::runbook::plan::link_seen(l)));
        }
        run.line(format!("{n}: replication stopped"));
    }
    Ok("replication stopped".into())
}

pub(super) async fn reset(run: &mut Run<'_>, st: &mut RecoveryState) -> Result<String, String> {
    let nodes = crate::recover::exec_nodes(st, StepKind::Reset);
    backup::ensure_backups(run, st, &nodes, "RESET MASTER / RESET SLAVE ALL").await?;
    for n in nodes {
        let mut t = run.sql(&n).await?;
        let status = t.read().await?;
        let mut stmts = vec![Sql { dialect: t.dialect, connection: "" }.reset_master()];
        stmts.extend(
            status.links.iter().map(|l| Sql { dialect: t.dialect, connection: &l.connection }.reset_slave_all()),
        );
        run.exec(&n, &mut t, &stmts).await?;
        let after = t.read().await?;
        t.close().await;
        if !after.links.is_empty() {
            return Err(format!(
                "{n}: still has {} replication connection(s) after RESET SLAVE ALL",
                after.links.len()
            ));
        }
        let (file, pos) = binlog_of(&after)?;
        run.line(format!("{n}: binlog reset to {file}:{pos}, no replication configured"));
    }
    Ok("binlogs and replication settings reset".into())
}

pub(super) async fn shutdown(run: &mut Run<'_>, st: &mut RecoveryState) -> Result<String, String> {
    let nodes = crate::recover::exec_nodes(st, StepKind::Shutdown);
    for n in &nodes {
        let f = st.files.get(n).cloned();
        run.stop_server(n, f.as_ref()).await?;
    }
    Ok(format!("stopped cleanly: {}", nodes.join(", ")))
}

pub(super) async fn copy(run: &mut Run<'_>, st: &mut RecoveryState) -> Result<String, String> {
    let source = st.source.clone().ok_or("no source node chosen (step 3)")?;
    let src_files = st.files.get(&source).cloned().ok_or("the source's file names were not recorded (step 1)")?;
    let src_dir = data_dir(run.ctx.node(&source)?.0)?;
    for target in st.copy_targets() {
        if st.copied.contains(&target) {
            run.line(format!("{target}: already copied"));
            continue;
        }
        let dst_files =
            st.files.get(&target).cloned().ok_or_else(|| format!("{target}'s file names were not recorded"))?;
        let dst_dir = data_dir(run.ctx.node(&target)?.0)?;
        backup::ensure_backups(run, st, std::slice::from_ref(&target), "its data directory is replaced").await?;
        run.ensure_stopped(&source, Some(&src_files), "its data directory must not change while it is copied").await?;
        run.ensure_stopped(&target, Some(&dst_files), "its data directory must not be replaced under a server").await?;
        let patterns = files::union_patterns(&[&src_files, &dst_files]);
        let total = files::first_number(
            &run.remote(&source, &files::copy_bytes(&src_dir, &patterns), run.ctx.long_idle).await?,
        )
        .unwrap_or(0);
        let free = files::first_number(&run.remote(&target, &files::df_free_kb(&dst_dir), run.ctx.timeout * 10).await?)
            .unwrap_or(0);
        let old =
            files::first_number(&run.remote(&target, &files::du_kb(&dst_dir), run.ctx.long_idle).await?).unwrap_or(0);
        if (free + old) * 1024 < total + total / 20 {
            return Err(format!("{target}: not enough free space for {} MB", total / (1 << 20)));
        }
        let out = files::tar_out(&src_dir, &patterns);
        let inp = files::replace_from_stdin(&dst_dir, &patterns);
        run.commands.push(format!(
            "{source} (ssh): {}  |  {target} (ssh): {}",
            ssh::command_line(&out),
            ssh::command_line(&inp)
        ));
        run.line(format!(
            "copying {source}:{src_dir} -> {target}:{dst_dir} ({} MB, server files left out)",
            total / (1 << 20)
        ));
        run.session(&source).await?;
        run.session(&target).await?;
        let (src, dst) = (&run.sessions[&source], &run.sessions[&target]);
        let label = format!("{source} -> {target}");
        let tx = run.tx.clone();
        let mut last = Instant::now();
        let sent = ssh::relay(src, &out, dst, &inp, Duration::from_secs(120), |done| {
            if last.elapsed() >= Duration::from_millis(200) {
                last = Instant::now();
                let _ = tx.send(Event::Progress { label: label.clone(), done, total });
            }
        })
        .await
        .map_err(|e| format!("copy {label}: {e}"))?;
        let _ = run.tx.send(Event::Progress { label: label.clone(), done: total.max(sent), total: total.max(sent) });
        let a = run.remote(&source, &files::hashes(&src_dir, &patterns), run.ctx.long_idle).await?;
        let b = run.remote(&target, &files::hashes(&dst_dir, &patterns), run.ctx.long_idle).await?;
        let diff = files::hash_differences(&a, &b);
        if !diff.is_empty() {
            return Err(format!(
                "{label}: the copy differs from the source in {} files: {}",
                diff.len(),
                diff.join(", ")
            ));
        }
        run.remote(&target, &files::copy_done(&dst_dir), run.ctx.timeout * 10).await?;
        run.line(format!("{label}: {} files verified by sha256", a.lines().count()));
        st.copied.push(target.clone());
        run.save(st)?;
    }
    Ok(format!("copied {source}'s data to {}", st.copied.join(", ")))
}

pub(super) async fn start(run: &mut Run<'_>, st: &mut RecoveryState) -> Result<String, String> {
    let nodes = crate::recover::exec_nodes(st, StepKind::Start);
    for n in &nodes {
        run.start_server(n).await?;
    }
    let mut ids: BTreeMap<u32, String> = BTreeMap::new();
    for n in &st.nodes {
        let mut t = run.sql(n).await?;
        let s = t.read().await?;
        t.close().await;
        if let Some(other) = ids.insert(s.vars.server_id, n.clone()) {
            return Err(format!("{n} and {other} both have server_id {}", s.vars.server_id));
        }
    }
    Ok(format!("started: {}; server_ids distinct", nodes.join(", ")))
}

/// The nodes to point at their upstream in step 9, in the order their slaves start.
pub(super) fn reconnect_order(st: &RecoveryState) -> Vec<String> {
    match &st.procedure {
        Procedure::Rejoin { node, .. } => {
            let mut v = vec![node.clone()];
            v.extend(st.upstreams.iter().filter(|(_, u)| *u == node).map(|(d, _)| d.clone()));
            v
        }
        Procedure::Rebuild => {
            // Around the circle, starting at the source's downstream.
            let mut v = Vec::new();
            let mut cur = st.source.clone().unwrap_or_default();
            for _ in 0..st.nodes.len() {
                let Some(next) = st.upstreams.iter().find(|(_, u)| **u == cur).map(|(d, _)| d.clone()) else { break };
                if v.contains(&next) {
                    break;
                }
                v.push(next.clone());
                cur = next;
            }
            for n in &st.nodes {
                if !v.contains(n) && st.upstreams.contains_key(n) {
                    v.push(n.clone());
                }
            }
            v
        }
    }
}

/// Waits until `node`'s running link has executed everything its upstream (a configured node)
/// has written; a node without a running link returns at once.
pub(super) async fn wait_caught_up(run: &mut Run<'_>, node: &str) -> Result<(), String> {
    let mut t = run.sql(node).await?;
    let st = t.read().await?;
    let Some(link) = st.links.iter().find(|l| l.sql_running) else {
        t.close().await;
        return Ok(());
    };
    let Some(up) = run.ctx.cfg.nodes.iter().find(|n| n.port == link.master_port && n.host == link.master_host) else {
        t.close().await;
        return Ok(());
    };
    let up = up.name().to_string();
    let mut u = run.sql(&up).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let target = binlog_of(&u.read().await?)?;
        let l = t.read().await?.links.into_iter().find(|l| l.sql_running);
        let at = l.map(|l| (l.relay_master_log_file, l.exec_master_log_pos));
        if at.as_ref() == Some(&target) {
            run.line(format!("{node}: caught up with {up} at {}:{}", target.0, target.1));
            break;
        }
        if Instant::now() >= deadline {
            return Err(format!("{node} did not catch up with {up} ({at:?} vs {target:?}) within 60 s"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    t.close().await;
    u.close().await;
    Ok(())
}

pub(super) async fn reconnect(run: &mut Run<'_>, st: &mut RecoveryState) -> Result<String, String> {
    let order = reconnect_order(st);
    // Coordinates first, all while writes are still blocked: the binlog position and, for a
    // link that used GTID, the upstream's GTID position.
    let mut coords = BTreeMap::new();
    for n in &order {
        let up = st.upstreams.get(n).ok_or_else(|| format!("{n} has no recorded upstream"))?.clone();
        let mut t = run.sql(&up).await?;
        let status = t.read().await?;
        let (file, pos) = binlog_of(&status).map_err(|e| format!("{up}: {e}"))?;
        t.close().await;
        run.line(format!("{up}: binlog at {file}:{pos}, gtid_binlog_pos '{}'", status.vars.gtid_binlog_pos));
        coords.insert(n.clone(), (up, file, pos, status.vars.gtid_binlog_pos.clone()));
    }
    // A node that still replicates (a rejoin's downstream) first applies all its upstream wrote.
    for n in &order {
        wait_caught_up(run, n).await?;
    }
    for n in &order {
        let (up, file, pos, gtid_pos) = coords[n].clone();
        let (ucfg, _) = run.ctx.node(&up)?;
        let (uhost, uport) = (ucfg.host.clone(), ucfg.port);
        let (ncfg, _) = run.ctx.node(n)?;
        let user = ncfg.replication_user.clone().ok_or_else(|| format!("{n} has no replication_user in the config"))?;
        // The link as it was in step 1, with the config's replication_ssl* laid over it.
        let props = changemaster::with_config(st.links.get(n).cloned().unwrap_or_default(), ncfg);
        let mut t = run.sql(n).await?;
        let status = t.read().await?;
        // Under its own connection name / channel again, when it had one.
        let sql = Sql { dialect: t.dialect, connection: &props.connection };
        let mut stmts: Vec<String> = status
            .links
            .iter()
            .map(|l| Sql { dialect: t.dialect, connection: &l.connection }.stop(Threads::Both))
            .collect();
        let at = if changemaster::positions_by_gtid(t.dialect, &props) {
            if t.dialect == crate::model::replication::Dialect::MariaDb {
                stmts.push(sql.set_gtid_slave_pos(&gtid_pos));
            }
            SourcePos::Gtid
        } else {
            SourcePos::File { file, pos }
        };
        stmts.push(sql.change_master_to(&uhost, uport, &user, &at, &props));
        run.line(format!("{n}: from {up}, {}", props.summary()));
        run.exec(n, &mut t, &stmts).await?;
        t.close().await;
    }
    for n in &order {
        let mut t = run.sql(n).await?;
        let name = st.links.get(n).map_or("", |p| p.connection.as_str());
        let stmt = Sql { dialect: t.dialect, connection: name }.start();
        run.exec(n, &mut t, &[stmt]).await?;
        t.close().await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for n in &order {
        let mut t = run.sql(n).await?;
        loop {
            let s = t.read().await?;
            let link = s.links.first();
            if link.is_some_and(|l| l.healthy()) {
                break;
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{n}: replication not running: {}",
                    link.map_or("no link".to_string(), crate::runbook::plan::link_seen)
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        t.close().await;
        run.line(format!("{n}: replicating from {}", st.upstreams[n]));
    }
    let report = crate::recover::verify_ring(run.ctx, run.tx).await?;
    for l in &report.1 {
        run.line(l.clone());
    }
    if !report.0 {
        return Err(
            "the ring replicates but the data differs between nodes (see above); HAProxy servers stay in maint".into(),
        );
    }
    for m in std::mem::take(&mut st.maint) {
        match set_server_state(run.ctx, &m, "ready").await {
            Ok(cmd) => {
                run.commands.push(format!("{} (socket): {cmd}", m.haproxy));
                run.line(format!("{}> {cmd}", m.haproxy));
            }
            Err(e) => {
                run.line(format!("{}: {e}", m.haproxy));
                st.maint.push(m);
            }
        }
    }
    run.save(st)?;
    Ok(format!("the ring replicates: {}; data equal on every node", order.join(", ")))
}

pub(super) async fn pick_source(run: &mut Run<'_>, st: &mut RecoveryState) -> Result<String, String> {
    match &st.source {
        Some(s) => {
            run.line(format!("source: {s}"));
            Ok(format!("source {s}"))
        }
        None => Err("choose the node with the most complete data first (the wizard proposes one)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuild_reconnects_around_the_circle_from_the_source() {
        let mut st = RecoveryState::new(
            Procedure::Rebuild,
            vec!["node1".into(), "node2".into(), "node3".into()],
            "c".into(),
            "t".into(),
        );
        for (d, u) in [("node1", "node3"), ("node2", "node1"), ("node3", "node2")] {
            st.upstreams.insert(d.into(), u.into());
        }
        st.source = Some("node1".into());
        assert_eq!(reconnect_order(&st), vec!["node2", "node3", "node1"]);
    }

    #[test]
    fn quiesce_ignores_replication_system_and_own_threads() {
        let p = |user: &str, command: &str| Process {
            id: 1,
            user: user.into(),
            host: "h".into(),
            db: String::new(),
            command: command.into(),
            time: 0.0,
            state: String::new(),
            info: String::new(),
        };
        let ps =
            vec![p("system user", "Slave_SQL"), p("repl", "Binlog Dump"), p("ringdeck", "Sleep"), p("app", "Sleep")];
        let b = blockers(&ps, "ringdeck");
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].user, "app");
    }
}
