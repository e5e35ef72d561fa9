//! Selector structure: how many selectors, filters and actions Tetragon's selector compiler
//! (`pkg/selectors/kernel.go`) takes, and which argument each matchArgs / matchData /
//! matchReturnArgs filter reads, resolved the way Tetragon resolves it.

use super::actions;
use crate::codes::{Code, CodeInfo};
use crate::diagnostic::{Diagnostic, Severity};
use crate::facts::{self, HookKind};
use crate::model::{Arg, ArgFilter, Hook, Policy, Selector, SetFilter, Spanned};

/// `P010`.
pub const P010: CodeInfo = CodeInfo {
    code: "P010",
    name: "too-many-selectors",
    severity: Severity::Error,
    summary: "More than 5 selectors on one hook.",
    explanation: "Tetragon compiles at most 5 selectors per hook, the number of selector slots the BPF programs have (`MAX_SELECTORS` in bpf/process/event_config.h), and refuses a hook with more when it loads the policy (\"no more than 5 selectors supported\"). This holds for every hook kind. The CRD does not say so, so schema-only editors do not catch it. Merge selectors whose actions are the same: the values inside one filter are ORed.",
    tetragon: "pkg/selectors/kernel.go createKernelSelectorState (\"no more than %d selectors supported (%d provided)\"), MaxSelectors in pkg/selectors/selectors.go",
};

/// `P011`.
pub const P011: CodeInfo = CodeInfo {
    code: "P011",
    name: "too-many-arg-filters",
    severity: Severity::Error,
    summary: "More than 5 argument filters (matchArgs with matchData, or matchReturnArgs) in one selector.",
    explanation: "A selector holds at most 5 argument filters on kernels with large BPF programs (5.3 and later) and 1 on older kernels; matchArgs and matchData count together. Tetragon refuses more when it loads the policy (\"parseMatchArgs: supports up to 5 filters\"). The same limit applies to matchReturnArgs on a hook with `return: true` (without it they are not compiled, see P030). Filters brought in by `macros` count too, but policyctl does not expand macros.",
    tetragon: "pkg/selectors/kernel.go ParseMatchArgs (\"parseMatchArgs: supports up to %d filters (%d provided)\")",
};

/// `P012`.
pub const P012: CodeInfo = CodeInfo {
    code: "P012",
    name: "too-many-actions",
    severity: Severity::Error,
    summary: "More than 3 actions in one selector.",
    explanation: "Tetragon compiles at most 3 actions per selector and refuses more when it loads the policy (\"only 3 actions are support for selector\"); Post is the default when there is none. This holds for matchActions, and for matchReturnActions on a hook with `return: true` (without it they are not compiled, see P030).",
    tetragon: "pkg/selectors/kernel.go ParseMatchActions (\"only %d actions are support for selector (current number of values is %d)\")",
};

/// `P016`.
pub const P016: CodeInfo = CodeInfo {
    code: "P016",
    name: "too-many-filters",
    severity: Severity::Error,
    summary: "More process filters of one kind than a selector holds.",
    explanation: "Refused (error): a selector holds at most 10 matchNamespaces filters (4 on kernels older than 5.3) and a single matchNamespaceChanges filter; Tetragon refuses more when it loads the policy.\n\nTetragon accepts several matchPIDs, matchCapabilities or matchCapabilityChanges filters in one selector, but the BPF side evaluates only the first filter of each of these kinds.\n\nLoads, but cannot do what it says (error): a second matchCapabilityChanges filter, the last section of the selector, is never read, so its condition is not applied and the selector matches processes it was meant to exclude.\n\nWarnings: the BPF side takes the bytes of a second matchPIDs or matchCapabilities filter for the next section of the selector, so the process filters after it are misread and the selector may never match. What it then does depends on the bytes, and Tetragon's own example policies (sys_clock_settime, sys_pivot_root) write two matchPIDs filters in one selector, so these stay warnings. Put all values in one filter, or use several selectors.",
    tetragon: "pkg/selectors/kernel.go ParseMatchNamespaces (\"matchNamespace supports up to %d filters\"), ParseMatchNamespaceChanges (\"matchNamespaceChanges supports only a single filter\"), ParseMatchPids, ParseMatchCaps, ParseMatchCapabilityChanges (no limit); bpf/process/pfilter.h selector_process_filter (reads one filter of each kind)",
};

