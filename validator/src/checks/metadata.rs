//! Tags, messages, lists and selector macros.

use crate::codes::{Code, CodeInfo};
use crate::diagnostic::{Diagnostic, Severity};
use crate::facts::{self, HookKind};
use crate::model::{List, Policy};

/// `P070`.
pub const P070: CodeInfo = CodeInfo {
    code: "P070",
    name: "invalid-tag",
    severity: Severity::Error,
    summary: "A tag shorter than 2 bytes (refused) or longer than 128 bytes (cut).",
    explanation: "Tags are copied into every event. Tetragon measures them in bytes (UTF-8): it refuses a tag of fewer than 2 bytes (\"custom tag n%d: too short\"), so a single ASCII character fails the policy while one accented letter passes, and it cuts longer tags to 128 bytes without a word (a warning), so a search for the full tag finds nothing. At most 16 tags fit (a schema check).",
    tetragon: "pkg/sensors/tracing/tags.go GetPolicyTags, escapeTag; called by generickprobe.go addKprobe, generictracepoint.go createGenericTracepoint, genericlsm.go addLsm, genericuprobe.go initUprobeMisc, genericusdt.go addUsdt",
};

/// `P071`.
pub const P071: CodeInfo = CodeInfo {
    code: "P071",
    name: "invalid-message",
    severity: Severity::Error,
    summary: "A message of 1 byte (refused) or more than 256 bytes (cut).",
    explanation: "`message` is copied into every event. Tetragon measures it in bytes (UTF-8): it refuses a one-byte message (\"message field is too short\") and cuts a message to 256 bytes, logging only a warning (a warning here too). An empty message means no message.",
    tetragon: "pkg/sensors/tracing/message.go getPolicyMessage; called by generickprobe.go addKprobe, generictracepoint.go createGenericTracepoint, genericlsm.go addLsm, genericuprobe.go initUprobeMisc, genericusdt.go addUsdt",
};

/// `P072`.
pub const P072: CodeInfo = CodeInfo {
    code: "P072",
    name: "unknown-list",
    severity: Severity::Error,
    summary: "`list:NAME` that names no entry of spec.lists.",
    explanation: "A kprobe or fentry `call`, an enforcer call or an InMap value of the form `list:NAME` stands for the values of the list NAME in `spec.lists` (the first list of that name). A name with no list fails the policy (\"error list '%s' not found\").",
    tetragon: "pkg/sensors/tracing/generickprobe.go preValidateKprobe and lists_linux.go isList (calls); enforcer.go createEnforcerSensor (enforcer calls); lists_linux.go listReader.Read (InMap)",
};

/// `P073`.
pub const P073: CodeInfo = CodeInfo {
    code: "P073",
    name: "invalid-list",
    severity: Severity::Error,
    summary: "A list whose type and contents disagree (generated list with values, ftrace list without pattern, syscall list with a non-syscall, ...).",
    explanation: "Tetragon checks every list of a policy. `generated_syscalls` and `generated_ftrace` lists are filled by Tetragon and must not have `values` (\"error generated list '%s' has values\"); `generated_ftrace` needs a non-empty `pattern` (\"must specify pattern\"). A `syscalls` list used as a call (a kprobe's or fentry's `call`, or one of the enforcer's `calls`) holds syscall names: `sys_NAME`, optionally with an arch prefix (`__x64_sys_NAME`) or an ABI (`x64/sys_NAME`, `i386/`, `arm64/`, `arm32/`); anything else fails the policy (\"invalid syscall list element\", from `SyscallVal.Symbol`, which `getSyscallListSymbols` calls for both); when no call uses the list this is a warning (its values as InMap values are syscall numbers, and `SyscallVal.ID` takes `openat` as well as `sys_openat`).\n\nLoads, but cannot do what it says (error): a list without values that a kprobe or fentry `call` uses (Tetragon skips a hook with no functions, so it hooks nothing) or that an InMap value uses (it never matches).\n\nWarnings: the same when no call or InMap value of this policy uses the name (an enforcer's calls may, which policyctl does not follow), as nothing the policy says then depends on it; and a list whose name an earlier list already has: Tetragon does not refuse it, it takes the first list of a name everywhere (`isList`, `listReader.Read`), so this one's values are never used.",
    tetragon: "pkg/sensors/tracing/lists_linux.go validateList, preValidateLists, isList and listReader.Read (the first list of a name), getListSymbols, getSyscallListSymbols; generickprobe.go preValidateKprobe (a hook whose calls are all missing is ignored); enforcer.go createEnforcerSensor (a `syscalls` list among its calls); syscall_list.go SyscallVal.Symbol, SyscallVal.ID, parseSyscallValue, validateABI",
};

