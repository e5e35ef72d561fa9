//! Policy-level and hook-level rules: one hook section, hooks present, hook kinds allowed in the
//! namespaced kind, options, empty hook names, the `syscall` flag, the same function hooked
//! twice.

use crate::codes::{Code, CodeInfo};
use crate::diagnostic::{Diagnostic, Severity};
use crate::facts::{self, HookKind};
use crate::kernel::Arch;
use crate::model::{Arg, Hook, Kind, Policy, Spanned};
use crate::source::Span;
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
    explanation: "`syscall` defaults to true. With it, Tetragon puts the running architecture's prefix before the name (`sys_openat` becomes `__x64_sys_openat` on x86_64, `__arm64_sys_openat` on arm64), looks the result up in the kernel's BTF and refuses the policy when it is missing (\"kprobe spec pre-validation failed\"), and reads the args from the `struct pt_regs` that the syscall's stub receives. A name that already starts with a prefix Tetragon knows (`__x64_`, `__arm64_`, `__ia32_`) gets no second one. With `syscall: false` the name is looked up exactly as written, on every architecture, and the args are read as the function's own parameters.\n\nRefused (error):\n- a kernel function left at `syscall: true`: `do_mkdirat` becomes `__x64_do_mkdirat`, which does not exist. So do a syscall's bare name (`openat`), the static helpers under a stub (`__do_sys_openat` becomes `__x64___do_sys_openat`) and the stubs of architectures Tetragon does not know (`__riscv_sys_openat` becomes `__x64___riscv_sys_openat`);\n- a prefixed name that is not a stub, like `__x64_connect` (the stub is `__x64_sys_connect`): on x86_64 it is looked up as written and not found, on arm64 its prefix is refused; an `__ia32_` name that the kernel lacks is refused on both, as i386 is not the architecture Tetragon runs on;\n- `sys_openat` with `syscall: false`: x86_64 and arm64 kernels have no function of that name.\n\nLoads, but cannot do what it says (error): a stub with `syscall: false` and args (`__x64_sys_openat`, `index: 1`). On its own architecture the stub is found and hooked as a plain function, whose one parameter is `const struct pt_regs *regs`: index 0 reads that pointer and the other indexes read registers that hold no parameter at all, never the syscall's arguments. Tetragon's BTF check says \"kprobe arg 1 has an invalid index\", but only logs it and loads the policy. An arg at index 0 with `resolve`, which walks the `pt_regs`, is left alone. On the other architecture the stub does not exist and the policy is refused. (The same stub without args is P037.)\n\nWith `ignore.callNotFound: true` a function that is not found only makes Tetragon skip the hook, so the policy loads without it: then a missing name is a warning, because skipping a function that is not found is what that option asks for (Tetragon's own test testKprobeIgnore hooks a made-up function that way). That does not cover a prefix refused on an architecture: Tetragon then fails on the prefix, not on a missing name.",
    tetragon: "pkg/arch/arch.go addSyscallPrefix; pkg/sensors/tracing/generickprobe.go preValidateKprobe (only logs errors that are not ValidationFailedError); pkg/btf/validation.go ValidateKprobeSpec (\"syscall %q (or %q) ...\", \"call %q: ...\", \"kprobe arg %d has an invalid index\"); bpf/process/generic_calls.h generic_process_event_and_setup and get_pt_regs_arg (args of `syscall` hooks come from the stub's pt_regs, the others from the probe's registers)",
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

