//! HAProxy statistics: the CSV from `<stats uri>;csv` or the socket's `show stat`, mapped by its
//! header line so that any HAProxy from 1.8 to 3.x reads the same (columns moved and were added
//! between versions). `show info` and `show servers state` are in [`super::haproxy_runtime`].
//! Pure parsing; no I/O.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::Serialize;

use super::haproxy_runtime::cut;
pub use super::haproxy_runtime::{
    ADMIN_FORCED_DRAIN, ADMIN_FORCED_MAINT, ProcessInfo, ServerState, parse_info, parse_servers_state,
};

/// A short text field of a row (names, status words, addresses): up to 24 bytes kept inline.
pub type Text = compact_str::CompactString;

/// What a stats row describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum RowKind {
    Frontend,
    Backend,
    Server,
    Listener,
}

/// One row of `show stat`. Counters a version does not have read as 0 / `None` / empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StatRow {
    pub proxy: Text,
    pub server: Text,
    pub status: Text,
    /// The `type` column (0 frontend, 1 backend, 2 server, 3 listener) when the version has it.
    pub kind_code: Option<u8>,
    /// Effective weight (a server), total weight (a backend).
    pub weight: Option<u64>,
    /// The weight set by the operator (`set weight`), HAProxy 2.4+.
    pub uweight: Option<u64>,
    pub scur: u64,
    pub smax: u64,
    pub slim: Option<u64>,
    pub stot: u64,
    pub qcur: u64,
    pub qmax: u64,
    pub qlimit: Option<u64>,
    pub rate: u64,
    pub rate_max: u64,
    pub req_rate: u64,
    pub hrsp_2xx: u64,
    pub hrsp_4xx: u64,
    pub hrsp_5xx: u64,
    pub ereq: u64,
    pub econ: u64,
    pub eresp: u64,
    pub wretr: u64,
    pub wredis: u64,
    pub cli_abrt: u64,
    pub srv_abrt: u64,
    pub chkfail: u64,
    pub chkdown: u64,
    /// Seconds since the last UP/DOWN change.
    pub lastchg: Option<u64>,
    /// Seconds spent down in total.
    pub downtime: Option<u64>,
    /// Seconds since the last session was assigned (`None`: never, HAProxy prints -1).
    pub lastsess: Option<u64>,
    /// Last health check result (`L7OK`, `L4CON`, ...), without the `* ` of a running check.
    pub check_status: Text,
    pub check_code: Option<u64>,
    /// Milliseconds the last check took.
    pub check_duration: Option<u64>,
    pub check_desc: Text,
    pub last_chk: Text,
    /// The agent-check's last result (`L7OK`, `L7STS`, `L4CON`, ...) when the server has one.
    pub agent_status: Text,
    /// What the agent last said, as HAProxy words it: `via agent : down (reason)`.
    pub last_agt: Text,
    pub qtime: Option<u64>,
    pub ctime: Option<u64>,
    pub rtime: Option<u64>,
    pub ttime: Option<u64>,
    pub addr: Text,
    pub mode: Text,
    pub algo: Text,
    /// A server row with `bck` 1 (a backup server).
    pub backup: bool,
    /// A backend's number of active / backup servers.
    pub act: Option<u64>,
    pub bck: Option<u64>,
}

/// What a status word means, for colours, marks and sorting (worst first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatusClass {
    /// UP, OPEN: serving.
    Up,
    /// `no check`: serving as far as HAProxy knows.
    NoCheck,
    /// NOLB, DRAIN: up but not taking new traffic.
    Draining,
    /// Put in maintenance (MAINT, MAINT (via ...), MAINT (resolution)).
    Maint,
    /// `UP 1/3` (checks failing, about to go down) or `DOWN 1/2` (about to come up).
    Changing,
    /// A frontend at its connection limit (FULL) or stopped (STOP).
    Full,
    /// DOWN, or a word this version of ringdeck does not know.
    Down,
}

