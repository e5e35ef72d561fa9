//! Issue 15: a policy the validator and the planner pass for a kernel also loads and attaches
//! on it. For each VM kernel (Debian 6.12 and 6.1, `tests/support/vm.rs`), every policy of the
//! tally's three sets (`testdata/policies/valid/`, `../shared/tetragon-examples/`,
//! `../shared/tetragon-corpus/`) that `policyctl run --dry-run` compiles for that kernel's
//! fixture (the same selection as the tally: `tests/support/corpus.rs`) is run inside the VM
//! with `policyctl run --attach-only`: its programs pass the real kernel's verifier and attach,
//! disarmed, then everything is detached. The policies go in one run: `--attach-only` plans
//! each file alone, in the slots it would have as a run's only file, and detaches it before
//! the next file attaches, so the limits files share in one run do not apply. The kprobe,
//! kretprobe and tracepoint copies the kernel verified for one file serve the next (a kprobe
//! or tracepoint program is verified when it loads, before and apart from any attach target);
//! every other program (fentry, fexit, LSM, uprobe, USDT, raw tracepoint) is loaded, and so
//! verified, for each hook. Uprobes and USDT probes attach to binaries: the ones this host
//! has are copied into the guest at their paths; a policy whose binary this host lacks cannot
//! be tried here, and is counted apart. The test fails on any policy that compiles but does not
//! attach, naming each with the kernel's error, and prints the counts.
//! Skipped without `../shared/`, qemu or the kernel package; fails when `CI` is set.

use crate::corpus;
use crate::skip;
use crate::vm;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Policies that the dry run compiles for a kernel and that the kernel refuses, for a reason the
/// kernel's BTF and configuration do not show: (kernel, file, policy, what the run says, why).
/// Each must still fail exactly so (the test says when one attaches: take it out then).
const KNOWN: &[(&str, &str, &str, &str, &str)] = &[(
    "6.1",
    "../shared/tetragon-examples/tracingpolicy__dev_queue_xmit.yaml",
    "syscalls",
    "kprobe `dev_queue_xmit`: `perf_event_open` failed: Invalid argument",
    // 6.1's BTF has `dev_queue_xmit` (an out-of-line copy of the inline wrapper, a local
    // `t dev_queue_xmit` in /proc/kallsyms) but available_filter_functions does not, and
    // without CONFIG_KPROBE_EVENTS_ON_NOTRACE the kernel refuses a kprobe on a function ftrace
    // does not list (kernel/trace/trace_kprobe.c, __register_trace_kprobe:
    // within_notrace_func, "Could not probe notrace function"); Tetragon's attach fails the
    // same way. A dry run would need the kernel's available_filter_functions to know.
    "dev_queue_xmit is not in 6.1's available_filter_functions",
)];

#[test]
fn every_policy_that_compiles_for_6_12_attaches_on_it() {
    every_policy_attaches(vm::VmKernel::Debian6_12, corpus::BOTH[0]);
}

#[test]
fn every_policy_that_compiles_for_6_1_attaches_on_it() {
    every_policy_attaches(vm::VmKernel::Debian6_1, corpus::BOTH[1]);
}

/// Where a file of the sets goes in the guest, relative to `/c` (the runs' directory):
/// `../shared/x` is `shared/x`, the rest keep their path.
fn guest_rel(file: &str) -> String {
    match file.strip_prefix("../") {
        Some(rest) => rest.to_string(),
        None => file.to_string(),
    }
}

/// The binary a uprobe or USDT hook's target names (`uprobe `/bin/bash:readline``,
/// `uprobe `/x+0x10``, `usdt `/x:provider:name` (at 0x..)`), if it is one.
fn probed_binary(target: &str) -> Option<&str> {
    let rest = target
        .strip_prefix("uprobe `")
        .or_else(|| target.strip_prefix("usdt `"))?;
    let end = rest.find([':', '+', '`']).unwrap_or(rest.len());
    Some(&rest[..end])
}

