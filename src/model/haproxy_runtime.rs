//! What the HAProxy admin socket says besides the stats: `show info` (version, uptime,
//! connections) and `show servers state` (the admin state and weight the operator set at
//! runtime, by header names). Pure parsing; no I/O.

use std::collections::HashMap;

use serde::Serialize;

/// What `show info` says about the process.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ProcessInfo {
    pub version: String,
    pub release_date: String,
    pub uptime_secs: Option<u64>,
    pub curr_conns: Option<u64>,
    pub maxconn: Option<u64>,
    pub sess_rate: Option<u64>,
    pub idle_pct: Option<u64>,
    pub node: String,
    pub pid: Option<u64>,
    /// A soft stop is under way (the old process of a reload).
    pub stopping: bool,
}

/// Parses `show info` (`Name: value` lines). Needs at least `Name` or `Version`.
pub fn parse_info(text: &str) -> Result<ProcessInfo, String> {
    let mut info = ProcessInfo::default();
    let mut seen = false;
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else { continue };
        let v = v.trim();
        let n = || v.parse::<u64>().ok();
        match k.trim() {
            "Name" => seen |= v.eq_ignore_ascii_case("haproxy"),
            "Version" => {
                info.version = v.to_string();
                seen = true;
            }
            "Release_date" => info.release_date = v.to_string(),
            "Uptime_sec" => info.uptime_secs = n(),
            "CurrConns" => info.curr_conns = n(),
            "Maxconn" => info.maxconn = n(),
            "SessRate" => info.sess_rate = n(),
            "Idle_pct" => info.idle_pct = n(),
            "node" => info.node = v.to_string(),
            "Pid" => info.pid = n(),
            "Stopping" => info.stopping = v == "1",
            _ => {}
        }
    }
    if !seen {
        return Err(format!("not a `show info` answer: {:?}", cut(text.trim(), 60)));
    }
    Ok(info)
}

/// One server's line of `show servers state <backend>`: what the operator set at runtime.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerState {
    pub backend: String,
    pub server: String,
    /// `srv_op_state`: 0 stopped, 1 starting, 2 running, 3 stopping.
    pub op_state: Option<u32>,
    /// `srv_admin_state` bits: 0x01 forced maintenance, 0x08 forced drain (others: inherited).
    pub admin_state: Option<u32>,
    /// `srv_uweight`: the weight set by the operator.
    pub uweight: Option<u64>,
}

/// `srv_admin_state` bit: maintenance set by the operator (`set server ... state maint`).
pub const ADMIN_FORCED_MAINT: u32 = 0x01;
/// `srv_admin_state` bit: drain set by the operator (`set server ... state drain`).
pub const ADMIN_FORCED_DRAIN: u32 = 0x08;

impl ServerState {
    pub fn maint(&self) -> bool {
        self.admin_state.is_some_and(|a| a & ADMIN_FORCED_MAINT != 0)
    }
    pub fn drain(&self) -> bool {
        self.admin_state.is_some_and(|a| a & ADMIN_FORCED_DRAIN != 0)
    }
    /// `admin state 0x08 (drain), weight 1`.
    pub fn describe(&self) -> String {
        let admin = match self.admin_state {
            Some(a) => {
                let mut words = Vec::new();
                if a & ADMIN_FORCED_MAINT != 0 {
                    words.push("maint");
                }
                if a & ADMIN_FORCED_DRAIN != 0 {
                    words.push("drain");
                }
                if a & !(ADMIN_FORCED_MAINT | ADMIN_FORCED_DRAIN) != 0 {
                    words.push("inherited");
                }
                if words.is_empty() {
                    words.push("ready");
                }
                format!("admin state {a:#04x} ({})", words.join(", "))
            }
            None => "admin state unknown".to_string(),
        };
        match self.uweight {
            Some(w) => format!("{admin}, weight {w}"),
            None => admin,
        }
    }
}

/// Parses `show servers state` (a version line, a `# be_id be_name srv_id srv_name ...` header,
/// then space-separated lines), by header names.
pub fn parse_servers_state(text: &str) -> Result<Vec<ServerState>, String> {
    let mut header: Option<HashMap<&str, usize>> = None;
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(h) = line.strip_prefix('#') {
            header = Some(h.split_whitespace().enumerate().map(|(i, c)| (c, i)).collect());
            continue;
        }
        let Some(h) = &header else {
            // The version line ("1") comes first; anything else before a header is an error text.
            if line.parse::<u32>().is_ok() {
                continue;
            }
            return Err(line.to_string());
        };
        let f: Vec<&str> = line.split_whitespace().collect();
        let get = |name: &str| h.get(name).and_then(|i| f.get(*i)).copied();
        let (Some(backend), Some(server)) = (get("be_name"), get("srv_name")) else { continue };
        out.push(ServerState {
            backend: backend.to_string(),
            server: server.to_string(),
            op_state: get("srv_op_state").and_then(|v| v.parse().ok()),
            admin_state: get("srv_admin_state").and_then(|v| v.parse().ok()),
            uweight: get("srv_uweight").and_then(|v| v.parse().ok()),
        });
    }
    if header.is_none() {
        return Err(format!("not a `show servers state` answer: {:?}", cut(text.trim(), 60)));
    }
    Ok(out)
}

/// The first `n` characters of `s` (for quoting a bad answer in an error).
pub(super) fn cut(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}
