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
    explanation: "The BPF event config has 5 argument slots per hook. Kprobes and fentries refuse more `args` and `data` together (\"too many arguments, max 5: args(%d) data(%d)\"), usdts more than 5 `args` (\"too many arguments (%d) allowed 5\"). A tracepoint is refused when it ends up with more than 5 (\"number of arguments (%d) larger than max (%d)\"), counting the hidden argument Tetragon adds for each `sizeArgIndex` that points at a format field not read by `args`. lsmhooks and uprobes have no explicit check: a sixth argument overruns the 5-slot config while it is built, and the policy does not load.",
    tetragon: "pkg/sensors/tracing/generickprobe.go addKprobe; genericusdt.go addUsdt; generictracepoint.go buildArgs (getOrAppendMeta) and genericTracepoint.EventConfig; genericlsm.go addLsm and genericuprobe.go getUprobeArgConfig (5-slot arrays); pkg/api/tracingapi/client_kprobe.go EventConfigMaxArgs",
};

/// `P015`.
pub const P015: CodeInfo = CodeInfo {
    code: "P015",
    name: "arg-index-range",
    severity: Severity::Error,
    summary: "An arg index beyond what the hook can read (4 for kprobes, fentries, uprobes and LSM hooks, 5 for raw tracepoints).",
    explanation: "Kprobes, fentries, uprobes and lsmhooks read the first five function arguments, indexes 0 to 4, and refuse a larger `index` (\"error add arg: ArgType %s Index %d out of bounds\"; lsmhooks: \"args[%d]: arg type %s index %d out of bounds\"). Kprobes, fentries and uprobes check `data` entries the same way. Raw tracepoints read indexes 0 to 5 (\"raw tracepoint %s/%s can read up to 5 arguments, but index %d was requested\"). Other tracepoints are limited by the fields of their format (P033 knows those of the syscall events, K014 those of any tracepoint of a given kernel) and usdts by the probe's arguments in the binary, which are not checked here.",
    tetragon: "pkg/sensors/tracing/generickprobe.go addKprobe (addArg); genericuprobe.go getUprobeArgConfig; genericlsm.go validateLsmArg; generictracepoint.go validateRawTracepointArg",
};

/// `P025`.
pub const P025: CodeInfo = CodeInfo {
    code: "P025",
    name: "duplicate-arg-index",
    severity: Severity::Warning,
    summary: "Two args that read the same value (same index, same `resolve` and `btfType`).",
    explanation: "Two entries of `args` with the same `index` and the same `resolve` path and `btfType` (or none) read the same value twice and spend one of the five argument slots for nothing; usually one of them has a typo in its index. Reading one index several times with other `resolve` paths or `btfType` casts is fine: that is the documented way to pull several fields out of one struct argument, and Tetragon reads each entry on its own. Note that a matchArgs `index` filters on the first entry with that index; to filter on a later one, give its position in `args` with matchArgs `args: [position]`.",
    tetragon: "not checked by Tetragon (pkg/sensors/tracing/generickprobe.go addKprobe reads each entry on its own; pkg/selectors/kernel.go argIndexType picks the first entry with the filtered index, argIndexTypeFromArgs the position)",
};

