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
use crate::kernel::{syscalls, ErrorInjection, Kernel, Known};
use crate::model::{Arg, Hook, Policy, Spanned};
use crate::suggest;

/// `K001`.
pub const K001: CodeInfo = CodeInfo {
    code: "K001",
    name: "kernel-function-missing",
    severity: Severity::Error,
    summary: "A kprobe `call` (function or syscall) that this kernel does not have.",
    explanation: "Tetragon looks the call up in the kernel's BTF (with `syscall: true`, after adding the architecture's prefix: `sys_openat` becomes `__x64_sys_openat` on x86_64) and fails the whole policy when it is not there: \"function/syscall not found in BTF\". Functions come and go between kernel versions and are renamed, inlined or made static; a policy written on one kernel may not load on another. With `ignore: {callNotFound: true}` the hook is skipped instead, and the policy loads without it (a warning).",
    tetragon: "pkg/sensors/tracing/generickprobe.go preValidateKprobe (ValidationFailedError)",
};

/// `K002`.
pub const K002: CodeInfo = CodeInfo {
    code: "K002",
    name: "lsm-hook-missing",
    severity: Severity::Error,
    summary: "An LSM `hook` that this kernel does not have.",
    explanation: "Tetragon looks an LSM hook up in BTF as `bpf_lsm_<hook>` and fails the policy when it is missing: \"lsm hook %q not found in BTF\". The hook list is the kernel's own (`struct security_hook_heads` before 6.12, `struct lsm_static_calls_table` since); hooks are added and removed between versions.",
    tetragon: "pkg/sensors/tracing/genericlsm.go",
};

/// `K003`.
pub const K003: CodeInfo = CodeInfo {
    code: "K003",
    name: "tracepoint-missing",
    severity: Severity::Error,
    summary: "A tracepoint that this kernel does not have.",
    explanation: "Tetragon reads the tracepoint's format from tracefs (`events/<subsystem>/<event>/format`) and fails the policy when it is missing: \"tracepoint %s/%s not supported\". On a live host policyctl reads tracefs too. From a BTF file it knows each event by its `btf_trace_<event>` type (but not its subsystem, which BTF does not record) and the per-syscall events (`syscalls/sys_enter_<name>`) by the syscall.",
    tetragon: "pkg/sensors/tracing/generictracepoint.go",
};

/// `K010`.
pub const K010: CodeInfo = CodeInfo {
    code: "K010",
    name: "arg-index-out-of-range",
    severity: Severity::Error,
    summary: "An arg `index` past the last parameter of the hooked function.",
    explanation: "A kprobe reads argument N from the Nth argument register whatever the function takes; past the last parameter that register holds leftovers, so the arg prints garbage and filters on it match by chance. Tetragon does not compare the index with the prototype. The message shows the function's prototype on this kernel.",
    tetragon: "not checked by Tetragon (reads the register anyway)",
};

/// `K011`.
pub const K011: CodeInfo = CodeInfo {
    code: "K011",
    name: "arg-type-mismatch",
    severity: Severity::Error,
    summary: "An arg `type` that does not fit the parameter's type in the kernel's prototype.",
    explanation: "The arg type tells the BPF program how to read the parameter: `file` follows a `struct file *` to its path, `string` copies a `char *`, `int` takes the register. Read with the wrong type, a `struct filename *` as `file` gives garbage or nothing, and filters never match. Tetragon only warns (`typesCompatible` in pkg/btf/validation.go). Pointer and struct mismatches are errors here; an integer of another width or a pointer read as a number is a warning. With `resolve`, the type must fit the field the path reaches. The message shows the real prototype on this kernel.",
    tetragon: "pkg/btf/validation.go typesCompatible (warning only)",
};

/// `K012`.
pub const K012: CodeInfo = CodeInfo {
    code: "K012",
    name: "resolve-path",
    severity: Severity::Error,
    summary: "A `resolve` path (or `btfType`) that does not exist in this kernel's types.",
    explanation: "`resolve: \"a.b.c\"` follows struct members from the argument, through pointers, in the kernel's BTF. Tetragon fails the policy when a member is missing (\"failed to find member\"), and struct layouts change between kernel versions.",
    tetragon: "pkg/btf/validation.go ResolveBTFPath",
};