/// `P037`.
pub const P037: CodeInfo = CodeInfo {
    code: "P037",
    name: "arch-bound-syscall-name",
    severity: Severity::Warning,
    summary: "A syscall hooked by a name that only one architecture (`__x64_sys_openat`) or some kernel builds (`__do_sys_openat`) have.",
    explanation: "Syscalls are entered through a stub per architecture: `__x64_sys_openat` on x86_64, `__arm64_sys_openat` on arm64. The portable spelling is `sys_openat` with `syscall: true` (the default): Tetragon puts the prefix of the architecture it runs on before it. Other spellings tie the policy to one architecture or one kernel build:\n\n- `__x64_sys_openat` with `syscall: true`: Tetragon puts no second prefix before it. On x86_64 it hooks the name as written. On arm64 its prefix check fails (\"expecting __arm64_ and got __x64_\"), which is only logged at first, then the name is not in the kernel's BTF, the prefix check fails again and the policy is refused with that error. It is not a \"not found\", so `ignore.callNotFound` does not skip the hook. `__arm64_sys_write` is the same the other way round.\n- `__x64_sys_openat` with `syscall: false` and no args: Tetragon hooks that exact symbol as a plain function, on every architecture. arm64 kernels do not have it, so there the policy is refused (with `ignore.callNotFound`, the hook is skipped). With args, this is P006: they are wrong on x86_64 too.\n- `__do_sys_openat` or `__se_sys_openat` with `syscall: false`: static helpers that the kernel's syscall macros generate under the stub. A kernel has one only where the compiler did not inline it. In the x86_64 kernels of policyctl's tests (6.1, 6.12, 6.18), about 100 of some 450 syscalls keep a `__do_sys_` function, not the same ones from version to version, and none keeps a `__se_sys_` one. Tetragon refuses the policy on a kernel without it. With `syscall: true` they are P006, as Tetragon prefixes them.\n- `__ia32_sys_openat` with `syscall: true` and args: the 32-bit entry of x86_64 kernels. Tetragon logs that `__ia32_` is not its prefix and hooks the name as written on x86_64; on arm64 it refuses the policy. The hook fires only for syscalls made through the 32-bit entry (32-bit programs, `int 0x80`). Tetragon reads a syscall hook's args where 64-bit syscalls pass them (the pt_regs fields di, si, dx, r10, r8), but 32-bit syscalls pass them in bx, cx, dx, si, di, so every arg but index 2 is wrong. Without args an `__ia32_` hook is not reported, nor are compat stubs (`__ia32_compat_sys_*`, `__x64_compat_sys_*`): they are deliberate hooks on an ABI that no portable name spells.\n\nA warning, not an error: each of these loads on some kernels, and policyctl does not know which architecture a policy is for. Given kernels (`--btf`), K001 says for each one whether the name is found. In a fleet with both architectures, such a policy fails to load on part of it. Write `sys_openat` and leave `syscall` at true.",
    tetragon: "pkg/arch/arch.go addSyscallPrefix (supportedArchPrefix: amd64 `__x64_`, arm64 `__arm64_`, i386 `__ia32_`; a known prefix of another architecture is an error); pkg/sensors/tracing/generickprobe.go preValidateKprobe (logs that error and goes on with the name as written); pkg/btf/validation.go ValidateKprobeSpec (when the name is not found, adds the prefix again and fails with its error); bpf/process/generic_calls.h get_pt_regs_arg, generic_process_event_and_setup (syscall args from PT_REGS_SYSCALL_REGS)",
};

/// The syscall prefixes Tetragon's pkg/arch knows (`supportedArchPrefix`), with the
/// architecture Tetragon runs on that takes each as its own. With `syscall: true`,
/// `addSyscallPrefix` puts no second prefix before a name that starts with one of them: on that
/// architecture the name is looked up as written, on the other one the prefix is refused when
/// the kernel lacks the name. `__ia32_` belongs to i386, where Tetragon does not run.
const TETRAGON_ARCH_PREFIXES: &[(&str, Option<Arch>)] = &[
    ("__x64_", Some(Arch::X86_64)),
    ("__arm64_", Some(Arch::Arm64)),
    ("__ia32_", None),
];

/// Syscall stub prefixes of architectures and ABIs Tetragon does not know: with `syscall: true`
/// it puts its own prefix before them.
const OTHER_ARCH_PREFIXES: &[&str] = &["__x32_", "__s390x_", "__s390_", "__riscv_"];

/// The prefixes of the static helpers that the kernel's `SYSCALL_DEFINE` macros put under a
/// syscall's stub (`__se_sys_openat`, `__do_sys_openat`).
const HELPER_PREFIXES: &[&str] = &["__se_", "__do_"];

