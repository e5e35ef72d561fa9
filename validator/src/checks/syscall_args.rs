//! Syscall facts known without a kernel, from the syscall table (`kernel/syscalls.rs`): which
//! field of a `syscalls/sys_enter_*` or `sys_exit_*` tracepoint an arg `index` reads (P033),
//! what a `sizeArgIndex` takes the size from (P034), and whether an arg `type` reads a
//! syscall's parameter (P035).
//!
//! K011 and K014 check the same things against a kernel; they leave to these checks what the
//! table alone shows, so each mistake is reported once.

use crate::codes::{Code, CodeInfo};
use crate::diagnostic::{Diagnostic, Severity};
use crate::facts::{self, HookKind};
use crate::kernel::syscalls::{self, Direction, Syscall, SyscallEvent, TracepointField};
use crate::model::{Arg, Hook, Policy, Spanned};

/// `P033`.
pub const P033: CodeInfo = CodeInfo {
    code: "P033",
    name: "syscall-tracepoint-field",
    severity: Severity::Warning,
    summary: "A `syscalls/sys_enter_*` or `sys_exit_*` arg index that reads a common field, or none.",
    explanation: "A tracepoint's `args[].index` is not the syscall's argument number: it is the position of a field in the tracepoint's format, the fields every tracepoint has included. Tetragon takes `index` straight as a position in the format's field list. Every syscall event's format is the same on mainline kernels: `common_type` (0), `common_flags` (1), `common_preempt_count` (2), `common_pid` (3), `__syscall_nr` (4), then the syscall's arguments from 5 (`sys_enter_<name>`) or the return value `ret` at 5 (`sys_exit_<name>`). So `sys_enter_write`'s `fd` is index 5, `buf` 6 and `count` 7; `raw_syscalls/sys_enter`, whose format has no `__syscall_nr`, has the syscall number at 4 for the same reason.\n\nWarning: an index from 0 to 4 loads and reads a common field or the syscall number (the same in every event) instead of an argument: the arg prints the wrong value and filters on it match by chance. Authors who count arguments from 0, as on kprobes, write this.\n\nRefused (error): an index past the last field (\"tracepoint %s/%s has %d fields but field %d was requested\"), and an index of 0 to 2 without a `type`: Tetragon then takes the type from the format and cannot read the 1- and 2-byte common fields (\"unknown type\").\n\npolicyctl knows the fields from its syscall table (x86_64), without a kernel; K014 says the same from a kernel's own formats for the other tracepoints. Real-time kernels built with older PREEMPT_RT patch sets have more common fields, which shift every index after them.",
    tetragon: "pkg/sensors/tracing/generictracepoint.go buildArgs (info.Format.Fields[specArg.Index]), validateTracepointArg (from preValidateTracepoint) and genericTracepointArg.getGenericTypeId; pkg/tracepoint/tracepoint.go tracepointLoadFormat (the common fields are fields too)",
};

/// `P034`.
pub const P034: CodeInfo = CodeInfo {
    code: "P034",
    name: "size-arg-index-target",
    severity: Severity::Warning,
    summary: "A `sizeArgIndex` that names the buffer itself, a pointer, or another argument than the buffer's size.",
    explanation: "`sizeArgIndex` counts from 1: on a kprobe, fentry, lsmhook or uprobe, `sizeArgIndex: 3` takes the size from argument index 2 (the BPF program reads argument N-1 of the first five), so `write(fd, buf, count)` reads `buf` as `char_buf` with `sizeArgIndex: 3`. Written as a 0-based index, `sizeArgIndex: 2` names argument 1, the buffer itself: the buffer's address is taken as its size, and as many bytes as fit are copied (4095, more with `maxData`) whatever was written. On a (non-raw) tracepoint it counts the format's fields from 1, the common fields included: `sys_enter_write`'s `buf` is field 6 and `count` field 7, so `sizeArgIndex: 8`.\n\nWarning: it names the buffer itself, a pointer, a syscall argument that is not the buffer's size while the syscall's size argument follows the buffer (`count`, `len`, `size`, ...), or an argument the syscall does not have (a leftover register). Tetragon loads the policy and reads a wrong size. policyctl knows syscalls from its syscall table; for other functions it only tells the buffer itself. With `returnCopy: true` a `char_buf` is read when the function returns and sized by the return value, so there the wrong `sizeArgIndex` is unused.\n\nRefused (error), on tracepoints: a field past the last one (\"... in a metadata argument\"), or a field no arg reads whose type Tetragon cannot read from the format: it adds such a field to the args with the format's type and refuses the policy when that is a 1- or 2-byte common field, a pointer or a type it cannot parse (`umode_t`, `struct ...`).\n\nP027 reports values above 5 (kprobes and the like read no size there) and above 15.",
    tetragon: "pkg/sensors/tracing/args_linux.go getMetaValue and getTracepointMetaValue; bpf/process/types/basic.h get_arg_meta (1 reads a0, ..., 5 reads a4); bpf/process/generic_calls.h __copy_char_buf (sizes of 4096 and more are cut to 4095) and generic_retprobe (returnCopy); pkg/sensors/tracing/generictracepoint.go buildArgs (getOrAppendMeta: tpIdx = metaTp - 1, validateTracepointArg, getGenericTypeId)",
};

