//! Actions: parameters required and ignored, removed actions, rate limits, stack traces,
//! NotifyEnforcer and enforcers, where Override and other actions can run, signal numbers.

use crate::codes::{Code, CodeInfo};
use crate::diagnostic::{Diagnostic, Severity};
use crate::facts::{self, HookKind};
use crate::model::{Action, Hook, Policy};
use crate::yaml::Node;

/// `P040`.
pub const P040: CodeInfo = CodeInfo {
    code: "P040",
    name: "missing-action-parameter",
    severity: Severity::Error,
    summary: "An action without the parameter it needs (Signal without argSig, Override without argError, ...).",
    explanation: "Signal sends `argSig`, Override returns `argError`, GetUrl fetches `argUrl`, DnsLookup resolves `argFqdn`, Set writes `argValue` at `argIndex`. Without the parameter Tetragon uses 0: Signal sends signal 0 (which only checks the process exists), Override makes the function return 0 (success), and GetUrl/DnsLookup have nothing to contact. The policy loads and the action does nothing useful. A parameter written with no value (`argSig:`) is missing too.",
    tetragon: "not checked by Tetragon (zero values are used)",
};

/// `P041`.
pub const P041: CodeInfo = CodeInfo {
    code: "P041",
    name: "unused-action-parameter",
    severity: Severity::Warning,
    summary: "An action parameter the action ignores (argSig on Sigkill, argError on Post, ...).",
    explanation: "Each action reads its own parameters and ignores the rest. A parameter on the wrong action usually means the action is not the one the author meant (`argSig: 19` on Sigkill still sends SIGKILL), or a parameter was left over from an edit.",
    tetragon: "not checked by Tetragon (ignored)",
};

/// `P042`.
pub const P042: CodeInfo = CodeInfo {
    code: "P042",
    name: "rate-limit",
    severity: Severity::Error,
    summary: "`rateLimit` in the wrong format, or on an action other than Post.",
    explanation: "`rateLimit` is a number with an optional unit: `30` or `30s` seconds, `5m` minutes, `1h` hours. It limits Post events only; Tetragon refuses it on other actions (\"rate limiting can only applied to post action\") and refuses other formats (\"rateLimit value %s is invalid\").",
    tetragon: "pkg/selectors/kernel.go parseRateLimit",
};

/// `P043`.
pub const P043: CodeInfo = CodeInfo {
    code: "P043",
    name: "rate-limit-scope",
    severity: Severity::Warning,
    summary: "`rateLimitScope` that is invalid, or set without a `rateLimit`.",
    explanation: "`rateLimitScope` is `thread` (the default), `process` or `global`, in lowercase; Tetragon refuses other values. Without a `rateLimit` it is silently ignored, so events are not limited at all.",
    tetragon: "pkg/selectors/kernel.go parseRateLimit (scope without limit is ignored)",
};

/// `P044`.
pub const P044: CodeInfo = CodeInfo {
    code: "P044",
    name: "stack-trace-action",
    severity: Severity::Error,
    summary: "kernelStackTrace or userStackTrace on an action other than Post, or on an LSM hook.",
    explanation: "Stack traces travel in the event, so only Post can carry them (\"kernelStackTrace or userStackTrace can only be used along Post action\"). LSM hooks do not support them at all (\"stacktrace actions are not supported\").",
    tetragon: "pkg/sensors/tracing/generickprobe.go; genericlsm.go",
};

/// `P045`.
pub const P045: CodeInfo = CodeInfo {
    code: "P045",
    name: "removed-action",
    severity: Severity::Error,
    summary: "FollowFD, UnfollowFD or CopyFD (or argFd / argName), removed from Tetragon.",
    explanation: "The fd-tracking actions were deprecated in Tetragon 1.4 and removed from the CRD after 1.7: current Tetragon refuses them. They are no longer needed: an arg of type `fd` resolves the file's path by itself, so `sys_write`'s fd can be filtered with Equal on the path directly, without hooking `fd_install` and `sys_close`.",
    tetragon: "removed from the CRD enum (commit efc187aba, after v1.7.0)",
};

