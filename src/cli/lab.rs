//! `ringdeck lab ...`: the practice lab's subcommands, and `lab open`, which opens the console on it.

use color_eyre::eyre::Result;

use crate::lab::spec::{Spec, resolve_dir};
use crate::lab::{BreakCommand, DirArgs, LabCommand, breaks, load, status, updown};

fn spec_of(dir: &DirArgs) -> Result<Spec> {
    Spec::require(&resolve_dir(dir.dir.as_deref())?)
}

pub fn run(cmd: &LabCommand) -> Result<()> {
    match cmd {
        LabCommand::Up(args) => updown::up(args),
        LabCommand::Down(args) => updown::down(&resolve_dir(args.dir.dir.as_deref())?, args.purge),
        LabCommand::Status(dir) => status::print(&spec_of(dir)?),
        LabCommand::Open(dir) => {
            let path = spec_of(dir)?.dir.join("ringdeck.toml");
            let cfg = crate::config::Config::load(&path).map_err(|e| color_eyre::eyre::eyre!("{e}"))?;
            crate::console::run_console(cfg, &path.display().to_string())
        }
        LabCommand::Break(BreakCommand::Dup { node, dir }) => breaks::dup(&spec_of(dir)?, *node),
        LabCommand::Break(BreakCommand::Unlogged { node, dir }) => breaks::unlogged(&spec_of(dir)?, *node),
        LabCommand::Break(BreakCommand::Missing { node, dir }) => breaks::missing(&spec_of(dir)?, *node),
        LabCommand::Break(BreakCommand::Conflict { nodes, dir }) => match nodes.as_slice() {
            [k, l] => breaks::conflict(&spec_of(dir)?, *k, *l),
            _ => Err(color_eyre::eyre::eyre!("--nodes K,L: two nodes")),
        },
        LabCommand::Break(BreakCommand::Stop { node, web, dir }) => {
            let spec = spec_of(dir)?;
            match (node, web) {
                (Some(k), _) => breaks::stop_node(&spec, *k),
                (None, Some(k)) => breaks::stop_web(&spec, *k),
                // clap requires one of them.
                (None, None) => Ok(()),
            }
        }
        LabCommand::Load(args) => load::run(&spec_of(&args.dir)?, args.seconds),
    }
}
