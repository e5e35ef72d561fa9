//! Process filters: matchBinaries, matchParentBinaries, matchPIDs, matchNamespaces,
//! matchNamespaceChanges, matchCapabilities and matchCapabilityChanges, as Tetragon's
//! `pkg/selectors/kernel.go` (ParseMatchBinary, ParseMatchPid, ParseMatchNamespace(Change),
//! ParseMatchCaps) compiles them and `bpf/process/pfilter.h` evaluates them.

use super::operators::{glob_bounds, glob_fix, glob_message, tetragon_capability};
use crate::codes::{Code, CodeInfo};
use crate::diagnostic::{Diagnostic, Severity};
use crate::facts;
use crate::model::{Policy, SetFilter, Spanned};

/// `P060`.
pub const P060: CodeInfo = CodeInfo {
    code: "P060",
    name: "empty-binaries",
    severity: Severity::Error,
    summary: "A matchBinaries filter with no values, which Tetragon ignores.",
    explanation: "Loads, but cannot do what it says (error): Tetragon loads a matchBinaries (or matchParentBinaries) filter whose `values` is empty and then drops it, as if it were not written (since v1.6, commit 996d40f09 \"selectors: Ignore empty matchBinaries\"; before, such a filter matched no process). The selector then applies to every process on the host instead of the binaries it was meant for: a Sigkill meant for one binary kills every process that reaches the hook. An empty filter also skips the followChildren check.",
    tetragon: "pkg/selectors/kernel.go ParseMatchBinary (returns early when `len(b.Values) == 0`)",
};

/// `P061`.
pub const P061: CodeInfo = CodeInfo {
    code: "P061",
    name: "relative-binary-path",
    severity: Severity::Error,
    summary: "matchBinaries In/NotIn with a value that is not an absolute path.",
    explanation: "In and NotIn look the process's executable up by its full path, such as `/usr/bin/wget`: on kernels with large BPF programs (5.3 and later) the BPF side records the absolute path of the exe at exec time.\n\nLoads, but cannot do what it says (error): Tetragon loads a bare name such as `wget`, but it never equals a full path, so In never matches (the selector never fires) and NotIn always does (it excludes nothing). Use the absolute path, or Postfix `/wget` to match the name in any directory. (Kernels older than 5.3, without large BPF programs, compare the file name as passed to execve instead, which may be relative; policyctl judges by current kernels.)",
    tetragon: "not checked by Tetragon (pkg/selectors/kernel.go ParseMatchBinary stores the paths as written; bpf/process/bpf_execve_event.h reads the exe path; bpf/process/types/basic.h match_binaries)",
};

/// `P062`.
pub const P062: CodeInfo = CodeInfo {
    code: "P062",
    name: "follow-children-operator",
    severity: Severity::Error,
    summary: "`followChildren: true` with an operator other than In or NotIn.",
    explanation: "Following the children of matched binaries is implemented for In and NotIn only; Tetragon refuses it with Prefix, NotPrefix, Postfix and NotPostfix when it loads the policy (\"followChildren not yet implemented for operation\"). A filter with no values is dropped before this check (P060).",
    tetragon: "pkg/selectors/kernel.go ParseMatchBinary (\"%s: followChildren not yet implemented for operation '%s'\")",
};

/// Most matchBinaries Prefix bytes (`StringPrefixMaxLength`).
const MAX_BINARY_PREFIX: usize = 256;
/// Most matchBinaries Postfix bytes (`StringPostfixMaxLength` - 1).
const MAX_BINARY_POSTFIX: usize = 127;

