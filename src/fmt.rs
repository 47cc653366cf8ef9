//! Formatting of durations, ages, sizes and text for the panes: one place, one wording.

use std::time::Duration;

/// `250ms`, `1.5s`, `3s`, `2m05s`, `1h02m`, `3d04h`.
pub fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    seconds(d.as_secs_f64())
}

/// Like [`duration`] for a seconds value that may have a fraction.
pub fn seconds(s: f64) -> String {
    if s < 10.0 && s.fract() > 0.05 {
        return format!("{s:.1}s");
    }
    let s = s as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86400, (s % 86400) / 3600),
    }
}

/// Milliseconds with a sensible precision: `0.42ms`, `3.1ms`, `120ms`, `1.20s`.
pub fn millis(ms: f64) -> String {
    if ms < 1.0 {
        format!("{ms:.2}ms")
    } else if ms < 10.0 {
        format!("{ms:.1}ms")
    } else if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.2}s", ms / 1000.0)
    }
}

/// A byte count in 1024 steps: `512 B`, `3.4 kB`, `12 MB`, `1.1 GB`.
pub fn bytes(b: f64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut v = b.max(0.0);
    let mut i = 0;
    while v >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 || v >= 100.0 { format!("{v:.0} {}", units[i]) } else { format!("{v:.1} {}", units[i]) }
}

/// Whitespace folded to single spaces and cut to `width` characters with an ellipsis.
pub fn one_line(text: &str, width: usize) -> String {
    let folded: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    cut(&folded, width)
}

/// Cut to `width` characters, ending in `…` when cut.
pub fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut s: String = text.chars().take(width - 1).collect();
    s.push('…');
    s
}

/// The (year, month, day) of a day counted from 1970-01-01 (Howard Hinnant's civil_from_days).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// RFC 3339 in UTC with milliseconds: `2026-05-01T10:00:00.123Z`.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    #[test]
    fn rfc3339_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_millis(951_782_400_123)), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(1_798_761_599)), "2026-12-31T23:59:59.000Z");
    }

    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration(Duration::from_millis(250)), "250ms");
        assert_eq!(duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(seconds(125.0), "2m05s");
        assert_eq!(seconds(3720.0), "1h02m");
        assert_eq!(seconds(90000.0), "1d01h");
    }

    #[test]
    fn text() {
        assert_eq!(one_line("SELECT  *\n\tFROM t", 100), "SELECT * FROM t");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(millis(0.5), "0.50ms");
        assert_eq!(millis(1234.0), "1.23s");
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(3481.6), "3.4 kB");
        assert_eq!(bytes(300.0 * 1024.0 * 1024.0), "300 MB");
    }
}
