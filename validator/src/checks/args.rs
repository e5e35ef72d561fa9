//! Rules on `args`, `data` and `returnArg`: counts, indexes, types per hook kind, `sizeArgIndex`,
//! `maxData`, `returnArgAction` and `source`.

use crate::codes::{Code, CodeInfo};
use crate::diagnostic::{Diagnostic, Severity};
use crate::facts::{self, HookKind};
use crate::model::{Arg, Hook, Policy};

/// `P014`.
pub const P014: CodeInfo = CodeInfo {
    code: "P014",
    name: "too-many-args",
    severity: Severity::Error,
    summary: "More than 5 args (args and data together) on one hook.",
    explanation: "The BPF event config has room for 5 arguments per hook. Tetragon refuses more (\"too many arguments, max 5: args(%d) data(%d)\").",
    tetragon: "pkg/sensors/tracing/generickprobe.go; api.EventConfigMaxArgs",
};

/// `P015`.
pub const P015: CodeInfo = CodeInfo {
    code: "P015",
    name: "arg-index-range",
    severity: Severity::Error,
    summary: "An arg index beyond what the hook can read (4 for kprobes, uprobes and LSM hooks, 5 for raw tracepoints).",
    explanation: "Kprobes, fentries, uprobes and LSM hooks read the first five function arguments, indexes 0 to 4; raw tracepoints read up to index 5. A larger index fails when the policy loads (\"Index %d out of bounds\").",
    tetragon: "pkg/sensors/tracing/generickprobe.go addArg; genericlsm.go; generictracepoint.go",
};

/// `P025`.
pub const P025: CodeInfo = CodeInfo {
    code: "P025",
    name: "duplicate-arg-index",
    severity: Severity::Warning,
    summary: "Two args read the same index.",
    explanation: "Two entries of `args` with the same `index` read the same argument twice and spend one of the five argument slots for nothing. A matchArgs filter on that index only ever looks at the first. Usually one of them has a typo in its index.",
    tetragon: "not checked by Tetragon",
};

/// `P026`.
pub const P026: CodeInfo = CodeInfo {
    code: "P026",
    name: "arg-type-for-hook",
    severity: Severity::Error,
    summary: "An arg type this hook kind cannot read (`auto` on a kprobe, `const_buf` on a tracepoint, ...).",
    explanation: "`auto` (the CRD default) means \"take the type from the tracepoint's format\" and only tracepoints have one: kprobes and fentries refuse it (\"type 'auto' is invalid for kprobes\"), and LSM hooks, uprobes and usdts need an explicit type unless `resolve` is set. `syscall64` is for raw syscall tracepoints only. `const_buf` is set by Tetragon for tracepoint arrays and cannot be written by hand.",
    tetragon: "pkg/sensors/tracing/generickprobe.go, genericlsm.go, generictracepoint.go",
};

/// `P027`.
pub const P027: CodeInfo = CodeInfo {
    code: "P027",
    name: "size-arg-index",
    severity: Severity::Error,
    summary: "`sizeArgIndex` that points at no declared arg, or is above 15.",
    explanation: "`sizeArgIndex` is 1-based: `sizeArgIndex: 3` means \"the size is the argument with index 2\". That argument must be declared in `args` so Tetragon reads it, and Tetragon refuses values above 15. A `sizeArgIndex` of 0, or one pointing at a missing arg, makes the buffer be read with a size of 0: the event shows an empty buffer.",
    tetragon: "pkg/sensors/tracing/args_linux.go getMetaValue (`invalid SizeArgIndex value (>15)`); the rest is not checked",
};

/// `P028`.
pub const P028: CodeInfo = CodeInfo {
    code: "P028",
    name: "max-data-ignored",
    severity: Severity::Warning,
    summary: "`maxData: true` on an arg that is not a `char_buf`.",
    explanation: "`maxData` raises the amount of a `char_buf` that is copied from 4096 bytes to 327360. On any other type it does nothing; Tetragon only logs \"maxData flag is ignored (supported for char_buf type)\". It matters because the author expects full data in the events and will not get it.",
    tetragon: "pkg/sensors/tracing/generickprobe.go (warning only)",
};

/// `P029`.
pub const P029: CodeInfo = CodeInfo {
    code: "P029",
    name: "return-arg-ignored",
    severity: Severity::Warning,
    summary: "A `returnArg` (or returnArgAction) on a hook without `return: true`.",
    explanation: "The return value is only read when the hook also traces the function's return. Without `return: true`, `returnArg` and `returnArgAction` are ignored, so events have no return value and matchReturnArgs never sees one.",
    tetragon: "not checked by Tetragon (ignored)",
};