/// `P046`.
pub const P046: CodeInfo = CodeInfo {
    code: "P046",
    name: "notify-enforcer",
    severity: Severity::Error,
    summary: "NotifyEnforcer without an `enforcers` section, or more than one enforcer.",
    explanation: "NotifyEnforcer only asks the policy's enforcer to act; the enforcer, declared in `spec.enforcers` with the syscalls it guards, does the work. Without one the policy used to load and enforce nothing; Tetragon now refuses it (\"NotifyEnforcer action specified, but spec contains no enforcers\"). A policy supports a single enforcer.",
    tetragon: "pkg/sensors/tracing/generickprobe.go, generictracepoint.go, enforcer.go",
};

/// `P047`.
pub const P047: CodeInfo = CodeInfo {
    code: "P047",
    name: "override-target",
    severity: Severity::Error,
    summary: "Override on a kprobe that is neither a syscall nor a security_ function.",
    explanation: "A kprobe can only change a function's return value where the kernel allows it: syscalls (bpf_override_return on functions marked for error injection) and `security_*` functions (through fmod_ret). Tetragon refuses Override anywhere else (\"override action can be used only with syscalls and security_ hooks\"). To deny an operation on another function, hook the LSM hook that guards it (lsmhooks) and override there.",
    tetragon: "pkg/sensors/tracing/generickprobe.go validateOverride",
};

/// `P048`.
pub const P048: CodeInfo = CodeInfo {
    code: "P048",
    name: "action-for-hook",
    severity: Severity::Error,
    summary: "An action this hook kind does not support (GetUrl on a uprobe, TrackSock on an LSM hook, Sigkill on an fentry, ...).",
    explanation: "LSM hooks support Post, NoPost, Sigkill, Signal and Override; uprobes and usdts do not support GetUrl and DnsLookup; fentries support no enforcement action yet; tracepoints cannot Override (they are not functions). Tetragon refuses the policy, or for tracepoint Override loads it and the override never happens.",
    tetragon: "genericlsm.go, genericuprobe.go, genericusdt.go, genericfentry.go (tracepoint Override: not checked)",
};

/// `P049`.
pub const P049: CodeInfo = CodeInfo {
    code: "P049",
    name: "signal-number",
    severity: Severity::Error,
    summary: "argSig that is not a signal number (1 to 64).",
    explanation: "`argSig` is the number the kernel sends: 9 for SIGKILL, 15 for SIGTERM, 19 for SIGSTOP, up to 64 for real-time signals. 0 sends nothing (it only checks that the process exists) and numbers above 64 fail in the kernel, so the action does nothing.",
    tetragon: "not checked by Tetragon",
};

/// `P050`.
pub const P050: CodeInfo = CodeInfo {
    code: "P050",
    name: "override-error-value",
    severity: Severity::Warning,
    summary: "Override with an argError of 0 or more.",
    explanation: "Kernel functions report errors as negative errno values: -1 (EPERM), -13 (EACCES), -2 (ENOENT). With `argError: 0` the overridden function reports success without doing its work; on an LSM hook that means \"allow\", so nothing is denied. A positive value is not an errno and callers may misread it.",
    tetragon: "not checked by Tetragon",
};