/// How a kprobe or fentry `call` spells a syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyscallSpelling {
    /// `sys_openat`: with `syscall: true` Tetragon adds the running architecture's prefix.
    Plain,
    /// A stub with a prefix Tetragon knows: `__x64_sys_openat`, `__arm64_sys_openat`,
    /// `__ia32_sys_openat`, or a compat stub (`__ia32_compat_sys_openat`).
    Stub {
        /// `__x64_`, `__arm64_` or `__ia32_`.
        prefix: &'static str,
        /// `compat_sys_` rather than `sys_`.
        compat: bool,
    },
    /// A static helper under the stub: `__se_sys_openat`, `__do_sys_openat`.
    Helper {
        /// `__se_` or `__do_`.
        prefix: &'static str,
    },
    /// A stub of an architecture Tetragon does not know: `__riscv_sys_openat`,
    /// `__x32_compat_sys_openat`.
    OtherArch {
        /// `__riscv_`, `__s390x_`, ...
        prefix: &'static str,
    },
}

/// A `call` that names a syscall: how, and the syscall's bare name (`openat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallName<'a> {
    /// The spelling.
    pub spelling: SyscallSpelling,
    /// The name after `sys_` or `compat_sys_`.
    pub bare: &'a str,
}

/// Read `call` as a syscall name; None for any other name (`do_sys_openat2` and `ksys_read` are
/// kernel functions, `openat` lacks `sys_`). This is the one place that knows the spellings.
pub fn parse_syscall_name(call: &str) -> Option<SyscallName<'_>> {
    /// `sys_X` → (false, X), `compat_sys_X` → (true, X).
    fn entry(rest: &str) -> Option<(bool, &str)> {
        match rest.strip_prefix("sys_") {
            Some(bare) => Some((false, bare)),
            None => rest.strip_prefix("compat_sys_").map(|bare| (true, bare)),
        }
    }
    let after = |prefixes: &[&'static str]| {
        prefixes
            .iter()
            .find_map(|p| call.strip_prefix(p).and_then(entry).map(|e| (*p, e)))
    };
    let (spelling, bare) = if let Some(bare) = call.strip_prefix("sys_") {
        (SyscallSpelling::Plain, bare)
    } else if let Some((prefix, (compat, bare))) = TETRAGON_ARCH_PREFIXES
        .iter()
        .find_map(|(p, _)| call.strip_prefix(p).and_then(entry).map(|e| (*p, e)))
    {
        (SyscallSpelling::Stub { prefix, compat }, bare)
    } else if let Some((prefix, (_, bare))) = after(HELPER_PREFIXES) {
        (SyscallSpelling::Helper { prefix }, bare)
    } else if let Some((prefix, (_, bare))) = after(OTHER_ARCH_PREFIXES) {
        (SyscallSpelling::OtherArch { prefix }, bare)
    } else {
        return None;
    };
    (!bare.is_empty()).then_some(SyscallName { spelling, bare })
}

