//! Actions: parameters required and ignored, removed actions, rate limits, stack traces,
//! NotifyEnforcer and enforcers, where Override and other actions can run, signal numbers.
//!
//! Tetragon compiles every action of `matchActions` with `ParseMatchAction`
//! (pkg/selectors/kernel.go), and those of `matchReturnActions` only when the hook has
//! `return: true` (kprobes, fentries and uprobes). A parameter that is left out is read as its
//! zero value; which actions really act depends on the BPF program of the hook kind
//! (bpf/process/generic_calls.h `do_action`).

use crate::codes::{Code, CodeInfo};
use crate::diagnostic::{Diagnostic, Severity};
use crate::facts::{self, HookKind};
use crate::model::{Action, Hook, Policy};
use crate::source::Span;
use crate::yaml::Node;

/// `P040`.
pub const P040: CodeInfo = CodeInfo {
    code: "P040",
    name: "missing-action-parameter",
    severity: Severity::Error,
    summary: "An action without the parameter that makes it do something (Signal without argSig, Override without argError, ...).",
    explanation: "Refused (error): Set's `argIndex` on a usdt must name one of the usdt's `args`; Tetragon checks the first Set of the usdt and fails the policy otherwise (an `argIndex` equal to the number of args passes its bounds test and then indexes past the list, which makes the agent panic). A parameter key written with no value (`argSig:`) is refused by Tetragon's file loader.\n\nLoads, but cannot do what it says (error): Tetragon checks no other action parameter. One that is left out (or an empty string) is read as 0 or \"\", and the policy loads, but the action then does nothing of what it is written for: Signal sends signal 0, which delivers nothing; GetUrl and DnsLookup have no URL or name to contact; NotifyEnforcer with neither `argError` nor `argSig` makes the enforcer neither fail the call nor signal; Override on a kprobe or LSM hook returns 0, so an LSM hook or a `security_` function allows the operation (nothing is denied) and a syscall is skipped and reports success instead of failing; a later Set of a usdt whose `argIndex` names no arg writes nothing.\n\nNot reported: a uprobe Override without `argError` makes the function return 0, which is a meaningful override there.",
    tetragon: "pkg/selectors/kernel.go ParseMatchAction (missing parameters are written as zero values); bpf/process/generic_calls.h do_action (uses them as written); pkg/sensors/tracing/genericusdt.go addUsdt (\"set action argument spec index %d out of bounds\")",
};

/// `P041`.
pub const P041: CodeInfo = CodeInfo {
    code: "P041",
    name: "unused-action-parameter",
    severity: Severity::Warning,
    summary: "An action parameter the action ignores (argSig on Sigkill, argRegs on a kprobe Override, imaHash outside LSM hooks, ...).",
    explanation: "Each action reads its own parameters and Tetragon silently ignores the rest. The action itself still does what its name says (`argSig: 19` on Sigkill still sends SIGKILL, and Tetragon's own example policies put `argError` on Sigkill), so a parameter it does not read is a warning: usually the action is not the one the author meant, or the parameter was left over from an edit. Only uprobes read `argRegs` and `argNewSymbol`/`argNewAddr`/`argNewOffset`; a uprobe Override with any of them ignores `argError` (a warning). `imaHash` is only computed on the LSM hooks that IMA covers; on another LSM hook Tetragon logs \"IMA hash calculation is not supported for this hook\" and loads (a warning).\n\nLoads, but cannot do what it says (error): Tetragon takes a uprobe's jump target from its first Override only, so a later Override with its own `argNewSymbol`, `argNewAddr` or `argNewOffset` jumps to the first one's target instead.",
    tetragon: "pkg/selectors/kernel.go ParseMatchAction; pkg/selectors/kernel_regs_amd64.go parseOverrideRegs; pkg/sensors/tracing/genericuprobe.go computeArgNewOffset (returns the first Override's target); genericlsm.go imaProgName, createLsmSensorFromEntry (\"IMA hash calculation is not supported for this hook\")",
};

/// `P042`.
pub const P042: CodeInfo = CodeInfo {
    code: "P042",
    name: "rate-limit",
    severity: Severity::Error,
    summary: "`rateLimit` in the wrong format, or on an action other than Post.",
    explanation: "`rateLimit` is an interval, not a count: after Post sends an event, the BPF side drops the same event (same hook, same first 40 bytes of each argument, from the same thread, or process or host with `rateLimitScope`) until the interval has passed, so it posts at most one such event per interval. It is written as a whole number with an optional unit: `30` or `30s` seconds, `5m` minutes, `1h` hours (the unit may be upper case, and there is no space, fraction or other unit).\n\nRefused (error): Tetragon refuses other formats (\"rateLimit value %s is invalid\"), such as `1d`, `90 sec`, `1m30s` or a rate like `5/minute`, `5 per minute` or `10rpm`; policyctl says what to write instead (`24h`, `90s`; 5 a minute is one every 12 seconds, `12s`; `1/minute` is `1m`), in whole seconds, the shortest interval being `1s`. It limits Post events only; Tetragon refuses it on any other action (\"rate limiting can only applied to post action\").\n\nWarning: the limit is kept in milliseconds in 32 bits, so anything above about 49 days is cut to that. An empty `rateLimit: \"\"` means no limit.",
    tetragon: "pkg/selectors/kernel.go ParseMatchAction, parseRateLimit (the interval in milliseconds); bpf/process/types/basic.h rate_limit (drops an event seen within the interval; the key is the hook, the action, the thread, process or nothing, and the first KEY_BYTES_PER_ARG bytes of each argument)",
};

/// `P043`.
pub const P043: CodeInfo = CodeInfo {
    code: "P043",
    name: "rate-limit-scope",
    severity: Severity::Error,
    summary: "`rateLimitScope` that is invalid, or set without a `rateLimit`.",
    explanation: "`rateLimitScope` is `thread` (the default), `process` or `global`, in lowercase. Tetragon reads it only together with a `rateLimit`.\n\nRefused (error): with a `rateLimit`, any other scope fails the policy (\"rateLimitScope value %s is invalid\").\n\nLoads, but cannot do what it says (error): without a `rateLimit`, Tetragon never looks at the scope, whatever its value, so the events are not limited at all.",
    tetragon: "pkg/selectors/kernel.go ParseMatchAction (parses rateLimitScope only when rateLimit is set), parseRateLimit",
};

