//! `policyctl run` on this machine's kernel, as root: each test writes policies into a temporary
//! directory of its own, starts `policyctl run`, waits until every hook is attached, makes the
//! watched thing happen, stops the run with SIGINT and checks the Tetragon-shaped events (JSON,
//! parsed; one test reads the compact lines) and the clean stop.
//!
//! Covered: the raw syscall tracepoint fallback of `syscall: true` kprobes (hosts without
//! kprobes), tracepoints with args by field index, uprobes, matchBinaries (In, NotIn, Prefix,
//! Postfix) and matchPIDs, the Sigkill and Signal actions, Post's rateLimit, several policies
//! at once, exec and exit events, and the refusals: invalid policies, what the runtime does not
//! support, hooks that cannot attach (all or none), and no privileges.
//!
//! Safety: every enforcing policy (Sigkill, Signal) matches only a binary copied into the test's
//! own temporary directory, so it can only ever kill or signal processes the test started; every
//! Post policy matches only the test's own files or binaries, and assertions filter events by
//! pid or path besides. Nothing is pinned, and a `policyctl run` left running by a panicking
//! test is killed (the kernel then releases all it loaded).
//!
//! These tests need root, BTF and tracefs (mounted here when missing). Without them a test
//! prints `SKIPPED` and passes, unless `CI` is set: then it fails (CI runs them as root).

#[path = "support/run.rs"]
mod run;

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use run::{pid_of, refused, run_child, started, TempDir};
use serde_json::{json, Value};

const CAT: &str = "/usr/bin/cat";

/// A policy on `sys_openat` (`syscall: true`) with (dfd int, filename string, flags int),
/// reporting opens of files under `dir`; `more` adds keys to the selector (indented to line up
/// with `matchArgs`) and `actions` its `matchActions` entries.
fn openat_policy(name: &str, dir: &str, more: &str, actions: &str) -> String {
    let actions = if actions.is_empty() {
        String::new()
    } else {
        format!("      matchActions:\n{actions}")
    };
    format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "{name}"
spec:
  kprobes:
  - call: "sys_openat"
    syscall: true
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "string"
    - index: 2
      type: "int"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "{dir}/"
{more}{actions}"#
    )
}

/// `matchBinaries` with one operator and values, as selector keys for [`openat_policy`].
fn binaries(operator: &str, values: &[&str]) -> String {
    let mut out =
        format!("      matchBinaries:\n      - operator: \"{operator}\"\n        values:\n");
    for v in values {
        out.push_str(&format!("        - \"{v}\"\n"));
    }
    out
}

/// `matchPIDs` with one operator and pids, as selector keys for [`openat_policy`].
fn pids(operator: &str, values: &[u32]) -> String {
    let mut out = format!(
        "      matchPIDs:\n      - operator: \"{operator}\"\n        followForks: false\n        isNamespacePID: false\n        values:\n"
    );
    for v in values {
        out.push_str(&format!("        - {v}\n"));
    }
    out
}

/// The `process_kprobe` events of `pid`.
fn kprobes_of(events: &[Value], pid: u32) -> Vec<Value> {
    events
        .iter()
        .filter(|e| pid_of(e, "process_kprobe") == Some(pid as u64))
        .cloned()
        .collect()
}

/// The string arg (index 1) of a `process_kprobe` event on openat.
fn opened(event: &Value) -> &str {
    event["process_kprobe"]["args"][1]["string_arg"]
        .as_str()
        .unwrap_or("")
}