/// The bare name of a 64-bit syscall hook (`openat` for `sys_openat`, `__x64_sys_openat` or
/// `__arm64_sys_openat`), or None for any other name (32-bit and compat stubs have names of
/// their own, which the x86_64 table does not hold).
pub fn syscall_bare_name(call: &str) -> Option<&str> {
    let name = parse_syscall_name(call)?;
    match name.spelling {
        SyscallSpelling::Plain
        | SyscallSpelling::Stub {
            prefix: "__x64_" | "__arm64_",
            compat: false,
        } => Some(name.bare),
        _ => None,
    }
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

/// True when `call` is a syscall name that Tetragon hooks as a syscall with `syscall: true`:
/// `sys_X`, to which it adds the architecture's prefix, or a stub with a prefix it knows.
pub fn is_syscall_name(call: &str) -> bool {
    matches!(
        parse_syscall_name(call),
        Some(SyscallName {
            spelling: SyscallSpelling::Plain | SyscallSpelling::Stub { .. },
            ..
        })
    )
}

/// The architecture whose prefix is not `arch`'s.
fn other_arch(arch: Arch) -> Arch {
    match arch {
        Arch::X86_64 => Arch::Arm64,
        Arch::Arm64 => Arch::X86_64,
    }
}

/// Does a plain kprobe on a syscall stub read this arg wrong? Every arg does but one at index 0
/// with `resolve` (which walks the stub's `pt_regs`, and can reach the syscall's registers).
pub(crate) fn stub_reads_wrong(arg: &Arg) -> bool {
    arg.index.as_ref().map_or(0, |i| i.value) != 0 || arg.resolve.is_none()
}

/// The first arg that a plain kprobe on a syscall stub reads wrong.
fn first_stub_arg(hook: &Hook) -> Option<&Arg> {
    hook.args.iter().find(|a| stub_reads_wrong(a))
}

/// The arg that P006 reports when a syscall stub (`__x64_sys_openat`) is hooked with
/// `syscall: false` and args: they are read as the stub's own parameters, which are no
/// syscall's arguments whatever the kernel. The kernel checks of args (K010, K011) leave such
/// a hook to P006, so the mistake gets one finding.
pub(crate) fn stub_arg_misread(hook: &Hook) -> Option<&Arg> {
    if !matches!(hook.kind, HookKind::Kprobe | HookKind::Fentry)
        || hook.syscall.as_ref().is_none_or(|s| s.value)
    {
        return None;
    }
    let parsed = parse_syscall_name(&hook.target.as_ref()?.value)?;
    let SyscallSpelling::Stub { prefix, compat } = parsed.spelling else {
        return None;
    };
    let home = TETRAGON_ARCH_PREFIXES
        .iter()
        .find(|(p, _)| *p == prefix)
        .and_then(|(_, h)| *h);
    // x86_64's and arm64's own stubs must be of a syscall policyctl knows (P009 and K001
    // speak of other names); the x86_64 table has no 32-bit-only syscalls.
    if home.is_some() && !compat && !is_known_syscall(parsed.bare) {
        return None;
    }
    first_stub_arg(hook)
}

/// `filename` for `openat`'s index 1, when the syscall table knows it.
fn syscall_param(bare: &str, index: i64) -> Option<&'static str> {
    let i = usize::try_from(index).ok()?;
    Some(crate::kernel::syscalls::lookup(bare)?.args.get(i)?.name)
}

fn check_syscall_flags(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.spec.hooks {
        if !matches!(hook.kind, HookKind::Kprobe | HookKind::Fentry) {
            continue;
        }
        let Some(call) = &hook.target else { continue };
        if call.value.is_empty() || call.value.starts_with("list:") {
            continue;
        }
        let d = match &hook.syscall {
            Some(s) if !s.value => syscall_false(hook, call, s.span),
            _ => syscall_true(hook, call),
        };
        out.extend(d);
    }
}

