//! `policyctl run --dry-run`: what `policyctl run` would do with policies on a kernel, without
//! loading anything and without root.
//!
//! Each kernel (`--btf` files, or the running kernel's BTF) is taken in turn: the policies are
//! checked against it exactly as `run` checks them, then each policy that checks clean is
//! compiled alone into the runtime's plan, for that kernel's BTF, its tracepoint layouts and
//! the attach features its configuration says it has ([`Kernel::lacks`]); then the policies
//! that compile are compiled together (the limits shared between policies). Per hook it says
//! how it would attach and what it fills in the maps; per refused policy, why.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use clap::ValueEnum;
use policyctl_runtime::plan::{Features, Method, Plan, PlanError};
use policyctl_validator::kernel::{Feature, Kernel};
use policyctl_validator::Selection;
use serde_json::{json, Value};

use crate::kernels::{self, KernelArgs};

/// `--format` of a dry run.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum DryFormat {
    /// A few lines per kernel.
    Text,
    /// One JSON object: `{kernels: [{kernel, policies: [{file, policy, hooks, refused}], together}]}`.
    Json,
}

/// What a dry run is asked.
pub struct DryRun<'a> {
    /// The policy files.
    pub files: &'a [String],
    /// The kernels to plan for (the command line's, else the project file's).
    pub kernels: &'a KernelArgs,
    /// The codes reported and their severities (the project file's, then the command line's).
    pub selection: &'a Selection,
    /// `--attach`.
    pub method: Option<Method>,
    /// `--allow-unfiltered-enforcement`.
    pub allow_unfiltered: bool,
    /// `--allow-network-actions`.
    pub allow_network: bool,
    /// `--format`.
    pub format: DryFormat,
}

/// The attach features a kernel has, as far as what is known of it says ([`Kernel::lacks`]):
/// a dry run probes nothing.
pub fn features_of(kernel: &Kernel) -> Features {
    Features {
        kprobes: kernel.lacks(Feature::Kprobes).is_none(),
        trampolines: kernel.lacks(Feature::Trampolines).is_none(),
        bpf_lsm: kernel.lacks(Feature::BpfLsm).is_none()
            && kernel.lacks(Feature::ActiveBpfLsm).is_none(),
        uprobe_regs: kernel.lacks(Feature::UprobeRegsChange).is_none(),
        // only which slots serve the kprobes: a dry run shows the copies' layout
        kprobe_multi: false,
    }
}