/// `P035`.
pub const P035: CodeInfo = CodeInfo {
    code: "P035",
    name: "syscall-arg-type",
    severity: Severity::Warning,
    summary: "An arg `type` that cannot read the syscall's parameter (a pointer read as a number, a number as a string, ...).",
    explanation: "The arg type tells the BPF program how to read the value: `string` follows a `char *` and copies the string, `int` takes the number, `sockaddr` follows a `struct sockaddr *`. A syscall's parameters are known without a kernel (the syscall table policyctl carries, from the kernel's syscall tracepoints), so a type that plainly cannot read one is known too: a pointer read as a number (`int` on `const char *filename` gives half of an address), a number read as a string or a struct (`string` on `int fd` follows the number as an address), a pointer to pointers read as a string (`string` on execve's `argv`, an array of strings: no arg type reads one; exec events carry the command line), a struct pointer read as another struct (`file` on `struct sockaddr *`, `filename` on `const char *`). This holds for kprobes and fentries on syscalls (`syscall: true`) and for the `syscalls/sys_enter_*` and `sys_exit_*` tracepoints.\n\nWarning: Tetragon loads the policy; on kprobes it compares the type with its own syscall table when it has BTF and only logs \"type (%s) of syscall argument %d does not match spec type (%s)\". The arg prints garbage or nothing and filters on it never match. Doubtful cases (a `void *` read as a string, a struct read as bytes) are left to K011, which knows the kernel's types.\n\nRefused (error), on syscall tracepoints: an arg without a `type` (`auto`) on a field whose type Tetragon cannot take from the format: a `char *` without a `sizeArgIndex` (\"no metadata field for buffer\"), another pointer, or a type its format parser does not know (`umode_t`, `pid_t`, `struct sockaddr *`). Give the `type`.",
    tetragon: "pkg/btf/validation.go validateSycall / typesCompatible (ValidationWarnError, logged by pkg/sensors/tracing/generickprobe.go preValidateKprobe); pkg/sensors/tracing/generictracepoint.go genericTracepointArg.getGenericTypeId and pkg/tracepoint/fieldtype.go parseTy (type `auto`); bpf/process/bpf_generic_tracepoint.c get_ctx_ul",
};

/// Run the checks.
pub fn check(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.spec.hooks {
        match hook.kind {
            HookKind::Tracepoint if hook.raw => {}
            HookKind::Tracepoint => match syscall_event(hook) {
                Some(event) => syscall_tracepoint(hook, &event, out),
                None => {
                    for arg in &hook.args {
                        size_names_itself(hook, arg, out);
                    }
                }
            },
            HookKind::Kprobe | HookKind::Fentry | HookKind::Lsm | HookKind::Uprobe => {
                let syscall = hooked_syscall(hook);
                for arg in &hook.args {
                    match syscall {
                        Some(sc) => {
                            kprobe_size(sc, arg, out);
                            kprobe_type(hook, sc, arg, out);
                        }
                        None => size_names_itself(hook, arg, out),
                    }
                }
            }
            HookKind::Usdt => {}
        }
    }
}

/// The syscall event a (non-raw) `syscalls` tracepoint hooks, when the table knows it.
fn syscall_event(hook: &Hook) -> Option<SyscallEvent> {
    if hook.kind != HookKind::Tracepoint || hook.raw {
        return None;
    }
    let sub = hook.subsystem.as_ref()?;
    if sub.value != "syscalls" {
        return None;
    }
    SyscallEvent::parse(&hook.target.as_ref()?.value)
}