/// `P026`.
pub const P026: CodeInfo = CodeInfo {
    code: "P026",
    name: "arg-type-for-hook",
    severity: Severity::Error,
    summary: "An arg type this hook kind cannot read (`auto` on a kprobe, `const_buf` on a tracepoint, ...).",
    explanation: "`auto` (the CRD default when `type` is left out) means \"take the type from the tracepoint's format\", which only non-raw tracepoints have. Kprobes and fentries refuse `auto` and `syscall64` in `args`, even with `resolve` (\"type 'auto' is invalid for kprobes\"). lsmhooks and uprobes refuse an arg without a known type unless `resolve` gives it one from BTF (\"args[%d]: type 'auto' unsupported\", \"Arg(%d) type 'auto' unsupported\"); `data` entries of kprobes, fentries and uprobes need a type too unless they read the current task with `resolve`. A usdt arg typed `auto` without `resolve` is not refused, but Tetragon cannot decode it (it has no type for it) and it is missing from events: the policy loads but cannot do what it says, an error too. A raw tracepoint has no format, so `auto` is refused there, even with `resolve` (\"format is nil\"). `const_buf` is what Tetragon uses internally for tracepoint arrays and is refused when written (\"const_buf type cannot be user-defined\"). A `returnArg` read with `return: true` needs a real type as well (\"ReturnArg type 'auto' unsupported\").",
    tetragon: "pkg/sensors/tracing/generickprobe.go validateKprobeType (from preValidateKprobe) and addKprobe; genericlsm.go validateLsmArg; genericuprobe.go getUprobeArgConfig and getUprobeReturnArg; genericusdt.go addUsdt (no check; `auto` becomes GenericInvalidType via pkg/generictypes GenericTypeFromString); generictracepoint.go genericTracepointArg.getGenericTypeId",
};

/// `P027`.
pub const P027: CodeInfo = CodeInfo {
    code: "P027",
    name: "size-arg-index",
    severity: Severity::Error,
    summary: "`sizeArgIndex` above 15, or one that sizes a buffer with nothing.",
    explanation: "`sizeArgIndex` names the argument that holds the size of a `char_buf` (or the count of a `char_iovec`), counted from 1: `sizeArgIndex: 3` means the function argument with index 2, and 0 means \"not set\". For kprobes, fentries, lsmhooks and uprobes, the BPF program reads the size straight from the first five arguments, whether or not that argument is declared in `args`. So 1 to 5 always work. On tracepoints it is a 1-based field of the format, and a field not read by `args` is added as a hidden argument (which counts against the 5 of P014).\n\nRefused (error): a value above 15 (\"invalid SizeArgIndex value (>15)\"), also on usdt `string` args.\n\nLoads, but cannot do what it says (error): on kprobes, fentries, lsmhooks and uprobes, 6 to 15 read no size, so the `char_buf` (or `char_iovec`) always comes out empty; raw tracepoints ignore `sizeArgIndex`, and so do usdts (except on `string` args), so a `char_buf` there is read with size 0 and comes out empty too.\n\nA value that Tetragon uses but that names the wrong argument or field (the buffer itself, a pointer, a tracepoint field it cannot read) is P034's.",
    tetragon: "pkg/sensors/tracing/args_linux.go getMetaValue (\"invalid SizeArgIndex value (>15)\") and getTracepointMetaValue; bpf/process/types/basic.h get_arg_meta; bpf/process/generic_calls.h (a0-a4 read from the argument registers); generictracepoint.go buildArgs (getOrAppendMeta) and buildArgsRaw; genericusdt.go addUsdt",
};

/// `P028`.
pub const P028: CodeInfo = CodeInfo {
    code: "P028",
    name: "max-data-ignored",
    severity: Severity::Warning,
    summary: "`maxData: true` where it does nothing: not a `char_buf`, or a tracepoint or usdt.",
    explanation: "`maxData` raises the amount of a `char_buf` that is copied from 4096 bytes to 327360 (on kernels with large BPF programs, 5.4 and later). It only works on `char_buf` args of kprobes, fentries, lsmhooks and uprobes. On any other type it does nothing; kprobes and lsmhooks only log \"maxData flag is ignored (supported for char_buf type)\" and load. Tracepoints and usdts never pass the flag to BPF, so there it does nothing whatever the type. Warnings, not errors: where Tetragon says anything it only logs a warning and loads, and the argument itself is still read and reported, only cut at the usual size, so the author who expects full data in the events gets less of it.",
    tetragon: "pkg/sensors/tracing/generickprobe.go addKprobe and genericlsm.go addLsm (warning only); args_linux.go getMetaValue (the only place the flag reaches BPF) and getTracepointMetaValue (which drops it); genericusdt.go addUsdt",
};