/// Run the checks.
pub fn check(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.spec.hooks {
        for sel in &hook.selectors {
            for f in sel.match_binaries.iter().chain(&sel.match_parent_binaries) {
                check_binaries(f, out);
            }
            for f in &sel.match_pids {
                no_values(f, "matchPIDs", false, out);
                if f.values.len() > facts::MAX_PID_VALUES {
                    out.push(
                        Diagnostic::new(
                            Code::P013,
                            f.values[facts::MAX_PID_VALUES].span,
                            format!(
                                "Tetragon loads this, but the BPF side compares only the first {} matchPIDs values; this one and the rest are ignored{}",
                                facts::MAX_PID_VALUES,
                                if f.values.len() >= 8 {
                                    ", and with 8 or more values the filters after this one are misread"
                                } else {
                                    ""
                                }
                            ),
                        )
                        .help("split the pids over several selectors"),
                    );
                }
                for v in &f.values {
                    if crate::golang::parse_uint10(&v.value, 32).is_err() {
                        out.push(
                            Diagnostic::new(
                                Code::P022,
                                v.span,
                                format!(
                                    "`{}` is not a process id (an unsigned 32-bit integer)",
                                    v.value
                                ),
                            )
                            .help("write process ids as integers from 0"),
                        );
                    }
                }
            }
            for f in &sel.match_namespaces {
                no_values(f, "matchNamespaces", false, out);
                if f.values.len() > facts::MAX_NAMESPACE_VALUES {
                    out.push(
                        Diagnostic::new(
                            Code::P013,
                            f.values[facts::MAX_NAMESPACE_VALUES].span,
                            format!(
                                "matchNamespaces holds at most {} values; Tetragon refuses more (\"matchNamespace supports up to 4 values per filter\")",
                                facts::MAX_NAMESPACE_VALUES
                            ),
                        )
                        .help("split the values over several selectors"),
                    );
                }
                for v in &f.values {
                    if v.value != "host_ns" && crate::golang::parse_uint10(&v.value, 32).is_err() {
                        out.push(namespace_value(v));
                    } else if v.value == "host_ns" {
                        if let Some(d) = host_ns_unreadable(f, v) {
                            out.push(d);
                        }
                    }
                }
            }
            for f in &sel.match_namespace_changes {
                no_values(f, "matchNamespaceChanges", true, out);
                for v in &f.values {
                    if !facts::NAMESPACE_CHANGE_KINDS
                        .iter()
                        .any(|k| k.eq_ignore_ascii_case(&v.value))
                    {
                        let d = Diagnostic::new(
                            Code::P022,
                            v.span,
                            format!("`{}` is not a namespace kind", v.value),
                        );
                        out.push(
                            match crate::suggest::did_you_mean(
                                &v.value,
                                facts::NAMESPACE_CHANGE_KINDS,
                            ) {
                                Some(s) => d.help(format!("did you mean `{s}`?")),
                                None => d.help(format!(
                                    "use one of: {}",
                                    facts::NAMESPACE_CHANGE_KINDS.join(", ")
                                )),
                            },
                        );
                    }
                }
            }
            for (list, key, changes) in [
                (&sel.match_capabilities, "matchCapabilities", false),
                (
                    &sel.match_capability_changes,
                    "matchCapabilityChanges",
                    true,
                ),
            ] {
                for f in list {
                    no_values(f, key, changes, out);
                    for v in &f.values {
                        if let Err(help) = tetragon_capability(&v.value) {
                            out.push(
                                Diagnostic::new(
                                    Code::P022,
                                    v.span,
                                    format!(
                                        "`{}` is not a capability name Tetragon knows",
                                        v.value
                                    ),
                                )
                                .help(help),
                            );
                        }
                    }
                }
            }
        }
    }
}

/// P022 for `host_ns` on a namespace kind whose host value Tetragon cannot read: it reads
/// `/proc/1/ns/<kind lowercased>` (pkg/selectors/kernel.go `namespaceSelectorValue`, then
/// pkg/reader/namespace/namespace_linux.go `GetHostNsInode`), and for PidForChildren and
/// TimeForChildren that names a file Linux does not have (`pidforchildren`; the kernel's is
/// `pid_for_children`), so it refuses the policy ("matchNamespace reading host ... namespace
/// failed").
fn host_ns_unreadable(f: &SetFilter, v: &Spanned<String>) -> Option<Diagnostic> {
    let kind = f.namespace.as_ref()?;
    let linux = match kind.value.to_ascii_lowercase().as_str() {
        "pidforchildren" => "pid_for_children",
        "timeforchildren" => "time_for_children",
        _ => return None,
    };
    Some(
        Diagnostic::new(
            Code::P022,
            v.span,
            format!(
                "Tetragon cannot read `host_ns` for `{}`: it reads /proc/1/ns/{}, which Linux does not have (its file is `{linux}`), and refuses the policy",
                kind.value,
                kind.value.to_ascii_lowercase()
            ),
        )
        .help(format!(
            "write the host's inode number instead (`readlink /proc/1/ns/{linux}` on the node), or match `namespace: {}` with `host_ns`",
            if linux == "pid_for_children" { "Pid" } else { "Time" }
        )),
    )
}

