//! Policy-level and hook-level rules: one hook section, hooks present, hook kinds allowed in the
//! namespaced kind, options, empty hook names, the `syscall` flag, the same function hooked
//! twice.

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
    explanation: "Tetragon turns one policy into the sensor of one hook kind, so it refuses a policy in which more than one of kprobes, fentries, tracepoints, lsmhooks, uprobes and usdts holds a hook (\"tracing policies with multiple sections of kprobes, tracepoints, lsm hooks, uprobes or usdts are currently not supported\"). A section written as an empty list does not count. Split the policy into one policy per hook kind; `lists`, `enforcers` and `options` may stay beside the one section.",
    tetragon: "pkg/sensors/tracing/policyhandler_linux.go policyHandler.PolicyHandler (counts the non-empty hook sections before anything else)",
};

/// `P002`.
pub const P002: CodeInfo = CodeInfo {
    code: "P002",
    name: "no-hooks",
    severity: Severity::Warning,
    summary: "A policy that hooks nothing.",
    explanation: "A policy without any kprobe, fentry, tracepoint, lsmhook, uprobe or usdt (and without `loader: true`) loads and does nothing at all: Tetragon's tracing handler finds no section to build a sensor from and returns none, without an error. Usually the hook section is misindented or misspelt and was reported as an unknown field, or the file is a template. A warning, not an error: the policy says nothing it fails to do, and Tetragon's own tests load such policies on purpose (pkg/server/server_test.go, pkg/sensors/tracing/uprobe_test.go).",
    tetragon: "pkg/sensors/tracing/policyhandler_linux.go policyHandler.PolicyHandler (no sensor and no error when every hook section is empty)",
};

/// `P003`.
pub const P003: CodeInfo = CodeInfo {
    code: "P003",
    name: "namespaced-hook-kind",
    severity: Severity::Error,
    summary: "uprobes or usdts in a TracingPolicyNamespaced.",
    explanation: "User-space probes are resolved against a binary in the agent's own (host) mount namespace, not inside the containers of the policy's namespace, so Tetragon refuses them in namespaced policies (\"uprobe is not supported in a namespaced tracing policy\", \"usdt is not supported in a namespaced tracing policy\"). Move them to a cluster-wide TracingPolicy.",
    tetragon: "pkg/sensors/k8s.go validateNamespacedProbes (called from handler.updatePolicyFilter)",
};

/// `P004`.
pub const P004: CodeInfo = CodeInfo {
    code: "P004",
    name: "unknown-option",
    severity: Severity::Warning,
    summary: "An `options` name Tetragon does not know.",
    explanation: "Tetragon looks each option name up in its table of known options and silently skips the names it does not find, so the setting never takes effect: a misspelt `policy-mode` leaves the policy in its default mode (enforce) without a word, a misspelt `disable-kprobe-multi` leaves kprobe_multi on. Names are compared exactly (case matters). The known options are disable-kprobe-multi, disable-uprobe-multi, override-method, policy-mode and sleepable-preload-size.\n\nA warning, not an error: option names are free-form (the CRD does not list them), so policyctl cannot tell a misspelling from an option of another Tetragon version, and a misspelt option whose value is the default anyway (`polcy-mode: enforce`) leaves the policy doing what it says.",
    tetragon: "pkg/sensors/tracing/options.go getSpecOptions (names missing from the `opts` table are skipped)",
};