/// `P029`.
pub const P029: CodeInfo = CodeInfo {
    code: "P029",
    name: "return-arg-ignored",
    severity: Severity::Warning,
    summary: "A `returnArg` (or returnArgAction) on a hook without `return: true`.",
    explanation: "The return value is only read when the hook also traces the function's return. Without `return: true` Tetragon loads the policy without a word, never looks at `returnArg` and never runs `returnArgAction`.\n\nLoads, but cannot do what it says (error): `returnArgAction` (TrackSock, UntrackSock) runs in the return probe, on the return value, so without one the socket is never tracked or untracked.\n\nWarning: a `returnArg` alone only adds the return value to events (and gives matchReturnArgs, P030, something to filter); without `return: true` events simply lack it. Tetragon's own example security_bprm_check.yaml carries such a `returnArg` and is meant to load and work, so this stays a warning.",
    tetragon: "not checked by Tetragon (pkg/sensors/tracing/generickprobe.go addKprobe and genericuprobe.go getUprobeReturnArg read `returnArg` only under `return`; bpf/process/generic_calls.h generic_retprobe runs the action only when a return type is set)",
};

/// `P031`.
pub const P031: CodeInfo = CodeInfo {
    code: "P031",
    name: "return-arg-action",
    severity: Severity::Error,
    summary: "`returnArgAction` other than TrackSock or UntrackSock.",
    explanation: "`returnArgAction` runs on the returned value in the return probe, and only socket tracking is implemented there. Tetragon accepts TrackSock and UntrackSock (in any case, the name is lowercased before the lookup) and refuses every other action (\"ReturnArgAction type '%s' unsupported; omit returnArgAction or use 'TrackSock'/'UntrackSock'\") as well as a name that is no action at all (\"ReturnArgAction type '%s' unsupported\"). An empty value means no action.",
    tetragon: "pkg/sensors/tracing/generickprobe.go addKprobe; pkg/selectors/kernel.go ActionTypeFromString",
};

/// `P032`.
pub const P032: CodeInfo = CodeInfo {
    code: "P032",
    name: "arg-source",
    severity: Severity::Error,
    summary: "`source` on a regular arg, or a `data` entry without a valid source and `resolve`.",
    explanation: "Kprobes, fentries and uprobes refuse `source` on a regular arg (\"standard argument is not allowed to have source configured\"; uprobes: \"standard argument can't have source set\"). Their `data` entries read from elsewhere: `source` must be exactly `current_task` or `pt_regs` (\"data argument has wrong source\"), and `resolve` must say which field or register to read (\"data argument missing 'resolve' setup\"). lsmhooks, tracepoints and usdts do not check `source` on args and load the policy.\n\nLoads, but cannot do what it says (error): tracepoints and usdts ignore `source` and read their own argument; an lsmhook arg with `source: pt_regs` reads 0 (lsmhooks have no register reader), and one with any other source reads its argument.\n\nWarning: an lsmhook arg with `source: current_task` does read the current task (with its `resolve` path), as a `data` entry of a kprobe would, in place of the hook's argument: it works, but `data` is where such a read belongs.",
    tetragon: "pkg/sensors/tracing/generickprobe.go addKprobe; genericuprobe.go getUprobeArgConfig; args_linux.go getMetaValue (source bits, also set for lsmhooks); bpf/process/generic_calls.h generic_read_arg and get_pt_regs_arg (returns 0 outside kprobes and uprobes; tracepoints and usdts never look at the source bits)",
};

