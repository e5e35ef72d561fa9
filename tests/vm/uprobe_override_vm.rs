//! Override on uprobes where the kernel lets a uprobe program write the probed thread's
//! registers: Ubuntu 26.04's 7.0 under qemu (`tests/support/vm.rs`). This host's 6.18 and
//! Debian's 6.12 and 6.1 refuse the store (Tetragon's `detectUprobeRegsChange` in
//! pkg/bpf/detect_linux.go, and the runtime's own probe, say no there), so
//! run_uprobe_override_host.rs can only check the refusal.
//!
//! The three Overrides of `support/uprobe_override.rs` (`argRegs` returning to the caller, the
//! default `argError`, `argNewSymbol` jumping to another function), each on its own static copy
//! of the test's program (`/opt/<policy>/target`), all three policies in one `policyctl run`:
//! `check(1)` answers 0 before the run, 1 while the policies are loaded (with one
//! `process_uprobe` event whose action is `KPROBE_ACTION_OVERRIDE`), and 0 again after the run
//! stopped. Another copy that no policy names is left alone. Skipped without qemu or the
//! kernel package; fails when `CI` is set.

use crate::vm;

use crate::uprobe_override::{policy, CASES, TARGET};

#[test]
fn uprobe_override_writes_registers_in_a_vm_ubuntu_7_0() {
    let kernel = vm::VmKernel::Ubuntu7_0;
    let Some(vm) = vm::Vm::builder_on(&format!("run_uprobe_override_{}", kernel.short()), kernel)
    else {
        return;
    };
    // one copy of the program per Override, all three policies in one run (one attach)
    let mut vm = vm
        .binary_with_libs(env!("CARGO_BIN_EXE_policyctl"), "/usr/bin/policyctl")
        .c_program("/opt/bystander/target", TARGET);
    let mut steps = String::new();
    let mut policies = String::new();
    for (name, params) in CASES {
        let bin = format!("/opt/{name}/target");
        vm = vm.c_program(&bin, TARGET).bytes(
            &format!("/etc/policies/{name}.yaml"),
            policy(name, &bin, params),
            0o644,
        );
        policies += &format!(" /etc/policies/{name}.yaml");
        steps += &format!("echo \"{name} before: $({bin})\"\n");
    }
    steps += &format!("start{policies} --policy-events-only -o json --node-name vm || exit 1\n");
    for (name, _) in CASES {
        steps += &format!("echo \"{name} during: $(/opt/{name}/target)\"\n");
    }
    steps += "echo \"bystander: $(/opt/bystander/target)\"\nstop\n";
    for (name, _) in CASES {
        steps += &format!("echo \"{name} after: $(/opt/{name}/target)\"\n");
    }
    let vm = vm.scenario("override", &format!("{}\n{steps}", vm::RUN_HELPERS));
    let run = vm.run();
    eprintln!("{}", run.timings());
    let k = kernel.short();
    let out = run.ok("override");
    // the other copy of the program, not named by any policy, is left alone
    assert!(out.contains("bystander: 0\n"), "{k}:\n{out}");
    let events: Vec<_> = vm::json_events(out)
        .into_iter()
        .filter(|e| e.get("process_uprobe").is_some())
        .collect();
    // one call of `check` per program while the policies ran
    assert_eq!(events.len(), CASES.len(), "{k}: {events:#?}");
    for (name, _) in CASES {
        let bin = format!("/opt/{name}/target");
        assert!(
            out.contains(&format!(
                "{name}: uprobe `{bin}:check` attached with uprobe"
            )),
            "{k} {name}:\n{out}"
        );
        assert!(out.contains(&format!("{name} before: 0\n")), "{k}:\n{out}");
        assert!(out.contains(&format!("{name} during: 1\n")), "{k}:\n{out}");
        assert!(out.contains(&format!("{name} after: 0\n")), "{k}:\n{out}");
        let ev = events
            .iter()
            .map(|e| &e["process_uprobe"])
            .find(|e| e["policy_name"] == name)
            .unwrap_or_else(|| panic!("{k}: no event of {name}: {events:#?}"));
        assert_eq!(ev["action"], "KPROBE_ACTION_OVERRIDE", "{ev}");
        assert_eq!(ev["symbol"], "check", "{ev}");
        assert_eq!(ev["path"], bin, "{ev}");
        assert_eq!(ev["process"]["binary"], bin, "{ev}");
        // main calls check(argc): one
        assert_eq!(ev["args"][0]["int_arg"], 1, "{ev}");
    }
}
