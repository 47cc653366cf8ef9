//! Statement text for the screen and the audit log: secrets masked (the string after
//! `IDENTIFIED BY`, `PASSWORD(`, `PASSWORD =`, `MASTER_PASSWORD =`, ... becomes `'***'`), so a
//! `CREATE USER` or `CHANGE MASTER` caught in the process list never shows its password. Pure.

/// The statement with every password literal replaced by `'***'`.
pub fn mask_secrets(sql: &str) -> String {
    let upper = sql.to_ascii_uppercase();
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Byte-wise: ASCII upper-casing keeps every byte where it was.
        let key_len = ["IDENTIFIED BY", "PASSWORD"]
            .iter()
            .find(|k| upper.as_bytes()[i..].starts_with(k.as_bytes()))
            .map(|k| k.len());
        let Some(len) = key_len else {
            i += 1;
            continue;
        };
        let mut j = i + len;
        while j < bytes.len() && matches!(bytes[j], b' ' | b'\t' | b'\n' | b'\r' | b'=' | b'(') {
            j += 1;
        }
        let quote = match bytes.get(j) {
            Some(q @ (b'\'' | b'"')) => *q,
            _ => {
                i += len;
                continue;
            }
        };
        // The end of the literal: a quote not doubled and not escaped; unterminated runs to the end.
        let mut k = j + 1;
        while k < bytes.len() {
            if bytes[k] == b'\\' {
                k += 2;
                continue;
            }
            if bytes[k] == quote {
                if bytes.get(k + 1) == Some(&quote) {
                    k += 2;
                    continue;
                }
                break;
            }
            k += 1;
        }
        out.push_str(&sql[copied..j]);
        out.push_str("'***'");
        copied = (k + 1).min(bytes.len());
        i = copied;
    }
    out.push_str(&sql[copied.min(sql.len())..]);
    out
}

/// Whitespace collapsed to single spaces and secrets masked, cut to `max` characters with `…`.
pub fn normalise(s: &str, max: usize) -> String {
    let one: String = mask_secrets(s).split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= max {
        return one;
    }
    let mut cut: String = one.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Whether a statement is one EXPLAIN may be run on (a SELECT, nothing after it).
pub fn explainable(sql: &str) -> bool {
    let s = sql.trim_start();
    s.get(..6).is_some_and(|w| w.eq_ignore_ascii_case("select")) && !s.trim_end().trim_end_matches(';').contains(';')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        assert_eq!(
            mask_secrets("CREATE USER 'a'@'%' IDENTIFIED BY 's3cr''et'"),
            "CREATE USER 'a'@'%' IDENTIFIED BY '***'"
        );
        assert_eq!(mask_secrets("SET PASSWORD FOR x = PASSWORD(\"p\\\"w\")"), "SET PASSWORD FOR x = PASSWORD('***')");
        assert_eq!(
            mask_secrets("CHANGE MASTER TO MASTER_HOST='h', master_password = 'pw', MASTER_PORT=1"),
            "CHANGE MASTER TO MASTER_HOST='h', master_password = '***', MASTER_PORT=1"
        );
        assert_eq!(mask_secrets("SELECT password FROM users"), "SELECT password FROM users");
        assert_eq!(mask_secrets("ALTER USER u IDENTIFIED BY 'unterminated"), "ALTER USER u IDENTIFIED BY '***'");
        assert_eq!(mask_secrets("SELECT 'é' , PASSWORD"), "SELECT 'é' , PASSWORD");
        assert_eq!(mask_secrets(""), "");
        assert_eq!(mask_secrets("é PASSWORD='ü' ö"), "é PASSWORD='***' ö");
        for odd in ["PASSWORD '\\", "PASSWORD", "IDENTIFIED BY", "PASSWORD(((", "password=\"", "ßPASSWORD'"] {
            let _ = mask_secrets(odd); // never panics on truncated or odd input
        }
    }

    #[test]
    fn normalise_collapses_masks_and_cuts() {
        assert_eq!(normalise("  a\n\tb   c ", 10), "a b c");
        assert_eq!(normalise("abcdefghijkl", 5), "abcd…");
        assert_eq!(
            normalise("GRANT ALL ON *.* TO u IDENTIFIED BY 'x'", 80),
            "GRANT ALL ON *.* TO u IDENTIFIED BY '***'"
        );
    }
}