/// P022 for a matchNamespaces value that is neither an inode number nor `host_ns`, saying what
/// was probably meant: a namespace kind, or a Kubernetes namespace.
fn namespace_value(v: &Spanned<String>) -> Diagnostic {
    let text = v.value.as_str();
    let inode_help = "write the namespace's inode number in decimal (as in `ls -l /proc/<pid>/ns`), or `host_ns` for the host's";
    if let Some(kind) = facts::NAMESPACE_CHANGE_KINDS
        .iter()
        .find(|k| k.eq_ignore_ascii_case(text))
    {
        return Diagnostic::new(
            Code::P022,
            v.span,
            format!("`{text}` is a namespace kind, not a value: matchNamespaces compares the inode number of the `{kind}` namespace named in `namespace:`"),
        )
        .help(format!("put `namespace: {kind}` in the filter and {inode_help}"));
    }
    let normalized = text
        .trim_matches(|c| c == '<' || c == '>')
        .to_ascii_lowercase()
        .replace('-', "_");
    if matches!(normalized.as_str(), "host_ns" | "hostns" | "host") {
        return Diagnostic::new(
            Code::P022,
            v.span,
            format!("`{text}` is not a namespace inode number or `host_ns`"),
        )
        .help("write `host_ns`, exactly so, for the host's namespace of this kind");
    }
    if is_dns_label(text) {
        return Diagnostic::new(
            Code::P022,
            v.span,
            format!("`{text}` looks like a Kubernetes namespace, but matchNamespaces compares a Linux namespace's inode number (Pid, Mnt, Net ...), or `host_ns`"),
        )
        .help(format!("to select the pods of a Kubernetes namespace, use `kind: TracingPolicyNamespaced` with `metadata.namespace: {text}`, or `spec.podSelector` on the label `k8s:io.kubernetes.pod.namespace`"));
    }
    Diagnostic::new(
        Code::P022,
        v.span,
        format!("`{text}` is not a namespace inode number or `host_ns`"),
    )
    .help(inode_help)
}

/// A Kubernetes namespace name: a DNS label (RFC 1123: lowercase letters, digits and `-`, at
/// most 63, starting and ending with a letter or digit) that is not a number.
fn is_dns_label(text: &str) -> bool {
    let b = text.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().any(u8::is_ascii_lowercase)
}

/// P024 for a process filter with no values. NotIn on a Changes filter with no values means
/// "any change", which is meaningful.
fn no_values(f: &SetFilter, what: &str, changes: bool, out: &mut Vec<Diagnostic>) {
    if f.values_written != 0 {
        return;
    }
    let not_in = f.operator.as_ref().is_some_and(|o| o.value == "NotIn");
    if changes && not_in {
        return;
    }
    let span = f
        .values_key
        .or(f.operator.as_ref().map(|o| o.span))
        .unwrap_or(f.span);
    out.push(
        Diagnostic::new(
            Code::P024,
            span,
            format!(
                "this {what} filter has no values: Tetragon loads this, but it {}",
                if not_in {
                    "always matches"
                } else {
                    "never matches"
                }
            ),
        )
        .help("add the values to compare with under `values:`"),
    );
}

