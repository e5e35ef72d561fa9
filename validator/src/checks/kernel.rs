//! Kernel facts: does the hook exist on this kernel, do the args fit its prototype, can the
//! kernel do the Override, does it have the features the policy needs.
//!
//! Each check runs once per kernel; [`run_all`] merges what several kernels share into one
//! diagnostic that names them, and says which kernels a diagnostic does not hold for.

use std::sync::Arc;

use crate::btf::{Btf, Kind, TypeId};
use crate::codes::{Code, CodeInfo};
use crate::diagnostic::{Diagnostic, Severity};
use crate::facts::{self, HookKind, KernelType};
use crate::kernel::resolve::{self, WalkError, MAX_BTF_ARG_DEPTH};
use crate::kernel::{members, syscalls, Arch, ErrorInjection, Feature, Kernel, Known};
use crate::model::{Arg, Hook, Policy, Spanned};
use crate::suggest;

/// `K001`.
pub const K001: CodeInfo = CodeInfo {
    code: "K001",
    name: "kernel-function-missing",
    severity: Severity::Error,
    summary: "A kprobe `call` (function or syscall) that this kernel does not have.",
    explanation: "Tetragon looks every kprobe call up in the kernel's BTF and fails the whole policy when it is not there (\"call ... not found\", \"syscall ... not found\"). With `syscall: true` it first puts the architecture's prefix before the name (`sys_openat` becomes `__x64_sys_openat` on x86_64); a name that already carries another architecture's prefix is looked up as written (`__ia32_sys_dup` exists on x86_64 kernels with 32-bit emulation). The functions of a `list:` call are looked up one by one, the same way. Functions come and go between kernel versions and are renamed, inlined or made static, so a policy written on one kernel may not load on another. With `ignore: {callNotFound: true}` Tetragon skips a call it does not find and loads the policy without it: a warning here. That does not cover a syscall named with another architecture's prefix that the kernel lacks: Tetragon then fails on the prefix, not on a missing name.",
    tetragon: "pkg/sensors/tracing/generickprobe.go preValidateKprobe and pkg/btf/validation.go ValidateKprobeSpec (ValidationFailedError; ignore.callNotFound skips only a not-found error)",
};

/// `K002`.
pub const K002: CodeInfo = CodeInfo {
    code: "K002",
    name: "lsm-hook-missing",
    severity: Severity::Error,
    summary: "An LSM `hook` that this kernel does not have.",
    explanation: "Tetragon looks an LSM hook up in the kernel's BTF as the function `bpf_lsm_<hook>` and fails the policy when it is missing (\"lsm hook ... not found in BTF\"). policyctl also wants the name in the kernel's own hook list (`struct security_hook_heads` before 6.12, `struct lsm_static_calls_table` since): a few `bpf_lsm_*` functions are BPF LSM's helpers, which the kernel does not let a program attach to. Hooks are added and removed between kernel versions, and a hook is named without the `security_` of the function that calls it.",
    tetragon: "pkg/sensors/tracing/genericlsm.go preValidateLsm (\"lsm hook %q not found in BTF\")",
};

/// `K003`.
pub const K003: CodeInfo = CodeInfo {
    code: "K003",
    name: "tracepoint-missing",
    severity: Severity::Error,
    summary: "A tracepoint that this kernel does not have.",
    explanation: "Tetragon reads a tracepoint's format from tracefs (`events/<subsystem>/<event>/format`) and fails the policy when there is none (\"tracepoint %s/%s not supported\"). A `raw: true` tracepoint has no format to read: the kernel refuses to attach the program to an event it does not have, and the policy fails to load then. On a live host policyctl reads tracefs too. From a BTF file it knows each event by its `btf_trace_<event>` type (but not its subsystem, which BTF does not record) and the per-syscall events (`syscalls/sys_enter_<name>`) by the syscall.",
    tetragon: "pkg/sensors/tracing/generictracepoint.go preValidateTracepoint (\"tracepoint %s/%s not supported\"); raw tracepoints: the kernel when the program attaches",
};

/// `K010`.
pub const K010: CodeInfo = CodeInfo {
    code: "K010",
    name: "arg-index-out-of-range",
    severity: Severity::Warning,
    summary: "An arg `index` past the last parameter of the hooked function.",
    explanation: "A kprobe reads argument N from the Nth argument register whatever the function takes; past the last parameter that register holds leftovers, so the arg prints garbage and filters on it match by chance. Tetragon compares the index with the function's BTF prototype (for a syscall, with its syscall table), logs a warning (\"kprobe arg %d has an invalid index\") and loads the policy anyway: a warning here. An arg with `resolve` is different: Tetragon looks its parameter up in BTF and fails the policy (\"index %d is out of range\"), an error here. LSM hooks are not compared at all. The message shows the function's prototype on this kernel. An index past what the hook can read at all (above 4) is P015's error, reported alone, and the args of a syscall stub hooked with `syscall: false` are P006's.",
    tetragon: "pkg/btf/validation.go ValidateKprobeSpec and validateSycall (logged as a warning by preValidateKprobe in pkg/sensors/tracing/generickprobe.go); with resolve pkg/btf/btf.go FindBTFFuncParamFromHook (\"index %d is out of range\")",
};

/// `K011`.
pub const K011: CodeInfo = CodeInfo {
    code: "K011",
    name: "arg-type-mismatch",
    severity: Severity::Warning,
    summary: "An arg `type` that does not fit the parameter's type in the kernel's prototype.",
    explanation: "The arg type tells the BPF program how to read the parameter: `file` follows a `struct file *` to its path, `string` copies a `char *`, `int` takes the register. Read with the wrong type, a `struct filename *` as `file` gives garbage or nothing, and filters never match. Tetragon compares kprobe arg types with the BTF prototype through a short table of names and only logs a warning (\"type (%s) of argument %d does not match spec type\") before loading the policy; LSM hook args it does not compare. A warning here too: for a pointer of the wrong kind, an integer read from memory with another width, or a pointer read as a number. With `resolve`, Tetragon reads the field the path reaches by its own BTF type when it has an arg type of that name (`struct file` as `file`, `int` as `int`, an enum as an integer of its size), whatever `type` says, while filters on the arg are still parsed for `type`; otherwise `type` must fit that field. The message shows the real prototype on this kernel. A syscall's parameters are known without a kernel, from the syscall table: a type that plainly cannot read one (a pointer read as a number, a number as a string) is P035's, reported once without a kernel; this code says what needs the kernel's types (a `void *` read as a string, typedefs, widths).",
    tetragon: "pkg/btf/validation.go ValidateKprobeSpec / typesCompatible (ValidationWarnError, a warning); with resolve pkg/sensors/tracing/generic.go findTypeFromBTFType",
};

/// `K012`.
pub const K012: CodeInfo = CodeInfo {
    code: "K012",
    name: "resolve-path",
    severity: Severity::Error,
    summary: "A `resolve` path (or `btfType`) that does not exist in this kernel's types.",
    explanation: "`resolve: \"a.b.c\"` follows struct members from the argument, through pointers, in the kernel's BTF. Tetragon fails the policy when a member is missing (\"attribute %q not found in structure %q\"), when the path goes on from something that is neither a struct, a union, a pointer nor an array (\"unexpected type\"), when the path has more than 10 steps (`MaxBTFArgDepth`, a `[0]` counted for each extra level of a pointer to a pointer), or when `btfType` names a struct it finds neither in the kernel's BTF nor in that of the module `btfTypeModule` names (or the hooked function's module). A `btfType` the kernel's BTF lacks is an error when that settles it: the hooked function is the kernel's own and no `btfTypeModule` is given, or the module's BTF was given (`--btf-module`) and lacks it too; otherwise a warning, since a module policyctl did not read may have it; `struct x` (with the keyword) is always an error. Struct layouts change between kernel versions, so a path written on one kernel may not exist on another.",
    tetragon: "pkg/btf/btf.go ResolveBTFPath / processMembers, pkg/sensors/tracing/generic.go resolveBTFType (MaxBTFArgDepth) and for btfType findBTFTypeStruct, all from resolveBTFArg (addKprobe, addLsm)",
};

/// `K013`.
pub const K013: CodeInfo = CodeInfo {
    code: "K013",
    name: "return-type-mismatch",
    severity: Severity::Warning,
    summary: "A `returnArg` type that does not fit what the function returns.",
    explanation: "With `return: true` Tetragon reads the return value as the `returnArg` type. A function that returns `void` has no value to read; a pointer read as `int` loses its upper half. Syscalls return `long`. Tetragon compares the type with the BTF prototype (for a syscall, with `long`), logs a warning (\"return type (%s) does not match spec return type\") and loads the policy: a warning here too.",
    tetragon: "pkg/btf/validation.go ValidateKprobeSpec and validateSycall (logged as a warning by preValidateKprobe in pkg/sensors/tracing/generickprobe.go)",
};

/// `K014`.
pub const K014: CodeInfo = CodeInfo {
    code: "K014",
    name: "tracepoint-field-index",
    severity: Severity::Error,
    summary: "A tracepoint arg `index` past the last field of the tracepoint's format.",
    explanation: "A tracepoint's `args[].index` is the field's position in its format, the four `common_*` fields included (so `raw_syscalls/sys_enter` `id` is 4). Tetragon fails the policy: \"tracepoint %s/%s has %d fields but field %d was requested\". The fields of the `syscalls/sys_enter_*` and `sys_exit_*` events are known without a kernel, from the syscall table: P033 reports those indexes, once, and not this code. For `raw: true` the index counts the raw tracepoint's arguments. Tetragon only refuses raw indexes above 5; past the event's last argument the program reads leftovers and the policy loads (a warning here), unless the arg has `resolve`, where Tetragon looks the argument up in BTF and fails the policy.",
    tetragon: "pkg/sensors/tracing/generictracepoint.go preValidateTracepoint / validateTracepointArg; raw: only validateRawTracepointArg's cap of 5, and pkg/btf/btf.go FindBTFFuncParamFromHook with resolve",
};

/// `K020`.
pub const K020: CodeInfo = CodeInfo {
    code: "K020",
    name: "override-not-possible",
    severity: Severity::Error,
    summary: "`Override` on a kprobe that this kernel, or Tetragon on it, cannot override.",
    explanation: "How Tetragon overrides depends on the function. On a syscall it uses `bpf_override_return`: it refuses the policy when the kernel lacks that helper (\"bpf_override_return helper not available\": a kernel built without `CONFIG_BPF_KPROBE_OVERRIDE`, which needs `CONFIG_FUNCTION_ERROR_INJECTION`), and the kernel refuses to attach to a function that is not on its error-injection list (every syscall stub is, where there is error injection). Debian's and many distributions' kernels have no error injection at all. On a `security_*` function it uses fmod_ret, which needs no error injection but BPF trampolines (\"fmod_ret not available\": `CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS`), and it refuses the Override when it attaches the policy's kprobes with kprobe_multi (\"can't override ... with kprobe_multi\"). It does that on x86_64 kernels with multi-kprobe support (`CONFIG_FPROBE`, which policyctl also sees in BTF as `register_fprobe`) unless the policy sets the option `disable-kprobe-multi` to \"true\"; Tetragon's `--disable-kprobe-multi` flag does the same for all policies, and policyctl cannot see it. LSM hooks (`lsmhooks:` with Override) need none of this. Override on any other function Tetragon refuses whatever the kernel (P047).\n\nAn enforcer (`enforcers:`, acting on NotifyEnforcer) overrides its `calls` the same way: a syscall with `bpf_override_return`, or else with fmod_ret, which the kernel allows on a syscall only when the syscall is on its error-injection list; a `security_*` function with fmod_ret. On a kernel without error injection an enforcer with a syscall among its calls cannot load (\"no override helper or mod_ret support: cannot load enforcer\"), and one with a `security_*` call needs BPF trampolines.",
    tetragon: "pkg/sensors/tracing/generickprobe.go validateOverride (called by addKprobe; useMulti set in createGenericKprobeSensor from bpf.HasKprobeMulti); pkg/sensors/tracing/enforcer.go createEnforcerSensor and selectOverrideMethod (bpf.HasOverrideHelper, bpf.HasModifyReturnSyscall, bpf.HasModifyReturn); the kernel checks the error-injection list when the program attaches",
};