fn every_policy_attaches(kernel: vm::VmKernel, fixture: (&str, &str)) {
    let name = format!("run_corpus_{}", kernel.short());
    let files = match corpus::files() {
        Ok(files) => files,
        Err(why) => {
            skip::skip(&name, &why);
            return;
        }
    };
    let started = Instant::now();
    let dry = corpus::dry_run(&files, &[fixture]);
    let k = &dry["kernels"][0];
    assert_eq!(k["kernel"], kernel.short(), "{dry}");
    let compiled = corpus::compiled(k);

    // the binaries of uprobes and USDT probes: copied in when this host has them
    let mut binaries: BTreeSet<String> = BTreeSet::new();
    let mut lacking: BTreeMap<(String, String), String> = BTreeMap::new();
    for p in k["policies"].as_array().unwrap() {
        let key = (
            p["file"].as_str().unwrap().to_string(),
            p["policy"].as_str().unwrap().to_string(),
        );
        if !compiled.contains(&key) {
            continue;
        }
        for h in p["hooks"].as_array().unwrap() {
            let Some(bin) = probed_binary(h["target"].as_str().unwrap_or("")) else {
                continue;
            };
            if Path::new(bin).is_file() {
                binaries.insert(bin.to_string());
            } else {
                lacking.insert(key.clone(), bin.to_string());
            }
        }
    }
    // what the dry run says it cannot know: a `generated_ftrace` list matched against the
    // fixture's BTF, where the kernel matches its available_filter_functions (which can hold
    // other names, e.g. `ksys_msgctl.constprop.0`, that Tetragon's BTF validation then
    // refuses, as the run does); such a policy is tried and said, not counted as a failure
    let unsure: BTreeSet<(String, String)> = k["policies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["notes"].as_array().is_some_and(|n| {
                n.iter().any(|n| {
                    n.as_str()
                        .is_some_and(|n| n.contains("available_filter_functions"))
                })
            })
        })
        .map(|p| {
            (
                p["file"].as_str().unwrap().to_string(),
                p["policy"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let tried: Vec<&(String, String)> = compiled
        .iter()
        .filter(|k| !lacking.contains_key(*k))
        .collect();
    let files: Vec<PathBuf> = tried
        .iter()
        .map(|(file, _)| PathBuf::from(file))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let planned = started.elapsed();

    let Some(mut b) = vm::Vm::builder_on(&name, kernel) else {
        return;
    };
    b = b
        .binary_with_libs(env!("CARGO_BIN_EXE_policyctl"), "/usr/bin/policyctl")
        .memory("2G")
        .timeout(Duration::from_secs(3600))
        .scenario_timeout(Duration::from_secs(3000));
    for f in &files {
        b = b.file(
            corpus::root().join(f),
            &format!("/c/{}", guest_rel(f.to_str().unwrap())),
        );
    }
    for bin in &binaries {
        b = b.file(bin, bin);
    }
    let names: Vec<String> = files
        .iter()
        .map(|f| guest_rel(f.to_str().unwrap()))
        .collect();
    b = b.scenario(
        "run",
        &format!(
            "cd /c && POLICYCTL_TIMING=1 policyctl run --attach-only --allow-unfiltered-enforcement --allow-network-actions {} 2>&1",
            names.join(" ")
        ),
    );
    let run = b.run();
    eprintln!("{}", run.timings());

    // what each run said: `attached  FILE: policy `NAME`` and `failed    FILE: ...` lines
    let mut attached: BTreeSet<(String, String)> = BTreeSet::new();
    let mut failures: Vec<String> = Vec::new();
    {
        let out = &run["run"];
        let mut any = false;
        for line in out.output.lines() {
            if let Some(rest) = line.strip_prefix("attached  ") {
                any = true;
                let (file, policy) = rest.split_once(": policy `").expect(line);
                let file = if file.starts_with("shared/") {
                    format!("../{file}")
                } else {
                    file.to_string()
                };
                attached.insert((file, policy.trim_end_matches('`').to_string()));
            } else if line.starts_with("failed    ") {
                any = true;
                failures.push(line.to_string());
            }
        }
        assert!(
            any,
            "the run attached nothing (exit {}):\n{}",
            out.rc, out.output
        );
    }
    let not_attached: Vec<&&(String, String)> =
        tried.iter().filter(|k| !attached.contains(**k)).collect();
    let known: Vec<_> = KNOWN
        .iter()
        .filter(|(k, ..)| *k == kernel.short())
        .collect();
    let is_known = |f: &str, p: &str| known.iter().any(|(_, kf, kp, ..)| *kf == f && *kp == p);
    for (_, f, p, says, why) in &known {
        let key = (f.to_string(), p.to_string());
        if !tried.contains(&&key) {
            continue;
        }
        let line = failures
            .iter()
            .find(|l| l.contains(&format!("{}: policy `{p}`: ", guest_rel(f))));
        assert!(
            line.is_some_and(|l| l.contains(says)),
            "{}: {f}: policy `{p}` was known not to attach ({why}), but the run said otherwise: {line:?}; if it attaches now, take it out of KNOWN",
            kernel.short()
        );
        eprintln!("{}: {f}: policy `{p}`: known: {why}", kernel.short());
    }
    failures.retain(|l| {
        !known
            .iter()
            .any(|(_, f, p, ..)| l.contains(&format!("{}: policy `{p}`: ", guest_rel(f))))
    });
    let missing: Vec<String> = not_attached
        .iter()
        .filter(|k| !unsure.contains(**k) && !is_known(&k.0, &k.1))
        .map(|(f, p)| format!("{f}: policy `{p}`"))
        .collect();
    for (f, p) in not_attached.iter().filter(|k| unsure.contains(**k)) {
        eprintln!(
            "{}: {f}: policy `{p}` did not attach, as its dry run warned it might not (a generated_ftrace list matched against BTF)",
            kernel.short()
        );
    }
    // a failure line of a policy the dry run was unsure of is said above
    failures.retain(|l| {
        !unsure
            .iter()
            .any(|(f, p)| l.contains(&format!("{}: policy `{p}`", guest_rel(f))))
    });
    eprintln!(
        "{}: {} policies compile for the fixture; {} tried in one run ({} lack a binary this host does not have: {}); {} attached, {} did not ({} known, {} as their dry run warned); planned in {planned:?}, whole test {:?}",
        kernel.short(),
        compiled.len(),
        tried.len(),
        lacking.len(),
        lacking.values().cloned().collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>().join(", "),
        attached.len(),
        not_attached.len(),
        not_attached
            .iter()
            .filter(|k| is_known(&k.0, &k.1))
            .count(),
        not_attached.iter().filter(|k| unsure.contains(**k)).count(),
        started.elapsed(),
    );
    assert!(
        missing.is_empty() && failures.is_empty(),
        "{}: policies that compile but do not attach:\n{}\nwhat the runs said:\n{}",
        kernel.short(),
        missing.join("\n"),
        failures.join("\n")
    );
}