/// `K013`.
pub const K013: CodeInfo = CodeInfo {
    code: "K013",
    name: "return-type-mismatch",
    severity: Severity::Error,
    summary: "A `returnArg` type that does not fit what the function returns.",
    explanation: "With `return: true` Tetragon reads the return value as the `returnArg` type. A function that returns `void` has no value to read; a pointer read as `int` loses its upper half. Syscalls return `long`.",
    tetragon: "pkg/sensors/tracing/generickprobe.go (returnArg), pkg/btf/validation.go",
};

/// `K014`.
pub const K014: CodeInfo = CodeInfo {
    code: "K014",
    name: "tracepoint-field-index",
    severity: Severity::Error,
    summary: "A tracepoint arg `index` past the last field of the tracepoint's format.",
    explanation: "A tracepoint's `args[].index` is the field's position in its format, the four `common_*` fields included (so `raw_syscalls/sys_enter` `id` is 4). Tetragon fails the policy: \"tracepoint %s/%s has %d fields but field %d was requested\". For `raw: true` the index counts the raw tracepoint's arguments.",
    tetragon: "pkg/sensors/tracing/generictracepoint.go",
};

/// `K020`.
pub const K020: CodeInfo = CodeInfo {
    code: "K020",
    name: "override-not-possible",
    severity: Severity::Error,
    summary: "`Override` on a function this kernel cannot override.",
    explanation: "On a kprobe, Override uses `bpf_override_return`, which the kernel allows only on functions on its error-injection list (`ALLOW_ERROR_INJECTION`; every syscall stub when the kernel has error injection) and only when built with `CONFIG_FUNCTION_ERROR_INJECTION` and `CONFIG_BPF_KPROBE_OVERRIDE`. The policy passes Tetragon's checks and then fails when the program attaches. Debian's and many distributions' kernels have no error injection at all. LSM hooks (`lsmhooks:` with Override) and `security_*` functions (fmod_ret) can be overridden without it.",
    tetragon: "checked by the kernel when the program attaches",
};

/// `K021`.
pub const K021: CodeInfo = CodeInfo {
    code: "K021",
    name: "override-unknown",
    severity: Severity::Warning,
    summary: "`Override` where policyctl cannot tell whether this kernel allows it.",
    explanation: "Whether a kprobe can Override a function depends on the kernel's error-injection list, which BTF does not record. policyctl reads it from `/sys/kernel/debug/error_injection/list` on a live host (debugfs must be mounted), from `--error-injection FILE`, or learns from the kernel configuration (`--kernel-config FILE`, `/proc/config.gz`) that there is none. Without any of these it says so instead of guessing.",
    tetragon: "checked by the kernel when the program attaches",
};

