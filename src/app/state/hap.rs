//! `App`, the HAProxy pane's keys: server steps on the selected server, sort, filter.

use crate::app::App;
use crate::app::action::{Pane, ServerKey};
use crate::app::dialog::{CommandLine, Dialog};
use crate::app::hapview::*;
use crate::model::haproxy::RowKind;
use crate::runbook::{ServerOp, StepAction};

impl App {
    /// A server key of the HAProxy pane (`d` drain, `m` maint, `r` ready, `w` weight) on the
    /// selected server. Only when that pane has the focus: the operator sees what is selected.
    pub(super) fn server_key(&mut self, k: ServerKey) {
        if self.focus != Pane::Haproxy {
            self.message = Some(format!(
                "{} acts on the server selected in the HAProxy pane: press 2 (or tab) to go there first",
                k.name()
            ));
            return;
        }
        let op = match k {
            ServerKey::Drain => ServerOp::Drain,
            ServerKey::Maint => ServerOp::Maint,
            ServerKey::Ready => ServerOp::Ready,
            ServerKey::Weight => {
                // The weight is typed on the command line: `:weight 50`.
                self.dialog = Some(Dialog::Command(CommandLine { input: "weight ".into(), error: None }));
                return;
            }
        };
        self.server_command(ServerCommand { op, haproxy: None, server: None });
    }

    /// Resolves a server command's target (given, else the selection) and asks for its plan.
    pub(super) fn server_command(&mut self, cmd: ServerCommand) {
        let selected = self.hap.selected_row(&self.data.haproxies);
        let target = match (&cmd.server, &cmd.haproxy) {
            (Some(server), Some(h)) => Some((h.clone(), server.clone())),
            (Some(server), None) => {
                // The selected row's instance if it has that server, else the first that has it.
                let (b, sv) = server.split_once('/').unwrap_or((server.as_str(), ""));
                let has = |i: usize| self.data.haproxies[i].last.as_ref().is_some_and(|st| st.find(b, sv).is_some());
                let i = selected
                    .map(|(i, _)| i)
                    .filter(|i| has(*i))
                    .or_else(|| (0..self.data.haproxies.len()).find(|i| has(*i)))
                    .unwrap_or(0);
                self.data.haproxies.get(i).map(|t| (t.name.clone(), server.clone()))
            }
            (None, h) => match selected {
                Some((i, row)) if row.kind() == RowKind::Server => {
                    let name = self.data.haproxies[i].name.clone();
                    if h.as_ref().is_some_and(|h| *h != name) {
                        self.message =
                            Some(format!("the selected server is on {name}, not {}", h.as_deref().unwrap_or("")));
                        return;
                    }
                    Some((name, row.id()))
                }
                Some((_, row)) => {
                    self.message = Some(format!(
                        "{} is a {} aggregate: select one of its servers (j/k) for {}",
                        row.proxy,
                        if row.kind() == RowKind::Frontend { "frontend" } else { "backend" },
                        cmd.op.name()
                    ));
                    return;
                }
                None => None,
            },
        };
        let Some((haproxy, server)) = target else {
            self.message = Some(format!("{}: no HAProxy server selected (the HAProxy pane is empty)", cmd.op.name()));
            return;
        };
        self.request_step(StepAction::HaproxyServer { haproxy: haproxy.clone(), server, op: cmd.op }, haproxy);
    }
}