/// `P074`.
pub const P074: CodeInfo = CodeInfo {
    code: "P074",
    name: "undefined-macro",
    severity: Severity::Error,
    summary: "A selector lists a macro that spec.selectorsMacros does not define.",
    explanation: "`selectors[].macros` names entries of `spec.selectorsMacros` whose filters are merged into the selector. An undefined name fails the policy (\"undefined macro '%s'\", or \"macro '%s' is used in selector, but no macros were defined in policy spec\" when there are none).",
    tetragon: "pkg/sensors/tracing/generic.go appendMacrosSelectors",
};

/// Run the checks.
pub fn check(policy: &Policy, out: &mut Vec<Diagnostic>) {
    let spec = &policy.spec;
    for hook in &spec.hooks {
        for tag in &hook.tags {
            // Tetragon measures tags in bytes.
            let n = tag.value.len();
            if n < facts::MIN_TAG_LEN {
                out.push(
                    Diagnostic::new(
                        Code::P070,
                        tag.span,
                        format!(
                            "the tag `{}` is too short; tags have at least {} bytes",
                            tag.value,
                            facts::MIN_TAG_LEN
                        ),
                    )
                    .help("use a longer, descriptive tag"),
                );
            } else if n > facts::MAX_TAG_LEN {
                out.push(
                    Diagnostic::new(
                        Code::P070,
                        tag.span,
                        format!(
                            "this tag has {n} bytes; Tetragon cuts it to {}",
                            facts::MAX_TAG_LEN
                        ),
                    )
                    .help("shorten the tag")
                    .severity(Severity::Warning),
                );
            }
        }
        if let Some(msg) = &hook.message {
            // Tetragon measures the message in bytes; an empty one is no message.
            let n = msg.value.len();
            if n > 0 && n < facts::MIN_MESSAGE_LEN {
                out.push(
                    Diagnostic::new(
                        Code::P071,
                        msg.span,
                        format!("a message needs at least {} bytes", facts::MIN_MESSAGE_LEN),
                    )
                    .help("write a message that says what the event means"),
                );
            } else if n > facts::MAX_MESSAGE_LEN {
                out.push(
                    Diagnostic::new(
                        Code::P071,
                        msg.span,
                        format!(
                            "this message has {n} bytes; Tetragon cuts it to {}",
                            facts::MAX_MESSAGE_LEN
                        ),
                    )
                    .help("shorten the message")
                    .severity(Severity::Warning),
                );
            }
        }
        // Only kprobe and fentry calls expand lists.
        let expands = matches!(hook.kind, HookKind::Kprobe | HookKind::Fentry);
        if let Some(call) = hook.target.as_ref().filter(|_| expands) {
            if let Some(name) = call.value.strip_prefix("list:") {
                if find_list(policy, name).is_none() {
                    let names: Vec<&str> = spec
                        .lists
                        .iter()
                        .filter_map(|l| l.name.as_ref().map(|n| n.value.as_str()))
                        .collect();
                    let d = Diagnostic::new(
                        Code::P072,
                        call.span,
                        format!("there is no list named `{name}` in spec.lists"),
                    );
                    out.push(match crate::suggest::did_you_mean(name, &names) {
                        Some(s) => d.help(format!("did you mean `list:{s}`?")),
                        None => d.help(
                            "define it under `spec.lists` with `name:`, `type:` and `values:`",
                        ),
                    });
                }
            }
        }
        for sel in &hook.selectors {
            for m in &sel.macros {
                if !spec.macros.iter().any(|d| d.value == m.value) {
                    let message = if spec.macros.is_empty() {
                        format!(
                            "the macro `{}` is used, but the policy has no spec.selectorsMacros",
                            m.value
                        )
                    } else {
                        format!(
                            "the macro `{}` is not defined in spec.selectorsMacros",
                            m.value
                        )
                    };
                    out.push(
                        Diagnostic::new(Code::P074, m.span, message)
                            .help("define it under `spec.selectorsMacros`, or fix the name"),
                    );
                }
            }
        }
    }
    for (i, list) in spec.lists.iter().enumerate() {
        check_list(policy, i, list, out);
    }
}