/// `P005`.
pub const P005: CodeInfo = CodeInfo {
    code: "P005",
    name: "invalid-option-value",
    severity: Severity::Error,
    summary: "An option with a value Tetragon cannot parse.",
    explanation: "Known options have typed values, parsed when the policy loads. disable-kprobe-multi and disable-uprobe-multi are read with Go's strconv.ParseBool, which takes exactly 1, t, T, TRUE, true, True, 0, f, F, FALSE, false and False. override-method is `fmod-ret` or `override-return`, policy-mode is `enforce` or `monitor` (both exact, lowercase). sleepable-preload-size is read with strconv.Atoi (decimal, an optional sign) and must be above 0. A missing `value` is the empty string, which none of them accepts. Any other value fails the whole policy (\"failed to parse options: failed to set option ...\").",
    tetragon: "pkg/sensors/tracing/options.go getSpecOptions and the `opts` setters; pkg/policyconf/policyconf.go ParseMode; pkg/sensors/tracing/policyhandler_linux.go policyHandler.PolicyHandler (\"failed to parse options\")",
};

/// `P006`.
pub const P006: CodeInfo = CodeInfo {
    code: "P006",
    name: "syscall-flag",
    severity: Severity::Error,
    summary: "`syscall` does not match the call: a kernel function hooked as a syscall, or the reverse.",
    explanation: "`syscall` defaults to true. With it, Tetragon adds the architecture's prefix to the name (`sys_openat` becomes `__x64_sys_openat` on x86_64, `__arm64_sys_openat` on arm64) unless the name already starts with `__x64_`, `__arm64_` or `__ia32_`, in which case it is used as written (no second prefix is ever added), and reads the arguments through the syscall wrapper. It then looks the name up in the kernel's BTF and refuses the policy when it is missing (\"kprobe spec pre-validation failed\"). So a plain kernel function like `do_mkdirat` turns into `__x64_do_mkdirat`, which does not exist, and an already prefixed name that is not a syscall wrapper, like `__x64_connect` (the wrapper is `__x64_sys_connect`), is not found either. The reverse mistake, `sys_openat` with `syscall: false`, looks for a function literally named `sys_openat`, which x86_64 and arm64 kernels do not have. With `ignore.callNotFound: true` a missing function only makes Tetragon skip the hook, so the policy loads without it: then this is a warning, because skipping a function that is not found is what that option asks for (Tetragon's own test testKprobeIgnore hooks a made-up function that way).",
    tetragon: "pkg/arch/arch.go addSyscallPrefix; pkg/sensors/tracing/generickprobe.go preValidateKprobe; pkg/btf/validation.go ValidateKprobeSpec (\"syscall %q (or %q) ...\", \"call %q: ...\")",
};

/// `P007`.
pub const P007: CodeInfo = CodeInfo {
    code: "P007",
    name: "duplicate-hook",
    severity: Severity::Error,
    summary: "The same kernel function hooked twice by the kprobes of one policy that uses kprobe_multi.",
    explanation: "Tetragon numbers the hooks of one policy on the same symbol (instance 0, 1, ...). With kprobe_multi, which Tetragon uses by default for kprobes on kernels that have it, every instance after the first is refused (\"can't have multiple instances of same symbol '...' with kprobe_multi, use --disable-kprobe-multi option\"). Without kprobe_multi the instances are attached separately and all of them work: that is the case with the policy option `disable-kprobe-multi: \"true\"`, for fentries (never multi), for lsmhooks, and when the agent runs with --disable-kprobe-multi, on kernels without kprobe_multi, or on arm64 for policies with enforcers or Override. A syscall is the same symbol whether written `sys_openat` or `__x64_sys_openat`. Merge the two hooks' selectors into one hook (up to 5 selectors), or set the option.",
    tetragon: "pkg/sensors/tracing/generickprobe.go createGenericKprobeSensor (useMulti, DupInstance.GetID) and addKprobe (\"can't have multiple instances of same symbol\"); pkg/sensors/tracing/generic.go DupInstance",
};