/// Whether P033 reports this tracepoint arg index as past the last field (K014 then does not).
pub(crate) fn reports_field_past_end(hook: &Hook, index: usize) -> bool {
    syscall_event(hook).is_some_and(|e| index >= e.fields().len())
}

/// The syscall a kprobe or fentry hooks as a syscall (`syscall: true` on `sys_<name>`, or on a
/// name with Tetragon's x86_64 or arm64 prefix), when the table knows it; `list:` calls hook
/// several.
fn hooked_syscall(hook: &Hook) -> Option<&'static Syscall> {
    if !hook.is_syscall() {
        return None;
    }
    let call = hook.target.as_ref()?;
    if call.value.starts_with("list:") {
        return None;
    }
    syscalls::lookup(super::hooks::syscall_bare_name(&call.value)?)
}

/// The index written, when it is a usable one.
fn index_of(arg: &Arg) -> Option<usize> {
    usize::try_from(arg.index.as_ref()?.value).ok()
}

/// `char_buf` and `char_iovec` are the types a `sizeArgIndex` sizes.
fn sized(arg: &Arg) -> bool {
    matches!(arg.type_name(), "char_buf" | "char_iovec")
}

/// The `sizeArgIndex` set (1 or more).
fn size_arg(arg: &Arg) -> Option<(usize, crate::source::Span)> {
    let s = arg.size_arg_index.as_ref()?;
    Some((usize::try_from(s.value).ok().filter(|v| *v > 0)?, s.span))
}

/// Whether a C type is a pointer (the table's two pointer typedefs included).
fn is_pointer(ctype: &str) -> bool {
    ctype.contains('*') || pointer_typedef(ctype)
}

fn pointer_typedef(ctype: &str) -> bool {
    let base = ctype.trim_start_matches("const ").trim();
    syscalls::pointer_typedef(base).is_some()
}

/// The parameter that holds the size of a buffer at parameter `buffer`: the next one, when it
/// is an integer named like a size (`count`, `len`, `size`, `bufsiz`, `vlen`, `liovcnt`, ...),
/// as in every syscall of the table that takes a buffer and its size.
fn size_param<'p, 'a>(
    params: &'p [SizeParam<'a>],
    buffer: usize,
) -> Option<(usize, &'p SizeParam<'a>)> {
    let next = params.get(buffer.checked_add(1)?)?;
    let name = next.name;
    let size_like = ["len", "size", "siz", "count", "cnt", "nr_"]
        .iter()
        .any(|w| name.contains(w))
        && name != "length";
    (size_like && !next.pointer).then_some((buffer + 1, next))
}

/// What a parameter is, in words, when its C type does not say it plainly.
fn what_it_is(ctype: &str) -> &'static str {
    let stars = ctype.matches('*').count();
    if stars > 1 {
        if ctype.contains("char") {
            ", an array of strings"
        } else {
            ", an array of pointers"
        }
    } else if stars == 0 && !pointer_typedef(ctype) {
        ", an integer"
    } else {
        ""
    }
}