/// `K021`.
pub const K021: CodeInfo = CodeInfo {
    code: "K021",
    name: "override-unknown",
    severity: Severity::Warning,
    summary: "`Override` where policyctl cannot tell whether this kernel allows it.",
    explanation: "Whether a kprobe can Override a syscall depends on the kernel's error-injection list, which BTF does not record. policyctl reads it from `/sys/kernel/debug/error_injection/list` on a live host (debugfs must be mounted), from `--error-injection FILE`, or learns from the kernel configuration (`--kernel-config FILE`, `/proc/config.gz`) that there is none. Without any of these it says so instead of guessing. On a `security_*` function the same goes for a kernel with multi-kprobe support whose architecture is unknown (no syscall stubs in its BTF): Tetragon refuses that Override with kprobe_multi on x86_64, unless the policy sets `disable-kprobe-multi`, and not on arm64.",
    tetragon: "pkg/sensors/tracing/generickprobe.go validateOverride; the kernel checks the error-injection list when the program attaches",
};

/// `K030`.
pub const K030: CodeInfo = CodeInfo {
    code: "K030",
    name: "kernel-feature-missing",
    severity: Severity::Error,
    summary: "A kernel that lacks a feature the policy needs (BPF LSM, kprobes, uprobes, BPF trampolines).",
    explanation: "lsmhooks need BPF LSM built in (`CONFIG_BPF_LSM`) and active (`bpf` in the `lsm=` boot parameter or `CONFIG_LSM`); kprobes need `CONFIG_KPROBES`, except where Tetragon attaches them with kprobe_multi, which needs only `CONFIG_FPROBE`; uprobes need `CONFIG_UPROBES`, and an Override on a uprobe needs a kernel whose uprobe programs may write their registers (`struct bpf_prog_aux` has `kprobe_write_ctx` in its BTF; Tetragon: \"can't use override regs action, no kernel support\"); fentries need BPF trampolines (`CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS`). policyctl learns this from the kernel's BTF (no `bpf_lsm_*` hooks) or its configuration (`--kernel-config`, `/proc/config.gz`) and, on a live host, from securityfs. Tetragon refuses lsmhooks without an active BPF LSM (\"does you kernel support the bpf LSM?\"); the other hooks fail when their programs attach, and the policy with them.",
    tetragon: "pkg/sensors/tracing/genericlsm.go createGenericLsmSensor (bpf.HasLSMPrograms); uprobe Override: pkg/sensors/tracing/genericuprobe.go validateUprobeFeatures (pkg/bpf/detect_linux.go detectUprobeRegsChange); kprobes, uprobes and fentries: the kernel when the program attaches",
};

/// `K031`.
pub const K031: CodeInfo = CodeInfo {
    code: "K031",
    name: "substring-never-matches",
    severity: Severity::Warning,
    summary: "`SubString` or `SubStringIgnCase` on a kernel without the kfunc it searches with: the filter matches nothing.",
    explanation: "Tetragon searches for a substring in the kernel, with the `bpf_strnstr` kfunc for `SubString` and `bpf_strncasestr` for `SubStringIgnCase`. Its BPF program asks whether the running kernel has the kfunc (`bpf_ksym_exists`) and, where it does not, leaves the filter unmatched: the policy loads, and the selector never matches through that filter, so its actions never run and no event is posted for it. Nothing is logged. The string kfuncs are recent: of the kernels in policyctl's tests, 6.18 has `bpf_strnstr` and not `bpf_strncasestr`, and 6.12 and 6.1 have neither; policyctl looks for them in the kernel's BTF, where every kfunc is listed. On such a kernel, match with `Prefix`, `Postfix` or `Equal` on the part of the string you know, or list the full values with `In`. `policyctl run` does as Tetragon does.",
    tetragon: "bpf/process/types/basic.h filter_char_buf and filter_file_buf (op_substring, op_substring_igncase: bpf_ksym_exists(bpf_strnstr) / bpf_ksym_exists(bpf_strncasestr)), filter_char_substring; pkg/selectors/kernel.go writeMatchSubString",
};

/// Check a policy against every kernel, then merge what several kernels share into one
/// diagnostic naming them all.
pub fn run_all(policy: &Policy, kernels: &[Arc<Kernel>], out: &mut Vec<Diagnostic>) {
    let mut merged: Vec<Diagnostic> = Vec::new();
    for k in kernels {
        let mut found = Vec::new();
        check(policy, k, &mut found);
        for d in found {
            let same = merged.iter_mut().find(|m| {
                m.code == d.code && m.span == d.span && m.message == d.message && m.help == d.help
            });
            match same {
                Some(m) => m.kernels.push(k.name.clone()),
                None => {
                    let mut d = d;
                    d.kernels = vec![k.name.clone()];
                    merged.push(d);
                }
            }
        }
    }
    if kernels.len() > 1 {
        // "not on" names the kernels where nothing of this code is said at this place: a
        // kernel whose message differs (another prototype in it) has the problem too.
        let said: Vec<(Code, crate::Span, Vec<String>)> = merged
            .iter()
            .map(|d| (d.code, d.span, d.kernels.clone()))
            .collect();
        for d in &mut merged {
            if d.kernels.len() < kernels.len() {
                let others: Vec<&str> = kernels
                    .iter()
                    .map(|k| k.name.as_str())
                    .filter(|n| {
                        !said.iter().any(|(code, span, on)| {
                            *code == d.code && *span == d.span && on.iter().any(|m| m == n)
                        })
                    })
                    .collect();
                // A kernel feature nobody told us about is unknown there, not present.
                let (unknown, others): (Vec<&str>, Vec<&str>) = others.into_iter().partition(|n| {
                    d.code == Code::K030
                        && kernels
                            .iter()
                            .find(|k| k.name == *n)
                            .is_some_and(|k| feature_unknown(policy, d.span, k))
                });
                let mut parts = vec![format!("on {}", d.kernels.join(", "))];
                if !others.is_empty() {
                    parts.push(format!("not on {}", others.join(", ")));
                }
                if !unknown.is_empty() {
                    parts.push(format!(
                        "unknown on {}: no kernel configuration",
                        unknown.join(", ")
                    ));
                }
                d.message = format!("{} ({})", d.message, parts.join("; "));
            }
        }
    }
    out.append(&mut merged);
}

/// Whether the kernel feature the hook section at `span` needs is unknown on this kernel: it
/// would come from a configuration that was not given (BTF shows BPF LSM built in, not active).
fn feature_unknown(policy: &Policy, span: crate::Span, kernel: &Kernel) -> bool {
    let Some(&(kind, _)) = policy.spec.sections.iter().find(|(_, s)| *s == span) else {
        return false;
    };
    let active_known = kernel
        .host
        .as_ref()
        .is_some_and(|h| h.active_lsms.is_some());
    match kind {
        HookKind::Kprobe | HookKind::Uprobe | HookKind::Fentry => kernel.config.is_none(),
        HookKind::Lsm => !kernel.lsm_hooks().is_empty() && kernel.config.is_none() && !active_known,
        _ => false,
    }
}

/// Check a policy against one kernel.
pub fn check(policy: &Policy, kernel: &Kernel, out: &mut Vec<Diagnostic>) {
    features(policy, kernel, out);
    substring(policy, kernel, out);
    uprobe_override(policy, kernel, out);
    enforcer(policy, kernel, out);
    for hook in &policy.spec.hooks {
        match hook.kind {
            HookKind::Kprobe | HookKind::Fentry => kprobe(policy, hook, kernel, out),
            HookKind::Lsm => lsm(hook, kernel, out),
            HookKind::Tracepoint => tracepoint(hook, kernel, out),
            HookKind::Uprobe | HookKind::Usdt => {}
        }
    }
}

/// "Did you mean" over a kernel's names, looking only at names of about the same length and
/// with about the same letters: a kernel has some 50,000 function names, and computing the edit
/// distance to each of them takes seconds in a debug build (tenths of a second optimised).
fn closest<'a>(word: &str, names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    // `suggest::did_you_mean` accepts an edit distance of at most 3.
    const MAX: usize = 3;
    let len = word.len();
    let mut letters = [0u16; 256];
    for b in word.bytes() {
        letters[usize::from(b.to_ascii_lowercase())] += 1;
    }
    let near: Vec<&str> = names
        .filter(|n| n.len().abs_diff(len) <= MAX && bag_distance(&letters, len, n) <= MAX)
        .collect();
    suggest::did_you_mean(word, &near)
}

/// A lower bound of the edit distance between a word (its byte counts, case folded, and
/// length) and `other`: the bytes of one that the other lacks, the larger count of the two
/// sides (each edit adds or removes at most one byte on each side; a transposition none).
fn bag_distance(letters: &[u16; 256], len: usize, other: &str) -> usize {
    let mut left = *letters;
    let mut extra = 0;
    for b in other.bytes() {
        let slot = &mut left[usize::from(b.to_ascii_lowercase())];
        if *slot > 0 {
            *slot -= 1;
        } else {
            extra += 1;
        }
    }
    let shared = other.len() - extra;
    extra.max(len - shared)
}

fn features(policy: &Policy, kernel: &Kernel, out: &mut Vec<Diagnostic>) {
    let mut seen = Vec::new();
    for &(kind, span) in &policy.spec.sections {
        if seen.contains(&kind) {
            continue;
        }
        seen.push(kind);
        let missing = match kind {
            HookKind::Lsm => kernel
                .lacks(Feature::BpfLsm)
                .map(|why| ("BPF LSM", why))
                .or_else(|| {
                    kernel
                        .lacks(Feature::ActiveBpfLsm)
                        .map(|why| ("an active BPF LSM", why))
                }),
            // Where Tetragon attaches with kprobe_multi (fprobe), kprobes are not needed.
            HookKind::Kprobe => kernel
                .lacks(Feature::Kprobes)
                .filter(|_| !matches!(uses_multi(policy, kernel), Multi::Yes(_)))
                .map(|why| ("kprobes", why)),
            HookKind::Uprobe => kernel.lacks(Feature::Uprobes).map(|why| ("uprobes", why)),
            HookKind::Fentry => kernel
                .lacks(Feature::Trampolines)
                .map(|why| ("BPF trampolines (fentry)", why)),
            _ => None,
        };
        if let Some((feature, why)) = missing {
            let help = match kind {
                HookKind::Lsm => "boot a kernel with CONFIG_BPF_LSM=y and `bpf` in `lsm=` (e.g. GRUB_CMDLINE_LINUX=\"lsm=landlock,lockdown,yama,integrity,apparmor,bpf\"), or hook the matching security_* function with a kprobe",
                HookKind::Kprobe => "hook a tracepoint instead (for syscalls: raw_syscalls/sys_enter or syscalls/sys_enter_<name>), or check against a kernel built with kprobes",
                _ => "check against a kernel built with this feature",
            };
            out.push(
                Diagnostic::new(
                    Code::K030,
                    span,
                    format!(
                        "`{}` needs {feature}, which this kernel lacks: {why}",
                        kind.key()
                    ),
                )
                .help(help),
            );
        }
    }
}

/// `SubString` and `SubStringIgnCase` search with a kfunc; a kernel without it leaves the
/// filter unmatched (Tetragon's filter_char_buf: `bpf_ksym_exists`).
fn substring(policy: &Policy, kernel: &Kernel, out: &mut Vec<Diagnostic>) {
    let filters = policy
        .spec
        .hooks
        .iter()
        .flat_map(|h| &h.selectors)
        .flat_map(|s| {
            s.match_args
                .iter()
                .chain(&s.match_data)
                .chain(&s.match_return_args)
        });
    for f in filters {
        let Some(op) = &f.operator else {
            continue;
        };
        let kfunc = match op.value.as_str() {
            "SubString" => "bpf_strnstr",
            "SubStringIgnCase" => "bpf_strncasestr",
            _ => continue,
        };
        if kernel.func(kfunc).is_some() {
            continue;
        }
        out.push(
            Diagnostic::new(
                Code::K031,
                op.span,
                format!(
                    "`{}` matches nothing on this kernel, so this selector never matches: the kernel lacks the `{kfunc}` kfunc, without which Tetragon leaves the filter unmatched",
                    op.value
                ),
            )
            .help("match with `Prefix`, `Postfix` or `Equal` on the part you know, or list the values with `In`; or check against a kernel that has the kfunc"),
        );
    }
}