impl StatusClass {
    pub fn of(status: &str) -> StatusClass {
        let s = status.trim();
        let word = s.split_whitespace().next().unwrap_or("");
        let transitional = s.split_whitespace().nth(1).is_some_and(|w| w.contains('/'));
        match word {
            "UP" | "OPEN" if transitional => StatusClass::Changing,
            "UP" | "OPEN" => StatusClass::Up,
            "DOWN" if transitional => StatusClass::Changing,
            "no" if s == "no check" => StatusClass::NoCheck,
            "NOLB" | "DRAIN" => StatusClass::Draining,
            "MAINT" => StatusClass::Maint,
            "FULL" | "STOP" => StatusClass::Full,
            _ => StatusClass::Down,
        }
    }

    /// Larger is worse: for "status" sorting.
    pub fn severity(self) -> u8 {
        match self {
            StatusClass::Up => 0,
            StatusClass::NoCheck => 1,
            StatusClass::Draining => 2,
            StatusClass::Maint => 3,
            StatusClass::Changing => 4,
            StatusClass::Full => 5,
            StatusClass::Down => 6,
        }
    }
}

impl StatRow {
    pub fn kind(&self) -> RowKind {
        match (self.server.as_str(), self.kind_code) {
            ("FRONTEND", _) | (_, Some(0)) => RowKind::Frontend,
            ("BACKEND", _) | (_, Some(1)) => RowKind::Backend,
            (_, Some(3)) => RowKind::Listener,
            (_, Some(_)) => RowKind::Server,
            _ if self.status == "OPEN" || self.status == "CLOSED" && self.weight.is_none() => RowKind::Listener,
            _ => RowKind::Server,
        }
    }

    /// UP (including `UP 1/3` going down), OPEN frontends and `no check` servers count as serving.
    pub fn is_up(&self) -> bool {
        self.status.starts_with("UP") || self.status == "OPEN" || self.status == "no check"
    }

    pub fn class(&self) -> StatusClass {
        StatusClass::of(&self.status)
    }

    /// `backend/server`, as the admin socket names a server.
    pub fn id(&self) -> String {
        format!("{}/{}", self.proxy, self.server)
    }

    /// Connection and response errors together.
    pub fn errors(&self) -> u64 {
        self.econ + self.eresp
    }

    /// What the agent last said, for the screen: its reason when it gave one (`last_agt` is
    /// `via agent : down (no answer)`: `no answer`), else its word (`up`), else its check result;
    /// empty for a server without an agent check.
    pub fn agent_text(&self) -> &str {
        let said = self.last_agt.strip_prefix("via agent : ").unwrap_or(&self.last_agt).trim();
        let reason = said.split_once(" (").and_then(|(_, r)| r.strip_suffix(')'));
        match reason {
            Some(r) if !r.is_empty() => r,
            _ if !said.is_empty() => said,
            _ => &self.agent_status,
        }
    }

    /// Whether this server row fronts the MySQL server at `host:port` named `name` (by its name,
    /// or by its address; `localhost` is 127.0.0.1).
    pub fn fronts(&self, name: &str, host: &str, port: u16) -> bool {
        if self.kind() != RowKind::Server {
            return false;
        }
        if self.server == name {
            return true;
        }
        let Some((h, p)) = self.addr.rsplit_once(':') else { return false };
        let host = if host == "localhost" { "127.0.0.1" } else { host };
        p.parse::<u16>().is_ok_and(|p| p == port) && h.trim_matches(['[', ']']) == host
    }

    /// Taking no new connections: drained, in maintenance, down, or weight 0.
    pub fn out_of_pool(&self) -> bool {
        !matches!(self.class(), StatusClass::Up | StatusClass::NoCheck) || self.weight == Some(0)
    }
}

/// An out-of-pool server row as `backend STATUS` (`mysql DRAIN (agent)`, `mysql weight 0`).
pub fn out_of_pool_text(r: &StatRow) -> String {
    let weight0 = r.weight == Some(0) && matches!(r.class(), StatusClass::Up | StatusClass::NoCheck);
    if weight0 { format!("{} weight 0", r.proxy) } else { format!("{} {}", r.proxy, r.status) }
}

