//! What needs error injection, on a kernel that has it: Ubuntu 24.04's 6.8 (Debian's kernels
//! are built without `CONFIG_FUNCTION_ERROR_INJECTION`, so `check` reports K020 for these
//! policies there and Tetragon cannot load them either). Under qemu; see `tests/support/vm.rs`.
//!
//! - **Override on a syscall** with `bpf_override_return` from the kprobe on its stub, as
//!   Tetragon's `generic_kprobe_override` (`bpf/process/bpf_generic_kprobe.c`) does: an open
//!   under /tmp/deny by a binary the test installed fails with the policy's error (-1, EPERM);
//!   the same binary opening another file and another binary opening the same file are left
//!   alone.
//! - **An enforcer on syscalls** (`spec.enforcers` with a `syscalls` list and a `sys_` name):
//!   a kprobe on `sys_mkdir` whose NotifyEnforcer records -13 (EACCES), or -1 and SIGKILL
//!   for a second binary, and the enforcer's fmod_ret programs on the syscalls' stubs that
//!   return it in place of the syscall (Tetragon's `createEnforcerSensor` and
//!   `bpf/process/bpf_fmodret_enforcer.c`; here `fmodret::enforcer_program`).
//!
//! Every policy matches only binaries the test installed.

use crate::vm;

/// Override `sys_openat` with -1 (EPERM) for /opt/ov/cat opening under /tmp/deny.
const DENY_OPENAT: &str = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "deny-openat"
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
        - "/opt/ov/cat"
      matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "/tmp/deny"
      matchActions:
      - action: Override
        argError: -1
"#;

/// NotifyEnforcer on `sys_mkdir` (busybox's mkdir calls mkdir, not mkdirat) for
/// /opt/enf/mkdir (EACCES) and /opt/enf-kill/mkdir (EPERM and SIGKILL) making directories
/// under /tmp/enf-; the enforcer guards `sys_mkdir` (a `syscalls` list) and
/// `__x64_sys_mkdirat`.
const NOTIFY_MKDIRAT: &str = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "notify-mkdir"
spec:
  lists:
  - name: "guarded"
    type: "syscalls"
    values:
    - "sys_mkdir"
  enforcers:
  - calls:
    - "list:guarded"
    - "__x64_sys_mkdirat"
  kprobes:
  - call: "sys_mkdir"
    syscall: true
    args:
    - index: 0
      type: "string"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "/opt/enf/mkdir"
      matchArgs:
      - index: 0
        operator: "Prefix"
        values:
        - "/tmp/enf-"
      matchActions:
      - action: NotifyEnforcer
        argError: -13
    - matchBinaries:
      - operator: "In"
        values:
        - "/opt/enf-kill/mkdir"
      matchArgs:
      - index: 0
        operator: "Prefix"
        values:
        - "/tmp/enf-"
      matchActions:
      - action: NotifyEnforcer
        argError: -1
        argSig: 9
"#;

