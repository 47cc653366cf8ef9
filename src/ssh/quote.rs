//! Remote command lines: sshd hands the command string to the remote user's login shell, so an
//! argv is always turned into one string with every argument in POSIX single quotes
//! ([`command_line`]). Nothing is ever pasted unquoted. The remote login shell must be a POSIX
//! one (sh, dash, bash, ksh, zsh); fish and csh give backslashes or newlines other meanings.

/// Quotes one argument for a POSIX shell: `'...'`, with each `'` written as `'\''`.
///
/// Inside single quotes a POSIX shell gives no character a special meaning (`$`, backticks, `\`,
/// `"`, newlines, globs all stay literal), and the only way out is a `'`, which is closed,
/// escaped and reopened. The empty string becomes `''`, an argument of its own.
pub fn quote(arg: &str) -> String {
    let mut out = String::with_capacity(arg.len() + 2);
    out.push('\'');
    for c in arg.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// The command line for `argv`: every argument quoted with [`quote`], joined by spaces.
///
/// The first element is quoted too, so it is always looked up as a command name and never read as
/// a shell keyword, assignment or redirection. An argument starting with `-` stays an argument:
/// quoting does not (and cannot) stop the remote program from reading it as an option, so pass
/// `--` where a program supports it.
pub fn command_line<S: AsRef<str>>(argv: &[S]) -> String {
    argv.iter().map(|a| quote(a.as_ref())).collect::<Vec<_>>().join(" ")
}

/// Why an argv cannot be sent: empty, or an argument holds a NUL byte (the remote side sees a C
/// string and would cut the command short there).
pub fn check_argv<S: AsRef<str>>(argv: &[S]) -> Result<(), String> {
    if argv.is_empty() {
        return Err("empty command (no argv)".into());
    }
    if let Some(i) = argv.iter().position(|a| a.as_ref().contains('\0')) {
        return Err(format!("argument {i} of the command holds a NUL byte"));
    }
    Ok(())
}

/// `command` shortened to `max` characters for messages (`...` marks the cut).
pub fn shorten(command: &str, max: usize) -> String {
    if command.chars().count() <= max {
        command.to_string()
    } else {
        let mut s: String = command.chars().take(max.saturating_sub(3)).collect();
        s.push_str("...");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// What `sh` makes of a command line: each word it passes to `printf '%s\0'`.
    fn sh_words(line: &str) -> Vec<String> {
        let out = Command::new("sh").arg("-c").arg(format!("printf '%s\\0' {line}")).output().expect("run sh");
        assert!(out.status.success(), "sh failed on {line:?}: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let mut words: Vec<String> = text.split('\0').map(str::to_string).collect();
        // printf ends every word with NUL: the last split is the empty rest.
        assert_eq!(words.pop().as_deref(), Some(""));
        words
    }

    fn round_trip(args: &[&str]) {
        let line = command_line(args);
        assert_eq!(sh_words(&line), args, "line was {line}");
    }

    #[test]
    fn plain_words_are_quoted_too() {
        assert_eq!(quote("uname"), "'uname'");
        assert_eq!(command_line(&["df", "-Pk", "/var/lib/mysql"]), "'df' '-Pk' '/var/lib/mysql'");
    }

    #[test]
    fn spaces() {
        assert_eq!(quote("a b  c"), "'a b  c'");
        round_trip(&["a b", "  leading and trailing  ", "tab\there"]);
    }

    #[test]
    fn single_quotes() {
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote("'"), "''\\'''");
        round_trip(&["it's", "'", "''", "'quoted'", "a'b'c"]);
    }

    #[test]
    fn command_substitution_stays_literal() {
        assert_eq!(quote("$(id)"), "'$(id)'");
        assert_eq!(quote("`id`"), "'`id`'");
        round_trip(&["$(id)", "`id`", "${HOME}", "$HOME", "$(rm -rf /tmp/nothing-here)", "\\$x"]);
    }

    #[test]
    fn shell_operators_stay_literal() {
        round_trip(&[";", "&&", "|", "||", ">", "<", "2>&1", "&", "a;b", "*", "?", "[a]", "~", "#x", "!", "\\"]);
    }

    #[test]
    fn newlines() {
        assert_eq!(quote("a\nb"), "'a\nb'");
        round_trip(&["line1\nline2", "\n", "ends\n", "\r\n"]);
    }

    #[test]
    fn empty_string_is_an_argument() {
        assert_eq!(quote(""), "''");
        assert_eq!(command_line(&["printf", "%s|", "", "x"]), "'printf' '%s|' '' 'x'");
        round_trip(&["", "x", ""]);
    }

    #[test]
    fn leading_dash() {
        assert_eq!(quote("-rf"), "'-rf'");
        assert_eq!(quote("--"), "'--'");
        round_trip(&["-n", "-e", "--", "-"]);
    }

    #[test]
    fn unicode() {
        round_trip(&["données", "日本", "é'ü"]);
    }

    #[test]
    fn argv_checks() {
        assert!(check_argv::<&str>(&[]).is_err());
        assert!(check_argv(&["a", "b\0c"]).unwrap_err().contains("argument 1"));
        assert!(check_argv(&["a", ""]).is_ok());
    }

    #[test]
    fn shorten_cuts_long_commands() {
        assert_eq!(shorten("abc", 10), "abc");
        assert_eq!(shorten("abcdefghijkl", 8), "abcde...");
    }
}