/// `P044`.
pub const P044: CodeInfo = CodeInfo {
    code: "P044",
    name: "stack-trace-action",
    severity: Severity::Error,
    summary: "kernelStackTrace or userStackTrace on an action other than Post, or on an LSM hook.",
    explanation: "Stack traces travel in the event, so only Post carries them. On kprobes and fentries Tetragon refuses them on any other action of matchActions (\"kernelStackTrace or userStackTrace can only be used along Post action\"); LSM hooks refuse them on Post (\"stacktrace actions are not supported\"). Elsewhere (tracepoints, uprobes, usdts, non-Post actions of LSM hooks, matchReturnActions) Tetragon loads the flag on a non-Post action and ignores it: a warning, like any parameter an action does not read (P041), because the action itself still does what it says; only the stack trace is never collected.",
    tetragon: "pkg/sensors/tracing/generickprobe.go preValidateKprobe; genericlsm.go isValidLsmSelectors",
};

/// `P045`.
pub const P045: CodeInfo = CodeInfo {
    code: "P045",
    name: "removed-action",
    severity: Severity::Error,
    summary: "FollowFD, UnfollowFD or CopyFD (or argFd / argName), removed from Tetragon.",
    explanation: "The fd-tracking actions were deprecated in Tetragon 1.4 and removed after 1.7: the CRD's action list no longer has them and the selector compiler no longer knows them (\"ActionType %s unknown\"), and `argFd`/`argName` are no longer fields, so current Tetragon refuses the policy. They are no longer needed: an arg of type `fd` resolves the file's path by itself, so `sys_write`'s fd can be filtered with Equal on the path directly, without hooking `fd_install` and `sys_close`.",
    tetragon: "pkg/k8s/apis/cilium.io/v1alpha1/types.go ActionSelector (enum and fields; removed in commit efc187aba, after v1.7.0); pkg/selectors/kernel.go ParseMatchAction (\"parseMatchAction: ActionType %s unknown\")",
};

/// `P046`.
pub const P046: CodeInfo = CodeInfo {
    code: "P046",
    name: "notify-enforcer",
    severity: Severity::Error,
    summary: "NotifyEnforcer on a kprobe or tracepoint without an `enforcers` section, or more than one enforcer.",
    explanation: "NotifyEnforcer only asks the policy's enforcer to act; the enforcer, declared in `spec.enforcers` with the calls it guards, does the work. Tetragon refuses a kprobe, fentry or tracepoint policy whose matchActions hold NotifyEnforcer without an enforcer (\"NotifyEnforcer action specified, but spec contains no enforcers\"), and a policy with more than one enforcer (\"we support only single enforcer sensor\").",
    tetragon: "pkg/sensors/tracing/generickprobe.go preValidateKprobes; generictracepoint.go preValidateTracepoints; enforcer.go createEnforcerSensor",
};

/// `P047`.
pub const P047: CodeInfo = CodeInfo {
    code: "P047",
    name: "override-target",
    severity: Severity::Error,
    summary: "Override on a `syscall: false` kprobe whose function is not a security_ function.",
    explanation: "A kprobe can only change a function's return value where the kernel allows it. Tetragon accepts Override on a `security_*` function (through fmod_ret) and on a kprobe marked as a syscall (`syscall: true`, the default, or a call on a `syscalls`/`generated_syscalls` list, through bpf_override_return); it refuses any other function (\"override action can be used only with syscalls and security_ hooks\"). For a `list:` call, every function of the list is checked. To deny an operation elsewhere, hook the LSM hook that guards it (lsmhooks) and override there.",
    tetragon: "pkg/sensors/tracing/generickprobe.go validateOverride, called from addKprobe for every function of the call",
};

/// `P048`.
pub const P048: CodeInfo = CodeInfo {
    code: "P048",
    name: "action-for-hook",
    severity: Severity::Error,
    summary: "An action this hook kind refuses (GetUrl on a uprobe, TrackSock on an LSM hook, Sigkill on an fentry, ...) or where it does nothing.",
    explanation: "Refused (error): on LSM hooks, any action but Post, NoPost, Sigkill, Signal and Override; on uprobes and usdts, GetUrl and DnsLookup; on fentries, the enforcement actions (Sigkill, Signal, Override, NotifyEnforcer, Set); on a uprobe, two Overrides in one selector (\"only single instance of regs action is allowed\").\n\nLoads, but cannot do what it says (error): the BPF program of the hook kind has no code for these actions, so Tetragon loads them and they never act: Override on tracepoints and usdts, NotifyEnforcer on uprobes and usdts, Set anywhere but on a usdt, and Override, NotifyEnforcer and Set in matchReturnActions (the function has already returned, and the return probes do not carry out these actions).",
    tetragon: "pkg/sensors/tracing/genericlsm.go isValidLsmSelectors; genericuprobe.go validateUprobeSpec (\"GetUrl and DnsLookup actions not supported\"); genericusdt.go addUsdt; genericfentry.go createGenericFentrySensor (\"enforcement is not supported for fentry yet\"); pkg/selectors/kernel_regs_amd64.go parseOverrideRegs; bpf/process/generic_calls.h do_action, do_override_action and do_set_action (empty outside kprobes/LSM and usdts); bpf/process/types/basic.h do_action_notify_enforcer (empty outside kprobes and tracepoints)",
};

/// `P049`.
pub const P049: CodeInfo = CodeInfo {
    code: "P049",
    name: "signal-number",
    severity: Severity::Error,
    summary: "argSig that is not a signal number (1 to 64).",
    explanation: "`argSig` is the number the kernel sends: 9 for SIGKILL, 15 for SIGTERM, 19 for SIGSTOP, up to 64 for real-time signals.\n\nLoads, but cannot do what it says (error): Tetragon does not check the number. On Signal, 0 sends nothing (it only checks that the process exists), and above 64 the kernel refuses the signal, so the action loads and sends nothing. On NotifyEnforcer, 0 means \"no signal\" and is fine; above 64 nothing is sent. (A negative number is a schema error: the field is unsigned.)",
    tetragon: "not checked by Tetragon: pkg/selectors/kernel.go ParseMatchAction copies argSig as is; bpf/process/types/basic.h do_action_signal sends it",
};