/// One stats sample: the rows and, when a socket is configured, `show info`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct HaproxyStats {
    pub rows: Vec<StatRow>,
    pub info: Option<ProcessInfo>,
    /// Why `show info` could not be read (the rows are still good).
    pub info_error: Option<String>,
}

/// Counts across an instance's servers, for its title line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub servers: usize,
    pub down: usize,
    pub maint: usize,
    pub draining: usize,
    /// Connections waiting in any queue (backends and servers).
    pub queued: u64,
}

impl HaproxyStats {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for r in &self.rows {
            match r.kind() {
                RowKind::Server => {
                    s.servers += 1;
                    match r.class() {
                        StatusClass::Down | StatusClass::Changing if !r.is_up() => s.down += 1,
                        StatusClass::Maint => s.maint += 1,
                        StatusClass::Draining => s.draining += 1,
                        _ => {}
                    }
                    s.queued += r.qcur;
                }
                RowKind::Backend => s.queued += r.qcur,
                _ => {}
            }
        }
        s
    }

    /// The row of `backend/server`.
    pub fn find(&self, proxy: &str, server: &str) -> Option<&StatRow> {
        self.rows.iter().find(|r| r.proxy == proxy && r.server == server)
    }
}

/// Splits one CSV line. HAProxy quotes a field that holds a comma or a quote (a check's text);
/// lines without quotes are split without copying.
fn split_csv(line: &str) -> Vec<Cow<'_, str>> {
    if !line.contains('"') {
        return line.split(',').map(Cow::Borrowed).collect();
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(Cow::Owned(std::mem::take(&mut cur))),
            (c, _) => cur.push(c),
        }
    }
    out.push(Cow::Owned(cur));
    out
}

/// Parses the CSV. A line cut short (a truncated answer) is skipped, not fatal: the next poll
/// has it whole.
// Long on purpose: one pass over the header and the rows; every column lookup sits beside the field it
// fills.
pub fn parse_csv(text: &str) -> Result<Vec<StatRow>, String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().ok_or("empty stats output")?;
    let header = header
        .strip_prefix("# ")
        .or_else(|| header.strip_prefix('#'))
        .ok_or_else(|| format!("stats output does not start with a '# pxname,...' header: {:?}", cut(header, 60)))?;
    let cols: HashMap<&str, usize> = header.split(',').enumerate().map(|(i, c)| (c.trim(), i)).collect();
    for required in ["pxname", "svname", "status"] {
        if !cols.contains_key(required) {
            return Err(format!("stats header has no {required} column"));
        }
    }
    // The columns up to and including `status` must be on a line for it to count.
    let min_len = cols.get("status").map_or(3, |i| i + 1);
    // The highest position any field is read from.
    let last = std::cell::Cell::new(0);
    let idx = |name: &str| {
        let i = cols.get(name).copied();
        last.set(last.get().max(i.unwrap_or(0)));
        i
    };
    let ix = Columns {
        pxname: idx("pxname"),
        svname: idx("svname"),
        status: idx("status"),
        type_: idx("type"),
        weight: idx("weight"),
        uweight: idx("uweight"),
        scur: idx("scur"),
        smax: idx("smax"),
        slim: idx("slim"),
        stot: idx("stot"),
        qcur: idx("qcur"),
        qmax: idx("qmax"),
        qlimit: idx("qlimit"),
        rate: idx("rate"),
        rate_max: idx("rate_max"),
        req_rate: idx("req_rate"),
        hrsp_2xx: idx("hrsp_2xx"),
        hrsp_4xx: idx("hrsp_4xx"),
        hrsp_5xx: idx("hrsp_5xx"),
        ereq: idx("ereq"),
        econ: idx("econ"),
        eresp: idx("eresp"),
        wretr: idx("wretr"),
        wredis: idx("wredis"),
        cli_abrt: idx("cli_abrt"),
        srv_abrt: idx("srv_abrt"),
        chkfail: idx("chkfail"),
        chkdown: idx("chkdown"),
        lastchg: idx("lastchg"),
        downtime: idx("downtime"),
        lastsess: idx("lastsess"),
        check_status: idx("check_status"),
        check_code: idx("check_code"),
        check_duration: idx("check_duration"),
        check_desc: idx("check_desc"),
        last_chk: idx("last_chk"),
        agent_status: idx("agent_status"),
        last_agt: idx("last_agt"),
        qtime: idx("qtime"),
        ctime: idx("ctime"),
        rtime: idx("rtime"),
        ttime: idx("ttime"),
        addr: idx("addr"),
        mode: idx("mode"),
        algo: idx("algo"),
        act: idx("act"),
        bck: idx("bck"),
    };
    // Fields past the last column read are left unsplit (a 2.6 line has 129, we read up to 77).
    let wanted = last.get() + 1;
    // One row per line: sized once (a row is ~600 bytes; growing the vector would copy them all).
    let mut rows = Vec::with_capacity(memchr::memchr_iter(b'\n', text.as_bytes()).count() + 1);
    // One buffer of fields for every unquoted line (almost all of them), written in place: no
    // allocation or length bookkeeping per field.
    let mut plain: Vec<&str> = vec![""; wanted + 1];
    for line in lines {
        if line.starts_with('#') {
            continue;
        }
        let row = match split_plain(line, &mut plain) {
            Some(n) => row_of(&plain[..n], &ix, min_len),
            None => {
                let owned = split_csv(line);
                let f: Vec<&str> = owned.iter().map(|c| c.as_ref()).collect();
                row_of(&f, &ix, min_len)
            }
        };
        rows.extend(row);
    }
    Ok(rows)
}