/// `K030`.
pub const K030: CodeInfo = CodeInfo {
    code: "K030",
    name: "kernel-feature-missing",
    severity: Severity::Error,
    summary: "A kernel that lacks a feature the policy needs (BPF LSM, kprobes, uprobes).",
    explanation: "lsmhooks need BPF LSM built in (`CONFIG_BPF_LSM`) and active (`bpf` in the `lsm=` boot parameter or `CONFIG_LSM`); kprobes need `CONFIG_KPROBES`; uprobes need `CONFIG_UPROBES`. policyctl learns this from the kernel's BTF (no `bpf_lsm_*` hooks) or its configuration (`--kernel-config`, `/proc/config.gz`) and, on a live host, from securityfs. Tetragon fails such policies at load (\"does you kernel support the bpf LSM?\").",
    tetragon: "pkg/sensors/tracing/genericlsm.go, the kernel at attach time",
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
    let config_says = |option: &str| {
        kernel
            .config
            .as_ref()
            .filter(|(c, _)| !c.enabled(option))
            .map(|_| format!("CONFIG_{option} is not set in its configuration"))
    };
    let mut seen = Vec::new();
    for &(kind, span) in &policy.spec.sections {
        if seen.contains(&kind) {
            continue;
        }
        seen.push(kind);
        let missing = match kind {
            HookKind::Lsm => {
                if kernel.lsm_hooks().is_empty() {
                    Some(("BPF LSM", "its BTF has no bpf_lsm_* hooks".to_string()))
                } else if let Some(why) = config_says("BPF_LSM") {
                    Some(("BPF LSM", why))
                } else {
                    lsm_inactive(kernel).map(|why| ("an active BPF LSM", why))
                }
            }
            HookKind::Kprobe => config_says("KPROBES").map(|why| ("kprobes", why)),
            HookKind::Uprobe => config_says("UPROBES").map(|why| ("uprobes", why)),
            HookKind::Fentry => config_says("DYNAMIC_FTRACE_WITH_DIRECT_CALLS")
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

/// Why BPF LSM is built in but not active, when that can be told.
fn lsm_inactive(kernel: &Kernel) -> Option<String> {
    if let Some(active) = kernel.host.as_ref().and_then(|h| h.active_lsms.as_ref()) {
        return (!active.iter().any(|l| l == "bpf")).then(|| {
            format!(
                "the active LSMs are {} ({}), without bpf",
                active.join(","),
                crate::kernel::HOST_LSM
            )
        });
    }
    let (cfg, _) = kernel.config.as_ref()?;
    let list = cfg.list("LSM");
    (!list.is_empty() && !list.iter().any(|l| l == "bpf")).then(|| {
        format!(
            "its CONFIG_LSM=\"{}\" leaves bpf out unless the boot command line sets `lsm=`",
            list.join(",")
        )
    })
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
        let stubs = list_calls(policy, list, kernel, out);
        if !stubs.is_empty() {
            let what = format!("the {} functions of list `{list}`", stubs.len());
            check_override(hook, &stubs, &what, kernel, out);
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
        hook,
        std::slice::from_ref(&symbol),
        &format!("`{symbol}`"),
        kernel,
        out,
    );
}

/// The symbol a call attaches to and its prototype (`None` for syscalls missing from the
/// table); `None` when the kernel does not have it.
fn resolve_call(name: &str, syscall: bool, kernel: &Kernel) -> Option<(String, Option<Proto>)> {
    if !syscall {
        let f = kernel.func(name)?;
        return Some((name.to_string(), Some(btf_proto(f))));
    }
    if let Some(bare) = bare_syscall(name, kernel) {
        let stub = kernel.syscall(bare)?;
        return Some((stub.name().to_string(), syscall_proto(bare, kernel)));
    }
    // Another symbol with this kernel's prefix (`__x64_compat_sys_recvmsg`): Tetragon hooks it
    // as it is. Its arguments are not the syscall table's.
    let prefix = kernel.arch?.syscall_prefix();
    if name.starts_with(prefix) {
        kernel.func(name)?;
        return Some((name.to_string(), None));
    }
    None
}

/// `sys_openat` / `__x64_sys_openat` → `openat` (None for another architecture's prefix).
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
    // With `ignore.callNotFound` the help says so instead of guessing: no need to look.
    let guess = !hook.ignore_call_not_found;
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
            // `__arm64_sys_openat` on x86_64: Tetragon refuses another architecture's prefix,
            // or (`__ia32_`, which it does not know) puts its own before it.
            (Some(arch), None) => format!(
                "syscall `{name}` is not named for this kernel's architecture: on {} Tetragon hooks the `{}sys_*` stubs",
                arch.name(),
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
    if hook.ignore_call_not_found {
        d = d
            .severity(Severity::Warning)
            .help("with `ignore.callNotFound: true` Tetragon skips this hook on this kernel");
    } else {
        d = d.help(match suggestion {
            Some(s) => format!("did you mean `{s}`?"),
            None => "`policyctl kernel funcs PATTERN` lists the kernel's functions; `ignore: {callNotFound: true}` skips a hook the kernel lacks".to_string(),
        });
    }
    out.push(d);
}

/// Check the syscalls of a `list:` call exist; the functions the hook attaches to.
fn list_calls(
    policy: &Policy,
    list: &str,
    kernel: &Kernel,
    out: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let mut stubs = Vec::new();
    let Some(l) = policy
        .spec
        .lists
        .iter()
        .find(|l| l.name.as_ref().is_some_and(|n| n.value == list))
    else {
        return stubs;
    };
    if l.ty.as_ref().map(|t| t.value.as_str()) != Some("syscalls") {
        return stubs;
    }
    for v in &l.values {
        let name = v.value.as_str();
        let stub = match bare_syscall(name, kernel) {
            Some(bare) if name.starts_with("sys_") => kernel.syscall(bare).map(|f| f.name()),
            // Another ABI's stub, written out (`__ia32_sys_dup`).
            _ => kernel.func(name).map(|f| f.name()),
        };
        if let Some(stub) = stub {
            stubs.push(stub.to_string());
        } else {
            let bare = name.rsplit("sys_").next().unwrap_or(name);
            let names = kernel.syscall_names();
            let d = Diagnostic::new(
                Code::K001,
                v.span,
                format!("syscall `{name}` of list `{list}` does not exist on this kernel"),
            );
            out.push(match closest(bare, names.iter().copied()) {
                Some(s) => d.help(format!("did you mean `sys_{s}`?")),
                None => d.help("remove it from the list"),
            });
        }
    }
    stubs
}

fn check_args(hook: &Hook, proto: &Proto, kernel: &Kernel, out: &mut Vec<Diagnostic>) {
    for arg in &hook.args {
        let Some(index) = &arg.index else { continue };
        let Ok(i) = usize::try_from(index.value) else {
            continue;
        };
        let Some(param) = proto.params.get(i) else {
            let n = proto.params.len();
            out.push(
                Diagnostic::new(
                    Code::K010,
                    index.span,
                    format!(
                        "`{}` takes {n} argument{}, so index {i} is past its last parameter: `{}`",
                        hook_name(hook),
                        if n == 1 { "" } else { "s" },
                        proto.text
                    ),
                )
                .help(match n {
                    0 => "remove this arg".to_string(),
                    1 => "use index 0".to_string(),
                    _ => format!("use an index from 0 to {}", n - 1),
                }),
            );
            continue;
        };
        let Some(ty) = &arg.ty else { continue };
        let Some(expected) = facts::kernel_type(&ty.value) else {
            continue;
        };
        let memory = arg.resolve.is_some();
        let (shape, what) = match (&arg.resolve, &arg.btf_type, param.btf) {
            (None, None, _) => (param.shape.clone(), format!("`{}`", param.c)),
            (_, _, Some(id)) => match resolve(arg, id, kernel, out) {
                Some(found) => found,
                None => continue,
            },
            // resolve on a syscall argument: no BTF id to walk.
            (_, _, None) => continue,
        };
        if let Some((severity, why, better)) = fit(expected, &shape, memory) {
            let d = Diagnostic::new(
                Code::K011,
                ty.span,
                format!(
                    "arg {i} of `{}` is {what}; `type: {}` {why}: `{}`",
                    hook_name(hook),
                    ty.value,
                    proto.text
                ),
            )
            .severity(severity);
            out.push(match better {
                Some(b) => d.help(format!("use `type: \"{b}\"`")),
                None => {
                    d.help("pick the arg type that reads this parameter (`policyctl explain K011`)")
                }
            });
        }
    }
}

/// Follow `btfType` and `resolve` from a parameter; the shape reached and how to name it, or
/// `None` after reporting why the path does not exist.
fn resolve(
    arg: &Arg,
    param: TypeId,
    kernel: &Kernel,
    out: &mut Vec<Diagnostic>,
) -> Option<(Shape, String)> {
    let btf = kernel.btf();
    let mut id = param;
    if let Some(cast) = &arg.btf_type {
        match kernel.struct_named(&cast.value) {
            Some(t) => id = t.id,
            None => {
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
        }
    }
    let Some(path) = &arg.resolve else {
        return Some((Shape::from_btf(btf, id), format!("`{}`", btf.c_type(id))));
    };
    let mut walked = String::new();
    for part in path.value.split('.') {
        let (field, indexes) = match part.find('[') {
            Some(at) => (&part[..at], &part[at..]),
            None => (part, ""),
        };
        let Some(owner) = deref_to_struct(btf, id) else {
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
                        btf.c_type(id)
                    ),
                )
                .help("resolve only through struct and union members (and pointers to them)"),
            );
            return None;
        };
        let Some(member) = find_member(btf, owner, field) else {
            let mut names = Vec::new();
            member_names(btf, owner, &mut names, 0);
            let d = Diagnostic::new(
                Code::K012,
                path.span,
                format!(
                    "`{}` has no member `{field}` on this kernel",
                    btf.c_type(owner)
                ),
            );
            out.push(match member_guess(field, &names) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!("its members: {}", names.join(", "))),
            });
            return None;
        };
        id = member;
        // `[n]` steps into arrays (and pointers).
        for _ in indexes.matches('[') {
            let t = btf.skip_aliases(id)?;
            id = match t.kind {
                Kind::Array => t.array().0,
                Kind::Ptr => t.type_id(),
                _ => return None,
            };
        }
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(part);
    }
    Some((
        Shape::from_btf(btf, id),
        format!("`{}` at `{walked}`", btf.c_type(id)),
    ))
}

