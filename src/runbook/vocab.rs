//! One vocabulary of the steps an operator starts by name: the keymap's `run` name, the `:`
//! command and `ringdeck run` subcommand, their aliases, the defaults a key starts them with, and
//! the short name of every [`StepAction`] in messages. Keys, the command line, the CLI and the
//! audit log all take their words from here.

use super::plan::{DEFAULT_SKIP_ERRNOS, DEFAULT_SKIP_LIMIT};
use super::step::{StepAction, Threads};

/// A node step started by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StepName {
    StopSlave,
    StartSlave,
    Skip,
    SkipUntilHealthy,
    ResetMaster,
    ResetSlaveAll,
    ChangeMaster,
    ReadOnlyOn,
    ReadOnlyOff,
    Bypass,
}

impl StepName {
    pub const ALL: [StepName; 10] = [
        StepName::StopSlave,
        StepName::StartSlave,
        StepName::Skip,
        StepName::SkipUntilHealthy,
        StepName::ResetMaster,
        StepName::ResetSlaveAll,
        StepName::ChangeMaster,
        StepName::ReadOnlyOn,
        StepName::ReadOnlyOff,
        StepName::Bypass,
    ];

    /// The `run` name of a keymap binding (`stop_slave`).
    pub fn key_name(self) -> &'static str {
        match self {
            StepName::StopSlave => "stop_slave",
            StepName::StartSlave => "start_slave",
            StepName::Skip => "skip",
            StepName::SkipUntilHealthy => "skip_until_healthy",
            StepName::ResetMaster => "reset_master",
            StepName::ResetSlaveAll => "reset_slave_all",
            StepName::ChangeMaster => "change_master",
            StepName::ReadOnlyOn => "read_only_on",
            StepName::ReadOnlyOff => "read_only_off",
            StepName::Bypass => "bypass",
        }
    }

    /// The `:` command and `ringdeck run` subcommand (`stop-slave`); `read-only` takes `on|off`.
    pub fn command(self) -> &'static str {
        match self {
            StepName::StopSlave => "stop-slave",
            StepName::StartSlave => "start-slave",
            StepName::Skip => "skip",
            StepName::SkipUntilHealthy => "skip-until-healthy",
            StepName::ResetMaster => "reset-master",
            StepName::ResetSlaveAll => "reset-slave-all",
            StepName::ChangeMaster => "change-master",
            StepName::ReadOnlyOn | StepName::ReadOnlyOff => "read-only",
            StepName::Bypass => "bypass",
        }
    }

    /// Other words the `:` command line takes (MySQL 8's replica/source spelling).
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            StepName::StopSlave => &["stop-replica"],
            StepName::StartSlave => &["start-replica"],
            StepName::ResetSlaveAll => &["reset-replica-all"],
            StepName::ChangeMaster => &["change-source"],
            StepName::ReadOnlyOn | StepName::ReadOnlyOff => &["read_only"],
            _ => &[],
        }
    }

    /// The step a keymap `run` name starts.
    pub fn from_key_name(s: &str) -> Option<StepName> {
        StepName::ALL.into_iter().find(|n| n.key_name() == s)
    }

    /// The step a `:` command word starts (`read-only` is [`StepName::ReadOnlyOn`] until its
    /// argument says otherwise).
    pub fn from_command(s: &str) -> Option<StepName> {
        StepName::ALL.into_iter().find(|n| n.command() == s || n.aliases().contains(&s))
    }

    /// The action a key starts on `node`, with the defaults (one event, both threads, the
    /// duplicate-key and missing-row errors). `upstream` is the node's upstream in the ring
    /// (`change-master` points at it); coordinates are filled in when the step is planned.
    pub fn action(self, node: &str, upstream: &str) -> StepAction {
        match self {
            StepName::StopSlave => StepAction::StopSlave { threads: Threads::Both },
            StepName::StartSlave => StepAction::StartSlave,
            StepName::Skip => StepAction::Skip { count: 1 },
            StepName::SkipUntilHealthy => {
                StepAction::SkipUntilHealthy { errnos: DEFAULT_SKIP_ERRNOS.to_vec(), limit: DEFAULT_SKIP_LIMIT }
            }
            StepName::ResetMaster => StepAction::ResetMaster,
            StepName::ResetSlaveAll => StepAction::ResetSlaveAll,
            StepName::ChangeMaster => {
                StepAction::ChangeMaster { upstream: upstream.into(), file: String::new(), pos: 0 }
            }
            StepName::ReadOnlyOn => StepAction::ReadOnly { on: true },
            StepName::ReadOnlyOff => StepAction::ReadOnly { on: false },
            StepName::Bypass => {
                StepAction::Bypass { failed: node.into(), upstream: String::new(), file: String::new(), pos: 0 }
            }
        }
    }
}

impl StepAction {
    /// Its short name in messages ("skip", "read_only ON", "drain").
    pub fn name(&self) -> &'static str {
        match self {
            StepAction::StopSlave { .. } => "stop slave",
            StepAction::StartSlave => "start slave",
            StepAction::Skip { .. } => "skip",
            StepAction::SkipUntilHealthy { .. } => "skip until healthy",
            StepAction::ResetMaster => "reset master",
            StepAction::ResetSlaveAll => "reset slave all",
            StepAction::ChangeMaster { .. } => "change master",
            StepAction::ReadOnly { on: true } => "read_only ON",
            StepAction::ReadOnly { on: false } => "read_only OFF",
            StepAction::Bypass { .. } => "bypass",
            StepAction::Recover { .. } => "recovery step",
            StepAction::HaproxyServer { op, .. } => op.name(),
            StepAction::Kill { connection: false, .. } => "kill query",
            StepAction::Kill { connection: true, .. } => "kill connection",
            StepAction::Repair { .. } => "repair",
            StepAction::ForgetFork { .. } => "forget a fork",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_and_keys_start_with_the_shared_defaults() {
        for n in StepName::ALL {
            assert_eq!(StepName::from_key_name(n.key_name()), Some(n));
            let back = StepName::from_command(n.command()).expect("a command word");
            assert_eq!(back.command(), n.command());
            for a in n.aliases() {
                assert_eq!(StepName::from_command(a).map(StepName::command), Some(n.command()));
            }
        }
        assert_eq!(
            StepName::SkipUntilHealthy.action("node2", "node1"),
            StepAction::SkipUntilHealthy { errnos: DEFAULT_SKIP_ERRNOS.to_vec(), limit: DEFAULT_SKIP_LIMIT }
        );
        assert!(
            matches!(StepName::Bypass.action("node2", "node1"), StepAction::Bypass { failed, .. } if failed == "node2")
        );
    }
}
