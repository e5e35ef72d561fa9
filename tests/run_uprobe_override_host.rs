//! `policyctl run` with Override on uprobes on this machine's kernel, as root: a selector's
//! Override writes the probed thread's registers (`argRegs`, or the jump of `argNewSymbol`), on
//! a small C program the test compiles into its own temporary directory, so the uprobe is on
//! that binary only. Nothing is pinned: the probes go with `policyctl run`.
//!
//! On a kernel whose uprobe programs may not write registers (the runtime's own probe says so),
//! `run` must refuse the policy with the reason and leave the program as it was: that is
//! checked, and a `NOTE` line says the Override itself was not run here (it runs on a kernel
//! that allows it in tests/vm/uprobe_override_vm.rs). These tests need root, BTF, tracefs and a C
//! compiler; without them they print `SKIPPED` (a failure under `CI`).

#[path = "support/run.rs"]
mod run;
#[path = "support/skip.rs"]
mod skip;
#[path = "support/uprobe_override.rs"]
mod uprobe_override;

use std::io::Write as _;

use run::{pid_of, refused, run_child, started, TempDir};
use uprobe_override::{CASES, TARGET};

/// A policy Overriding `check` in `bin` with the action's parameters `params`, written into
/// `dir`.
fn policy(dir: &TempDir, name: &str, bin: &str, params: &str) -> String {
    dir.write(
        &format!("{name}.yaml"),
        &uprobe_override::policy(name, bin, params),
    )
}

/// Runs `bin` and returns what it printed.
fn output(bin: &str) -> (u32, String) {
    let (status, pid, out) = run_child(bin, &[]);
    assert!(status.success(), "{bin}: {status}");
    (pid, out)
}

/// The Override of `name` with `params` makes `check(1)` answer 1: without the policy it
/// answers 0, with it 1 and a `process_uprobe` event shows the override, after it 0 again. On
/// a kernel that cannot write uprobe registers, the policy is refused with the reason and the
/// program answers 0.
fn overrides_check(test: &str, (name, params): (&str, &str)) {
    if !run::ready(test) {
        return;
    }
    let dir = TempDir::new(name);
    let Some(bin) = dir.compile_c_with(test, "target", TARGET, &["-fno-inline"]) else {
        return;
    };
    assert_eq!(output(&bin).1, "0\n", "without the policy");
    let policy = policy(&dir, name, &bin, params);
    let args = [policy.as_str(), "--policy-events-only"];
    if !policyctl_runtime::uregs::kernel_writes_uprobe_regs() {
        let f = refused(&args);
        let stderr = f.stderr_text();
        assert!(
            stderr.contains("does not let uprobe programs write them"),
            "{stderr}"
        );
        assert_eq!(output(&bin).1, "0\n", "after the refusal");
        // a fact of the kernel, not a missing tool CI could install: the refusal is what this
        // kernel must do, and was checked (as usdt_set_writes_the_argument does for
        // bpf_probe_write_user); the line shows without --nocapture
        let _ = writeln!(
            std::io::stderr(),
            "NOTE {test}: this kernel does not let uprobe programs write registers: run's refusal was checked; the Override itself runs in tests/vm/uprobe_override_vm.rs (Ubuntu 7.0)"
        );
        return;
    }
    let running = started(&args);
    let stderr = running.stderr().join("\n");
    assert!(
        stderr.contains(&format!("uprobe `{bin}:check` attached with uprobe")),
        "{stderr}"
    );
    let (pid, out) = output(&bin);
    assert_eq!(out, "1\n", "with the Override");
    running.wait_events(1, |e| pid_of(e, "process_uprobe") == Some(pid as u64));
    let f = running.stop();
    let event = f
        .events()
        .into_iter()
        .find(|e| pid_of(e, "process_uprobe") == Some(pid as u64))
        .unwrap_or_else(|| panic!("no event:\n{f}"));
    assert_eq!(
        event["process_uprobe"]["action"], "KPROBE_ACTION_OVERRIDE",
        "{event}"
    );
    assert_eq!(event["process_uprobe"]["args"][0]["int_arg"], 1, "{event}");
    assert_eq!(output(&bin).1, "0\n", "after run stopped");
}

/// `argRegs` with Tetragon's return-to-caller: `rax=1`, the return address popped into `rip`.
#[test]
fn override_arg_regs_returns_to_the_caller() {
    overrides_check("override_arg_regs_returns_to_the_caller", CASES[0]);
}

/// The default Override (no argRegs): `check` returns argError to its caller.
#[test]
fn override_default_returns_arg_error() {
    overrides_check("override_default_returns_arg_error", CASES[1]);
}

/// `argNewSymbol`: `check` goes on in `yes`, which returns 1 to check's caller.
#[test]
fn override_new_symbol_jumps() {
    overrides_check("override_new_symbol_jumps", CASES[2]);
}

/// The jump's distance is what the binary's symbol table says: `yes` - `check`, read with
/// `nm` (needs only gcc and binutils).
#[test]
fn jump_distance_is_read_from_the_symbol_table() {
    let test = "jump_distance_is_read_from_the_symbol_table";
    let dir = TempDir::new("uo-delta");
    let Some(bin) = dir.compile_c_with(test, "target", TARGET, &["-fno-inline"]) else {
        return;
    };
    let nm = match std::process::Command::new("nm").arg(&bin).output() {
        Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
        Err(e) => {
            skip::skip(test, &format!("nm is not installed ({e})"));
            return;
        }
    };
    let addr = |name: &str| {
        nm.lines()
            .find_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() == 3 && f[2] == name).then(|| u64::from_str_radix(f[0], 16).unwrap())
            })
            .unwrap_or_else(|| panic!("{name} not in nm's output:\n{nm}"))
    };
    use policyctl_runtime::uregs::{ip_delta, Place};
    let want = addr("yes") as i64 - addr("check") as i64;
    let got = ip_delta(
        &bin,
        &Place::Symbol("check".into()),
        &Place::Symbol("yes".into()),
    )
    .unwrap();
    assert_eq!(got, want);
    assert_ne!(got, 0);
    // by address and by file offset, the same place
    let by_addr = ip_delta(
        &bin,
        &Place::Addr(addr("check")),
        &Place::Symbol("yes".into()),
    )
    .unwrap();
    assert_eq!(by_addr, want);
    let offset = policyctl_runtime::elf::file_offset_from_addr(&bin, addr("yes")).unwrap();
    let by_offset = ip_delta(&bin, &Place::Symbol("check".into()), &Place::Offset(offset)).unwrap();
    assert_eq!(by_offset, want);
    assert!(ip_delta(
        &bin,
        &Place::Symbol("check".into()),
        &Place::Symbol("nope".into())
    )
    .is_err());
}
