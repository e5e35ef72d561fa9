//! Kprobe hooks past the 64 program copies (`kprobe_multi`, slots from MULTI_SLOT_BASE) in a VM
//! (Debian 6.12 and 6.1 under qemu, see `tests/support/vm.rs`), where kprobes exist.
//!
//! Tetragon attaches a list of calls with one kprobe_multi link and finds each call's hook by
//! its attach cookie; here one program is attached to each function past the copies and finds
//! its hook by the function's address (bpf_get_func_ip) in `func_slots`. The policy is
//! Tetragon's `list-syscalls-generated` example scoped to one binary the test installed: every
//! syscall of the kernel (more than 300 kprobes), the events of `/opt/multi/cat` only. The
//! scenario checks that the syscalls past the copies report with their own function name and
//! arguments (a `sys_openat` hook of another policy, on a copy, reports the filename; the list's
//! openat, on kprobe_multi, reports none: each hook's own configuration), and prints how long
//! attaching took.

use crate::vm;

const POLICY: &str = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "all-syscalls-of-cat"
spec:
  lists:
  - name: "syscalls"
    type: "generated_syscalls"
  kprobes:
  - call: "list:syscalls"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "/opt/multi/cat"
"#;

/// One `sys_openat` hook of its own, besides the list: its args make the event say the file.
const OPENAT: &str = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "openat-of-cat"
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
        - "/opt/multi/cat"
"#;

fn multi_on(kernel: vm::VmKernel) {
    let Some(vm) = vm::Vm::builder_on(&format!("run_multi_kprobe_{}", kernel.short()), kernel)
    else {
        return;
    };
    let run = vm
        .binary_with_libs(env!("CARGO_BIN_EXE_policyctl"), "/usr/bin/policyctl")
        .bytes("/etc/policies/all.yaml", POLICY.as_bytes(), 0o644)
        .bytes("/etc/policies/openat.yaml", OPENAT.as_bytes(), 0o644)
        .busybox_applet("/opt/multi/cat")
        .scenario_timeout(std::time::Duration::from_secs(500))
        .timeout(std::time::Duration::from_secs(700))
        .scenario(
            "multi",
            &format!(
                "{}\necho hello > /tmp/multi.txt
                 export POLICYCTL_TIMING=1
                 start /etc/policies/openat.yaml /etc/policies/all.yaml --policy-events-only -o json --node-name vm || exit 1
                 /opt/multi/cat /tmp/multi.txt
                 stop",
                vm::RUN_HELPERS
            ),
        )
        .run();
    eprintln!("{}", run.timings());
    let k = kernel.short();
    let out = run.ok("multi");
    assert!(out.contains("hello\n"), "{k}:\n{out}");
    // the attach time, for the report
    for line in out
        .lines()
        .filter(|l| l.contains("] hooks attached") || l.contains("records read while attaching"))
    {
        eprintln!("{k}: {line}");
    }
    let attached = out
        .lines()
        .filter(|l| {
            l.starts_with("policyctl run: all-syscalls-of-cat: ")
                && l.contains("attached with kprobe")
        })
        .count();
    assert!(attached > 300, "{k}: {attached} hooks attached:\n{out}");
    let events = vm::json_events(out);
    let functions: std::collections::BTreeSet<&str> = events
        .iter()
        .filter(|e| e["process_kprobe"]["policy_name"] == "all-syscalls-of-cat")
        .filter_map(|e| e["process_kprobe"]["function_name"].as_str())
        .collect();
    // busybox cat's syscalls: those past the first 64 names of the sorted list (`fremovexattr`
    // is the 65th in both kernels) are served by kprobe_multi (openat, sendfile64, mprotect,
    // set_robust_list), the others by copies (exit_group, close)
    for f in [
        "__x64_sys_openat",
        "__x64_sys_sendfile64",
        "__x64_sys_mprotect",
        "__x64_sys_set_robust_list",
        "__x64_sys_exit_group",
        "__x64_sys_close",
    ] {
        assert!(
            functions.contains(f),
            "{k}: no {f} event; got {functions:?}\n{out}"
        );
    }
    // one event per call: cat opens its file once, so the list's openat reports it once
    let list_opens = events
        .iter()
        .filter(|e| {
            e["process_kprobe"]["policy_name"] == "all-syscalls-of-cat"
                && e["process_kprobe"]["function_name"] == "__x64_sys_openat"
        })
        .count();
    let own_opens = events
        .iter()
        .filter(|e| e["process_kprobe"]["policy_name"] == "openat-of-cat")
        .count();
    assert_eq!(
        list_opens, own_opens,
        "{k}: as many opens in both policies:\n{out}"
    );
    // every event is cat's
    for e in &events {
        assert_eq!(
            e["process_kprobe"]["process"]["binary"], "/opt/multi/cat",
            "{k}: {e}"
        );
    }
    // the openat hook of its own (a copy) and the list's openat (kprobe_multi) both report the
    // open of the file, each with its own configuration: only the first has the filename
    let opens: Vec<&serde_json::Value> = events
        .iter()
        .map(|e| &e["process_kprobe"])
        .filter(|e| e["function_name"] == "__x64_sys_openat")
        .filter(|e| {
            e["policy_name"] == "all-syscalls-of-cat"
                || e["args"][0]["string_arg"] == "/tmp/multi.txt"
        })
        .collect();
    assert!(
        opens.iter().any(|e| e["policy_name"] == "openat-of-cat"
            && e["args"][0]["string_arg"] == "/tmp/multi.txt"),
        "{k}:\n{out}"
    );
    assert!(
        opens
            .iter()
            .any(|e| e["policy_name"] == "all-syscalls-of-cat"
                && e["args"].as_array().is_none_or(|a| a.is_empty())),
        "{k}:\n{out}"
    );
    assert!(out.contains("everything detached"), "{k}:\n{out}");
}

#[test]
fn multi_kprobe_in_a_vm_6_12() {
    multi_on(vm::VmKernel::Debian6_12);
}

#[test]
fn multi_kprobe_in_a_vm_6_1() {
    multi_on(vm::VmKernel::Debian6_1);
}