/// Run the checks.
pub fn check(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.spec.hooks {
        check_count(hook, out);
        // Kprobes, fentries and uprobes check `data` indexes like `args` ones.
        let data = if matches!(
            hook.kind,
            HookKind::Kprobe | HookKind::Fentry | HookKind::Uprobe
        ) {
            hook.data.as_slice()
        } else {
            &[]
        };
        for arg in hook.args.iter().chain(data) {
            check_index(hook, arg, out);
            check_size_arg(hook, arg, out);
            check_max_data(hook, arg, out);
        }
        for (i, arg) in hook.args.iter().enumerate() {
            if let Some(idx) = &arg.index {
                if let Some(first) = hook.args[..i].iter().find(|a| same_read(a, arg)) {
                    out.push(
                        Diagnostic::new(
                            Code::P025,
                            idx.span,
                            format!(
                                "argument index {} is already read, with the same `resolve` and `btfType`, by another arg",
                                idx.value
                            ),
                        )
                        .help("fix the index, or remove one of the two")
                        .related(first.span, "first read here"),
                    );
                }
            }
            check_type(hook, arg, out);
            check_arg_source(hook, arg, out);
        }
        for arg in data {
            check_data(hook, arg, out);
        }
        check_return(hook, out);
        check_user_resolve(hook, out);
    }
}

/// Both args read the same value: same index, and neither another `resolve` path nor another
/// `btfType` cast (their type, label and flags may differ).
fn same_read(a: &Arg, b: &Arg) -> bool {
    a.index.as_ref().map(|i| i.value) == b.index.as_ref().map(|i| i.value)
        && text(&a.resolve) == text(&b.resolve)
        && text(&a.btf_type) == text(&b.btf_type)
        && text(&a.source) == text(&b.source)
}

/// A written string, `None` when absent or empty.
fn text(s: &Option<crate::model::Spanned<String>>) -> Option<&str> {
    s.as_ref()
        .map(|v| v.value.as_str())
        .filter(|v| !v.is_empty())
}

/// The `sizeArgIndex` values that make Tetragon add a format field to a (non-raw)
/// tracepoint's args: one per distinct field not read by `args`.
fn hidden_size_fields(hook: &Hook) -> Vec<crate::source::Span> {
    if hook.kind != HookKind::Tracepoint || hook.raw {
        return Vec::new();
    }
    let mut fields: Vec<i64> = Vec::new();
    let mut spans = Vec::new();
    for arg in &hook.args {
        let Some(size) = arg.size_arg_index.as_ref().filter(|s| s.value > 0) else {
            continue;
        };
        let field = size.value - 1;
        if hook.arg(field).is_none() && !fields.contains(&field) {
            fields.push(field);
            spans.push(size.span);
        }
    }
    spans
}

fn check_count(hook: &Hook, out: &mut Vec<Diagnostic>) {
    let hidden_spans = hidden_size_fields(hook);
    let hidden = hidden_spans.len();
    let total = hook.args.len() + hook.data.len() + hidden;
    if total <= facts::MAX_ARGS {
        return;
    }
    let extra = hook
        .args
        .iter()
        .chain(&hook.data)
        .nth(facts::MAX_ARGS)
        .map(|a| a.span)
        .or_else(|| hidden_spans.last().copied())
        .unwrap_or(hook.span);
    let what = if hidden > 0 {
        format!(
            "{} args and {hidden} format field{} Tetragon adds for `sizeArgIndex`",
            hook.args.len(),
            if hidden == 1 { "" } else { "s" }
        )
    } else {
        format!("{} args, {} data", hook.args.len(), hook.data.len())
    };
    out.push(
        Diagnostic::new(
            Code::P014,
            extra,
            format!(
                "{} reads {total} arguments ({what}); at most {} fit",
                hook.describe(),
                facts::MAX_ARGS
            ),
        )
        .help(if hidden > 0 {
            "read the size field in args too (then it takes no extra slot), or drop an argument"
        } else {
            "keep only the arguments you filter on or need in events"
        }),
    );
}

/// The largest arg index a hook can read, where a fixed limit applies (tracepoints are bounded
/// by their format, usdts by the probe): what P015 reports, and what K010 then leaves alone, so
/// one mistake gives one finding.
pub(crate) fn readable_index_limit(hook: &Hook) -> Option<i64> {
    match hook.kind {
        HookKind::Tracepoint if hook.raw => Some(facts::MAX_RAW_TP_INDEX),
        HookKind::Tracepoint | HookKind::Usdt => None,
        _ => Some(facts::MAX_ARG_INDEX),
    }
}