/// `P050`.
pub const P050: CodeInfo = CodeInfo {
    code: "P050",
    name: "override-error-value",
    severity: Severity::Warning,
    summary: "Override with an argError of 0 on a kprobe or LSM hook, or one an LSM hook cannot return.",
    explanation: "Override returns `argError` in place of the function.\n\nLoads, but cannot do what it says (error): `argError: 0` on an LSM hook or a `security_` function. An LSM hook returning 0 allows the operation, and Tetragon overrides a `security_` function through fmod_ret, which lets the function run as usual when the value is 0; either way the Override changes nothing and nothing is denied.\n\nWarnings (the Override acts, but maybe not as meant): a syscall overridden with 0 is skipped and reports success, which is a real effect but rarely the intent (on a `list:` call the list may hold both kinds); on LSM hooks Tetragon's program replaces a value that is not an errno (positive, or below -4095) by -1 (EPERM), so the call is still denied, with another errno; the enforcer keeps NotifyEnforcer's `argError` in 16 bits, so a larger value comes back changed. Positive values are fine elsewhere: some `security_` functions and every uprobe return them on purpose.",
    tetragon: "bpf/process/types/basic.h try_override (LSM); bpf/process/bpf_generic_kprobe.c generic_fmodret_override; pkg/sensors/tracing/generickprobe.go createKprobeSensorFromEntry (fmod_ret for security_ functions, OverrideFmodRet); bpf/process/bpf_enforcer.h enforcer_data",
};

/// Where an action is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// `matchActions`.
    Entry,
    /// `matchReturnActions`.
    Return,
}

/// What the action checks need to know about the whole policy.
struct Ctx<'a> {
    policy: &'a Policy,
}

/// `P075`.
pub const P075: CodeInfo = CodeInfo {
    code: "P075",
    name: "unfiltered-enforcement",
    severity: Severity::Warning,
    summary: "An enforcing action (Sigkill, Signal, Override, NotifyEnforcer) in a selector with no filter: it acts on every process that makes the call.",
    explanation: "A selector's filters (matchArgs, matchData, matchBinaries, matchPIDs, matchNamespaces, matchCapabilities and their change filters) are what limit its actions; a selector with none of them matches every call of the hooked function, by every process on the host. With Sigkill, Signal or Override that means every process that opens a file, connects or executes a program is killed or denied, which on a real host can lock everyone out, new logins included (an LSM `file_open` Override with no filter denies every open). Tetragon loads such a policy and does exactly that, so this is a warning: when it is really meant (in a test VM, or a hook that only a rogue binary ever reaches), keep it; otherwise add the filter that says whom to stop, usually `matchBinaries` or `matchArgs`. Uprobes and usdts fire only in processes that run their binary, and a TracingPolicyNamespaced, a `podSelector` or a `containerSelector` limits the processes already, and `policy-mode: monitor` turns enforcement off, so those are not reported. `policyctl run` refuses such a policy unless it is given `--allow-unfiltered-enforcement`.",
    tetragon: "not checked by Tetragon: pkg/selectors/kernel.go InitKernelSelectorState compiles a selector without filters into one that matches every call; bpf/process/generic_calls.h do_actions then runs its actions",
};

/// An action that kills, signals or denies (facts' `enforcement` actions; `Set` is for usdts,
/// which are scoped to their binary).
pub fn is_enforcing(action: &str) -> bool {
    action != "Set" && facts::action(action).is_some_and(|a| a.enforcement)
}

/// The P075 findings of a policy: its enforcing actions in selectors without a filter. The
/// check reports them as findings (which a project file or a suppression may silence);
/// `policyctl run` calls this directly, so its refusal does not depend on which codes are
/// reported.
pub fn unfiltered(policy: &Policy) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for hook in &policy.spec.hooks {
        for sel in &hook.selectors {
            unfiltered_enforcement(policy, hook, sel, &mut out);
        }
    }
    out
}

/// The enforcing actions of `actions` in a selector that has no filter for them: P075.
fn unfiltered_enforcement(
    policy: &Policy,
    hook: &Hook,
    sel: &crate::model::Selector,
    out: &mut Vec<Diagnostic>,
) {
    // A uprobe or usdt fires only in the processes that run its binary: scoped already.
    if matches!(hook.kind, HookKind::Uprobe | HookKind::Usdt)
        || policy.kind == crate::model::Kind::TracingPolicyNamespaced
        || policy.spec.workload_selector
        || policy.spec.option("policy-mode") == Some("monitor")
        || !sel.filters().is_empty()
    {
        return;
    }
    // Selectors before this one take the calls their filters match first.
    let shadowed = hook
        .selectors
        .iter()
        .take_while(|s| !std::ptr::eq(*s, sel))
        .any(|s| !s.filters().is_empty());
    let lists = [
        (&sel.match_actions, false),
        (&sel.match_return_actions, !sel.match_return_args.is_empty()),
    ];
    for (actions, filtered) in lists {
        if filtered {
            continue;
        }
        for action in actions.iter() {
            let Some(name) = &action.action else { continue };
            if !is_enforcing(&name.value) {
                continue;
            }
            out.push(
                Diagnostic::new(
                    Code::P075,
                    name.span,
                    format!(
                        "{} here acts on every process that reaches {}{}: this selector has no filter",
                        name.value,
                        hook.describe(),
                        if shadowed {
                            " (except the calls an earlier selector takes)"
                        } else {
                            ""
                        }
                    ),
                )
                .help("add a filter that says whom to stop (matchBinaries, matchArgs, matchPIDs, ...); `policyctl run` refuses this policy without --allow-unfiltered-enforcement"),
            );
        }
    }
}