/// The help for a type that does not read a parameter: the type that does, or what to do when
/// none does.
fn type_help(ctype: &str, better: Option<&str>, first_string: Option<(usize, &str)>) -> String {
    if ctype.matches('*').count() > 1 && ctype.contains("char") {
        let alternative = match first_string {
            Some((i, name)) => {
                format!("; `{name}` (index {i}) is the string to read with `type: \"string\"`")
            }
            None => String::new(),
        };
        return format!(
            "no arg type reads an array of strings (exec events already carry the command line){alternative}, or read the pointer itself with `type: \"uint64\"`"
        );
    }
    match better {
        Some(b) => format!("use `type: \"{b}\"`"),
        None => "use `type: \"uint64\"` to read the pointer's value".to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Kprobes and fentries on syscalls.

/// P035 on a syscall kprobe: the arg type against the parameter's C type.
fn kprobe_type(hook: &Hook, sc: &Syscall, arg: &Arg, out: &mut Vec<Diagnostic>) {
    // `resolve` walks BTF from the argument: K011's, with a kernel.
    if arg.resolve.is_some() {
        return;
    }
    let (Some(i), Some(ty)) = (index_of(arg), &arg.ty) else {
        return;
    };
    // Past the last parameter: K010's.
    let Some(param) = sc.args.get(i) else { return };
    let Some(misfit) = super::kernel::syscall_misfit(param.ctype, &ty.value) else {
        return;
    };
    let call = hook.target.as_ref().map_or("?", |t| t.value.as_str());
    let first_string = sc
        .args
        .iter()
        .position(|a| a.ctype.ends_with("char *"))
        .map(|p| (p, sc.args[p].name));
    out.push(
        Diagnostic::new(
            Code::P035,
            ty.span,
            format!(
                "arg {i} of `{call}` is `{}`{}; `type: {}` {}: `{}`",
                param.c_decl(),
                what_it_is(param.ctype),
                ty.value,
                misfit.why,
                sc.c_prototype()
            ),
        )
        .help(type_help(param.ctype, misfit.better, first_string)),
    );
}

/// P034 on a kprobe-like hook of a syscall the table knows.
fn kprobe_size(sc: &Syscall, arg: &Arg, out: &mut Vec<Diagnostic>) {
    out.extend(misplaced_size(sc.name, &syscall_params(sc), arg));
}

/// A function's parameter as P034 sees it.
struct SizeParam<'a> {
    /// Its name (`count`).
    name: &'a str,
    /// Its C declaration (`size_t count`).
    decl: String,
    /// Whether it is a pointer.
    pointer: bool,
}

/// A syscall's parameters, from the table.
fn syscall_params(sc: &Syscall) -> Vec<SizeParam<'static>> {
    sc.args
        .iter()
        .map(|a| SizeParam {
            name: a.name,
            decl: a.c_decl(),
            pointer: is_pointer(a.ctype),
        })
        .collect()
}