/// Run the dry run: exit 0 when every policy would run on every kernel, 1 when any would be
/// refused, 2 when the files or kernels cannot be read.
pub fn dry_run(ask: &DryRun<'_>) -> ExitCode {
    let loaded = match kernels::load(ask.kernels) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("policyctl run --dry-run: {e}");
            return ExitCode::from(2);
        }
    };
    if loaded.kernels.is_empty() {
        eprintln!("policyctl run --dry-run: no kernel to plan for (give --btf FILE, or run it on a host with /sys/kernel/btf/vmlinux)");
        return ExitCode::from(2);
    }
    let mut out = Vec::new();
    let mut refused_any = false;
    for kernel in &loaded.kernels {
        match plan_for(ask, kernel) {
            Ok(v) => {
                refused_any |= v["refused"].as_u64().unwrap_or(0) > 0;
                out.push(v);
            }
            Err(e) => {
                eprintln!("policyctl run --dry-run: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    let written = match ask.format {
        DryFormat::Json => writeln!(w, "{}", json!({ "kernels": out })),
        DryFormat::Text => w.write_all(text(&out).as_bytes()),
    };
    if written.is_err() {
        return ExitCode::from(2);
    }
    if refused_any {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Check and compile every file for one kernel: the JSON of that kernel's result.
fn plan_for(ask: &DryRun<'_>, kernel: &Arc<Kernel>) -> Result<Value, String> {
    let kernels = std::slice::from_ref(kernel);
    let mut jobs = Vec::new();
    for f in ask.files {
        jobs.push(crate::read_policy(Some(Path::new(f)), kernels).map_err(|e| e.to_string())?);
    }
    let crate::run::Checked {
        reports,
        unfiltered,
    } = crate::run::check_for_run(jobs, kernels, ask.selection).map_err(|internal| {
        internal
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let features = features_of(kernel);
    let mut policies = Vec::new();
    let mut refused = 0u64;
    let mut runnable = Vec::new();
    let unfiltered = if ask.allow_unfiltered {
        Vec::new()
    } else {
        unfiltered
    };
    for report in &reports {
        let file = report.source.name();
        let accepted = match report.accepted_allowing(|d| crate::run::served_otherwise(report, d)) {
            Ok(a) => a,
            Err(n) => {
                // The whole file is refused, as `run` refuses it.
                let names: Vec<String> = report
                    .policies
                    .iter()
                    .map(|p| {
                        p.policy
                            .name
                            .as_ref()
                            .map_or(String::new(), |n| n.value.clone())
                    })
                    .collect();
                let first = report
                    .diagnostics
                    .iter()
                    .find(|d| d.severity == policyctl_validator::Severity::Error)
                    .map(|d| format!("{} {}", d.code.as_str(), d.message))
                    .unwrap_or_default();
                let why = format!(
                    "{n} error{} from the check (`policyctl check` shows them; the first: {first})",
                    if n == 1 { "" } else { "s" }
                );
                for name in names
                    .iter()
                    .map(String::as_str)
                    .chain(names.is_empty().then_some(""))
                {
                    refused += 1;
                    policies
                        .push(json!({"file": file, "policy": name, "hooks": [], "refused": [why]}));
                }
                continue;
            }
        };
        let lines: Vec<&String> = unfiltered
            .iter()
            .filter(|l| l.starts_with(&format!("{file}:")))
            .collect();
        for a in accepted {
            let name = a
                .policy()
                .name
                .as_ref()
                .map_or(String::new(), |n| n.value.clone());
            if !lines.is_empty() {
                refused += 1;
                let why: Vec<String> = lines
                    .iter()
                    .map(|l| format!("{l} (refused without --allow-unfiltered-enforcement)"))
                    .collect();
                policies.push(json!({"file": file, "policy": name, "hooks": [], "refused": why}));
                continue;
            }
            let compiled = Plan::compile(std::slice::from_ref(&a), kernel, features, ask.method)
                .and_then(|plan| {
                    let refusals = plan.network_action_refusals();
                    if ask.allow_network || refusals.is_empty() {
                        Ok(plan)
                    } else {
                        Err(refusals)
                    }
                });
            match compiled {
                Ok(plan) => {
                    let mut entry = json!({
                        "file": file,
                        "policy": name,
                        "hooks": hooks_json(&plan),
                        "notes": plan.skipped,
                        "refused": [],
                    });
                    // the enforcer's fmod_ret programs, only where the policy has one
                    if let Some(e) = plan.enforcers.first() {
                        entry["enforcer"] = json!({"attach": "fmod_ret", "calls": e.calls});
                    }
                    policies.push(entry);
                    runnable.push(a);
                }
                Err(errors) => {
                    refused += 1;
                    let why: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
                    policies
                        .push(json!({"file": file, "policy": name, "hooks": [], "refused": why}));
                }
            }
        }
    }
    // What only shows when the policies run together: the limits they share.
    let together: Vec<String> = match Plan::compile(&runnable, kernel, features, ask.method) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(PlanError::to_string).collect(),
    };
    if !together.is_empty() {
        refused += 1;
    }
    Ok(json!({
        "kernel": kernel.name,
        "features": {
            "kprobes": features.kprobes,
            "fentry": features.trampolines,
            "bpf_lsm": features.bpf_lsm,
            // uprobe programs may write registers (Override on uprobes), as the BTF says
            "uprobe_regs": features.uprobe_regs,
            "from_config": kernel.config.is_some(),
        },
        "policies": policies,
        "together": together,
        "refused": refused,
    }))
}

/// Each hook of a plan: what it attaches with, and what it fills in the maps.
fn hooks_json(plan: &Plan) -> Vec<Value> {
    plan.hooks
        .iter()
        .map(|h| {
            json!({
                "attach": h.method(),
                "target": crate::run::describe(&h.attach),
                "event": format!("{:?}", h.event),
                "args": h.args.len(),
                "selectors": h.config.nselectors,
                "string_entries": h.strings.len(),
                "cel_programs": h.cel.len(),
                // a `return: true` hook's return program (kretprobe, fexit, sys_exit_ tracepoint)
                "return": (h.config.returns != 0).then(|| h.attach.return_method()).flatten(),
            })
        })
        .collect()
}

/// The text form: per kernel, one line per policy and one per hook, then a count.
fn text(kernels: &[Value]) -> String {
    let mut s = String::new();
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let (ok, no) = if color {
        ("\x1b[32mruns\x1b[0m", "\x1b[31mrefused\x1b[0m")
    } else {
        ("runs", "refused")
    };
    for k in kernels {
        let name = k["kernel"].as_str().unwrap_or("?");
        let f = &k["features"];
        let has = |key: &str| {
            if f[key].as_bool() == Some(true) {
                "yes"
            } else {
                "no"
            }
        };
        let known = if f["from_config"].as_bool() == Some(true) {
            ""
        } else {
            "; no kernel configuration given (--kernel-config): assumed"
        };
        s.push_str(&format!(
            "{name} (kprobes: {}, fentry: {}, BPF LSM: {}{known})\n",
            has("kprobes"),
            has("fentry"),
            has("bpf_lsm")
        ));
        let policies = k["policies"].as_array().map_or(&[][..], Vec::as_slice);
        for p in policies {
            let (file, policy) = (
                p["file"].as_str().unwrap_or(""),
                p["policy"].as_str().unwrap_or(""),
            );
            let reasons = p["refused"].as_array().map_or(&[][..], Vec::as_slice);
            if reasons.is_empty() {
                s.push_str(&format!("  {ok}     {file}: policy `{policy}`\n"));
                for h in p["hooks"].as_array().map_or(&[][..], Vec::as_slice) {
                    let ret = h["return"]
                        .as_str()
                        .map(|r| format!(", its return with {r}"))
                        .unwrap_or_default();
                    let cel = match h["cel_programs"].as_u64() {
                        Some(0) | None => String::new(),
                        Some(1) => ", 1 CelExpr program".to_string(),
                        Some(n) => format!(", {n} CelExpr programs"),
                    };
                    s.push_str(&format!(
                        "            {} with {}{ret} ({} arg{}, {} selector{}, {} string entr{}{cel})\n",
                        h["target"].as_str().unwrap_or(""),
                        h["attach"].as_str().unwrap_or(""),
                        h["args"],
                        plural(&h["args"], "", "s"),
                        h["selectors"],
                        plural(&h["selectors"], "", "s"),
                        h["string_entries"],
                        plural(&h["string_entries"], "y", "ies"),
                    ));
                }
                if let Some(calls) = p["enforcer"]["calls"].as_array() {
                    let calls: Vec<&str> = calls.iter().filter_map(Value::as_str).collect();
                    s.push_str(&format!(
                        "            enforcer on {} with fmod_ret\n",
                        calls.join(", ")
                    ));
                }
                for n in p["notes"].as_array().map_or(&[][..], Vec::as_slice) {
                    s.push_str(&format!("            note: {}\n", n.as_str().unwrap_or("")));
                }
            } else {
                for r in reasons {
                    s.push_str(&format!(
                        "  {no}  {file}: policy `{policy}`: {}\n",
                        r.as_str().unwrap_or("")
                    ));
                }
            }
        }
        for t in k["together"].as_array().map_or(&[][..], Vec::as_slice) {
            s.push_str(&format!("  {no}  together: {}\n", t.as_str().unwrap_or("")));
        }
        let total = policies.len();
        let runs = policies
            .iter()
            .filter(|p| p["refused"].as_array().is_some_and(Vec::is_empty))
            .count();
        s.push_str(&format!(
            "{name}: {runs} of {total} polic{} would run\n",
            if total == 1 { "y" } else { "ies" }
        ));
    }
    s
}

fn plural(n: &Value, one: &'static str, many: &'static str) -> &'static str {
    if n.as_u64() == Some(1) {
        one
    } else {
        many
    }
}