/// The struct or union a type is, or points to.
fn deref_to_struct(btf: &Btf, id: TypeId) -> Option<TypeId> {
    let mut t = btf.skip_aliases(id)?;
    if t.kind == Kind::Ptr {
        t = btf.skip_aliases(t.type_id())?;
    }
    matches!(t.kind, Kind::Struct | Kind::Union).then_some(t.id)
}

/// A member by name, looking into anonymous structs and unions.
fn find_member(btf: &Btf, owner: TypeId, name: &str) -> Option<TypeId> {
    let t = btf.ty(owner)?;
    for m in t.members() {
        if m.name == name {
            return Some(m.type_id);
        }
        if m.name.is_empty() {
            if let Some(inner) = btf.skip_aliases(m.type_id) {
                if matches!(inner.kind, Kind::Struct | Kind::Union) {
                    if let Some(found) = find_member(btf, inner.id, name) {
                        return Some(found);
                    }
                }
            }
        }
    }
    None
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

fn member_names<'b>(btf: &'b Btf, owner: TypeId, names: &mut Vec<&'b str>, depth: usize) {
    let Some(t) = btf.ty(owner) else { return };
    for m in t.members() {
        if !m.name.is_empty() {
            names.push(m.name);
        } else if depth < 8 {
            if let Some(inner) = btf.skip_aliases(m.type_id) {
                member_names(btf, inner.id, names, depth + 1);
            }
        }
    }
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
    if let Some((severity, why, better)) = fit(expected, &proto.ret, false) {
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
        )
        .severity(severity);
        out.push(match better {
            Some(b) => d.help(format!("use `type: \"{b}\"`")),
            None => d.help("pick the type that reads the return value"),
        });
    }
}

