//! What each pane is drawn from, as one number ([`of`]): the pane cache copies a pane whose
//! number did not change. Panes whose data changes with every poll (HAProxy, Apache, probes) are
//! keyed on their samples' identity (how many polls each target had), so only key presses
//! between polls reuse them; the ring and the slow-query panes, still at rest, are keyed on the
//! content they show, so that a poll that changed nothing they show does not rebuild them.
//!
//! Time enters only where the pane shows it: a target's health, and how old its data is once it
//! is not up (as printed, tenths of a second below ten seconds).

use std::fmt::Write as _;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use ratatui::layout::Rect;

use super::panes::Ctx;
use crate::app::action::Pane;
use crate::app::collected::{Health, Target};

/// Feeds `Debug` output into a hasher without building the string.
struct Feed<'a>(&'a mut DefaultHasher);

impl std::fmt::Write for Feed<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.write(s.as_bytes());
        Ok(())
    }
}

/// Hashes every field `Debug` prints of `v` (so a field added later is in the key too).
fn debug(h: &mut DefaultHasher, v: &impl std::fmt::Debug) {
    // Writing into a hasher cannot fail.
    let _ = write!(Feed(h), "{v:?}");
}

/// A target's health and, once it is not up, its age as shown; which poll it is at too
/// when the pane shows its samples as they are.
fn target<T>(h: &mut DefaultHasher, t: &Target<T>, ctx: &Ctx, stale: Duration, with_sample: bool) {
    let health = t.health(ctx.now, stale);
    health.hash(h);
    if health != Health::Up {
        // As the panes print it (`1.3s`, `2m05s`), so that a key changes when the text does.
        t.age(ctx.now).map(crate::fmt::duration).hash(h);
    }
    if with_sample {
        t.polls.hash(h);
    }
    t.error.hash(h);
}

/// The fingerprint of `pane` drawn on `area` (its border included) from `ctx`.
pub fn of(pane: Pane, area: Rect, ctx: &Ctx) -> u64 {
    let mut h = DefaultHasher::new();
    let app = ctx.app;
    let data = &app.data;
    let stale = data.stale_after();
    // A pane reads whether it is focused, not which other pane is: moving the focus between two
    // others leaves it kept.
    (pane.index(), area, ctx.focused, ctx.selected, app.zoom).hash(&mut h);
    let zoomed = app.zoom && ctx.focused;
    match pane {
        Pane::Ring => {
            for (i, n) in data.nodes.iter().enumerate() {
                // Zoomed, the detail shows the counters (uptime, threads): every sample counts.
                target(&mut h, n, ctx, stale, zoomed);
                n.name.hash(&mut h);
                data.out_of_pool(i).hash(&mut h);
                // The lag history as drawn: the table's column, or the zoomed detail's line.
                let shown = if zoomed { area.width as usize } else { super::panes::ring::HISTORY_COLUMN };
                data.node_lag[i].tail(shown).for_each(|v| v.map(f64::to_bits).hash(&mut h));
            }
            // The ring model: built from the nodes' replication, their health and a stale one's
            // age (both in `target` above), and the forks.
            data.ring_version().hash(&mut h);
        }
        Pane::Haproxy => {
            data.haproxies.iter().for_each(|t| target(&mut h, t, ctx, stale, true));
            debug(&mut h, &app.hap);
        }
        Pane::Apache => data.apaches.iter().for_each(|a| target(&mut h, &a.target, ctx, stale, true)),
        Pane::Probes => {
            data.probes.iter().for_each(|p| target(&mut h, &p.target, ctx, stale, true));
            if zoomed {
                // The last retry is told as "… ago".
                ctx.now.hash(&mut h);
            }
        }
        Pane::Queries => {
            // The statements come from every node's latest sample: while any is shown, each new
            // sample counts; with none (a quiet ring), only the connection counts shown above.
            let statements = zoomed || crate::app::queryview::any_visible(&data.nodes, &app.queries);
            for n in &data.nodes {
                target(&mut h, n, ctx, stale, statements);
                n.name.hash(&mut h);
                // The pressure line: connected / max, running (or `-` before a sample).
                let pressure = n.last.as_ref().map(|st| &st.counters).map(|c| (c.threads_connected, c.threads_running));
                (pressure, n.last.as_ref().map(|st| st.vars.max_connections)).hash(&mut h);
            }
            debug(&mut h, &app.queries);
        }
    }
    h.finish()
}
