//! Resolving who to log in as: user and password for each node, HAProxy and Apache, from the
//! config, the environment, a password command or `~/.my.cnf`. Done once, before the console starts.

use super::schema::{Config, NodeConfig, PasswordFields};
use super::secret::{PasswordSource, Secret, default_my_cnf, parse_my_cnf};

/// A resolved login.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Login {
    pub user: Option<String>,
    pub password: Option<Secret>,
}

/// Logins for every target, in config order.
#[derive(Clone, Debug, Default)]
pub struct Logins {
    pub nodes: Vec<Login>,
    pub haproxies: Vec<Login>,
    pub apaches: Vec<Login>,
}

fn login_name() -> Option<String> {
    std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).ok().filter(|u| !u.is_empty())
}

/// A node's login: its own fields first, then `~/.my.cnf`, then the login name.
pub fn node_login(node: &NodeConfig) -> Result<Login, String> {
    let fields = node.password_fields();
    let password = fields.source().resolve().map_err(|e| format!("node {}: {e}", node.name()))?;
    let my_cnf_path = fields.my_cnf.clone().or_else(|| if fields.count() == 0 { default_my_cnf() } else { None });
    let my_cnf = my_cnf_path
        .and_then(|p| std::fs::read_to_string(super::paths::expand_tilde(&p)).ok())
        .map(|t| parse_my_cnf(&t))
        .unwrap_or_default();
    let user = node.user.clone().or(my_cnf.user).or_else(login_name);
    let password = password.or(if fields.count() == 0 { my_cnf.password.map(Secret::new) } else { None });
    Ok(Login { user, password })
}

fn http_login(name: &str, user: &Option<String>, fields: PasswordFields) -> Result<Login, String> {
    let password = fields.source().resolve().map_err(|e| format!("{name}: {e}"))?;
    Ok(Login { user: user.clone(), password })
}

/// The replication password for CHANGE MASTER TO, when configured.
pub fn replication_password(node: &NodeConfig) -> Result<Option<Secret>, String> {
    if let Some(p) = &node.replication_password {
        return Ok(Some(p.clone()));
    }
    match &node.replication_password_command {
        Some(cmd) => PasswordSource::Command(cmd.clone()).resolve(),
        None => Ok(None),
    }
}

impl Logins {
    /// Resolves every login in the config; the first failure is returned with the target's name.
    pub fn resolve(cfg: &Config) -> Result<Logins, String> {
        Ok(Logins {
            nodes: cfg.nodes.iter().map(node_login).collect::<Result<_, _>>()?,
            haproxies: cfg
                .haproxies
                .iter()
                .map(|h| http_login(&format!("haproxy {}", h.name.get_ref()), &h.user, h.password_fields()))
                .collect::<Result<_, _>>()?,
            apaches: cfg
                .apaches
                .iter()
                .map(|a| http_login(&format!("apache {}", a.name.get_ref()), &a.user, a.password_fields()))
                .collect::<Result<_, _>>()?,
        })
    }
}
