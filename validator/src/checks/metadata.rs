//! Tags, messages, lists and selector macros.

use crate::codes::{Code, CodeInfo};
use crate::diagnostic::{Diagnostic, Severity};
use crate::facts;
use crate::model::Policy;

/// `P070`.
pub const P070: CodeInfo = CodeInfo {
    code: "P070",
    name: "invalid-tag",
    severity: Severity::Error,
    summary: "A tag shorter than 2 characters (refused) or longer than 128 (cut).",
    explanation: "Tags are copied into every event. Tetragon refuses a tag of fewer than 2 characters (\"custom tag n%d: too short\") and cuts longer ones to 128 characters without a word, so a search for the full tag finds nothing.",
    tetragon: "pkg/sensors/tracing/tags.go",
};

/// `P071`.
pub const P071: CodeInfo = CodeInfo {
    code: "P071",
    name: "invalid-message",
    severity: Severity::Error,
    summary: "A message of 1 character (refused) or more than 256 (cut).",
    explanation: "`message` is copied into every event. Tetragon refuses a one-character message (\"message field is too short\") and cuts messages to 256 characters, logging only a warning.",
    tetragon: "pkg/sensors/tracing/message.go",
};

/// `P072`.
pub const P072: CodeInfo = CodeInfo {
    code: "P072",
    name: "unknown-list",
    severity: Severity::Error,
    summary: "`list:NAME` that names no entry of spec.lists.",
    explanation: "A `call`, an enforcer call or an InMap value of the form `list:NAME` expands to the functions of the list NAME in `spec.lists`. A name with no list fails the policy (\"error list '%s' not found\").",
    tetragon: "pkg/sensors/tracing/lists_linux.go",
};

/// `P073`.
pub const P073: CodeInfo = CodeInfo {
    code: "P073",
    name: "invalid-list",
    severity: Severity::Error,
    summary: "A list whose type and contents disagree (generated list with values, ftrace list without pattern, ...).",
    explanation: "`generated_syscalls` and `generated_ftrace` lists are filled by Tetragon and must not have `values` (\"error generated list '%s' has values\"); `generated_ftrace` needs a `pattern` (\"must specify pattern\"). A `syscalls` list needs values, each a syscall name. Two lists may not share a name.",
    tetragon: "pkg/sensors/tracing/lists_linux.go, syscall_list.go",
};

/// `P074`.
pub const P074: CodeInfo = CodeInfo {
    code: "P074",
    name: "undefined-macro",
    severity: Severity::Error,
    summary: "A selector lists a macro that spec.selectorsMacros does not define.",
    explanation: "`selectors[].macros` names entries of `spec.selectorsMacros` whose filters are merged into the selector. An undefined name fails the policy (\"undefined macro '%s'\").",
    tetragon: "pkg/sensors/tracing/generic.go appendMacrosSelectors",
};

/// Run the checks.
pub fn check(policy: &Policy, out: &mut Vec<Diagnostic>) {
    let spec = &policy.spec;
    for hook in &spec.hooks {
        for tag in &hook.tags {
            let n = tag.value.chars().count();
            if n < facts::MIN_TAG_LEN {
                out.push(
                    Diagnostic::new(
                        Code::P070,
                        tag.span,
                        format!(
                            "the tag `{}` is too short; tags have at least {} characters",
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
                            "this tag has {n} characters; Tetragon cuts it to {}",
                            facts::MAX_TAG_LEN
                        ),
                    )
                    .help("shorten the tag")
                    .severity(Severity::Warning),
                );
            }
        }
        if let Some(msg) = &hook.message {
            let n = msg.value.chars().count();
            if n > 0 && n < facts::MIN_MESSAGE_LEN {
                out.push(
                    Diagnostic::new(
                        Code::P071,
                        msg.span,
                        "a message needs at least 2 characters",
                    )
                    .help("write a message that says what the event means"),
                );
            } else if n > facts::MAX_MESSAGE_LEN {
                out.push(
                    Diagnostic::new(
                        Code::P071,
                        msg.span,
                        format!(
                            "this message has {n} characters; Tetragon cuts it to {}",
                            facts::MAX_MESSAGE_LEN
                        ),
                    )
                    .help("shorten the message")
                    .severity(Severity::Warning),
                );
            }
        }
        if let Some(call) = &hook.target {
            if let Some(name) = call.value.strip_prefix("list:") {
                if !spec
                    .lists
                    .iter()
                    .any(|l| l.name.as_ref().is_some_and(|n| n.value == name))
                {
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
                    out.push(
                        Diagnostic::new(
                            Code::P074,
                            m.span,
                            format!(
                                "the macro `{}` is not defined in spec.selectorsMacros",
                                m.value
                            ),
                        )
                        .help("define it under `spec.selectorsMacros`, or fix the name"),
                    );
                }
            }
        }
    }
    for (i, list) in spec.lists.iter().enumerate() {
        let ty = list.ty.as_ref().map(|t| t.value.as_str());
        let at = list.ty.as_ref().map_or(list.span, |t| t.span);
        if let Some(name) = &list.name {
            if spec.lists[..i]
                .iter()
                .any(|l| l.name.as_ref().is_some_and(|n| n.value == name.value))
            {
                out.push(
                    Diagnostic::new(
                        Code::P073,
                        name.span,
                        format!("another list is already named `{}`", name.value),
                    )
                    .help("give each list its own name"),
                );
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
            Some("generated_ftrace") if list.pattern.is_none() => out.push(
                Diagnostic::new(
                    Code::P073,
                    at,
                    "a `generated_ftrace` list needs a `pattern`",
                )
                .help("add `pattern:` with a regular expression over kernel function names"),
            ),
            Some("syscalls") | None if list.values.is_empty() => out.push(
                Diagnostic::new(
                    Code::P073,
                    at,
                    "this list has no values, so hooks on it hook nothing",
                )
                .help("add the functions or syscalls under `values:`"),
            ),
            Some("syscalls") => {
                for v in &list.values {
                    let name = v.value.rsplit('/').next().unwrap_or(&v.value);
                    if !crate::checks::hooks::is_syscall_name(name) {
                        out.push(
                            Diagnostic::new(
                                Code::P073,
                                v.span,
                                format!("`{}` is not a syscall name", v.value),
                            )
                            .help(
                                "syscall lists hold names like `sys_openat` (or `x64/sys_openat`)",
                            ),
                        );
                    }
                }
            }
            _ => {}
        }
    }
}
