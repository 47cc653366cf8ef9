//! `ringdeck inspect --node N [--format text|json]`: what the node's stopped SQL thread failed on,
//! beside every node's row for that key. Reads only. Exit 0 when it could be shown, 1 when the
//! node has nothing to inspect or could not be read, 2 for usage or config errors.

use crate::cli::start::CliError;
use std::path::Path;

/// Output formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// `ringdeck inspect` options (`--config` is the global one).
#[derive(clap::Args, Debug)]
pub struct InspectArgs {
    /// The node whose SQL thread stopped on an error.
    #[arg(long, value_name = "NAME")]
    pub node: String,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs `ringdeck inspect`; returns the exit code.
pub fn run(config_flag: Option<&Path>, args: &InspectArgs) -> i32 {
    let result = (|| {
        let (cfg, logins) = crate::cli::start::load(config_flag, false)?;
        let rt = crate::cli::start::runtime()?;
        rt.block_on(crate::inspect::conflict::inspect(&cfg, &logins, &args.node, cfg.timeout.0))
            .map_err(CliError::failed)
    })();
    match result {
        Ok(i) => {
            match args.format {
                Format::Text => print!("{}", crate::inspect::render::text(&i)),
                Format::Json => print!("{}", crate::inspect::render::json(&i)),
            }
            0
        }
        Err(CliError { code, message: e }) => {
            eprintln!("ringdeck inspect: {e}");
            code
        }
    }
}

/// `ringdeck resolve` options.
#[derive(clap::Args, Debug)]
pub struct ResolveArgs {
    /// The node whose SQL thread stopped on the conflict.
    #[arg(long, value_name = "NAME")]
    pub node: String,
    /// Which version wins: event, local, both (1062: the local row moves to a new key), delete
    /// (1032: skip the event, delete the row everywhere).
    #[arg(long, value_enum)]
    pub keep: crate::inspect::resolve::Keep,
    /// Run it (without it: print the plan and change nothing).
    #[arg(long)]
    pub yes: bool,
}

/// Runs `ringdeck resolve`: the inspection, the plan, and with `--yes` the resolution. Exit 0
/// when it ran and the key is equal with every link running (or, without `--yes`, when it could
/// run); 1 refused or failed; 2 usage or config errors; 3 read-only.
pub fn resolve(config_flag: Option<&Path>, read_only_flag: bool, args: &ResolveArgs) -> i32 {
    let result = (|| {
        let (cfg, logins) = crate::cli::start::load(config_flag, read_only_flag)?;
        let rt = crate::cli::start::runtime()?;
        let ins = rt
            .block_on(crate::inspect::conflict::inspect(&cfg, &logins, &args.node, cfg.timeout.0))
            .map_err(CliError::failed)?;
        print!("{}", crate::inspect::render::text(&ins));
        let res =
            rt.block_on(crate::inspect::resolve::prepare(&cfg, &logins, &ins, args.keep)).map_err(CliError::failed)?;
        println!();
        for l in res.lines() {
            println!("{l}");
        }
        for w in &res.warnings {
            println!("WARNING: {w}");
        }
        for r in &res.refusals {
            println!("REFUSED: {r}");
        }
        if !args.yes {
            let could = if res.refusals.is_empty() { "add --yes to run it" } else { "it would be refused" };
            println!("dry run: nothing was changed; {could}");
            return Ok(if res.refusals.is_empty() { 0 } else { 1 });
        }
        if let Some(by) = crate::runbook::ReadOnlyBy::of(read_only_flag, cfg.read_only) {
            return Err(crate::runbook::ReadOnly::new("the resolution", by).into());
        }
        if !res.refusals.is_empty() {
            return Err(CliError::failed("refused: nothing was changed"));
        }
        let cfg = std::sync::Arc::new(cfg);
        let ctx = crate::runbook::EngineCtx::new(cfg.clone(), std::sync::Arc::new(logins)).map_err(CliError::usage)?;
        let o = rt.block_on(async {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
            let print = async move {
                while let Some(l) = rx.recv().await {
                    println!("{l}");
                }
            };
            let (o, ()) = tokio::join!(crate::inspect::resolve::apply(&res, &ctx, Some(tx)), print);
            o
        });
        if o.ok {
            println!("OK: {}", o.summary);
            Ok(0)
        } else {
            Err(CliError::failed(o.summary))
        }
    })();
    crate::cli::start::finish("resolve", result)
}