/// Run the checks.
pub fn check(policy: &Policy, out: &mut Vec<Diagnostic>) {
    let mut notify = false;
    for hook in &policy.spec.hooks {
        for sel in &hook.selectors {
            for action in sel.match_actions.iter().chain(&sel.match_return_actions) {
                if action
                    .action
                    .as_ref()
                    .is_some_and(|a| a.value == "NotifyEnforcer")
                    && !notify
                {
                    notify = true;
                    if policy.spec.enforcers.is_empty() {
                        let a = action.action.as_ref().map_or(action.span, |a| a.span);
                        out.push(
                            Diagnostic::new(Code::P046, a, "NotifyEnforcer needs an enforcer, but the policy has no `spec.enforcers`")
                                .help("add `enforcers:` under spec with the `calls` (syscalls) the enforcer guards"),
                        );
                    }
                }
                check_action(hook, action, out);
            }
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

fn check_action(hook: &Hook, action: &Action, out: &mut Vec<Diagnostic>) {
    let Some(name) = &action.action else { return };
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

    // Where the action can run.
    if let Some(problem) = placement_problem(hook, spec.name) {
        out.push(Diagnostic::new(problem.0, name.span, problem.1).help(problem.2));
    }

    // Required parameters.
    let uprobe_override =
        spec.name == "Override" && matches!(hook.kind, HookKind::Uprobe | HookKind::Usdt);
    if uprobe_override {
        let any = [
            "argError",
            "argRegs",
            "argNewSymbol",
            "argNewAddr",
            "argNewOffset",
        ]
        .iter()
        .any(|p| action.param(p).is_some());
        if !any {
            out.push(
                Diagnostic::new(Code::P040, name.span, "a uprobe Override needs `argError`, `argRegs` or one of argNewSymbol/argNewAddr/argNewOffset")
                    .help("add `argError: -1` to make the function return an error"),
            );
        }
    } else {
        for req in spec.required {
            if action.param(req).is_some() {
                continue;
            }
            let (span, message) = match action.empty_param(req) {
                Some(s) => (
                    s,
                    format!("`{req}` has no value, so {} has nothing to use", spec.name),
                ),
                None => (name.span, format!("{} needs `{req}`", spec.name)),
            };
            out.push(Diagnostic::new(Code::P040, span, message).help(param_help(spec.name, req)));
        }
    }

    // Parameters this action ignores.
    for (key, span, value) in &action.params {
        if !facts::ACTION_PARAMS.contains(&key.as_str())
            || spec.required.contains(&key.as_str())
            || spec.optional.contains(&key.as_str())
        {
            continue;
        }
        let stack = matches!(key.as_str(), "kernelStackTrace" | "userStackTrace");
        if stack {
            if value.as_bool() == Some(true) {
                out.push(
                    Diagnostic::new(
                        Code::P044,
                        *span,
                        format!("`{key}` only works with the Post action, not {}", spec.name),
                    )
                    .help("add a separate `- action: Post` with the stack trace option"),
                );
            }
            continue;
        }
        if key == "rateLimit" {
            out.push(
                Diagnostic::new(
                    Code::P042,
                    *span,
                    format!(
                        "`rateLimit` only limits Post events; Tetragon refuses it on {}",
                        spec.name
                    ),
                )
                .help("move `rateLimit` to a `- action: Post` entry"),
            );
            continue;
        }
        out.push(
            Diagnostic::new(Code::P041, *span, format!("{} ignores `{key}`", spec.name)).help(
                match spec.required.first().or(spec.optional.first()) {
                    Some(p) => format!("remove it ({} takes `{p}`)", spec.name),
                    None => format!("remove it ({} takes no parameters)", spec.name),
                },
            ),
        );
    }

    match spec.name {
        "Post" => check_post(hook, action, out),
        "Signal" | "NotifyEnforcer" => {
            if let Some(sig) = action.param("argSig") {
                check_signal(sig, out);
            }
        }
        _ => {}
    }
    if matches!(spec.name, "Override" | "NotifyEnforcer") {
        if let Some(err) = action.param("argError") {
            if let Some(v) = err.as_i64() {
                if v >= 0 {
                    let what = if v == 0 {
                        if hook.kind == HookKind::Lsm {
                            "0 tells the LSM hook to allow the operation, so nothing is denied"
                                .to_string()
                        } else {
                            "0 makes the function report success without doing its work".to_string()
                        }
                    } else {
                        format!("{v} is not an error: kernel errors are negative errno values")
                    };
                    out.push(
                        Diagnostic::new(Code::P050, err.span, format!("argError {what}"))
                            .help("use a negative errno such as -1 (EPERM) or -13 (EACCES)"),
                    );
                }
            }
        }
    }
}

fn placement_problem(hook: &Hook, action: &str) -> Option<(Code, String, String)> {
    let enforcement = facts::action(action).is_some_and(|a| a.enforcement);
    match hook.kind {
        HookKind::Lsm if !facts::LSM_ACTIONS.contains(&action) => Some((
            Code::P048,
            format!("LSM hooks do not support the {action} action"),
            format!(
                "use one of {} on an lsmhook, or hook a kprobe instead",
                facts::LSM_ACTIONS.join(", ")
            ),
        )),
        HookKind::Uprobe | HookKind::Usdt if matches!(action, "GetUrl" | "DnsLookup") => Some((
            Code::P048,
            format!("{}s do not support {action}", hook.kind.noun()),
            "move the action to a kprobe or tracepoint policy".into(),
        )),
        HookKind::Fentry if enforcement => Some((
            Code::P048,
            format!("fentries do not support enforcement actions such as {action} yet"),
            "hook the function as a kprobe (spec.kprobes) to enforce".into(),
        )),
        HookKind::Tracepoint if action == "Override" => Some((
            Code::P048,
            "a tracepoint is not a function, so Override cannot change a return value there".into(),
            "override on a kprobe of the syscall, or use NotifyEnforcer with an enforcer".into(),
        )),
        HookKind::Kprobe if action == "Override" => {
            let call = hook.target.as_ref().map_or("", |t| t.value.as_str());
            if hook.is_syscall() || call.starts_with("security_") || call.starts_with("list:") {
                None
            } else {
                Some((
                    Code::P047,
                    format!("Override can only be used on syscalls and security_ functions, not on `{call}`"),
                    "hook the LSM hook that guards this operation (spec.lsmhooks) and override there, or hook the syscall".into(),
                ))
            }
        }
        _ => None,
    }
}

fn param_help(action: &str, param: &str) -> String {
    match (action, param) {
        ("Signal", _) => "add `argSig:` with the signal number, for example `argSig: 9` (SIGKILL) or `argSig: 19` (SIGSTOP)".into(),
        ("Override", _) => "add `argError:` with a negative errno, for example `argError: -1` (EPERM)".into(),
        ("GetUrl", _) => "add `argUrl:` with the URL to fetch, for example `argUrl: https://canary.example.com/hit`".into(),
        ("DnsLookup", _) => "add `argFqdn:` with the name to resolve, for example `argFqdn: canary.example.com`".into(),
        _ => format!("add `{param}:`"),
    }
}

fn check_post(hook: &Hook, action: &Action, out: &mut Vec<Diagnostic>) {
    let lsm = hook.kind == HookKind::Lsm;
    if lsm {
        for key in ["kernelStackTrace", "userStackTrace"] {
            if let Some(span) = action.flag(key) {
                out.push(
                    Diagnostic::new(
                        Code::P044,
                        span,
                        format!("LSM hooks do not support `{key}`"),
                    )
                    .help("remove it, or hook the matching security_ function as a kprobe"),
                );
            }
        }
    }
    if let Some(span) = action.flag("imaHash") {
        let hook_name = hook.target.as_ref().map_or("", |t| t.value.as_str());
        if !lsm {
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
    let limit = action.param("rateLimit");
    if let Some(limit) = limit {
        let text = limit.scalar_text();
        if !valid_rate_limit(&text) {
            out.push(
                Diagnostic::new(
                    Code::P042,
                    limit.span,
                    format!("`{text}` is not a rate limit"),
                )
                .help("write a number with an optional unit s, m or h, like `30s`, `5m` or `1h`"),
            );
        }
    }
    if let Some(scope) = action.param("rateLimitScope") {
        let text = scope.scalar_text();
        if !facts::RATE_LIMIT_SCOPES.contains(&text.as_str()) {
            out.push(
                Diagnostic::new(
                    Code::P043,
                    scope.span,
                    format!("`{text}` is not a rate limit scope"),
                )
                .help("use `thread`, `process` or `global` (lowercase)")
                .severity(Severity::Error),
            );
        } else if limit.is_none() {
            out.push(
                Diagnostic::new(
                    Code::P043,
                    scope.span,
                    "`rateLimitScope` without `rateLimit` is ignored, so events are not limited",
                )
                .help("add `rateLimit:`, like `rateLimit: 1m`"),
            );
        }
    }
}

/// `N`, `Ns`, `Nm`, `Nh` (upper case units too) with N a 32-bit unsigned number.
pub fn valid_rate_limit(text: &str) -> bool {
    let digits = text.trim_end_matches(['s', 'S', 'm', 'M', 'h', 'H']);
    let unit_len = text.len() - digits.len();
    unit_len <= 1
        && !digits.is_empty()
        && digits.bytes().all(|c| c.is_ascii_digit())
        && digits.parse::<u32>().is_ok()
}

fn check_signal(sig: &Node, out: &mut Vec<Diagnostic>) {
    let Some(v) = sig.as_i64() else { return };
    if !(1..=facts::MAX_SIGNAL).contains(&v) {
        out.push(
            Diagnostic::new(
                Code::P049,
                sig.span,
                format!("{v} is not a signal number (1 to {})", facts::MAX_SIGNAL),
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
        for ok in ["5", "5m", "30s", "1h", "10M"] {
            assert!(valid_rate_limit(ok), "{ok}");
        }
        for bad in ["", "m", "5mm", "1d", "-1", "99999999999", "1.5m"] {
            assert!(!valid_rate_limit(bad), "{bad}");
        }
    }
}
