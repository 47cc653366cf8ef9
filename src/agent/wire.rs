//! The words on the wire: HAProxy's agent-check answer line for a verdict, what HAProxy sends
//! (`agent-send "db1\n"` or `"db1 POOL\n"`), and the HTTP requests of `option httpchk`.
//!
//! HAProxy reads one line ended by a newline; words are separated by spaces; `#` starts the
//! description, which HAProxy keeps only beside a health word (`up`/`down`) and cuts at 128 bytes
//! with its own `via agent : down (...)` around it. So a drain is sent as `drain up #why` (the
//! reason stays visible in `show stat`'s `last_agt`), a maintenance hold as `maint down #why`.

use super::policy::{Class, Verdict};

/// The longest reason sent (HAProxy keeps 128 bytes of its own text around it).
const REASON_MAX: usize = 96;

/// A reason on one line, blanks folded, cut at [`REASON_MAX`] bytes on a character boundary.
pub fn one_line(reason: &str) -> String {
    // Folded as every one-line text is (control characters count as blanks here); the cut is
    // by bytes, HAProxy's unit, so it is made below.
    let flat = crate::fmt::one_line(&reason.replace(char::is_control, " "), usize::MAX);
    let flat = flat.as_str();
    if flat.len() <= REASON_MAX {
        return flat.to_string();
    }
    let mut end = REASON_MAX - 3;
    while !flat.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &flat[..end])
}

/// The agent-check answer for a verdict (without the newline).
pub fn agent_line(v: &Verdict, ready: bool) -> String {
    let words = match v.class {
        Class::Up if ready => format!("up ready {}%", v.weight),
        Class::Up => format!("up {}%", v.weight),
        Class::Drain => "drain up".to_string(),
        Class::Down => "down".to_string(),
        Class::Maint => "maint down".to_string(),
    };
    let reason = one_line(&v.reason);
    if reason.is_empty() { words } else { format!("{words} #{reason}") }
}

/// What HAProxy asked: a node and, optionally, the pool (backend) it asks for.
pub fn agent_request(text: &str) -> Option<(&str, Option<&str>)> {
    let mut words = text.lines().next()?.split_whitespace();
    let node = words.next()?;
    Some((node, words.next()))
}

/// One HTTP request's method, path and query (`pool=NAME`), from its head.
#[derive(Debug, PartialEq, Eq)]
pub struct HttpRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub pool: Option<&'a str>,
}

pub fn http_request(head: &str) -> Option<HttpRequest<'_>> {
    let mut parts = head.lines().next()?.split_whitespace();
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let pool = query.split('&').find_map(|kv| kv.strip_prefix("pool=")).filter(|p| !p.is_empty());
    Some(HttpRequest { method, path, pool })
}

/// A whole HTTP/1.1 answer that closes the connection.
pub fn http_response(status: u16, content_type: &str, body: &str, head_only: bool) -> String {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Service Unavailable",
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{}",
        body.len(),
        if head_only { "" } else { body }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(class: Class, weight: u8, reason: &str) -> Verdict {
        Verdict { class, weight, reason: reason.into(), kept: false }
    }

    #[test]
    fn lines_as_haproxy_reads_them() {
        assert_eq!(agent_line(&v(Class::Up, 100, ""), false), "up 100%");
        assert_eq!(agent_line(&v(Class::Up, 100, ""), true), "up ready 100%");
        assert_eq!(agent_line(&v(Class::Up, 40, "35 s behind node1"), false), "up 40% #35 s behind node1");
        assert_eq!(
            agent_line(&v(Class::Drain, 100, "SQL stopped  1062\nDuplicate"), false),
            "drain up #SQL stopped 1062 Duplicate"
        );
        assert_eq!(agent_line(&v(Class::Down, 100, "no answer"), false), "down #no answer");
        assert_eq!(
            agent_line(&v(Class::Maint, 100, "ringdeck recovery step 6 of 9"), false),
            "maint down #ringdeck recovery step 6 of 9"
        );
        let long = agent_line(&v(Class::Down, 100, &"é".repeat(200)), false);
        assert!(long.len() <= "down #".len() + REASON_MAX && long.ends_with("..."), "{long}");
    }

    #[test]
    fn requests() {
        assert_eq!(agent_request("db1\n"), Some(("db1", None)));
        assert_eq!(agent_request("db1 mysql_rw\r\n"), Some(("db1", Some("mysql_rw"))));
        assert_eq!(agent_request("\n"), None);
        let r = http_request("GET /node/db1?pool=ro HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(r, HttpRequest { method: "GET", path: "/node/db1", pool: Some("ro") });
        assert_eq!(http_request("GET /health HTTP/1.0\r\n\r\n").unwrap().pool, None);
        assert_eq!(http_request("garbage"), None);
        let resp = http_response(503, "text/plain", "drain\n", false);
        assert!(resp.starts_with("HTTP/1.1 503 Service Unavailable\r\n") && resp.contains("Content-Length: 6\r\n"));
        assert!(resp.ends_with("\r\n\r\ndrain\n"));
    }
}