/// Splits a line without quotes at its commas into `out`: as many fields as `out` holds less one,
/// then the rest unsplit, in one pass over the bytes. Returns how many fields it wrote; `None` when
/// the line has a quote ([`split_csv`] reads it).
fn split_plain<'a>(line: &'a str, out: &mut [&'a str]) -> Option<usize> {
    let wanted = out.len().saturating_sub(1);
    let bytes = line.as_bytes();
    // A quote after the fields we read does not matter; one before them sends the line to the
    // quoting reader. Looked for once (vectorised), so the loop below tests only for commas.
    let quote = memchr::memchr(b'"', bytes).unwrap_or(bytes.len());
    let mut start = 0;
    let mut fields = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b',' {
            if i > quote {
                return None;
            }
            if let Some(slot) = out.get_mut(fields) {
                *slot = line.get(start..i).unwrap_or_default();
            }
            start = i + 1;
            fields += 1;
            if fields == wanted {
                // The rest may hold a quote, but no field we read is in it.
                break;
            }
        }
    }
    if fields < wanted && quote < bytes.len() {
        // A quote in the last field of a short line.
        return None;
    }
    if let Some(slot) = out.get_mut(fields) {
        *slot = line.get(start..).unwrap_or_default();
    }
    Some(fields + 1)
}

/// A field without the blanks around it; HAProxy writes none, so only the ends are looked at.
fn trim(field: &str) -> &str {
    match field.as_bytes() {
        [first, ..] if first.is_ascii_whitespace() => field.trim(),
        [.., last] if last.is_ascii_whitespace() => field.trim(),
        _ => field,
    }
}

