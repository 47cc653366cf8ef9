//! The response-time pane: per probe a sparkline that fits the width (failures as marks, never
//! zeros) with last, min, avg, p95, max (as the width allows) and failures in the window;
//! thresholds (`warn`, `crit`) colour the values. A request sent again on a new connection after
//! its kept-alive one was closed before the answer is no failure: it counts as `↻N` (muted), and
//! zoomed, the latest such retry's reason shows under the probe. Probes come from
//! `Config::effective_probes` (the configured ones, else defaults derived from the config).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::spark::spark;
use super::{Ctx, note};
use crate::fmt;

pub fn draw(f: &mut Frame, area: Rect, ctx: &Ctx) {
    let app = ctx.app;
    let t = ctx.theme;
    if app.data.probes.is_empty() {
        return note(f, area, t, "no probe: no [[probe]], [[apache]] or [[node]] in the config");
    }
    let name_w = app.data.probes.iter().map(|p| p.target.name.chars().count()).max().unwrap_or(4).min(18);
    let wide = area.width >= 60;
    let very_wide = area.width >= 100;
    let stats_w = if very_wide {
        60
    } else if wide {
        36
    } else {
        12
    };
    let retries_in =
        |p: &crate::app::collected::ProbeTarget, w: usize| p.retried.iter().rev().take(w).filter(|r| **r).count();
    let room = (area.width as usize).saturating_sub(name_w + stats_w + 2);
    // Room for ` ↻N` when some probe had a retry in its window.
    let retry_w =
        app.data.probes.iter().map(|p| retries_in(p, room)).filter(|n| *n > 0).map(|n| 2 + n.to_string().len()).max();
    let spark_w = room.saturating_sub(retry_w.unwrap_or(0)).max(4);
    let zoomed = app.zoom && ctx.focused;
    let lines: Vec<Line> = app
        .data
        .probes
        .iter()
        .enumerate()
        .flat_map(|(i, p)| {
            let st = p.series.stats(spark_w);
            let style_for = |ms: Option<f64>| match ms {
                Some(v) if v >= p.crit_ms => t.crit,
                Some(v) if v >= p.warn_ms => t.warn,
                Some(_) => t.ok,
                None => t.crit,
            };
            let last = p.series.last();
            let failed_now = p.target.error.is_some();
            let pts: Vec<Option<f64>> = p.series.tail(spark_w).collect();
            let name_style = if ctx.focused && i == ctx.selected {
                t.selected
            } else if failed_now {
                t.crit
            } else {
                t.label
            };
            let mut spans = vec![Span::styled(format!("{:<name_w$} ", fmt::cut(&p.target.name, name_w)), name_style)];
            spans.push(Span::raw(" ".repeat(spark_w.saturating_sub(pts.len()))));
            spans.extend(spark(&pts, None, t.spark, t.crit));
            let last_text =
                if failed_now { "FAIL".to_string() } else { last.map(fmt::millis).unwrap_or_else(|| "-".into()) };
            spans.push(Span::styled(format!(" {last_text:>7}"), if failed_now { t.crit } else { style_for(last) }));
            if wide {
                let vals = if very_wide {
                    vec![("min", st.min), ("avg", st.avg), ("p95", st.p95), ("max", st.max)]
                } else {
                    vec![("p95", st.p95), ("max", st.max)]
                };
                for (label, v) in vals {
                    spans.push(Span::styled(format!(" {label} "), t.muted));
                    let text = v.map(fmt::millis).unwrap_or_else(|| "-".into());
                    spans.push(Span::styled(format!("{text:>7}"), if v.is_some() { style_for(v) } else { t.muted }));
                }
            }
            if st.gaps > 0 {
                spans.push(Span::styled(format!(" ✗{}", st.gaps), t.crit));
            }
            let retries = retries_in(p, spark_w);
            if retries > 0 {
                spans.push(Span::styled(format!(" ↻{retries}"), t.muted));
            }
            let mut out = vec![Line::from(spans)];
            if let (true, Some((at, why))) = (zoomed, &p.last_retry) {
                out.push(Line::from(Span::styled(
                    format!(
                        "{:name_w$}  ↻ {} ago: {why}; sent again on a new connection, not a failure",
                        "",
                        fmt::duration(ctx.now.saturating_duration_since(*at))
                    ),
                    t.muted,
                )));
            }
            out
        })
        .collect();
    f.render_widget(Paragraph::new(lines), area);
}
