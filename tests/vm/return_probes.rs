//! Return probes (`return: true`) in a VM (Debian 6.12 under qemu, see `tests/support/vm.rs`),
//! where kretprobes and fexit exist: a `sys_openat` policy reports the failed opens of one
//! binary with the entry's args and the return value, attached with a kprobe and kretprobe,
//! then with fentry and fexit; a second policy kills that binary at the return of a failed
//! open (matchReturnActions Sigkill), and another binary failing the same way is left alone,
//! as the return only runs the selectors whose matchBinaries held at the entry. Every policy
//! matches only binaries the test installed under /opt. The JSON events are decoded into
//! Tetragon's own messages too (`support/tetragon_api.rs`).

use crate::skip;
use crate::tetragon_api;
use crate::vm;

/// A `return: true` policy on `sys_openat` for `binary` opening files under /tmp/ret/, whose
/// return value is negative; `actions` are its matchReturnActions entries.
fn failed_open(name: &str, binary: &str, actions: &str) -> String {
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
        - "{binary}"
      matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "/tmp/ret/"
      matchReturnArgs:
      - index: 0
        operator: "LT"
        values:
        - "0"
{actions}"#
    )
}

#[test]
fn return_probes_in_a_vm() {
    let Some(vm) = vm::Vm::builder("run_return") else {
        return;
    };
    let scenario = |body: &str| format!("{}\n{body}", vm::RUN_HELPERS);
    let watch = failed_open("failed-open", "/opt/test/cat", "");
    let kill = failed_open(
        "kill-failed-open",
        "/opt/victim/cat",
        "      matchReturnActions:\n      - action: Sigkill\n",
    );
    // Post's kernelStackTrace (issue 15) on fentry and fexit: the entry's stack, kept for the
    // return
    let stacks = failed_open(
        "stack-open",
        "/opt/test/cat",
        "      matchActions:\n      - action: Post\n        kernelStackTrace: true\n",
    );
    let run = vm
        .binary_with_libs(env!("CARGO_BIN_EXE_policyctl"), "/usr/bin/policyctl")
        .bytes("/etc/policies/failed-open.yaml", watch.as_bytes(), 0o644)
        .bytes("/etc/policies/stack-open.yaml", stacks.as_bytes(), 0o644)
        .bytes("/etc/policies/kill-failed-open.yaml", kill.as_bytes(), 0o644)
        .busybox_applet("/opt/test/cat")
        .busybox_applet("/opt/victim/cat")
        .busybox_applet("/opt/bystander/cat")
        .scenario(
            "kretprobe",
            &scenario(
                "mkdir -p /tmp/ret; echo present > /tmp/ret/present
                 start /etc/policies/failed-open.yaml --policy-events-only -o json --node-name vm || exit 1
                 /opt/test/cat /tmp/ret/present /tmp/ret/missing; echo \"cat rc=$?\"
                 stop",
            ),
        )
        .scenario(
            "fexit",
            &scenario(
                "start /etc/policies/failed-open.yaml --attach fentry --policy-events-only -o json --node-name vm || exit 1
                 /opt/test/cat /tmp/ret/present /tmp/ret/absent; echo \"cat rc=$?\"
                 stop",
            ),
        )
        .scenario(
            "fentry-stacks",
            &scenario(
                "start /etc/policies/stack-open.yaml --attach fentry --policy-events-only -o json --node-name vm || exit 1
                 /opt/test/cat /tmp/ret/present /tmp/ret/gone; echo \"cat rc=$?\"
                 stop",
            ),
        )
        .scenario(
            "sigkill",
            &scenario(
                "start /etc/policies/kill-failed-open.yaml --policy-events-only -o json --node-name vm || exit 1
                 /opt/victim/cat /tmp/ret/present; echo \"victim present rc=$?\"
                 /opt/victim/cat /tmp/ret/missing; echo \"victim missing rc=$?\"
                 /opt/bystander/cat /tmp/ret/missing; echo \"bystander rc=$?\"
                 stop",
            ),
        )
        .run();
    eprintln!("{}", run.timings());

    let mut all_lines = Vec::new();
    for (name, method, ret, missing) in [
        (
            "kretprobe",
            "`__x64_sys_openat` attached with kprobe",
            "kretprobe",
            "/tmp/ret/missing",
        ),
        (
            "fexit",
            "`__x64_sys_openat` attached with fentry",
            "fexit",
            "/tmp/ret/absent",
        ),
    ] {
        let out = run.ok(name);
        assert!(
            out.contains(&format!("failed-open: {method}")),
            "{name}:\n{out}"
        );
        assert!(
            out.contains(&format!("failed-open: its return attached with {ret}")),
            "{name}:\n{out}"
        );
        assert!(out.contains("present\n"), "{name}:\n{out}");
        assert!(out.contains("cat rc=1"), "{name}:\n{out}");
        let events = vm::json_events(out);
        assert_eq!(
            events.len(),
            1,
            "{name}: one event, the failed open:\n{out}"
        );
        let k = &events[0]["process_kprobe"];
        assert_eq!(k["function_name"], "__x64_sys_openat", "{name}");
        assert_eq!(k["process"]["binary"], "/opt/test/cat", "{name}");
        assert_eq!(k["args"][0]["int_arg"], -100, "{name}: AT_FDCWD");
        assert_eq!(k["args"][1]["string_arg"], missing, "{name}");
        assert_eq!(
            k["return"],
            serde_json::json!({"int_arg": -2}),
            "{name}: -ENOENT"
        );
        assert_eq!(k["action"], "KPROBE_ACTION_POST", "{name}");
        assert_eq!(k["return_action"], "KPROBE_ACTION_POST", "{name}");
        all_lines.extend(events.iter().map(|e| e.to_string()));
    }

    // the fentry's kernel stack: the syscall entry, and no frame without a symbol
    let out = run.ok("fentry-stacks");
    let events = vm::json_events(out);
    assert_eq!(events.len(), 1, "{out}");
    let k = &events[0]["process_kprobe"];
    assert_eq!(k["args"][1]["string_arg"], "/tmp/ret/gone", "{out}");
    assert_eq!(k["return"], serde_json::json!({"int_arg": -2}), "{out}");
    let stack: Vec<&str> = k["kernel_stack_trace"]
        .as_array()
        .unwrap_or_else(|| panic!("no kernel_stack_trace: {out}"))
        .iter()
        .map(|f| f["symbol"].as_str().unwrap_or(""))
        .collect();
    eprintln!("fentry on __x64_sys_openat, kernel stack: {stack:?}");
    // the hooked function first (the BPF program and trampoline frames above it left out, as
    // a kprobe's stack starts there), then its caller
    assert_eq!(
        stack.get(..2),
        Some(&["__x64_sys_openat", "do_syscall_64"][..]),
        "{stack:?}"
    );
    all_lines.extend(events.iter().map(|e| e.to_string()));

    // Sigkill at the return: the victim dies on its failed open only; the bystander, whose
    // binary the selector does not name, fails the same way and lives
    let out = run.ok("sigkill");
    assert!(out.contains("victim present rc=0"), "{out}");
    assert!(out.contains("victim missing rc=137"), "{out}");
    assert!(out.contains("bystander rc=1"), "{out}");
    let events = vm::json_events(out);
    assert_eq!(events.len(), 1, "{out}");
    let k = &events[0]["process_kprobe"];
    assert_eq!(k["process"]["binary"], "/opt/victim/cat");
    assert_eq!(k["args"][1]["string_arg"], "/tmp/ret/missing");
    assert_eq!(k["return"], serde_json::json!({"int_arg": -2}));
    assert_eq!(k["action"], "KPROBE_ACTION_POST");
    assert_eq!(k["return_action"], "KPROBE_ACTION_SIGKILL");
    all_lines.extend(events.iter().map(|e| e.to_string()));

    // a consumer written for Tetragon reads each of them
    match tetragon_api::compiled("return_probes_in_a_vm") {
        Ok((py, gen)) => {
            let t0 = std::time::Instant::now();
            let d = tetragon_api::decode(&py, &gen, &all_lines);
            tetragon_api::report("return_probes_in_a_vm", "VM return events", &d, t0);
        }
        Err(reason) => skip::skip("return_probes_in_a_vm (Tetragon's messages)", &reason),
    }
}