/// `P008`.
pub const P008: CodeInfo = CodeInfo {
    code: "P008",
    name: "empty-hook-target",
    severity: Severity::Error,
    summary: "A hook whose function, LSM hook, tracepoint subsystem or event is the empty string.",
    explanation: "The CRD only requires these fields to be present, so `hook: \"\"` or `event: \"\"` passes the API server. Tetragon then refuses the policy before looking at any kernel: an empty lsmhook (\"lsm hook name is empty\"), an empty tracepoint subsystem (\"tracepoint subsystem is empty\") or event (\"tracepoint event is empty\"). A kprobe or fentry with an empty `call` names no kernel function, so its BTF lookup fails and the policy is refused (with `ignore.callNotFound: true` the hook is skipped instead: a warning, as skipping a function that is not found is what that option asks for).",
    tetragon: "pkg/sensors/tracing/genericlsm.go preValidateLsm; pkg/sensors/tracing/generictracepoint.go preValidateTracepoint; pkg/btf/validation.go ValidateKprobeSpec (via generickprobe.go preValidateKprobe)",
};

/// `P009`.
pub const P009: CodeInfo = CodeInfo {
    code: "P009",
    name: "unknown-syscall",
    severity: Severity::Error,
    summary: "A syscall hook (`sys_<name>`) whose name is no Linux syscall.",
    explanation: "With `syscall: true` (the default) Tetragon turns `sys_<name>` into the architecture's wrapper (`__x64_sys_<name>` on x86_64, `__arm64_sys_<name>` on arm64) and looks it up in the kernel's BTF before loading anything. A name that is no syscall at all, such as a typo (`sys_opnat`) or a made-up name, is found on no kernel, and the policy is refused (`syscall \"__x64_sys_opnat\" ... not found`), or, with `ignore.callNotFound: true`, the hook is silently skipped (a warning: skipping a function that is not found is what that option asks for). policyctl knows every x86_64 syscall that Linux has had (the UAPI numbers and the current prototypes), so it reports such a name without a kernel; with `--btf`, K001 says whether a real syscall exists on each kernel. The same holds for the values of a `syscalls` list.",
    tetragon: "pkg/sensors/tracing/generickprobe.go preValidateKprobe -> pkg/btf/validation.go ValidateKprobeSpec (`not found`, a ValidationFailedError); pkg/arch/arch.go AddSyscallPrefix",
};

/// The bare name of a 64-bit syscall hook (`openat` for `sys_openat`, `__x64_sys_openat` or
/// `__arm64_sys_openat`), or None for any other name (32-bit and compat wrappers have names of
/// their own, which the x86_64 table does not hold).
pub fn syscall_bare_name(call: &str) -> Option<&str> {
    let rest = ["__x64_", "__arm64_"]
        .iter()
        .find_map(|p| call.strip_prefix(p))
        .unwrap_or(call);
    rest.strip_prefix("sys_")
}

/// True when `call` names a 64-bit syscall that no Linux version has (P009 reports it without a
/// kernel, so kernel checks leave it alone).
pub fn is_unknown_syscall(call: &str) -> bool {
    syscall_bare_name(call).is_some_and(|b| !b.is_empty() && !is_known_syscall(b))
}

/// True when `bare` is, or was, an x86_64 syscall: it has a prototype in the syscall table or a
/// number in the UAPI header (which keeps removed syscalls such as `_sysctl`).
pub fn is_known_syscall(bare: &str) -> bool {
    crate::kernel::syscalls::lookup(bare).is_some()
        || crate::kernel::syscalls::number(bare).is_some()
}

