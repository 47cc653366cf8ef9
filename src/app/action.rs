//! What a key can do: the `run` names of keymap bindings.

use std::str::FromStr;

pub use crate::runbook::StepName;

/// A console action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    Back,
    NextPane,
    PrevPane,
    Focus(Pane),
    Up,
    Down,
    Zoom,
    /// A runbook step on the selected node (ring pane).
    Step(StepName),
    /// Open the `:` command line.
    CommandLine,
    /// Open (or show again) the ring recovery wizard.
    Recover,
    /// Compare the tables on every node (read-only; allowed in read-only mode).
    Verify,
    /// Inspect the selected node's stopped SQL thread: the event beside every node's row.
    Inspect,
    /// A HAProxy server step on the server selected in the HAProxy pane.
    Server(ServerKey),
    /// Open the `/` filter of the HAProxy pane.
    Filter,
    /// Sort the HAProxy pane by the next (or previous) key.
    Sort {
        forward: bool,
    },
    /// Kill the statement (or, `connection`, the whole connection) selected in the queries pane.
    Kill {
        connection: bool,
    },
    /// Show or hide sleeping, system and replication threads in the queries pane.
    ToggleHidden,
}

/// The HAProxy server steps a key can start on the selected server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerKey {
    Drain,
    Maint,
    Ready,
    Weight,
}

impl ServerKey {
    pub fn name(self) -> &'static str {
        match self {
            ServerKey::Drain => "drain",
            ServerKey::Maint => "maint",
            ServerKey::Ready => "ready",
            ServerKey::Weight => "weight",
        }
    }
}

/// The five panes, in Tab order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pane {
    Ring,
    Haproxy,
    Apache,
    Queries,
    Probes,
}

impl Pane {
    pub const ALL: [Pane; 5] = [Pane::Ring, Pane::Haproxy, Pane::Apache, Pane::Queries, Pane::Probes];

    pub fn index(self) -> usize {
        Self::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }

    pub fn title(self) -> &'static str {
        match self {
            Pane::Ring => "Replication ring",
            Pane::Haproxy => "HAProxy",
            Pane::Apache => "Apache workers",
            Pane::Queries => "Slow queries",
            Pane::Probes => "Response times",
        }
    }
}

impl FromStr for Action {
    type Err = String;
    fn from_str(s: &str) -> Result<Action, String> {
        Ok(match s {
            "quit" => Action::Quit,
            "help" => Action::Help,
            "back" => Action::Back,
            "next_pane" => Action::NextPane,
            "prev_pane" => Action::PrevPane,
            "pane_ring" => Action::Focus(Pane::Ring),
            "pane_haproxy" => Action::Focus(Pane::Haproxy),
            "pane_apache" => Action::Focus(Pane::Apache),
            "pane_queries" => Action::Focus(Pane::Queries),
            "pane_probes" => Action::Focus(Pane::Probes),
            "up" => Action::Up,
            "down" => Action::Down,
            "zoom" => Action::Zoom,
            "command_line" => Action::CommandLine,
            "verify" => Action::Verify,
            "inspect" => Action::Inspect,
            "recover" => Action::Recover,
            "drain" => Action::Server(ServerKey::Drain),
            "maint" => Action::Server(ServerKey::Maint),
            "ready" => Action::Server(ServerKey::Ready),
            "weight" => Action::Server(ServerKey::Weight),
            "filter" => Action::Filter,
            "sort_next" => Action::Sort { forward: true },
            "sort_prev" => Action::Sort { forward: false },
            "kill_query" => Action::Kill { connection: false },
            "kill_connection" => Action::Kill { connection: true },
            "toggle_hidden" => Action::ToggleHidden,
            other => match StepName::from_key_name(other) {
                Some(n) => Action::Step(n),
                None => return Err(format!("unknown action {other:?}")),
            },
        })
    }
}