#[test]
fn syscall_kprobe_falls_back_to_the_raw_syscall_tracepoint() {
    if !run::ready("syscall_kprobe_falls_back_to_the_raw_syscall_tracepoint") {
        return;
    }
    let dir = TempDir::new("rawsys");
    let elsewhere = TempDir::new("rawsys-elsewhere");
    let watched = dir.write("watched.txt", "watched\n");
    let other = elsewhere.write("other.txt", "other\n");
    let policy = dir.write(
        "open.yaml",
        &openat_policy("host-openat", dir.str(), "", ""),
    );

    let running = started(&[policy.as_str(), "-o", "json", "--policy-events-only"]);
    let stderr = running.stderr().join("\n");
    assert!(
        stderr.contains(
            "policyctl run: host-openat: `__x64_sys_openat` attached with raw tracepoint raw_syscalls/sys_enter"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("running 1 policy (1 hook); Ctrl-C stops"),
        "{stderr}"
    );
    // the file elsewhere first: its event, if any, would come before the watched one
    let (status, pid, out) = run_child(CAT, &[&other, &watched]);
    assert!(status.success());
    assert_eq!(out, "other\nwatched\n");
    let events = running.wait_events(1, |e| pid_of(e, "process_kprobe") == Some(pid as u64));
    let f = running.stop();
    let mine = kprobes_of(&f.events(), pid);
    assert_eq!(mine.len(), 1, "one event for the watched file only:\n{f}");
    assert_eq!(mine[0], events[0]);
    let k = &mine[0]["process_kprobe"];
    assert_eq!(k["function_name"], "__x64_sys_openat");
    assert_eq!(k["policy_name"], "host-openat");
    assert_eq!(k["action"], "KPROBE_ACTION_POST");
    assert_eq!(k["process"]["binary"], CAT);
    assert_eq!(k["process"]["pid"], pid);
    assert_eq!(
        k["process"]["arguments"],
        format!("{other} {watched}").as_str()
    );
    assert_eq!(k["args"][0]["int_arg"], -100, "AT_FDCWD");
    assert_eq!(k["args"][1]["string_arg"], watched.as_str());
    assert_eq!(k["args"][2]["int_arg"], 0, "O_RDONLY");
    assert!(mine[0]["node_name"].is_string() && mine[0]["time"].is_string());
    // no event of other processes slipped in: every event is about the test directory
    for e in f.events() {
        assert!(opened(&e).starts_with(dir.str()), "{e}");
    }

    // `--attach kprobe` on a kernel without kprobes: one clear line, nothing attached
    let f = refused(&[policy.as_str(), "--attach", "kprobe"]);
    assert_eq!(f.status.code(), Some(1), "{f}");
    assert!(f.stdout.is_empty(), "{f}");
    let errors: Vec<&String> = f.stderr.iter().filter(|l| !l.contains("note:")).collect();
    assert_eq!(errors.len(), 1, "one error line:\n{f}");
    assert!(
        errors[0].starts_with(&format!("policyctl run: {policy}: policy `host-openat`: "))
            && errors[0].contains("`--attach kprobe`: this kernel has no kprobes"),
        "{f}"
    );
    assert!(!f.stderr_text().contains("attached with"), "{f}");
}

#[test]
fn tracepoint_args_by_field_index() {
    if !run::ready("tracepoint_args_by_field_index") {
        return;
    }
    let format =
        std::fs::read_to_string("/sys/kernel/tracing/events/syscalls/sys_enter_unlinkat/format")
            .expect("syscalls/sys_enter_unlinkat format");
    let fields: Vec<&str> = format
        .lines()
        .filter_map(|l| l.trim().strip_prefix("field:"))
        .map(|d| {
            d.split(';')
                .next()
                .unwrap()
                .rsplit([' ', '*'])
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(fields.get(5), Some(&"dfd"), "{format}");
    assert_eq!(fields.get(6), Some(&"pathname"), "{format}");

    let dir = TempDir::new("tracepoint");
    let suffix = format!("-{}.unlinkme", std::process::id());
    let policy = dir.write(
        "unlinkat.yaml",
        &format!(
            r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "host-unlinkat"
spec:
  tracepoints:
  - subsystem: "syscalls"
    event: "sys_enter_unlinkat"
    args:
    - index: 5
      type: "int"
    - index: 6
      type: "string"
    selectors:
    - matchArgs:
      - index: 6
        operator: "Postfix"
        values:
        - "{suffix}"
"#
        ),
    );
    let kept = dir.write("kept.txt", "");
    let gone = dir.write(&format!("gone{suffix}"), "");

    let running = started(&[policy.as_str(), "--policy-events-only"]);
    assert!(
        running
            .stderr()
            .iter()
            .any(|l| l == "policyctl run: host-unlinkat: tracepoint `syscalls/sys_enter_unlinkat` attached with tracepoint"),
        "{:?}",
        running.stderr()
    );
    let (status, pid, _) = run_child("/usr/bin/rm", &[&kept, &gone]);
    assert!(status.success());
    running.wait_events(1, |e| pid_of(e, "process_tracepoint") == Some(pid as u64));
    let f = running.stop();
    let mine: Vec<Value> = f
        .events()
        .into_iter()
        .filter(|e| pid_of(e, "process_tracepoint") == Some(pid as u64))
        .collect();
    assert_eq!(mine.len(), 1, "only the Postfix match:\n{f}");
    let t = &mine[0]["process_tracepoint"];
    assert_eq!(t["subsys"], "syscalls");
    assert_eq!(t["event"], "sys_enter_unlinkat");
    assert_eq!(t["policy_name"], "host-unlinkat");
    assert_eq!(t["action"], "KPROBE_ACTION_POST");
    assert_eq!(t["process"]["binary"], "/usr/bin/rm");
    assert_eq!(t["args"][0]["int_arg"], -100, "AT_FDCWD:\n{f}");
    assert_eq!(t["args"][1]["string_arg"], gone.as_str());
    assert!(!std::path::Path::new(&gone).exists());
}

const UPROBE_TARGET: &str = r#"
#include <stdio.h>
__attribute__((noinline)) int target_fn(int n, const char *s)
{
    asm volatile("" ::: "memory");
    return printf("%d %s\n", n, s) > 0 ? 0 : 1;
}
int main(void)
{
    return target_fn(42, "hello-uprobe");
}
"#;

#[test]
fn uprobe_reports_int_and_string_args() {
    if !run::ready("uprobe_reports_int_and_string_args") {
        return;
    }
    let dir = TempDir::new("uprobe");
    let Some(bin) = dir.compile_c(
        "uprobe_reports_int_and_string_args",
        "target",
        UPROBE_TARGET,
    ) else {
        return;
    };
    let policy = dir.write(
        "uprobe.yaml",
        &format!(
            r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "host-uprobe"
spec:
  uprobes:
  - path: "{bin}"
    symbols:
    - "target_fn"
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "string"
"#
        ),
    );
    let running = started(&[policy.as_str(), "--policy-events-only"]);
    assert!(
        running.stderr().iter().any(|l| l
            == &format!(
                "policyctl run: host-uprobe: uprobe `{bin}:target_fn` attached with uprobe"
            )),
        "{:?}",
        running.stderr()
    );
    let (status, pid, out) = run_child(&bin, &[]);
    assert!(status.success());
    assert_eq!(out, "42 hello-uprobe\n");
    running.wait_events(1, |e| pid_of(e, "process_uprobe") == Some(pid as u64));
    let f = running.stop();
    let mine: Vec<Value> = f
        .events()
        .into_iter()
        .filter(|e| pid_of(e, "process_uprobe") == Some(pid as u64))
        .collect();
    assert_eq!(mine.len(), 1, "{f}");
    let u = &mine[0]["process_uprobe"];
    assert_eq!(u["path"], bin.as_str());
    assert_eq!(u["symbol"], "target_fn");
    assert_eq!(u["policy_name"], "host-uprobe");
    assert_eq!(u["process"]["binary"], bin.as_str());
    assert_eq!(
        u["args"],
        json!([{"int_arg": 42}, {"string_arg": "hello-uprobe"}]),
        "{f}"
    );
    assert_eq!(u["action"], "KPROBE_ACTION_POST");
}

#[test]
fn sigkill_kills_only_the_matched_binary() {
    if !run::ready("sigkill_kills_only_the_matched_binary") {
        return;
    }
    let dir = TempDir::new("sigkill");
    let secret = dir.write("secret.txt", "secret\n");
    let killer_cat = dir.copy_binary(CAT, "cat-killed");
    let policy = dir.write(
        "kill.yaml",
        &openat_policy(
            "host-sigkill",
            dir.str(),
            &binaries("In", &[&killer_cat]),
            "      - action: Sigkill\n",
        ),
    );
    let running = started(&[policy.as_str(), "--policy-events-only"]);

    let (status, pid, out) = run_child(&killer_cat, &[&secret]);
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
    assert_eq!(out, "", "killed before it read");
    // the original binary, and this test process, are left alone
    let (status, other_pid, out) = run_child(CAT, &[&secret]);
    assert!(status.success(), "{status:?}");
    assert_eq!(out, "secret\n");
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "secret\n");

    running.wait_events(1, |e| pid_of(e, "process_kprobe") == Some(pid as u64));
    let f = running.stop();
    let mine = kprobes_of(&f.events(), pid);
    assert_eq!(mine.len(), 1, "{f}");
    let k = &mine[0]["process_kprobe"];
    assert_eq!(k["action"], "KPROBE_ACTION_SIGKILL");
    assert_eq!(k["policy_name"], "host-sigkill");
    assert_eq!(k["process"]["binary"], killer_cat.as_str());
    assert_eq!(k["args"][1]["string_arg"], secret.as_str());
    assert!(kprobes_of(&f.events(), other_pid).is_empty(), "{f}");
}

#[test]
fn match_binaries_operators_and_match_pids() {
    if !run::ready("match_binaries_operators_and_match_pids") {
        return;
    }
    let dir = TempDir::new("selectors");
    let file = dir.write("data.txt", "data\n");
    let alpha = dir.copy_binary(CAT, "alpha-cat");
    let beta = dir.copy_binary(CAT, "beta-cat");
    // a child whose pid goes into the policy: it opens the file once told to (after the run
    // attached), keeping its pid through `exec`
    let mut gated = run::spawn(
        Command::new("/bin/sh")
            .args(["-c", &format!("read go; exec {beta} {file}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let gated_pid = gated.id();
    let policies = [
        ("sel-notin", binaries("NotIn", &[&alpha])),
        (
            "sel-prefix",
            binaries("Prefix", &[&format!("{}/alpha-", dir.str())]),
        ),
        ("sel-postfix", binaries("Postfix", &["/beta-cat"])),
        ("sel-in", binaries("In", &[&alpha])),
        ("sel-pid-in", pids("In", &[gated_pid])),
        ("sel-pid-notin", pids("NotIn", &[gated_pid])),
    ];
    let text: Vec<String> = policies
        .iter()
        .map(|(name, more)| openat_policy(name, dir.str(), more, ""))
        .collect();
    let policy = dir.write("selectors.yaml", &text.join("---\n"));
    let running = started(&[policy.as_str(), "--policy-events-only"]);

    let (status, alpha_pid, _) = run_child(&alpha, &[&file]);
    assert!(status.success());
    let (status, beta_pid, _) = run_child(&beta, &[&file]);
    assert!(status.success());
    {
        use std::io::Write;
        let mut stdin = gated.stdin.take().unwrap();
        stdin.write_all(b"go\n").unwrap();
    }
    let out = gated.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "data\n");

    // alpha: sel-prefix, sel-in, sel-pid-notin; beta: sel-notin, sel-postfix, sel-pid-notin;
    // the gated beta: sel-notin, sel-postfix, sel-pid-in
    running.wait_events(9, |e| {
        [alpha_pid, beta_pid, gated_pid]
            .iter()
            .any(|p| pid_of(e, "process_kprobe") == Some(*p as u64))
    });
    let f = running.stop();
    let policies_of = |pid: u32| {
        let mut names: Vec<String> = kprobes_of(&f.events(), pid)
            .iter()
            .filter(|e| opened(e) == file)
            .map(|e| {
                e["process_kprobe"]["policy_name"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        policies_of(alpha_pid),
        ["sel-in", "sel-pid-notin", "sel-prefix"],
        "{f}"
    );
    assert_eq!(
        policies_of(beta_pid),
        ["sel-notin", "sel-pid-notin", "sel-postfix"],
        "{f}"
    );
    assert_eq!(
        policies_of(gated_pid),
        ["sel-notin", "sel-pid-in", "sel-postfix"],
        "{f}"
    );
    for e in f.events() {
        assert_eq!(e["process_kprobe"]["action"], "KPROBE_ACTION_POST", "{e}");
    }
}

#[test]
fn signal_action_sends_the_signal_asked_for() {
    if !run::ready("signal_action_sends_the_signal_asked_for") {
        return;
    }
    let dir = TempDir::new("signal");
    let file = dir.write("poke.txt", "poke\n");
    let signalled = dir.copy_binary(CAT, "cat-signalled");
    let policy = dir.write(
        "signal.yaml",
        &openat_policy(
            "host-signal",
            dir.str(),
            &binaries("In", &[&signalled]),
            "      - action: Signal\n        argSig: 10\n",
        ),
    );
    let running = started(&[policy.as_str(), "--policy-events-only"]);
    let (status, pid, _) = run_child(&signalled, &[&file]);
    assert_eq!(status.signal(), Some(libc::SIGUSR1), "{status:?}");
    let (status, _, out) = run_child(CAT, &[&file]);
    assert!(status.success());
    assert_eq!(out, "poke\n");
    running.wait_events(1, |e| pid_of(e, "process_kprobe") == Some(pid as u64));
    let f = running.stop();
    let mine = kprobes_of(&f.events(), pid);
    assert_eq!(mine.len(), 1, "{f}");
    assert_eq!(mine[0]["process_kprobe"]["action"], "KPROBE_ACTION_SIGNAL");
    assert_eq!(mine[0]["process_kprobe"]["policy_name"], "host-signal");
    assert_eq!(
        mine[0]["process_kprobe"]["process"]["binary"],
        signalled.as_str()
    );
}

fn rate_limited_policy(dir: &TempDir) -> String {
    dir.write(
        "rate.yaml",
        &openat_policy(
            "host-rate",
            dir.str(),
            "",
            "      - action: Post\n        rateLimit: \"1m\"\n",
        ),
    )
}

#[test]
fn rate_limit_posts_once_per_minute() {
    if !run::ready("rate_limit_posts_once_per_minute") {
        return;
    }
    let dir = TempDir::new("ratelimit");
    let file = dir.write("same.txt", "x\n");
    let policy = rate_limited_policy(&dir);
    let running = started(&[policy.as_str(), "--policy-events-only"]);
    let (status, pid, out) = run_child(CAT, &[&file, &file, &file, &file, &file]);
    assert!(status.success());
    assert_eq!(out, "x\n".repeat(5));
    running.wait_events(1, |e| pid_of(e, "process_kprobe") == Some(pid as u64));
    std::thread::sleep(Duration::from_millis(500));
    let f = running.stop();
    let mine = kprobes_of(&f.events(), pid);
    assert_eq!(mine.len(), 1, "five opens, one event:\n{f}");
    assert_eq!(opened(&mine[0]), file);
    assert_eq!(mine[0]["process_kprobe"]["action"], "KPROBE_ACTION_POST");
}

#[test]
#[ignore = "bug: the rateLimit key hashes only integer args (a string arg's value is 0), so opens of different files share one limit; Tetragon keys on each arg's first 40 bytes"]
fn rate_limit_keys_on_the_string_args() {
    if !run::ready("rate_limit_keys_on_the_string_args") {
        return;
    }
    let dir = TempDir::new("ratelimit-keys");
    let a = dir.write("a.txt", "a\n");
    let b = dir.write("b.txt", "b\n");
    let policy = rate_limited_policy(&dir);
    let running = started(&[policy.as_str(), "--policy-events-only"]);
    let (status, pid, _) = run_child(CAT, &[&a, &a, &b, &b]);
    assert!(status.success());
    running.wait_events(1, |e| pid_of(e, "process_kprobe") == Some(pid as u64));
    std::thread::sleep(Duration::from_millis(500));
    let f = running.stop();
    let files: Vec<String> = kprobes_of(&f.events(), pid)
        .iter()
        .map(|e| opened(e).to_string())
        .collect();
    assert_eq!(files, [a, b], "one event per file:\n{f}");
}

#[test]
fn invalid_policy_is_refused_with_the_check_diagnostics() {
    if !run::ready("invalid_policy_is_refused_with_the_check_diagnostics") {
        return;
    }
    let dir = TempDir::new("invalid");
    let policy = dir.write(
        "invalid.yaml",
        &openat_policy("host-invalid", dir.str(), "", "").replace("\"Prefix\"", "\"Bogus\""),
    );
    let f = refused(&[policy.as_str()]);
    assert_eq!(f.status.code(), Some(1), "{f}");
    assert!(f.stdout.is_empty(), "{f}");
    let check = Command::new(run::policyctl())
        .arg("check")
        .arg(&policy)
        .env("NO_COLOR", "1")
        .output()
        .expect("policyctl check");
    assert!(!check.status.success());
    let check_text = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let stderr = f.stderr_text();
    let code = check_text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| w.len() == 4 && w.starts_with('P') && w[1..].bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no P0xx code from check:\n{check_text}"));
    assert!(stderr.contains(code), "{code} missing:\n{f}");
    assert!(stderr.contains("Bogus"), "{f}");
    // the diagnostics print as `policyctl check` prints them
    let first_diag = check_text
        .lines()
        .find(|l| l.contains(code))
        .expect("the diagnostic line");
    assert!(stderr.contains(first_diag.trim()), "{first_diag}\n{f}");
    assert!(
        f.stderr
            .last()
            .unwrap()
            .starts_with("policyctl run: refusing to load: "),
        "{f}"
    );
    assert!(
        !stderr.contains("attached with") && !stderr.contains("Ctrl-C stops"),
        "{f}"
    );
}

#[test]
fn unsupported_features_are_refused_in_one_line() {
    if !run::ready("unsupported_features_are_refused_in_one_line") {
        return;
    }
    let dir = TempDir::new("unsupported");
    let namespaces = dir.write(
        "namespaces.yaml",
        &openat_policy(
            "host-namespaces",
            dir.str(),
            "      matchNamespaces:\n      - namespace: Pid\n        operator: In\n        values:\n        - \"host_ns\"\n",
            "",
        ),
    );
    let geturl = dir.write(
        "geturl.yaml",
        &openat_policy(
            "host-geturl",
            dir.str(),
            "",
            "      - action: GetUrl\n        argUrl: \"http://127.0.0.1:9/never\"\n",
        ),
    );
    for (file, name, what) in [
        (
            &namespaces,
            "host-namespaces",
            "`matchNamespaces` is not supported",
        ),
        (&geturl, "host-geturl", "action `GetUrl` is not supported"),
    ] {
        let f = refused(&[file.as_str()]);
        assert_eq!(f.status.code(), Some(1), "{f}");
        assert!(f.stdout.is_empty(), "{f}");
        let errors: Vec<&String> = f.stderr.iter().filter(|l| !l.contains("note:")).collect();
        assert_eq!(errors.len(), 1, "one line:\n{f}");
        assert!(
            errors[0].starts_with(&format!("policyctl run: {file}: policy `{name}`: "))
                && errors[0].contains(what),
            "{f}"
        );
    }
}

#[test]
fn a_hook_that_cannot_attach_leaves_nothing_attached() {
    if !run::ready("a_hook_that_cannot_attach_leaves_nothing_attached") {
        return;
    }
    let dir = TempDir::new("all-or-none");
    let Some(bin) = dir.compile_c(
        "a_hook_that_cannot_attach_leaves_nothing_attached",
        "target",
        UPROBE_TARGET,
    ) else {
        return;
    };
    let file = dir.write("probe.txt", "");
    let text = format!(
        r#"{}---
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "host-missing-symbol"
spec:
  uprobes:
  - path: "{bin}"
    symbols:
    - "no_such_function_here"
"#,
        openat_policy("host-first", dir.str(), "", "")
    );
    let policy = dir.write("two.yaml", &text);
    let f = refused(&[policy.as_str()]);
    assert_eq!(f.status.code(), Some(1), "{f}");
    let stderr = f.stderr_text();
    assert!(
        stderr.contains("policy `host-missing-symbol`: cannot attach uprobe")
            && stderr.contains("no_such_function_here"),
        "{f}"
    );
    assert!(!stderr.contains("Ctrl-C stops"), "{f}");
    assert!(!stderr.contains("attached with"), "{f}");
    assert!(f.stdout.is_empty(), "{f}");
    // the process is gone, and with it every program: opening the file reports nothing
    let (status, _, _) = run_child(CAT, &[&file]);
    assert!(status.success());
}

#[test]
fn unprivileged_run_is_refused() {
    if !run::ready("unprivileged_run_is_refused") {
        return;
    }
    if Command::new("setpriv")
        .arg("--version")
        .output()
        .map_or(true, |o| !o.status.success())
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "`setpriv` (util-linux) is needed for this test under CI"
        );
        eprintln!("unprivileged_run_is_refused: SKIPPED: `setpriv` is not installed");
        return;
    }
    let dir = TempDir::new("unprivileged");
    let policy = dir.write(
        "open.yaml",
        &openat_policy("host-nobody", dir.str(), "", ""),
    );
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
        ])
        .arg(run::policyctl())
        .args(["run", &policy])
        .stdin(Stdio::null())
        .output()
        .expect("setpriv");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "one line:\n{stderr}");
    assert!(
        stderr.starts_with("policyctl run: ")
            && stderr.contains("root")
            && stderr.contains("CAP_BPF"),
        "{stderr}"
    );
}

#[test]
fn several_policy_files_in_one_run() {
    if !run::ready("several_policy_files_in_one_run") {
        return;
    }
    let dir = TempDir::new("several");
    let file = dir.write("both.txt", "both\n");
    let suffix = format!("-{}.gone", std::process::id());
    let gone = dir.write(&format!("x{suffix}"), "");
    let first = dir.write(
        "first.yaml",
        &openat_policy("host-first-file", dir.str(), "", ""),
    );
    let second = dir.write(
        "second.yaml",
        &format!(
            r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "host-second-file"
spec:
  tracepoints:
  - subsystem: "syscalls"
    event: "sys_enter_unlinkat"
    args:
    - index: 6
      type: "string"
    selectors:
    - matchArgs:
      - index: 6
        operator: "Postfix"
        values:
        - "{suffix}"
"#
        ),
    );
    let running = started(&[first.as_str(), second.as_str(), "--policy-events-only"]);
    assert!(
        running
            .stderr()
            .iter()
            .any(|l| l.ends_with("running 2 policies (2 hooks); Ctrl-C stops")),
        "{:?}",
        running.stderr()
    );
    let (status, cat_pid, _) = run_child(CAT, &[&file]);
    assert!(status.success());
    let (status, rm_pid, _) = run_child("/usr/bin/rm", &[&gone]);
    assert!(status.success());
    running.wait_events(1, |e| pid_of(e, "process_kprobe") == Some(cat_pid as u64));
    running.wait_events(1, |e| {
        pid_of(e, "process_tracepoint") == Some(rm_pid as u64)
    });
    let f = running.stop();
    let events = f.events();
    let cat = kprobes_of(&events, cat_pid);
    assert_eq!(cat.len(), 1, "{f}");
    assert_eq!(cat[0]["process_kprobe"]["policy_name"], "host-first-file");
    let rm: Vec<&Value> = events
        .iter()
        .filter(|e| pid_of(e, "process_tracepoint") == Some(rm_pid as u64))
        .collect();
    assert_eq!(rm.len(), 1, "{f}");
    assert_eq!(
        rm[0]["process_tracepoint"]["policy_name"],
        "host-second-file"
    );
    assert_eq!(
        rm[0]["process_tracepoint"]["args"][0]["string_arg"],
        gone.as_str()
    );
}

#[test]
fn exec_and_exit_events_without_policy_events_only() {
    if !run::ready("exec_and_exit_events_without_policy_events_only") {
        return;
    }
    let dir = TempDir::new("exec");
    let file = dir.write("exec.txt", "exec\n");
    let bin = dir.copy_binary(CAT, "cat-exec");
    let policy = dir.write(
        "open.yaml",
        &openat_policy("host-exec", dir.str(), &binaries("In", &[&bin]), ""),
    );
    let running = started(&[policy.as_str(), "-o", "json"]);
    let (status, pid, out) = run_child(&bin, &[&file]);
    assert!(status.success());
    assert_eq!(out, "exec\n");
    running.wait_events(1, |e| pid_of(e, "process_exit") == Some(pid as u64));
    let f = running.stop();
    let mine: Vec<Value> = f
        .events()
        .into_iter()
        .filter(|e| {
            ["process_exec", "process_kprobe", "process_exit"]
                .iter()
                .any(|k| pid_of(e, k) == Some(pid as u64))
        })
        .collect();
    let kinds: Vec<&str> = mine
        .iter()
        .map(|e| e.as_object().unwrap().keys().next().unwrap().as_str())
        .collect();
    assert_eq!(
        kinds,
        ["process_exec", "process_kprobe", "process_exit"],
        "{f}"
    );
    let exec = &mine[0]["process_exec"]["process"];
    assert_eq!(exec["binary"], bin.as_str());
    assert_eq!(exec["arguments"], file.as_str());
    assert!(exec["exec_id"].is_string(), "{exec}");
    assert_eq!(
        mine[1]["process_kprobe"]["process"]["exec_id"], exec["exec_id"],
        "{f}"
    );
    let exit = &mine[2]["process_exit"];
    assert_eq!(exit["process"]["binary"], bin.as_str());
    assert_eq!(exit["process"]["exec_id"], exec["exec_id"]);
    assert!(exit.get("signal").is_none(), "{exit}");
    assert!(exit.get("status").is_none(), "status 0 is left out: {exit}");
}

#[test]
fn compact_output_line() {
    if !run::ready("compact_output_line") {
        return;
    }
    let dir = TempDir::new("compact");
    let file = dir.write("compact.txt", "compact\n");
    let bin = dir.copy_binary(CAT, "cat-compact");
    let policy = dir.write(
        "open.yaml",
        &openat_policy("host-compact", dir.str(), &binaries("In", &[&bin]), ""),
    );
    let running = started(&[
        policy.as_str(),
        "-o",
        "compact",
        "--policy-events-only",
        "--node-name",
        "test-node",
    ]);
    let (status, _, _) = run_child(&bin, &[&file]);
    assert!(status.success());
    let want = format!("📬\u{fe0f} openat  test-node {bin} {file}");
    running.wait_line(|l| l.contains(&bin));
    let f = running.stop();
    let mine: Vec<&String> = f.stdout.iter().filter(|l| l.contains(&bin)).collect();
    assert_eq!(mine, [&want], "{f}");
}
