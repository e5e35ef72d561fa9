//! Selector structure: how many selectors, filters and actions, and whether argument filters
//! refer to declared args.

use crate::codes::{Code, CodeInfo};
use crate::diagnostic::{Diagnostic, Severity};
use crate::facts;
use crate::model::{ArgFilter, Hook, Policy, Selector};

/// `P010`.
pub const P010: CodeInfo = CodeInfo {
    code: "P010",
    name: "too-many-selectors",
    severity: Severity::Error,
    summary: "More than 5 selectors on one hook.",
    explanation: "The BPF programs evaluate at most 5 selectors per hook (`MAX_SELECTORS`). Tetragon refuses more (\"no more than 5 selectors supported\"). The CRD does not say so, so schema-only editors do not catch it. Merge selectors whose actions are the same: values inside one filter are ORed.",
    tetragon: "pkg/selectors/selectors.go MaxSelectors; bpf/process/event_config.h",
};

/// `P011`.
pub const P011: CodeInfo = CodeInfo {
    code: "P011",
    name: "too-many-arg-filters",
    severity: Severity::Error,
    summary: "More than 5 matchArgs (with matchData) in one selector.",
    explanation: "A selector holds at most 5 argument filters on kernels with large BPF programs (5.3+), and 1 on older kernels (\"parseMatchArgs: supports up to %d filters\").",
    tetragon: "pkg/selectors/kernel.go ParseMatchArgs",
};

/// `P012`.
pub const P012: CodeInfo = CodeInfo {
    code: "P012",
    name: "too-many-actions",
    severity: Severity::Error,
    summary: "More than 3 actions in one selector.",
    explanation: "The BPF side runs at most 3 actions per selector (`MAX_ACTIONS`); Tetragon refuses more (\"only 3 actions are support for selector\").",
    tetragon: "pkg/selectors/kernel.go ParseMatchActions; bpf/process/types/basic.h",
};

/// `P016`.
pub const P016: CodeInfo = CodeInfo {
    code: "P016",
    name: "too-many-filters",
    severity: Severity::Error,
    summary: "More matchNamespaces or matchNamespaceChanges filters than a selector holds.",
    explanation: "A selector holds at most 10 matchNamespaces filters (4 on kernels older than 5.3) and a single matchNamespaceChanges filter. Tetragon refuses more when it loads the policy.",
    tetragon: "pkg/selectors/kernel.go ParseMatchNamespaces, ParseMatchNamespaceChanges",
};

/// `P020`.
pub const P020: CodeInfo = CodeInfo {
    code: "P020",
    name: "unknown-arg-index",
    severity: Severity::Error,
    summary: "A matchArgs `index` (or `args` position) that no declared arg has.",
    explanation: "`matchArgs[].index` names the `index` of an entry of the hook's `args`; only declared args are read, so only they can be filtered (\"argFilter for unknown index\"). An `index` left out means 0. `args: [n]` counts positions in the args list instead, and `matchData` indexes count positions in `data`.",
    tetragon: "pkg/selectors/kernel.go argIndexType",
};

/// `P030`.
pub const P030: CodeInfo = CodeInfo {
    code: "P030",
    name: "return-filter-without-return",
    severity: Severity::Error,
    summary: "matchReturnArgs or matchReturnActions on a hook without `return: true`.",
    explanation: "Return filters and return actions run when the hooked function returns, which only happens with `return: true` (and a `returnArg`). Without it they are never evaluated: the policy loads and silently does nothing of what they say. LSM hooks do not support matchReturnArgs at all.",
    tetragon: "genericlsm.go (`MatchReturnArgs selector is not supported`); otherwise not checked",
};

/// Run the checks.
pub fn check(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.spec.hooks {
        if hook.selectors.len() > facts::MAX_SELECTORS {
            out.push(
                Diagnostic::new(
                    Code::P010,
                    hook.selectors[facts::MAX_SELECTORS].span,
                    format!(
                        "{} has {} selectors; at most {} are evaluated",
                        hook.describe(),
                        hook.selectors.len(),
                        facts::MAX_SELECTORS
                    ),
                )
                .help("merge selectors with the same actions: values inside one filter are ORed"),
            );
        }
        for sel in &hook.selectors {
            check_selector(hook, sel, out);
        }
    }
}

