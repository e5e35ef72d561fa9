//! `policyctl run --attach-only` on this machine's kernel, as root: the policies are loaded and
//! attached, each hook said, everything detached, and the exit code says whether all attached;
//! a hook that cannot attach is named with the kernel's error while the other files stay
//! attached; and nothing acts while attached: a Sigkill policy on a binary the test copied
//! into its own directory kills none of the copies the test runs meanwhile.
//!
//! Needs root, BTF and tracefs (mounted when missing), else `SKIPPED` (a failure when `CI` is
//! set).

#[path = "support/run.rs"]
mod run;
#[path = "support/skip.rs"]
mod skip;

use std::process::{Command, Stdio};

use run::TempDir;

/// Sigkill on every openat of `binary` (the syscall's own tracepoint, which this host has).
fn kill_on_open(binary: &str) -> String {
    format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "kill-on-open"
spec:
  tracepoints:
  - subsystem: "syscalls"
    event: "sys_enter_openat"
    args:
    - index: 5
      type: "int"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "{binary}"
      matchActions:
      - action: Sigkill
"#
    )
}

/// A uprobe on a binary that does not exist.
fn missing_uprobe(path: &str) -> String {
    format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "missing-binary"
spec:
  uprobes:
  - path: "{path}"
    symbols:
    - "main"
"#
    )
}

#[test]
fn attach_only_attaches_says_detaches_and_never_acts() {
    if !run::ready("attach_only_attaches_says_detaches_and_never_acts") {
        return;
    }
    let dir = TempDir::new("attach_only");
    let cat = dir.copy_binary("/usr/bin/cat", "cat");
    let kill = dir.write("kill.yaml", &kill_on_open(&cat));
    let missing_path = dir.join("no-such-binary");
    let missing = dir.write("missing.yaml", &missing_uprobe(&missing_path));
    let stop = dir.join("stop");
    // the copied cat, in a loop while the run is attached: a Sigkill that acted would kill it
    let loop_ = Command::new("sh")
        .args([
            "-c",
            r#"while [ ! -e "$1" ]; do "$2" /etc/hostname >/dev/null 2>&1; rc=$?; [ $rc -eq 0 ] || echo "cat exited $rc"; done"#,
            "sh",
            &stop,
            &cat,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = Command::new(run::policyctl())
        .args(["run", "--attach-only", &kill, &missing])
        .output()
        .unwrap();
    std::fs::write(&stop, "").unwrap();
    let looped = loop_.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let all = format!("{stdout}{stderr}");
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        stdout.contains(&format!("attached  {kill}: policy `kill-on-open`\n          tracepoint `syscalls/sys_enter_openat` with tracepoint\n")),
        "{all}"
    );
    // the kernel's own error, from the hook tried alone (which finds its program copy
    // unloaded again after the file's failed attach, not "already loaded")
    assert!(
        stdout.lines().any(|l| l.starts_with(&format!(
            "failed    {missing}: policy `missing-binary`: cannot attach uprobe `{missing_path}:main`"
        )) && l.ends_with("No such file or directory (os error 2)")),
        "{all}"
    );
    assert!(
        stdout.ends_with("1 of 2 policies attached, 1 failed; everything detached\n"),
        "{all}"
    );
    assert!(!stdout.contains("process_exec"), "no event: {all}");
    assert_eq!(
        String::from_utf8_lossy(&looped.stdout),
        "",
        "the copied cat was stopped while the Sigkill policy was attached: {all}"
    );

    // every policy attaches: exit 0
    let out = Command::new(run::policyctl())
        .args(["run", "--attach-only", &kill])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.ends_with("1 of 1 policy attached, 0 failed; everything detached\n"),
        "{stdout}"
    );

    // a dry run loads nothing: the two do not go together
    let out = Command::new(run::policyctl())
        .args(["run", "--attach-only", "--dry-run", &kill])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--dry-run"));
}