/// Override on a uprobe writes the probed thread's registers (argRegs, or the instruction
/// pointer for argNewSymbol/argNewOffset/argNewAddr): Tetragon refuses it on a kernel whose
/// uprobe programs may not write them (pkg/sensors/tracing/genericuprobe.go
/// validateUprobeFeatures: "can't use override regs action, no kernel support").
fn uprobe_override(policy: &Policy, kernel: &Kernel, out: &mut Vec<Diagnostic>) {
    let overrides: Vec<&Spanned<String>> = policy
        .spec
        .hooks
        .iter()
        .filter(|h| h.kind == HookKind::Uprobe)
        .flat_map(|h| &h.selectors)
        .flat_map(|s| &s.match_actions)
        .filter_map(|a| a.action.as_ref().filter(|a| a.value == "Override"))
        .collect();
    if overrides.is_empty() {
        return;
    }
    let Some(why) = kernel.lacks(Feature::UprobeRegsChange) else {
        return;
    };
    for name in overrides {
        out.push(
            Diagnostic::new(
                Code::K030,
                name.span,
                format!("Override on a uprobe needs uprobe programs that may write the probed thread's registers, which this kernel lacks: {why}"),
            )
            .help("check against a newer kernel (Linux 6.18 has it), or drop the Override"),
        );
    }
}

/// The parameters of a hooked function: (name, what it is) in order, and how to show it.
struct Proto {
    /// `int do_mkdirat(int dfd, ...)`.
    text: String,
    params: Vec<Param>,
    ret: Shape,
    ret_text: String,
}

struct Param {
    shape: Shape,
    /// BTF type id when the parameter comes from BTF (for `resolve`).
    btf: Option<TypeId>,
    /// The C type when the parameter comes from the syscall table.
    syscall_ctype: Option<&'static str>,
    c: String,
}

/// Prototype of a syscall from the syscall table (the BTF stub only shows `pt_regs`).
fn syscall_proto(bare: &str, kernel: &Kernel) -> Option<Proto> {
    let sc = syscalls::lookup(bare)?;
    let params: Vec<Param> = sc
        .args
        .iter()
        .map(|a| Param {
            shape: Shape::from_c(a.ctype, Some(kernel)),
            btf: None,
            syscall_ctype: Some(a.ctype),
            c: a.c_decl(),
        })
        .collect();
    Some(Proto {
        text: sc.c_prototype(),
        params,
        ret: Shape::Int(8, true),
        ret_text: "long".into(),
    })
}

fn btf_proto(func: crate::kernel::Func<'_>) -> Proto {
    let btf = func.func.btf();
    let params = func
        .params()
        .into_iter()
        .map(|(name, id)| Param {
            shape: Shape::from_btf(btf, id),
            btf: Some(id),
            syscall_ctype: None,
            c: btf.c_decl(id, name),
        })
        .collect();
    Proto {
        text: func.c_prototype(),
        params,
        ret: Shape::from_btf(btf, func.ret()),
        ret_text: btf.c_type(func.ret()),
    }
}

fn kprobe(policy: &Policy, hook: &Hook, kernel: &Kernel, out: &mut Vec<Diagnostic>) {
    let Some(call) = &hook.target else { return };
    if let Some(list) = call.value.strip_prefix("list:") {
        if let Some((functions, syscall)) = list_calls(policy, hook, list, kernel, out) {
            if !functions.is_empty() {
                let what = format!("the {} functions of list `{list}`", functions.len());
                check_override(policy, hook, &functions, syscall, &what, kernel, out);
            }
        }
        return;
    }
    let syscall = hook.is_syscall();
    let name = call.value.as_str();
    if syscall != super::hooks::is_syscall_name(name) && (syscall || name.starts_with("sys_")) {
        // P006 reports the flag.
        return;
    }
    let Some((symbol, proto)) = resolve_call(name, syscall, kernel) else {
        missing_call(hook, call, syscall, kernel, out);
        return;
    };
    if let Some(proto) = &proto {
        check_args(hook, proto, kernel, out);
        check_return(hook, proto, out);
    }
    check_override(
        policy,
        hook,
        std::slice::from_ref(&symbol),
        syscall,
        &format!("`{symbol}`"),
        kernel,
        out,
    );
}

/// The architecture prefixes Tetragon knows (pkg/arch): a syscall name with one of them is
/// looked up as written, any other gets the running architecture's prefix.
const TETRAGON_ARCH_PREFIXES: &[&str] = &["__x64_", "__arm64_", "__ia32_"];

/// The symbol a call attaches to and its prototype (`None` for syscalls missing from the
/// table, and other ABIs' stubs); `None` when the kernel does not have it.
fn resolve_call(name: &str, syscall: bool, kernel: &Kernel) -> Option<(String, Option<Proto>)> {
    if !syscall {
        let f = kernel.func(name)?;
        return Some((name.to_string(), Some(btf_proto(f))));
    }
    if let Some(bare) = bare_syscall(name, kernel) {
        let stub = kernel.syscall(bare)?;
        return Some((stub.name().to_string(), syscall_proto(bare, kernel)));
    }
    // Another symbol with this kernel's prefix (`__x64_compat_sys_recvmsg`), or with another
    // prefix Tetragon knows (`__ia32_sys_dup` on x86_64): Tetragon hooks it as it is. Its
    // arguments are not the syscall table's.
    let prefix = kernel.arch?.syscall_prefix();
    if name.starts_with(prefix) || TETRAGON_ARCH_PREFIXES.iter().any(|p| name.starts_with(p)) {
        kernel.func(name)?;
        return Some((name.to_string(), None));
    }
    // Any other name gets this kernel's prefix before it.
    let symbol = format!("{prefix}{name}");
    kernel.func(&symbol)?;
    Some((symbol, None))
}

/// `sys_openat` / `__x64_sys_openat` → `openat` (None for another architecture's prefix).
/// The function a `syscalls` list value written `ABI/name` names, as Tetragon's
/// pkg/sensors/tracing/syscall_list.go `SyscallVal.Symbol` makes it (after
/// `parseSyscallValue`): the ABI's stub prefix (`x64` → `__x64_`, `i386` → `__ia32_`, `arm64`
/// and `arm32` → `__arm64_`) before a `sys_` name, or the name as written when it already
/// carries that prefix. `None` for a value without an ABI, or one Tetragon refuses.
fn abi_syscall_symbol(value: &str) -> Option<String> {
    let (abi, name) = value.split_once('/')?;
    if name.contains('/') {
        return None;
    }
    let prefix = match abi {
        "x64" => "__x64_",
        "i386" => "__ia32_",
        "arm64" | "arm32" => "__arm64_",
        _ => return None,
    };
    if name.starts_with(prefix) {
        Some(name.to_string())
    } else if name.starts_with("sys_") {
        Some(format!("{prefix}{name}"))
    } else {
        None
    }
}

fn bare_syscall<'a>(name: &'a str, kernel: &Kernel) -> Option<&'a str> {
    if let Some(bare) = name.strip_prefix("sys_") {
        return Some(bare);
    }
    let prefix = kernel.arch?.syscall_prefix();
    name.strip_prefix(prefix)?.strip_prefix("sys_")
}

fn missing_call(
    hook: &Hook,
    call: &Spanned<String>,
    syscall: bool,
    kernel: &Kernel,
    out: &mut Vec<Diagnostic>,
) {
    let name = call.value.as_str();
    // A name that is no syscall on any kernel is P009's, reported once without a kernel.
    if syscall && crate::checks::hooks::is_unknown_syscall(name) {
        return;
    }
    // Another architecture's prefix that the kernel lacks: Tetragon fails on the prefix, which
    // `ignore.callNotFound` does not cover.
    let foreign = syscall
        && kernel.arch.is_some_and(|arch| {
            TETRAGON_ARCH_PREFIXES
                .iter()
                .any(|p| *p != arch.syscall_prefix() && name.starts_with(p))
        });
    let ignored = hook.ignore_call_not_found && !foreign;
    // With `ignore.callNotFound` the help says so instead of guessing: no need to look.
    let guess = !ignored;
    let (what, suggestion) = if syscall {
        let known = bare_syscall(name, kernel);
        let bare = known.unwrap_or_else(|| name.rsplit("sys_").next().unwrap_or(name));
        let names = kernel.syscall_names();
        let guess = guess
            .then(|| closest(bare, names.iter().copied()))
            .flatten()
            .map(|s| format!("sys_{s}"));
        let what = match (kernel.arch, known) {
            (None, _) => format!(
                "syscall `{name}` cannot be found: this kernel's BTF has no syscall stubs of a known architecture"
            ),
            (Some(arch), Some(bare)) => format!(
                "syscall `{name}` does not exist on this kernel (no `{}sys_{bare}` in its BTF)",
                arch.syscall_prefix()
            ),
            (Some(arch), None) if name.starts_with(arch.syscall_prefix()) => {
                format!("syscall `{name}` does not exist on this kernel (not in its BTF)")
            }
            // `__arm64_sys_openat` on x86_64: Tetragon looks it up as written, and fails on
            // the prefix when it is not there.
            (Some(arch), None) if foreign => format!(
                "syscall `{name}` is not named for this kernel's architecture and is not in its BTF: on {} Tetragon hooks the `{}sys_*` stubs",
                arch.name(),
                arch.syscall_prefix()
            ),
            (Some(arch), None) => format!(
                "syscall `{name}` does not exist on this kernel (no `{}{name}` in its BTF)",
                arch.syscall_prefix()
            ),
        };
        (what, guess)
    } else {
        let guess = guess
            .then(|| closest(name, kernel.func_names()))
            .flatten()
            .map(str::to_string);
        let mut what = format!("function `{name}` does not exist on this kernel (not in its BTF)");
        if bare_syscall(name, kernel).is_some() && kernel.func(name).is_none() {
            what.push_str("; syscalls need `syscall: true`");
        }
        (what, guess)
    };
    let mut d = Diagnostic::new(Code::K001, call.span, what);
    if ignored {
        d = d
            .severity(Severity::Warning)
            .help("with `ignore.callNotFound: true` Tetragon skips this hook on this kernel");
    } else {
        d = d.help(match suggestion {
            Some(s) => format!("did you mean `{s}`?"),
            None if foreign => "use the `sys_` name and let Tetragon add the architecture's prefix (`ignore.callNotFound` does not cover a foreign prefix)".to_string(),
            None => "`policyctl kernel funcs PATTERN` lists the kernel's functions; `ignore: {callNotFound: true}` skips a hook the kernel lacks".to_string(),
        });
    }
    out.push(d);
}

