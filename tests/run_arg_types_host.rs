//! Arg types and operators of issue 15 that tracepoints reach, run on this machine's kernel as
//! root (as `tests/run_host.rs`): a `__data_loc` string read with `data_loc` and filtered with
//! Prefix and NotEqual, `auto` args typed from the tracepoint's format, and SubString /
//! SubStringIgnCase on a syscall's string (served here by its syscall tracepoint). Each policy
//! matches only binaries this test copied into its own temporary directory, and only posts.
//!
//! SubString and SubStringIgnCase match only where the kernel has the kfunc Tetragon searches
//! with (`bpf_strnstr`, `bpf_strncasestr`; bpf/process/types/basic.h filter_char_buf guards
//! them with bpf_ksym_exists): the expectations follow this kernel's BTF.
//!
//! Needs root, BTF and tracefs; without them the test prints `SKIPPED` (and fails under `CI`).

#[path = "support/run.rs"]
mod run;
#[path = "support/skip.rs"]
mod skip;

use run::{pid_of, run_child, started, TempDir};
use serde_json::{json, Value};

/// Whether this kernel's BTF names `kfunc`.
fn kernel_has(kfunc: &str) -> bool {
    let btf = std::fs::read("/sys/kernel/btf/vmlinux").unwrap_or_default();
    let want = format!("\0{kfunc}\0");
    btf.windows(want.len()).any(|w| w == want.as_bytes())
}

/// The `event` tracepoint events of `pid`.
fn of(events: &[Value], event: &str, pid: u32) -> Vec<Value> {
    events
        .iter()
        .filter(|e| pid_of(e, event) == Some(pid as u64))
        .map(|e| e[event].clone())
        .collect()
}

#[test]
fn data_loc_auto_and_substring() {
    if !run::ready("data_loc_auto_and_substring") {
        return;
    }
    let dir = TempDir::new("arg-types");
    let cat = dir.copy_binary("/usr/bin/cat", "cat");
    let tail = dir.copy_binary("/usr/bin/tail", "tail");
    let d = dir.str();
    // sched_process_exec's filename is `__data_loc char[] filename` (field 4)
    let exec = dir.write(
        "exec.yaml",
        &format!(
            r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "exec-data-loc"
spec:
  tracepoints:
  - subsystem: "sched"
    event: "sched_process_exec"
    args:
    - index: 4
      type: "data_loc"
    selectors:
    - matchArgs:
      - index: 4
        operator: "Prefix"
        values:
        - "{d}/"
      - index: 4
        operator: "NotEqual"
        values:
        - "{d}/tail"
"#
        ),
    );
    // the corpus' lseek policy (pkg/tracingpolicy/examples/tracepoint-lseek-pid.yaml), its
    // fd and whence typed `auto`, scoped to the copied tail
    let lseek = dir.write(
        "lseek.yaml",
        &format!(
            r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "lseek-auto"
spec:
  tracepoints:
  - subsystem: "syscalls"
    event: "sys_enter_lseek"
    args:
    - index: 7
      type: "auto"
    - index: 5
      type: "auto"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "{tail}"
"#
        ),
    );
    let substring = |name: &str, operator: &str, value: &str| {
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
    - index: 1
      type: "string"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "{cat}"
      matchArgs:
      - index: 1
        operator: "{operator}"
        values:
        - "{value}"
"#
        )
    };
    let sub = dir.write(
        "sub.yaml",
        &substring("open-substring", "SubString", "needle"),
    );
    let nocase = dir.write(
        "nocase.yaml",
        &substring("open-substring-nocase", "SubStringIgnCase", "NeEdLe"),
    );
    let with = dir.write("hay-needle-stack.txt", "x\n");
    let upper = dir.write("hay-NEEDLE-stack.txt", "x\n");
    let without = dir.write("haystack.txt", "x\n");

    let running = started(&[
        exec.as_str(),
        lseek.as_str(),
        sub.as_str(),
        nocase.as_str(),
        "--policy-events-only",
    ]);
    let (status, cat_pid, _) = run_child(&cat, &[&with, &upper, &without]);
    assert!(status.success());
    // larger than a block, so that tail seeks rather than reads it through
    let big = dir.write("big.txt", &format!("{}x\n", "-".repeat(100_000)));
    let (status, tail_pid, out) = run_child(&tail, &["-c", "2", &big]);
    assert!(status.success());
    assert_eq!(out, "x\n");
    running.wait_events(1, |e| {
        pid_of(e, "process_tracepoint") == Some(cat_pid as u64)
    });
    running.wait_events(1, |e| {
        pid_of(e, "process_tracepoint") == Some(tail_pid as u64)
    });
    if kernel_has("bpf_strnstr") {
        running.wait_events(1, |e| pid_of(e, "process_kprobe") == Some(cat_pid as u64));
    }
    let f = running.stop();
    let events = f.events();

    // data_loc: the exec of the copied cat, not of the copied tail (NotEqual)
    let execs: Vec<Value> = of(&events, "process_tracepoint", cat_pid)
        .into_iter()
        .filter(|t| t["event"] == "sched_process_exec")
        .collect();
    assert_eq!(execs.len(), 1, "{f}");
    assert_eq!(execs[0]["args"][0]["string_arg"], cat.as_str(), "{f}");
    assert!(
        !of(&events, "process_tracepoint", tail_pid)
            .iter()
            .any(|t| t["event"] == "sched_process_exec"),
        "{f}"
    );

    // auto: `unsigned int` fields 8 bytes wide are uint64 (size_arg, a string in protojson);
    // tail asks where it is (SEEK_CUR, 1) on the file it opened (fd 3), then seeks near the end
    let seeks: Vec<(Value, Value)> = of(&events, "process_tracepoint", tail_pid)
        .into_iter()
        .filter(|t| t["event"] == "sys_enter_lseek")
        .map(|t| (t["args"][0].clone(), t["args"][1].clone()))
        .collect();
    assert!(
        seeks.contains(&(json!({"size_arg": "1"}), json!({"size_arg": "3"}))),
        "lseek(3, 0, SEEK_CUR):\n{f}"
    );

    // SubString: only the file whose name holds `needle`; SubStringIgnCase: both needle files
    // where the kernel has bpf_strncasestr, none where it has not
    let opened = |policy: &str| -> Vec<String> {
        of(&events, "process_kprobe", cat_pid)
            .iter()
            .filter(|k| k["policy_name"] == policy)
            .map(|k| {
                k["args"][0]["string_arg"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
    };
    let want: Vec<String> = if kernel_has("bpf_strnstr") {
        vec![with.clone()]
    } else {
        vec![]
    };
    assert_eq!(opened("open-substring"), want, "{f}");
    let want: Vec<String> = if kernel_has("bpf_strncasestr") {
        vec![with.clone(), upper.clone()]
    } else {
        vec![]
    };
    assert_eq!(opened("open-substring-nocase"), want, "{f}");
}
