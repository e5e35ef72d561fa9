//! Override on `security_` functions in a VM, on both Debian kernels (6.12 and 6.1, under
//! qemu; see `tests/support/vm.rs`). Neither has error injection, so no
//! `bpf_override_return`: as Tetragon does, the kprobe (or fentry) runs the selectors and a
//! companion fmod_ret program returns the value (`runtime/src/fmodret.rs`). An open of a file
//! under /tmp/enf/ by a binary the test installed under /opt/enforce fails with EACCES; the
//! same binary opening another file, and another binary opening the same file, are left
//! alone. Every policy matches only binaries the test installed.
//!
//! Enforcers (`spec.enforcers` on `security_` calls) in the same VMs: a kprobe on
//! `security_file_open` whose NotifyEnforcer records -1 (EPERM), and SIGKILL for a second
//! binary, and the enforcer's fmod_ret programs on `security_file_open` and
//! `security_file_permission` that return it (Tetragon's `createEnforcerSensor` and
//! `bpf/process/bpf_enforcer.c`; here `fmodret::enforcer_program`).

use crate::vm;

/// Override `security_file_open` with -13 (EACCES) for /opt/enforce/cat opening under /tmp/enf/.
const DENY_OPEN: &str = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "deny-open"
spec:
  options:
  - name: "disable-kprobe-multi"
    value: "true"
  kprobes:
  - call: "security_file_open"
    syscall: false
    args:
    - index: 0
      type: "file"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "/opt/enforce/cat"
      matchArgs:
      - index: 0
        operator: "Prefix"
        values:
        - "/tmp/enf/"
      matchActions:
      - action: Override
        argError: -13
"#;

/// NotifyEnforcer on `security_file_open` for /opt/notify/cat (EPERM) and /opt/notify-kill/cat
/// (EPERM and SIGKILL) opening under /tmp/enf/; the enforcer guards `security_file_open` and
/// `security_file_permission`.
const NOTIFY_OPEN: &str = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "notify-open"
spec:
  enforcers:
  - calls:
    - "security_file_open"
    - "security_file_permission"
  kprobes:
  - call: "security_file_open"
    syscall: false
    args:
    - index: 0
      type: "file"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "/opt/notify/cat"
      matchArgs:
      - index: 0
        operator: "Prefix"
        values:
        - "/tmp/enf/"
      matchActions:
      - action: NotifyEnforcer
        argError: -1
    - matchBinaries:
      - operator: "In"
        values:
        - "/opt/notify-kill/cat"
      matchArgs:
      - index: 0
        operator: "Prefix"
        values:
        - "/tmp/enf/"
      matchActions:
      - action: NotifyEnforcer
        argError: -1
        argSig: 9
"#;

