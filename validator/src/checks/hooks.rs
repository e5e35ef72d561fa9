//! Policy-level and hook-level rules: one hook section, hooks present, hook kinds allowed in the
//! namespaced kind, options, the `syscall` flag, the same function hooked twice.

use crate::codes::{Code, CodeInfo};
use crate::diagnostic::{Diagnostic, Severity};
use crate::facts::{self, HookKind};
use crate::model::{Kind, Policy};
use crate::suggest::did_you_mean;

/// `P001`.
pub const P001: CodeInfo = CodeInfo {
    code: "P001",
    name: "multiple-hook-sections",
    severity: Severity::Error,
    summary: "A policy with more than one kind of hook section (kprobes and tracepoints, ...).",
    explanation: "Tetragon builds one sensor per policy and refuses a policy that mixes kprobes, tracepoints, lsmhooks, uprobes, usdts or fentries: \"tracing policies with multiple sections of kprobes, tracepoints, lsm hooks, uprobes or usdts are currently not supported\". Split it into one policy per hook kind; `lists`, `enforcers` and `options` may stay beside the one section.",
    tetragon: "pkg/sensors/tracing/policyhandler_linux.go",
};

/// `P002`.
pub const P002: CodeInfo = CodeInfo {
    code: "P002",
    name: "no-hooks",
    severity: Severity::Warning,
    summary: "A policy that hooks nothing.",
    explanation: "A policy without kprobes, tracepoints, lsmhooks, uprobes, usdts or fentries (and without `loader: true`) loads and does nothing at all. Usually the hook section is misindented or misspelt and was reported as an unknown field, or the file is a template.",
    tetragon: "not checked by Tetragon (the policy loads and stays idle)",
};

/// `P003`.
pub const P003: CodeInfo = CodeInfo {
    code: "P003",
    name: "namespaced-hook-kind",
    severity: Severity::Error,
    summary: "uprobes or usdts in a TracingPolicyNamespaced.",
    explanation: "User-space probes attach to a binary on the host, not to the processes of one namespace, so Tetragon refuses them in namespaced policies (\"uprobe is not supported in a namespaced tracing policy\").",
    tetragon: "pkg/sensors/k8s.go",
};

/// `P004`.
pub const P004: CodeInfo = CodeInfo {
    code: "P004",
    name: "unknown-option",
    severity: Severity::Warning,
    summary: "An `options` name Tetragon does not know.",
    explanation: "Tetragon silently ignores option names it does not know, so a misspelt `policy-mode` leaves the policy in its default mode without a word. The known options are disable-kprobe-multi, disable-uprobe-multi, override-method, policy-mode and sleepable-preload-size.",
    tetragon: "pkg/sensors/tracing/options.go (unknown names are ignored)",
};

/// `P005`.
pub const P005: CodeInfo = CodeInfo {
    code: "P005",
    name: "invalid-option-value",
    severity: Severity::Error,
    summary: "An option with a value Tetragon cannot parse.",
    explanation: "Known options have typed values: booleans for disable-kprobe-multi and disable-uprobe-multi, `fmod-ret` or `override-return` for override-method, `enforce` or `monitor` for policy-mode, a positive integer for sleepable-preload-size. Tetragon fails the policy on any other value.",
    tetragon: "pkg/sensors/tracing/options.go (`failed to parse options`)",
};

/// `P006`.
pub const P006: CodeInfo = CodeInfo {
    code: "P006",
    name: "syscall-flag",
    severity: Severity::Error,
    summary: "`syscall` does not match the call: a kernel function hooked as a syscall, or the reverse.",
    explanation: "`syscall` defaults to true. With it, Tetragon adds the architecture's prefix to the name (`sys_openat` becomes `__x64_sys_openat`) and reads the arguments through the syscall wrapper. A plain kernel function like `do_mkdirat` then turns into `__x64_do_mkdirat`, which does not exist, and the policy fails to load. The reverse mistake, `sys_openat` with `syscall: false`, looks for a function literally named `sys_openat`, which x86_64 and arm64 kernels do not have.",
    tetragon: "pkg/arch/arch.go AddSyscallPrefix; pkg/sensors/tracing/generickprobe.go pre-validation",
};

/// `P007`.
pub const P007: CodeInfo = CodeInfo {
    code: "P007",
    name: "duplicate-hook",
    severity: Severity::Error,
    summary: "The same function hooked twice in one policy.",
    explanation: "With kprobe_multi (the default on current kernels) Tetragon refuses a policy that lists the same symbol twice (\"can't have multiple instances of same symbol\"); without it, only one of the two hooks took effect, silently. Merge the two hooks' selectors into one hook (up to 5 selectors).",
    tetragon: "pkg/sensors/tracing/generickprobe.go (kprobe_multi duplicate check)",
};

/// Run the checks.
pub fn check(policy: &Policy, out: &mut Vec<Diagnostic>) {
    let spec = &policy.spec;
    let mut kinds: Vec<(HookKind, crate::source::Span)> = Vec::new();
    for &(kind, span) in &spec.sections {
        if !kinds.iter().any(|(k, _)| *k == kind) {
            kinds.push((kind, span));
        }
    }
    if kinds.len() > 1 {
        let names: Vec<&str> = kinds.iter().map(|(k, _)| k.key()).collect();
        let mut d = Diagnostic::new(
            Code::P001,
            kinds[1].1,
            format!("this policy mixes hook sections: {}", names.join(", ")),
        )
        .help("split it into one policy per hook section");
        d = d.related(kinds[0].1, format!("`{}` starts here", kinds[0].0.key()));
        out.push(d);
    }
    if spec.hooks.is_empty() && !spec.loader {
        let span = spec.sections.first().map_or(spec.span, |(_, s)| *s);
        out.push(
            Diagnostic::new(
                Code::P002,
                span,
                "this policy hooks nothing, so it does nothing when loaded",
            )
            .help("add a hook section such as `kprobes:` or `lsmhooks:` under `spec`"),
        );
    }
    if policy.kind == Kind::TracingPolicyNamespaced {
        for &(kind, span) in &spec.sections {
            if matches!(kind, HookKind::Uprobe | HookKind::Usdt) {
                out.push(
                    Diagnostic::new(
                        Code::P003,
                        span,
                        format!("a TracingPolicyNamespaced cannot have `{}`", kind.key()),
                    )
                    .help("move the user-space probes to a cluster-wide `TracingPolicy`"),
                );
            }
        }
    }
    check_options(policy, out);
    check_syscall_flags(policy, out);
    check_duplicates(policy, out);
}