/// P006 and P037 for a hook with `syscall: true` (written or by default).
fn syscall_true(hook: &Hook, call: &Spanned<String>) -> Option<Diagnostic> {
    let name = call.value.as_str();
    let how = match &hook.syscall {
        Some(_) => "`syscall: true`",
        None => "`syscall` left at its default (true)",
    };
    // A missing function is skipped, not fatal, with ignore.callNotFound.
    let (severity, outcome) = if hook.ignore_call_not_found {
        (
            Severity::Warning,
            "so with `ignore.callNotFound` Tetragon skips this hook",
        )
    } else {
        (Severity::Error, "and the policy fails to load")
    };
    let help_sys = |bare: &str| {
        format!("write `call: \"sys_{bare}\"` and let Tetragon add the running architecture's prefix (`__x64_` on x86_64, `__arm64_` on arm64)")
    };
    let Some(parsed) = parse_syscall_name(name) else {
        return not_a_syscall(hook, call, how, severity, outcome);
    };
    let bare = parsed.bare;
    let d = match parsed.spelling {
        SyscallSpelling::Plain => return None,
        SyscallSpelling::Stub {
            prefix,
            compat: false,
        } => match TETRAGON_ARCH_PREFIXES.iter().find(|(p, _)| *p == prefix) {
            // `__x64_sys_openat`: hooked as written on x86_64, refused on arm64.
            Some((_, Some(home))) => {
                if !is_known_syscall(bare) {
                    return None; // P009
                }
                let other = other_arch(*home);
                Diagnostic::new(
                    Code::P037,
                    call.span,
                    format!(
                        "`{name}` is the {} stub of `{bare}`: on {} Tetragon hooks it as written, but on {} it refuses the policy (it expects `{}` there){}",
                        home.name(),
                        home.name(),
                        other.name(),
                        other.syscall_prefix(),
                        if hook.ignore_call_not_found { ", even with `ignore.callNotFound`" } else { "" }
                    ),
                )
                .help(help_sys(bare))
            }
            // `__ia32_sys_openat`: the 32-bit entry of x86_64 kernels. Without args it is a
            // deliberate hook on that ABI, which no portable name spells.
            _ => {
                // Index 2 is `dx` in both ABIs.
                let arg = hook
                    .args
                    .iter()
                    .find(|a| a.index.as_ref().map_or(0, |i| i.value) != 2)?;
                let d = Diagnostic::new(
                    Code::P037,
                    call.span,
                    format!(
                        "`{name}` is the 32-bit entry of `{bare}` on x86_64: Tetragon hooks it there, where it fires only for 32-bit syscalls, and reads the args from the 64-bit registers (di, si, dx, r10, r8), not the 32-bit ones (bx, cx, dx, si, di); on arm64 it refuses the policy"
                    ),
                )
                .help(format!("`call: \"sys_{bare}\"` watches 64-bit syscalls and reads their args right; keep `{name}` without args to count 32-bit calls"));
                match &arg.index {
                    Some(i) => d.related(i.span, "read from a 64-bit register"),
                    None => d,
                }
            }
        },
        // Compat stubs (`__x64_compat_sys_`, `__ia32_compat_sys_`) name an ABI of their own.
        SyscallSpelling::Stub { .. } => return None,
        SyscallSpelling::Helper { .. } => Diagnostic::new(
            Code::P006,
            call.span,
            format!(
                "`{name}` is a static helper under the `{bare}` stub, not a name Tetragon can prefix: with {how} it looks for `__x64_{name}` on x86_64 and `__arm64_{name}` on arm64, which no kernel has, {outcome}"
            ),
        )
        .help(format!(
            "write `call: \"sys_{bare}\"` to hook the syscall, or set `syscall: false` to hook `{name}` itself where the kernel has it"
        ))
        .severity(severity),
        SyscallSpelling::OtherArch { prefix } => Diagnostic::new(
            Code::P006,
            call.span,
            format!(
                "`{prefix}` is not a prefix Tetragon knows (it knows `__x64_`, `__arm64_` and `__ia32_`), so with {how} it adds its own: it looks for `__x64_{name}` on x86_64 and `__arm64_{name}` on arm64, which no kernel has, {outcome}"
            ),
        )
        .help(help_sys(bare))
        .severity(severity),
    };
    Some(d)
}

/// P006 for a name that is no syscall spelling, hooked with `syscall: true`.
fn not_a_syscall(
    hook: &Hook,
    call: &Spanned<String>,
    how: &str,
    severity: Severity,
    outcome: &str,
) -> Option<Diagnostic> {
    let name = call.value.as_str();
    let prefixed = TETRAGON_ARCH_PREFIXES
        .iter()
        .find_map(|(p, home)| name.strip_prefix(p).map(|rest| (*p, *home, rest)));
    let d = if let Some((prefix, home, rest)) = prefixed {
        // addSyscallPrefix puts no second prefix before it; where the prefix is not the
        // architecture's own and the kernel lacks the name, it is refused whatever `ignore`
        // says.
        let d = match home {
            Some(home) if hook.ignore_call_not_found => Diagnostic::new(
                Code::P006,
                call.span,
                format!(
                    "`{name}` already starts with `{prefix}`, so with {how} Tetragon adds no prefix: on {} it looks `{name}` up as written and finds nothing (syscall stubs are named `{prefix}sys_<name>`), so with `ignore.callNotFound` it skips this hook; on {} it refuses the prefix, which `ignore.callNotFound` does not cover",
                    home.name(),
                    other_arch(home).name()
                ),
            )
            .severity(Severity::Warning),
            Some(home) => Diagnostic::new(
                Code::P006,
                call.span,
                format!(
                    "`{name}` already starts with `{prefix}`, so with {how} Tetragon adds no prefix: on {} it looks `{name}` up as written and finds nothing (syscall stubs are named `{prefix}sys_<name>`), and on {} it refuses the prefix; the policy fails to load on both",
                    home.name(),
                    other_arch(home).name()
                ),
            ),
            None => Diagnostic::new(
                Code::P006,
                call.span,
                format!(
                    "`{name}` starts with `{prefix}`, the i386 prefix, so with {how} Tetragon adds no prefix: on x86_64 and arm64 it looks `{name}` up as written, finds nothing (32-bit stubs are named `__ia32_sys_<name>`) and refuses the prefix, even with `ignore.callNotFound`; the policy fails to load"
                ),
            ),
        };
        if is_known_syscall(rest) {
            d.help(format!("write `call: \"sys_{rest}\"`"))
        } else {
            d.help("name the syscall like `sys_openat`, or hook a kernel function by its own name with `syscall: false`")
        }
    } else if crate::kernel::syscalls::lookup(name).is_some() {
        Diagnostic::new(
            Code::P006,
            call.span,
            format!(
                "`{name}` is a syscall's bare name; with {how} Tetragon expects `sys_{name}` and adds the architecture's prefix to that, so it looks for `__x64_{name}` (x86_64) or `__arm64_{name}` (arm64), which do not exist, {outcome}"
            ),
        )
        .help(format!("write `call: \"sys_{name}\"`"))
        .severity(severity)
    } else {
        let span = hook.syscall.as_ref().map_or(call.span, |s| s.span);
        Diagnostic::new(
            Code::P006,
            span,
            format!(
                "`{name}` is not a syscall, but with {how} Tetragon adds the architecture's prefix and looks for `__x64_{name}` (x86_64) or `__arm64_{name}` (arm64), {outcome}"
            ),
        )
        .help(if hook.syscall.is_some() {
            "set `syscall: false` for a plain kernel function"
        } else {
            "add `syscall: false` under the call"
        })
        .severity(severity)
    };
    Some(d)
}

