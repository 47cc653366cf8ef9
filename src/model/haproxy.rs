//! HAProxy statistics: the CSV from `<stats uri>;csv` or the socket's `show stat`, mapped by its
//! header line so that any HAProxy from 1.8 to 3.x reads the same.

use std::collections::HashMap;

use serde::Serialize;

/// What a stats row describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum RowKind {
    Frontend,
    Backend,
    Server,
    Listener,
}

/// One row of `show stat`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StatRow {
    pub proxy: String,
    pub server: String,
    pub status: String,
    pub weight: Option<u64>,
    pub scur: u64,
    pub smax: u64,
    pub slim: Option<u64>,
    pub stot: u64,
    pub qcur: u64,
    pub qmax: u64,
    pub rate: u64,
    pub hrsp_5xx: u64,
    pub econ: u64,
    pub eresp: u64,
    pub chkdown: u64,
    pub lastchg: Option<u64>,
    pub downtime: Option<u64>,
    pub check_status: String,
    pub check_duration: Option<u64>,
    pub rtime: Option<u64>,
    pub ttime: Option<u64>,
    pub backup: bool,
}

impl StatRow {
    pub fn kind(&self) -> RowKind {
        match self.server.as_str() {
            "FRONTEND" => RowKind::Frontend,
            "BACKEND" => RowKind::Backend,
            _ if self.status == "OPEN" || self.status == "CLOSED" && self.weight.is_none() => RowKind::Listener,
            _ => RowKind::Server,
        }
    }

    /// UP (including `UP 1/3` going down), OPEN frontends and `no check` servers count as serving.
    pub fn is_up(&self) -> bool {
        self.status.starts_with("UP") || self.status == "OPEN" || self.status == "no check"
    }
}

/// Parses the CSV. Rows whose column count does not match the header are reported, not fatal.
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
    let mut rows = Vec::new();
    for line in lines {
        if line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        let get = |name: &str| cols.get(name).and_then(|i| f.get(*i)).map(|s| s.trim()).unwrap_or("");
        let n = |name: &str| get(name).parse::<u64>().ok();
        if f.len() < 3 || get("pxname").is_empty() {
            continue; // truncated line: the next poll will have it whole
        }
        rows.push(StatRow {
            proxy: get("pxname").to_string(),
            server: get("svname").to_string(),
            status: get("status").to_string(),
            weight: n("weight"),
            scur: n("scur").unwrap_or(0),
            smax: n("smax").unwrap_or(0),
            slim: n("slim"),
            stot: n("stot").unwrap_or(0),
            qcur: n("qcur").unwrap_or(0),
            qmax: n("qmax").unwrap_or(0),
            rate: n("rate").unwrap_or(0),
            hrsp_5xx: n("hrsp_5xx").unwrap_or(0),
            econ: n("econ").unwrap_or(0),
            eresp: n("eresp").unwrap_or(0),
            chkdown: n("chkdown").unwrap_or(0),
            lastchg: n("lastchg"),
            downtime: n("downtime"),
            check_status: get("check_status").to_string(),
            check_duration: n("check_duration"),
            rtime: n("rtime"),
            ttime: n("ttime"),
            backup: n("bck") == Some(1),
        });
    }
    Ok(rows)
}

fn cut(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const V26: &str = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,
web_front,FRONTEND,,,1,3,2000,40,4120,9988,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,1,0,3,,,,0,38,0,1,0,0,,1,3,39,,,0,0,0,0,,,,,,,,
web,web1,0,2,0,1,,20,2060,4994,,0,,0,0,0,0,UP,1,1,0,0,0,120,0,,1,3,1,,20,,2,0,,2,L7OK,200,1,0,19,0,0,1,0,,,,,0,0,,,,,3,,,0,0,2,3,
web,web2,0,0,0,1,,20,2060,4994,,0,,0,0,0,0,MAINT,1,1,0,0,1,7,7,,1,3,2,,20,,2,0,,2,,,,0,19,0,1,0,0,,,,,0,0,,,,,5,,,0,0,2,3,
web,BACKEND,0,2,0,2,200,40,4120,9988,0,0,,0,0,0,0,UP,1,1,0,,0,120,0,,1,3,0,,40,,1,0,,3,,,,0,38,0,1,1,0,,,,,0,0,0,0,0,0,3,,,0,0,2,3,
";

    #[test]
    fn maps_columns_by_header() {
        let rows = parse_csv(V26).unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].kind(), RowKind::Frontend);
        let web2 = &rows[2];
        assert_eq!((web2.proxy.as_str(), web2.server.as_str(), web2.status.as_str()), ("web", "web2", "MAINT"));
        assert_eq!(web2.kind(), RowKind::Server);
        assert!(!web2.is_up());
        assert_eq!(rows[1].check_status, "L7OK");
        assert_eq!(rows[1].qmax, 2);
        assert_eq!(rows[3].kind(), RowKind::Backend);
        assert_eq!(rows[3].slim, Some(200));
    }

    #[test]
    fn column_order_does_not_matter() {
        let text = "# svname,status,pxname,qcur\nweb1,UP 1/3,web,4\n";
        let rows = parse_csv(text).unwrap();
        assert_eq!(rows[0].proxy, "web");
        assert_eq!(rows[0].qcur, 4);
        assert!(rows[0].is_up());
    }

    #[test]
    fn recorded_haproxy_26_with_web2_in_maint() {
        let text = include_str!("../../tests/fixtures/haproxy-2.6-show-stat-web2-maint.csv");
        let rows = parse_csv(text).unwrap();
        let find = |p: &str, s: &str| rows.iter().find(|r| r.proxy == p && r.server == s).unwrap();
        assert_eq!(find("web", "web2").status, "MAINT");
        assert!(find("web", "web1").is_up());
        assert_eq!(find("mysql", "node1").check_status, "L7OK");
        assert_eq!(find("mysql", "FRONTEND").kind(), RowKind::Frontend);
        assert!(find("mysql", "node2").backup, "nodes 2..N are backups");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse_csv("").is_err());
        assert!(parse_csv("<html>401 Unauthorized</html>").unwrap_err().contains("header"));
        assert!(parse_csv("# a,b,c\n1,2,3\n").unwrap_err().contains("pxname"));
        // truncated last line is skipped
        let rows = parse_csv(&V26[..V26.len() - 40]).unwrap();
        assert!(rows.len() >= 3);
    }
}