/// P034 on a kprobe-like hook whose parameters are known (`func` names the function in
/// messages): a `sizeArgIndex` of 1 to 5 on a `char_buf` or `char_iovec` that names the buffer
/// itself, a pointer, a parameter the function does not have, or another parameter than the
/// size that follows the buffer.
fn misplaced_size(func: &str, params: &[SizeParam<'_>], arg: &Arg) -> Option<Diagnostic> {
    let (size, span) = size_arg(arg)?;
    let buffer = index_of(arg)?;
    // Above 5 is P027's; only char_buf and char_iovec use the size.
    if size > facts::MAX_ARGS || !sized(arg) {
        return None;
    }
    let named = size - 1;
    let meant = size_param(params, buffer);
    let meant_text = meant.map(|(k, p)| {
        format!(
            "; {func}'s size argument for `{}` is `{}`, argument {k}",
            params.get(buffer).map_or("?", |b| b.name),
            p.name
        )
    });
    let what = if named == buffer {
        let name = params
            .get(buffer)
            .map_or(String::new(), |b| format!(", `{}`", b.name));
        format!("{name}, the buffer itself: its address is taken as the size")
    } else if let Some(param) = params.get(named) {
        if param.pointer {
            format!(
                ", `{}`, a pointer: its address is taken as the size",
                param.decl
            )
        } else if meant.is_some_and(|(k, _)| k != named) {
            format!(", `{}`, which is not the buffer's size", param.name)
        } else {
            return None;
        }
    } else {
        let n = params.len();
        format!(
            ", but `{func}` takes {n} argument{}: the size is read from a leftover register",
            if n == 1 { "" } else { "s" }
        )
    };
    let message = format!(
        "`sizeArgIndex: {size}` names argument {named} (it counts from 1){what}{}",
        meant_text.unwrap_or_default()
    );
    Some(
        Diagnostic::new(Code::P034, span, message).help(match meant {
            Some((k, _)) => format!(
                "use `sizeArgIndex: {}` (the size argument's index plus one)",
                k + 1
            ),
            None => "sizeArgIndex is the size argument's index plus one".to_string(),
        }),
    )
}

/// P034 anywhere: a `sizeArgIndex` that names the sized arg itself (for tracepoints, its own
/// field), whatever the function.
fn size_names_itself(hook: &Hook, arg: &Arg, out: &mut Vec<Diagnostic>) {
    let (Some((size, span)), Some(index)) = (size_arg(arg), index_of(arg)) else {
        return;
    };
    let tracepoint = hook.kind == HookKind::Tracepoint;
    if !sized(arg) || size - 1 != index || (!tracepoint && size > facts::MAX_ARGS) {
        return;
    }
    let unit = if tracepoint { "field" } else { "argument" };
    out.push(
        Diagnostic::new(
            Code::P034,
            span,
            format!(
                "`sizeArgIndex: {size}` names {unit} {index} (it counts from 1), the buffer itself: its address is taken as the size"
            ),
        )
        .help(format!(
            "sizeArgIndex is the size {unit}'s index plus one{}",
            if tracepoint { ", counted in the tracepoint's format" } else { "" }
        )),
    );
}

// ---------------------------------------------------------------------------------------------
// syscalls/sys_enter_* and sys_exit_* tracepoints.

fn syscall_tracepoint(hook: &Hook, event: &SyscallEvent, out: &mut Vec<Diagnostic>) {
    let fields = event.fields();
    for arg in &hook.args {
        let Some(i) = index_of(arg) else { continue };
        let Some(index) = arg.index.as_ref() else {
            continue;
        };
        match fields.get(i) {
            None => past_end(event, &fields, index, out),
            Some(field) if i < syscalls::FIRST_ARG_FIELD => {
                common_field(hook, event, field, arg, index, out);
            }
            Some(field) => tracepoint_type(event, &fields, field, i, arg, out),
        }
        tracepoint_size(hook, event, &fields, arg, out);
    }
}

/// `5 fd, 6 buf, 7 count`: the argument fields, or `5 ret` (`none` for a syscall without
/// arguments).
fn listing(fields: &[TracepointField]) -> String {
    let shown: Vec<String> = fields
        .iter()
        .enumerate()
        .skip(syscalls::FIRST_ARG_FIELD)
        .map(|(i, f)| format!("{i} {}", f.name))
        .collect();
    if shown.is_empty() {
        "none".to_string()
    } else {
        shown.join(", ")
    }
}

/// The help giving the argument indexes of an event.
fn index_range(event: &SyscallEvent, fields: &[TracepointField]) -> String {
    let first = syscalls::FIRST_ARG_FIELD;
    let last = fields.len().saturating_sub(1);
    match event.direction {
        Direction::Exit => "use `index: 5`, the return value `ret`".to_string(),
        Direction::Enter if last < first => format!(
            "`{}` takes no arguments: remove this arg, or hook `sys_exit_{}` for its return value",
            event.syscall.name, event.syscall.name
        ),
        Direction::Enter if last == first => format!("use `index: {first}`"),
        Direction::Enter => format!("use an index from {first} to {last}"),
    }
}

fn past_end(
    event: &SyscallEvent,
    fields: &[TracepointField],
    index: &Spanned<i64>,
    out: &mut Vec<Diagnostic>,
) {
    let n = fields.len();
    out.push(
        Diagnostic::new(
            Code::P033,
            index.span,
            format!(
                "`syscalls/{}` has {n} fields (0-3 common_*, 4 __syscall_nr{}), so index {} is past the last; Tetragon refuses the policy",
                event.name(),
                fields
                    .iter()
                    .enumerate()
                    .skip(syscalls::FIRST_ARG_FIELD)
                    .map(|(i, f)| format!(", {i} {}", f.name))
                    .collect::<String>(),
                index.value
            ),
        )
        .severity(Severity::Error)
        .help(index_range(event, fields)),
    );
}

fn common_field(
    hook: &Hook,
    event: &SyscallEvent,
    field: &TracepointField,
    arg: &Arg,
    index: &Spanned<i64>,
    out: &mut Vec<Diagnostic>,
) {
    let i = index_of(arg).unwrap_or(0);
    let sys = event.syscall.name;
    let reads = if field.name == syscalls::SYSCALL_NR_FIELD.name {
        format!(
            "`{}`, the syscall's number, the same in every `{}` event",
            field.name,
            event.name()
        )
    } else {
        format!("`{}`, a field every tracepoint has", field.name)
    };
    let first = syscalls::FIRST_ARG_FIELD;
    let (not, meant, help) = match event.direction {
        Direction::Exit => (
            "the return value",
            format!("the return value `ret` is index {first}"),
            format!("use `index: {first}`"),
        ),
        Direction::Enter => match event.syscall.args.get(i) {
            Some(p) if i == 0 => (
                "an argument",
                format!("{sys}'s first argument `{}` is index {first}", p.name),
                format!(
                    "use `index: {first}`: syscall tracepoints count the fields of their format, 0-3 common_*, 4 __syscall_nr, then the arguments from {first}"
                ),
            ),
            Some(p) => (
                "an argument",
                format!(
                    "{sys}'s argument {i} (from 0), `{}`, is index {}",
                    p.name,
                    first + i
                ),
                format!(
                    "use `index: {}`: syscall tracepoints count the fields of their format, 0-3 common_*, 4 __syscall_nr, then the arguments from {first}",
                    first + i
                ),
            ),
            None if event.syscall.args.is_empty() => (
                "an argument",
                format!("`{sys}` takes no arguments"),
                index_range(event, &event.fields()),
            ),
            None => (
                "an argument",
                format!("{sys}'s arguments are {}", listing(&event.fields())),
                index_range(event, &event.fields()),
            ),
        },
    };
    // Without a `type` Tetragon types the field from the format: 1- and 2-byte fields it cannot.
    let refused = if arg.type_name() == "auto" {
        facts::tracepoint_field_type(
            field.ctype,
            field.size,
            field.signed,
            size_arg(arg).is_some(),
        )
        .err()
    } else {
        None
    };
    let mut message = format!(
        "index {} of `syscalls/{}` reads {reads}, not {not}: {meant}",
        index.value,
        event.name()
    );
    if let Some(why) = &refused {
        message.push_str(&format!(
            "; with no `type` Tetragon takes the field's type from the format (`{}`) and refuses the policy (\"{why}\")",
            field.ctype
        ));
    }
    let mut d = Diagnostic::new(Code::P033, index.span, message).help(help);
    if refused.is_some() {
        d = d.severity(Severity::Error);
    }
    // A matchArgs filter written with the same index filters on this field too.
    for filter in hook.selectors.iter().flat_map(|s| s.match_args.iter()) {
        if let Some(fi) = filter.index.as_ref().filter(|f| f.value == index.value) {
            if filter.args.is_empty() {
                d = d.related(fi.span, format!("this filter reads `{}` too", field.name));
            }
        }
    }
    out.push(d);
}

/// P035 on an argument field (or `ret`) of a syscall tracepoint.
fn tracepoint_type(
    event: &SyscallEvent,
    fields: &[TracepointField],
    field: &TracepointField,
    i: usize,
    arg: &Arg,
    out: &mut Vec<Diagnostic>,
) {
    if arg.resolve.is_some() {
        return;
    }
    let sys = event.syscall.name;
    let what = match event.direction {
        Direction::Enter => format!(
            "`{}` ({sys}'s argument {} from 0, index {i} of `syscalls/{}`)",
            field.name,
            i - syscalls::FIRST_ARG_FIELD,
            event.name()
        ),
        Direction::Exit => format!("`ret` (index {i} of `syscalls/{}`)", event.name()),
    };
    let decl = crate::kernel::c_decl(field.ctype, field.name);
    let first_string = fields
        .iter()
        .enumerate()
        .skip(syscalls::FIRST_ARG_FIELD)
        .find(|(_, f)| f.ctype.ends_with("char *"))
        .map(|(p, f)| (p, f.name));
    let best = super::kernel::ParamShape::from_c(field.ctype, None).best_type();
    match &arg.ty {
        None => {}
        Some(t) if t.value == "auto" => {}
        Some(ty) => {
            let Some(misfit) = super::kernel::syscall_misfit(field.ctype, &ty.value) else {
                return;
            };
            out.push(
                Diagnostic::new(
                    Code::P035,
                    ty.span,
                    format!(
                        "{what} is `{decl}`{}; `type: {}` {}",
                        what_it_is(field.ctype),
                        ty.value,
                        misfit.why
                    ),
                )
                .help(type_help(
                    field.ctype,
                    tracepoint_type_name(misfit.better),
                    first_string,
                )),
            );
            return;
        }
    }
    // No type: Tetragon takes it from the format.
    let Err(why) = facts::tracepoint_field_type(
        field.ctype,
        field.size,
        field.signed,
        size_arg(arg).is_some(),
    ) else {
        return;
    };
    let span = arg.ty.as_ref().map_or(arg.span, |t| t.span);
    let help = if field.ctype.ends_with("char *") {
        "use `type: \"string\"` to read the string, or `type: \"char_buf\"` with a `sizeArgIndex` for a buffer".to_string()
    } else {
        type_help(field.ctype, tracepoint_type_name(best), first_string)
    };
    let how = if arg.ty.is_some() {
        "is read with `type: auto`"
    } else {
        "has no `type`"
    };
    out.push(
        Diagnostic::new(
            Code::P035,
            span,
            format!(
                "{what} {how}, so Tetragon takes its type from the format, `{decl}`, and refuses the policy (\"{why}\")"
            ),
        )
        .severity(Severity::Error)
        .help(help),
    );
}

/// The types the tracepoint program reads from a field (bpf_generic_tracepoint.c get_ctx_ul);
/// another suggestion becomes `uint64`, the field's value.
fn tracepoint_type_name(better: Option<&'static str>) -> Option<&'static str> {
    match better {
        Some(
            t @ ("int" | "int8" | "uint8" | "int16" | "uint16" | "uint32" | "int32" | "long"
            | "int64" | "uint64" | "size_t" | "string" | "char_buf" | "sockaddr" | "sock"
            | "skb" | "socket"),
        ) => Some(t),
        _ => Some("uint64"),
    }
}

/// P034 on a syscall tracepoint: `sizeArgIndex` counts the format's fields from 1.
fn tracepoint_size(
    hook: &Hook,
    event: &SyscallEvent,
    fields: &[TracepointField],
    arg: &Arg,
    out: &mut Vec<Diagnostic>,
) {
    let Some((size, span)) = size_arg(arg) else {
        return;
    };
    let named = size - 1;
    let own = index_of(arg);
    let tp = format!("`syscalls/{}`", event.name());
    // The size field meant: the buffer's size argument, as a field. A buffer read from a common
    // field (P033) was counted from 0, like a kprobe's argument.
    let buffer = own
        .filter(|_| event.direction == Direction::Enter)
        .map(|i| i.checked_sub(syscalls::FIRST_ARG_FIELD).unwrap_or(i));
    let meant = buffer
        .and_then(|b| size_param(&syscall_params(event.syscall), b).map(|(k, p)| (k, p.name)))
        .map(|(k, name)| (k + syscalls::FIRST_ARG_FIELD, name))
        .filter(|_| sized(arg));
    let meant_text = meant
        .map(|(f, name)| {
            format!(
                "; the size, `{name}`, is field {f}: `sizeArgIndex: {}`",
                f + 1
            )
        })
        .unwrap_or_default();
    let help = match meant {
        Some((f, _)) => format!(
            "use `sizeArgIndex: {}`: on tracepoints it counts the format's fields from 1, common ones included",
            f + 1
        ),
        None => "on tracepoints sizeArgIndex counts the format's fields from 1, common ones included".to_string(),
    };
    let Some(field) = fields.get(named) else {
        out.push(
            Diagnostic::new(
                Code::P034,
                span,
                format!(
                    "`sizeArgIndex: {size}` names field {named} of {tp} (it counts from 1), past its last field ({} `{}`); Tetragon refuses the policy{meant_text}",
                    fields.len().saturating_sub(1),
                    fields.last().map_or("", |f| f.name)
                ),
            )
            .severity(Severity::Error)
            .help(help),
        );
        return;
    };
    let read_by_arg = hook.args.iter().any(|a| index_of(a) == Some(named));
    if !read_by_arg {
        // Tetragon adds the field, typed from the format.
        if let Err(why) = facts::tracepoint_field_type(field.ctype, field.size, field.signed, false)
        {
            out.push(
                Diagnostic::new(
                    Code::P034,
                    span,
                    format!(
                        "`sizeArgIndex: {size}` names field {named} of {tp} (it counts from 1), `{}`; no arg reads it, so Tetragon adds it with the format's type, `{}`, and refuses the policy (\"{why}\"){meant_text}",
                        field.name, field.ctype
                    ),
                )
                .severity(Severity::Error)
                .help(help),
            );
            return;
        }
    }
    if !sized(arg) {
        return;
    }
    let what = if Some(named) == own {
        "the buffer itself: its address is taken as the size".to_string()
    } else if is_pointer(field.ctype) {
        format!(
            "`{}`, a pointer: its address is taken as the size",
            field.name
        )
    } else if meant.is_some_and(|(f, _)| f != named) {
        format!("`{}`, which is not the buffer's size", field.name)
    } else {
        return;
    };
    out.push(
        Diagnostic::new(
            Code::P034,
            span,
            format!(
                "`sizeArgIndex: {size}` names field {named} of {tp} (it counts from 1), {what}{meant_text}"
            ),
        )
        .help(help),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::kernel::syscall_misfit;

    #[test]
    fn tracepoint_field_types_as_tetragon_parses_them() {
        let ty = |c: &str, size: u32, signed: bool, sized: bool| {
            facts::tracepoint_field_type(c, size, signed, sized)
        };
        assert_eq!(ty("int", 4, true, false), Ok("int32"));
        assert_eq!(ty("unsigned int", 8, false, false), Ok("uint64"));
        assert_eq!(ty("unsigned", 8, false, false), Ok("uint64"));
        assert_eq!(ty("long", 8, true, false), Ok("int64"));
        assert_eq!(ty("unsigned long long", 8, false, false), Ok("uint64"));
        assert_eq!(ty("u32", 8, false, false), Ok("uint64"));
        assert_eq!(ty("size_t", 8, false, false), Ok("size_t"));
        assert_eq!(ty("const char *", 8, false, true), Ok("char_buf"));
        assert_eq!(ty("unsigned char *", 8, false, true), Ok("char_buf"));
        for (c, size, why) in [
            ("unsigned short", 2, "unknown type: tracepoint.IntTy"),
            ("unsigned char", 1, "unknown type: tracepoint.IntTy"),
            ("const char *", 8, "no metadata field for buffer"),
            ("int *", 8, "unknown type: tracepoint.PointerTy"),
            (
                "void *",
                8,
                "cannot handle pointer type to tracepoint.PointerTy",
            ),
            ("pid_t", 8, "unknown type: tracepoint.PidTy"),
            ("umode_t", 8, "failed to parse field: unknown type:umode_t"),
            (
                "struct sockaddr *",
                8,
                "failed to parse field: unknown type:struct",
            ),
            (
                "const char *const *",
                8,
                "failed to parse field: parsing failed",
            ),
            (
                "unsigned umode_t",
                8,
                "failed to parse field: unexpected unsigned",
            ),
        ] {
            assert_eq!(ty(c, size, false, false), Err(why.to_string()), "{c}");
        }
    }

    #[test]
    fn plain_misfits_only() {
        let plain = |c: &str, t: &str| syscall_misfit(c, t).is_some();
        // Plainly wrong whatever the kernel.
        assert!(plain("const char *const *", "string"));
        assert!(plain("const char *", "int"));
        assert!(plain("struct sockaddr *", "int"));
        assert!(plain("int", "string"));
        assert!(plain("unsigned int", "file"));
        assert!(plain("const char *", "filename"));
        assert!(plain("struct sockaddr *", "file"));
        assert!(plain("cap_user_header_t", "int"));
        // Fits, or only maybe wrong (K011's, with a kernel).
        assert!(!plain("const char *", "string"));
        assert!(!plain("const char *", "char_buf"));
        assert!(!plain("void *", "string"));
        assert!(!plain("struct stat *", "char_buf"));
        assert!(!plain("struct sockaddr *", "sockaddr_un"));
        assert!(!plain("const struct iovec *", "char_iovec"));
        assert!(!plain("umode_t", "int"));
        assert!(!plain("unsigned long", "int"));
        assert!(!plain("const char *const *", "uint64"));
        assert!(!plain("int", "nop"));
        assert!(!plain("int", "auto"));
    }

    #[test]
    fn size_params_follow_their_buffer() {
        let size = |sc: &str, buffer: usize| {
            size_param(&syscall_params(syscalls::lookup(sc).unwrap()), buffer)
                .map(|(i, p)| (i, p.name))
        };
        assert_eq!(size("write", 1), Some((2, "count")));
        assert_eq!(size("writev", 1), Some((2, "vlen")));
        assert_eq!(size("setxattr", 2), Some((3, "size")));
        assert_eq!(size("readlinkat", 2), Some((3, "bufsiz")));
        // Not a size: flags, a pointer, the file length of truncate, past the end.
        assert_eq!(size("openat", 1), None);
        assert_eq!(size("getsockopt", 3), None);
        assert_eq!(size("truncate", 0), None);
        assert_eq!(size("write", 2), None);
    }
}
