//! Many kprobe hooks on the one `kprobe_multi` program in a VM (Debian 6.12 and 6.1 under qemu,
//! see `tests/support/vm.rs`), where kprobes exist.
//!
//! Tetragon attaches a policy's kprobes with one kprobe_multi link where the kernel has them,
//! and finds each call's hook by its attach cookie. Here too, on 6.12 (`CONFIG_FPROBE`), every
//! kprobe hook is served by one `kprobe_multi` program, linked to all the functions at once, so
//! the kernel verifies one program, not 64 copies; on Debian's 6.1 (no fprobe) the copies serve
//! the first 64 hooks and `kprobe_multi` the rest, attached as a kprobe per function. Either
//! way the program finds its hooks by the function's address (bpf_get_func_ip) in
//! `func_slots`. The policy is Tetragon's `list-syscalls-generated` example scoped to one
//! binary the test installed: every syscall of the kernel (more than 300 kprobes), the events
//! of `/opt/multi/cat` only. The scenario checks that the syscalls report with their own
//! function name and arguments (a `sys_openat` hook of another policy reports the filename; the
//! list's openat reports none: each hook's own configuration, both on the same function), and
//! prints how long attaching took.

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

/// The VM `name` on `kernel`, with policyctl, both policies in /etc/policies and the `cat`
/// they watch.
fn staged(name: &str, kernel: vm::VmKernel) -> Option<vm::VmBuilder> {
    Some(
        vm::Vm::builder_on(name, kernel)?
            .binary_with_libs(env!("CARGO_BIN_EXE_policyctl"), "/usr/bin/policyctl")
            .bytes("/etc/policies/all.yaml", POLICY.as_bytes(), 0o644)
            .bytes("/etc/policies/openat.yaml", OPENAT.as_bytes(), 0o644)
            .busybox_applet("/opt/multi/cat"),
    )
}