/// `returnCopy`, `returnArg` of type `file`, `data` from the current task and from the
/// kprobe's registers (`edi`, 4 bytes of the first argument, the dfd), and a `resolve`
/// through a `struct filename *`, on kprobes and kretprobes, on both kernels: `sys_read`'s
/// buffer is read at the return (`ret` bytes, as Tetragon's generic_retkprobe copies what
/// copy_char_buf saved), `do_filp_open` returns the opened file's path, with the task's uid
/// (`cred.uid.val`, a `kuid_t` struct reached through a pointer) in `data`. Both match only a
/// binary the test installed under /opt/rc (busybox `head`, which reads with read(2); its `cat`
/// copies with sendfile).
#[test]
fn return_copy_file_and_data_in_a_vm() {
    for kernel in [vm::VmKernel::Debian6_12, vm::VmKernel::Debian6_1] {
        return_copy_file_and_data_on(kernel);
    }
}

fn return_copy_file_and_data_on(kernel: vm::VmKernel) {
    let name = format!("run_return_copy_{}", kernel.short());
    let Some(vm) = vm::Vm::builder_on(&name, kernel) else {
        return;
    };
    let scenario = |body: &str| format!("{}\n{body}", vm::RUN_HELPERS);
    let copy = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "rcopy"
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
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "/opt/rc/head"
"#;
    let file = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "retfile"
spec:
  kprobes:
  - call: "do_filp_open"
    syscall: false
    return: true
    args:
    - index: 1
      type: "string"
      resolve: "name"
    returnArg:
      index: 0
      type: "file"
    data:
    - index: 0
      type: "int"
      source: "current_task"
      resolve: "cred.uid.val"
    - index: 1
      type: "int"
      source: "pt_regs"
      resolve: "edi"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "/opt/rc/cat"
      matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "/tmp/rc/"
"#;
    let run = vm
        .binary_with_libs(env!("CARGO_BIN_EXE_policyctl"), "/usr/bin/policyctl")
        .bytes("/etc/policies/rcopy.yaml", copy.as_bytes(), 0o644)
        .bytes("/etc/policies/retfile.yaml", file.as_bytes(), 0o644)
        .busybox_applet("/opt/rc/cat")
        .busybox_applet("/opt/rc/head")
        .scenario(
            "returncopy",
            &scenario(
                "mkdir -p /tmp/rc; echo hello-returncopy > /tmp/rc/f
                 start /etc/policies/rcopy.yaml --policy-events-only -o json --node-name vm || exit 1
                 /opt/rc/head /tmp/rc/f; echo \"head rc=$?\"
                 stop",
            ),
        )
        .scenario(
            "retfile",
            &scenario(
                "mkdir -p /tmp/rc; echo x > /tmp/rc/g
                 start /etc/policies/retfile.yaml --policy-events-only -o json --node-name vm || exit 1
                 /opt/rc/cat /tmp/rc/g; echo \"cat rc=$?\"
                 stop",
            ),
        )
        .run();
    eprintln!("{}", run.timings());
    let mut all_lines = Vec::new();

    let out = run.ok("returncopy");
    assert!(
        out.contains("rcopy: its return attached with kretprobe"),
        "{out}"
    );
    assert!(out.contains("head rc=0"), "{out}");
    let events = vm::json_events(out);
    // base64 of "hello-returncopy\n": the file's read, 17 bytes copied at the return
    let read = events
        .iter()
        .map(|e| &e["process_kprobe"])
        .find(|k| k["args"][1] == serde_json::json!({"bytes_arg": "aGVsbG8tcmV0dXJuY29weQo="}))
        .unwrap_or_else(|| panic!("the file's read with its bytes:\n{out}"));
    assert_eq!(read["function_name"], "__x64_sys_read");
    assert_eq!(read["process"]["binary"], "/opt/rc/head");
    assert!(read.get("return").is_none(), "no returnArg: {read}");
    all_lines.extend(events.iter().map(|e| e.to_string()));

    let out = run.ok("retfile");
    assert!(
        out.contains("retfile: its return attached with kretprobe"),
        "{out}"
    );
    assert!(out.contains("cat rc=0"), "{out}");
    let events = vm::json_events(out);
    assert_eq!(events.len(), 1, "the one open under /tmp/rc:\n{out}");
    let k = &events[0]["process_kprobe"];
    assert_eq!(k["function_name"], "do_filp_open");
    assert_eq!(k["args"][0]["string_arg"], "/tmp/rc/g");
    assert_eq!(k["return"]["file_arg"]["path"], "/tmp/rc/g", "{k}");
    assert_eq!(
        k["data"],
        serde_json::json!([{"int_arg": 0}, {"int_arg": -100}]),
        "root's uid through current->cred->uid.val, and the dfd (AT_FDCWD) from the kprobe's edi: {k}"
    );
    all_lines.extend(events.iter().map(|e| e.to_string()));

    match tetragon_api::compiled(&name) {
        Ok((py, gen)) => {
            let t0 = std::time::Instant::now();
            let d = tetragon_api::decode(&py, &gen, &all_lines);
            tetragon_api::report(&name, "VM returnCopy, file and data events", &d, t0);
        }
        Err(reason) => skip::skip(&format!("{name} (Tetragon's messages)"), &reason),
    }
}