/// P006 and P037 for a hook with `syscall: false` (whose span is `flag`).
fn syscall_false(hook: &Hook, call: &Spanned<String>, flag: Span) -> Option<Diagnostic> {
    let name = call.value.as_str();
    let parsed = parse_syscall_name(name)?;
    let bare = parsed.bare;
    let missing = if hook.ignore_call_not_found {
        "Tetragon skips the hook"
    } else {
        "the policy fails to load"
    };
    let d = match parsed.spelling {
        SyscallSpelling::Plain => {
            if !is_known_syscall(bare) {
                return None; // `sys_copyarea` and other kernel functions
            }
            Diagnostic::new(
                Code::P006,
                flag,
                format!(
                    "`{name}` is a syscall name, but with `syscall: false` Tetragon adds no prefix and looks for a function named exactly `{name}` on every architecture; x86_64 and arm64 kernels name the syscall `__x64_{name}` and `__arm64_{name}`, so it is not found and {missing}"
                ),
            )
            .help("remove `syscall: false` (it defaults to true) so that Tetragon adds the architecture's prefix and reads the syscall's arguments")
            .severity(if hook.ignore_call_not_found { Severity::Warning } else { Severity::Error })
        }
        SyscallSpelling::Stub { prefix, compat } => {
            let home = TETRAGON_ARCH_PREFIXES
                .iter()
                .find(|(p, _)| *p == prefix)
                .and_then(|(_, h)| *h);
            // x86_64's and arm64's own stubs must be of a syscall policyctl knows (P009 and K001
            // speak of other names); the x86_64 table has no 32-bit-only syscalls.
            let portable = home.is_some() && !compat;
            if portable && !is_known_syscall(bare) {
                return None;
            }
            let where_missing = match home {
                Some(home) => format!(
                    "{} kernels have no `{name}`, so there {missing}",
                    other_arch(home).name()
                ),
                None => format!("arm64 kernels have no `{name}`, so there {missing}"),
            };
            let stub = match (home, compat) {
                (Some(home), false) => format!("the {} stub", home.name()),
                (Some(home), true) => format!("the {} compat stub", home.name()),
                (None, _) => "the 32-bit x86 stub".to_string(),
            };
            if let Some(arg) = stub_arg_misread(hook) {
                let index = arg.index.as_ref().map_or(0, |i| i.value);
                let param = syscall_param(bare, index)
                    .map_or_else(|| format!("the syscall's arg {index}"), |p| format!("`{bare}`'s `{p}`"));
                let what = if index == 0 {
                    format!("arg index 0 is that pointer, not {param}")
                } else {
                    format!("arg index {index} is no parameter of it (whatever the register holds), not {param}")
                };
                let mut d = Diagnostic::new(
                    Code::P006,
                    flag,
                    format!(
                        "`{name}` is {stub} of `{bare}`, whose one parameter is `const struct pt_regs *regs`; with `syscall: false` Tetragon reads args as the function's own parameters, so {what}; {where_missing}"
                    ),
                )
                .help(if home.is_some() && !compat {
                    format!("remove `syscall: false` and write `call: \"sys_{bare}\"`: Tetragon then reads the syscall's arguments from the stub's `pt_regs`, on x86_64 and on arm64")
                } else {
                    format!("remove `syscall: false` and write `call: \"sys_{bare}\"`: Tetragon then reads the syscall's arguments from the stub's `pt_regs`")
                });
                if let Some(i) = &arg.index {
                    d = d.related(i.span, "read as the stub's own parameter");
                }
                d
            } else if portable {
                Diagnostic::new(
                    Code::P037,
                    call.span,
                    format!(
                        "with `syscall: false` Tetragon hooks `{name}` as a plain function, on every architecture: it is {stub} of `{bare}`, and {where_missing}"
                    ),
                )
                .help(format!("remove `syscall: false` and write `call: \"sys_{bare}\"`: Tetragon then adds the running architecture's prefix (`__x64_` on x86_64, `__arm64_` on arm64)"))
            } else {
                // A 32-bit or compat entry, hooked on purpose.
                return None;
            }
        }
        SyscallSpelling::Helper { .. } => Diagnostic::new(
            Code::P037,
            call.span,
            format!(
                "`{name}` is a static helper under the `{bare}` stub, which a kernel has only where the compiler did not inline it (it varies by build and version); with `syscall: false` Tetragon looks for exactly this name, so on a kernel without it {missing}"
            ),
        )
        .help(format!(
            "hook the syscall with `call: \"sys_{bare}\"` and `syscall: true`; `policyctl kernel funcs '{}*' --btf FILE` lists the kernels' helpers",
            &name[..name.len() - bare.len()]
        )),
        SyscallSpelling::OtherArch { .. } => return None,
    };
    Some(d)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn spelling(call: &str) -> Option<(SyscallSpelling, &str)> {
        parse_syscall_name(call).map(|n| (n.spelling, n.bare))
    }

    #[test]
    fn syscall_spellings() {
        use SyscallSpelling::*;
        assert_eq!(spelling("sys_openat"), Some((Plain, "openat")));
        assert_eq!(
            spelling("__x64_sys_openat"),
            Some((
                Stub {
                    prefix: "__x64_",
                    compat: false
                },
                "openat"
            ))
        );
        assert_eq!(
            spelling("__ia32_compat_sys_openat"),
            Some((
                Stub {
                    prefix: "__ia32_",
                    compat: true
                },
                "openat"
            ))
        );
        assert_eq!(
            spelling("__do_sys_clone"),
            Some((Helper { prefix: "__do_" }, "clone"))
        );
        assert_eq!(
            spelling("__se_compat_sys_openat"),
            Some((Helper { prefix: "__se_" }, "openat"))
        );
        assert_eq!(
            spelling("__riscv_sys_openat"),
            Some((OtherArch { prefix: "__riscv_" }, "openat"))
        );
        for other in [
            "ksys_read",
            "do_sys_openat2",
            "openat",
            "__x64_connect",
            "sys_",
            "",
        ] {
            assert_eq!(spelling(other), None, "{other}");
        }
    }

    #[test]
    fn bare_names_and_syscall_names() {
        assert_eq!(syscall_bare_name("__arm64_sys_write"), Some("write"));
        assert_eq!(syscall_bare_name("__ia32_sys_write"), None);
        assert_eq!(syscall_bare_name("__do_sys_write"), None);
        assert!(is_syscall_name("__ia32_sys_dup"));
        assert!(is_syscall_name("sys_openat"));
        assert!(!is_syscall_name("__riscv_sys_openat"));
        assert!(!is_syscall_name("__do_sys_openat"));
        assert!(!is_syscall_name("ksys_read"));
    }
}