/// `P020`.
pub const P020: CodeInfo = CodeInfo {
    code: "P020",
    name: "unknown-arg-index",
    severity: Severity::Error,
    summary: "An argument filter whose `index` (or `args` position) Tetragon cannot resolve.",
    explanation: "Tetragon resolves each argument filter to one of the hook's declared arguments when it loads the policy, and refuses the policy when it finds none:\n\n- matchArgs `index` must equal the `index` of an entry of `args` (\"argFilter for unknown index\"); an `index` left out means 0. For tracepoints, Tetragon first rewrites each filter index that equals a declared arg's field index to that arg's position in `args`, one arg after the other, and then looks the result up as a position, so both forms work (when an earlier rewrite lands on a later arg's field index the filter reads that later arg: a warning, not an error, because the written index is then also a position in `args`, and reading it as a position may be what was meant).\n- matchData `index` is a position in `data` (\"matchData index out of bonds\").\n- matchReturnArgs `index` must equal the `returnArg`'s `index`.\n- `args: [n, ...]` replaces `index` with a position in the list (`args`, `data`, or the returnArg alone); Tetragon reads the first entry (and the second for CapabilitiesGained) and refuses a position past the end (\"wrong ArgSelector.Arg value\").\n\nCelExpr filters name their arguments in the expression (`arg0`, `arg1`, ...), so Tetragon does not look at their `index` at all.",
    tetragon: "pkg/selectors/kernel.go ParseMatchArg/argIndexType (\"argFilter for unknown index\"), argIndexTypeFromArgs (\"wrong ArgSelector.Arg value %d, max(%d)\"), dataIndexType (\"matchData index out of bonds\"); pkg/sensors/tracing/generictracepoint.go InitKernelSelectors (tracepoint index rewrite)",
};

/// `P030`.
pub const P030: CodeInfo = CodeInfo {
    code: "P030",
    name: "return-filter-without-return",
    severity: Severity::Error,
    summary: "matchReturnArgs or matchReturnActions on a hook without `return: true`.",
    explanation: "Return filters and return actions run when the hooked function returns. Tetragon compiles them only for kprobes, fentries and uprobes with `return: true` (and a `returnArg`).\n\nRefused (error): LSM hooks refuse matchReturnArgs outright (\"MatchReturnArgs selector is not supported\").\n\nLoads, but cannot do what it says (error): everywhere else (a kprobe, fentry or uprobe without `return: true`, a tracepoint, a usdt, matchReturnActions on an LSM hook) Tetragon loads the policy and silently ignores them: the return filter filters nothing and the return actions never run.",
    tetragon: "pkg/sensors/tracing/generickprobe.go addKprobe and genericuprobe.go initUprobeSelectors (return selectors compiled only when `return` is true); genericlsm.go isValidLsmSelectors (\"MatchReturnArgs selector is not supported\")",
};

/// `P076`.
pub const P076: CodeInfo = CodeInfo {
    code: "P076",
    name: "split-condition",
    severity: Severity::Warning,
    summary: "One condition split over two selectors of a hook: selectors are alternatives, so the enforcing action runs on calls that match either part.",
    explanation: "Tetragon tries a hook's selectors in order as alternatives: the first selector whose filters all match gives the actions, and the selectors after it are not looked at (a short-circuited OR). Inside one selector every filter must match (AND). Tetragon loads any arrangement of selectors, so it never says when a condition meant as \"this file AND this binary\" was written as two selectors. Two shapes are reported:\n\n- Two selectors whose filters are of different kinds and that run the same enforcing action (Sigkill, Signal, Override, NotifyEnforcer): selector 1 holds matchArgs `/etc/shadow` and Sigkill, selector 2 matchBinaries `/usr/bin/cat` and Sigkill. The policy kills every process that opens /etc/shadow and every cat, whatever it opens. To mean both at once, merge them into one selector. Selectors whose filters share a kind (two matchArgs with different files, two matchBinaries) are plain alternatives and are not reported, nor are selectors whose actions differ or only post events.\n- A selector with filters and no actions, followed by a selector with an enforcing action and no filter, usually a stray `-` before `matchActions`. The calls the filters match take the first selector, whose default action is Post, and the enforcing action runs on every other call: the opposite of what was meant. Tetragon's own example `override-security` (Override on `security_inode_mkdir` for every binary but bash) and the deny-nsenter policy of its \"Security Observability with eBPF\" book have this shape.\n\nAn OR may be meant, so this is a warning; `policy-mode: monitor` turns enforcement off and is not reported. Selectors with `macros` are skipped (policyctl does not expand them).",
    tetragon: "not checked by Tetragon: bpf/process/generic_calls.h generic_filter_arg, filter_args and next_selidx (the first selector whose filters pass gives the actions); bpf/process/pfilter.h selector_process_filter and bpf/process/types/basic.h selector_arg_offset (every filter of one selector must pass); pkg/selectors/kernel.go InitKernelSelectorState (each selector compiled on its own)",
};