/// `P031`.
pub const P031: CodeInfo = CodeInfo {
    code: "P031",
    name: "return-arg-action",
    severity: Severity::Error,
    summary: "`returnArgAction` other than TrackSock or UntrackSock.",
    explanation: "`returnArgAction` runs on the returned value, and only socket tracking makes sense there. Tetragon accepts only TrackSock and UntrackSock (\"ReturnArgAction type '%s' unsupported; omit returnArgAction or use 'TrackSock'/'UntrackSock'\"); `Post` was accepted by older versions and is now refused.",
    tetragon: "pkg/sensors/tracing/generickprobe.go",
};

/// `P032`.
pub const P032: CodeInfo = CodeInfo {
    code: "P032",
    name: "arg-source",
    severity: Severity::Error,
    summary: "`source` on a regular arg, or a `data` entry without a valid source and `resolve`.",
    explanation: "`args` read function arguments and may not set `source` (\"standard argument is not allowed to have source configured\"). `data` entries read from elsewhere: `source` must be `current_task` or `pt_regs`, and `resolve` must say which field to read (\"data argument missing 'resolve' setup\").",
    tetragon: "pkg/sensors/tracing/generickprobe.go",
};

/// Run the checks.
pub fn check(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.spec.hooks {
        let total = hook.args.len() + hook.data.len();
        if total > facts::MAX_ARGS {
            let extra = hook
                .args
                .iter()
                .chain(&hook.data)
                .nth(facts::MAX_ARGS)
                .map_or(hook.span, |a| a.span);
            out.push(
                Diagnostic::new(
                    Code::P014,
                    extra,
                    format!(
                        "{} reads {total} arguments ({} args, {} data); at most {} fit",
                        hook.describe(),
                        hook.args.len(),
                        hook.data.len(),
                        facts::MAX_ARGS
                    ),
                )
                .help(
                    "keep the arguments you filter on or need in events; use type `nop` for none",
                ),
            );
        }
        let max_index = match hook.kind {
            HookKind::Tracepoint if hook.raw => Some(facts::MAX_RAW_TP_INDEX),
            HookKind::Tracepoint | HookKind::Usdt => None,
            _ => Some(facts::MAX_ARG_INDEX),
        };
        for (i, arg) in hook.args.iter().enumerate() {
            if let (Some(max), Some(idx)) = (max_index, &arg.index) {
                if idx.value > max {
                    out.push(
                        Diagnostic::new(
                            Code::P015,
                            idx.span,
                            format!(
                                "{} can read argument indexes 0 to {max}; {} is out of range",
                                hook.describe(),
                                idx.value
                            ),
                        )
                        .help("arguments count from 0; check the function's prototype"),
                    );
                }
            }
            if let Some(idx) = &arg.index {
                if let Some(first) = hook.args[..i]
                    .iter()
                    .find(|a| a.index.as_ref().is_some_and(|j| j.value == idx.value))
                {
                    out.push(
                        Diagnostic::new(
                            Code::P025,
                            idx.span,
                            format!(
                                "argument index {} is already read by another arg",
                                idx.value
                            ),
                        )
                        .help("fix the index, or remove one of the two")
                        .related(first.span, "first read here"),
                    );
                }
            }
            check_type(hook, arg, out);
            check_size_arg(hook, arg, out);
            if let Some(source) = &arg.source {
                if !source.value.is_empty() {
                    out.push(
                        Diagnostic::new(
                            Code::P032,
                            source.span,
                            "a regular arg cannot set `source`",
                        )
                        .help("move the entry to `data:`, or remove `source`"),
                    );
                }
            }
        }
        for arg in &hook.data {
            match &arg.source {
                Some(s) if s.value == "current_task" || s.value == "pt_regs" => {}
                Some(s) => out.push(
                    Diagnostic::new(Code::P032, s.span, format!("`{}` is not a data source", s.value))
                        .help("use `source: current_task` or `source: pt_regs`"),
                ),
                None => out.push(
                    Diagnostic::new(Code::P032, arg.span, "a data entry needs `source`")
                        .help("add `source: current_task` (with `resolve: <field path>`) or `source: pt_regs`"),
                ),
            }
            if arg.resolve.is_none() {
                out.push(
                    Diagnostic::new(
                        Code::P032,
                        arg.span,
                        "a data entry needs `resolve` to say what to read",
                    )
                    .help("add `resolve:` with the field path, like `pid` or `mm.owner.comm`"),
                );
            }
        }
        if let Some(ret) = &hook.return_arg {
            if let Some(ty) = &ret.ty {
                if ty.value == "auto"
                    && matches!(
                        hook.kind,
                        HookKind::Kprobe | HookKind::Fentry | HookKind::Uprobe
                    )
                {
                    out.push(
                        Diagnostic::new(
                            Code::P026,
                            ty.span,
                            "the return value needs an explicit type, not `auto`",
                        )
                        .help("write the type of the function's return value, for example `int`"),
                    );
                }
            }
            if !hook.returns() {
                if let Some(key) = hook.return_arg_key {
                    out.push(
                        Diagnostic::new(Code::P029, key, format!("{} has a `returnArg` but no `return: true`, so the return value is never read", hook.describe()))
                            .help("add `return: true`, or remove `returnArg`"),
                    );
                }
            }
        }
        if let Some(action) = &hook.return_arg_action {
            if !matches!(action.value.as_str(), "TrackSock" | "UntrackSock") {
                out.push(
                    Diagnostic::new(Code::P031, action.span, format!("`returnArgAction: {}` is not supported", action.value))
                        .help("use `TrackSock` or `UntrackSock`, or remove returnArgAction (the event is posted anyway)"),
                );
            } else if !hook.returns() {
                out.push(
                    Diagnostic::new(
                        Code::P029,
                        action.span,
                        format!(
                            "{} has a `returnArgAction` but no `return: true`",
                            hook.describe()
                        ),
                    )
                    .help("add `return: true` and a `returnArg` of type `sock`"),
                );
            }
        }
    }
}