fn check_selector(hook: &Hook, sel: &Selector, out: &mut Vec<Diagnostic>) {
    let filters = sel.match_args.len() + sel.match_data.len();
    if filters > facts::MAX_ARG_FILTERS {
        let extra = sel
            .match_args
            .iter()
            .chain(&sel.match_data)
            .nth(facts::MAX_ARG_FILTERS)
            .map_or(sel.span, |f| f.span);
        out.push(
            Diagnostic::new(
                Code::P011,
                extra,
                format!(
                    "this selector has {filters} argument filters; at most {} fit",
                    facts::MAX_ARG_FILTERS
                ),
            )
            .help("split the selector in two, or combine values of the same arg into one filter"),
        );
    }
    for (list, key) in [
        (&sel.match_actions, "matchActions"),
        (&sel.match_return_actions, "matchReturnActions"),
    ] {
        if list.len() > facts::MAX_ACTIONS {
            out.push(
                Diagnostic::new(
                    Code::P012,
                    list[facts::MAX_ACTIONS].span,
                    format!(
                        "`{key}` has {} actions; at most {} run",
                        list.len(),
                        facts::MAX_ACTIONS
                    ),
                )
                .help("keep at most 3 actions; Post is the default and can be left out"),
            );
        }
    }
    if sel.match_namespaces.len() > facts::MAX_NAMESPACE_FILTERS {
        out.push(
            Diagnostic::new(
                Code::P016,
                sel.match_namespaces[facts::MAX_NAMESPACE_FILTERS].span,
                format!(
                    "this selector has {} matchNamespaces filters; at most {} fit",
                    sel.match_namespaces.len(),
                    facts::MAX_NAMESPACE_FILTERS
                ),
            )
            .help("remove filters; one filter per namespace kind is enough"),
        );
    }
    if sel.match_namespace_changes.len() > 1 {
        out.push(
            Diagnostic::new(
                Code::P016,
                sel.match_namespace_changes[1].span,
                "a selector holds a single matchNamespaceChanges filter",
            )
            .help("put all namespace kinds in the `values` of one filter"),
        );
    }
    for f in &sel.match_args {
        check_arg_ref(hook, f, out);
    }
    for f in &sel.match_data {
        let idx = f.index.as_ref().map_or(0, |i| i.value);
        if idx < 0 || idx as usize >= hook.data.len() {
            let span = f.index.as_ref().map_or(f.span, |i| i.span);
            out.push(
                Diagnostic::new(
                    Code::P020,
                    span,
                    format!(
                        "matchData index {idx} is past the {} data entr{}",
                        hook.data.len(),
                        if hook.data.len() == 1 { "y" } else { "ies" }
                    ),
                )
                .help("matchData indexes count positions in `data`, from 0"),
            );
        }
    }
    let returns = hook.returns() && hook.return_arg_key.is_some();
    if !returns {
        for key in ["matchReturnArgs", "matchReturnActions"] {
            if let Some(span) = sel.key(key) {
                let why = if hook.kind == facts::HookKind::Lsm && key == "matchReturnArgs" {
                    "LSM hooks do not support matchReturnArgs".to_string()
                } else {
                    format!("{} has no `return: true` with a `returnArg`, so `{key}` is never evaluated", hook.describe())
                };
                out.push(Diagnostic::new(Code::P030, span, why).help(
                    if hook.kind == facts::HookKind::Lsm {
                        "filter on the hook's arguments with matchArgs instead"
                    } else {
                        "add `return: true` and a `returnArg`, or remove it"
                    },
                ));
            }
        }
    }
}

fn check_arg_ref(hook: &Hook, f: &ArgFilter, out: &mut Vec<Diagnostic>) {
    if !f.args.is_empty() {
        for a in &f.args {
            if a.value < 0 || a.value as usize >= hook.args.len() {
                out.push(
                    Diagnostic::new(Code::P020, a.span, format!("`args: [{}]` is a position in the args list, which has {} entr{}", a.value, hook.args.len(), if hook.args.len() == 1 { "y" } else { "ies" }))
                        .help("`args` counts positions in the hook's args list from 0 (not their `index`)"),
                );
            }
        }
        return;
    }
    let idx = f.index.as_ref().map_or(0, |i| i.value);
    if hook.filtered_arg(idx).is_none() {
        let declared = hook.declared_indexes();
        let span = f.index.as_ref().map_or(f.span, |i| i.span);
        let what = if f.index.is_some() {
            format!("index {idx}")
        } else {
            "index 0 (the default)".to_string()
        };
        out.push(
            Diagnostic::new(
                Code::P020,
                span,
                format!(
                    "matchArgs {what} refers to no declared arg of {}",
                    hook.describe()
                ),
            )
            .help(if declared.is_empty() {
                format!(
                    "declare the argument in `args` (index {idx} with its type) so that it is read"
                )
            } else {
                format!(
                    "use one of the declared arg indexes ({}) or declare index {idx} in `args`",
                    declared.join(", ")
                )
            }),
        );
    }
}
