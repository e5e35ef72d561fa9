//! `policyctl run` on this machine's kernel, as root: each test writes policies into a temporary
//! directory of its own, starts `policyctl run`, waits until every hook is attached, makes the
//! watched thing happen, stops the run with SIGINT and checks the Tetragon-shaped events (JSON,
//! parsed; one test reads the compact lines) and the clean stop.
//!
//! Covered: the raw syscall tracepoint fallback of `syscall: true` kprobes (hosts without
//! kprobes), tracepoints with args by field index (an array field read as `auto`), uprobes, matchBinaries (In, NotIn, Prefix,
//! Postfix) and matchPIDs, matchNamespaces, matchCapabilities and their Changes, the Sigkill,
//! Signal and NoPost actions, Post's rateLimit, a return probe (`return: true`,
//! matchReturnArgs) through `syscalls/sys_exit_openat`, several
//! policies at once, exec and exit events, SIGTERM and SIGKILL (nothing left behind), and the
//! refusals: invalid policies, what the runtime does not support, hooks that cannot attach (all
//! or none), no privileges, tracefs not mounted and no BTF (in a private mount namespace).
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
#[path = "support/skip.rs"]
mod skip;

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

/// A policy on the `syscalls/sys_enter_unlinkat` tracepoint with args by field index (5: dfd,
/// 6: pathname; the common fields count), filtering arg `index` with `operator` `value`.
fn unlinkat_policy(name: &str, index: u32, operator: &str, value: &str) -> String {
    format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "{name}"
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
      - index: {index}
        operator: "{operator}"
        values:
        - "{value}"
"#
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
fn syscall_kprobe_falls_back_to_a_syscall_tracepoint() {
    if !run::ready("syscall_kprobe_falls_back_to_a_syscall_tracepoint") {
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

    // Served by openat's own tracepoint (only openat pays), or, when asked, by the raw
    // syscall tracepoint: the same event either way, as Tetragon's kprobe on the stub gives.
    for (attach, line) in [
        (None, "policyctl run: host-openat: tracepoint `syscalls/sys_enter_openat` attached with tracepoint"),
        (Some("raw-tracepoint"), "policyctl run: host-openat: `__x64_sys_openat` attached with raw tracepoint raw_syscalls/sys_enter"),
    ] {
    let mut args = vec![policy.as_str(), "-o", "json", "--policy-events-only"];
    if let Some(a) = attach {
        args.extend(["--attach", a]);
    }
    let running = started(&args);
    let stderr = running.stderr().join("\n");
    assert!(stderr.contains(line), "{stderr}");
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
        &unlinkat_policy("host-unlinkat", 6, "Postfix", &suffix),
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

/// A program that makes one `getpid` syscall with six known register values (getpid ignores
/// them; `raw_syscalls/sys_enter` records them in its `args` array).
const SYSCALL_ARGS_TARGET: &str = r#"
#include <unistd.h>
#include <sys/syscall.h>
int main(void)
{
    return syscall(SYS_getpid, 0x11L, 0x22L, 0x33L, 0x44L, 0x55L, 0xfedcba9876543210UL) > 0 ? 0 : 1;
}
"#;

#[test]
fn tracepoint_array_field_read_as_auto() {
    if !run::ready("tracepoint_array_field_read_as_auto") {
        return;
    }
    let dir = TempDir::new("tparray");
    let Some(bin) = dir.compile_c(
        "tracepoint_array_field_read_as_auto",
        "sysargs",
        SYSCALL_ARGS_TARGET,
    ) else {
        return;
    };
    // fields 4 and 5 of raw_syscalls/sys_enter: `long id`, `unsigned long args[6]` (both
    // `auto`), as in Tetragon's pkg/sensors/tracing/kprobe_rodata_test.go
    let policy = dir.write(
        "sysenter.yaml",
        &format!(
            r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "host-sys-enter-args"
spec:
  tracepoints:
  - subsystem: "raw_syscalls"
    event: "sys_enter"
    args:
    - index: 4
    - index: 5
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "{bin}"
"#
        ),
    );
    let running = started(&[policy.as_str(), "--policy-events-only"]);
    let (status, pid, _) = run_child(&bin, &[]);
    assert!(status.success());
    let getpid = |e: &Value| {
        pid_of(e, "process_tracepoint") == Some(pid as u64)
            && e["process_tracepoint"]["args"][0]["long_arg"] == "39"
    };
    running.wait_events(1, getpid);
    let f = running.stop();
    let mine: Vec<Value> = f.events().into_iter().filter(getpid).collect();
    assert_eq!(mine.len(), 1, "one getpid:\n{f}");
    let t = &mine[0]["process_tracepoint"];
    assert_eq!(t["subsys"], "raw_syscalls");
    assert_eq!(t["event"], "sys_enter");
    // Tetragon prints `long id` as a long_arg and each element of the array as a size_arg
    assert_eq!(
        t["args"],
        json!([
            {"long_arg": "39"},
            {"size_arg": "17"},
            {"size_arg": "34"},
            {"size_arg": "51"},
            {"size_arg": "68"},
            {"size_arg": "85"},
            {"size_arg": "18364758544493064720"}
        ]),
        "{f}"
    );
}

#[test]
fn uprobe_reports_int_and_string_args() {
    if !run::ready("uprobe_reports_int_and_string_args") {
        return;
    }
    let dir = TempDir::new("uprobe");
    let Some(bin) = dir.compile_c(
        "uprobe_reports_int_and_string_args",
        "target",
        run::UPROBE_TARGET,
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

/// The setup of an enforcing test: a temporary directory with a file to open and a copy of
/// `cat` (the only binary the policy may act on), and a `sys_openat` policy named `name` with
/// `actions` for that copy opening files in the directory. Returns (dir, file, copy, policy).
fn enforcing(test: &str, name: &str, actions: &str) -> (TempDir, String, String, String) {
    let dir = TempDir::new(test);
    let file = dir.write("secret.txt", "secret\n");
    let copy = dir.copy_binary(CAT, &format!("cat-{test}"));
    let policy = dir.write(
        "policy.yaml",
        &openat_policy(name, dir.str(), &binaries("In", &[&copy]), actions),
    );
    (dir, file, copy, policy)
}

#[test]
fn sigkill_kills_only_the_matched_binary() {
    if !run::ready("sigkill_kills_only_the_matched_binary") {
        return;
    }
    let (_dir, secret, killer_cat, policy) =
        enforcing("sigkill", "host-sigkill", "      - action: Sigkill\n");
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

/// The sorted names of the policies whose `process_kprobe` events of `pid` opened `file`.
fn policies_of(events: &[Value], pid: u32, file: &str) -> Vec<String> {
    let mut names: Vec<String> = kprobes_of(events, pid)
        .iter()
        .filter(|e| opened(e) == file)
        .map(|e| {
            e["process_kprobe"]["policy_name"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    names.sort();
    names
}

/// Runs the `policies` (each a name and the selector keys added to [`openat_policy`]) in one
/// `policyctl run`, opens `file` with each binary of `binaries` in turn, and returns for each
/// binary the sorted names of the policies that reported its open, with the run's output.
fn policies_reporting(
    dir: &TempDir,
    file: &str,
    policies: &[(&str, String)],
    binaries: &[&str],
    expected_events: usize,
) -> (Vec<Vec<String>>, run::Finished) {
    let text: Vec<String> = policies
        .iter()
        .map(|(name, more)| openat_policy(name, dir.str(), more, ""))
        .collect();
    let policy = dir.write(&format!("{}.yaml", policies[0].0), &text.join("---\n"));
    let running = started(&[policy.as_str(), "--policy-events-only"]);
    let pids: Vec<u32> = binaries
        .iter()
        .map(|bin| {
            let (status, pid, _) = run_child(bin, &[file]);
            assert!(status.success(), "{bin}: {status:?}");
            pid
        })
        .collect();
    running.wait_events(expected_events, |e| {
        pids.iter()
            .any(|p| pid_of(e, "process_kprobe") == Some(*p as u64))
    });
    let f = running.stop();
    let events = f.events();
    let per_binary = pids
        .iter()
        .map(|p| policies_of(&events, *p, file))
        .collect();
    (per_binary, f)
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

    // matchBinaries: one policy per operator (at most 4 hooks share a syscall on the raw
    // syscall tracepoint)
    let policies = [
        ("bin-in", binaries("In", &[&alpha])),
        ("bin-notin", binaries("NotIn", &[&alpha])),
        (
            "bin-prefix",
            binaries("Prefix", &[&format!("{}/alpha-", dir.str())]),
        ),
        ("bin-postfix", binaries("Postfix", &["/beta-cat"])),
    ];
    let (seen, f) = policies_reporting(&dir, &file, &policies, &[&alpha, &beta, CAT], 5);
    assert_eq!(seen[0], ["bin-in", "bin-prefix"], "{f}");
    assert_eq!(seen[1], ["bin-notin", "bin-postfix"], "{f}");
    assert_eq!(seen[2], ["bin-notin"], "{f}");
    for e in &f.events() {
        assert_eq!(e["process_kprobe"]["action"], "KPROBE_ACTION_POST", "{e}");
    }

    // the negated string operators
    let negated = [
        (
            "bin-notprefix",
            binaries("NotPrefix", &[&format!("{}/alpha-", dir.str())]),
        ),
        ("bin-notpostfix", binaries("NotPostfix", &["/beta-cat"])),
    ];
    let (seen, f) = policies_reporting(&dir, &file, &negated, &[&alpha, &beta, CAT], 4);
    assert_eq!(seen[0], ["bin-notpostfix"], "{f}");
    assert_eq!(seen[1], ["bin-notprefix"], "{f}");
    assert_eq!(seen[2], ["bin-notpostfix", "bin-notprefix"], "{f}");

    // matchPIDs: a child whose pid goes into the policy opens the file once told to (after
    // the run attached), keeping its pid through `exec`
    let mut gated = run::spawn(
        Command::new("/bin/sh")
            .args(["-c", &format!("read go; exec {beta} {file}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let gated_pid = gated.id();
    // two entries in one selector, ANDed (Tetragon's BPF side misreads the second; the
    // runtime runs what they say): NotIn both, In both
    let two = |operator: &str, first: &[u32], second: &[u32]| {
        let more = pids(operator, second);
        let entry = more.split_once('\n').map_or("", |(_, e)| e);
        format!("{}{entry}", pids(operator, first))
    };
    let text = [
        openat_policy("pid-in", dir.str(), &pids("In", &[gated_pid]), ""),
        openat_policy("pid-notin", dir.str(), &pids("NotIn", &[gated_pid]), ""),
        openat_policy(
            "pid-in-two",
            dir.str(),
            &two("In", &[gated_pid, 1], &[2, gated_pid]),
            "",
        ),
        openat_policy(
            "pid-notin-two",
            dir.str(),
            &two("NotIn", &[1], &[gated_pid]),
            "",
        ),
    ];
    let policy = dir.write("pids.yaml", &text.join("---\n"));
    let running = started(&[policy.as_str(), "--policy-events-only"]);
    {
        use std::io::Write;
        let mut stdin = gated.stdin.take().expect("piped stdin");
        stdin.write_all(b"go\n").expect("tell the child to go");
    }
    let out = gated.wait_with_output().expect("wait for the child");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "data\n");
    let (status, other_pid, _) = run_child(&alpha, &[&file]);
    assert!(status.success());
    running.wait_events(4, |e| {
        [gated_pid, other_pid]
            .iter()
            .any(|p| pid_of(e, "process_kprobe") == Some(*p as u64))
    });
    let f = running.stop();
    let events = f.events();
    assert_eq!(
        policies_of(&events, gated_pid, &file),
        ["pid-in", "pid-in-two"],
        "{f}"
    );
    assert_eq!(
        policies_of(&events, other_pid, &file),
        ["pid-notin", "pid-notin-two"],
        "{f}"
    );
}

/// matchParentBinaries: the parent's binary, from the process table. The same copied binary
/// opens the file twice, once as the test's own child and once as the child of a copied shell;
/// In and NotIn on the test's executable each report one of them.
#[test]
fn match_parent_binaries_reads_the_parent() {
    if !run::ready("match_parent_binaries_reads_the_parent") {
        return;
    }
    let dir = TempDir::new("parents");
    let file = dir.write("data.txt", "data\n");
    let alpha = dir.copy_binary(CAT, "alpha-cat");
    let shell = dir.copy_binary("/bin/sh", "parent-sh");
    let me = std::env::current_exe().expect("the test's executable");
    let me = me.to_str().expect("a UTF-8 path");
    let parents = |operator: &str| {
        format!(
            "      matchBinaries:\n      - operator: In\n        values:\n        - \"{alpha}\"\n      matchParentBinaries:\n      - operator: {operator}\n        values:\n        - \"{me}\"\n"
        )
    };
    let text = [
        openat_policy("parent-in", dir.str(), &parents("In"), ""),
        openat_policy("parent-notin", dir.str(), &parents("NotIn"), ""),
    ];
    let policy = dir.write("parents.yaml", &text.join("---\n"));
    let running = started(&[policy.as_str(), "--policy-events-only"]);
    let (status, _, _) = run_child(&alpha, &[&file]);
    assert!(status.success());
    let (status, _, _) = run_child(&shell, &["-c", &format!("{alpha} {file}; true")]);
    assert!(status.success());
    running.wait_events(2, |e| e.get("process_kprobe").is_some());
    let f = running.stop();
    let events: Vec<Value> = f
        .events()
        .into_iter()
        .filter(|e| e["process_kprobe"]["process"]["binary"] == alpha.as_str())
        .collect();
    assert!(!events.is_empty());
    let mut seen: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["process_kprobe"]["policy_name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                e["process_kprobe"]["parent"]["binary"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("parent-in".to_string(), me.to_string()),
            ("parent-notin".to_string(), shell.clone())
        ],
        "{f}"
    );
}

#[test]
fn signal_action_sends_the_signal_asked_for() {
    if !run::ready("signal_action_sends_the_signal_asked_for") {
        return;
    }
    let (_dir, file, signalled, policy) = enforcing(
        "signal",
        "host-signal",
        "      - action: Signal\n        argSig: 10\n",
    );
    let running = started(&[policy.as_str(), "--policy-events-only"]);
    let (status, pid, _) = run_child(&signalled, &[&file]);
    assert_eq!(status.signal(), Some(libc::SIGUSR1), "{status:?}");
    let (status, _, out) = run_child(CAT, &[&file]);
    assert!(status.success());
    assert_eq!(out, "secret\n");
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

/// `rateLimitScope` decides whose calls share a rate-limit key, as Tetragon's rate_limit()
/// (bpf/process/types/basic.h) puts the thread id, the process id or nothing in the key:
/// `thread` (the default), `process` or `global`. Three policies, one per scope, watch the
/// same opens: a process whose two threads each open the file, then `cat` opening it.
#[test]
fn rate_limit_scope_keys_on_the_thread_the_process_or_nothing() {
    let test = "rate_limit_scope_keys_on_the_thread_the_process_or_nothing";
    if !run::ready(test) {
        return;
    }
    let dir = TempDir::new("ratelimit-scope");
    let file = dir.write("same.txt", "x\n");
    let Some(threads) = dir.compile_c_with(
        test,
        "threads",
        r#"#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static const char *path;
static void *opener(void *arg)
{
    (void)arg;
    int fd = open(path, O_RDONLY);
    if (fd >= 0)
        close(fd);
    return 0;
}
int main(int argc, char **argv)
{
    pthread_t t;
    path = argv[1];
    opener(0); /* the main thread, then another, one after the other */
    if (argc < 2 || pthread_create(&t, 0, opener, 0) || pthread_join(t, 0))
        return 1;
    printf("ok\n");
    return 0;
}
"#,
        &["-pthread"],
    ) else {
        return;
    };
    let policies: Vec<String> = ["thread", "process", "global"]
        .iter()
        .map(|scope| {
            dir.write(
                &format!("{scope}.yaml"),
                &openat_policy(
                    &format!("host-rate-{scope}"),
                    dir.str(),
                    "",
                    &format!(
                        "      - action: Post\n        rateLimit: \"1m\"\n        rateLimitScope: \"{scope}\"\n"
                    ),
                ),
            )
        })
        .collect();
    let mut args: Vec<&str> = policies.iter().map(String::as_str).collect();
    args.push("--policy-events-only");
    let running = started(&args);
    let (status, two_threads, out) = run_child(&threads, &[&file]);
    assert!(status.success(), "{status:?}");
    assert_eq!(out, "ok\n");
    let (status, cat, _) = run_child(CAT, &[&file]);
    assert!(status.success());
    running.wait_events(6, |e| {
        [two_threads, cat]
            .iter()
            .any(|p| pid_of(e, "process_kprobe") == Some(*p as u64))
    });
    std::thread::sleep(Duration::from_millis(500));
    let f = running.stop();
    let events = f.events();
    let count = |policy: &str, pid: u32| {
        kprobes_of(&events, pid)
            .iter()
            .filter(|e| e["process_kprobe"]["policy_name"] == policy)
            .count()
    };
    let seen = |policy: &str| (count(policy, two_threads), count(policy, cat));
    // thread: one per thread (two in the first process); process: one per process;
    // global: the first open only
    assert_eq!(seen("host-rate-thread"), (2, 1), "{f}");
    assert_eq!(seen("host-rate-process"), (1, 1), "{f}");
    assert_eq!(seen("host-rate-global"), (1, 0), "{f}");
}

#[test]
fn invalid_policy_is_refused_with_the_check_diagnostics() {
    if !run::ready("invalid_policy_is_refused_with_the_check_diagnostics") {
        return;
    }
    let dir = TempDir::new("invalid");
    // a string operator on an int arg (P021)
    let policy = dir.write(
        "invalid.yaml",
        &unlinkat_policy("host-invalid", 5, "Prefix", "/tmp/never"),
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
    assert_eq!(check.status.code(), Some(1));
    let check_text = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    // `check` names the kernels it checked against first; `run` checks against this host only
    // and says nothing of it.
    let check_text = match check_text.split_once('\n') {
        Some((first, rest)) if first.starts_with("checked against ") => {
            rest.trim_start_matches('\n').to_string()
        }
        _ => check_text,
    };
    assert!(check_text.starts_with("P021"), "{check_text}");
    // the diagnostics exactly as `policyctl check` prints them, then one line
    let (last, diagnostics) = f.stderr.split_last().expect("stderr");
    assert_eq!(
        diagnostics.join("\n").trim_end(),
        check_text.trim_end(),
        "{f}"
    );
    assert_eq!(
        last,
        "policyctl run: refusing to load: 1 error (fix them; `policyctl check` shows the same)"
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
            "      matchParentBinaries:\n      - operator: In\n        followChildren: true\n        values:\n        - \"/usr/bin/bash\"\n",
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
            "matchParentBinaries with followChildren is not supported",
        ),
        (
            &geturl,
            "host-geturl",
            "GetUrl `http://127.0.0.1:9/never` would make this host send traffic when its events arrive; pass --allow-network-actions to run it",
        ),
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
        run::UPROBE_TARGET,
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
        skip::skip(
            "unprivileged_run_is_refused",
            "`setpriv` (util-linux) is not installed",
        );
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
        &unlinkat_policy("host-second-file", 6, "Postfix", &suffix),
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
        rm[0]["process_tracepoint"]["args"][1]["string_arg"],
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
    // the login uid, read in the kernel at the exec (the child inherits this process's)
    if let Ok(loginuid) = std::fs::read_to_string("/proc/self/loginuid") {
        let want: u64 = loginuid.trim().parse().expect("a number");
        assert_eq!(exec["auid"], want, "{exec}");
    }
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

/// Arguments longer than the exec event holds come through the kernel's `EVENT_DATA` records,
/// whole up to what Tetragon reads (ten reads of 32736 bytes past `argv[0]`), with Tetragon's
/// `dataArgs` flag; past that they are cut, with `truncArgs`.
#[test]
fn long_arguments_come_through_data_records() {
    if !run::ready("long_arguments_come_through_data_records") {
        return;
    }
    let dir = TempDir::new("longargs");
    let bin = dir.copy_binary("/usr/bin/true", "true-long");
    let policy = dir.write(
        "open.yaml",
        &openat_policy("host-longargs", dir.str(), &binaries("In", &[&bin]), ""),
    );
    let running = started(&[policy.as_str(), "-o", "json"]);
    // 100 KB in 100 arguments: four data records; 500 KB: past the ten reads
    let long: Vec<String> = (0..100).map(|i| format!("{i:x>1000}")).collect();
    let huge: Vec<String> = (0..5)
        .map(|i| format!("{i}{}", "y".repeat(99_999)))
        .collect();
    let mut pids = Vec::new();
    for args in [&long, &huge] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (status, pid, _) = run_child(&bin, &args);
        assert!(status.success());
        pids.push(pid);
    }
    running.wait_events(2, |e| {
        pids.iter()
            .any(|&p| pid_of(e, "process_exit") == Some(p as u64))
    });
    let f = running.stop();
    let exec_of = |pid: u32| -> Value {
        f.events()
            .into_iter()
            .find(|e| pid_of(e, "process_exec") == Some(pid as u64))
            .unwrap_or_else(|| panic!("no exec of {pid}: {f}"))["process_exec"]["process"]
            .clone()
    };
    let exec = exec_of(pids[0]);
    assert_eq!(exec["arguments"], long.join(" "), "{f}");
    let flags = exec["flags"].as_str().unwrap();
    assert!(
        flags.contains("dataArgs") && !flags.contains("truncArgs"),
        "{flags}"
    );
    let exec = exec_of(pids[1]);
    let flags = exec["flags"].as_str().unwrap();
    assert!(
        flags.contains("dataArgs") && flags.contains("truncArgs"),
        "{flags}"
    );
    let shown = exec["arguments"].as_str().unwrap();
    assert_eq!(shown.len(), 327_360 - 1);
    assert!(huge.join(" ").starts_with(shown));
    assert!(
        f.stderr.iter().any(|l| l.contains(", 0 lost;")),
        "{:?}",
        f.stderr
    );
}

/// `--enable-process-cred` and `--enable-process-ns`: an exec's process carries its
/// capabilities and credentials, read in the kernel at the exec, and its namespaces compared
/// with pid 1's (or, where /proc/1/ns cannot be read, as in some sandboxes, no `ns` and a
/// warning, as Tetragon's InitHostNamespace fails there too).
#[test]
fn process_credentials_and_namespaces_on_request() {
    if !run::ready("process_credentials_and_namespaces_on_request") {
        return;
    }
    let dir = TempDir::new("proccred");
    let file = dir.write("cred.txt", "cred\n");
    let bin = dir.copy_binary(CAT, "cat-cred");
    let policy = dir.write(
        "open.yaml",
        &openat_policy("host-cred", dir.str(), &binaries("In", &[&bin]), ""),
    );
    let running = started(&[
        policy.as_str(),
        "-o",
        "json",
        "--enable-process-cred",
        "--enable-process-ns",
    ]);
    let (status, pid, _) = run_child(&bin, &[&file]);
    assert!(status.success());
    running.wait_events(1, |e| pid_of(e, "process_exit") == Some(pid as u64));
    let f = running.stop();
    let exec = f
        .events()
        .into_iter()
        .find(|e| pid_of(e, "process_exec") == Some(pid as u64))
        .unwrap_or_else(|| panic!("no exec: {f}"));
    let p = &exec["process_exec"]["process"];
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    let uid: u64 = uid_line.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert_eq!(p["process_credentials"]["uid"], uid, "{p}");
    assert_eq!(p["process_credentials"]["euid"], uid, "{p}");
    let cap_eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .unwrap();
    let cap_eff = u64::from_str_radix(cap_eff.trim(), 16).unwrap();
    let names = p["cap"]["effective"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(names.len() as u32, cap_eff.count_ones(), "{p}");
    if cap_eff & (1 << 21) != 0 {
        assert!(names.iter().any(|n| n == "CAP_SYS_ADMIN"), "{p}");
    }
    match policyctl_runtime::process::proc_namespaces(1) {
        Some(host) => {
            let mine = policyctl_runtime::process::proc_namespaces(std::process::id()).unwrap();
            assert_eq!(p["ns"]["mnt"]["inum"], mine[2], "{p}");
            assert_eq!(
                p["ns"]["mnt"]["is_host"].as_bool().unwrap_or(false),
                mine[2] == host[2],
                "{p}"
            );
        }
        None => {
            assert!(p.get("ns").is_none(), "{p}");
            assert!(
                f.stderr.iter().any(|l| l.contains("--enable-process-ns")),
                "{:?}",
                f.stderr
            );
        }
    }
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

/// Issue 14: compact lines go to a terminal, so bytes from the kernel are escaped as
/// Tetragon's compact encoder escapes them (`maybeQuote` in pkg/encoder/encoder.go, Go's
/// `strconv.Quote`): an argument that sets the terminal title and clears the screen, and a
/// file name holding an escape, come out quoted, with no raw control byte on any line.
#[test]
fn compact_output_escapes_terminal_bytes() {
    if !run::ready("compact_output_escapes_terminal_bytes") {
        return;
    }
    let dir = TempDir::new("escape");
    let file = dir.write("e\u{1b}[2J.txt", "escaped\n");
    let bin = dir.copy_binary(CAT, "cat-escape");
    let policy = dir.write(
        "open.yaml",
        &openat_policy("host-escape", dir.str(), &binaries("In", &[&bin]), ""),
    );
    let running = started(&[policy.as_str(), "-o", "compact", "--node-name", "test-node"]);
    let evil = "x\u{1b}]0;title\u{7}\u{1b}[2J";
    let (status, _, out) = run_child(&bin, &[&file, evil]);
    assert!(!status.success(), "cat of a missing file fails");
    assert_eq!(out, "escaped\n");
    running.wait_line(|l| l.starts_with("💥") && l.contains(&bin));
    let f = running.stop();
    let mine: Vec<&String> = f.stdout.iter().filter(|l| l.contains(&bin)).collect();
    let d = dir.str();
    let args = format!("\"{d}/e\\x1b[2J.txt x\\x1b]0;title\\a\\x1b[2J\"");
    assert_eq!(
        mine,
        [
            &format!("🚀 process test-node {bin} {args}"),
            &format!("📬\u{fe0f} openat  test-node {bin} \"{d}/e\\x1b[2J.txt\""),
            &format!("💥 exit    test-node {bin} {args} 1"),
        ],
        "{f}"
    );
    for line in &f.stdout {
        assert!(
            !line.chars().any(|c| c.is_control()),
            "a control character reached the terminal: {line:?}"
        );
    }
}

const CHDIR_AWAY: &str = r#"
#include <unistd.h>
int main(void)
{
    return chdir("/") == 0 ? 0 : 1;
}
"#;

/// The cwd is read in the kernel at exec, not later from /proc: a process that moves away
/// (or exits) before its event is printed still shows where it was started.
#[test]
fn exec_events_carry_the_cwd_at_exec_time() {
    if !run::ready("exec_events_carry_the_cwd_at_exec_time") {
        return;
    }
    let dir = TempDir::new("cwd");
    let Some(bin) = dir.compile_c("exec_events_carry_the_cwd_at_exec_time", "away", CHDIR_AWAY)
    else {
        return;
    };
    let policy = dir.write(
        "open.yaml",
        &unlinkat_policy("host-cwd", 6, "Prefix", &dir.join("never/")),
    );
    let running = started(&[policy.as_str()]);
    let mut pids = Vec::new();
    for _ in 0..5 {
        let child = run::spawn(Command::new(&bin).current_dir(dir.path()));
        pids.push(child.id());
        let out = child.wait_with_output().expect("wait for the child");
        assert!(out.status.success());
    }
    running.wait_events(5, |e| {
        pids.iter()
            .any(|p| pid_of(e, "process_exit") == Some(*p as u64))
    });
    let f = running.stop();
    for pid in pids {
        let exec = f
            .events()
            .into_iter()
            .find(|e| pid_of(e, "process_exec") == Some(pid as u64))
            .unwrap_or_else(|| panic!("no exec event for {pid}:\n{f}"));
        let p = &exec["process_exec"]["process"];
        assert_eq!(p["cwd"], dir.str(), "{exec}");
        // spawned: a fork, then the exec, which Tetragon flags `clone`
        // (bpf/process/bpf_execve_event.h event_set_clone()); below the namespace's init
        assert_eq!(p["flags"], "execve clone inInitTree", "{exec}");
    }
}

/// Waits for a line on stdin, then prints the file named by its argument.
const WAIT_THEN_CAT: &str = r#"
#include <stdio.h>
int main(int argc, char **argv)
{
    char line[16];
    if (argc < 2 || !fgets(line, sizeof line, stdin))
        return 2;
    FILE *f = fopen(argv[1], "r");
    if (!f)
        return 1;
    int c;
    while ((c = fgetc(f)) != EOF)
        putchar(c);
    return fclose(f);
}
"#;

/// matchBinaries knows processes that were running before `policyctl run` started (read from
/// /proc), and `followChildren` matches the children of a matched binary.
#[test]
fn match_binaries_running_before_the_start_and_children() {
    let test = "match_binaries_running_before_the_start_and_children";
    if !run::ready(test) {
        return;
    }
    let dir = TempDir::new("early");
    let file = dir.write("early.txt", "early\n");
    let Some(waiter) = dir.compile_c(test, "waiter", WAIT_THEN_CAT) else {
        return;
    };
    let shell = dir.copy_binary("/bin/sh", "sh-copy");
    let mut early = run::spawn(
        Command::new(&waiter)
            .arg(&file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let early_pid = early.id();
    let follow = binaries("In", &[&shell]).replace(
        "        values:\n",
        "        followChildren: true\n        values:\n",
    );
    let text = [
        openat_policy("early-binary", dir.str(), &binaries("In", &[&waiter]), ""),
        openat_policy("children", dir.str(), &follow, ""),
        openat_policy("no-children", dir.str(), &binaries("In", &[&shell]), ""),
    ];
    let policy = dir.write("early.yaml", &text.join("---\n"));
    let running = started(&[policy.as_str(), "--policy-events-only"]);
    {
        use std::io::Write;
        let mut stdin = early.stdin.take().expect("piped stdin");
        stdin.write_all(b"go\n").expect("tell the child to go");
    }
    let out = early.wait_with_output().expect("wait for the child");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "early\n");
    let (status, _, out) = run_child(&shell, &["-c", &format!("{CAT} {file}; true")]);
    assert!(status.success());
    assert_eq!(out, "early\n");

    let from_cat = |e: &Value| {
        e["process_kprobe"]["process"]["binary"] == CAT
            && e["process_kprobe"]["parent"]["binary"] == shell.as_str()
    };
    running.wait_events(1, |e| pid_of(e, "process_kprobe") == Some(early_pid as u64));
    running.wait_events(1, from_cat);
    std::thread::sleep(Duration::from_millis(300));
    let f = running.stop();
    let events = f.events();
    assert_eq!(
        policies_of(&events, early_pid, &file),
        ["early-binary"],
        "{f}"
    );
    let early_event = &kprobes_of(&events, early_pid)[0]["process_kprobe"];
    assert_eq!(early_event["process"]["binary"], waiter.as_str(), "{f}");
    // every process here descends from its pid namespace's init: Tetragon's inInitTree
    assert_eq!(early_event["process"]["flags"], "procFS inInitTree", "{f}");
    assert_eq!(early_event["process"]["in_init_tree"], true, "{f}");
    let children: Vec<&str> = events
        .iter()
        .filter(|e| from_cat(e) && opened(e) == file)
        .map(|e| e["process_kprobe"]["policy_name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(children, ["children"], "{f}");
}

/// When a file has errors besides the K030 notes `policyctl run` tolerates, the count on its
/// last line agrees with the diagnostics it printed.
#[test]
fn refusal_counts_agree_with_the_printed_diagnostics() {
    let test = "refusal_counts_agree_with_the_printed_diagnostics";
    if !run::ready(test) {
        return;
    }
    let dir = TempDir::new("counts");
    // S001 (a field matchBinaries does not have) in a kprobes policy, which also gets K030
    let policy = dir.write(
        "count.yaml",
        &openat_policy(
            "host-count",
            dir.str(),
            &binaries("In", &["/never"]).replace(
                "        values:\n",
                "        followForks: true\n        values:\n",
            ),
            "",
        ),
    );
    let f = refused(&[policy.as_str()]);
    assert_eq!(f.status.code(), Some(1), "{f}");
    let stderr = f.stderr_text();
    assert!(stderr.contains("S001"), "{f}");
    let summary = f
        .stderr
        .iter()
        .find(|l| l.contains(" errors, ") || l.contains(" error, "))
        .unwrap_or_else(|| panic!("no summary line:\n{f}"));
    let printed: usize = summary
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{summary}"));
    let last = f.stderr.last().unwrap();
    let refused_with: usize = last
        .strip_prefix("policyctl run: refusing to load: ")
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{last}"));
    assert_eq!(printed, refused_with, "{f}");
}

/// Sigkill with NoPost: the matched binary dies and no event is printed for it.
#[test]
fn nopost_kills_without_an_event() {
    if !run::ready("nopost_kills_without_an_event") {
        return;
    }
    let (_dir, secret, quiet_cat, policy) = enforcing(
        "nopost",
        "host-nopost",
        "      - action: Sigkill\n      - action: NoPost\n",
    );
    let running = started(&[policy.as_str(), "--policy-events-only"]);
    let (status, pid, _) = run_child(&quiet_cat, &[&secret]);
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
    std::thread::sleep(Duration::from_millis(500));
    let f = running.stop();
    assert!(kprobes_of(&f.events(), pid).is_empty(), "{f}");
}

/// SIGTERM stops a run cleanly like SIGINT; a run killed with SIGKILL leaves nothing behind:
/// nothing is pinned, so its enforcing hook is gone with the process and the binary it
/// killed before runs freely.
#[test]
fn sigterm_detaches_and_sigkill_leaves_nothing_behind() {
    if !run::ready("sigterm_detaches_and_sigkill_leaves_nothing_behind") {
        return;
    }
    let (_dir, secret, victim, policy) =
        enforcing("signals", "host-signals", "      - action: Sigkill\n");
    for signal in [libc::SIGTERM, libc::SIGKILL] {
        let mut child = run::spawn(
            Command::new(run::policyctl())
                .args(["run", policy.as_str(), "--policy-events-only"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped()),
        );
        let mut stderr = std::io::BufReader::new(child.stderr.take().expect("piped stderr"));
        let mut text = String::new();
        while !text.contains("Ctrl-C stops") {
            let mut line = String::new();
            if std::io::BufRead::read_line(&mut stderr, &mut line).unwrap_or(0) == 0 {
                panic!("policyctl run ended before attaching:\n{text}");
            }
            text.push_str(&line);
        }
        // enforcing while it runs
        let (status, _, _) = run_child(&victim, &[&secret]);
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
        // SAFETY: kill on the pid of our own child, not waited for yet.
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        let status = child.wait().expect("wait for policyctl run");
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
        if signal == libc::SIGTERM {
            assert!(status.success(), "{status:?}\n{text}{rest}");
            assert!(rest.trim_end().ends_with("everything detached"), "{rest}");
        } else {
            assert_eq!(status.signal(), Some(libc::SIGKILL));
        }
        // gone with the process: the same binary reads the file now
        let (status, _, out) = run_child(&victim, &[&secret]);
        assert!(
            status.success(),
            "still enforced after {signal}: {status:?}"
        );
        assert_eq!(out, "secret\n");
    }
}

/// Events still in the ring buffer when the run stops are printed, not dropped: the run is
/// paused (SIGSTOP) while this test opens a file of its own directory 20,000 times, so every
/// event waits in the ring buffer, then resumed and stopped at once (SIGCONT, SIGINT). A
/// stop ends the event loop only after one more read, which takes every record the ring
/// buffer holds (`Events::poll` reads until it is empty), so with a ring buffer that holds
/// them all, every open is printed. The SIGSTOP may land before the loop's first read (it
/// did in CI once: 0 of 20,000 printed); a 1.5 s sleep put before the loop reproduced that
/// every time until the stop read once more.
#[test]
fn events_waiting_at_the_stop_are_printed() {
    if !run::ready("events_waiting_at_the_stop_are_printed") {
        return;
    }
    const OPENS: usize = 20_000;
    let dir = TempDir::new("drain");
    let target = dir.write("f", "x");
    let policy = dir.write("p.yaml", &openat_policy("host-drain", dir.str(), "", ""));
    let running = started(&[
        policy.as_str(),
        "--policy-events-only",
        "--ring-buffer-mib",
        "32",
    ]);
    running.signal(libc::SIGSTOP);
    let path = std::ffi::CString::new(target).unwrap();
    for _ in 0..OPENS {
        // SAFETY: a valid C string; the descriptor is closed at once.
        unsafe {
            let fd = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
            assert!(fd >= 0, "open failed");
            libc::close(fd);
        }
    }
    running.signal(libc::SIGCONT);
    let f = running.stop();
    let last = f.stderr.last().cloned().unwrap_or_default();
    let opened = f
        .events()
        .iter()
        .filter(|e| {
            e["process_kprobe"]["args"][1]["string_arg"].as_str() == Some(path.to_str().unwrap())
        })
        .count();
    assert_eq!(opened, OPENS, "{} of {OPENS} opens printed; {last}", opened);
    assert!(
        last.contains(&format!("{OPENS} events printed, 0 lost")),
        "{last}"
    );
}

/// Processes started while the hooks attach are not lost: verifying a hook's program takes
/// about a second here, and meanwhile the process tracking programs send an exec and an exit
/// event for every process; `run` reads them into memory as it attaches. A looping program,
/// started just before the run, starts copies of `true` one after another until the run is
/// running; the run has twelve tracepoint hooks (matching a binary that never runs) and a ring
/// buffer of 1 MiB, which the exec events alone of that time outgrow. Every
/// exec of the copy the run saw is printed, and nothing is lost.
#[test]
fn processes_started_while_attaching_are_not_lost() {
    if !run::ready("processes_started_while_attaching_are_not_lost") {
        return;
    }
    const LOOPER: &str = r#"
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    char stop[4096];
    snprintf(stop, sizeof stop, "%s/stop", argv[1]);
    long n = 0;
    while (access(stop, F_OK) != 0) {
        pid_t p = fork();
        if (p == 0) { execl(argv[2], argv[2], (char *)0); _exit(127); }
        waitpid(p, 0, 0);
        n++;
    }
    printf("%ld\n", n);
    return 0;
}
"#;
    let dir = TempDir::new("early");
    let Some(looper) = dir.compile_c(
        "processes_started_while_attaching_are_not_lost",
        "looper",
        LOOPER,
    ) else {
        return;
    };
    let t = dir.copy_binary("/bin/true", "t");
    let never = dir.join("never");
    let events = [
        "sys_enter_mkdirat",
        "sys_enter_unlinkat",
        "sys_enter_renameat2",
        "sys_enter_fchmodat",
        "sys_enter_fchownat",
        "sys_enter_symlinkat",
        "sys_enter_linkat",
        "sys_enter_mknodat",
        "sys_enter_rmdir",
        "sys_enter_chdir",
        "sys_enter_truncate",
        "sys_enter_statfs",
    ];
    let hooks: String = events
        .iter()
        .map(|e| {
            format!(
                "  - subsystem: \"syscalls\"\n    event: \"{e}\"\n    selectors:\n    - matchBinaries:\n      - operator: \"In\"\n        values:\n        - \"{never}\"\n"
            )
        })
        .collect();
    let policy = dir.write(
        "p.yaml",
        &format!(
            "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: \"early\"\nspec:\n  tracepoints:\n{hooks}"
        ),
    );
    let child = Command::new(&looper)
        .args([dir.str(), t.as_str()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the looper");
    let running = started(&[policy.as_str(), "--ring-buffer-mib", "1"]);
    dir.write("stop", "");
    let out = child.wait_with_output().expect("the looper's end");
    let started_n: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let f = running.stop();
    let last = f.stderr.last().cloned().unwrap_or_default();
    let execs = f
        .events()
        .iter()
        .filter(|e| e["process_exec"]["process"]["binary"].as_str() == Some(t.as_str()))
        .count();
    assert!(last.contains(" 0 lost"), "{last}");
    // an exec event holds at least everything before its arguments (cgroup, binary and cwd
    // buffers): this many outgrew the ring buffer during the attach, where nothing read it
    let least = std::mem::offset_of!(policyctl_runtime::layout::ExecEvent, args);
    assert!(
        execs * least > 1 << 20,
        "{execs} execs of {started_n} seen, at least {least} bytes each: too few to outgrow a 1 MiB ring buffer; {last}"
    );
    assert!(execs <= started_n, "{execs} execs of {started_n}");
}

/// `policyctl run` under `unshare -m` with one mount hidden in that private mount namespace
/// (the host's mounts are untouched): its one-line error, exit 1.
fn run_with_hidden_mount(test: &str, hide: &str, policy: &str) -> Option<(i32, String)> {
    if Command::new("unshare").arg("--version").output().is_err() {
        skip::skip(test, "unshare (util-linux) is not installed");
        return None;
    }
    let script = format!("{hide} && exec \"$0\" run \"$1\"");
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .arg(run::policyctl())
        .arg(policy)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run unshare");
    Some((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

#[test]
fn missing_tracefs_and_btf_are_one_line_errors() {
    if !run::ready("missing_tracefs_and_btf_are_one_line_errors") {
        return;
    }
    let dir = TempDir::new("mounts");
    let policy = dir.write("p.yaml", &openat_policy("host-mounts", dir.str(), "", ""));
    let test = "missing_tracefs_and_btf_are_one_line_errors";
    let Some((code, stderr)) =
        run_with_hidden_mount(test, "mount -t tmpfs none /sys/kernel/tracing", &policy)
    else {
        return;
    };
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        stderr,
        "policyctl run: tracefs is not mounted at /sys/kernel/tracing: mount it with `mount -t tracefs tracefs /sys/kernel/tracing`\n"
    );
    let Some((code, stderr)) =
        run_with_hidden_mount(test, "mount -t tmpfs none /sys/kernel/btf", &policy)
    else {
        return;
    };
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        stderr,
        "policyctl run: this kernel has no BTF (/sys/kernel/btf/vmlinux): policyctl run needs a kernel built with CONFIG_DEBUG_INFO_BTF=y\n"
    );
}

/// The `process.binary` of an event.
fn binary_of(event: &Value) -> &str {
    event["process_kprobe"]["process"]["binary"]
        .as_str()
        .unwrap_or("")
}

/// matchNamespaces (the test's own pid and uts namespaces) and matchCapabilities on this host,
/// on copies of `cat` the test starts: directly (its namespaces, root's capabilities), under `unshare`
/// (util-linux) in new uts and pid namespaces, and under `setpriv` without CAP_SYS_ADMIN in its
/// bounding set (so not in its effective set after the exec). The events are told apart by
/// the copy's name.
#[test]
fn match_namespaces_and_capabilities() {
    if !run::ready("match_namespaces_and_capabilities") {
        return;
    }
    for tool in ["/usr/bin/unshare", "/usr/bin/setpriv"] {
        if !std::path::Path::new(tool).exists() {
            skip::skip(
                "match_namespaces_and_capabilities",
                &format!("{tool} (util-linux) is not installed"),
            );
            return;
        }
    }
    let dir = TempDir::new("nscaps");
    let file = dir.write("data.txt", "data\n");
    let plain = dir.copy_binary(CAT, "plain-cat");
    let uts = dir.copy_binary(CAT, "uts-cat");
    let pidns = dir.copy_binary(CAT, "pidns-cat");
    let nocap = dir.copy_binary(CAT, "nocap-cat");
    let scope = binaries("Prefix", &[&format!("{}/", dir.str())]);
    // the test's own namespaces by inode number: `host_ns` reads /proc/1/ns, which a
    // sandbox may not let even root read (policyctl run then refuses, as Tetragon would fail)
    let ns = |kind: &str, operator: &str| {
        let file = kind.to_ascii_lowercase();
        let link = std::fs::read_link(format!("/proc/self/ns/{file}")).expect("own namespace");
        let inode = policyctl_runtime::plan::ns_inode(&link.to_string_lossy()).expect("inode");
        format!("      matchNamespaces:\n      - namespace: {kind}\n        operator: {operator}\n        values:\n        - \"{inode}\"\n")
    };
    let caps = |operator: &str| {
        format!("      matchCapabilities:\n      - type: Effective\n        operator: {operator}\n        values:\n        - \"CAP_SYS_ADMIN\"\n")
    };
    let policies = [
        ("pid-same", format!("{scope}{}", ns("Pid", "In"))),
        ("uts-other", format!("{scope}{}", ns("Uts", "NotIn"))),
        ("sys-admin", format!("{scope}{}", caps("In"))),
        ("no-sys-admin", format!("{scope}{}", caps("NotIn"))),
    ];
    let text: Vec<String> = policies
        .iter()
        .map(|(name, more)| openat_policy(name, dir.str(), more, ""))
        .collect();
    let policy = dir.write("nscaps.yaml", &text.join("---\n"));
    let running = started(&[policy.as_str(), "--policy-events-only"]);
    let runs: [(&str, Vec<&str>); 4] = [
        (&plain, vec![&file]),
        ("/usr/bin/unshare", vec!["--uts", &uts, &file]),
        ("/usr/bin/unshare", vec!["--pid", "--fork", &pidns, &file]),
        (
            "/usr/bin/setpriv",
            vec!["--bounding-set", "-sys_admin", &nocap, &file],
        ),
    ];
    for (program, args) in &runs {
        let (status, _, out) = run_child(program, args);
        assert!(status.success(), "{program} {args:?}: {status:?}");
        assert_eq!(out, "data\n", "{program} {args:?}");
    }
    // plain: pid-same, sys-admin; uts: pid-same, uts-other, sys-admin; pidns: sys-admin;
    // nocap: pid-same, no-sys-admin
    running.wait_events(8, |e| {
        binary_of(e).starts_with(dir.str()) && opened(e) == file
    });
    let f = running.stop();
    let events = f.events();
    let seen = |binary: &str| {
        let mut names: Vec<String> = events
            .iter()
            .filter(|e| binary_of(e) == binary && opened(e) == file)
            .map(|e| {
                e["process_kprobe"]["policy_name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        names.sort();
        names
    };
    assert_eq!(seen(&plain), ["pid-same", "sys-admin"], "{f}");
    assert_eq!(seen(&uts), ["pid-same", "sys-admin", "uts-other"], "{f}");
    assert_eq!(seen(&pidns), ["sys-admin"], "{f}");
    assert_eq!(seen(&nocap), ["no-sys-admin", "pid-same"], "{f}");
}

/// A program that changes its own namespaces and capabilities between opens: `argv[1]` before
/// any change, `argv[2]` after moving to a new uts namespace, `argv[3]` with no further change,
/// `argv[4]` after dropping CAP_SYS_ADMIN from its effective set, `argv[5]` with no further
/// change. With a sixth argument it first waits for a byte on stdin.
const CHANGER: &str = include_str!("../testdata/process/changer.c");

/// matchCapabilityChanges and matchNamespaceChanges compare with the values stored at exec, and
/// a reported change becomes the stored value (Tetragon's process_filter_capability_change and
/// process_filter_namespace_change in bpf/process/pfilter.h, the refresh in generic_output):
/// each change is reported at the open after it, and not again at the next open.
#[test]
fn capability_and_namespace_changes() {
    if !run::ready("capability_and_namespace_changes") {
        return;
    }
    let dir = TempDir::new("changes");
    let Some(changer) = dir.compile_c("capability_and_namespace_changes", "changer", CHANGER)
    else {
        return;
    };
    let files: Vec<String> = (1..=5)
        .map(|i| dir.write(&format!("f{i}"), "data\n"))
        .collect();
    let scope = binaries("In", &[&changer]);
    let policies = [
        (
            "cap-change",
            format!("{scope}      matchCapabilityChanges:\n      - type: Effective\n        operator: In\n        values:\n        - \"CAP_SYS_ADMIN\"\n"),
        ),
        (
            "ns-change",
            format!("{scope}      matchNamespaceChanges:\n      - operator: In\n        values:\n        - \"Uts\"\n"),
        ),
    ];
    let text: Vec<String> = policies
        .iter()
        .map(|(name, more)| openat_policy(name, dir.str(), more, ""))
        .collect();
    let policy = dir.write("changes.yaml", &text.join("---\n"));
    let running = started(&[policy.as_str(), "--policy-events-only"]);
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let (status, pid, _) = run_child(&changer, &args);
    assert!(status.success(), "{changer}: {status:?}");
    running.wait_events(2, |e| pid_of(e, "process_kprobe") == Some(pid as u64));
    let f = running.stop();
    let events = f.events();
    let reported: Vec<(String, String)> = kprobes_of(&events, pid)
        .iter()
        .map(|e| {
            (
                e["process_kprobe"]["policy_name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                opened(e).to_string(),
            )
        })
        .collect();
    assert_eq!(
        reported,
        [
            ("ns-change".to_string(), files[1].clone()),
            ("cap-change".to_string(), files[3].clone()),
        ],
        "{f}"
    );
}

/// A process running before `policyctl run` started is seeded from /proc with the namespaces
/// and capabilities the *Changes filters compare with (as Tetragon's procfs walk seeds its
/// execve_map, pkg/sensors/exec/procevents/proc_reader_linux.go `procToKeyValue`): its changes
/// after the start are reported as a process run later sees its own.
#[test]
fn changes_of_a_process_started_before_the_run() {
    if !run::ready("changes_of_a_process_started_before_the_run") {
        return;
    }
    let dir = TempDir::new("changes-before");
    let Some(changer) = dir.compile_c(
        "changes_of_a_process_started_before_the_run",
        "changer",
        CHANGER,
    ) else {
        return;
    };
    let files: Vec<String> = (1..=5)
        .map(|i| dir.write(&format!("f{i}"), "data\n"))
        .collect();
    let mut gated = run::spawn(
        Command::new(&changer)
            .args(&files)
            .arg("wait")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let pid = gated.id();
    let scope = binaries("In", &[&changer]);
    let policies = [
        (
            "cap-change",
            format!("{scope}      matchCapabilityChanges:\n      - type: Effective\n        operator: In\n        values:\n        - \"CAP_SYS_ADMIN\"\n"),
        ),
        (
            "ns-change",
            format!("{scope}      matchNamespaceChanges:\n      - operator: In\n        values:\n        - \"Uts\"\n"),
        ),
    ];
    let text: Vec<String> = policies
        .iter()
        .map(|(name, more)| openat_policy(name, dir.str(), more, ""))
        .collect();
    let policy = dir.write("changes.yaml", &text.join("---\n"));
    let running = started(&[policy.as_str(), "--policy-events-only"]);
    {
        use std::io::Write;
        let mut stdin = gated.stdin.take().expect("piped stdin");
        stdin.write_all(b"g").expect("tell the changer to go");
    }
    let status = gated.wait().expect("wait for the changer");
    assert!(status.success(), "{changer}: {status:?}");
    running.wait_events(2, |e| pid_of(e, "process_kprobe") == Some(pid as u64));
    let f = running.stop();
    let events = f.events();
    let reported: Vec<(String, String)> = kprobes_of(&events, pid)
        .iter()
        .map(|e| {
            (
                e["process_kprobe"]["policy_name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                opened(e).to_string(),
            )
        })
        .collect();
    assert_eq!(
        reported,
        [
            ("ns-change".to_string(), files[1].clone()),
            ("cap-change".to_string(), files[3].clone()),
        ],
        "{f}"
    );
}

/// Connects (each attempt may fail: only the call is watched) to 127.0.0.1:9050, 127.0.0.1:7000,
/// [::1]:9060 and the unix socket `argv[1]`/`absent.sock`.
const CONNECTS: &str = r#"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
static void inet4(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    connect(fd, (struct sockaddr *)&a, sizeof(a));
    close(fd);
}
int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    inet4(9050);
    inet4(7000);
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(9060) };
    inet_pton(AF_INET6, "::1", &a6.sin6_addr);
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    connect(fd, (struct sockaddr *)&a6, sizeof(a6));
    close(fd);
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    snprintf(un.sun_path, sizeof(un.sun_path), "%s/absent.sock", argv[1]);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(fd, (struct sockaddr *)&un, sizeof(un));
    close(fd);
    puts("done");
    return 0;
}
"#;

/// `sockaddr` and `sockaddr_un` args of `connect` (a syscall hook, served by its tracepoint
/// here), filtered with a port range (SPort, the address's port, as Tetragon's filter_inet
/// takes it for sockaddr) and with Family on sockaddr_un: the events carry Tetragon's
/// `sockaddr_arg` and `sockaddrun_arg`.
#[test]
fn sockaddr_and_sockaddr_un_args_with_port_range_and_family() {
    let test = "sockaddr_and_sockaddr_un_args_with_port_range_and_family";
    if !run::ready(test) {
        return;
    }
    let dir = TempDir::new("sockaddr");
    let Some(bin) = dir.compile_c(test, "connects", CONNECTS) else {
        return;
    };
    let policy = dir.write(
        "connect.yaml",
        &format!(
            r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "host-sockaddr"
spec:
  kprobes:
  - call: "sys_connect"
    syscall: true
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "sockaddr"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "{bin}"
      matchArgs:
      - index: 1
        operator: "SPort"
        values:
        - "9000:9100"
"#
        ),
    );
    // a second policy: one policy hooks a call once (Tetragon's kprobe_multi refuses more)
    let policy_un = dir.write(
        "connect-un.yaml",
        &format!(
            r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "host-sockaddr-un"
spec:
  kprobes:
  - call: "sys_connect"
    syscall: true
    args:
    - index: 1
      type: "sockaddr_un"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "{bin}"
      matchArgs:
      - index: 1
        operator: "Family"
        values:
        - "AF_UNIX"
"#
        ),
    );
    let running = started(&[
        policy.as_str(),
        policy_un.as_str(),
        "-o",
        "json",
        "--policy-events-only",
    ]);
    let (status, pid, out) = run_child(&bin, &[dir.str()]);
    assert!(status.success());
    assert_eq!(out, "done\n");
    running.wait_events(3, |e| pid_of(e, "process_kprobe") == Some(pid as u64));
    let f = running.stop();
    let mine = kprobes_of(&f.events(), pid);
    let args: Vec<&Value> = mine.iter().map(|e| &e["process_kprobe"]["args"]).collect();
    assert_eq!(
        mine.len(),
        3,
        "9050, 9060 and the unix socket, not 7000:\n{f}"
    );
    assert_eq!(
        args[0][1],
        json!({"sockaddr_arg": {"family": "AF_INET", "addr": "127.0.0.1", "port": 9050}}),
        "{f}"
    );
    assert_eq!(
        args[1][1],
        json!({"sockaddr_arg": {"family": "AF_INET6", "addr": "::1", "port": 9060}}),
        "{f}"
    );
    assert_eq!(
        args[2][0],
        json!({"sockaddrun_arg": {"family": "AF_UNIX", "path": format!("{}/absent.sock", dir.str())}}),
        "{f}"
    );
}

/// Writes "hello " and "iovec" with one writev to /dev/null.
const WRITEV: &str = r#"
#include <fcntl.h>
#include <stdio.h>
#include <sys/uio.h>
#include <unistd.h>
int main(void)
{
    char a[] = "hello ", b[] = "iovec";
    struct iovec v[2] = { { a, 6 }, { b, 5 } };
    int fd = open("/dev/null", O_WRONLY);
    ssize_t n = writev(fd, v, 2);
    close(fd);
    printf("%zd\n", n);
    return 0;
}
"#;

/// A `char_iovec` arg of `writev` (Tetragon's sys-writev test policy, its count from
/// `sizeArgIndex`): the buffers' bytes one after the other, as `bytes_arg`.
#[test]
fn char_iovec_arg_of_writev() {
    let test = "char_iovec_arg_of_writev";
    if !run::ready(test) {
        return;
    }
    let dir = TempDir::new("iovec");
    let Some(bin) = dir.compile_c(test, "writev", WRITEV) else {
        return;
    };
    let policy = dir.write(
        "writev.yaml",
        &format!(
            r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "host-writev"
spec:
  kprobes:
  - call: "sys_writev"
    syscall: true
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "char_iovec"
      sizeArgIndex: 3
    - index: 2
      type: "nop"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "{bin}"
"#
        ),
    );
    let running = started(&[policy.as_str(), "-o", "json", "--policy-events-only"]);
    let (status, pid, out) = run_child(&bin, &[]);
    assert!(status.success());
    assert_eq!(out, "11\n");
    running.wait_events(1, |e| pid_of(e, "process_kprobe") == Some(pid as u64));
    let f = running.stop();
    let mine = kprobes_of(&f.events(), pid);
    assert_eq!(mine.len(), 1, "{f}");
    // base64 of "hello iovec"
    assert_eq!(
        mine[0]["process_kprobe"]["args"][1],
        json!({"bytes_arg": "aGVsbG8gaW92ZWM="}),
        "{f}"
    );
}

/// A `return: true` policy on `sys_openat` for `copy` opening files under `dir`: reports the
/// opens whose return value is negative (failed), with the entry's args and the return value.
fn failed_open_policy(name: &str, dir: &str, copy: &str) -> String {
    format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "{name}"
spec:
  kprobes:
  - call: "sys_openat"
    syscall: true
    return: true
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "string"
    returnArg:
      index: 0
      type: "int"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "{copy}"
      matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "{dir}/"
      matchReturnArgs:
      - index: 0
        operator: "LT"
        values:
        - "0"
"#
    )
}

#[test]
fn return_probe_on_a_syscall_tracepoint_reports_the_return_value() {
    if !run::ready("return_probe_on_a_syscall_tracepoint_reports_the_return_value") {
        return;
    }
    let dir = TempDir::new("retprobe");
    let present = dir.write("present.txt", "present\n");
    let missing = format!("{}/missing.txt", dir.str());
    let copy = dir.copy_binary(CAT, "cat-retprobe");
    let policy = dir.write(
        "policy.yaml",
        &failed_open_policy("host-failed-open", dir.str(), &copy),
    );
    let running = started(&[policy.as_str(), "-o", "json", "--policy-events-only"]);
    let stderr = running.stderr().join("\n");
    assert!(
        stderr.contains("policyctl run: host-failed-open: tracepoint `syscalls/sys_enter_openat` attached with tracepoint"),
        "{stderr}"
    );
    assert!(
        stderr.contains("policyctl run: host-failed-open: its return attached with tracepoint syscalls/sys_exit_openat"),
        "{stderr}"
    );
    // cat opens the present file (a descriptor: no event) and fails on the missing one
    let (status, pid, out) = run_child(&copy, &[&present, &missing]);
    assert!(!status.success(), "cat fails on the missing file");
    assert_eq!(out, "present\n");
    let events = running.wait_events(1, |e| pid_of(e, "process_kprobe") == Some(pid as u64));
    let f = running.stop();
    let mine = kprobes_of(&f.events(), pid);
    assert_eq!(mine.len(), 1, "one event, for the failed open only:\n{f}");
    assert_eq!(mine[0], events[0]);
    let k = &mine[0]["process_kprobe"];
    assert_eq!(k["function_name"], "__x64_sys_openat");
    assert_eq!(k["policy_name"], "host-failed-open");
    assert_eq!(k["process"]["binary"], copy.as_str());
    assert_eq!(k["args"][0]["int_arg"], -100, "AT_FDCWD");
    assert_eq!(k["args"][1]["string_arg"], missing.as_str());
    assert_eq!(k["args"].as_array().map(Vec::len), Some(2), "{k}");
    assert_eq!(k["return"], json!({"int_arg": -2}), "-ENOENT");
    assert_eq!(k["action"], "KPROBE_ACTION_POST");
    assert_eq!(k["return_action"], "KPROBE_ACTION_POST");
    // protojson's field order: args, return, action, policy_name, return_action
    let keys: Vec<&str> = k.as_object().unwrap().keys().map(String::as_str).collect();
    let at = |key: &str| keys.iter().position(|k| *k == key).unwrap();
    assert!(
        at("args") < at("return")
            && at("return") < at("action")
            && at("action") < at("policy_name")
            && at("policy_name") < at("return_action"),
        "{keys:?}"
    );
    for e in f.events() {
        assert!(opened(&e).starts_with(dir.str()), "{e}");
    }
}

/// A kprobe whose `call` is a `syscalls` list of two syscalls becomes one hook per syscall
/// (served on this host by each syscall's tracepoint), and both fire, each for the binary the
/// test started: `cat` opening a file (openat), `rm` removing one (unlinkat).
#[test]
fn list_of_two_syscalls_fires_for_each() {
    if !run::ready("list_of_two_syscalls_fires_for_each") {
        return;
    }
    let dir = TempDir::new("list-two");
    let cat = dir.copy_binary(CAT, "cat-list");
    let rm = dir.copy_binary("/usr/bin/rm", "rm-list");
    let read = dir.write("read.txt", "listed\n");
    let gone = dir.write("gone.txt", "");
    let policy = dir.write(
        "list.yaml",
        &format!(
            r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "host-list"
spec:
  lists:
  - name: "files"
    type: "syscalls"
    values:
    - "sys_openat"
    - "sys_unlinkat"
  kprobes:
  - call: "list:files"
    args:
    - index: 1
      type: "string"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "{cat}"
        - "{rm}"
      matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "{}/"
"#,
            dir.str()
        ),
    );
    let running = started(&[policy.as_str(), "--policy-events-only"]);
    let stderr = running.stderr();
    for event in ["sys_enter_openat", "sys_enter_unlinkat"] {
        assert!(
            stderr
                .iter()
                .any(|l| l.starts_with("policyctl run: host-list: ")
                    && l.contains(event)
                    && l.contains("attached with")),
            "{event}: {stderr:?}"
        );
    }
    let (status, cat_pid, _) = run_child(&cat, &[&read]);
    assert!(status.success());
    let (status, rm_pid, _) = run_child(&rm, &[&gone]);
    assert!(status.success());
    running.wait_events(1, |e| pid_of(e, "process_kprobe") == Some(cat_pid as u64));
    running.wait_events(1, |e| pid_of(e, "process_kprobe") == Some(rm_pid as u64));
    let f = running.stop();
    let events = f.events();
    let opened: Vec<Value> = kprobes_of(&events, cat_pid);
    assert_eq!(opened.len(), 1, "{f}");
    assert_eq!(
        opened[0]["process_kprobe"]["function_name"],
        "__x64_sys_openat"
    );
    assert_eq!(
        opened[0]["process_kprobe"]["args"][0]["string_arg"],
        read.as_str()
    );
    let removed: Vec<Value> = kprobes_of(&events, rm_pid);
    assert_eq!(removed.len(), 1, "{f}");
    assert_eq!(
        removed[0]["process_kprobe"]["function_name"],
        "__x64_sys_unlinkat"
    );
    assert_eq!(
        removed[0]["process_kprobe"]["args"][0]["string_arg"],
        gone.as_str()
    );
    assert!(!std::path::Path::new(&gone).exists());
}

/// The argument gate (issue 16): every selector filters the path, so the path is read before
/// the hook's configuration is looked up, and a call whose path has a length no selector can
/// match returns there. A path of the Equal value's length goes on to the trie (and fails it),
/// the Equal value and a path ending as the Postfix value are reported by their selector, with
/// the gated path and the other arguments in the event, and so is a path longer than the 64
/// bytes the gate reads first (read again, whole). The same policy with a third selector
/// that filters no path (matchBinaries only) has no argument gate: all the cat's opens are
/// reported. Every selector has matchBinaries, so the binary gate lets only the cat's calls
/// through in both.
#[test]
fn argument_gate_lets_through_what_a_selector_can_match() {
    if !run::ready("argument_gate_lets_through_what_a_selector_can_match") {
        return;
    }
    let dir = TempDir::new("gate");
    let cat = dir.copy_binary(CAT, "cat-gate");
    let exact = dir.write("exact.txt", "exact\n");
    let same_len = dir.write("other.txt", "other\n");
    let conf = dir.write("settings.conf", "conf\n");
    let longer = dir.write("a-longer-name.txt", "longer\n");
    // longer than the 64 bytes the gate reads onto the stack: read again, whole
    let long_conf = dir.write(
        "a-name-long-enough-that-the-path-overflows-the-gates-first-read.conf",
        "long\n",
    );
    assert!(long_conf.len() > 64, "{long_conf}");
    let policy = |name: &str, third: &str| {
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
    - matchBinaries:
      - operator: "In"
        values:
        - "{cat}"
      matchArgs:
      - index: 1
        operator: "Equal"
        values:
        - "{exact}"
    - matchBinaries:
      - operator: "In"
        values:
        - "{cat}"
      matchArgs:
      - index: 1
        operator: "Postfix"
        values:
        - ".conf"
{third}"#
        )
    };
    for (name, third, reported) in [
        (
            "host-gate",
            "",
            vec![exact.as_str(), long_conf.as_str(), conf.as_str()],
        ),
        (
            "host-no-gate",
            &*format!(
                "    - matchBinaries:\n      - operator: \"In\"\n        values:\n        - \"{cat}\"\n"
            ),
            vec![
                exact.as_str(),
                same_len.as_str(),
                longer.as_str(),
                long_conf.as_str(),
                conf.as_str(),
            ],
        ),
    ] {
        let file = dir.write(&format!("{name}.yaml"), &policy(name, third));
        let running = started(&[file.as_str(), "--policy-events-only"]);
        // the last file opened is reported in both: once its event is in, so are the others'
        let order = [&exact, &same_len, &longer, &long_conf, &conf].map(|p| p.as_str());
        let (status, pid, _) = run_child(&cat, &order);
        assert!(status.success());
        running.wait_events(1, |e| {
            pid_of(e, "process_kprobe") == Some(pid as u64) && opened(e) == conf.as_str()
        });
        let f = running.stop();
        // (without the gate, the loader's opens of libraries are reported too)
        let mine: Vec<Value> = kprobes_of(&f.events(), pid)
            .into_iter()
            .filter(|e| opened(e).starts_with(dir.str()))
            .collect();
        let paths: Vec<&str> = mine.iter().map(opened).collect();
        let mut expected = reported.clone();
        // cat opens its files in argument order
        expected.sort_by_key(|p| order.iter().position(|f| f == p));
        assert_eq!(paths, expected, "{name}: {f}");
        for e in &mine {
            let k = &e["process_kprobe"];
            assert_eq!(k["args"][0]["int_arg"], -100, "{name}: AT_FDCWD: {e}");
            assert_eq!(k["args"][2]["int_arg"], 0, "{name}: O_RDONLY: {e}");
        }
    }
}

/// A raw tracepoint (`raw: true`) reads the TP_PROTO arguments of sched_process_exec: arg 0
/// (`struct task_struct *`) resolved to its `pid`, arg 2 the `struct linux_binprm *`, whose
/// file path the selector matches: only the exec of the binary the test copied is reported.
#[test]
fn raw_tracepoint_reads_proto_args() {
    if !run::ready("raw_tracepoint_reads_proto_args") {
        return;
    }
    let dir = TempDir::new("raw-tp");
    let binary = dir.copy_binary("/usr/bin/true", "true-raw");
    let policy = dir.write(
        "raw.yaml",
        &format!(
            r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "host-raw-tp"
spec:
  tracepoints:
  - subsystem: "sched"
    event: "sched_process_exec"
    raw: true
    args:
    - index: 0
      type: "int"
      resolve: "pid"
    - index: 2
      type: "linux_binprm"
    selectors:
    - matchArgs:
      - index: 2
        operator: "Equal"
        values:
        - "{binary}"
"#
        ),
    );
    let running = started(&[policy.as_str(), "--policy-events-only"]);
    assert!(
        running.stderr().iter().any(|l| l
            == "policyctl run: host-raw-tp: raw tracepoint `sched/sched_process_exec` attached with raw tracepoint"),
        "{:?}",
        running.stderr()
    );
    let (status, pid, _) = run_child(&binary, &[]);
    assert!(status.success());
    running.wait_events(1, |e| pid_of(e, "process_tracepoint") == Some(pid as u64));
    let f = running.stop();
    let mine: Vec<Value> = f
        .events()
        .into_iter()
        .filter(|e| e.get("process_tracepoint").is_some())
        .collect();
    assert_eq!(mine.len(), 1, "only the copied binary's exec:\n{f}");
    let t = &mine[0]["process_tracepoint"];
    assert_eq!(t["subsys"], "sched");
    assert_eq!(t["event"], "sched_process_exec");
    assert_eq!(t["policy_name"], "host-raw-tp");
    assert_eq!(t["args"][0]["int_arg"], pid as i64, "{f}");
    assert_eq!(
        t["args"][1]["linux_binprm_arg"]["path"],
        binary.as_str(),
        "{f}"
    );
}

/// 48 tracepoint hooks in 4 policies loaded together (past the 12 program copies per kind
/// policyctl had before): all attach, and the copied binary's syscalls are reported by the
/// hooks of several policies.
#[test]
fn many_tracepoint_hooks_at_once() {
    if !run::ready("many_tracepoint_hooks_at_once") {
        return;
    }
    let events: Vec<String> = std::fs::read_dir("/sys/kernel/tracing/events/syscalls")
        .expect("tracefs syscalls events")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("sys_enter_"))
        .collect();
    let mut events = events;
    events.sort();
    // the syscalls `true` always makes, then others up to 48
    let mut chosen: Vec<String> = [
        "sys_enter_execve",
        "sys_enter_exit_group",
        "sys_enter_brk",
        "sys_enter_mmap",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let others: Vec<String> = events
        .into_iter()
        .filter(|e| !chosen.contains(e))
        .take(44)
        .collect();
    chosen.extend(others);
    assert_eq!(chosen.len(), 48);
    let dir = TempDir::new("many");
    let binary = dir.copy_binary("/usr/bin/true", "true-many");
    let mut files = Vec::new();
    for (p, group) in chosen.chunks(12).enumerate() {
        let hooks: String = group
            .iter()
            .map(|e| {
                format!(
                    "  - subsystem: \"syscalls\"\n    event: \"{e}\"\n    selectors:\n    - matchBinaries:\n      - operator: \"In\"\n        values:\n        - \"{binary}\"\n"
                )
            })
            .collect();
        files.push(dir.write(
            &format!("p{p}.yaml"),
            &format!("apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: \"host-many-{p}\"\nspec:\n  tracepoints:\n{hooks}"),
        ));
    }
    let mut args: Vec<&str> = files.iter().map(String::as_str).collect();
    args.push("--policy-events-only");
    let running = started(&args);
    let attached = running
        .stderr()
        .iter()
        .filter(|l| l.contains("attached with tracepoint"))
        .count();
    assert_eq!(attached, 48, "{:?}", running.stderr());
    let (status, pid, _) = run_child(&binary, &[]);
    assert!(status.success());
    running.wait_events(1, |e| {
        pid_of(e, "process_tracepoint") == Some(pid as u64)
            && e["process_tracepoint"]["event"] == "sys_enter_exit_group"
    });
    let f = running.stop();
    let mine: Vec<Value> = f
        .events()
        .into_iter()
        .filter(|e| pid_of(e, "process_tracepoint") == Some(pid as u64))
        .collect();
    let policies: std::collections::BTreeSet<String> = mine
        .iter()
        .map(|e| {
            e["process_tracepoint"]["policy_name"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert!(policies.contains("host-many-0"), "{f}");
    assert!(
        mine.iter().all(|e| chosen
            .iter()
            .any(|c| e["process_tracepoint"]["event"] == c.as_str())),
        "{f}"
    );
}

/// The file offset of `symbol` in the ELF file at `path`, from `nm` (its address) and
/// `readelf -lW` (the LOAD segment holding it: offset = address - p_vaddr + p_offset).
fn file_offset(path: &str, symbol: &str) -> u64 {
    let nm = Command::new("nm").arg(path).output().expect("nm");
    let nm = String::from_utf8_lossy(&nm.stdout);
    let addr = nm
        .lines()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            let (a, _, name) = (w.next()?, w.next()?, w.next()?);
            (name == symbol).then(|| u64::from_str_radix(a, 16).ok())?
        })
        .unwrap_or_else(|| panic!("no {symbol} in nm {path}:\n{nm}"));
    let re = Command::new("readelf")
        .args(["-lW", path])
        .output()
        .expect("readelf");
    let re = String::from_utf8_lossy(&re.stdout);
    re.lines()
        .filter(|l| l.trim_start().starts_with("LOAD"))
        .find_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok();
            let (off, vaddr, filesz) = (hex(w[1])?, hex(w[2])?, hex(w[4])?);
            (vaddr <= addr && addr < vaddr + filesz).then_some(addr - vaddr + off)
        })
        .unwrap_or_else(|| panic!("no LOAD segment holds {addr:#x}:\n{re}"))
}

/// A uprobe by `offsets` (the file offset of `target_fn`, worked out with nm and readelf)
/// reports the call with its args, the `offset` and no symbol, as Tetragon's event has it.
#[test]
fn uprobe_by_offset_reports_args() {
    if !run::ready("uprobe_by_offset_reports_args") {
        return;
    }
    let dir = TempDir::new("uprobe-offset");
    let Some(bin) = dir.compile_c(
        "uprobe_by_offset_reports_args",
        "target",
        run::UPROBE_TARGET,
    ) else {
        return;
    };
    let offset = file_offset(&bin, "target_fn");
    let policy = dir.write(
        "uprobe.yaml",
        &format!(
            r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "host-uprobe-offset"
spec:
  uprobes:
  - path: "{bin}"
    offsets:
    - {offset}
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
                "policyctl run: host-uprobe-offset: uprobe `{bin}+{offset:#x}` attached with uprobe"
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
    assert!(u.get("symbol").is_none(), "{f}");
    assert_eq!(u["offset"], offset.to_string());
    assert_eq!(
        u["args"],
        json!([{"int_arg": 42}, {"string_arg": "hello-uprobe"}]),
        "{f}"
    );
}

/// GetUrl and DnsLookup (`--allow-network-actions`): a policy on opens of the test's files
/// fetches a URL of an HTTP listener the test owns, another looks a name up at a UDP socket the
/// test owns (`--dns-server`); the events say KPROBE_ACTION_GETURL and KPROBE_ACTION_DNSLOOKUP,
/// the listener gets the GET (request line and Host), the socket gets an A query for the name.
/// Without the flag both `run` and `run --dry-run` refuse the policies, naming the flag.
#[test]
fn network_actions_fetch_and_look_up() {
    if !run::ready("network_actions_fetch_and_look_up") {
        return;
    }
    use std::io::{BufRead, BufReader, Write};
    let http = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let http_port = http.local_addr().unwrap().port();
    let dns = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let dns_addr = dns.local_addr().unwrap().to_string();
    let (tx, rx) = std::sync::mpsc::channel::<(String, Vec<u8>)>();
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        if let Ok((conn, _)) = http.accept() {
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut head = Vec::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push(line.trim_end().to_string());
            }
            let mut conn = conn;
            let _ = conn.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
            let _ = tx.send(("http".into(), head.join("\n").into_bytes()));
        }
    });
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        if let Ok((n, from)) = dns.recv_from(&mut buf) {
            let mut reply = buf[..n].to_vec();
            reply[2] |= 0x80; // a response, no answer
            let _ = dns.send_to(&reply, from);
            let _ = tx2.send(("dns".into(), buf[..n].to_vec()));
        }
    });

    let dir = TempDir::new("netactions");
    let url_dir = dir.join("url");
    let dns_dir = dir.join("dns");
    std::fs::create_dir_all(&url_dir).unwrap();
    std::fs::create_dir_all(&dns_dir).unwrap();
    let url = format!("http://127.0.0.1:{http_port}/canary?file=secret");
    let geturl = dir.write(
        "geturl.yaml",
        &openat_policy(
            "host-geturl",
            &url_dir,
            "",
            &format!("      - action: GetUrl\n        argUrl: \"{url}\"\n"),
        ),
    );
    let lookup = dir.write(
        "dnslookup.yaml",
        &openat_policy(
            "host-dnslookup",
            &dns_dir,
            "",
            "      - action: DnsLookup\n        argFqdn: \"canary.policyctl.test\"\n",
        ),
    );

    // without the flag: refused, naming it, by the run and by the dry run
    let f = refused(&[geturl.as_str(), lookup.as_str()]);
    assert_eq!(f.status.code(), Some(1), "{f}");
    let text = f.stderr_text();
    assert!(
        text.contains(&format!("policy `host-geturl`: GetUrl `{url}` would make this host send traffic when its events arrive; pass --allow-network-actions to run it"))
            && text.contains("policy `host-dnslookup`: DnsLookup `canary.policyctl.test` would make this host send traffic"),
        "{f}"
    );
    assert!(!text.contains("attached with"), "{f}");
    for (flag, code) in [(None, 1), (Some("--allow-network-actions"), 0)] {
        let mut cmd = Command::new(run::policyctl());
        cmd.args(["run", "--dry-run", geturl.as_str()]);
        cmd.args(flag);
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(code), "{flag:?}:\n{stdout}");
        assert_eq!(
            stdout.contains("pass --allow-network-actions to run it"),
            flag.is_none(),
            "{flag:?}:\n{stdout}"
        );
    }

    let running = started(&[
        geturl.as_str(),
        lookup.as_str(),
        "--allow-network-actions",
        "--dns-server",
        dns_addr.as_str(),
        "-o",
        "json",
        "--policy-events-only",
    ]);
    let a = format!("{url_dir}/a");
    let b = format!("{dns_dir}/b");
    std::fs::write(&a, "a\n").unwrap();
    std::fs::write(&b, "b\n").unwrap();
    let (status, pid, _) = run_child(CAT, &[&a, &b]);
    assert!(status.success());
    running.wait_events(2, |e| pid_of(e, "process_kprobe") == Some(pid as u64));
    let mut got = std::collections::BTreeMap::new();
    for _ in 0..2 {
        let (what, bytes) = rx
            .recv_timeout(Duration::from_secs(15))
            .unwrap_or_else(|_| panic!("no request came; got {got:?}"));
        got.insert(what, bytes);
    }
    let f = running.stop();
    let mine = kprobes_of(&f.events(), pid);
    assert_eq!(mine.len(), 2, "{f}");
    let action = |policy: &str| {
        mine.iter()
            .find(|e| e["process_kprobe"]["policy_name"] == policy)
            .map(|e| e["process_kprobe"]["action"].clone())
    };
    assert_eq!(
        action("host-geturl"),
        Some(json!("KPROBE_ACTION_GETURL")),
        "{f}"
    );
    assert_eq!(
        action("host-dnslookup"),
        Some(json!("KPROBE_ACTION_DNSLOOKUP")),
        "{f}"
    );
    let head = String::from_utf8(got["http"].clone()).unwrap();
    let mut lines = head.lines();
    assert_eq!(
        lines.next(),
        Some("GET /canary?file=secret HTTP/1.1"),
        "{head}"
    );
    assert!(
        head.lines()
            .any(|l| l == format!("Host: 127.0.0.1:{http_port}")),
        "{head}"
    );
    // the query: one question, canary.policyctl.test, type A, class IN
    let q = &got["dns"];
    assert_eq!(&q[4..6], &[0, 1], "one question: {q:?}");
    let mut name = Vec::new();
    let mut i = 12;
    while q[i] != 0 {
        let n = q[i] as usize;
        name.push(String::from_utf8_lossy(&q[i + 1..i + 1 + n]).to_string());
        i += 1 + n;
    }
    assert_eq!(name.join("."), "canary.policyctl.test");
    assert_eq!(&q[i + 1..i + 5], &[0, 1, 0, 1], "type A, class IN");
}

/// GetUrl of an `https://` URL, served by `openssl s_server` on the loopback with a
/// certificate of a CA made here: with `SSL_CERT_FILE` naming that CA (a variable Go's
/// crypto/x509 reads too), the server receives the GET over TLS; with another CA trusted
/// instead, the certificate fails to verify, the run says so on stderr, and the server
/// receives nothing.
#[test]
fn get_url_over_https_verifies_the_certificate() {
    const TEST: &str = "get_url_over_https_verifies_the_certificate";
    if !run::ready(TEST) {
        return;
    }
    if Command::new("openssl").arg("version").output().is_err() {
        skip::skip(TEST, "openssl (the command) is not installed");
        return;
    }
    use std::io::BufRead;
    use std::sync::{Arc, Mutex};
    let dir = TempDir::new("https");
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
    };
    let ca = |name: &str| {
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
        ])
    };
    ca("test-ca");
    ca("other-ca");
    dir.write(
        "leaf.ext",
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    );
    openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "test-ca.pem",
        "-CAkey",
        "test-ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
        "-out",
        "leaf.pem",
    ]);
    let port = {
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        free.local_addr().unwrap().port()
    };
    // s_server prints what a client sends; its stdin stays open (an end of it would close
    // the connection)
    let mut server = Command::new("openssl")
        .args([
            "s_server",
            "-quiet",
            "-accept",
            &format!("127.0.0.1:{port}"),
        ])
        .args(["-cert", "leaf.pem", "-key", "leaf.key"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let received = Arc::new(Mutex::new(String::new()));
    {
        let received = received.clone();
        let stdout = server.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                received.lock().unwrap().push_str(&(line + "\n"));
            }
        });
    }
    let ready = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < ready, "s_server did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }

    let url_dir = dir.join("url");
    std::fs::create_dir_all(&url_dir).unwrap();
    let url = format!("https://127.0.0.1:{port}/canary?file=secret");
    let policy = dir.write(
        "geturl.yaml",
        &openat_policy(
            "host-geturl-https",
            &url_dir,
            "",
            &format!("      - action: GetUrl\n        argUrl: \"{url}\"\n"),
        ),
    );
    let file = format!("{url_dir}/a");
    std::fs::write(&file, "a\n").unwrap();
    for (trusted, sent) in [("other-ca.pem", false), ("test-ca.pem", true)] {
        let trusted = dir.join(trusted);
        let running = run::start_env(
            &[
                policy.as_str(),
                "--allow-network-actions",
                "--policy-events-only",
            ],
            &[("SSL_CERT_FILE", trusted.as_str())],
        )
        .unwrap_or_else(|f| panic!("policyctl run did not start:\n{f}"));
        let (status, pid, _) = run_child(CAT, &[&file]);
        assert!(status.success());
        running.wait_events(1, |e| pid_of(e, "process_kprobe") == Some(pid as u64));
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        let outcome = loop {
            let got = received.lock().unwrap().clone();
            if got.contains("GET ") {
                break got;
            }
            let failed = running
                .stderr()
                .iter()
                .any(|l| l.contains("GetUrl `https://"));
            if failed || std::time::Instant::now() > deadline {
                break got;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let f = running.stop();
        let text = f.stderr_text();
        if sent {
            assert!(
                outcome.starts_with("GET /canary?file=secret HTTP/1.1\n")
                    && outcome.contains(&format!("Host: 127.0.0.1:{port}\n")),
                "{outcome}\n{f}"
            );
            assert!(!text.contains("GetUrl `https://"), "{f}");
        } else {
            assert_eq!(outcome, "", "sent with an untrusted certificate\n{f}");
            assert!(
                text.contains(&format!(
                    "GetUrl `{url}`: invalid peer certificate: UnknownIssuer"
                )),
                "{f}"
            );
        }
    }
    let _ = server.kill();
    let _ = server.wait();
}

/// InMap and NotInMap with `list:NAME` values on the raw_syscalls/sys_enter tracepoint's
/// syscall64 arg (Tetragon's list-syscalls-tracepoint example), scoped to a copy of cat: the
/// InMap policy reports only the listed syscalls (openat, read), the NotInMap policy only the
/// others; the numbers are the kernel's, looked up in the trie as the list's values.
#[test]
fn in_map_list_values_on_raw_syscalls() {
    if !run::ready("in_map_list_values_on_raw_syscalls") {
        return;
    }
    let dir = TempDir::new("inmaplist");
    let file = dir.write("f.txt", "f\n");
    let copy = dir.copy_binary(CAT, "cat-inmap");
    let policy = |name: &str, operator: &str| {
        format!(
            r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "{name}"
spec:
  lists:
  - name: "rw"
    type: "syscalls"
    values:
    - "sys_openat"
    - "sys_read"
  tracepoints:
  - subsystem: "raw_syscalls"
    event: "sys_enter"
    args:
    - index: 4
      type: "syscall64"
    selectors:
    - matchArgs:
      - index: 0
        operator: "{operator}"
        values:
        - "list:rw"
{binaries}"#,
            binaries = binaries("In", &[&copy])
        )
    };
    let inmap = dir.write("in.yaml", &policy("host-inmap-list", "InMap"));
    let notinmap = dir.write("notin.yaml", &policy("host-notinmap-list", "NotInMap"));
    let running = started(&[
        inmap.as_str(),
        notinmap.as_str(),
        "-o",
        "json",
        "--policy-events-only",
    ]);
    let (status, pid, out) = run_child(&copy, &[&file]);
    assert!(status.success());
    assert_eq!(out, "f\n");
    running.wait_events(3, |e| pid_of(e, "process_tracepoint") == Some(pid as u64));
    let f = running.stop();
    let mut by_policy: std::collections::BTreeMap<String, std::collections::BTreeSet<u64>> =
        Default::default();
    for e in f.events() {
        let t = &e["process_tracepoint"];
        if t["process"]["pid"] != pid {
            continue;
        }
        // protojson leaves a zero `id` (read) out
        let arg = &t["args"][0]["syscall_id"];
        assert_eq!(arg["abi"], "x64", "{t}");
        let id = arg["id"].as_u64().unwrap_or(0);
        by_policy
            .entry(t["policy_name"].as_str().unwrap_or("").to_string())
            .or_default()
            .insert(id);
    }
    // x86_64: read 0, openat 257
    let listed: std::collections::BTreeSet<u64> = [0, 257].into();
    assert_eq!(by_policy.get("host-inmap-list"), Some(&listed), "{f}");
    let others = by_policy
        .get("host-notinmap-list")
        .cloned()
        .unwrap_or_default();
    assert!(
        !others.is_empty() && others.is_disjoint(&listed),
        "{others:?}\n{f}"
    );
    assert!(others.contains(&1), "cat writes: {others:?}");
}

/// `returnCopy` and `data` on the host: `sys_read` (served by `syscalls/sys_enter_read` and
/// `sys_exit_read`) with its buffer read at the return, `ret` bytes of it, as Tetragon's
/// generic_retkprobe copies a char_buf saved by copy_char_buf; `data` from the current task
/// (`comm`) and from the syscall's user registers (`rdi`, the fd), shown in `data`, and a
/// matchData on the task's comm. Scoped to a copy of `cat` in the test's directory.
#[test]
fn return_copy_and_data_on_a_syscall() {
    if !run::ready("return_copy_and_data_on_a_syscall") {
        return;
    }
    let dir = TempDir::new("returncopy");
    let file = dir.write("read-me.txt", "hello-returncopy\n");
    let copy = dir.copy_binary(CAT, "cat-rcopy");
    let policy = dir.write(
        "read.yaml",
        &format!(
            r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "host-returncopy"
spec:
  kprobes:
  - call: "sys_read"
    syscall: true
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "char_buf"
      returnCopy: true
    - index: 2
      type: "size_t"
    data:
    - index: 0
      type: "string"
      source: "current_task"
      resolve: "comm"
    - index: 1
      type: "int"
      source: "pt_regs"
      resolve: "rdi"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "{copy}"
      matchData:
      - index: 0
        operator: "Equal"
        values:
        - "cat-rcopy"
"#
        ),
    );
    let running = started(&[policy.as_str(), "-o", "json", "--policy-events-only"]);
    let (status, pid, out) = run_child(&copy, &[&file]);
    assert!(status.success());
    assert_eq!(out, "hello-returncopy\n");
    running.wait_events(2, |e| pid_of(e, "process_kprobe") == Some(pid as u64));
    let f = running.stop();
    let mine = kprobes_of(&f.events(), pid);
    // the file's read (17 bytes) and the read at its end (0 bytes); the loader's own reads
    // (ld.so, libc) come first
    let read = mine
        .iter()
        .map(|e| &e["process_kprobe"])
        .find(|k| k["args"][1] == json!({"bytes_arg": "aGVsbG8tcmV0dXJuY29weQo="}))
        .unwrap_or_else(|| panic!("the file's read, its 17 bytes copied at the return:\n{f}"));
    assert_eq!(read["function_name"], "__x64_sys_read");
    let fd = read["args"][0]["int_arg"].as_i64().expect("the fd");
    assert!(fd >= 3, "{read}");
    assert_eq!(
        read["data"],
        json!([{"string_arg": "cat-rcopy"}, {"int_arg": fd}]),
        "data: the task's comm and the fd from the user registers:\n{f}"
    );
    assert!(
        read.get("return").is_none(),
        "no returnArg, no return: {read}"
    );
    // the read at the end of the file returned 0: nothing copied
    assert!(
        mine.iter().any(|e| {
            let k = &e["process_kprobe"];
            k["args"][0]["int_arg"] == json!(fd) && k["args"][1] == json!({"bytes_arg": ""})
        }),
        "the last read returned 0 bytes:\n{f}"
    );
}

/// `data` from a uprobe's registers (`rdi` as an int, `rsi` as a user string) with a matchData
/// on the int (`args: [0]` names data 0), as Tetragon's getUprobeArgConfig reads pt_regs data.
#[test]
fn uprobe_data_from_registers() {
    if !run::ready("uprobe_data_from_registers") {
        return;
    }
    let dir = TempDir::new("uprobe-data");
    let Some(bin) = dir.compile_c("uprobe_data_from_registers", "target", run::UPROBE_TARGET)
    else {
        return;
    };
    let policy = dir.write(
        "uprobe.yaml",
        &format!(
            r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "host-uprobe-data"
spec:
  uprobes:
  - path: "{bin}"
    symbols:
    - "target_fn"
    data:
    - index: 0
      type: "int"
      source: "pt_regs"
      resolve: "edi"
    - index: 1
      type: "string"
      source: "pt_regs"
      resolve: "rsi"
    selectors:
    - matchData:
      - args: [0]
        operator: "Equal"
        values:
        - "42"
"#
        ),
    );
    let running = started(&[policy.as_str(), "--policy-events-only"]);
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
    assert!(u.get("args").is_none(), "no args, only data: {u}");
    assert_eq!(
        u["data"],
        json!([{"int_arg": 42}, {"string_arg": "hello-uprobe"}]),
        "{f}"
    );
}
