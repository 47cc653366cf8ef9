//! SQL string literals for the statements a step runs: every name, host, file or GTID that came
//! from a server or the config goes through [`sql_string`], and the replication password is only
//! ever shown as [`PASSWORD_MASK`] and put in by [`unmask_password`] right before execution.

/// What a password looks like in a statement shown to the operator (and in the audit log).
pub const PASSWORD_MASK: &str = "'***'";

/// Quotes `s` as a single-quoted SQL string literal.
///
/// `'` is doubled (a quote in every SQL mode) and `\` is escaped as `\\`, so the literal can never
/// be closed early: with `NO_BACKSLASH_ESCAPES` a backslash would come out doubled (a wrong value,
/// never an injection). NUL, CR, LF and Ctrl-Z are written as their escapes so a statement stays on
/// one line in the confirm dialog and the audit log.
pub fn sql_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{1a}' => out.push_str("\\Z"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Puts the real password into a statement shown with `MASTER_PASSWORD='***'` /
/// `SOURCE_PASSWORD='***'`. Other statements come back unchanged. A quoted host or file can never
/// contain the pattern, because quotes inside literals are doubled.
pub fn unmask_password(statement: &str, password: &str) -> String {
    let mut out = statement.to_string();
    for key in ["MASTER_PASSWORD=", "SOURCE_PASSWORD="] {
        let masked = format!("{key}{PASSWORD_MASK}");
        out = out.replace(&masked, &format!("{key}{}", sql_string(password)));
    }
    out
}

/// Whether a statement carries the masked password.
pub fn has_password(statement: &str) -> bool {
    statement.contains(&format!("_PASSWORD={PASSWORD_MASK}"))
}

/// Removes a secret from a text (a server error may echo part of the statement).
pub fn redact(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        return text.to_string();
    }
    let mut out = text.replace(secret, "***");
    let quoted = sql_string(secret);
    let inner = &quoted[1..quoted.len() - 1];
    if inner != secret {
        out = out.replace(inner, "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_strings() {
        assert_eq!(sql_string("binlog-n1.000005"), "'binlog-n1.000005'");
        assert_eq!(sql_string(""), "''");
        assert_eq!(sql_string("db1.example.com"), "'db1.example.com'");
    }

    #[test]
    fn quotes_and_backslashes_cannot_close_the_literal() {
        assert_eq!(sql_string("it's"), "'it''s'");
        assert_eq!(sql_string("a\\b"), "'a\\\\b'");
        // The classic: a backslash before a quote must not escape our closing quote.
        assert_eq!(sql_string("x\\'; DROP TABLE t; --"), "'x\\\\''; DROP TABLE t; --'");
        assert_eq!(sql_string("\\"), "'\\\\'");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(sql_string("a\nb\rc\0d\u{1a}"), "'a\\nb\\rc\\0d\\Z'");
        assert_eq!(sql_string("zürich"), "'zürich'");
    }

    #[test]
    fn password_is_masked_and_unmasked() {
        let shown = "CHANGE MASTER TO MASTER_HOST='h', MASTER_PASSWORD='***', MASTER_LOG_POS=4";
        assert!(has_password(shown));
        let real = unmask_password(shown, "p'w\\d");
        assert_eq!(real, "CHANGE MASTER TO MASTER_HOST='h', MASTER_PASSWORD='p''w\\\\d', MASTER_LOG_POS=4");
        let src = "CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD='***'";
        assert_eq!(unmask_password(src, "x"), "CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD='x'");
        assert_eq!(unmask_password("START SLAVE", "x"), "START SLAVE");
        // A host that tries to look like the mask stays a host.
        let host = sql_string("MASTER_PASSWORD='***'");
        assert!(!has_password(&format!("CHANGE MASTER TO MASTER_HOST={host}")));
    }

    #[test]
    fn redact_removes_plain_and_quoted_forms() {
        assert_eq!(redact("near 'hunter2' at line 1", "hunter2"), "near '***' at line 1");
        assert_eq!(redact("near 'p''w' at", "p'w"), "near '***' at");
        assert_eq!(redact("no secret", ""), "no secret");
    }
}