/// Check the functions of a `list:` call exist (a `syscalls` list's syscalls, or a list without
/// a type, whose values are function names); the functions the hook attaches to and whether
/// Tetragon treats them as syscalls. `None` for lists whose values are made at load time
/// (`generated_syscalls`, `generated_ftrace`) or that do not exist (another check says so).
fn list_calls(
    policy: &Policy,
    hook: &Hook,
    list: &str,
    kernel: &Kernel,
    out: &mut Vec<Diagnostic>,
) -> Option<(Vec<String>, bool)> {
    let l = policy
        .spec
        .lists
        .iter()
        .find(|l| l.name.as_ref().is_some_and(|n| n.value == list))?;
    let syscalls = match l.ty.as_ref().map(|t| t.value.as_str()) {
        Some("syscalls") => true,
        None | Some("") => false,
        _ => return None,
    };
    let mut found = Vec::new();
    for v in &l.values {
        let name = v.value.as_str();
        // `ABI/name` (`x64/sys_chdir`, `i386/sys_dup`): the stub of that ABI
        if let (true, Some(symbol)) = (syscalls, abi_syscall_symbol(name)) {
            if let Some(f) = kernel.func(&symbol) {
                found.push(f.name().to_string());
                continue;
            }
        }
        let stub = if syscalls {
            match bare_syscall(name, kernel) {
                Some(bare) if name.starts_with("sys_") => kernel.syscall(bare).map(|f| f.name()),
                // Another ABI's stub, written out (`__ia32_sys_dup`).
                _ => kernel.func(name).map(|f| f.name()),
            }
        } else {
            kernel.func(name).map(|f| f.name())
        };
        if let Some(stub) = stub {
            found.push(stub.to_string());
            continue;
        }
        // No syscall on any kernel: P073 reports it once, without a kernel.
        if syscalls && crate::checks::hooks::is_unknown_syscall(name) {
            continue;
        }
        let d = Diagnostic::new(
            Code::K001,
            v.span,
            if syscalls {
                format!("syscall `{name}` of list `{list}` does not exist on this kernel")
            } else {
                format!("function `{name}` of list `{list}` does not exist on this kernel (not in its BTF)")
            },
        );
        if hook.ignore_call_not_found {
            out.push(d.severity(Severity::Warning).help(
                "with `ignore.callNotFound: true` Tetragon skips this function on this kernel",
            ));
            continue;
        }
        let guess = if syscalls {
            let bare = name.rsplit("sys_").next().unwrap_or(name);
            let names = kernel.syscall_names();
            closest(bare, names.iter().copied()).map(|s| format!("sys_{s}"))
        } else {
            closest(name, kernel.func_names()).map(str::to_string)
        };
        out.push(match guess {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => {
                d.help("remove it from the list, or add `ignore: {callNotFound: true}` to the hook")
            }
        });
    }
    Some((found, syscalls || hook.is_syscall()))
}

fn check_args(hook: &Hook, proto: &Proto, kernel: &Kernel, out: &mut Vec<Diagnostic>) {
    // A syscall stub hooked as a plain function: its args are P006's, whatever the prototype
    // (but for an index 0 with `resolve`, which walks the stub's `pt_regs`).
    let misread = super::hooks::stub_arg_misread(hook).is_some();
    for arg in &hook.args {
        if misread && super::hooks::stub_reads_wrong(arg) {
            continue;
        }
        let Some(index) = &arg.index else { continue };
        let Ok(i) = usize::try_from(index.value) else {
            continue;
        };
        let Some(param) = proto.params.get(i) else {
            // Past what the hook can read at all: P015's error says it.
            if super::args::readable_index_limit(hook).is_some_and(|max| index.value > max) {
                continue;
            }
            let n = proto.params.len();
            let mut d = Diagnostic::new(
                Code::K010,
                index.span,
                format!(
                    "`{}` takes {n} argument{}, so index {i} is past its last parameter: `{}`",
                    hook_name(hook),
                    if n == 1 { "" } else { "s" },
                    proto.text
                ),
            );
            // With `resolve` Tetragon looks the parameter up in BTF, and fails the policy.
            if arg.resolve.is_some() && proto.params.iter().all(|p| p.btf.is_some()) {
                d = d.severity(Severity::Error);
            }
            out.push(d.help(match n {
                0 => "remove this arg".to_string(),
                1 => "use index 0".to_string(),
                _ => format!("use an index from 0 to {}", n - 1),
            }));
            continue;
        };
        let Some(ty) = &arg.ty else { continue };
        let Some(expected) = facts::kernel_type(&ty.value) else {
            continue;
        };
        // `btfType` without `resolve` is ignored by Tetragon: the parameter is read as it is.
        let (shape, what) = match (&arg.resolve, param.btf) {
            // What the syscall table alone shows is P035's, said once without a kernel.
            (None, _)
                if param
                    .syscall_ctype
                    .is_some_and(|c| syscall_misfit(c, &ty.value).is_some()) =>
            {
                continue
            }
            (None, _) => (param.shape.clone(), format!("`{}`", param.c)),
            (Some(path), Some(id)) => match resolve(hook, arg, id, kernel, out) {
                Some((reached, shape, what)) => {
                    if let Some(read) = tetragon_btf_type(kernel.btf(), reached) {
                        if !same_arg_type(read, &ty.value) {
                            out.push(
                                Diagnostic::new(
                                    Code::K011,
                                    ty.span,
                                    format!(
                                        "arg {i} of `{}` reaches {what}, which Tetragon reads as `type: {read}` (its BTF type) whatever `type: {}` says; filters on the arg are still parsed for `{}`",
                                        hook_name(hook),
                                        ty.value,
                                        ty.value
                                    ),
                                )
                                .help(format!("use `type: \"{read}\"`, or resolve `{}` further", path.value)),
                            );
                        }
                        continue;
                    }
                    (shape, what)
                }
                None => continue,
            },
            // resolve on a syscall argument: no BTF id to walk.
            (Some(_), None) => continue,
        };
        if let Some(Misfit { why, better, .. }) = fit(expected, &shape, arg.resolve.is_some()) {
            let d = Diagnostic::new(
                Code::K011,
                ty.span,
                format!(
                    "arg {i} of `{}` is {what}; `type: {}` {why}: `{}`",
                    hook_name(hook),
                    ty.value,
                    proto.text
                ),
            );
            out.push(match better {
                Some(b) => d.help(format!("use `type: \"{b}\"`")),
                None => {
                    d.help("pick the arg type that reads this parameter (`policyctl explain K011`)")
                }
            });
        }
    }
}

/// The arg type names of Tetragon's table (pkg/generictypes genericStringToType) with the
/// canonical name of the type each one stands for.
const TETRAGON_TYPE_NAMES: &[(&str, &str)] = &[
    ("string", "string"),
    ("int", "int"),
    ("uint64", "uint64"),
    ("unsigned long", "uint64"),
    ("ulong", "uint64"),
    ("uint32", "uint32"),
    ("sint64", "int64"),
    ("int64", "int64"),
    ("long", "int64"),
    ("sint32", "int32"),
    ("int32", "int32"),
    ("skb", "skb"),
    ("sock", "sock"),
    ("size_t", "size_t"),
    ("char_buf", "char_buf"),
    ("char_iovec", "char_iovec"),
    ("filename", "filename"),
    ("file", "file"),
    ("path", "path"),
    ("fd", "fd"),
    ("cred", "cred"),
    ("const_buf", "const_buf"),
    ("nop", "nop"),
    ("bpf_attr", "bpf_attr"),
    ("perf_event", "perf_event"),
    ("bpf_map", "bpf_map"),
    ("user_namespace", "user_namespace"),
    ("capability", "capability"),
    ("kiocb", "kiocb"),
    ("iov_iter", "iov_iter"),
    ("load_info", "load_info"),
    ("module", "module"),
    ("syscall64", "syscall64"),
    ("sint16", "int16"),
    ("int16", "int16"),
    ("uint16", "uint16"),
    ("sint8", "int8"),
    ("int8", "int8"),
    ("uint8", "uint8"),
    ("kernel_cap_t", "kernel_cap_t"),
    ("cap_inheritable", "cap_inheritable"),
    ("cap_permitted", "cap_permitted"),
    ("cap_effective", "cap_effective"),
    ("linux_binprm", "linux_binprm"),
    ("data_loc", "data_loc"),
    ("net_device", "net_device"),
    ("sockaddr", "sockaddr"),
    ("sockaddr_un", "sockaddr_un"),
    ("socket", "socket"),
    ("dentry", "dentry"),
    ("bpf_prog", "bpf_prog"),
];

/// The canonical Tetragon type an arg type name stands for (`long` → `int64`).
fn tetragon_type(name: &str) -> Option<&'static str> {
    TETRAGON_TYPE_NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
}

/// Whether two arg type names are the same Tetragon type (`int64` and `long`).
fn same_arg_type(a: &str, b: &str) -> bool {
    a == b || tetragon_type(a).is_some_and(|t| Some(t) == tetragon_type(b))
}

/// The arg type Tetragon reads a field reached by `resolve` as, whatever the arg's `type` says:
/// the field's type without qualifiers and typedefs, or what it points to, named by Tetragon's
/// table (`struct file` → `file`, `int` → `int`) or, for an enum, an integer of its size. `None`
/// when Tetragon has no such type and reads the field as the arg's `type`
/// (pkg/btf/btf.go processMembers, pkg/generictypes GenericTypeFromBTF).
fn tetragon_btf_type(btf: &Btf, field: TypeId) -> Option<&'static str> {
    let t = btf.skip_aliases(field)?;
    let start = if t.kind == Kind::Ptr {
        t.type_id()
    } else {
        t.id
    };
    let mut cur = start;
    for _ in 0..16 {
        let t = btf.ty(cur)?;
        if let Some(found) = tetragon_type(t.name()) {
            return Some(found);
        }
        match t.kind {
            Kind::Typedef | Kind::Const | Kind::Volatile | Kind::Restrict | Kind::Ptr => {
                cur = t.type_id();
            }
            Kind::Enum | Kind::Enum64 => {
                let name = format!(
                    "{}int{}",
                    if t.is_signed() { "" } else { "u" },
                    t.size() * 8
                );
                return tetragon_type(&name);
            }
            _ => return None,
        }
    }
    None
}

