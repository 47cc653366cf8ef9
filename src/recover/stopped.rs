//! Proof that a server is stopped, read on its host over SSH. A failed SQL connect proves
//! nothing: a stop command may return before mysqld exits, and a live server may refuse logins
//! (1040 too many connections, a changed password). Before the wizard copies or replaces a data
//! directory it wants one of these on the host itself:
//!
//! - no process has a file under the data directory open, nor runs in it (every process's
//!   `/proc/PID/fd` and `cwd` read, none unreadable), or
//! - the pid in the server's pid file is gone (no such process, or not a mysqld/mariadbd) and
//!   its socket file is gone too (a server that stopped removes it).
//!
//! A process seen holding a file, or the pid file's mysqld alive, is proof it runs. Anything
//! else (other users' processes unreadable and no pid file to go by) is not proof either way:
//! the step waits until its deadline, then refuses with what it saw.
//!
//! The check is one `sh -c` script (a constant; the paths are its positional arguments) using
//! find's `-lname` on `/proc`, so it costs one process however many files are open.

use crate::ssh;

/// What the host says about a data directory's server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Proof {
    Stopped(String),
    Running(String),
    Unknown(String),
}

impl Proof {
    pub fn evidence(&self) -> &str {
        match self {
            Proof::Stopped(e) | Proof::Running(e) | Proof::Unknown(e) => e,
        }
    }
}

const SCRIPT: &str = r#"d=${1%/}; pidf=$2; sock=$3
case "$d" in /*) ;; *) echo "unknown: the data directory '$d' is not an absolute path"; exit 0 ;; esac
[ -d "$d" ] || { echo "unknown: no directory $d on this host"; exit 0; }
# find -lname takes a pattern: the directory's own wildcard characters are escaped.
pd=$(printf '%s\n' "$d" | sed 's/[][*?\\]/\\&/g')
scan=$(find /proc/[0-9]*/cwd /proc/[0-9]*/fd -maxdepth 1 \( -lname "$pd" -o -lname "$pd/*" \) -printf 'OPEN %p %l\n' 2>&1)
denied=$(printf '%s\n' "$scan" | grep 'Permission denied' | grep -o '/proc/[0-9]*' | sort -u | wc -l)
procs=$(ls -d /proc/[0-9]* | wc -l)
holders=$(printf '%s\n' "$scan" | awk '$1 == "OPEN" { split($2, p, "/"); if (!(p[3] in seen)) { seen[p[3]] = 1; n++; if (n <= 3) { f = $3; for (i = 4; i <= NF; i++) f = f " " $i; printf "%s%s", (n > 1 ? "; " : ""), "pid " p[3] (p[4] == "cwd" ? " runs in " f : " has " f " open") } } } END { if (n > 3) printf "; and %d more processes", n - 3 }')
if [ -n "$holders" ]; then
  first=$(printf '%s\n' "$scan" | awk '$1 == "OPEN" { split($2, p, "/"); print p[3]; exit }')
  echo "running: $holders ($(cat /proc/$first/comm 2>/dev/null || echo '?'))"; exit 0
fi
pidnote=""; gone=no
if [ -n "$pidf" ]; then
  if [ -e "$pidf" ]; then
    pid=$(tr -dc 0-9 < "$pidf" 2>/dev/null)
    comm=$(cat "/proc/$pid/comm" 2>/dev/null)
    case "$comm" in
      *mysqld*|*mariadbd*) echo "running: pid $pid ($comm) from $pidf is alive"; exit 0 ;;
      '') pidnote="pid ${pid:-?} from $pidf is gone"; gone=yes ;;
      *) pidnote="pid $pid from $pidf is now $comm, not a server"; gone=yes ;;
    esac
  else
    pidnote="the pid file $pidf is gone"; gone=yes
  fi
fi
socknote=""; sockgone=unknown
if [ -n "$sock" ]; then
  if [ -S "$sock" ]; then socknote="the socket $sock is still there"; sockgone=no; else socknote="the socket $sock is gone"; sockgone=yes; fi
fi
if [ "$denied" -eq 0 ]; then
  echo "stopped: no process has a file under $d open ($procs processes read)${pidnote:+; $pidnote}${socknote:+; $socknote}"
elif [ "$gone" = yes ] && [ "$sockgone" = yes ]; then
  echo "stopped: $pidnote; $socknote ($denied of $procs processes not readable by this user)"
else
  echo "unknown: $denied of $procs processes are not readable by this user${pidnote:+; $pidnote}${socknote:+; $socknote}"