/// Run the checks.
pub fn check(policy: &Policy, out: &mut Vec<Diagnostic>) {
    let ctx = Ctx { policy };
    let mut notify_reported = false;
    for hook in &policy.spec.hooks {
        let mut first_override = true;
        for sel in &hook.selectors {
            let mut overrides = 0;
            for action in &sel.match_actions {
                let name = action.action.as_ref();
                if name.is_some_and(|a| a.value == "NotifyEnforcer")
                    && matches!(
                        hook.kind,
                        HookKind::Kprobe | HookKind::Fentry | HookKind::Tracepoint
                    )
                    && policy.spec.enforcers.is_empty()
                    && !notify_reported
                {
                    notify_reported = true;
                    let a = name.map_or(action.span, |a| a.span);
                    out.push(
                        Diagnostic::new(Code::P046, a, "NotifyEnforcer needs an enforcer, but the policy has no `spec.enforcers`")
                            .help("add `enforcers:` under spec with the `calls` (syscalls) the enforcer guards"),
                    );
                }
                let uprobe_override =
                    hook.kind == HookKind::Uprobe && name.is_some_and(|a| a.value == "Override");
                if uprobe_override {
                    overrides += 1;
                    if overrides == 2 {
                        out.push(
                            Diagnostic::new(
                                Code::P048,
                                name.map_or(action.span, |a| a.span),
                                "a uprobe selector runs a single Override; Tetragon refuses a second one",
                            )
                            .help("move the second Override to its own selector"),
                        );
                    }
                    if !first_override {
                        later_uprobe_override(action, out);
                    }
                    first_override = false;
                }
                check_action(&ctx, hook, action, Place::Entry, out);
            }
            for action in &sel.match_return_actions {
                check_action(&ctx, hook, action, Place::Return, out);
            }
            unfiltered_enforcement(policy, hook, sel, out);
        }
    }
    if policy.spec.enforcers.len() > 1 {
        out.push(
            Diagnostic::new(
                Code::P046,
                policy.spec.enforcers[1],
                "a policy supports a single enforcer",
            )
            .help("put all calls in the `calls` of one enforcer"),
        );
    }
}

/// A uprobe Override after the uprobe's first one: Tetragon takes the jump target
/// (argNewSymbol/argNewAddr/argNewOffset) from the first Override only.
fn later_uprobe_override(action: &Action, out: &mut Vec<Diagnostic>) {
    for (key, span, value) in &action.params {
        if matches!(key.as_str(), "argNewSymbol" | "argNewAddr" | "argNewOffset")
            && !is_unset(value)
        {
            out.push(
                Diagnostic::new(
                    Code::P041,
                    *span,
                    format!("Tetragon loads this, but takes a uprobe's jump target from its first Override only: this `{key}` is ignored and the Override jumps to the first one's target"),
                )
                .help("give each jump target its own uprobe entry")
                .severity(Severity::Error),
            );
        }
    }
}

/// True for a parameter that Tetragon reads as not set: null, `false`, `""` or 0.
fn is_unset(v: &Node) -> bool {
    v.is_null()
        || v.as_seq().is_some_and(<[Node]>::is_empty)
        || v.as_bool() == Some(false)
        || v.as_str().is_some_and(str::is_empty)
        || v.as_i64() == Some(0)
}

/// True when Tetragon compiles the hook's matchReturnActions (kprobes, fentries and uprobes
/// with `return: true`).
fn return_actions_compiled(hook: &Hook) -> bool {
    matches!(
        hook.kind,
        HookKind::Kprobe | HookKind::Fentry | HookKind::Uprobe
    ) && hook.returns()
}

/// The parameters `ParseMatchAction` reads for this action.
fn reads(action: &str, hook: &Hook, place: Place) -> &'static [&'static str] {
    match action {
        "Post" => &[
            "rateLimit",
            "rateLimitScope",
            "kernelStackTrace",
            "userStackTrace",
            "imaHash",
        ],
        "Signal" => &["argSig"],
        "Override" if hook.kind == HookKind::Uprobe && place == Place::Entry => &[
            "argError",
            "argRegs",
            "argNewSymbol",
            "argNewAddr",
            "argNewOffset",
        ],
        "Override" => &["argError"],
        "GetUrl" => &["argUrl"],
        "DnsLookup" => &["argFqdn"],
        "TrackSock" | "UntrackSock" => &["argSock"],
        "NotifyEnforcer" => &["argError", "argSig"],
        "Set" => &["argIndex", "argValue"],
        _ => &[],
    }
}

fn check_action(ctx: &Ctx, hook: &Hook, action: &Action, place: Place, out: &mut Vec<Diagnostic>) {
    let Some(name) = &action.action else { return };
    // The CRD no longer knows these, wherever they are written.
    if facts::REMOVED_ACTIONS
        .iter()
        .any(|r| r.eq_ignore_ascii_case(&name.value))
    {
        out.push(
            Diagnostic::new(Code::P045, name.span, format!("`{}` was removed from Tetragon (deprecated since 1.4)", name.value))
                .help("remove it: an arg of type `fd` resolves the file path by itself, so filter the fd argument with Equal on the path"),
        );
        return;
    }
    for (key, span, _) in &action.params {
        if facts::REMOVED_ACTION_FIELDS.contains(&key.as_str()) {
            out.push(
                Diagnostic::new(
                    Code::P045,
                    *span,
                    format!("`{key}` was removed from Tetragon together with FollowFD"),
                )
                .help("remove it"),
            );
        }
    }
    let Some(spec) = facts::action(&name.value) else {
        return;
    };
    // Return actions of other hooks are never compiled (P030 says so).
    if place == Place::Return && !return_actions_compiled(hook) {
        return;
    }
    let action_name = spec.name;

    // What ParseMatchAction and the hook's pre-validation refuse, wherever the action runs.
    check_rate_limit(action_name, action, out);
    check_stack_traces(hook, action_name, action, place, out);

    // Where the action can run: when it is refused or does nothing, advice on its
    // parameters is noise.
    if placement(ctx, hook, action_name, name.span, place, out) {
        return;
    }

    check_required(hook, action_name, name.span, action, out);

    // Parameters this action ignores.
    let reads = reads(action_name, hook, place);
    for (key, span, value) in &action.params {
        if !facts::ACTION_PARAMS.contains(&key.as_str())
            || reads.contains(&key.as_str())
            || matches!(
                key.as_str(),
                "rateLimit" | "kernelStackTrace" | "userStackTrace"
            )
            || value.is_null()
            || value.as_bool() == Some(false)
            || value.as_str().is_some_and(str::is_empty)
        {
            continue;
        }
        out.push(
            Diagnostic::new(Code::P041, *span, format!("{action_name} ignores `{key}`")).help(
                match reads.first() {
                    Some(p) => format!("remove it ({action_name} takes `{p}`)"),
                    None => format!("remove it ({action_name} takes no parameters)"),
                },
            ),
        );
    }
    if action_name == "Override" && hook.kind == HookKind::Uprobe && place == Place::Entry {
        let jump = ["argRegs", "argNewSymbol", "argNewAddr", "argNewOffset"]
            .into_iter()
            .find(|p| action.param(p).is_some_and(|v| !is_unset(v)));
        if let (Some(jump), Some((_, span, _))) = (
            jump,
            action
                .params
                .iter()
                .find(|(k, _, v)| k == "argError" && !v.is_null()),
        ) {
            out.push(
                Diagnostic::new(
                    Code::P041,
                    *span,
                    format!("a uprobe Override with `{jump}` ignores `argError`"),
                )
                .help(if jump == "argRegs" {
                    "remove `argError`, or put the return value in `argRegs` (`rax=...`)"
                        .to_string()
                } else {
                    format!("remove `argError`: a jump with `{jump}` sets no return value")
                }),
            );
        }
    }

    match action_name {
        "Post" => check_post(hook, action, out),
        "Signal" => {
            if let Some(sig) = action.param("argSig") {
                check_signal(sig, false, out);
            }
        }
        "NotifyEnforcer" => {
            if let Some(sig) = action.param("argSig") {
                check_signal(sig, true, out);
            }
            if let Some(err) = action.param("argError") {
                if let Some(v) = err.as_i64() {
                    if i16::try_from(v).is_err() {
                        out.push(
                            Diagnostic::new(
                                Code::P050,
                                err.span,
                                format!("the enforcer keeps argError in 16 bits, so {v} is not the value returned"),
                            )
                            .help("use a negative errno such as -1 (EPERM) or -13 (EACCES)"),
                        );
                    }
                }
            }
        }
        "Override" if matches!(hook.kind, HookKind::Kprobe | HookKind::Lsm) => {
            if let Some(err) = action.param("argError") {
                check_override_error(hook, err, out);
            }
        }
        _ => {}
    }
}