/// Override on the functions a hook attaches to (one call, or every function of a `list:`):
/// `what` names them in messages.
fn check_override(
    hook: &Hook,
    symbols: &[String],
    what: &str,
    kernel: &Kernel,
    out: &mut Vec<Diagnostic>,
) {
    let overrides = hook
        .selectors
        .iter()
        .flat_map(|s| s.match_actions.iter())
        .filter(|a| a.action.as_ref().is_some_and(|n| n.value == "Override"));
    // `security_*` functions can be overridden through fmod_ret without the list.
    let needs_list: Vec<&str> = symbols
        .iter()
        .map(String::as_str)
        .filter(|s| !s.starts_with("security_"))
        .collect();
    if needs_list.is_empty() {
        return;
    }
    let alternative = "Override an LSM hook instead (`lsmhooks:`), or a `security_*` function";
    for action in overrides {
        let span = action.action.as_ref().map_or(action.span, |a| a.span);
        match &kernel.error_injection {
            Known::Yes(ErrorInjection::List(list), _) => {
                let refused: Vec<&str> = needs_list
                    .iter()
                    .copied()
                    .filter(|s| list.binary_search_by(|n| n.as_str().cmp(s)).is_err())
                    .collect();
                let message = match refused.as_slice() {
                    [] => continue,
                    [one] if symbols.len() == 1 => format!(
                        "this kernel cannot Override `{one}`: it is not on its error-injection list"
                    ),
                    many => format!(
                        "this kernel cannot Override {} of {what}: {} not on its error-injection list",
                        many.len(),
                        many.iter()
                            .map(|s| format!("`{s}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                            + if many.len() == 1 { " is" } else { " are" }
                    ),
                };
                out.push(Diagnostic::new(Code::K020, span, message).help(alternative));
            }
            Known::Yes(ErrorInjection::Unsupported(why), _) => out.push(
                Diagnostic::new(
                    Code::K020,
                    span,
                    format!("this kernel cannot Override {what}: it has no error injection ({why} in its configuration)"),
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
        let Some(fields) = &tp.fields else { return };
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
        if i >= count {
            let shown: Vec<String> = listing
                .iter()
                .enumerate()
                .map(|(i, f)| format!("{i}: {f}"))
                .collect();
            out.push(
                Diagnostic::new(
                    Code::K014,
                    index.span,
                    format!(
                        "`{}/{}` has {count} {what}, so index {i} is past the last ({})",
                        sub.value,
                        event.value,
                        shown.join(", ")
                    ),
                )
                .help(if count == 1 {
                    "use index 0".to_string()
                } else {
                    format!("use an index from 0 to {}", count - 1)
                }),
            );
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
                None => Shape::Int(c_int_size(&base), !base.starts_with("unsigned")),
            };
        }
        if stars > 1 {
            return Shape::Ptr(Pointee::Other);
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

/// Does an arg type read this shape? `None` when it fits; otherwise the severity, why not, and
/// the arg type that would fit. `memory` is true for a field reached by `resolve` (read from
/// memory, where the width matters) and false for a parameter or return value (a register,
/// where any integer width reads the value).
fn fit(
    expected: KernelType,
    shape: &Shape,
    memory: bool,
) -> Option<(Severity, String, Option<&'static str>)> {
    use KernelType::*;
    let better = better_type(shape);
    let wrong = |why: &str| Some((Severity::Error, why.to_string(), better));
    let loose = |why: &str| Some((Severity::Warning, why.to_string(), better));
    let width = |bytes: u32, size: u32| {
        if !memory || bytes == 0 || size == 0 || bytes == size {
            None
        } else if bytes > size {
            loose(&format!(
                "reads {bytes} bytes from a {size}-byte field, and so the bytes after it"
            ))
        } else {
            loose(&format!("reads only {bytes} of the field's {size} bytes"))
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
        (_, Shape::Void) => wrong("has nothing to read"),
        (Integer(bytes, _), Shape::Int(size, _)) => width(bytes, *size),
        (Word, Shape::Int(size, _)) => width(8, *size),
        (Word, Shape::Ptr(_)) => None,
        (Integer(..), Shape::Ptr(_)) => loose("reads a pointer as a number"),
        (CharPtr, Shape::Ptr(Pointee::Byte)) => None,
        (CharPtr | Buffer, Shape::CharArray) if memory => None,
        (CharPtr, Shape::Ptr(Pointee::Void)) => loose("expects a `char *` and this is `void *`"),
        (Buffer, Shape::Ptr(Pointee::Byte | Pointee::Void)) => None,
        (Buffer, Shape::Ptr(Pointee::Named(_))) => {
            wrong("expects a pointer to bytes, not to a struct")
        }
        (Buffer, Shape::Ptr(_)) => loose("expects a pointer to bytes"),
        (PtrTo(names), Shape::Ptr(Pointee::Named(have))) => {
            if have.iter().any(|h| names.contains(&h.as_str())) {
                None
            } else {
                wrong(&format!("expects {}", pointer_to(names)))
            }
        }
        // `resolve` reaching a struct field: the field's address is read.
        (PtrTo(names), Shape::Struct(have))
            if memory && have.iter().any(|h| names.contains(&h.as_str())) =>
        {
            None
        }
        (PtrTo(names), Shape::Ptr(Pointee::Void)) => loose(&format!(
            "expects {} and this is `void *`",
            pointer_to(names)
        )),
        (PtrTo(names), _) => wrong(&format!("expects {}", pointer_to(names))),
        (CharPtr, _) => wrong("expects a `char *` string"),
        (Buffer, _) => wrong("expects a pointer to a buffer"),
        (Integer(..) | Word, _) => wrong("expects an integer"),
    }
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
        let (sev, _, better) = fit(KernelType::PtrTo(&["filename"]), &file, false).unwrap();
        assert_eq!((sev, better), (Severity::Error, Some("file")));
        // A register holds the whole value whatever width reads it; memory does not.
        assert_eq!(
            fit(KernelType::Integer(4, None), &Shape::Int(2, false), false),
            None
        );
        let (sev, _, better) =
            fit(KernelType::Integer(4, None), &Shape::Int(2, false), true).unwrap();
        assert_eq!((sev, better), (Severity::Warning, Some("uint16")));
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