fi"#;

/// The command that prints the proof for `datadir` (with the server's `@@pid_file` and
/// `@@socket` when known; empty strings when not).
pub fn argv(datadir: &str, pid_file: &str, socket: &str) -> Vec<String> {
    ["sh", "-c", SCRIPT, "sh", datadir, pid_file, socket].iter().map(|s| s.to_string()).collect()
}

/// Reads the script's one line.
pub fn parse(out: &str) -> Proof {
    let line = out.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    match line.split_once(": ") {
        Some(("stopped", e)) => Proof::Stopped(e.to_string()),
        Some(("running", e)) => Proof::Running(e.to_string()),
        Some(("unknown", e)) => Proof::Unknown(e.to_string()),
        _ => Proof::Unknown(format!("the check printed {:?}", ssh::shorten(line, 120))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Runs the script here, as the SSH session would run it on a node's host.
    fn prove(datadir: &str, pid_file: &str, socket: &str) -> Proof {
        let a = argv(datadir, pid_file, socket);
        let out = Command::new(&a[0]).args(&a[1..]).output().expect("sh runs");
        parse(&String::from_utf8_lossy(&out.stdout))
    }

    #[test]
    fn a_process_with_a_file_open_or_running_in_the_directory_is_running() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("da[ta] *dir");
        std::fs::create_dir(&data).unwrap();
        let d = data.to_str().unwrap();
        assert!(matches!(prove(d, "", ""), Proof::Stopped(_) | Proof::Unknown(_)));
        // A process holding a file of it open (as mysqld holds ibdata1).
        let file = data.join("ibdata1");
        std::fs::write(&file, b"x").unwrap();
        let mut holder = Command::new("sh")
            .args(["-c", "exec 3<\"$1\"; exec sleep 30", "sh", file.to_str().unwrap()])
            .spawn()
            .expect("spawn");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let proof = loop {
            let p = prove(d, "", "");
            if matches!(p, Proof::Running(_)) || std::time::Instant::now() > deadline {
                break p;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let _ = holder.kill();
        let _ = holder.wait();
        let Proof::Running(e) = &proof else { panic!("{proof:?}") };
        assert!(e.contains(&format!("pid {}", holder.id())) && e.contains("ibdata1"), "{e}");
        // A process whose working directory it is.
        let mut inside = Command::new("sleep").arg("30").current_dir(&data).spawn().expect("spawn");
        let proof = prove(d, "", "");
        let _ = inside.kill();
        let _ = inside.wait();
        assert!(matches!(&proof, Proof::Running(e) if e.contains(&format!("pid {}", inside.id()))), "{proof:?}");
    }

    #[test]
    fn a_live_pid_file_server_is_running_and_a_dead_one_with_its_socket_gone_is_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let pid_file = dir.path().join("other/node.pid");
        std::fs::create_dir(dir.path().join("other")).unwrap();
        // A pid file naming a process that is not a server: gone as far as the server goes.
        std::fs::write(&pid_file, format!("{}\n", std::process::id())).unwrap();
        let p = prove(d, pid_file.to_str().unwrap(), "/nonexistent/node.sock");
        match &p {
            Proof::Stopped(e) => assert!(e.contains("not a server") && e.contains("socket"), "{e}"),
            Proof::Unknown(e) => assert!(e.contains("not a server"), "{e}"),
            Proof::Running(e) => panic!("{e}"),
        }
        std::fs::remove_file(&pid_file).unwrap();
        let p = prove(d, pid_file.to_str().unwrap(), "/nonexistent/node.sock");
        assert!(p.evidence().contains("pid file") && p.evidence().contains("is gone"), "{p:?}");
        assert!(matches!(prove("relative/dir", "", ""), Proof::Unknown(_)));
        assert!(matches!(prove("/nonexistent/ringdeck-datadir", "", ""), Proof::Unknown(_)));
    }

    #[test]
    fn odd_output_is_no_proof() {
        assert_eq!(parse("stopped: x\n"), Proof::Stopped("x".into()));
        assert!(matches!(parse("sh: find: not found"), Proof::Unknown(e) if e.contains("find: not found")));
        assert!(matches!(parse(""), Proof::Unknown(_)));
    }

    #[test]
    fn paths_are_arguments_never_script_text() {
        let evil = "/tmp/x'; rm -rf / #";
        let a = argv(evil, evil, evil);
        assert!(!a[2].contains(evil));
        assert_eq!(a.iter().filter(|x| *x == evil).count(), 3);
    }
}