/// `rateLimit` and `rateLimitScope` (P042, P043).
fn check_rate_limit(action_name: &str, action: &Action, out: &mut Vec<Diagnostic>) {
    let limit = action
        .param("rateLimit")
        .filter(|l| !l.scalar_text().is_empty());
    if let Some(limit) = limit {
        let text = limit.scalar_text();
        if action_name != "Post" {
            out.push(
                Diagnostic::new(
                    Code::P042,
                    action
                        .params
                        .iter()
                        .find(|(k, _, _)| k == "rateLimit")
                        .map_or(limit.span, |(_, key, _)| *key),
                    format!(
                        "`rateLimit` only limits Post events; Tetragon refuses it on {action_name}"
                    ),
                )
                .help("move `rateLimit` to a `- action: Post` entry"),
            );
            return;
        }
        match rate_limit_millis(&text) {
            None => out.push(rate_limit_format(&text, limit.span)),
            Some(ms) if ms > u64::from(u32::MAX) => out.push(
                Diagnostic::new(
                    Code::P042,
                    limit.span,
                    format!("Tetragon keeps the rate limit in 32-bit milliseconds, so `{text}` is cut to about 49 days"),
                )
                .help("use at most `1193h`")
                .severity(Severity::Warning),
            ),
            Some(_) => {}
        }
    }
    if action_name != "Post" {
        return;
    }
    let Some(scope) = action.param("rateLimitScope") else {
        return;
    };
    let text = scope.scalar_text();
    if text.is_empty() {
        return;
    }
    let known = facts::RATE_LIMIT_SCOPES.contains(&text.as_str());
    match (known, limit.is_some()) {
        (false, true) => out.push(
            Diagnostic::new(
                Code::P043,
                scope.span,
                format!("`{text}` is not a rate limit scope"),
            )
            .help("use `thread`, `process` or `global` (lowercase)"),
        ),
        (false, false) => out.push(
            Diagnostic::new(
                Code::P043,
                scope.span,
                format!("`{text}` is not a rate limit scope; Tetragon loads this, but without `rateLimit` it ignores the scope, so events are not limited"),
            )
            .help("add `rateLimit:` and use `thread`, `process` or `global` (lowercase)"),
        ),
        (true, false) => out.push(
            Diagnostic::new(
                Code::P043,
                scope.span,
                "Tetragon loads this, but ignores `rateLimitScope` without `rateLimit`, so events are not limited",
            )
            .help("add `rateLimit:`, like `rateLimit: 1m`"),
        ),
        (true, true) => {}
    }
}

/// `kernelStackTrace` and `userStackTrace` (P044).
fn check_stack_traces(
    hook: &Hook,
    action_name: &str,
    action: &Action,
    place: Place,
    out: &mut Vec<Diagnostic>,
) {
    for key in ["kernelStackTrace", "userStackTrace"] {
        let Some(span) = action.flag(key) else {
            continue;
        };
        if action_name == "Post" {
            if hook.kind == HookKind::Lsm && place == Place::Entry {
                out.push(
                    Diagnostic::new(
                        Code::P044,
                        span,
                        format!("LSM hooks do not support `{key}`"),
                    )
                    .help("remove it, or hook the matching security_ function as a kprobe"),
                );
            }
        } else if matches!(hook.kind, HookKind::Kprobe | HookKind::Fentry) && place == Place::Entry
        {
            out.push(
                Diagnostic::new(
                    Code::P044,
                    span,
                    format!("`{key}` only works with the Post action, not {action_name}"),
                )
                .help("add a separate `- action: Post` with the stack trace option"),
            );
        } else {
            out.push(
                Diagnostic::new(
                    Code::P044,
                    span,
                    format!("{action_name} ignores `{key}`: only Post carries stack traces"),
                )
                .help("add a separate `- action: Post` with the stack trace option")
                .severity(Severity::Warning),
            );
        }
    }
}