#[test]
fn override_and_enforcers_on_syscalls_in_a_vm_ubuntu_6_8() {
    let kernel = vm::VmKernel::Ubuntu6_8;
    let Some(vm) = vm::Vm::builder_on(&format!("run_error_injection_{}", kernel.short()), kernel)
    else {
        return;
    };
    let scenario = |body: &str| format!("{}\n{body}", vm::RUN_HELPERS);
    let run = vm
        .binary_with_libs(env!("CARGO_BIN_EXE_policyctl"), "/usr/bin/policyctl")
        .bytes("/etc/policies/deny-openat.yaml", DENY_OPENAT.as_bytes(), 0o644)
        .bytes(
            "/etc/policies/notify-mkdir.yaml",
            NOTIFY_MKDIRAT.as_bytes(),
            0o644,
        )
        .busybox_applet("/opt/ov/cat")
        .busybox_applet("/opt/bystander/cat")
        .busybox_applet("/opt/enf/mkdir")
        .busybox_applet("/opt/enf-kill/mkdir")
        .busybox_applet("/opt/bystander/mkdir")
        .scenario(
            "kernel",
            "grep -E '^__x64_sys_(openat|mkdir|mkdirat)\\b' /sys/kernel/debug/error_injection/list",
        )
        .scenario(
            "override",
            &scenario(
                "echo secret > /tmp/deny-secret; echo open > /tmp/open
                 start /etc/policies/deny-openat.yaml --policy-events-only -o json --node-name vm || exit 1
                 /opt/ov/cat /tmp/deny-secret; echo \"ov secret rc=$?\"
                 /opt/ov/cat /tmp/open; echo \"ov free rc=$?\"
                 /opt/bystander/cat /tmp/deny-secret; echo \"bystander secret rc=$?\"
                 stop
                 /opt/ov/cat /tmp/deny-secret; echo \"after stop rc=$?\"",
            ),
        )
        .scenario(
            "enforcer",
            &scenario(
                "start /etc/policies/notify-mkdir.yaml --policy-events-only -o json --node-name vm || exit 1
                 /opt/enf/mkdir /tmp/enf-a; echo \"enf a rc=$?\"
                 /opt/enf/mkdir /tmp/free-b; echo \"enf free rc=$?\"
                 /opt/enf/mkdir /tmp/enf-c; echo \"enf again rc=$?\"
                 /opt/enf-kill/mkdir /tmp/enf-d; echo \"kill d rc=$?\"
                 /opt/bystander/mkdir /tmp/enf-e; echo \"bystander e rc=$?\"
                 stop
                 /opt/enf/mkdir /tmp/enf-f; echo \"after stop rc=$?\"
                 ls -d /tmp/enf-* /tmp/free-*",
            ),
        )
        .run();
    eprintln!("{}", run.timings());
    let k = kernel.short();

    // the kernel has error injection on the syscalls' stubs (Debian's have no such list)
    let list = run.ok("kernel");
    for f in ["__x64_sys_openat", "__x64_sys_mkdir", "__x64_sys_mkdirat"] {
        assert!(list.contains(&format!("{f}\tERRNO")), "{k}:\n{list}");
    }

    let out = run.ok("override");
    assert!(
        out.contains("deny-openat: `__x64_sys_openat` attached with kprobe"),
        "{k}:\n{out}"
    );
    assert!(out.contains("ov secret rc=1"), "{k}:\n{out}");
    assert!(out.contains("Operation not permitted"), "{k}:\n{out}");
    assert!(!out.contains("secret\nov secret"), "{k}:\n{out}");
    assert!(out.contains("open\nov free rc=0"), "{k}:\n{out}");
    assert!(out.contains("secret\nbystander secret rc=0"), "{k}:\n{out}");
    assert!(out.contains("secret\nafter stop rc=0"), "{k}:\n{out}");
    let events = vm::json_events(out);
    let overrides = vm::kprobe_events_with_action(&events, "KPROBE_ACTION_OVERRIDE");
    assert_eq!(overrides.len(), 1, "{k}: {events:#?}");
    let ev = overrides[0];
    assert_eq!(ev["function_name"], "__x64_sys_openat", "{ev}");
    assert_eq!(ev["process"]["binary"], "/opt/ov/cat", "{ev}");
    assert_eq!(ev["args"][0]["string_arg"], "/tmp/deny-secret", "{ev}");

    let out = run.ok("enforcer");
    assert!(
        out.contains(
            "notify-mkdir: enforcer on __x64_sys_mkdir, __x64_sys_mkdirat attached with fmod_ret"
        ),
        "{k}:\n{out}"
    );
    // EACCES (-13) from the enforcer, each time, and no directory made
    assert!(out.contains("enf a rc=1"), "{k}:\n{out}");
    assert!(out.contains("enf again rc=1"), "{k}:\n{out}");
    assert!(out.contains("Permission denied"), "{k}:\n{out}");
    // argSig 9: killed by the enforcer
    assert!(out.contains("kill d rc=137"), "{k}:\n{out}");
    // the rest is left alone, and nothing is enforced once the run stopped
    assert!(out.contains("enf free rc=0"), "{k}:\n{out}");
    assert!(out.contains("bystander e rc=0"), "{k}:\n{out}");
    assert!(out.contains("after stop rc=0"), "{k}:\n{out}");
    let made: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("/tmp/enf-") || l.starts_with("/tmp/free-"))
        .collect();
    assert_eq!(
        made,
        ["/tmp/enf-e", "/tmp/enf-f", "/tmp/free-b"],
        "{k}:\n{out}"
    );
    let events = vm::json_events(out);
    let notified = vm::kprobe_events_with_action(&events, "KPROBE_ACTION_NOTIFYENFORCER");
    let seen: Vec<(&str, &str)> = notified
        .iter()
        .map(|e| {
            (
                e["process"]["binary"].as_str().unwrap_or(""),
                e["args"][0]["string_arg"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("/opt/enf/mkdir", "/tmp/enf-a"),
            ("/opt/enf/mkdir", "/tmp/enf-c"),
            ("/opt/enf-kill/mkdir", "/tmp/enf-d")
        ],
        "{k}: {events:#?}"
    );
    for ev in &notified {
        assert_eq!(ev["function_name"], "__x64_sys_mkdir", "{ev}");
    }
}
