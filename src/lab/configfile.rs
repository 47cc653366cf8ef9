//! The console config for a lab, `D/ringdeck.toml` (mode 600): built from the `ringdeck::config`
//! types, serialized with `Config::to_toml`, and parsed back with `Config::parse` before writing.

use color_eyre::eyre::{Result, WrapErr, eyre};
use toml::Spanned;

use super::proc;
use super::spec::{Spec, write_file};
use crate::config::{
    ApacheConfig, Config, HaproxyConfig, Interval, NodeConfig, ProbeConfig, Secret, SshConfig, SslMode, TlsConfig,
};

fn name(s: impl Into<String>) -> Spanned<String> {
    Spanned::new(0..0, s.into())
}

fn probe(n: String) -> ProbeConfig {
    ProbeConfig { name: name(n), http: None, tcp: None, sql: None, warn: None, crit: None }
}

/// The console config for the lab.
pub fn build(spec: &Spec) -> Config {
    let ctl = |k: u16, verb: &str| Some(vec![spec.node_ctl(k).display().to_string(), verb.to_string()]);
    let nodes = (1..=spec.nodes)
        .map(|k| NodeConfig {
            name: name(format!("node{k}")),
            host: "127.0.0.1".into(),
            port: spec.node_port(k),
            user: Some("ringdeck".into()),
            password: Some(spec.operator_password.clone()),
            password_env: None,
            password_command: None,
            my_cnf: None,
            replication_user: Some("repl".into()),
            replication_password: Some(spec.repl_password.clone()),
            replication_password_command: None,
            replication_ssl: None,
            replication_ssl_ca: None,
            replication_ssl_cert: None,
            replication_ssl_key: None,
            replication_ssl_verify_server_cert: None,
            replication_get_public_key: None,
            // A --tls lab: every node verified against the lab's CA. The links' TLS is not set
            // here: a rebuild must keep it from what the links had.
            tls: spec.tls.then(|| TlsConfig {
                ssl_mode: Some(SslMode::VerifyIdentity),
                ca: Some(spec.tls_ca()),
                cert: None,
                key: None,
                verify_identity: true,
            }),
            ssh: Some(SshConfig {
                host: Some("127.0.0.1".into()),
                port: spec.ssh_port(),
                user: proc::login_name(),
                key: Some(spec.ssh_key()),
                known_hosts: Some(spec.known_hosts()),
            }),
            data_dir: Some(spec.node_data(k)),
            stop_command: ctl(k, "stop"),
            start_command: ctl(k, "start"),
        })
        .collect();
    let haproxies = vec![HaproxyConfig {
        name: name("lb"),
        stats_url: Some(format!("http://127.0.0.1:{}/stats", spec.stats_port())),
        user: Some("admin".into()),
        password: Some(spec.stats_password.clone()),
        password_env: None,
        password_command: None,
        socket: Some(spec.haproxy_socket()),
    }];
    let apaches = (1..=2)
        .map(|k| ApacheConfig {
            name: name(format!("web{k}")),
            status_url: format!("http://127.0.0.1:{}/server-status", spec.web_port(k)),
            user: None,
            password: None::<Secret>,
            password_env: None,
            password_command: None,
        })
        .collect();
    let mut probes = vec![
        ProbeConfig { http: Some(format!("http://127.0.0.1:{}/", spec.http_port())), ..probe("http-lb".into()) },
        ProbeConfig { tcp: Some(format!("127.0.0.1:{}", spec.mysql_lb_port())), ..probe("mysql-lb".into()) },
    ];
    for k in 1..=2 {
        probes.push(ProbeConfig {
            http: Some(format!("http://127.0.0.1:{}/", spec.web_port(k))),
            ..probe(format!("http-web{k}"))
        });
    }
    for k in 1..=spec.nodes {
        probes.push(ProbeConfig { sql: Some(format!("node{k}")), ..probe(format!("sql-node{k}")) });
    }
    Config {
        poll_interval: Interval::from_millis(1000),
        timeout: Interval::from_millis(3000),
        read_only: false,
        audit_log: None,
        max_response_bytes: None,
        theme: None,
        nodes,
        haproxies,
        apaches,
        probes,
        agent: crate::config::agent::AgentConfig {
            listen: format!("127.0.0.1:{}", spec.agent_port()),
            http: format!("127.0.0.1:{}", spec.agent_http_port()),
            pools: vec![crate::config::agent::PoolConfig { name: "mysql".into(), nodes: Vec::new(), write: true }],
            ..Default::default()
        },
        source: spec.config_path(),
        warnings: Vec::new(),
    }
}

/// Builds, checks and writes `D/ringdeck.toml` (mode 600: it holds passwords).
pub fn write(spec: &Spec) -> Result<()> {
    let path = spec.config_path();
    let text = build(spec).to_toml().wrap_err("cannot serialize the lab's console config")?;
    let text = format!(
        "# ringdeck console config for the lab in {}; written by `ringdeck lab up`.\n\n{text}",
        spec.dir.display()
    );
    Config::parse(&text, &path).map_err(|e| eyre!("the generated config does not parse: {e}"))?;
    write_file(&path, &text, 0o600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_config_round_trips() {
        let spec = Spec::new("/tmp/lab".into(), 3, 13300, false).unwrap();
        let text = build(&spec).to_toml().unwrap();
        let cfg = Config::parse(&text, std::path::Path::new("lab.toml")).unwrap();
        assert_eq!(cfg.nodes.len(), 3);
        assert_eq!(cfg.nodes[1].port, 13302);
        assert_eq!(
            cfg.nodes[1].start_command.as_deref(),
            Some(&["/tmp/lab/node2/ctl".to_string(), "start".to_string()][..])
        );
        assert_eq!(cfg.probes.len(), 4 + 3);
    }
}