/// Which list of a selector an argument filter belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FilterList {
    /// `matchArgs`.
    Args,
    /// `matchData`.
    Data,
    /// `matchReturnArgs`.
    Return,
}

/// One entry of the list Tetragon resolves a filter against (`sig` in kernel.go).
#[derive(Clone, Copy, Debug)]
pub(crate) enum SigArg<'a> {
    /// A declared arg.
    Declared(&'a Arg),
    /// A tracepoint field Tetragon adds to the list because a `sizeArgIndex` names it; its
    /// type comes from the tracepoint's format.
    SizeField,
}

/// The list a filter of `list` is resolved against, each entry with the index a filter's
/// `index` is compared with: the arg's `index` for matchArgs and matchReturnArgs, the
/// position for matchData and for tracepoints (whose filter indexes are rewritten first).
pub(crate) fn sig<'a>(hook: &'a Hook, list: FilterList) -> Vec<(i64, SigArg<'a>)> {
    let declared_index = |a: &Arg| a.index.as_ref().map_or(0, |i| i.value);
    match list {
        FilterList::Args if hook.kind == HookKind::Tracepoint => tracepoint_args(hook)
            .into_iter()
            .enumerate()
            .map(|(pos, (_, a))| (pos as i64, a))
            .collect(),
        FilterList::Args => hook
            .args
            .iter()
            .map(|a| (declared_index(a), SigArg::Declared(a)))
            .collect(),
        FilterList::Data => hook
            .data
            .iter()
            .enumerate()
            .map(|(pos, a)| (pos as i64, SigArg::Declared(a)))
            .collect(),
        FilterList::Return => hook
            .return_arg
            .iter()
            .map(|a| (declared_index(a), SigArg::Declared(a)))
            .collect(),
    }
}

/// A tracepoint's argument list as Tetragon builds it: the declared args, then (non-raw
/// tracepoints only) each field a `sizeArgIndex` names that no arg reads, each with its field
/// index.
fn tracepoint_args(hook: &Hook) -> Vec<(i64, SigArg<'_>)> {
    let mut out: Vec<(i64, SigArg<'_>)> = hook
        .args
        .iter()
        .map(|a| (a.index.as_ref().map_or(0, |i| i.value), SigArg::Declared(a)))
        .collect();
    if !hook.raw {
        for a in &hook.args {
            if let Some(size) = a.size_arg_index.as_ref().filter(|s| s.value > 0) {
                let field = size.value - 1;
                if !out.iter().any(|(f, _)| *f == field) {
                    out.push((field, SigArg::SizeField));
                }
            }
        }
    }
    out
}

/// The index a matchArgs filter of a tracepoint ends up with after Tetragon's rewrite: each
/// arg in turn turns an index equal to its field index into its position.
fn tracepoint_rewrite(hook: &Hook, index: i64) -> i64 {
    let mut idx = index;
    for (pos, (field, _)) in tracepoint_args(hook).into_iter().enumerate() {
        if idx == field {
            idx = pos as i64;
        }
    }
    idx
}

/// The entry of `sig` a filter reads, resolved the way Tetragon resolves it; None when Tetragon
/// finds none (and refuses the policy). CelExpr filters are not resolved by Tetragon at all.
pub(crate) fn filter_target<'a>(
    hook: &'a Hook,
    f: &ArgFilter,
    list: FilterList,
) -> Option<SigArg<'a>> {
    let sig = sig(hook, list);
    if let Some(pos) = f.args.first() {
        return usize::try_from(pos.value)
            .ok()
            .and_then(|p| sig.get(p))
            .map(|(_, a)| *a);
    }
    let mut idx = f.index.as_ref().map_or(0, |i| i.value);
    if list == FilterList::Args && hook.kind == HookKind::Tracepoint {
        idx = tracepoint_rewrite(hook, idx);
    }
    sig.iter().find(|(i, _)| *i == idx).map(|(_, a)| *a)
}

