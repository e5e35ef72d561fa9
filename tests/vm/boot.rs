//! The VM harness (`tests/support/vm.rs`) end to end: one boot of each of Debian's kernels (6.12
//! and 6.1) in qemu with this build's `policyctl`, checking what the `policyctl run` tests rely on: the kernel,
//! the BPF LSM, tracefs, the binary and its libraries, and exit codes. Skipped without qemu or
//! the kernel package; fails when `CI` is set.

use std::time::Duration;

use crate::vm;

#[test]
fn vm_boots_and_runs_scenarios() {
    boots_and_runs_scenarios(vm::VmKernel::Debian6_12, "6.12.117");
}

#[test]
fn vm_boots_debian_6_1_and_runs_scenarios() {
    boots_and_runs_scenarios(vm::VmKernel::Debian6_1, "6.1.0-56-amd64");
}

fn boots_and_runs_scenarios(kernel: vm::VmKernel, release: &str) {
    let name = format!("run_vm_smoke_{}", kernel.short().replace('.', "_"));
    let Some(vm) = vm::Vm::builder_on(&name, kernel) else {
        return;
    };
    let run = vm
        .binary_with_libs(env!("CARGO_BIN_EXE_policyctl"), "/usr/bin/policyctl")
        .scenario("uname", "uname -r")
        .scenario("lsm", "cat /sys/kernel/security/lsm")
        .scenario("tracefs", "ls /sys/kernel/tracing/events/syscalls | head")
        .scenario("policyctl", "/usr/bin/policyctl --version")
        .scenario("rc", "echo about to fail; echo on stderr >&2; exit 3")
        .scenario("empty", "true")
        .scenario_with_timeout("killed", "echo started; sleep 30", Duration::from_secs(1))
        .scenario("after", "echo still running")
        .run();
    eprintln!("{}", run.timings());

    assert!(
        run.ok("uname").starts_with(release),
        "{}",
        run["uname"].output
    );
    assert!(
        run.ok("lsm").trim().split(',').any(|l| l == "bpf"),
        "{}",
        run["lsm"].output
    );
    assert!(
        run.ok("tracefs")
            .lines()
            .any(|l| l.starts_with("sys_enter_")),
        "{}",
        run["tracefs"].output
    );
    assert!(
        run.ok("policyctl").contains(env!("CARGO_PKG_VERSION")),
        "{}",
        run["policyctl"].output
    );
    assert_eq!(run["rc"].rc, 3);
    assert_eq!(run["rc"].output, "about to fail\non stderr\n");
    assert_eq!(run.ok("empty"), "");
    // Over its time limit a scenario is killed (SIGKILL: 137) and the next one runs.
    assert_eq!(run["killed"].rc, 137);
    assert!(
        run["killed"].output.starts_with("started\n"),
        "{}",
        run["killed"].output
    );
    assert_eq!(run.ok("after"), "still running\n");
    assert_eq!(
        run.order,
        [
            "uname",
            "lsm",
            "tracefs",
            "policyctl",
            "rc",
            "empty",
            "killed",
            "after"
        ]
    );
}