fn check_binaries(f: &SetFilter, out: &mut Vec<Diagnostic>) {
    let op = f.operator.as_ref().map(|o| o.value.as_str());
    if f.values_written == 0 {
        let span = f
            .values_key
            .or(f.operator.as_ref().map(|o| o.span))
            .unwrap_or(f.span);
        out.push(
            Diagnostic::new(Code::P060, span, "this matchBinaries has no values: Tetragon loads this, but ignores the filter, and the selector applies to every process")
                .help("list the binaries' absolute paths under `values:`, or remove the filter"),
        );
        // Tetragon drops the filter before looking at anything else in it.
        return;
    }
    for v in &f.values {
        let (max, what) = match op {
            Some("In" | "NotIn") => (facts::MAX_BINARY_PATH, "binary paths hold"),
            Some("Prefix" | "NotPrefix") => (MAX_BINARY_PREFIX, "a matchBinaries Prefix holds"),
            Some("Postfix" | "NotPostfix") => (MAX_BINARY_POSTFIX, "a matchBinaries Postfix holds"),
            _ => continue,
        };
        if v.value.len() > max {
            out.push(
                Diagnostic::new(
                    Code::P023,
                    v.span,
                    format!("{what} at most {max} bytes; this one has {}", v.value.len()),
                )
                .help("use Prefix or Postfix on a shorter part of the path"),
            );
        }
    }
    let negated = op.is_some_and(|o| o.starts_with("Not"));
    if matches!(op, Some("In" | "NotIn")) {
        for v in &f.values {
            if !v.value.starts_with('/') && glob_bounds(&v.value).is_some() {
                out.push(
                    Diagnostic::new(
                        Code::P061,
                        v.span,
                        format!(
                            "`{}` is not an absolute path: Tetragon loads this, but {} compares full executable paths, with no wildcards, so it {}",
                            v.value,
                            op.unwrap_or(""),
                            if negated { "always matches" } else { "never matches" }
                        ),
                    )
                    .help(glob_fix(&v.value, op.unwrap_or("In"), None)),
                );
            } else if !v.value.starts_with('/') {
                let name = v.value.trim_start_matches("./");
                out.push(
                    Diagnostic::new(
                        Code::P061,
                        v.span,
                        format!(
                            "`{}` is not an absolute path: Tetragon loads this, but {} compares full executable paths, so it {}",
                            v.value,
                            op.unwrap_or(""),
                            if op == Some("In") {
                                "never matches"
                            } else {
                                "always matches"
                            }
                        ),
                    )
                    .help(format!(
                        "write the full path (like `/usr/bin/{name}`), or use `Postfix` with `/{name}`"
                    )),
                );
            }
        }
    }
    binary_patterns(f, op, negated, out);
    if let Some(follow) = &f.follow {
        if follow.value && !matches!(op, Some("In" | "NotIn") | None) {
            out.push(
                Diagnostic::new(
                    Code::P062,
                    follow.span,
                    format!(
                        "`followChildren` works with In and NotIn, not `{}`",
                        op.unwrap_or("")
                    ),
                )
                .help("use In with full paths, or remove followChildren"),
            );
        }
    }
}

/// P036 for matchBinaries values: a directory with In/NotIn, wildcards with any operator.
/// (In/NotIn values that are not absolute are P061.)
fn binary_patterns(f: &SetFilter, op: Option<&str>, negated: bool, out: &mut Vec<Diagnostic>) {
    let Some(op) = op.filter(|o| {
        matches!(
            *o,
            "In" | "NotIn" | "Prefix" | "NotPrefix" | "Postfix" | "NotPostfix"
        )
    }) else {
        return;
    };
    let in_op = matches!(op, "In" | "NotIn");
    let follow = f.follow.as_ref().is_some_and(|f| f.value);
    let follow_note = if follow && in_op {
        " (and drop followChildren, which only In and NotIn take)"
    } else {
        ""
    };
    for v in &f.values {
        let text = v.value.as_str();
        if in_op && !text.starts_with('/') {
            continue;
        }
        if glob_bounds(text).is_some() {
            out.push(
                Diagnostic::new(Code::P036, v.span, glob_message(text, op, negated))
                    .help(format!("{}{follow_note}", glob_fix(text, op, None))),
            );
        } else if in_op && text.len() > 1 && text.ends_with('/') {
            out.push(
                Diagnostic::new(
                    Code::P036,
                    v.span,
                    format!(
                        "`{text}` ends in `/`, but the executable path {op} compares never does: this {op} {} (the binaries under it included)",
                        if negated { "excludes nothing" } else { "never matches" }
                    ),
                )
                .help(format!(
                    "to {} the binaries under `{text}`, use `{}`{follow_note}",
                    if negated { "exclude" } else { "match" },
                    if negated { "NotPrefix" } else { "Prefix" }
                )),
            );
        }
    }
}
