//! Override on uprobes where the kernel lets a uprobe program write the probed thread's
//! registers: Ubuntu 26.04's 7.0 under qemu (`tests/support/vm.rs`). This host's 6.18 and
//! Debian's 6.12 and 6.1 refuse the store (Tetragon's `detectUprobeRegsChange` in
//! pkg/bpf/detect_linux.go, and the runtime's own probe, say no there), so
//! run_uprobe_override_host.rs can only check the refusal.
//!
//! For each of the three Overrides of `support/uprobe_override.rs` (`argRegs` returning to the
//! caller, the default `argError`, `argNewSymbol` jumping to another function), on the test's
//! own static program `/opt/uo/target`: `check(1)` answers 0 before the run, 1 while the policy
//! is loaded (with a `process_uprobe` event whose action is `KPROBE_ACTION_OVERRIDE`), and 0
//! again after the run stopped. A second program, a copy at another path, is left alone while
//! the policy runs. Skipped without qemu or the kernel package; fails when `CI` is set.

#[path = "support/skip.rs"]
mod skip;
#[path = "support/uprobe_override.rs"]
mod uprobe_override;
#[path = "support/vm.rs"]
mod vm;

use uprobe_override::{policy, CASES, TARGET};

#[test]
fn uprobe_override_writes_registers_in_a_vm_ubuntu_7_0() {
    let kernel = vm::VmKernel::Ubuntu7_0;
    let Some(vm) = vm::Vm::builder_on(&format!("run_uprobe_override_{}", kernel.short()), kernel)
    else {
        return;
    };
    let mut vm = vm
        .binary_with_libs(env!("CARGO_BIN_EXE_policyctl"), "/usr/bin/policyctl")
        .c_program("/opt/uo/target", TARGET)
        .c_program("/opt/bystander/target", TARGET);
    for (name, params) in CASES {
        vm = vm
            .bytes(
                &format!("/etc/policies/{name}.yaml"),
                policy(name, "/opt/uo/target", params),
                0o644,
            )
            .scenario(
                name,
                &format!(
                    "{}
                     echo \"before: $(/opt/uo/target)\"
                     start /etc/policies/{name}.yaml --policy-events-only -o json --node-name vm || exit 1
                     echo \"during: $(/opt/uo/target)\"
                     echo \"bystander: $(/opt/bystander/target)\"
                     stop
                     echo \"after: $(/opt/uo/target)\"",
                    vm::RUN_HELPERS
                ),
            );
    }
    let run = vm.run();
    eprintln!("{}", run.timings());
    let k = kernel.short();
    for (name, _) in CASES {
        let out = run.ok(name);
        assert!(
            out.contains("uprobe `/opt/uo/target:check` attached with uprobe"),
            "{k} {name}:\n{out}"
        );
        assert!(out.contains("before: 0\n"), "{k} {name}:\n{out}");
        assert!(out.contains("during: 1\n"), "{k} {name}:\n{out}");
        assert!(out.contains("bystander: 0\n"), "{k} {name}:\n{out}");
        assert!(out.contains("after: 0\n"), "{k} {name}:\n{out}");
        let events: Vec<_> = vm::json_events(out)
            .into_iter()
            .filter(|e| e.get("process_uprobe").is_some())
            .collect();
        // one call of `check` while the policy ran: the `during` one (the bystander is
        // another file, so another inode: not probed)
        assert_eq!(events.len(), 1, "{k} {name}: {events:#?}");
        let ev = &events[0]["process_uprobe"];
        assert_eq!(ev["action"], "KPROBE_ACTION_OVERRIDE", "{ev}");
        assert_eq!(ev["policy_name"], name, "{ev}");
        assert_eq!(ev["symbol"], "check", "{ev}");
        assert_eq!(ev["process"]["binary"], "/opt/uo/target", "{ev}");
        // main calls check(argc): one
        assert_eq!(ev["args"][0]["int_arg"], 1, "{ev}");
    }
}