fn check_options(policy: &Policy, out: &mut Vec<Diagnostic>) {
    let names: Vec<&str> = facts::OPTIONS.iter().map(|(n, _)| *n).collect();
    for opt in &policy.spec.options {
        let Some(name) = &opt.name else { continue };
        let Some((_, allowed)) = facts::OPTIONS.iter().find(|(n, _)| *n == name.value) else {
            let d = Diagnostic::new(
                Code::P004,
                name.span,
                format!(
                    "`{}` is not an option Tetragon knows; it is ignored",
                    name.value
                ),
            );
            out.push(match did_you_mean(&name.value, &names) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!("known options: {}", names.join(", "))),
            });
            continue;
        };
        let value = opt.value.as_ref();
        let text = value.map_or("", |v| v.value.as_str());
        let ok = if allowed.is_empty() {
            text.parse::<u32>().is_ok_and(|n| n > 0)
        } else {
            allowed.contains(&text)
        };
        if !ok {
            let span = value.map_or(name.span, |v| v.span);
            let expected = if allowed.is_empty() {
                "a positive integer".to_string()
            } else {
                allowed.join(" or ")
            };
            out.push(
                Diagnostic::new(
                    Code::P005,
                    span,
                    format!("option `{}` cannot be `{text}`", name.value),
                )
                .help(format!("set `value:` to {expected}")),
            );
        }
    }
}

/// True when `call` is a syscall name Tetragon can prefix (`sys_x`) or already prefixed.
pub fn is_syscall_name(call: &str) -> bool {
    call.starts_with("sys_")
        || facts::SYSCALL_ARCH_PREFIXES.iter().any(|p| {
            call.strip_prefix(p)
                .is_some_and(|rest| rest.starts_with("sys_") || rest.starts_with("compat_sys_"))
        })
}

fn check_syscall_flags(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.spec.hooks {
        if !matches!(hook.kind, HookKind::Kprobe | HookKind::Fentry) {
            continue;
        }
        let Some(call) = &hook.target else { continue };
        if call.value.starts_with("list:") {
            continue;
        }
        let syscall_name = is_syscall_name(&call.value);
        match &hook.syscall {
            None | Some(crate::model::Spanned { value: true, .. }) if !syscall_name => {
                let (span, how) = match &hook.syscall {
                    Some(s) => (s.span, "`syscall: true`"),
                    None => (call.span, "`syscall` left at its default (true)"),
                };
                if crate::kernel::syscalls::lookup(&call.value).is_some() {
                    out.push(
                        Diagnostic::new(
                            Code::P006,
                            call.span,
                            format!(
                                "`{}` is a syscall's bare name; with {how} Tetragon expects `sys_{}` and adds the architecture's prefix to that",
                                call.value, call.value
                            ),
                        )
                        .help(format!("write `call: \"sys_{}\"`", call.value)),
                    );
                    continue;
                }
                out.push(
                    Diagnostic::new(
                        Code::P006,
                        span,
                        format!(
                            "`{}` is not a syscall, but with {how} Tetragon adds the architecture's prefix, looks for `__x64_{}` (x86_64) or `__arm64_{}` (arm64), and the policy fails to load",
                            call.value, call.value, call.value
                        ),
                    )
                    .help(if hook.syscall.is_some() {
                        "set `syscall: false` for a plain kernel function"
                    } else {
                        "add `syscall: false` under the call"
                    }),
                );
            }
            Some(s) if !s.value && call.value.starts_with("sys_") => {
                out.push(
                    Diagnostic::new(
                        Code::P006,
                        s.span,
                        format!(
                            "`{}` is a syscall name, but with `syscall: false` Tetragon looks for a kernel function named exactly `{}`, which x86_64 and arm64 kernels do not have",
                            call.value, call.value
                        ),
                    )
                    .help("set `syscall: true` (or remove the line) so that Tetragon adds the architecture's prefix"),
                );
            }
            _ => {}
        }
    }
}

fn check_duplicates(policy: &Policy, out: &mut Vec<Diagnostic>) {
    let hooks = &policy.spec.hooks;
    for (i, hook) in hooks.iter().enumerate() {
        if !matches!(hook.kind, HookKind::Kprobe | HookKind::Fentry) {
            continue;
        }
        let Some(call) = &hook.target else { continue };
        let first = hooks[..i].iter().find(|h| {
            h.kind == hook.kind
                && h.target.as_ref().is_some_and(|t| t.value == call.value)
                && h.is_syscall() == hook.is_syscall()
        });
        if let Some(first) = first {
            let first_span = first.target.as_ref().map_or(first.span, |t| t.span);
            out.push(
                Diagnostic::new(
                    Code::P007,
                    call.span,
                    format!("`{}` is already hooked by this policy", call.value),
                )
                .help("merge both hooks into one, with the selectors of both (at most 5)")
                .related(first_span, "first hooked here"),
            );
        }
    }
}