/// Follow `btfType` and `resolve` from a parameter; the type reached, its shape and how to name
/// it, or `None` after reporting why the path does not exist.
fn resolve(
    hook: &Hook,
    arg: &Arg,
    param: TypeId,
    kernel: &Kernel,
    out: &mut Vec<Diagnostic>,
) -> Option<(TypeId, Shape, String)> {
    let call = hook.target.as_ref().map_or("", |t| t.value.as_str());
    // the hooked function is vmlinux's (Tetragon's kallsyms lookup then names no module)
    let in_vmlinux = hook.kind == HookKind::Lsm
        || (kernel.func(call).is_some() && kernel.module_of(call).is_none());
    let btf = kernel.btf();
    let mut id = param;
    if let Some(cast) = &arg.btf_type {
        match kernel.struct_named(&cast.value) {
            Some(t) => id = t.id,
            // `struct linux_binprm`: no module has a type of that name either.
            None if cast.value.contains(' ') => {
                out.push(
                    Diagnostic::new(
                        Code::K012,
                        cast.span,
                        format!(
                            "`btfType: {}` is not a struct or union of this kernel",
                            cast.value
                        ),
                    )
                    .help("name a struct of the kernel's BTF (without `struct `)"),
                );
                return None;
            }
            // Tetragon looks in the BTF of `btfTypeModule`, or of the hooked function's module,
            // when the kernel's own BTF does not have the type (findBTFTypeStruct).
            None => {
                let module = arg
                    .btf_type_module
                    .as_ref()
                    .map(|m| m.value.as_str())
                    .or_else(|| kernel.module_of(call));
                match module {
                    // the module's BTF is known: the type is there or Tetragon fails
                    Some(m) if kernel.has_module(m) => {
                        if kernel.struct_in_module(m, &cast.value).is_none() {
                            out.push(
                                Diagnostic::new(
                                    Code::K012,
                                    cast.span,
                                    format!(
                                        "`btfType: {}` is a struct or union neither of this kernel's BTF nor of module `{m}`'s, so Tetragon fails the policy",
                                        cast.value
                                    ),
                                )
                                .help("name a struct of the kernel's or the module's BTF (`policyctl kernel` lists them)"),
                            );
                        }
                    }
                    // a hook in vmlinux and no btfTypeModule: Tetragon looks nowhere else
                    None if in_vmlinux => {
                        out.push(
                            Diagnostic::new(
                                Code::K012,
                                cast.span,
                                format!(
                                    "`btfType: {}` is not a struct or union of this kernel's BTF, and `{call}` is not in a module, so Tetragon fails the policy",
                                    cast.value
                                ),
                            )
                            .help("name a struct of the kernel's BTF, or give `btfTypeModule` for a module's struct"),
                        );
                    }
                    _ => {
                        out.push(
                            Diagnostic::new(
                                Code::K012,
                                cast.span,
                                format!(
                                    "`btfType: {}` is not a struct or union of this kernel's own BTF; Tetragon then looks in the BTF of `btfTypeModule` (or of the hooked function's module) and fails the policy when it is not there either",
                                    cast.value
                                ),
                            )
                            .severity(Severity::Warning)
                            .help("check the name against `policyctl kernel` with the module's BTF (`--btf-module`), or name a struct of the kernel's BTF"),
                        );
                    }
                }
                return None;
            }
        }
    }
    let Some(path) = &arg.resolve else {
        return Some((
            id,
            Shape::from_btf(btf, id),
            format!("`{}`", btf.c_type(id)),
        ));
    };
    // a btfType struct is walked as the struct; a parameter as Tetragon takes it
    let from_param = arg.btf_type.is_none();
    match resolve::walk(btf, id, &path.value, from_param) {
        Ok(w) => Some((
            w.reached,
            Shape::from_btf(btf, w.reached),
            format!("`{}` at `{}`", btf.c_type(w.reached), path.value),
        )),
        Err(WalkError::NotStruct { walked, field, ty }) => {
            out.push(
                Diagnostic::new(
                    Code::K012,
                    path.span,
                    format!(
                        "`resolve: {}` cannot go into `{field}`: {} is `{}`, not a struct",
                        path.value,
                        if walked.is_empty() {
                            "the argument".to_string()
                        } else {
                            format!("`{walked}`")
                        },
                        btf.c_type(ty)
                    ),
                )
                .help("resolve only through struct and union members (and pointers to them)"),
            );
            None
        }
        Err(WalkError::NoMember { owner, field }) => {
            let names = members::member_names(btf, owner);
            let d = Diagnostic::new(
                Code::K012,
                path.span,
                format!(
                    "`{}` has no member `{field}` on this kernel",
                    btf.c_type(owner)
                ),
            );
            out.push(match member_guess(&field, &names) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!("its members: {}", names.join(", "))),
            });
            None
        }
        Err(WalkError::TooDeep { steps }) => {
            out.push(
                Diagnostic::new(
                    Code::K012,
                    path.span,
                    format!(
                        "`resolve: {}` takes {steps} steps (a `[0]` counted for each pointer to a pointer), more than Tetragon's limit of {MAX_BTF_ARG_DEPTH}",
                        path.value
                    ),
                )
                .help("resolve a shorter path, or read the struct reached with another hook"),
            );
            None
        }
        Err(WalkError::OutOfBounds { index, len }) => {
            out.push(
                Diagnostic::new(
                    Code::K012,
                    path.span,
                    format!(
                        "`resolve: {}` indexes [{index}] of an array of {len}",
                        path.value
                    ),
                )
                .help(format!("use an index from 0 to {}", len.saturating_sub(1))),
            );
            None
        }
        // a malformed path is the schema's to report; broken BTF says nothing
        Err(WalkError::Format | WalkError::Broken) => None,
    }
}

/// "Did you mean" for a member: a close spelling, else the member with the struct's prefix
/// (`path` → `f_path`), else one the field was split into (`i_mtime` → `i_mtime_sec`).
fn member_guess<'b>(field: &str, names: &[&'b str]) -> Option<&'b str> {
    suggest::did_you_mean(field, names)
        .or_else(|| {
            names.iter().copied().find(|n| {
                n.split_once('_')
                    .is_some_and(|(prefix, rest)| (1..=2).contains(&prefix.len()) && rest == field)
            })
        })
        .or_else(|| {
            names.iter().copied().find(|n| {
                n.strip_prefix(field)
                    .is_some_and(|rest| rest.starts_with('_'))
            })
        })
}

fn check_return(hook: &Hook, proto: &Proto, out: &mut Vec<Diagnostic>) {
    if !hook.returns() {
        return;
    }
    let Some(ret) = &hook.return_arg else { return };
    let Some(ty) = &ret.ty else { return };
    let Some(expected) = facts::kernel_type(&ty.value) else {
        return;
    };
    if proto.ret == Shape::Void {
        out.push(
            Diagnostic::new(
                Code::K013,
                ty.span,
                format!(
                    "`{}` returns void, so there is no return value to read: `{}`",
                    hook_name(hook),
                    proto.text
                ),
            )
            .help("remove `return: true` and `returnArg`"),
        );
        return;
    }
    if let Some(Misfit { why, better, .. }) = fit(expected, &proto.ret, false) {
        let d = Diagnostic::new(
            Code::K013,
            ty.span,
            format!(
                "`{}` returns `{}`; `type: {}` {why}: `{}`",
                hook_name(hook),
                proto.ret_text,
                ty.value,
                proto.text
            ),
        );
        out.push(match better {
            Some(b) => d.help(format!("use `type: \"{b}\"`")),
            None => d.help("pick the type that reads the return value"),
        });
    }
}

/// Override on the functions a kprobe attaches to (one call, or every function of a `list:`),
/// as Tetragon's validateOverride sees them: `security_*` functions through fmod_ret, other
/// functions of a syscall hook through `bpf_override_return` and the kernel's error-injection
/// list. Any other function Tetragon refuses whatever the kernel: P047 says so, not this.
/// `syscall` is Tetragon's syscall flag for the hook (a `syscalls` list sets it); `what` names
/// the functions in messages.
fn check_override(
    policy: &Policy,
    hook: &Hook,
    symbols: &[String],
    syscall: bool,
    what: &str,
    kernel: &Kernel,
    out: &mut Vec<Diagnostic>,
) {
    if hook.kind != HookKind::Kprobe {
        // fentries take no enforcement action (P048).
        return;
    }
    let (security, others): (Vec<&str>, Vec<&str>) = symbols
        .iter()
        .map(String::as_str)
        .partition(|s| s.starts_with("security_"));
    for span in override_spans(hook) {
        if !security.is_empty() {
            let named = if security.len() == symbols.len() {
                what.to_string()
            } else {
                format!("{} of {what}", quoted(&security))
            };
            security_override(policy, &named, span, kernel, out);
        }
        if syscall && !others.is_empty() {
            let named = if others.len() == symbols.len() {
                what.to_string()
            } else {
                format!("{} of {what}", quoted(&others))
            };
            syscall_override(&others, symbols.len() == 1, &named, span, kernel, out);
        }
    }
}

/// The spans of a hook's Override actions (Tetragon reads action names case-insensitively).
fn override_spans(hook: &Hook) -> Vec<crate::Span> {
    hook.selectors
        .iter()
        .flat_map(|s| s.match_actions.iter())
        .filter_map(|a| {
            a.action
                .as_ref()
                .filter(|n| n.value.eq_ignore_ascii_case("Override"))
                .map(|n| n.span)
        })
        .collect()
}

/// `a`, `b` and `c` in backquotes, joined by commas.
fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Override on `security_*` functions: fmod_ret must exist, and Tetragon must not attach the
/// policy's kprobes with kprobe_multi (validateOverride checks in this order).
fn security_override(
    policy: &Policy,
    what: &str,
    span: crate::Span,
    kernel: &Kernel,
    out: &mut Vec<Diagnostic>,
) {
    if let Some(why) = fmod_ret_missing(kernel) {
        out.push(
            Diagnostic::new(
                Code::K020,
                span,
                format!("this kernel cannot Override {what}: Tetragon overrides security_ functions with fmod_ret, which needs BPF trampolines, and {why}"),
            )
            .help("Override the syscall instead (on a kernel with error injection), or check against a kernel built with CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS"),
        );
        return;
    }
    const HELP: &str = "add `options: [{name: \"disable-kprobe-multi\", value: \"true\"}]` to the policy (or run Tetragon with --disable-kprobe-multi), or Override the LSM hook instead (`lsmhooks:`)";
    match uses_multi(policy, kernel) {
        Multi::No => {}
        Multi::Yes(why) => out.push(
            Diagnostic::new(
                Code::K020,
                span,
                format!("Tetragon refuses to Override {what} on this kernel: it attaches the policy's kprobes with kprobe_multi here ({why}), and cannot override security_ functions that way"),
            )
            .help(HELP),
        ),
        Multi::Unknown(why) => out.push(
            Diagnostic::new(
                Code::K021,
                span,
                format!("cannot tell whether Tetragon can Override {what} on this kernel: {why}"),
            )
            .help(HELP),
        ),
    }
}

/// Override on syscall stubs (and other functions of a syscall hook): the kernel needs
/// `bpf_override_return`, and each function must be on its error-injection list.
fn syscall_override(
    functions: &[&str],
    single: bool,
    what: &str,
    span: crate::Span,
    kernel: &Kernel,
    out: &mut Vec<Diagnostic>,
) {
    let alternative = "Override an LSM hook instead (`lsmhooks:`), or a `security_*` function";
    match &kernel.error_injection {
        Known::Yes(ErrorInjection::List(list), _) => {
            let refused: Vec<&str> = functions
                .iter()
                .copied()
                .filter(|s| list.binary_search_by(|n| n.as_str().cmp(s)).is_err())
                .collect();
            let message = match refused.as_slice() {
                [] => return,
                [one] if single => format!(
                    "this kernel cannot Override `{one}`: it is not on its error-injection list"
                ),
                many => format!(
                    "this kernel cannot Override {} of {what}: {} {} not on its error-injection list",
                    many.len(),
                    quoted(many),
                    if many.len() == 1 { "is" } else { "are" }
                ),
            };
            out.push(Diagnostic::new(Code::K020, span, message).help(alternative));
        }
        Known::Yes(ErrorInjection::Unsupported(why), _) => out.push(
            Diagnostic::new(
                Code::K020,
                span,
                format!("this kernel cannot Override {what}: it has no error injection, so no bpf_override_return ({why} in its configuration)"),
            )
            .help(alternative),
        ),
        Known::Unknown(why) => out.push(
            Diagnostic::new(
                Code::K021,
                span,
                format!("cannot tell whether this kernel can Override {what}: {why}"),
            )
            .help("pass --error-injection FILE (a copy of /sys/kernel/debug/error_injection/list) or --kernel-config FILE"),
        ),
    }
}

/// An enforcer's calls, as Tetragon's `createEnforcerSensor` and `selectOverrideMethod`
/// (`pkg/sensors/tracing/enforcer.go`) load them: a syscall (a `syscalls` list, a name with
/// `sys_` or an architecture prefix) is overridden with `bpf_override_return`, or else with
/// fmod_ret, which the kernel allows on a syscall only where it is on the error-injection list
/// (`HasModifyReturnSyscall`); a `security_*` call needs fmod_ret. A kernel known to have no
/// error injection can do neither for a syscall, and Tetragon fails to load the policy.
fn enforcer(policy: &Policy, kernel: &Kernel, out: &mut Vec<Diagnostic>) {
    let lists = &policy.spec.lists;
    let is_syscall = |call: &str| -> bool {
        if let Some(name) = call.strip_prefix("list:") {
            return lists.iter().any(|l| {
                l.name.as_ref().is_some_and(|n| n.value == name)
                    && l.ty.as_ref().is_some_and(|t| t.value == "syscalls")
            });
        }
        call.starts_with("sys_")
            || crate::facts::SYSCALL_ARCH_PREFIXES
                .iter()
                .any(|p| call.starts_with(p))
    };
    let is_security = |call: &str| -> bool {
        match call.strip_prefix("list:") {
            Some(name) => lists.iter().any(|l| {
                l.name.as_ref().is_some_and(|n| n.value == name)
                    && l.ty.as_ref().is_none_or(|t| t.value != "syscalls")
                    && l.values.iter().any(|v| v.value.starts_with("security_"))
            }),
            None => call.starts_with("security_"),
        }
    };
    let calls = &policy.spec.enforcer_calls;
    if let Some(call) = calls.iter().find(|c| is_syscall(&c.value)) {
        if let Known::Yes(ErrorInjection::Unsupported(why), _) = &kernel.error_injection {
            out.push(
                Diagnostic::new(
                    Code::K020,
                    call.span,
                    format!("Tetragon cannot load this enforcer on this kernel: it overrides {} with bpf_override_return or fmod_ret, and this kernel has no error injection ({why} in its configuration), so neither", if call.value.starts_with("list:") { format!("the syscalls of `{}`", call.value) } else { format!("the syscall `{}`", call.value) }),
                )
                .help("enforce with an Override on an LSM hook (`lsmhooks:`) or on a `security_*` function instead, or check against a kernel with CONFIG_FUNCTION_ERROR_INJECTION and CONFIG_BPF_KPROBE_OVERRIDE"),
            );
            return;
        }
    }
    if let Some(call) = calls.iter().find(|c| is_security(&c.value)) {
        if let Some(why) = fmod_ret_missing(kernel) {
            out.push(
                Diagnostic::new(
                    Code::K020,
                    call.span,
                    format!("Tetragon cannot load this enforcer on this kernel: it overrides the security_ function `{}` with fmod_ret, which needs BPF trampolines, and {why}", call.value),
                )
                .help("check against a kernel built with CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS"),
            );
        }
    }
}