/// The list Tetragon uses for `list:NAME`: the first of that name.
fn find_list<'a>(policy: &'a Policy, name: &str) -> Option<&'a List> {
    policy
        .spec
        .lists
        .iter()
        .find(|l| l.name.as_ref().is_some_and(|n| n.value == name))
}

/// True when an InMap or NotInMap value of a tracepoint (the only hooks that read list values)
/// is `list:NAME`.
fn used_by_in_map(policy: &Policy, name: &str) -> bool {
    policy
        .spec
        .hooks
        .iter()
        .filter(|h| h.kind == HookKind::Tracepoint)
        .flat_map(|h| &h.selectors)
        .flat_map(|s| &s.match_args)
        .filter(|f| {
            f.operator
                .as_ref()
                .is_some_and(|o| o.value == "InMap" || o.value == "NotInMap")
        })
        .flat_map(|f| &f.values)
        .any(|v| v.value.strip_prefix("list:") == Some(name))
}

/// True when a kprobe or fentry `call` is `list:NAME`.
fn used_by_call(policy: &Policy, name: &str) -> bool {
    policy.spec.hooks.iter().any(|h| {
        matches!(h.kind, HookKind::Kprobe | HookKind::Fentry)
            && h.target
                .as_ref()
                .and_then(|t| t.value.strip_prefix("list:"))
                == Some(name)
    })
}

/// True when one of the enforcer's `calls` is `list:NAME`.
fn used_by_enforcer(policy: &Policy, name: &str) -> bool {
    policy
        .spec
        .enforcer_calls
        .iter()
        .any(|c| c.value.strip_prefix("list:") == Some(name))
}

fn check_list(policy: &Policy, i: usize, list: &List, out: &mut Vec<Diagnostic>) {
    let spec = &policy.spec;
    let ty = list.ty.as_ref().map(|t| t.value.as_str());
    let at = list.ty.as_ref().map_or(list.span, |t| t.span);
    let mut shadowed = false;
    let by_call = list
        .name
        .as_ref()
        .is_some_and(|n| used_by_call(policy, &n.value));
    let by_in_map = list
        .name
        .as_ref()
        .is_some_and(|n| used_by_in_map(policy, &n.value));
    let by_enforcer = list
        .name
        .as_ref()
        .is_some_and(|n| used_by_enforcer(policy, &n.value));
    if let Some(name) = &list.name {
        if let Some(first) = spec.lists[..i]
            .iter()
            .find_map(|l| l.name.as_ref().filter(|n| n.value == name.value))
        {
            shadowed = true;
            let d = Diagnostic::new(
                Code::P073,
                name.span,
                format!(
                    "another list is already named `{}`; {}",
                    name.value,
                    if by_call || by_in_map {
                        "Tetragon loads this, but uses the first list of a name, so this one's values are never used"
                    } else {
                        "Tetragon uses the first and ignores this one"
                    }
                ),
            )
            .help("give each list its own name")
            .related(first.span, "the list Tetragon uses");
            // Tetragon does not refuse it (the first wins): a warning, used or not.
            out.push(d.severity(Severity::Warning));
        }
    }
    match ty {
        Some("generated_syscalls" | "generated_ftrace") if !list.values.is_empty() => out.push(
            Diagnostic::new(
                Code::P073,
                list.values[0].span,
                format!(
                    "a `{}` list is filled by Tetragon and cannot have values",
                    ty.unwrap_or("")
                ),
            )
            .help("remove `values`, or make it a `syscalls` list"),
        ),
        Some("generated_ftrace") if list.pattern.as_ref().is_none_or(|p| p.value.is_empty()) => out
            .push(
                Diagnostic::new(
                    Code::P073,
                    list.pattern.as_ref().map_or(at, |p| p.span),
                    "a `generated_ftrace` list needs a `pattern`",
                )
                .help("add `pattern:` with a regular expression over kernel function names"),
            ),
        Some("syscalls") | None if list.values.is_empty() && !shadowed => {
            let d = Diagnostic::new(
                Code::P073,
                at,
                match (by_call, by_in_map) {
                    (true, _) => "this list has no values: Tetragon loads this, but the hook on it hooks nothing",
                    (false, true) => "this list has no values: Tetragon loads this, but InMap on it never matches",
                    (false, false) => "this list has no values: a hook on it would hook nothing and InMap on it would match nothing",
                },
            )
            .help("add the functions or syscalls under `values:`");
            out.push(if by_call || by_in_map {
                d
            } else {
                d.severity(Severity::Warning)
            });
        }
        Some("syscalls") if !shadowed => {
            // Tetragon turns the values into function names when a call (a kprobe's or the
            // enforcer's) uses the list.
            for v in &list.values {
                if let Some(problem) = syscall_value_problem(&v.value) {
                    let d = Diagnostic::new(Code::P073, v.span, problem).help(
                        "syscall lists hold names like `sys_openat`, `__x64_sys_openat` or `i386/sys_open`",
                    );
                    // Tetragon's getSyscallListSymbols refuses it for a kprobe's call and
                    // for the enforcer's alike
                    out.push(if by_call || by_enforcer {
                        d
                    } else {
                        d.severity(Severity::Warning)
                    });
                }
            }
        }
        _ => {}
    }
}