/// Reports where the action is refused or does nothing; true when it did.
fn placement(
    ctx: &Ctx,
    hook: &Hook,
    action: &str,
    at: Span,
    place: Place,
    out: &mut Vec<Diagnostic>,
) -> bool {
    let enforcement = facts::action(action).is_some_and(|a| a.enforcement);
    let noun = hook.kind.noun();
    let refused = |message: String, help: &str| {
        Diagnostic::new(Code::P048, at, message).help(help.to_string())
    };
    let noop = |message: String, help: &str| {
        Diagnostic::new(
            Code::P048,
            at,
            format!("Tetragon loads this, but {message}"),
        )
        .help(help.to_string())
    };
    let d = match (place, hook.kind, action) {
        (Place::Entry, HookKind::Lsm, _) if !facts::LSM_ACTIONS.contains(&action) => refused(
            format!("LSM hooks do not support the {action} action"),
            &format!(
                "use one of {} on an lsmhook, or hook a kprobe instead",
                facts::LSM_ACTIONS.join(", ")
            ),
        ),
        (_, HookKind::Uprobe | HookKind::Usdt, "GetUrl" | "DnsLookup") => refused(
            format!("{noun}s do not support {action}"),
            "move the action to a kprobe or tracepoint policy",
        ),
        (Place::Entry, HookKind::Fentry, _) if enforcement => refused(
            format!("fentries do not support enforcement actions such as {action} yet"),
            "hook the function as a kprobe (spec.kprobes) to enforce",
        ),
        (Place::Entry, HookKind::Tracepoint, "Override") => noop(
            "a tracepoint is not a function, so Override cannot change a return value there: it does nothing".into(),
            "override on a kprobe of the syscall, or use NotifyEnforcer with an enforcer",
        ),
        (Place::Entry, HookKind::Usdt, "Override") => noop(
            "Override does nothing on a usdt".into(),
            "use Set to change a usdt argument, or a uprobe Override to change a return value",
        ),
        (Place::Entry, HookKind::Uprobe | HookKind::Usdt, "NotifyEnforcer") => noop(
            format!("NotifyEnforcer does nothing on {noun}s"),
            "use Sigkill or Signal, or a uprobe Override",
        ),
        (Place::Entry, _, "Set") if hook.kind != HookKind::Usdt => noop(
            format!("Set only writes usdt arguments; on a {noun} it does nothing"),
            "remove it, or hook the usdt (spec.usdts)",
        ),
        (Place::Return, _, "Override" | "NotifyEnforcer" | "Set") => noop(
            format!("{action} in matchReturnActions does nothing: the function has already returned"),
            "move it to matchActions",
        ),
        (Place::Entry, HookKind::Kprobe, "Override") => match override_target_problem(ctx, hook, at)
        {
            Some(d) => d,
            None => return false,
        },
        _ => return false,
    };
    out.push(d);
    true
}

/// P047: Override on a kprobe that is neither marked as a syscall nor a security_ function.
fn override_target_problem(ctx: &Ctx, hook: &Hook, at: Span) -> Option<Diagnostic> {
    let call = hook.target.as_ref()?;
    let bad = match call.value.strip_prefix("list:") {
        Some(name) => {
            // The first list of that name (a missing one is P072).
            let list = ctx
                .policy
                .spec
                .lists
                .iter()
                .find(|l| l.name.as_ref().is_some_and(|n| n.value == name))?;
            let syscall_list = list.ty.as_ref().is_some_and(|t| {
                t.value.eq_ignore_ascii_case("syscalls")
                    || t.value.eq_ignore_ascii_case("generated_syscalls")
            });
            if syscall_list || hook.is_syscall() {
                return None;
            }
            list.values
                .iter()
                .find(|v| !v.value.starts_with("security_"))?
                .value
                .clone()
        }
        None => {
            if hook.is_syscall() || call.value.starts_with("security_") {
                return None;
            }
            call.value.clone()
        }
    };
    Some(
        Diagnostic::new(
            Code::P047,
            at,
            format!("Override can only be used on syscalls and security_ functions, not on `{bad}`"),
        )
        .help("hook the LSM hook that guards this operation (spec.lsmhooks) and override there, or hook the syscall"),
    )
}

/// What a missing parameter leaves the action doing (P040).
fn check_required(
    hook: &Hook,
    action_name: &str,
    at: Span,
    action: &Action,
    out: &mut Vec<Diagnostic>,
) {
    let missing = |param: &str, out: &mut Vec<Diagnostic>, effect: &str| {
        let written = action.params.iter().find(|(k, _, _)| k == param);
        let (span, message) = match written {
            // Tetragon's file loader refuses a null (the schema's S016, which gives way to this
            // finding at the same key): an error, and the help says what to write.
            Some((_, span, v)) if v.is_null() => {
                out.push(
                    Diagnostic::new(
                        Code::P040,
                        *span,
                        format!("`{param}` has no value: Tetragon's file loader refuses the null, and {action_name} needs one"),
                    )
                    .help(param_help(action_name, param)),
                );
                return;
            }
            Some((_, span, v)) if v.as_str() == Some("") => (
                *span,
                format!("`{param}` is empty: Tetragon loads this, but {action_name} {effect}"),
            ),
            Some(_) => return,
            None => (
                at,
                format!("{action_name} needs `{param}`: Tetragon loads this, but without it {action_name} {effect}"),
            ),
        };
        out.push(Diagnostic::new(Code::P040, span, message).help(param_help(action_name, param)));
    };
    match action_name {
        "Signal" => missing("argSig", out, "sends signal 0, which delivers nothing"),
        "GetUrl" => missing("argUrl", out, "has no URL to fetch"),
        "DnsLookup" => missing("argFqdn", out, "has no name to resolve"),
        "Override" if matches!(hook.kind, HookKind::Kprobe | HookKind::Lsm) => {
            let effect = format!("returns 0, which {}", zero_effect(hook));
            missing("argError", out, &effect);
        }
        "NotifyEnforcer" => {
            let set = |p: &str| action.param(p).is_some_and(|v| !is_unset(v));
            if !set("argError") && !set("argSig") {
                out.push(
                    Diagnostic::new(
                        Code::P040,
                        at,
                        "NotifyEnforcer needs `argError` or `argSig`: Tetragon loads this, but without them the enforcer neither fails the call nor signals",
                    )
                    .help(param_help(action_name, "argError")),
                );
            }
        }
        "Set" if hook.kind == HookKind::Usdt => {
            let index = action.param("argIndex").and_then(Node::as_i64).unwrap_or(0);
            if usize::try_from(index).map_or(true, |i| i >= hook.args.len()) {
                // Tetragon checks the first Set of a usdt; a later one writes nothing.
                let first = hook
                    .selectors
                    .iter()
                    .flat_map(|s| &s.match_actions)
                    .find(|a| a.action.as_ref().is_some_and(|n| n.value == "Set"))
                    .is_some_and(|a| std::ptr::eq(a, action));
                let span = action.param("argIndex").map_or(at, |v| v.span);
                out.push(
                    Diagnostic::new(
                        Code::P040,
                        span,
                        format!(
                            "Set writes the usdt arg at `argIndex` {index}, but the usdt has {} arg{}{}",
                            hook.args.len(),
                            if hook.args.len() == 1 { "" } else { "s" },
                            if first {
                                ""
                            } else {
                                "; Tetragon checks only the first Set and loads this one, but it writes nothing"
                            }
                        ),
                    )
                    .help("declare the arg to write under `args:` (a 4-byte memory operand), and point `argIndex` at its position"),
                );
            }
        }
        _ => {}
    }
}