/// Run the checks.
pub fn check(policy: &Policy, out: &mut Vec<Diagnostic>) {
    let spec = &policy.spec;
    // Tetragon counts a section only when it holds a hook (`len(spec.KProbes) > 0`).
    let mut kinds: Vec<(HookKind, crate::source::Span)> = Vec::new();
    for &(kind, span) in &spec.sections {
        let used = spec.hooks.iter().any(|h| h.kind == kind);
        if used && !kinds.iter().any(|(k, _)| *k == kind) {
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
        for &(kind, span) in &kinds {
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
    check_empty_targets(policy, out);
    check_syscall_flags(policy, out);
    check_unknown_syscalls(policy, out);
    check_duplicates(policy, out);
}

/// True when `options` sets `disable-kprobe-multi` to a value Tetragon reads as true.
fn kprobe_multi_disabled(policy: &Policy) -> bool {
    policy.spec.option_bool("disable-kprobe-multi") == Some(true)
}

fn check_options(policy: &Policy, out: &mut Vec<Diagnostic>) {
    let names: Vec<&str> = facts::OPTIONS.iter().map(|(n, _)| *n).collect();
    for opt in &policy.spec.options {
        let Some(name) = &opt.name else { continue };
        if !names.contains(&name.value.as_str()) {
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
        }
        let Some(value) = &opt.value else {
            // A value that is not a string was reported by the schema check; only a missing
            // value is left (Tetragon reads it as "").
            let reported = out.iter().any(|d| {
                d.code.as_str().starts_with('S')
                    && d.span.start >= opt.span.start
                    && d.span.end <= opt.span.end
            });
            if !reported {
                out.push(
                    Diagnostic::new(
                        Code::P005,
                        name.span,
                        format!(
                            "option `{}` has no `value`; Tetragon reads it as the empty string and refuses it",
                            name.value
                        ),
                    )
                    .help(format!("add `value:` with {}", expected(&name.value))),
                );
            }
            continue;
        };
        let text = value.value.as_str();
        let ok = match name.value.as_str() {
            "disable-kprobe-multi" | "disable-uprobe-multi" => {
                crate::golang::parse_bool(text).is_some()
            }
            "override-method" => matches!(text, "fmod-ret" | "override-return"),
            "policy-mode" => matches!(text, "enforce" | "monitor"),
            "sleepable-preload-size" => crate::golang::atoi(text).is_some_and(|n| n > 0),
            _ => true,
        };
        if !ok {
            out.push(
                Diagnostic::new(
                    Code::P005,
                    value.span,
                    format!("option `{}` cannot be `{text}`", name.value),
                )
                .help(format!("set `value:` to {}", expected(&name.value))),
            );
        }
    }
}

/// What a known option accepts, for help lines.
fn expected(option: &str) -> &'static str {
    match option {
        "disable-kprobe-multi" | "disable-uprobe-multi" => {
            "\"true\" or \"false\" (Go booleans: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False)"
        }
        "override-method" => "\"fmod-ret\" or \"override-return\"",
        "policy-mode" => "\"enforce\" or \"monitor\"",
        _ => "a positive decimal integer",
    }
}

fn check_empty_targets(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.spec.hooks {
        let empty = |f: &Option<crate::model::Spanned<String>>| {
            f.as_ref().filter(|t| t.value.is_empty()).map(|t| t.span)
        };
        match hook.kind {
            HookKind::Lsm => {
                if let Some(span) = empty(&hook.target) {
                    out.push(
                        Diagnostic::new(
                            Code::P008,
                            span,
                            "the lsmhook's `hook` is empty; Tetragon refuses it (\"lsm hook name is empty\")",
                        )
                        .help("name the LSM hook without its `security_` prefix, like `file_open`"),
                    );
                }
            }
            HookKind::Tracepoint => {
                if let Some(span) = empty(&hook.subsystem) {
                    out.push(
                        Diagnostic::new(
                            Code::P008,
                            span,
                            "the tracepoint's `subsystem` is empty; Tetragon refuses it (\"tracepoint subsystem is empty\")",
                        )
                        .help("write the tracepoint's subsystem, like `syscalls` or `sched`"),
                    );
                } else if let Some(span) = empty(&hook.target) {
                    out.push(
                        Diagnostic::new(
                            Code::P008,
                            span,
                            "the tracepoint's `event` is empty; Tetragon refuses it (\"tracepoint event is empty\")",
                        )
                        .help("write the tracepoint's event, like `sys_enter_openat`"),
                    );
                }
            }
            HookKind::Kprobe | HookKind::Fentry => {
                if let Some(span) = empty(&hook.target) {
                    let d = Diagnostic::new(
                        Code::P008,
                        span,
                        format!(
                            "the {}'s `call` is empty, which names no kernel function{}",
                            hook.kind.noun(),
                            if hook.ignore_call_not_found {
                                "; with `ignore.callNotFound` Tetragon skips the hook"
                            } else {
                                "; Tetragon refuses the policy"
                            }
                        ),
                    )
                    .help("write the function to hook, like `sys_openat` or `security_file_open`");
                    out.push(if hook.ignore_call_not_found {
                        d.severity(Severity::Warning)
                    } else {
                        d
                    });
                }
            }
            HookKind::Uprobe | HookKind::Usdt => {}
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

/// The prefixes Tetragon's `addSyscallPrefix` recognises: a name starting with one is used as
/// written, never prefixed again.
const TETRAGON_ARCH_PREFIXES: &[&str] = &["__x64_", "__arm64_", "__ia32_"];

fn check_syscall_flags(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.spec.hooks {
        if !matches!(hook.kind, HookKind::Kprobe | HookKind::Fentry) {
            continue;
        }
        let Some(call) = &hook.target else { continue };
        if call.value.is_empty() || call.value.starts_with("list:") {
            continue;
        }
        // A missing function is skipped, not fatal, with ignore.callNotFound.
        let (severity, outcome) = if hook.ignore_call_not_found {
            (
                Severity::Warning,
                "so with `ignore.callNotFound` Tetragon skips this hook",
            )
        } else {
            (Severity::Error, "and the policy fails to load")
        };
        let syscall_name = is_syscall_name(&call.value);
        let d = match &hook.syscall {
            None | Some(crate::model::Spanned { value: true, .. }) if !syscall_name => {
                let (span, how) = match &hook.syscall {
                    Some(s) => (s.span, "`syscall: true`"),
                    None => (call.span, "`syscall` left at its default (true)"),
                };
                let prefixed = TETRAGON_ARCH_PREFIXES
                    .iter()
                    .find_map(|p| call.value.strip_prefix(p).map(|rest| (*p, rest)));
                if let Some((prefix, rest)) = prefixed {
                    // addSyscallPrefix keeps an already prefixed name as it is.
                    let d = Diagnostic::new(
                        Code::P006,
                        call.span,
                        format!(
                            "`{}` already starts with `{prefix}`, so with {how} Tetragon uses it as written; it is not a syscall wrapper (those are named `{prefix}sys_<name>`), so no such function exists, {outcome}",
                            call.value
                        ),
                    );
                    if crate::kernel::syscalls::lookup(rest).is_some() {
                        d.help(format!("write `call: \"sys_{rest}\"`"))
                    } else {
                        d.help("name the syscall like `sys_openat`, or hook a kernel function by its own name with `syscall: false`")
                    }
                } else if crate::kernel::syscalls::lookup(&call.value).is_some() {
                    Diagnostic::new(
                        Code::P006,
                        call.span,
                        format!(
                            "`{}` is a syscall's bare name; with {how} Tetragon expects `sys_{}` and adds the architecture's prefix to that, so it looks for `__x64_{}`, which does not exist, {outcome}",
                            call.value, call.value, call.value
                        ),
                    )
                    .help(format!("write `call: \"sys_{}\"`", call.value))
                } else {
                    Diagnostic::new(
                        Code::P006,
                        span,
                        format!(
                            "`{}` is not a syscall, but with {how} Tetragon adds the architecture's prefix and looks for `__x64_{}` (x86_64) or `__arm64_{}` (arm64), {outcome}",
                            call.value, call.value, call.value
                        ),
                    )
                    .help(if hook.syscall.is_some() {
                        "set `syscall: false` for a plain kernel function"
                    } else {
                        "add `syscall: false` under the call"
                    })
                }
            }
            Some(s)
                if !s.value
                    && call
                        .value
                        .strip_prefix("sys_")
                        .is_some_and(|rest| crate::kernel::syscalls::lookup(rest).is_some()) =>
            {
                Diagnostic::new(
                    Code::P006,
                    s.span,
                    format!(
                        "`{}` is a syscall name, but with `syscall: false` Tetragon looks for a kernel function named exactly `{}`, which x86_64 and arm64 kernels do not have, {outcome}",
                        call.value, call.value
                    ),
                )
                .help("set `syscall: true` (or remove the line) so that Tetragon adds the architecture's prefix")
            }
            _ => continue,
        };
        out.push(d.severity(severity));
    }
}

/// P009: `sys_<name>` hooks (with `syscall` true) whose name is no syscall.
fn check_unknown_syscalls(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.spec.hooks {
        if !hook.is_syscall() {
            continue;
        }
        let Some(call) = &hook.target else { continue };
        if !is_unknown_syscall(&call.value) {
            continue;
        }
        let bare = syscall_bare_name(&call.value).unwrap_or_default();
        let mut d = Diagnostic::new(
            Code::P009,
            call.span,
            if hook.ignore_call_not_found {
                format!("`{bare}` is not a Linux syscall: with `ignore.callNotFound` Tetragon skips this hook, so it never fires")
            } else {
                format!("`{bare}` is not a Linux syscall, so Tetragon finds no `__x64_sys_{bare}` (or arm64 wrapper) and refuses the policy")
            },
        );
        let names: Vec<&str> = crate::kernel::syscalls::all()
            .iter()
            .map(|s| s.name)
            .collect();
        d = match crate::suggest::did_you_mean(bare, &names) {
            Some(s) => d.help(format!("did you mean `sys_{s}`?")),
            None => d.help(
                "name a syscall (`sys_openat`), or hook a kernel function with `syscall: false`",
            ),
        };
        if hook.ignore_call_not_found {
            d = d.severity(Severity::Warning);
        }
        out.push(d);
    }
}

/// The symbol a kprobe attaches to, arch-independently: a syscall's prefix (written or added
/// by Tetragon) becomes `@`, so `sys_openat` (syscall) and `__x64_sys_openat` compare equal.
fn attach_key(name: &str, syscall: bool) -> String {
    let stripped = ["__x64_", "__arm64_"]
        .iter()
        .find_map(|p| name.strip_prefix(p));
    match stripped {
        Some(rest) => format!("@{rest}"),
        None if syscall => format!("@{name}"),
        None => name.to_string(),
    }
}

fn check_duplicates(policy: &Policy, out: &mut Vec<Diagnostic>) {
    // Only kprobes use kprobe_multi, and only without the option; elsewhere every duplicate
    // gets its own instance and works.
    if kprobe_multi_disabled(policy) {
        return;
    }
    let hooks: Vec<_> = policy
        .spec
        .hooks
        .iter()
        .filter(|h| h.kind == HookKind::Kprobe)
        .filter_map(|h| {
            let call = h.target.as_ref()?;
            if call.value.is_empty() || call.value.starts_with("list:") {
                return None;
            }
            Some((attach_key(&call.value, h.is_syscall()), call, h))
        })
        .collect();
    for (i, (key, call, _)) in hooks.iter().enumerate() {
        if let Some((_, first, _)) = hooks[..i].iter().find(|(k, _, _)| k == key) {
            out.push(
                Diagnostic::new(
                    Code::P007,
                    call.span,
                    format!(
                        "`{}` is already hooked by this policy; with kprobe_multi (Tetragon's default where the kernel has it) the second instance is refused",
                        call.value
                    ),
                )
                .help("merge both hooks into one, with the selectors of both (at most 5), or set the option `disable-kprobe-multi` to \"true\"")
                .related(first.span, "first hooked here"),
            );
        }
    }
}
