//! Human durations in config files: `"500ms"`, `"1s"`, `"1.5s"`, `"2m"`, or a bare number of seconds.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A duration read from the config; displays and serializes back in the same notation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interval(pub Duration);

impl Interval {
    pub const fn from_millis(ms: u64) -> Self {
        Self(Duration::from_millis(ms))
    }
}

/// Parses `"250ms"`, `"2s"`, `"1.5s"`, `"3m"`; a bare number means seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (num, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (t[..i].trim(), t[i..].trim()),
        None => (t, "s"),
    };
    let value: f64 =
        num.parse().map_err(|_| format!("bad duration {text:?}: expected e.g. \"500ms\", \"1s\", \"2m\""))?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!("bad duration {text:?}: unknown unit {other:?} (use ms, s, m or h)"));
        }
    };
    if !secs.is_finite() || secs <= 0.0 || secs > 86_400.0 {
        return Err(format!("bad duration {text:?}: must be above 0 and at most 24h"));
    }
    Ok(Duration::from_secs_f64(secs))
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms.is_multiple_of(1000) { write!(f, "{}s", ms / 1000) } else { write!(f, "{ms}ms") }
    }
}

impl Serialize for Interval {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Interval;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"500ms\" or \"1s\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Interval, E> {
                parse_duration(v).map(Interval).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Interval, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Interval, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Interval, E> {
                self.visit_str(&v.to_string())
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
    }

    #[test]
    fn rejects_nonsense() {
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5 parsecs").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn displays_round_trip() {
        assert_eq!(Interval::from_millis(1000).to_string(), "1s");
        assert_eq!(Interval::from_millis(250).to_string(), "250ms");
    }
}
