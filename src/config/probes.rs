//! The probes the console runs: the configured `[[probe]]`s, or, when there is none, defaults
//! derived from the rest of the config: an HTTP GET of each Apache's site (its `status_url`
//! with the path cut to `/`), a TCP connect to each node's `host:port`, and `SELECT 1` on each
//! node. HAProxy's public frontend is not in the config (only its stats page), so a probe through
//! HAProxy needs a `[[probe]] http = "..."`; with any `[[probe]]` configured nothing is derived.

use std::borrow::Cow;

use toml::Spanned;

use super::{Config, ProbeConfig};

fn probe(name: String) -> ProbeConfig {
    ProbeConfig { name: Spanned::new(0..0, name), http: None, tcp: None, sql: None, warn: None, crit: None }
}

/// `scheme://authority/` of a URL; `None` when it has no scheme.
fn site_root(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() { None } else { Some(format!("{scheme}://{authority}/")) }
}

/// The defaults derived from the config (see the module header).
pub fn derived(cfg: &Config) -> Vec<ProbeConfig> {
    let mut out = Vec::new();
    for a in &cfg.apaches {
        if let Some(url) = site_root(&a.status_url) {
            out.push(ProbeConfig { http: Some(url), ..probe(format!("http-{}", a.name.get_ref())) });
        }
    }
    for n in &cfg.nodes {
        out.push(ProbeConfig { tcp: Some(n.address()), ..probe(format!("tcp-{}", n.name())) });
    }
    for n in &cfg.nodes {
        out.push(ProbeConfig { sql: Some(n.name().to_string()), ..probe(format!("sql-{}", n.name())) });
    }
    out
}

impl Config {
    /// The probes to run: the configured ones, else the derived defaults.
    pub fn effective_probes(&self) -> Cow<'_, [ProbeConfig]> {
        if self.probes.is_empty() { Cow::Owned(derived(self)) } else { Cow::Borrowed(&self.probes) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_from_apaches_and_nodes_only_without_probes() {
        let text = "[[node]]\nname = \"node1\"\nhost = \"db1\"\nport = 3306\n\
                    [[apache]]\nname = \"web1\"\nstatus_url = \"https://web1:8443/server-status\"\n";
        let cfg = Config::parse(text, std::path::Path::new("t.toml")).expect("config");
        let p = cfg.effective_probes();
        let names: Vec<&str> = p.iter().map(|p| p.name.get_ref().as_str()).collect();
        assert_eq!(names, vec!["http-web1", "tcp-node1", "sql-node1"]);
        assert_eq!(p[0].http.as_deref(), Some("https://web1:8443/"));
        assert_eq!(p[1].tcp.as_deref(), Some("db1:3306"));
        assert_eq!(p[2].sql.as_deref(), Some("node1"));
        let with = format!("{text}[[probe]]\nname = \"site\"\nhttp = \"http://lb/\"\n");
        let cfg = Config::parse(&with, std::path::Path::new("t.toml")).expect("config");
        assert_eq!(cfg.effective_probes().len(), 1, "configured probes win");
        assert_eq!(site_root("no-scheme"), None);
        assert_eq!(site_root("http://h:1?x"), Some("http://h:1/".into()));
    }
}
