//! CelExpr filters in a VM (Debian 6.12 and 6.1 under qemu, see `tests/support/vm.rs`), on
//! `sys_openat` attached with a kprobe and with fentry: an entry expression over two arguments
//! picks the one open that creates a file (`O_CREAT` in the flags, with AT_FDCWD), and a
//! return expression (matchReturnArgs) picks the failed opens of a binary the test installed.
//! The events are decoded into Tetragon's own messages too (`support/tetragon_api.rs`).
//! Nothing enforces: the policies only post.

use crate::skip;
use crate::tetragon_api;
use crate::vm;

/// O_CREAT opens under /tmp/cel/ with AT_FDCWD, chosen by a CelExpr over dfd and flags.
const CREATES: &str = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "cel-creates"
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
        - "/tmp/cel/"
      - operator: "CelExpr"
        values:
        - "arg0 == int32(-100) && and(arg2, int32(64)) != int32(0)"
"#;

/// Failed opens by /opt/test/cat, chosen by a CelExpr over the return value.
const FAILS: &str = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "cel-fails"
spec:
  kprobes:
  - call: "sys_openat"
    syscall: true
    return: true
    args:
    - index: 1
      type: "string"
    returnArg:
      index: 0
      type: "int"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "/opt/test/cat"
      matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "/tmp/cel/"
      matchReturnArgs:
      - operator: "CelExpr"
        values:
        - "arg0 < int32(0)"
"#;

#[test]
fn cel_expressions_in_a_vm() {
    cel(vm::VmKernel::Debian6_12, "run_cel");
}

#[test]
fn cel_expressions_in_a_vm_on_debian_6_1() {
    cel(vm::VmKernel::Debian6_1, "run_cel_6_1");
}

fn cel(kernel: vm::VmKernel, name: &str) {
    let Some(vm) = vm::Vm::builder_on(name, kernel) else {
        return;
    };
    let scenario = |attach: &str| {
        format!(
            "{}\nmkdir -p /tmp/cel; echo present > /tmp/cel/present
             start /etc/policies/creates.yaml /etc/policies/fails.yaml {attach} --policy-events-only -o json --node-name vm || exit 1
             /opt/test/cat /tmp/cel/present /tmp/cel/missing; echo \"cat rc=$?\"
             echo new > /tmp/cel/new-{}
             stop",
            vm::RUN_HELPERS,
            if attach.is_empty() { "kprobe" } else { "fentry" }
        )
    };
    let run = vm
        .binary_with_libs(env!("CARGO_BIN_EXE_policyctl"), "/usr/bin/policyctl")
        .bytes("/etc/policies/creates.yaml", CREATES.as_bytes(), 0o644)
        .bytes("/etc/policies/fails.yaml", FAILS.as_bytes(), 0o644)
        .busybox_applet("/opt/test/cat")
        .scenario("kprobe", &scenario(""))
        .scenario("fentry", &scenario("--attach fentry"))
        .run();
    eprintln!("{}", run.timings());
    let mut lines = Vec::new();
    for method in ["kprobe", "fentry"] {
        let out = run.ok(method);
        assert!(out.contains("cat rc=1"), "{method}:\n{out}");
        assert!(
            out.contains(&format!(
                "cel-creates: `__x64_sys_openat` attached with {method}"
            )),
            "{method}:\n{out}"
        );
        let events = vm::json_events(out);
        let of = |policy: &str| -> Vec<&serde_json::Value> {
            events
                .iter()
                .map(|e| &e["process_kprobe"])
                .filter(|k| k["policy_name"] == policy)
                .collect()
        };
        let creates = of("cel-creates");
        assert_eq!(creates.len(), 1, "{method}: the one O_CREAT open:\n{out}");
        assert_eq!(creates[0]["args"][0]["int_arg"], -100, "{method}");
        assert_eq!(
            creates[0]["args"][1]["string_arg"],
            format!("/tmp/cel/new-{method}"),
            "{method}"
        );
        let fails = of("cel-fails");
        assert_eq!(fails.len(), 1, "{method}: the one failed open:\n{out}");
        assert_eq!(fails[0]["args"][0]["string_arg"], "/tmp/cel/missing");
        assert_eq!(fails[0]["return"], serde_json::json!({"int_arg": -2}));
        assert_eq!(fails[0]["process"]["binary"], "/opt/test/cat");
        lines.extend(events.iter().map(|e| e.to_string()));
    }
    match tetragon_api::compiled(name) {
        Ok((py, gen)) => {
            let t0 = std::time::Instant::now();
            let d = tetragon_api::decode(&py, &gen, &lines);
            tetragon_api::report(name, "VM CelExpr events", &d, t0);
        }
        Err(reason) => skip::skip(&format!("{name} (Tetragon's messages)"), &reason),
    }
}