fn check_type(hook: &Hook, arg: &Arg, out: &mut Vec<Diagnostic>) {
    let ty = arg.type_name();
    let span = arg.ty.as_ref().map_or(arg.span, |t| t.span);
    let written = arg.ty.is_some();
    let problem = match (hook.kind, ty) {
        (HookKind::Kprobe | HookKind::Fentry, "auto") => Some(if written {
            "kprobes cannot use type `auto`; only tracepoints have a format to take types from"
                .to_string()
        } else {
            "this arg has no `type`, and the default `auto` is invalid for kprobes".to_string()
        }),
        (HookKind::Kprobe | HookKind::Fentry, "syscall64") => {
            Some("`syscall64` is for raw syscall tracepoints, not kprobes".into())
        }
        (HookKind::Lsm | HookKind::Uprobe | HookKind::Usdt, "auto") if arg.resolve.is_none() => {
            Some(format!(
                "{}s need an explicit arg type{}",
                hook.kind.noun(),
                if written {
                    "; `auto` works only on tracepoints"
                } else {
                    " (the default `auto` works only on tracepoints)"
                }
            ))
        }
        (HookKind::Tracepoint, "const_buf") => Some(
            "`const_buf` is set by Tetragon from the format and cannot be written in a policy"
                .into(),
        ),
        (HookKind::Tracepoint, "auto") if hook.raw => {
            Some("a raw tracepoint has no format to take `auto` types from".into())
        }
        _ => None,
    };
    if let Some(message) = problem {
        out.push(
            Diagnostic::new(Code::P026, span, message)
                .help("set `type:` to the argument's type (int, string, file, sock, ...)"),
        );
    }
    if let Some(md) = &arg.max_data {
        if md.value && ty != "char_buf" {
            out.push(
                Diagnostic::new(
                    Code::P028,
                    md.span,
                    format!("`maxData` only applies to `char_buf`; on `{ty}` it is ignored"),
                )
                .help("remove `maxData`, or read the argument as `char_buf` with a `sizeArgIndex`"),
            );
        }
    }
}

fn check_size_arg(hook: &Hook, arg: &Arg, out: &mut Vec<Diagnostic>) {
    let Some(size) = &arg.size_arg_index else {
        return;
    };
    if size.value > facts::MAX_SIZE_ARG_INDEX {
        out.push(
            Diagnostic::new(
                Code::P027,
                size.span,
                format!(
                    "`sizeArgIndex` can be at most {}; it is {}",
                    facts::MAX_SIZE_ARG_INDEX,
                    size.value
                ),
            )
            .help("sizeArgIndex is 1-based: the size argument's index plus one"),
        );
        return;
    }
    if size.value == 0 {
        out.push(
            Diagnostic::new(Code::P027, size.span, "`sizeArgIndex` is 1-based, so 0 points at no argument and the buffer is read with size 0")
                .help("write the size argument's index plus one"),
        );
        return;
    }
    let target = size.value - 1;
    if hook.arg(target).is_none() {
        let declared = hook.declared_indexes();
        out.push(
            Diagnostic::new(
                Code::P027,
                size.span,
                format!("`sizeArgIndex: {}` (1-based) points at argument index {target}, which is not declared in args", size.value),
            )
            .help(format!(
                "declare the size argument (index {target}) in args, or fix sizeArgIndex; declared indexes: {}",
                if declared.is_empty() { "none".to_string() } else { declared.join(", ") }
            )),
        );
    }
}