/// Why this kernel has no fmod_ret (BPF trampolines), when its configuration says so.
fn fmod_ret_missing(kernel: &Kernel) -> Option<String> {
    let (cfg, _) = kernel.config.as_ref()?;
    ["BPF_JIT", "DYNAMIC_FTRACE_WITH_DIRECT_CALLS"]
        .iter()
        .find(|o| !cfg.enabled(o))
        .map(|o| format!("CONFIG_{o} is not set in its configuration"))
}

/// Whether this kernel has multi-kprobe links (kprobe_multi, built on fprobe), and how that is
/// known: from its configuration when given (`CONFIG_FPROBE` and `CONFIG_BPF_EVENTS`), else from
/// its BTF (`register_fprobe` exists only with `CONFIG_FPROBE`, `bpf_kprobe_multi_link_attach`
/// only with BPF kprobe programs). `None`: it has none.
fn kprobe_multi(kernel: &Kernel) -> Option<String> {
    match &kernel.config {
        Some((cfg, _)) => (cfg.enabled("FPROBE") && cfg.enabled("BPF_EVENTS"))
            .then(|| "CONFIG_FPROBE is set in its configuration".to_string()),
        None => (kernel.func("register_fprobe").is_some()
            && kernel.func("bpf_kprobe_multi_link_attach").is_some())
        .then(|| "its BTF has `register_fprobe`, so it is built with CONFIG_FPROBE".to_string()),
    }
}

/// Whether the policy turns kprobe_multi off with `options: disable-kprobe-multi` (the last
/// such option wins, its value read as Go's strconv.ParseBool reads it). A value Tetragon cannot
/// read fails the policy, which another check reports: counted as off here.
fn multi_disabled(policy: &Policy) -> bool {
    policy
        .spec
        .option("disable-kprobe-multi")
        .is_some_and(|v| crate::golang::parse_bool(v) != Some(false))
}

/// Whether Tetragon attaches a policy's kprobes with kprobe_multi on a kernel.
enum Multi {
    /// It does: why the kernel has kprobe_multi.
    Yes(String),
    /// It does not.
    No,
    /// It depends on what policyctl does not know: why.
    Unknown(String),
}

/// Tetragon uses kprobe_multi when the kernel has it and neither the policy's option nor its own
/// `--disable-kprobe-multi` flag (which policyctl cannot see) turns it off; on arm64 not for a
/// policy with an Override.
fn uses_multi(policy: &Policy, kernel: &Kernel) -> Multi {
    if multi_disabled(policy) {
        return Multi::No;
    }
    let Some(why) = kprobe_multi(kernel) else {
        return Multi::No;
    };
    let overrides = policy
        .spec
        .hooks
        .iter()
        .any(|h| h.kind == HookKind::Kprobe && !override_spans(h).is_empty());
    match kernel.arch {
        Some(Arch::Arm64) if overrides => Multi::No,
        None if overrides => Multi::Unknown(format!(
            "it has kprobe_multi ({why}), with which Tetragon refuses to override security_ functions on x86_64 (not on arm64), and its architecture is unknown (no syscall stubs in its BTF)"
        )),
        _ => Multi::Yes(why),
    }
}

fn lsm(hook: &Hook, kernel: &Kernel, out: &mut Vec<Diagnostic>) {
    let Some(name) = &hook.target else { return };
    if kernel.lsm_hooks().is_empty() {
        // K030 already says the kernel has no BPF LSM.
        return;
    }
    match kernel.lsm_hook(&name.value) {
        Some(f) => check_args(hook, &btf_proto(f), kernel, out),
        None => {
            let d = Diagnostic::new(
                Code::K002,
                name.span,
                format!(
                    "LSM hook `{}` does not exist on this kernel (no `bpf_lsm_{}` in its BTF)",
                    name.value, name.value
                ),
            );
            let bare = name.value.strip_prefix("security_").unwrap_or(&name.value);
            let guess = if bare != name.value && kernel.lsm_hook(bare).is_some() {
                Some(bare)
            } else {
                closest(bare, kernel.lsm_hooks().iter().map(String::as_str))
            };
            out.push(match guess {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help("`policyctl kernel lsm PATTERN` lists the kernel's LSM hooks"),
            });
        }
    }
}

fn tracepoint(hook: &Hook, kernel: &Kernel, out: &mut Vec<Diagnostic>) {
    let (Some(sub), Some(event)) = (&hook.subsystem, &hook.target) else {
        return;
    };
    let Some(tp) = kernel.tracepoint(&sub.value, &event.value) else {
        let from_tracefs = kernel.host.as_ref().is_some_and(|h| h.tracefs.is_some());
        if !from_tracefs && sub.value == "syscalls" {
            syscall_event_missing(&event.value, event.span, kernel, out);
            return;
        }
        let d = Diagnostic::new(
            Code::K003,
            event.span,
            if from_tracefs {
                format!(
                    "tracepoint `{}/{}` does not exist on this kernel (not in tracefs)",
                    sub.value, event.value
                )
            } else {
                format!("tracepoint `{}/{}` does not exist on this kernel (no `btf_trace_{}` in its BTF)", sub.value, event.value, event.value)
            },
        );
        let guess = match kernel.tracefs_events() {
            Some(all) => {
                let names: Vec<String> = all.iter().map(|(s, e)| format!("{s}/{e}")).collect();
                let wanted = format!("{}/{}", sub.value, event.value);
                closest(&wanted, names.iter().map(String::as_str)).map(str::to_string)
            }
            None => closest(
                &event.value,
                kernel.tracepoint_events().iter().map(String::as_str),
            )
            .map(|e| format!("event: {e}")),
        };
        out.push(match guess {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => d.help("`policyctl kernel tracepoints PATTERN` lists the kernel's tracepoints"),
        });
        return;
    };
    let (count, what, listing): (usize, &str, Vec<String>) = if hook.raw {
        (
            tp.raw_args.len(),
            if tp.raw_args.len() == 1 {
                "raw argument"
            } else {
                "raw arguments"
            },
            // BTF often leaves the raw arguments unnamed: show the type alone then.
            tp.raw_args
                .iter()
                .map(|(n, t)| format!("{t} {n}").trim_end().to_string())
                .collect(),
        )
    } else {
        let Some(fields) = tp.fields() else { return };
        (
            fields.len(),
            if fields.len() == 1 { "field" } else { "fields" },
            fields.iter().map(|(n, t)| format!("{t} {n}")).collect(),
        )
    };
    if count == 0 && hook.raw {
        return;
    }
    for arg in &hook.args {
        let Some(index) = &arg.index else { continue };
        let Ok(i) = usize::try_from(index.value) else {
            continue;
        };
        // A syscall event's fields are known without a kernel: P033 says it once.
        if i >= count && !super::syscall_args::reports_field_past_end(hook, i) {
            let shown: Vec<String> = listing
                .iter()
                .enumerate()
                .map(|(i, f)| format!("{i}: {f}"))
                .collect();
            let mut d = Diagnostic::new(
                Code::K014,
                index.span,
                format!(
                    "`{}/{}` has {count} {what}, so index {i} is past the last ({})",
                    sub.value,
                    event.value,
                    shown.join(", ")
                ),
            );
            // Tetragon does not compare a raw index with the event's arguments (the program
            // reads leftovers), except through `resolve`, which looks the argument up.
            if hook.raw && arg.resolve.is_none() {
                d = d.severity(Severity::Warning);
            }
            out.push(d.help(if count == 1 {
                "use index 0".to_string()
            } else {
                format!("use an index from 0 to {}", count - 1)
            }));
        }
    }
}

/// A `syscalls/<event>` tracepoint that [`Kernel::tracepoint`] did not find, from BTF: such
/// events have no BTF of their own and exist when the syscall does. A syscall whose stub is in
/// BTF but whose arguments the syscall table does not know has an event with unknown fields:
/// nothing to report.
fn syscall_event_missing(
    event: &str,
    span: crate::Span,
    kernel: &Kernel,
    out: &mut Vec<Diagnostic>,
) {
    let split = event
        .strip_prefix("sys_enter_")
        .map(|bare| ("sys_enter_", bare))
        .or_else(|| {
            event
                .strip_prefix("sys_exit_")
                .map(|bare| ("sys_exit_", bare))
        });
    let Some((direction, bare)) = split else {
        out.push(
            Diagnostic::new(
                Code::K003,
                span,
                format!("tracepoint `syscalls/{event}` does not exist: the syscalls events are `sys_enter_<syscall>` and `sys_exit_<syscall>`"),
            )
            .help("for every syscall at once, hook `raw_syscalls/sys_enter` or `raw_syscalls/sys_exit`"),
        );
        return;
    };
    if kernel.syscall(bare).is_some() {
        return;
    }
    let Some(arch) = kernel.arch else {
        out.push(
            Diagnostic::new(
                Code::K003,
                span,
                format!("tracepoint `syscalls/{event}` cannot be found: this kernel's BTF has no syscall stubs of a known architecture"),
            )
            .help("`policyctl kernel syscalls PATTERN` lists the kernel's syscalls"),
        );
        return;
    };
    let d = Diagnostic::new(
        Code::K003,
        span,
        format!(
            "tracepoint `syscalls/{event}` does not exist on this kernel: it has no syscall `{bare}` (no `{}sys_{bare}` in its BTF)",
            arch.syscall_prefix()
        ),
    );
    let names = kernel.syscall_names();
    out.push(match closest(bare, names.iter().copied()) {
        Some(s) => d.help(format!("did you mean `event: {direction}{s}`?")),
        None => d.help("`policyctl kernel syscalls PATTERN` lists the kernel's syscalls"),
    });
}

fn hook_name(hook: &Hook) -> &str {
    hook.target.as_ref().map_or("?", |t| t.value.as_str())
}

/// What a parameter (or a field, or a C type written as text) is, as far as reading it with an
/// arg `type` goes: the public face of the shape K011 checks, for the language server's
/// completion and code actions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamShape(Shape);

impl ParamShape {
    /// The shape of a BTF type (a function parameter's type id).
    pub fn from_btf(btf: &Btf, id: TypeId) -> ParamShape {
        ParamShape(Shape::from_btf(btf, id))
    }

    /// The shape of a C type written as text (`const char *`, `struct sockaddr *`, `umode_t`:
    /// the syscall table, tracepoint formats); typedefs are looked up in the kernel's BTF when a
    /// kernel is given.
    pub fn from_c(ctype: &str, kernel: Option<&Kernel>) -> ParamShape {
        ParamShape(Shape::from_c(ctype, kernel))
    }

    /// The arg `type` that reads it best (the one K011's help suggests), when there is one.
    pub fn best_type(&self) -> Option<&'static str> {
        better_type(&self.0)
    }

    /// Whether an arg `type` reads it as a parameter without K011 finding fault (a warning
    /// counts as a fault); `None` for types that kprobes cannot use (`auto`, `syscall64`, ...)
    /// and unknown names.
    pub fn fits(&self, ty: &str) -> Option<bool> {
        let expected = facts::kernel_type(ty)?;
        Some(fit(expected, &self.0, false).is_none())
    }
}