fn check_index(hook: &Hook, arg: &Arg, out: &mut Vec<Diagnostic>) {
    let Some(max) = readable_index_limit(hook) else {
        return;
    };
    let Some(idx) = &arg.index else { return };
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
        (HookKind::Lsm | HookKind::Uprobe, "auto") if arg.resolve.is_none() => Some(format!(
            "{}s need an explicit arg type{}",
            hook.kind.noun(),
            if written {
                "; `auto` works only on tracepoints"
            } else {
                " (the default `auto` works only on tracepoints)"
            }
        )),
        (HookKind::Usdt, "auto") if arg.resolve.is_none() => Some(format!(
            "{}: Tetragon loads this, but cannot decode the argument, so it is missing from events",
            if written {
                "usdt args have no format to take an `auto` type from"
            } else {
                "this arg has no `type`, and usdt args have no format for the default `auto`"
            }
        )),
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
}

fn check_max_data(hook: &Hook, arg: &Arg, out: &mut Vec<Diagnostic>) {
    let Some(md) = arg.max_data.as_ref().filter(|m| m.value) else {
        return;
    };
    let ty = arg.type_name();
    if matches!(hook.kind, HookKind::Tracepoint | HookKind::Usdt) {
        out.push(
            Diagnostic::new(
                Code::P028,
                md.span,
                format!(
                    "`maxData` does nothing on {} args: Tetragon never passes it to the BPF program",
                    hook.kind.noun()
                ),
            )
            .help("remove `maxData`; only kprobes, fentries, lsmhooks and uprobes can copy more of a `char_buf`"),
        );
    } else if ty != "char_buf" {
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

fn check_arg_source(hook: &Hook, arg: &Arg, out: &mut Vec<Diagnostic>) {
    let Some(source) = arg.source.as_ref().filter(|s| !s.value.is_empty()) else {
        return;
    };
    let d = match hook.kind {
        HookKind::Kprobe | HookKind::Fentry | HookKind::Uprobe => Diagnostic::new(
            Code::P032,
            source.span,
            "a regular arg cannot set `source`; Tetragon refuses it",
        )
        .help("move the entry to `data:`, or remove `source`"),
        HookKind::Lsm if source.value == "current_task" => Diagnostic::new(
            Code::P032,
            source.span,
            "with `source: current_task` this lsmhook arg reads the current task, not the hook's argument",
        )
        .severity(Severity::Warning)
        .help("remove `source`; lsmhooks read their own arguments"),
        HookKind::Lsm => Diagnostic::new(
            Code::P032,
            source.span,
            if source.value == "pt_regs" {
                "Tetragon loads this, but lsmhooks have no register reader: with `source: pt_regs` this arg always reads 0"
            } else {
                "Tetragon loads this, but ignores this `source` on an lsmhook arg, which reads its argument"
            },
        )
        .help("remove `source`; lsmhooks read their own arguments"),
        HookKind::Tracepoint | HookKind::Usdt => Diagnostic::new(
            Code::P032,
            source.span,
            format!(
                "Tetragon loads this, but ignores `source` on {} args: the arg reads its own argument, not `{}`",
                hook.kind.noun(),
                source.value
            ),
        )
        .help("remove `source`"),
    };
    out.push(d);
}

fn check_data(hook: &Hook, arg: &Arg, out: &mut Vec<Diagnostic>) {
    let source = arg.source.as_ref().map(|s| s.value.as_str());
    match &arg.source {
        Some(s) if s.value == "current_task" || s.value == "pt_regs" => {}
        Some(s) => out.push(
            Diagnostic::new(
                Code::P032,
                s.span,
                format!("`{}` is not a data source", s.value),
            )
            .help("use `source: current_task` or `source: pt_regs`"),
        ),
        None => out.push(
            Diagnostic::new(Code::P032, arg.span, "a data entry needs `source`").help(
                "add `source: current_task` (with `resolve: <field path>`) or `source: pt_regs`",
            ),
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
    // Only a current_task entry with `resolve` gets its type from BTF.
    let typed_by_btf = source == Some("current_task") && arg.resolve.is_some();
    if arg.type_name() == "auto" && !typed_by_btf {
        let span = arg.ty.as_ref().map_or(arg.span, |t| t.span);
        out.push(
            Diagnostic::new(
                Code::P026,
                span,
                format!(
                    "{} data entries need an explicit type{}",
                    hook.kind.noun(),
                    if arg.ty.is_some() {
                        "; `auto` works only on tracepoints"
                    } else {
                        " (the default `auto` works only on tracepoints)"
                    }
                ),
            )
            .help("set `type:` to what the entry reads (int, string, ...)"),
        );
    }
}

fn check_return(hook: &Hook, out: &mut Vec<Diagnostic>) {
    if let Some(ret) = &hook.return_arg {
        if hook.returns()
            && ret.type_name() == "auto"
            && matches!(
                hook.kind,
                HookKind::Kprobe | HookKind::Fentry | HookKind::Uprobe
            )
        {
            let span = ret.ty.as_ref().map_or(ret.span, |t| t.span);
            out.push(
                Diagnostic::new(
                    Code::P026,
                    span,
                    "the return value needs an explicit type, not `auto`",
                )
                .help("write the type of the function's return value, for example `int`"),
            );
        }
        if !hook.returns() {
            if let Some(key) = hook.return_arg_key {
                out.push(
                    Diagnostic::new(
                        Code::P029,
                        key,
                        format!(
                            "{} has a `returnArg` but no `return: true`, so the return value is never read",
                            hook.describe()
                        ),
                    )
                    .help("add `return: true`, or remove `returnArg`"),
                );
            }
        }
    }
    let Some(action) = hook
        .return_arg_action
        .as_ref()
        .filter(|a| !a.value.is_empty())
    else {
        return;
    };
    let lower = action.value.to_ascii_lowercase();
    if lower != "tracksock" && lower != "untracksock" {
        out.push(
            Diagnostic::new(
                Code::P031,
                action.span,
                format!("`returnArgAction: {}` is not supported", action.value),
            )
            .help("use `TrackSock` or `UntrackSock`, or remove returnArgAction (the event is posted anyway)"),
        );
    } else if !hook.returns() {
        out.push(
            Diagnostic::new(
                Code::P029,
                action.span,
                format!(
                    "{} has a `returnArgAction` but no `return: true`: Tetragon loads this, but the action never runs",
                    hook.describe()
                ),
            )
            .help("add `return: true` and a `returnArg` of type `sock`")
            .severity(Severity::Error),
        );
    }
}

/// `char_buf` and `char_iovec` are the types that use `sizeArgIndex`.
fn sized(arg: &Arg) -> bool {
    matches!(arg.type_name(), "char_buf" | "char_iovec")
}

fn check_size_arg(hook: &Hook, arg: &Arg, out: &mut Vec<Diagnostic>) {
    let Some(size) = arg.size_arg_index.as_ref().filter(|s| s.value > 0) else {
        // Absent or 0: not set.
        return;
    };
    let refused = || {
        Diagnostic::new(
            Code::P027,
            size.span,
            format!(
                "`sizeArgIndex` can be at most {}; it is {}, and Tetragon refuses it",
                facts::MAX_SIZE_ARG_INDEX,
                size.value
            ),
        )
        .help("sizeArgIndex is 1-based: the size argument's index plus one")
    };
    let ignored = |why: &str| {
        Diagnostic::new(
            Code::P027,
            size.span,
            format!(
                "Tetragon loads this, but {why}, so this `{}` is read with size 0 and comes out empty",
                arg.type_name()
            ),
        )
    };
    match hook.kind {
        HookKind::Kprobe | HookKind::Fentry | HookKind::Lsm | HookKind::Uprobe => {
            if size.value > facts::MAX_SIZE_ARG_INDEX {
                out.push(refused());
            } else if size.value > facts::MAX_ARGS as i64 && sized(arg) {
                out.push(
                    ignored(&format!(
                        "the size is read only from the first {} arguments, and `sizeArgIndex: {}` (1-based) points at argument index {}",
                        facts::MAX_ARGS,
                        size.value,
                        size.value - 1
                    ))
                    .help("sizeArgIndex is 1-based: the size argument's index plus one, 1 to 5"),
                );
            }
        }
        HookKind::Usdt => {
            if arg.type_name() == "string" && size.value > facts::MAX_SIZE_ARG_INDEX {
                out.push(refused());
            } else if sized(arg) {
                out.push(ignored("usdt args do not use `sizeArgIndex`").help(
                    "remove `sizeArgIndex`; usdts cannot size a buffer from another argument",
                ));
            }
        }
        HookKind::Tracepoint if hook.raw => {
            if sized(arg) {
                out.push(
                    ignored("raw tracepoints ignore `sizeArgIndex`")
                        .help("use the non-raw tracepoint, whose format gives the size field"),
                );
            }
        }
        HookKind::Tracepoint => {}
    }
}

// ---- `resolve` through a binary's BTF (P078) --------------------------------------------------

/// `P078`.
pub const P078: CodeInfo = CodeInfo {
    code: "P078",
    name: "user-resolve-needs-btf",
    severity: Severity::Error,
    summary: "`resolve` on a uprobe or usdt arg without the hook's `btfPath` or the arg's `btfType`.",
    explanation: "A uprobe or usdt arg with `resolve` is walked through the traced binary's own BTF, never the kernel's: Tetragon loads the file the hook's `btfPath` names and starts the path from the struct the arg's `btfType` names there (the argument is a pointer to it). Without `btfPath` the file to load is the empty path, and without `btfType` there is no struct of the empty name, so the policy fails to load (\"open : no such file or directory\", \"struct : not found\"). Give the hook `btfPath` (a raw BTF file, for example from `pahole --btf_encode_detached=FILE BINARY`, or an ELF file with a `.BTF` section) and the arg `btfType`. Whether the file exists is a fact of the nodes that run the policy: `check` does not look for it.",
    tetragon: "pkg/sensors/tracing/generic.go resolveUserBTFArg (ebtf.LoadSpec(btfPath), spec.TypeByName(arg.BTFType)), called for every arg with `resolve` by genericuprobe.go getUprobeArgConfig and genericusdt.go addUsdt",
};

/// P078: uprobe and usdt args with `resolve` need the hook's `btfPath` and their `btfType`
/// (Tetragon's resolveUserBTFArg). An arg with `source` is P032's (refused before).
fn check_user_resolve(hook: &Hook, out: &mut Vec<Diagnostic>) {
    if !matches!(hook.kind, HookKind::Uprobe | HookKind::Usdt) {
        return;
    }
    let section = if hook.kind == HookKind::Uprobe {
        "uprobe"
    } else {
        "usdt"
    };
    for arg in &hook.args {
        let Some(resolve) = arg.resolve.as_ref() else {
            continue;
        };
        if text(&arg.source).is_some() {
            continue;
        }
        if hook.btf_path.is_none() {
            out.push(
                Diagnostic::new(
                    Code::P078,
                    resolve.span,
                    format!("`resolve` on a {section} arg walks the binary's BTF, and this {section} has no `btfPath`"),
                )
                .help("add `btfPath:` to the hook, naming the binary's BTF file (made with `pahole --btf_encode_detached=FILE BINARY`, for example)"),
            );
        }
        if arg.btf_type.is_none() {
            out.push(
                Diagnostic::new(
                    Code::P078,
                    resolve.span,
                    format!("`resolve` on a {section} arg starts from the struct `btfType` names, and this arg has no `btfType`"),
                )
                .help("add `btfType:` with the name of the struct the argument points to"),
            );
        }
    }
}