fn multi_on(kernel: vm::VmKernel) {
    let Some(vm) = staged(&format!("run_multi_kprobe_{}", kernel.short()), kernel) else {
        return;
    };
    let run = vm
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
        // Tetragon's flag: the one openat hook on a copy of its own, whatever the kernel has
        .scenario(
            "disabled",
            &format!(
                "{}
start --disable-kprobe-multi /etc/policies/openat.yaml --policy-events-only || exit 1
                 stop",
                vm::RUN_HELPERS
            ),
        )
        .run();
    eprintln!("{}", run.timings());
    let k = kernel.short();
    let disabled = run.ok("disabled");
    assert!(
        disabled
            .lines()
            .any(|l| l == "policyctl run: openat-of-cat: `__x64_sys_openat` attached with kprobe"),
        "{k}:\n{disabled}"
    );
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
    // past the copies: one kprobe_multi link where the kernel has them (6.12: CONFIG_FPROBE),
    // else a kprobe per function (Debian's 6.1 has no fprobe), and the run says which
    let linked = out
        .lines()
        .filter(|l| l.ends_with("attached with kprobe (one kprobe_multi link)"))
        .count();
    let refused = out
        .lines()
        .find(|l| l.starts_with("policyctl run: no kprobe_multi link ("));
    match kernel {
        vm::VmKernel::Debian6_1 => {
            assert_eq!(linked, 0, "{k}:\n{out}");
            assert!(
                refused.is_some(),
                "{k}: no word of the kprobe fallback:\n{out}"
            );
        }
        _ => {
            // every kprobe, the list's and the openat hook of its own: the kernel verified
            // one program instead of 64 copies
            assert!(refused.is_none(), "{k}: {refused:?}");
            assert_eq!(
                linked,
                attached + 1,
                "{k}: {linked} of {attached} + 1 linked:\n{out}"
            );
        }
    }
    let events = vm::json_events(out);
    let functions: std::collections::BTreeSet<&str> = events
        .iter()
        .filter(|e| e["process_kprobe"]["policy_name"] == "all-syscalls-of-cat")
        .filter_map(|e| e["process_kprobe"]["function_name"].as_str())
        .collect();
    // busybox cat's syscalls: on 6.1, those past the first 64 names of the sorted list
    // (`fremovexattr` is the 65th in both kernels) are served by kprobe_multi (openat,
    // sendfile64, mprotect, set_robust_list), the others by copies (exit_group, close)
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
    // the openat hook of its own and the list's openat (on 6.1: a copy and kprobe_multi) both
    // report the open of the file, each with its own configuration: only the first has the
    // filename
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

/// Reloading a policy directory whose policy has its kprobes on a `kprobe_multi` link (Debian's
/// 6.12): removing the policy closes the link (its functions' calls stop running the hooks),
/// and adding it again links them anew, while the openat hook named on the command line keeps
/// running throughout. Each phase's `cat` is its own process, told apart by pid.
#[test]
fn multi_kprobe_reload_in_a_vm_6_12() {
    let kernel = vm::VmKernel::Debian6_12;
    let Some(vm) = staged("run_multi_kprobe_reload_6.12", kernel) else {
        return;
    };
    let run = vm
        .scenario_timeout(std::time::Duration::from_secs(400))
        .timeout(std::time::Duration::from_secs(600))
        .scenario(
            "reload",
            &format!(
                "{}
                 reloaded() {{
                   n=0
                   while IFS= read -r l; do case \"$l\" in *'reload: running'*) n=$((n + 1));; esac; done </tmp/run.err
                   [ $n -ge $1 ]
                 }}
                 hup() {{
                   read PID </tmp/run.pid; kill -HUP $PID; i=0
                   until reloaded $1; do nap $i; i=$((i + 1)); [ $i -lt 1200 ] || {{ cat /tmp/run.err; return 1; }}; done
                 }}
                 phase() {{ echo $1 > /tmp/$1.txt; /opt/multi/cat /tmp/$1.txt & echo \"phase $1 $!\"; wait $!; }}
                 mkdir -p /etc/pdir && cp /etc/policies/all.yaml /etc/pdir/
                 start /etc/policies/openat.yaml --policy-dir /etc/pdir --policy-events-only -o json --node-name vm || exit 1
                 phase one
                 rm /etc/pdir/all.yaml; hup 1 || exit 1
                 phase two
                 cp /etc/policies/all.yaml /etc/pdir/; hup 2 || exit 1
                 phase three
                 stop",
                vm::RUN_HELPERS
            ),
        )
        .run();
    eprintln!("{}", run.timings());
    let out = run.ok("reload");
    let pid = |phase: &str| -> u64 {
        let line = out
            .lines()
            .find_map(|l| l.strip_prefix(&format!("phase {phase} ")))
            .unwrap_or_else(|| panic!("no pid of phase {phase}:\n{out}"));
        line.trim().parse().expect("a pid")
    };
    let (one, two, three) = (pid("one"), pid("two"), pid("three"));
    let events = vm::json_events(out);
    let of = |policy: &str, pid: u64| {
        events
            .iter()
            .map(|e| &e["process_kprobe"])
            .filter(|e| e["policy_name"] == policy && e["process"]["pid"] == pid)
            .count()
    };
    // the list's hooks run before the removal and after the return, not in between
    assert!(of("all-syscalls-of-cat", one) > 0, "phase one:\n{out}");
    assert_eq!(of("all-syscalls-of-cat", two), 0, "phase two:\n{out}");
    assert!(of("all-syscalls-of-cat", three) > 0, "phase three:\n{out}");
    // the fixed openat hook, on the same function, throughout
    for (phase, p) in [("one", one), ("two", two), ("three", three)] {
        let opened = events.iter().map(|e| &e["process_kprobe"]).any(|e| {
            e["policy_name"] == "openat-of-cat"
                && e["process"]["pid"] == p
                && e["args"][0]["string_arg"] == format!("/tmp/{phase}.txt")
        });
        assert!(opened, "phase {phase}: no openat event:\n{out}");
    }
    assert!(
        out.lines()
            .any(|l| l.ends_with("attached with kprobe (one kprobe_multi link)")),
        "{out}"
    );
    assert!(out.contains("everything detached"), "{out}");
}