/// What a parameter is, as far as reading it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Shape {
    Void,
    /// An integer or enum of this many bytes (0: unknown), signed or not.
    Int(u32, bool),
    /// A pointer.
    Ptr(Pointee),
    /// A `char` array (a field reached by `resolve`, like `task_struct.comm`).
    CharArray,
    /// A struct or union by value (a field reached by `resolve`): its typedef and tag names.
    Struct(Vec<String>),
    /// A struct or union passed by value, an array, a float...: (C name).
    Other(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Pointee {
    Void,
    /// `char`, `u8`, `unsigned char`.
    Byte,
    Int,
    /// A struct, union or typedef, by name (typedef names first: `kernel_cap_t`).
    Named(Vec<String>),
    /// Another pointer: `char **argv`, an array of pointers.
    Ptr,
    Other,
}

impl Shape {
    fn from_btf(btf: &Btf, id: TypeId) -> Shape {
        let Some(t) = btf.skip_aliases(id) else {
            return Shape::Other(btf.c_type(id));
        };
        match t.kind {
            Kind::Void => Shape::Void,
            Kind::Int | Kind::Enum | Kind::Enum64 => Shape::Int(t.size(), t.is_signed()),
            Kind::Ptr => Shape::Ptr(pointee_btf(btf, t.type_id())),
            Kind::Array => match btf.skip_aliases(t.array().0) {
                Some(e) if e.kind == Kind::Int && e.size() == 1 => Shape::CharArray,
                _ => Shape::Other(btf.c_type(id)),
            },
            Kind::Struct | Kind::Union => match pointee_btf(btf, id) {
                Pointee::Named(names) => Shape::Struct(names),
                _ => Shape::Other(btf.c_type(id)),
            },
            _ => Shape::Other(btf.c_type(id)),
        }
    }

    /// From the C text of the syscall table (`const char *`, `struct sockaddr *`, `umode_t`);
    /// typedefs are looked up in the kernel's BTF, when there is a kernel.
    fn from_c(ctype: &str, kernel: Option<&Kernel>) -> Shape {
        let stars = ctype.matches('*').count();
        let base: Vec<&str> = ctype
            .split(|c: char| c == '*' || c.is_whitespace())
            .filter(|w| !w.is_empty() && !matches!(*w, "const" | "volatile" | "__user"))
            .collect();
        let base = base.join(" ");
        if stars == 0 {
            return match kernel.and_then(|k| Some((k, k.typedef_named(&base)?))) {
                Some((k, t)) => Shape::from_btf(k.btf(), t.id),
                // Without BTF the table's typedefs are integers, but for two.
                None => match syscalls::pointer_typedef(&base) {
                    Some(pointee) => {
                        Shape::Ptr(Pointee::Named(vec![base.clone(), pointee.to_string()]))
                    }
                    None => Shape::Int(c_int_size(&base), !base.starts_with("unsigned")),
                },
            };
        }
        if stars > 1 {
            return Shape::Ptr(Pointee::Ptr);
        }
        Shape::Ptr(match base.as_str() {
            "void" => Pointee::Void,
            "char" | "unsigned char" | "u8" => Pointee::Byte,
            b => match b
                .strip_prefix("struct ")
                .or_else(|| b.strip_prefix("union "))
            {
                Some(name) => Pointee::Named(vec![name.to_string()]),
                None => match kernel.and_then(|k| Some((k, k.typedef_named(b)?))) {
                    Some((k, t)) => pointee_btf(k.btf(), t.id),
                    None => Pointee::Int,
                },
            },
        })
    }
}

fn c_int_size(name: &str) -> u32 {
    match name {
        "char" | "unsigned char" | "signed char" => 1,
        "short" | "unsigned short" => 2,
        "int" | "unsigned int" | "unsigned" => 4,
        "long" | "unsigned long" | "long long" | "unsigned long long" => 8,
        _ => 0,
    }
}

fn pointee_btf(btf: &Btf, id: TypeId) -> Pointee {
    let mut names = Vec::new();
    let mut cur = id;
    for _ in 0..16 {
        let Some(t) = btf.ty(cur) else {
            return Pointee::Other;
        };
        match t.kind {
            Kind::Typedef => {
                names.push(t.name().to_string());
                cur = t.type_id();
            }
            Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => cur = t.type_id(),
            Kind::Void => return Pointee::Void,
            Kind::Int if t.size() == 1 => return Pointee::Byte,
            Kind::Int | Kind::Enum | Kind::Enum64 => return Pointee::Int,
            Kind::Ptr => return Pointee::Ptr,
            Kind::Struct | Kind::Union | Kind::Fwd => {
                if !t.name().is_empty() {
                    names.push(t.name().to_string());
                }
                return Pointee::Named(names);
            }
            _ => return Pointee::Other,
        }
    }
    Pointee::Other
}

/// Why an arg type does not read a parameter (or a field, or a return value) right.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Misfit {
    /// What goes wrong, after "`type: X` ": "reads a pointer as a number".
    pub why: String,
    /// The arg type that would fit, when there is one.
    pub better: Option<&'static str>,
    /// Plainly wrong whatever the kernel: a pointer read as a number, a number or a pointer to
    /// pointers read as a string, a number or another struct's pointer read as a struct. Not
    /// plain: a `void *` read as a string or a struct, bytes read from a struct, integer widths
    /// in memory. P035 reports only plain misfits; K011 all of them.
    pub plain: bool,
}

/// Does an arg type read this shape? `None` when it fits; otherwise why not, and the arg type
/// that would fit. `memory` is true for a field reached by `resolve` (read from
/// memory, where the width matters) and false for a parameter or return value (a register,
/// where any integer width reads the value).
fn fit(expected: KernelType, shape: &Shape, memory: bool) -> Option<Misfit> {
    use KernelType::*;
    let better = better_type(shape);
    let misfit = |why: &str, plain: bool| {
        Some(Misfit {
            why: why.to_string(),
            better,
            plain,
        })
    };
    let width = |bytes: u32, size: u32| {
        if !memory || bytes == 0 || size == 0 || bytes == size {
            None
        } else if bytes > size {
            misfit(
                &format!("reads {bytes} bytes from a {size}-byte field, and so the bytes after it"),
                false,
            )
        } else {
            misfit(
                &format!("reads only {bytes} of the field's {size} bytes"),
                false,
            )
        }
    };
    let pointer_to = |names: &[&str]| {
        let n = names[0];
        if n.ends_with("_t") {
            format!("`{n} *`")
        } else {
            format!("`struct {n} *`")
        }
    };
    match (expected, shape) {
        (Any, _) => None,
        (_, Shape::Void) => misfit("has nothing to read", true),
        (Integer(bytes, _), Shape::Int(size, _)) => width(bytes, *size),
        (Word, Shape::Int(size, _)) => width(8, *size),
        (Word, Shape::Ptr(_)) => None,
        (Integer(..), Shape::Ptr(_)) => misfit("reads a pointer as a number", true),
        (CharPtr, Shape::Ptr(Pointee::Byte)) => None,
        (CharPtr | Buffer, Shape::CharArray) if memory => None,
        (CharPtr, Shape::Ptr(Pointee::Void)) => {
            misfit("expects a `char *` and this is `void *`", false)
        }
        (CharPtr, Shape::Ptr(Pointee::Ptr)) => misfit(
            "expects a `char *` string, and this points to pointers",
            true,
        ),
        (Buffer, Shape::Ptr(Pointee::Byte | Pointee::Void)) => None,
        (Buffer, Shape::Ptr(Pointee::Named(_))) => {
            misfit("expects a pointer to bytes, not to a struct", false)
        }
        (Buffer, Shape::Ptr(_)) => misfit("expects a pointer to bytes", false),
        (PtrTo(names), Shape::Ptr(Pointee::Named(have))) => {
            if have.iter().any(|h| names.contains(&h.as_str())) {
                None
            } else {
                misfit(&format!("expects {}", pointer_to(names)), true)
            }
        }
        // `resolve` reaching a struct field: the field's address is read.
        (PtrTo(names), Shape::Struct(have))
            if memory && have.iter().any(|h| names.contains(&h.as_str())) =>
        {
            None
        }
        (PtrTo(names), Shape::Ptr(Pointee::Void)) => misfit(
            &format!("expects {} and this is `void *`", pointer_to(names)),
            false,
        ),
        (PtrTo(names), Shape::Int(..) | Shape::Ptr(_)) => {
            misfit(&format!("expects {}", pointer_to(names)), true)
        }
        (PtrTo(names), _) => misfit(&format!("expects {}", pointer_to(names)), false),
        (CharPtr, Shape::Int(..) | Shape::Ptr(_)) => misfit("expects a `char *` string", true),
        (CharPtr, _) => misfit("expects a `char *` string", false),
        (Buffer, Shape::Int(..)) => misfit("expects a pointer to a buffer", true),
        (Buffer, _) => misfit("expects a pointer to a buffer", false),
        (Integer(..) | Word, _) => misfit("expects an integer", false),
    }
}

/// Whether an arg `type` reads a parameter of this C type (a syscall's, from the syscall
/// table) plainly wrong, whatever the kernel: the one judgement of P035 (without a kernel) and
/// of K011 on syscalls (which leaves these to P035). `None` for types kprobes cannot use and
/// unknown names, and when the type fits or fits maybe.
pub(crate) fn syscall_misfit(ctype: &str, ty: &str) -> Option<Misfit> {
    let expected = facts::kernel_type(ty)?;
    fit(expected, &Shape::from_c(ctype, None), false).filter(|m| m.plain)
}