/// Why Tetragon cannot turn a `syscalls` list value into a function name, if it cannot.
fn syscall_value_problem(value: &str) -> Option<String> {
    let parts: Vec<&str> = value.split('/').collect();
    // 32-bit ABIs name their syscalls differently (`socketcall`): only 64-bit names are known.
    let mut known_abi = true;
    let name = match parts.as_slice() {
        [one] => cut_syscall_prefix(one).1,
        [abi, rest] => {
            let (arch, name) = cut_syscall_prefix(rest);
            let ok = match arch {
                None => matches!(*abi, "x64" | "i386" | "arm64" | "arm32"),
                Some("amd64") => matches!(*abi, "x64" | "i386"),
                Some("i386") => *abi == "i386",
                Some(_) => matches!(*abi, "arm64" | "arm32"),
            };
            if !ok {
                return Some(format!(
                    "`{abi}` is not an ABI for `{rest}`; Tetragon knows x64, i386, arm64 and arm32"
                ));
            }
            known_abi = matches!(*abi, "x64" | "arm64");
            name
        }
        _ => return Some(format!("`{value}` has more than one `/`")),
    };
    if let Some(bare) = name.strip_prefix("sys_") {
        if known_abi && !crate::checks::hooks::is_known_syscall(bare) {
            return Some(format!(
                "`{value}` is not a Linux syscall: Tetragon finds no `__x64_sys_{bare}` (or arm64 wrapper)"
            ));
        }
        None
    } else {
        Some(format!("`{value}` is not a syscall name"))
    }
}

/// The architecture of a syscall prefix Tetragon knows, and the name without it.
fn cut_syscall_prefix(symbol: &str) -> (Option<&'static str>, &str) {
    for (arch, prefix) in [
        ("amd64", "__x64_"),
        ("arm64", "__arm64_"),
        ("i386", "__ia32_"),
    ] {
        if let Some(rest) = symbol.strip_prefix(prefix) {
            return (Some(arch), rest);
        }
    }
    (None, symbol)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syscall_values() {
        for ok in [
            "sys_openat",
            "__x64_sys_openat",
            "__ia32_sys_open",
            "x64/sys_openat",
            "i386/sys_open",
            "i386/__ia32_sys_open",
            "arm32/__arm64_sys_openat",
            "i386/__x64_sys_open",
        ] {
            assert_eq!(syscall_value_problem(ok), None, "{ok}");
        }
        for bad in [
            "ksys_read",
            "openat",
            "__ia32_compat_sys_open",
            "__s390x_sys_open",
            "x86/sys_open",
            "x64/__ia32_sys_open",
            "a/b/sys_open",
            "sys_dupXXX",
            "x64/sys_fake",
        ] {
            assert!(syscall_value_problem(bad).is_some(), "{bad}");
        }
    }
}