/// What an Override returning 0 does on this hook.
fn zero_effect(hook: &Hook) -> &'static str {
    let call = hook.target.as_ref().map_or("", |t| t.value.as_str());
    if hook.kind == HookKind::Lsm {
        "tells the LSM hook to allow the operation, so nothing is denied"
    } else if call.starts_with("security_") {
        "lets the security_ function run as usual, so nothing is denied"
    } else if call.starts_with("list:") {
        "skips a syscall and reports success, and lets a security_ function run as usual"
    } else {
        "skips the syscall and reports success without doing its work"
    }
}

/// P050 for Override on kprobes and LSM hooks.
fn check_override_error(hook: &Hook, err: &Node, out: &mut Vec<Diagnostic>) {
    let Some(v) = err.as_i64() else { return };
    let call = hook.target.as_ref().map_or("", |t| t.value.as_str());
    let (message, severity) = if v == 0 {
        // On an LSM hook or a security_ function (fmod_ret) an Override with 0 changes nothing.
        if hook.kind == HookKind::Lsm || call.starts_with("security_") {
            (
                format!("Tetragon loads this, but argError 0 {}", zero_effect(hook)),
                Severity::Error,
            )
        } else {
            (
                format!("argError 0 {}", zero_effect(hook)),
                Severity::Warning,
            )
        }
    } else if hook.kind == HookKind::Lsm && !(-4095..0).contains(&v) {
        (
            format!("an LSM hook can only return an errno (-4095 to -1); Tetragon turns {v} into -1 (EPERM)"),
            Severity::Warning,
        )
    } else {
        return;
    };
    out.push(
        Diagnostic::new(Code::P050, err.span, message)
            .help("use a negative errno such as -1 (EPERM) or -13 (EACCES)")
            .severity(severity),
    );
}

fn param_help(action: &str, param: &str) -> String {
    match (action, param) {
        ("Signal", _) => "add `argSig:` with the signal number, for example `argSig: 9` (SIGKILL) or `argSig: 19` (SIGSTOP)".into(),
        ("Override" | "NotifyEnforcer", _) => "add `argError:` with a negative errno, for example `argError: -1` (EPERM)".into(),
        ("GetUrl", _) => "add `argUrl:` with the URL to fetch, for example `argUrl: https://canary.example.com/hit`".into(),
        ("DnsLookup", _) => "add `argFqdn:` with the name to resolve, for example `argFqdn: canary.example.com`".into(),
        _ => format!("add `{param}:`"),
    }
}

fn check_post(hook: &Hook, action: &Action, out: &mut Vec<Diagnostic>) {
    if let Some(span) = action.flag("imaHash") {
        let hook_name = hook.target.as_ref().map_or("", |t| t.value.as_str());
        if hook.kind != HookKind::Lsm {
            out.push(
                Diagnostic::new(Code::P041, span, "`imaHash` is only computed on LSM hooks")
                    .help("remove it, or move the policy to an lsmhook"),
            );
        } else if !facts::IMA_HOOKS.contains(&hook_name) {
            out.push(
                Diagnostic::new(Code::P041, span, format!("IMA hashes are not computed on the `{hook_name}` hook; `imaHash` is ignored"))
                    .help(format!("IMA works on: {}", facts::IMA_HOOKS.join(", "))),
            );
        }
    }
}