/// The arg type that reads a shape best, when there is one.
fn better_type(shape: &Shape) -> Option<&'static str> {
    match shape {
        Shape::Int(0, _) => Some("int"),
        Shape::Int(n, signed) => Some(facts::int_arg_type(*n, *signed)),
        Shape::Ptr(Pointee::Byte) | Shape::CharArray => Some("string"),
        Shape::Ptr(Pointee::Named(names)) | Shape::Struct(names) => {
            names.iter().find_map(|n| facts::pointer_arg_type(n))
        }
        Shape::Ptr(_) => Some("uint64"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits() {
        let file = Shape::Ptr(Pointee::Named(vec!["file".into()]));
        assert_eq!(fit(KernelType::PtrTo(&["file"]), &file, false), None);
        let misfit = fit(KernelType::PtrTo(&["filename"]), &file, false).unwrap();
        assert_eq!(misfit.better, Some("file"));
        assert!(misfit.plain);
        // A register holds the whole value whatever width reads it; memory does not.
        assert_eq!(
            fit(KernelType::Integer(4, None), &Shape::Int(2, false), false),
            None
        );
        let misfit = fit(KernelType::Integer(4, None), &Shape::Int(2, false), true).unwrap();
        assert_eq!(misfit.better, Some("uint16"));
        assert!(!misfit.plain, "a width is no plain misfit");
        assert_eq!(
            fit(KernelType::CharPtr, &Shape::Ptr(Pointee::Byte), false),
            None
        );
        assert!(fit(KernelType::CharPtr, &Shape::Int(4, true), false).is_some());
        assert_eq!(fit(KernelType::Word, &file, false), None);
        let caps = Shape::Struct(vec!["kernel_cap_t".into()]);
        assert_eq!(fit(KernelType::PtrTo(&["kernel_cap_t"]), &caps, true), None);
        assert!(fit(KernelType::PtrTo(&["kernel_cap_t"]), &caps, false).is_some());
    }

    /// A fixture kernel's BTF with its configuration, changed by `edit` (one line replaced by
    /// another): kernels that the fixture kernels of the integration tests do not cover.
    fn kernel_with_config(name: &str, edit: &[(&str, &str)]) -> Arc<Kernel> {
        use std::io::Read as _;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/btf");
        let mut k = Kernel::load(&crate::kernel::KernelSpec {
            btf: dir.join(format!("{name}.btf.zst")),
            ..Default::default()
        })
        .unwrap();
        let mut text = String::new();
        let file = std::fs::File::open(dir.join(format!("{name}.config.gz"))).unwrap();
        flate2::read::GzDecoder::new(file)
            .read_to_string(&mut text)
            .unwrap();
        for (from, to) in edit {
            assert!(text.lines().any(|l| l == *from), "{name}: no line {from}");
            text = text.replace(from, to);
        }
        k.config = Some((
            crate::kernel::config::KernelConfig::parse(&text),
            format!("{name}.config"),
        ));
        Arc::new(k)
    }

    /// The K diagnostics of a policy on these kernels: (code, severity, message).
    fn kernel_findings(policy: &str, kernels: &[Arc<Kernel>]) -> Vec<(Code, Severity, String)> {
        let report = crate::check_source_with(crate::SourceFile::new("p.yaml", policy), kernels);
        report
            .diagnostics
            .into_iter()
            .filter(|d| d.code.as_str().starts_with('K'))
            .map(|d| (d.code, d.severity, d.message))
            .collect()
    }

    const OVERRIDE_SECURITY: &str = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "security-override"
spec:
  kprobes:
  - call: "security_inode_mkdir"
    syscall: false
    selectors:
    - matchActions:
      - action: Override
        argError: -1
"#;

    /// The same policy with kprobe_multi turned off by the policy.
    fn without_multi(policy: &str, value: &str) -> String {
        policy.replace(
            "spec:\n",
            &format!(
                "spec:\n  options:\n  - name: \"disable-kprobe-multi\"\n    value: \"{value}\"\n"
            ),
        )
    }

    #[test]
    fn override_security_with_kprobe_multi() {
        // Debian's 6.12 has CONFIG_FPROBE: Tetragon uses kprobe_multi and refuses the Override.
        let k612 = kernel_with_config("6.12.117+deb12-amd64", &[]);
        let found = kernel_findings(OVERRIDE_SECURITY, std::slice::from_ref(&k612));
        assert_eq!(found.len(), 1, "{found:?}");
        let (code, severity, message) = &found[0];
        assert_eq!((*code, *severity), (Code::K020, Severity::Error));
        assert!(
            message.contains("kprobe_multi") && message.contains("CONFIG_FPROBE is set"),
            "{message}"
        );
        // The policy's option turns kprobe_multi off; a value that is not a boolean is left to
        // the option check, not piled on.
        for value in ["true", "1", "T", "yes"] {
            let found = kernel_findings(
                &without_multi(OVERRIDE_SECURITY, value),
                std::slice::from_ref(&k612),
            );
            assert!(found.is_empty(), "{value}: {found:?}");
        }
        let found = kernel_findings(
            &without_multi(OVERRIDE_SECURITY, "false"),
            std::slice::from_ref(&k612),
        );
        assert_eq!(found.len(), 1, "{found:?}");
        // Debian's 6.1 has no CONFIG_FPROBE: no kprobe_multi, and the Override works.
        let k61 = kernel_with_config("6.1.0-56-amd64", &[]);
        assert!(kernel_findings(OVERRIDE_SECURITY, &[k61]).is_empty());
        // From BTF alone (register_fprobe): the same error; with the architecture unknown, a
        // warning (arm64 does not use kprobe_multi for a policy with an Override).
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/btf");
        let mut btf_only = Kernel::load(&crate::kernel::KernelSpec {
            btf: dir.join("6.12.117+deb12-amd64.btf.zst"),
            ..Default::default()
        })
        .unwrap();
        let found = kernel_findings(
            OVERRIDE_SECURITY,
            &[Arc::new(Kernel::from_btf("6.12", btf_only.btf_arc()))],
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].2.contains("register_fprobe"), "{}", found[0].2);
        btf_only.arch = None;
        let found = kernel_findings(OVERRIDE_SECURITY, &[Arc::new(btf_only)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].0, found[0].1), (Code::K021, Severity::Warning));
        btf_only = Kernel::from_btf("6.12-arm64", k612.btf_arc());
        btf_only.arch = Some(Arch::Arm64);
        assert!(kernel_findings(OVERRIDE_SECURITY, &[Arc::new(btf_only)]).is_empty());
        // Without trampolines there is no fmod_ret, which Tetragon checks first.
        let no_tramp = kernel_with_config(
            "6.12.117+deb12-amd64",
            &[(
                "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS=y",
                "# CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS is not set",
            )],
        );
        let found = kernel_findings(&without_multi(OVERRIDE_SECURITY, "true"), &[no_tramp]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].0, found[0].1), (Code::K020, Severity::Error));
        assert!(found[0].2.contains("fmod_ret"), "{}", found[0].2);
    }

    const ENFORCER: &str = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "enforcer"
spec:
  lists:
  - name: "calls"
    type: "syscalls"
    values:
    - "sys_prctl"
  enforcers:
  - calls:
    - "CALLS"
  kprobes:
  - call: "security_task_prctl"
    syscall: false
    selectors:
    - matchActions:
      - action: NotifyEnforcer
        argError: -1
"#;

    #[test]
    fn enforcer_on_a_kernel_without_error_injection() {
        // loaded with their configurations, which say there is no error injection
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/btf");
        let load = |name: &str| {
            Arc::new(
                Kernel::load(&crate::kernel::KernelSpec {
                    btf: dir.join(format!("{name}.btf.zst")),
                    config: Some(dir.join(format!("{name}.config.gz"))),
                    ..Default::default()
                })
                .unwrap(),
            )
        };
        let (k612, k61) = (load("6.12.117+deb12-amd64"), load("6.1.0-56-amd64"));
        // syscalls (a syscalls list, a sys_ name, a stub): neither bpf_override_return nor
        // fmod_ret on a syscall without error injection
        for calls in ["list:calls", "sys_prctl", "__x64_sys_prctl"] {
            for k in [&k612, &k61] {
                let found =
                    kernel_findings(&ENFORCER.replace("CALLS", calls), std::slice::from_ref(k));
                assert_eq!(found.len(), 1, "{calls}: {found:?}");
                let (code, severity, message) = &found[0];
                assert_eq!(
                    (*code, *severity),
                    (Code::K020, Severity::Error),
                    "{message}"
                );
                assert!(
                    message.contains("CONFIG_FUNCTION_ERROR_INJECTION"),
                    "{message}"
                );
            }
        }
        // a security_ function: fmod_ret, which these kernels have
        let security = ENFORCER.replace("CALLS", "security_task_prctl");
        assert!(kernel_findings(&security, &[k612, k61]).is_empty());
        let no_tramp = kernel_with_config(
            "6.12.117+deb12-amd64",
            &[(
                "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS=y",
                "# CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS is not set",
            )],
        );
        let found = kernel_findings(&security, &[no_tramp]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].2.contains("fmod_ret"), "{}", found[0].2);
    }

    #[test]
    fn kprobe_multi_from_btf_or_config() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/btf");
        let btf_only = |name: &str| {
            Kernel::load(&crate::kernel::KernelSpec {
                btf: dir.join(format!("{name}.btf.zst")),
                ..Default::default()
            })
            .unwrap()
        };
        assert!(kprobe_multi(&btf_only("6.12.117+deb12-amd64")).is_some());
        assert!(kprobe_multi(&btf_only("6.1.0-56-amd64")).is_none());
        assert!(kprobe_multi(&btf_only("6.18.44-fc-v769")).is_none());
        // The configuration wins over BTF when given.
        let off = kernel_with_config(
            "6.12.117+deb12-amd64",
            &[("CONFIG_FPROBE=y", "# CONFIG_FPROBE is not set")],
        );
        assert!(kprobe_multi(&off).is_none());
    }

    #[test]
    fn uprobe_override_needs_uprobe_register_writes() {
        // 6.18's BTF has bpf_prog_aux.kprobe_write_ctx, 6.12's and 6.1's do not.
        let policy = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "uprobe-override"
spec:
  uprobes:
  - path: "/usr/bin/true"
    symbols:
    - "main"
    selectors:
    - matchActions:
      - action: Override
        argRegs:
        - "rax=1"
"#;
        let k612 = kernel_with_config("6.12.117+deb12-amd64", &[]);
        let k61 = kernel_with_config("6.1.0-56-amd64", &[]);
        let k618 = kernel_with_config("6.18.44-fc-v769", &[]);
        assert!(k618.lacks(Feature::UprobeRegsChange).is_none());
        assert!(kernel_findings(policy, &[k618]).is_empty());
        for k in [k612, k61] {
            let found = kernel_findings(policy, &[k]);
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!((found[0].0, found[0].1), (Code::K030, Severity::Error));
            assert!(found[0].2.contains("kprobe_write_ctx"), "{found:?}");
        }
    }

    #[test]
    fn kprobes_through_kprobe_multi_need_no_config_kprobes() {
        // A kernel with fprobe and no kprobes: Tetragon attaches kprobes with kprobe_multi,
        // unless the policy turns it off.
        let k = kernel_with_config(
            "6.12.117+deb12-amd64",
            &[("CONFIG_KPROBES=y", "# CONFIG_KPROBES is not set")],
        );
        let watch = OVERRIDE_SECURITY.replace(
            "      - action: Override\n        argError: -1\n",
            "      - action: Post\n",
        );
        assert!(kernel_findings(&watch, std::slice::from_ref(&k)).is_empty());
        let found = kernel_findings(&without_multi(&watch, "true"), &[k]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, Code::K030);
    }

    #[test]
    fn syscall_table_facts_are_reported_once() {
        // What the syscall table shows is P035's and P033's without a kernel; with one, K011
        // and K014 do not say it again, but K011 still says what needs the kernel's types.
        let policy = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "once"
spec:
  kprobes:
  - call: "sys_openat"
    syscall: true
    args:
    - index: 1
      type: "int"
  - call: "sys_sendto"
    syscall: true
    args:
    - index: 1
      type: "string"
"#;
        let k = kernel_with_config("6.12.117+deb12-amd64", &[]);
        let report = crate::check_source_with(
            crate::SourceFile::new("p.yaml", policy),
            std::slice::from_ref(&k),
        );
        let codes: Vec<(Code, usize)> = report
            .diagnostics
            .iter()
            .map(|d| (d.code, d.span.start))
            .collect();
        let at =
            |text: &str, nth: usize| policy.match_indices(text).nth(nth).map(|(i, _)| i).unwrap();
        assert!(codes.contains(&(Code::P035, at("\"int\"", 0))), "{codes:?}");
        assert!(!codes
            .iter()
            .any(|(c, s)| *c == Code::K011 && *s == at("\"int\"", 0)));
        // `void *` read as a string: doubtful without the kernel, K011's.
        assert!(
            codes.contains(&(Code::K011, at("\"string\"", 0))),
            "{codes:?}"
        );
        assert!(!codes.contains(&(Code::P035, at("\"string\"", 0))));
        let tracepoint = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "once"
spec:
  tracepoints:
  - subsystem: "syscalls"
    event: "sys_enter_openat"
    args:
    - index: 9
      type: "int"
"#;
        let report = crate::check_source_with(
            crate::SourceFile::new("p.yaml", tracepoint),
            std::slice::from_ref(&k),
        );
        let codes: Vec<Code> = report.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, [Code::P033], "{codes:?}");
    }

    #[test]
    fn param_shapes_from_c_text() {
        let s = ParamShape::from_c("const char *", None);
        assert_eq!(s.best_type(), Some("string"));
        assert_eq!(s.fits("string"), Some(true));
        assert_eq!(s.fits("file"), Some(false));
        assert_eq!(s.fits("auto"), None);
        let s = ParamShape::from_c("struct sockaddr *", None);
        assert_eq!(s.best_type(), Some("sockaddr"));
        assert_eq!(s.fits("uint64"), Some(true), "a pointer's value");
        // Without a kernel a typedef is an integer of unknown width.
        assert_eq!(ParamShape::from_c("umode_t", None).best_type(), Some("int"));
        assert_eq!(
            ParamShape::from_c("unsigned long", None).best_type(),
            Some("uint64")
        );
    }
}
