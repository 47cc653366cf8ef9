//! The drill-in of the zoomed HAProxy pane: every field of the selected frontend, backend or
//! server (check with its text, sessions, queue, timings, HTTP codes, errors, retries, aborts) and
//! the keys that act on it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::super::Ctx;
use super::{queue_cell, status_style};
use crate::fmt;
use crate::model::haproxy::{RowKind, StatRow};

fn opt(v: Option<u64>) -> String {
    v.map_or("-".to_string(), |v| v.to_string())
}

fn ms(v: Option<u64>) -> String {
    v.map_or("-".to_string(), |v| format!("{v}ms"))
}

fn secs(v: Option<u64>) -> String {
    v.map_or("-".to_string(), |v| fmt::seconds(v as f64))
}

/// The lines describing `r` (of instance `instance`).
// Long on purpose: one table of a server's fields in the order they are shown.
pub fn lines(r: &StatRow, instance: &str, ctx: &Ctx) -> Vec<Line<'static>> {
    let t = ctx.theme;
    let label = |s: &str| Span::styled(format!("{s:<9}"), t.label);
    let kind = match r.kind() {
        RowKind::Frontend => "frontend",
        RowKind::Backend => "backend",
        RowKind::Listener => "listener",
        RowKind::Server if r.backup => "backup server",
        RowKind::Server => "server",
    };
    let mut head = vec![
        Span::styled(format!("{} ", if r.kind() == RowKind::Server { r.id() } else { r.proxy.to_string() }), t.title),
        Span::styled(r.status.clone(), status_style(r.class(), t)),
        Span::styled(format!("  {kind} on {instance}"), t.muted),
    ];
    for (k, v) in [("addr", &r.addr), ("mode", &r.mode), ("balance", &r.algo)] {
        if !v.is_empty() {
            head.push(Span::styled(format!("  {k} {v}"), t.muted));
        }
    }
    let mut out = vec![Line::from(head)];
    if r.kind() == RowKind::Server {
        let check = if r.check_status.is_empty() {
            "no health check".to_string()
        } else {
            let mut s = format!("{} in {}", r.check_status, ms(r.check_duration));
            if let Some(c) = r.check_code {
                s.push_str(&format!(" (code {c})"));
            }
            for extra in [&r.check_desc, &r.last_chk] {
                if !extra.is_empty() {
                    s.push_str(&format!(": {extra}"));
                }
            }
            s
        };
        let style = if r.check_status.contains("OK") || r.check_status.is_empty() { t.muted } else { t.crit };
        out.push(Line::from(vec![label("check"), Span::styled(check, style)]));
        if !r.agent_status.is_empty() {
            let st = if r.status.contains("(agent)") { t.warn } else { t.muted };
            out.push(Line::from(vec![
                label("agent"),
                Span::styled(format!("{}: {}", r.agent_status, r.agent_text()), st),
            ]));
        }
        out.push(Line::from(vec![
            label("state"),
            Span::raw(format!(
                "weight {} (set {}), {} failed checks, down {} times, last change {} ago, down {} in total",
                opt(r.weight),
                opt(r.uweight),
                r.chkfail,
                r.chkdown,
                secs(r.lastchg),
                secs(r.downtime)
            )),
        ]));
    } else if r.kind() == RowKind::Backend {
        out.push(Line::from(vec![
            label("servers"),
            Span::raw(format!(
                "{} active, {} backup, total weight {}, last change {} ago, down {} in total",
                opt(r.act),
                opt(r.bck),
                opt(r.weight),
                secs(r.lastchg),
                secs(r.downtime)
            )),
        ]));
    }
    out.push(Line::from(vec![
        label("sessions"),
        Span::raw(format!(
            "{} now, max {}, limit {}, total {}, rate {}/s (max {}){}",
            r.scur,
            r.smax,
            opt(r.slim),
            r.stot,
            r.rate,
            r.rate_max,
            match r.lastsess {
                Some(s) if r.kind() != RowKind::Frontend => format!(", last {} ago", fmt::seconds(s as f64)),
                _ => String::new(),
            }
        )),
    ]));
    if r.kind() != RowKind::Frontend {
        out.push(Line::from(vec![
            label("queue"),
            queue_cell(r, t),
            Span::raw(format!(
                " now/max, limit {}; average ms over the last 1024: queue {}, connect {}, response {}, total {}",
                opt(r.qlimit),
                opt(r.qtime),
                opt(r.ctime),
                opt(r.rtime),
                opt(r.ttime)
            )),
        ]));
    }
    out.push(Line::from(vec![
        label("http"),
        Span::raw(format!("2xx {}, 4xx {}, ", r.hrsp_2xx, r.hrsp_4xx)),
        Span::styled(format!("5xx {}", r.hrsp_5xx), if r.hrsp_5xx > 0 { t.warn } else { t.muted }),
        Span::raw(if r.kind() == RowKind::Frontend { format!(", {} requests/s", r.req_rate) } else { String::new() }),
    ]));
    let errors = if r.kind() == RowKind::Frontend {
        format!("request errors {}", r.ereq)
    } else {
        format!(
            "connection {}, response {}, retries {}, redispatches {}, client aborts {}, server aborts {}",
            r.econ, r.eresp, r.wretr, r.wredis, r.cli_abrt, r.srv_abrt
        )
    };
    out.push(Line::from(vec![
        label("errors"),
        Span::styled(errors, if r.errors() + r.ereq > 0 { t.warn } else { t.muted }),
    ]));
    if r.kind() == RowKind::Server {
        out.push(Line::from(Span::styled(
            "d drain  m maintenance  r ready  w weight  (each asks first, shows the socket command)",
            t.muted,
        )));
    }
    out
}

pub fn draw(f: &mut Frame, area: Rect, ctx: &Ctx, selected: Option<(usize, &StatRow)>) {
    let t = ctx.theme;
    let block = Block::default().borders(Borders::TOP).border_style(t.border).title(" detail ");
    let lines = match selected {
        Some((i, r)) => lines(r, &ctx.app.data.haproxies[i].name, ctx),
        None => vec![Line::from(Span::styled("no row selected", t.muted))],
    };
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block), area);
}