/// True when Tetragon compiles the hook's return selectors (matchReturnArgs and
/// matchReturnActions).
pub(crate) fn compiles_return_selectors(hook: &Hook) -> bool {
    matches!(
        hook.kind,
        HookKind::Kprobe | HookKind::Fentry | HookKind::Uprobe
    ) && hook.returns()
        && hook.return_arg.is_some()
}

/// Is this filter a CelExpr?
fn is_cel(f: &ArgFilter) -> bool {
    f.operator.as_ref().is_some_and(|o| o.value == "CelExpr")
}

/// Run the checks.
pub fn check(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.spec.hooks {
        if hook.selectors.len() > facts::MAX_SELECTORS {
            out.push(
                Diagnostic::new(
                    Code::P010,
                    hook.selectors[facts::MAX_SELECTORS].span,
                    format!(
                        "{} has {} selectors; Tetragon compiles at most {}",
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
        if policy.spec.option("policy-mode") != Some("monitor") {
            split_conditions(hook, out);
        }
    }
}

/// The enforcing actions of a selector's matchActions, with the parameters that say what they
/// do, sorted: two selectors with the same list enforce the same way.
fn enforcement(sel: &Selector) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = sel
        .match_actions
        .iter()
        .filter_map(|a| {
            let name = a
                .action
                .as_ref()
                .filter(|n| actions::is_enforcing(&n.value))?;
            let param = |p: &str| a.param(p).map(|v| v.scalar_text()).unwrap_or_default();
            Some((
                name.value.clone(),
                format!("{}/{}", param("argError"), param("argSig")),
            ))
        })
        .collect();
    out.sort();
    out
}

/// The names of enforcing actions, for messages: "Sigkill", "Override and Signal".
fn action_names(actions: &[(String, String)]) -> String {
    let mut names: Vec<&str> = actions.iter().map(|(n, _)| n.as_str()).collect();
    names.dedup();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

/// A filter kind of a selector with its operator and first value, for messages: "matchArgs
/// Equal `/etc/shadow`", "matchNamespaces Mnt NotIn `host_ns`".
fn describe_filter(sel: &Selector, key: &str) -> String {
    let values = |vs: &[Spanned<String>]| match vs {
        [] => String::new(),
        [one] => format!(" `{}`", one.value),
        [first, ..] => format!(" `{}`, ...", first.value),
    };
    let op = |o: &Option<Spanned<String>>| {
        o.as_ref()
            .map(|o| format!(" {}", o.value))
            .unwrap_or_default()
    };
    let arg = |l: &[ArgFilter]| {
        l.first()
            .map(|f| format!("{}{}", op(&f.operator), values(&f.values)))
            .unwrap_or_default()
    };
    let set = |l: &[SetFilter]| {
        l.first()
            .map(|f| {
                let ns = f
                    .namespace
                    .as_ref()
                    .map(|n| format!(" {}", n.value))
                    .unwrap_or_default();
                format!("{ns}{}{}", op(&f.operator), values(&f.values))
            })
            .unwrap_or_default()
    };
    let what = match key {
        "matchArgs" => arg(&sel.match_args),
        "matchData" => arg(&sel.match_data),
        "matchPIDs" => set(&sel.match_pids),
        "matchBinaries" => set(&sel.match_binaries),
        "matchParentBinaries" => set(&sel.match_parent_binaries),
        "matchNamespaces" => set(&sel.match_namespaces),
        "matchNamespaceChanges" => set(&sel.match_namespace_changes),
        "matchCapabilities" => set(&sel.match_capabilities),
        "matchCapabilityChanges" => set(&sel.match_capability_changes),
        _ => String::new(),
    };
    format!("{key}{what}")
}

/// The filters of a selector in the order they are written, for messages.
fn describe_filters(sel: &Selector) -> String {
    written_filters(sel)
        .iter()
        .map(|k| describe_filter(sel, k))
        .collect::<Vec<_>>()
        .join(" and ")
}

/// The filter kinds of a selector in the order they are written.
fn written_filters(sel: &Selector) -> Vec<&'static str> {
    let mut kinds = sel.filters();
    kinds.sort_by_key(|k| sel.key(k).map_or(usize::MAX, |s| s.start));
    kinds
}

/// Where a selector's first filter is written.
fn first_filter(sel: &Selector) -> crate::source::Span {
    written_filters(sel)
        .first()
        .and_then(|k| sel.key(k))
        .unwrap_or(sel.span)
}

/// P076: a condition split over two selectors of one hook, which Tetragon reads as an OR.
fn split_conditions(hook: &Hook, out: &mut Vec<Diagnostic>) {
    let sels = &hook.selectors;
    // Selectors with macros are left alone: their filters and actions are not modelled.
    let plain = |s: &Selector| s.macros.is_empty();
    // Filters in one selector, an enforcing action and no filter in the next: a stray `-`.
    for (i, pair) in sels.windows(2).enumerate() {
        let (first, next) = (&pair[0], &pair[1]);
        let filters = first.filters();
        let enforced = enforcement(next);
        if !plain(first)
            || !plain(next)
            || filters.is_empty()
            || !first.match_actions.is_empty()
            || !first.match_return_actions.is_empty()
            || !next.filters().is_empty()
            || !next.match_return_args.is_empty()
            || enforced.is_empty()
        {
            continue;
        }
        let names = action_names(&enforced);
        let at = first_filter(first);
        let action_span = next
            .match_actions
            .iter()
            .find_map(|a| {
                a.action
                    .as_ref()
                    .filter(|n| actions::is_enforcing(&n.value))
            })
            .map_or(next.span, |n| n.span);
        out.push(
            Diagnostic::new(
                Code::P076,
                at,
                format!(
                    "selector {} has {} but no actions, and selector {} has {names} but no filter: selectors are alternatives and the first that matches wins, so the calls these filters match get only a Post event and {names} acts on every other call of {}",
                    i + 1,
                    describe_filters(first),
                    i + 2,
                    hook.describe()
                ),
            )
            .help(format!(
                "to {names} the calls these filters match, make them one selector: remove the `-` before `matchActions` (a selector's filters and actions go together)"
            ))
            .related(
                action_span,
                format!("{names} here runs when selector {} does not match", i + 1),
            ),
        );
    }
    // Two selectors with filters of different kinds and the same enforcement: an OR of the
    // two conditions, often meant as an AND.
    for (j, later) in sels.iter().enumerate() {
        let kinds = later.filters();
        let enforced = enforcement(later);
        if !plain(later) || kinds.is_empty() || enforced.is_empty() {
            continue;
        }
        let Some((i, earlier)) = sels[..j].iter().enumerate().find(|(_, s)| {
            let other = s.filters();
            plain(s)
                && !other.is_empty()
                && enforcement(s) == enforced
                && !other.iter().any(|k| kinds.contains(k))
        }) else {
            continue;
        };
        let names = action_names(&enforced);
        out.push(
            Diagnostic::new(
                Code::P076,
                first_filter(later),
                format!(
                    "selectors are alternatives: selector {} ({}) and selector {} ({}) both {names}, so {names} runs on a call that matches either, not only on one that matches both",
                    j + 1,
                    describe_filters(later),
                    i + 1,
                    describe_filters(earlier),
                ),
            )
            .help("to require both conditions, merge the two selectors into one: the filters of one selector are ANDed (if either condition is meant to be enough, keep them apart)")
            .related(
                first_filter(earlier),
                format!("selector {}", i + 1),
            ),
        );
    }
}

fn check_selector(hook: &Hook, sel: &Selector, out: &mut Vec<Diagnostic>) {
    let returns = compiles_return_selectors(hook);
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
                    "this selector has {filters} argument filters (matchArgs and matchData); at most {} fit",
                    facts::MAX_ARG_FILTERS
                ),
            )
            .help("split the selector in two, or combine values of the same arg into one filter"),
        );
    }
    if returns && sel.match_return_args.len() > facts::MAX_ARG_FILTERS {
        out.push(
            Diagnostic::new(
                Code::P011,
                sel.match_return_args[facts::MAX_ARG_FILTERS].span,
                format!(
                    "this selector has {} matchReturnArgs filters; at most {} fit",
                    sel.match_return_args.len(),
                    facts::MAX_ARG_FILTERS
                ),
            )
            .help("split the selector in two, or combine values into one filter"),
        );
    }
    for (list, key, compiled) in [
        (&sel.match_actions, "matchActions", true),
        (&sel.match_return_actions, "matchReturnActions", returns),
    ] {
        if compiled && list.len() > facts::MAX_ACTIONS {
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
    check_filter_counts(sel, out);
    for f in &sel.match_args {
        check_index(hook, f, FilterList::Args, out);
    }
    for f in &sel.match_data {
        check_index(hook, f, FilterList::Data, out);
    }
    if returns {
        for f in &sel.match_return_args {
            check_index(hook, f, FilterList::Return, out);
        }
    } else if !hook.returns() || hook.return_arg.is_some() {
        // (`return: true` without a returnArg is S010.)
        check_return_filters(hook, sel, out);
    }
}

/// P016: filters of one kind beyond what a selector holds.
fn check_filter_counts(sel: &Selector, out: &mut Vec<Diagnostic>) {
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
    // The bytes of a second matchPIDs or matchCapabilities filter are misread as the next
    // section: what the selector then does depends on them (a warning; Tetragon's own examples
    // do it). A second matchCapabilityChanges filter, the last section, is never read.
    let first_only: [(&Vec<SetFilter>, &str, &str, Severity); 3] = [
        (
            &sel.match_pids,
            "matchPIDs",
            "takes this one for the next section, so the selector's other process filters are misread and the selector may never match",
            Severity::Warning,
        ),
        (
            &sel.match_capabilities,
            "matchCapabilities",
            "takes this one for the next section, so matchNamespaceChanges and matchCapabilityChanges are misread and the selector may never match",
            Severity::Warning,
        ),
        (
            &sel.match_capability_changes,
            "matchCapabilityChanges",
            "never reads this one, so its condition is not applied",
            Severity::Error,
        ),
    ];
    for (list, key, effect, severity) in first_only {
        if list.len() > 1 {
            let loads = if severity == Severity::Error {
                "Tetragon loads this, but "
            } else {
                ""
            };
            out.push(
                Diagnostic::new(
                    Code::P016,
                    list[1].span,
                    format!("{loads}the BPF side evaluates only the first `{key}` filter of a selector and {effect}"),
                )
                .help("put the values in one filter, or move this filter to another selector")
                .severity(severity),
            );
        }
    }
}

/// P020 for one argument filter.
fn check_index(hook: &Hook, f: &ArgFilter, list: FilterList, out: &mut Vec<Diagnostic>) {
    if is_cel(f) && list != FilterList::Data {
        // ParseMatchArg hands CelExpr filters to the CEL compiler before resolving the index.
        return;
    }
    let sig = sig(hook, list);
    let what = match list {
        FilterList::Args => "the args list",
        FilterList::Data => "`data`",
        FilterList::Return => "the returnArg list",
    };
    let count = |n: usize| format!("{n} entr{}", if n == 1 { "y" } else { "ies" });
    if !f.args.is_empty() {
        let read = if f
            .operator
            .as_ref()
            .is_some_and(|o| o.value == "CapabilitiesGained")
        {
            2
        } else {
            1
        };
        for a in f.args.iter().take(read) {
            if usize::try_from(a.value).map_or(true, |p| p >= sig.len()) {
                out.push(
                    Diagnostic::new(
                        Code::P020,
                        a.span,
                        format!(
                            "`args` position {} is past the end of {what}, which has {}",
                            a.value,
                            count(sig.len())
                        ),
                    )
                    .help(format!(
                        "`args` counts positions in {what} from 0 (not their `index`)"
                    )),
                );
            }
        }
        return;
    }
    let idx = f.index.as_ref().map_or(0, |i| i.value);
    let span = f.index.as_ref().map_or(f.span, |i| i.span);
    let written = if f.index.is_some() {
        format!("index {idx}")
    } else {
        "index 0 (the default)".to_string()
    };
    match list {
        FilterList::Data => {
            if usize::try_from(idx).map_or(true, |p| p >= hook.data.len()) {
                out.push(
                    Diagnostic::new(
                        Code::P020,
                        span,
                        format!(
                            "matchData {written} is past the end of `data`, which has {}",
                            count(hook.data.len())
                        ),
                    )
                    .help("matchData indexes count positions in `data`, from 0"),
                );
            }
        }
        FilterList::Return => {
            if filter_target(hook, f, list).is_none() {
                let ret = hook
                    .return_arg
                    .as_ref()
                    .and_then(|a| a.index.as_ref())
                    .map_or(0, |i| i.value);
                out.push(
                    Diagnostic::new(
                        Code::P020,
                        span,
                        format!("matchReturnArgs {written} is not the returnArg's index ({ret})"),
                    )
                    .help(format!(
                        "matchReturnArgs filters the return value: use `index: {ret}`"
                    )),
                );
            }
        }
        FilterList::Args => match filter_target(hook, f, list) {
            None => {
                let declared = hook.declared_indexes();
                out.push(
                    Diagnostic::new(
                        Code::P020,
                        span,
                        format!(
                            "matchArgs {written} refers to no declared arg of {}",
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
            Some(target) if hook.kind == HookKind::Tracepoint => {
                // The arg the index names (its field index), when one does; the rewrite may
                // land elsewhere.
                let named = hook
                    .args
                    .iter()
                    .position(|a| a.index.as_ref().map_or(0, |i| i.value) == idx);
                let landed = tracepoint_rewrite(hook, idx);
                if let Some(named) = named {
                    if landed != named as i64 {
                        let read = match target {
                            SigArg::Declared(a) => a
                                .index
                                .as_ref()
                                .map_or("a field".to_string(), |i| format!("field {}", i.value)),
                            SigArg::SizeField => "a size field".to_string(),
                        };
                        out.push(
                            Diagnostic::new(
                                Code::P020,
                                span,
                                format!("Tetragon rewrites this {written} to position {named} in `args` and then again to position {landed}, so the filter reads {read}, not field {idx}"),
                            )
                            .help("reorder `args` so that no arg's field index equals the position of an earlier arg, or use `args: [<position>]`")
                            .severity(Severity::Warning),
                        );
                    }
                }
            }
            Some(_) => {}
        },
    }
}

/// P030: return filters and actions on a hook whose return selectors Tetragon never compiles.
fn check_return_filters(hook: &Hook, sel: &Selector, out: &mut Vec<Diagnostic>) {
    for (key, count) in [
        ("matchReturnArgs", sel.match_return_args.len()),
        ("matchReturnActions", sel.match_return_actions.len()),
    ] {
        let Some(span) = sel.key(key) else { continue };
        if count == 0 {
            continue;
        }
        let d = if hook.kind == HookKind::Lsm && key == "matchReturnArgs" {
            Diagnostic::new(
                Code::P030,
                span,
                "Tetragon refuses matchReturnArgs on LSM hooks",
            )
            .help("filter on the hook's arguments with matchArgs instead")
        } else if matches!(
            hook.kind,
            HookKind::Kprobe | HookKind::Fentry | HookKind::Uprobe
        ) {
            Diagnostic::new(
                Code::P030,
                span,
                format!(
                    "{} has no `return: true`: Tetragon loads this, but ignores `{key}`",
                    hook.describe()
                ),
            )
            .help("add `return: true` and a `returnArg`, or remove it")
        } else {
            Diagnostic::new(
                Code::P030,
                span,
                format!(
                    "{} has no return probe: Tetragon loads this, but ignores `{key}`",
                    hook.describe()
                ),
            )
            .help("remove it; filter on the arguments with matchArgs instead")
        };
        out.push(d);
    }
}