/// A counter field: digits (the fast path), else whatever `u64` parsing makes of it trimmed;
/// `None` for an empty or non-numeric field.
fn number(field: &str) -> Option<u64> {
    let bytes = field.as_bytes();
    if bytes.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in bytes {
        if !b.is_ascii_digit() {
            return field.trim().parse().ok();
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

/// A check's status without the `* ` HAProxy puts before a check that is running now.
fn running_dropped(mut status: &str) -> &str {
    while let Some(rest) = status.strip_prefix("* ") {
        status = rest;
    }
    status
}

/// One stats line's row, or `None` for a line cut short or without a proxy name.
fn row_of(f: &[&str], ix: &Columns, min_len: usize) -> Option<StatRow> {
    if f.len() < min_len {
        return None;
    }
    let get = |i: Option<usize>| i.and_then(|i| f.get(i)).map(|s| trim(s)).unwrap_or("");
    let n = |i: Option<usize>| number(get(i));
    let z = |i: Option<usize>| n(i).unwrap_or(0);
    let s = |i: Option<usize>| Text::new(get(i));
    if get(ix.pxname).is_empty() {
        return None;
    }
    let mut row = StatRow {
        proxy: s(ix.pxname),
        server: s(ix.svname),
        status: s(ix.status),
        kind_code: get(ix.type_).parse().ok(),
        weight: n(ix.weight),
        uweight: n(ix.uweight),
        scur: z(ix.scur),
        smax: z(ix.smax),
        slim: n(ix.slim),
        stot: z(ix.stot),
        qcur: z(ix.qcur),
        qmax: z(ix.qmax),
        qlimit: n(ix.qlimit),
        rate: z(ix.rate),
        rate_max: z(ix.rate_max),
        req_rate: z(ix.req_rate),
        hrsp_2xx: z(ix.hrsp_2xx),
        hrsp_4xx: z(ix.hrsp_4xx),
        hrsp_5xx: z(ix.hrsp_5xx),
        ereq: z(ix.ereq),
        econ: z(ix.econ),
        eresp: z(ix.eresp),
        wretr: z(ix.wretr),
        wredis: z(ix.wredis),
        cli_abrt: z(ix.cli_abrt),
        srv_abrt: z(ix.srv_abrt),
        chkfail: z(ix.chkfail),
        chkdown: z(ix.chkdown),
        lastchg: n(ix.lastchg),
        downtime: n(ix.downtime),
        lastsess: n(ix.lastsess),
        check_status: Text::new(running_dropped(get(ix.check_status))),
        check_code: n(ix.check_code),
        check_duration: n(ix.check_duration),
        check_desc: s(ix.check_desc),
        last_chk: s(ix.last_chk),
        agent_status: Text::new(running_dropped(get(ix.agent_status))),
        last_agt: s(ix.last_agt),
        qtime: n(ix.qtime),
        ctime: n(ix.ctime),
        rtime: n(ix.rtime),
        ttime: n(ix.ttime),
        addr: s(ix.addr),
        mode: s(ix.mode),
        algo: s(ix.algo),
        backup: false,
        act: n(ix.act),
        bck: n(ix.bck),
    };
    row.backup = row.bck == Some(1) && row.kind() == RowKind::Server;
    Some(row)
}

/// Column positions, looked up once per answer.
struct Columns {
    pxname: Option<usize>,
    svname: Option<usize>,
    status: Option<usize>,
    type_: Option<usize>,
    weight: Option<usize>,
    uweight: Option<usize>,
    scur: Option<usize>,
    smax: Option<usize>,
    slim: Option<usize>,
    stot: Option<usize>,
    qcur: Option<usize>,
    qmax: Option<usize>,
    qlimit: Option<usize>,
    rate: Option<usize>,
    rate_max: Option<usize>,
    req_rate: Option<usize>,
    hrsp_2xx: Option<usize>,
    hrsp_4xx: Option<usize>,
    hrsp_5xx: Option<usize>,
    ereq: Option<usize>,
    econ: Option<usize>,
    eresp: Option<usize>,
    wretr: Option<usize>,
    wredis: Option<usize>,
    cli_abrt: Option<usize>,
    srv_abrt: Option<usize>,
    chkfail: Option<usize>,
    chkdown: Option<usize>,
    lastchg: Option<usize>,
    downtime: Option<usize>,
    lastsess: Option<usize>,
    check_status: Option<usize>,
    check_code: Option<usize>,
    check_duration: Option<usize>,
    check_desc: Option<usize>,
    last_chk: Option<usize>,
    agent_status: Option<usize>,
    last_agt: Option<usize>,
    qtime: Option<usize>,
    ctime: Option<usize>,
    rtime: Option<usize>,
    ttime: Option<usize>,
    addr: Option<usize>,
    mode: Option<usize>,
    algo: Option<usize>,
    act: Option<usize>,
    bck: Option<usize>,
}