fn override_security_function_on(kernel: vm::VmKernel) {
    let Some(vm) = vm::Vm::builder_on(&format!("run_enforce_{}", kernel.short()), kernel) else {
        return;
    };
    let scenario = |body: &str| format!("{}\n{body}", vm::RUN_HELPERS);
    let body = |attach: &str| {
        scenario(&format!(
            "mkdir -p /tmp/enf /tmp/free; echo secret > /tmp/enf/secret; echo open > /tmp/free/open
             start /etc/policies/deny-open.yaml {attach} --policy-events-only -o json --node-name vm || exit 1
             /opt/enforce/cat /tmp/enf/secret; echo \"enforce secret rc=$?\"
             /opt/enforce/cat /tmp/free/open; echo \"enforce free rc=$?\"
             /opt/bystander/cat /tmp/enf/secret; echo \"bystander secret rc=$?\"
             stop
             /opt/enforce/cat /tmp/enf/secret; echo \"after stop rc=$?\""
        ))
    };
    let run = vm
        .binary_with_libs(env!("CARGO_BIN_EXE_policyctl"), "/usr/bin/policyctl")
        .bytes("/etc/policies/deny-open.yaml", DENY_OPEN.as_bytes(), 0o644)
        .busybox_applet("/opt/enforce/cat")
        .busybox_applet("/opt/bystander/cat")
        .scenario("kprobe", &body(""))
        .scenario("fentry", &body("--attach fentry"))
        .bytes("/etc/policies/notify-open.yaml", NOTIFY_OPEN.as_bytes(), 0o644)
        .busybox_applet("/opt/notify/cat")
        .busybox_applet("/opt/notify-kill/cat")
        .scenario(
            "enforcer",
            &scenario(
                "mkdir -p /tmp/enf /tmp/free; echo secret > /tmp/enf/secret; echo open > /tmp/free/open
                 start /etc/policies/notify-open.yaml --policy-events-only -o json --node-name vm || exit 1
                 /opt/notify/cat /tmp/enf/secret; echo \"notify secret rc=$?\"
                 /opt/notify/cat /tmp/free/open; echo \"notify free rc=$?\"
                 /opt/notify/cat /tmp/enf/secret; echo \"notify again rc=$?\"
                 /opt/notify-kill/cat /tmp/enf/secret; echo \"kill secret rc=$?\"
                 /opt/bystander/cat /tmp/enf/secret; echo \"bystander secret rc=$?\"
                 stop
                 /opt/notify/cat /tmp/enf/secret; echo \"after stop rc=$?\"",
            ),
        )
        .run();
    eprintln!("{}", run.timings());
    if std::env::var_os("ENF_DEBUG").is_some() {
        for (n, o) in &run.scenarios {
            eprintln!("=== {n} rc={}\n{}", o.rc, o.output);
        }
        eprintln!("{}", run.console_tail(40));
    }

    enforcer_denies(&run, kernel.short());
    for (name, method) in [("kprobe", "kprobe"), ("fentry", "fentry")] {
        let out = run.ok(name);
        let k = kernel.short();
        assert!(
            out.contains(&format!(
                "`security_file_open` attached with {method} and fmod_ret"
            )),
            "{k} {name}:\n{out}"
        );
        // denied, with the errno asked for
        assert!(out.contains("enforce secret rc=1"), "{k} {name}:\n{out}");
        assert!(out.contains("Permission denied"), "{k} {name}:\n{out}");
        assert!(
            !out.contains("\nsecret\nenforce secret"),
            "{k} {name}:\n{out}"
        );
        // the rest is left alone
        assert!(
            out.contains("open\nenforce free rc=0"),
            "{k} {name}:\n{out}"
        );
        assert!(
            out.contains("secret\nbystander secret rc=0"),
            "{k} {name}:\n{out}"
        );
        // and nothing is enforced once the run stopped
        assert!(
            out.contains("secret\nafter stop rc=0"),
            "{k} {name}:\n{out}"
        );

        let events = vm::json_events(out);
        let overrides = vm::kprobe_events_with_action(&events, "KPROBE_ACTION_OVERRIDE");
        assert_eq!(overrides.len(), 1, "{k} {name}: {events:#?}");
        let ev = overrides[0];
        assert_eq!(ev["function_name"], "security_file_open", "{ev}");
        assert_eq!(ev["process"]["binary"], "/opt/enforce/cat", "{ev}");
        assert_eq!(ev["args"][0]["file_arg"]["path"], "/tmp/enf/secret", "{ev}");
    }
}

/// The enforcer scenario: the NotifyEnforcer's error and signal come back from the
/// enforcer's calls, only for the binaries the selectors name, and not after stopping.
fn enforcer_denies(run: &vm::VmRun, k: &str) {
    let out = run.ok("enforcer");
    assert!(
        out.contains(
            "notify-open: enforcer on security_file_open, security_file_permission attached with fmod_ret"
        ),
        "{k}:\n{out}"
    );
    // EPERM (-1) from the enforcer, each time
    assert!(out.contains("notify secret rc=1"), "{k}:\n{out}");
    assert!(out.contains("notify again rc=1"), "{k}:\n{out}");
    assert!(out.contains("Operation not permitted"), "{k}:\n{out}");
    assert!(!out.contains("secret\nnotify secret"), "{k}:\n{out}");
    // argSig 9: killed by the enforcer
    assert!(out.contains("kill secret rc=137"), "{k}:\n{out}");
    // the rest is left alone
    assert!(out.contains("open\nnotify free rc=0"), "{k}:\n{out}");
    assert!(out.contains("secret\nbystander secret rc=0"), "{k}:\n{out}");
    assert!(out.contains("secret\nafter stop rc=0"), "{k}:\n{out}");

    let events = vm::json_events(out);
    let notified = vm::kprobe_events_with_action(&events, "KPROBE_ACTION_NOTIFYENFORCER");
    assert_eq!(notified.len(), 3, "{k}: {events:#?}");
    for ev in &notified {
        assert_eq!(ev["function_name"], "security_file_open", "{ev}");
        assert_eq!(ev["args"][0]["file_arg"]["path"], "/tmp/enf/secret", "{ev}");
    }
    let binaries: Vec<_> = notified.iter().map(|e| &e["process"]["binary"]).collect();
    assert_eq!(
        binaries,
        ["/opt/notify/cat", "/opt/notify/cat", "/opt/notify-kill/cat"],
        "{k}"
    );
}

#[test]
fn override_security_function_on_6_12() {
    override_security_function_on(vm::VmKernel::Debian6_12);
}

#[test]
fn override_security_function_on_6_1() {
    override_security_function_on(vm::VmKernel::Debian6_1);
}