/// The rate limit in milliseconds, as Tetragon computes it before capping it to 32 bits:
/// `N`, `Ns`, `Nm` or `Nh` (upper case units too) with N a 32-bit unsigned decimal number.
/// `None` for a text Tetragon refuses.
fn rate_limit_millis(text: &str) -> Option<u64> {
    let (digits, multiplier) = match text.as_bytes().last()? {
        b's' | b'S' => (&text[..text.len() - 1], 1),
        b'm' | b'M' => (&text[..text.len() - 1], 60),
        b'h' | b'H' => (&text[..text.len() - 1], 3600),
        _ => (text, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n: u32 = digits.parse().ok()?;
    Some(u64::from(n) * multiplier * 1000)
}

/// Milliseconds in one unit of a rate or a duration as people write them (`s`, `sec`,
/// `minute`, `hrs`, `d`, ...).
fn unit_millis(unit: &str) -> Option<u64> {
    Some(match unit {
        "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" => 1,
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000,
        "m" | "min" | "mins" | "minute" | "minutes" => 60_000,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        "w" | "week" | "weeks" => 7 * 86_400_000,
        _ => return None,
    })
}

/// A duration as people write it: `1d`, `90 sec`, `1.5m`, `1m30s`, `2 hours`, `minute`
/// (one). Milliseconds; None when it does not read as one.
fn duration_millis(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = if digits == 0 {
            // A bare unit: one of it (`minute`), only on its own.
            if rest.len() != text.len() {
                return None;
            }
            1.0
        } else {
            rest[..digits].parse().ok()?
        };
        rest = rest[digits..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = unit_millis(&rest[..unit_len])?;
        total += number * unit as f64;
        rest = rest[unit_len..].trim_start();
    }
    Some(total)
}

/// A rate written as a count per interval (`5/minute`, `5 per minute`, `10rpm`, `1/s`,
/// `100 events per hour`): the count and the interval in milliseconds.
fn count_per_interval(text: &str) -> Option<(f64, f64)> {
    for (suffix, unit) in [("rps", 1_000.0), ("rpm", 60_000.0), ("rph", 3_600_000.0)] {
        if let Some(n) = text.strip_suffix(suffix) {
            return Some((n.trim().parse().ok()?, unit));
        }
    }
    let (count, per) = text
        .split_once('/')
        .or_else(|| text.split_once(" per "))
        .or_else(|| text.split_once(" every "))?;
    let count = count.trim();
    // `5 events`, `10 times`, `1 req`.
    let count = count.split_once(' ').map_or(count, |(n, word)| {
        if word.chars().all(|c| c.is_ascii_alphabetic()) {
            n
        } else {
            count
        }
    });
    let count: f64 = count.parse().ok()?;
    Some((count, duration_millis(per)?))
}

/// A whole number of milliseconds as Tetragon's `rateLimit` (whole seconds, minutes or hours),
/// rounded up to a whole second, and whether that was exact.
fn tetragon_interval(ms: f64) -> (String, bool) {
    let secs = (ms / 1000.0).ceil().max(1.0) as u64;
    let exact = (secs as f64 * 1000.0 - ms).abs() < 0.5;
    let text = if secs % 3600 == 0 {
        format!("{}h", secs / 3600)
    } else if secs % 60 == 0 {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    };
    (text, exact)
}

/// P042 for a `rateLimit` Tetragon cannot parse, with the value it meant written Tetragon's
/// way when it reads as a rate (`5/minute`) or a duration (`1d`).
fn rate_limit_format(text: &str, span: Span) -> Diagnostic {
    let lower = text.trim().to_ascii_lowercase();
    if let Some((count, per)) = count_per_interval(&lower).filter(|(c, p)| *c > 0.0 && *p > 0.0) {
        let interval = per / count;
        let (value, exact) = tetragon_interval(interval);
        let help = if interval < 1000.0 {
            "one event in less than a second is more often than Tetragon can write: its shortest interval is `1s` (at most one event a second); write `rateLimit: 1s`, or leave the limit out".to_string()
        } else if exact {
            format!(
                "at most one event every {}: write `rateLimit: {value}`",
                plain_duration(interval)
            )
        } else {
            format!(
                "Tetragon counts whole seconds: write `rateLimit: {value}` (at most one event every {}, a little less often than `{text}`)",
                plain_duration((interval / 1000.0).ceil() * 1000.0)
            )
        };
        return Diagnostic::new(
            Code::P042,
            span,
            format!("`{text}` is a count of events, but Tetragon's rateLimit is an interval: after it posts an event, it drops the same event (same hook and arguments, from the same thread by default) until the interval has passed"),
        )
        .help(help);
    }
    let message = format!(
        "`{text}` is not a rate limit: Tetragon takes a whole number with an optional unit s, m or h"
    );
    match duration_millis(&lower).filter(|ms| *ms > 0.0) {
        Some(ms) if ms < 1000.0 => Diagnostic::new(Code::P042, span, message)
            .help("the shortest interval Tetragon takes is `1s`; write `rateLimit: 1s`, or leave the limit out"),
        Some(ms) => {
            let (value, exact) = tetragon_interval(ms);
            Diagnostic::new(Code::P042, span, message).help(if exact {
                format!("write `rateLimit: {value}`")
            } else {
                format!("Tetragon counts whole seconds: write `rateLimit: {value}`")
            })
        }
        None => Diagnostic::new(Code::P042, span, message).help(
            "write the interval between events: a whole number with an optional unit s, m or h, like `30s`, `5m` or `1h`",
        ),
    }
}

/// A duration in words, after "every": "12 seconds", "minute", "2 hours".
fn plain_duration(ms: f64) -> String {
    let secs = (ms / 1000.0).round() as u64;
    let (n, unit) = if secs % 3600 == 0 {
        (secs / 3600, "hour")
    } else if secs % 60 == 0 {
        (secs / 60, "minute")
    } else {
        (secs, "second")
    };
    if n == 1 {
        unit.to_string()
    } else {
        format!("{n} {unit}s")
    }
}

/// True for a `rateLimit` Tetragon accepts: `N`, `Ns`, `Nm`, `Nh` (upper case units too) with N
/// a 32-bit unsigned number.
pub fn valid_rate_limit(text: &str) -> bool {
    rate_limit_millis(text).is_some()
}

/// P049: `argSig` out of the signal range. `notify` for NotifyEnforcer, where 0 means no
/// signal. Negative values are a schema error (the field is unsigned).
fn check_signal(sig: &Node, notify: bool, out: &mut Vec<Diagnostic>) {
    let Some(v) = sig.as_i64() else { return };
    if (v == 0 && !notify) || v > facts::MAX_SIGNAL {
        out.push(
            Diagnostic::new(
                Code::P049,
                sig.span,
                format!(
                    "{v} is not a signal number (1 to {}): Tetragon loads this, but no signal is sent",
                    facts::MAX_SIGNAL
                ),
            )
            .help("use 9 for SIGKILL, 15 for SIGTERM, 19 for SIGSTOP"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits() {
        for ok in ["5", "5m", "30s", "1h", "10M", "0", "4294967295"] {
            assert!(valid_rate_limit(ok), "{ok}");
        }
        for bad in [
            "",
            "m",
            "5mm",
            "1d",
            "-1",
            "+1",
            "99999999999",
            "1.5m",
            "4294967296",
        ] {
            assert!(!valid_rate_limit(bad), "{bad}");
        }
        assert_eq!(rate_limit_millis("2m"), Some(120_000));
        assert!(rate_limit_millis("1194h").unwrap() > u64::from(u32::MAX));
        assert!(rate_limit_millis("1193h").unwrap() <= u64::from(u32::MAX));
    }

    fn help_of(text: &str) -> String {
        rate_limit_format(text, Span::default())
            .help
            .unwrap_or_default()
    }

    #[test]
    fn rate_limits_written_otherwise() {
        for (text, want) in [
            ("5/minute", "`rateLimit: 12s`"),
            ("5 per minute", "`rateLimit: 12s`"),
            ("5 events per minute", "`rateLimit: 12s`"),
            ("1/minute", "`rateLimit: 1m`"),
            ("1/s", "`rateLimit: 1s`"),
            ("10rpm", "`rateLimit: 6s`"),
            ("100/hour", "`rateLimit: 36s`"),
            ("2/1h", "`rateLimit: 30m`"),
            ("7/min", "`rateLimit: 9s`"),
            ("10/s", "`rateLimit: 1s`"),
            ("1d", "`rateLimit: 24h`"),
            ("90 sec", "`rateLimit: 90s`"),
            ("1m30s", "`rateLimit: 90s`"),
            ("1.5h", "`rateLimit: 90m`"),
            ("2 hours", "`rateLimit: 2h`"),
            ("500ms", "`rateLimit: 1s`"),
            ("5 M", "`rateLimit: 5m`"),
        ] {
            let help = help_of(text);
            assert!(help.contains(want), "{text}: {help}");
        }
        assert!(help_of("1/minute").contains("every minute"));
        assert!(help_of("5/minute").contains("every 12 seconds"));
        for text in ["5mm", "-1", "+1", "fast", "0/minute", "1/0s", "1.2.3s"] {
            assert!(
                help_of(text).contains("like `30s`"),
                "{text}: {}",
                help_of(text)
            );
        }
    }
}
