//! Process filters: matchBinaries, matchParentBinaries, matchPIDs, matchNamespaces,
//! matchNamespaceChanges, matchCapabilities and matchCapabilityChanges.

use crate::codes::{Code, CodeInfo};
use crate::diagnostic::{Diagnostic, Severity};
use crate::facts;
use crate::model::{Policy, SetFilter};

/// `P060`.
pub const P060: CodeInfo = CodeInfo {
    code: "P060",
    name: "empty-binaries",
    severity: Severity::Error,
    summary: "A matchBinaries filter with no values, which Tetragon ignores.",
    explanation: "Tetragon drops a matchBinaries filter whose `values` is empty, as if it were not written. The selector then applies to every process on the host: a Sigkill meant for one binary kills every process that reaches the hook. Older versions did the opposite and matched nothing.",
    tetragon: "pkg/selectors/kernel.go (empty matchBinaries are ignored since PR #4022)",
};

/// `P061`.
pub const P061: CodeInfo = CodeInfo {
    code: "P061",
    name: "relative-binary-path",
    severity: Severity::Error,
    summary: "matchBinaries In/NotIn with a value that is not an absolute path.",
    explanation: "In and NotIn compare the full path of the process's executable, such as `/usr/bin/wget`. A bare name such as `wget` never equals a full path: In never matches (the selector never fires) and NotIn always does. Use the absolute path, or Postfix `/wget` to match the name in any directory.",
    tetragon: "not checked by Tetragon",
};

/// `P062`.
pub const P062: CodeInfo = CodeInfo {
    code: "P062",
    name: "follow-children-operator",
    severity: Severity::Error,
    summary: "`followChildren: true` with an operator other than In or NotIn.",
    explanation: "Following the children of matched binaries is implemented for In and NotIn only; Tetragon refuses it with Prefix and Postfix (\"followChildren not yet implemented for operation\").",
    tetragon: "pkg/selectors/kernel.go ParseMatchBinary",
};

/// Run the checks.
pub fn check(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.spec.hooks {
        for sel in &hook.selectors {
            for f in sel.match_binaries.iter().chain(&sel.match_parent_binaries) {
                check_binaries(f, out);
            }
            for f in &sel.match_pids {
                no_values(f, "matchPIDs", out);
                limit(
                    f,
                    facts::MAX_PID_VALUES,
                    "matchPIDs",
                    "the BPF side reads only the first 4 pids; the others are silently ignored",
                    out,
                );
                for v in &f.values {
                    if v.value.parse::<u32>().is_err() {
                        out.push(
                            Diagnostic::new(
                                Code::P022,
                                v.span,
                                format!("`{}` is not a process id", v.value),
                            )
                            .help("write process ids as integers from 0"),
                        );
                    }
                }
            }
            for f in &sel.match_namespaces {
                no_values(f, "matchNamespaces", out);
                limit(
                    f,
                    facts::MAX_NAMESPACE_VALUES,
                    "matchNamespaces",
                    "Tetragon refuses more than 4 values per filter",
                    out,
                );
                for v in &f.values {
                    if v.value != "host_ns" && v.value.parse::<u32>().is_err() {
                        out.push(
                            Diagnostic::new(Code::P022, v.span, format!("`{}` is not a namespace inode number or `host_ns`", v.value))
                                .help("write the namespace's inode number (as in `ls -l /proc/<pid>/ns`), or `host_ns` for the host's"),
                        );
                    }
                }
            }
            for f in &sel.match_namespace_changes {
                no_values(f, "matchNamespaceChanges", out);
                for v in &f.values {
                    if !facts::NAMESPACE_CHANGE_KINDS
                        .iter()
                        .any(|k| k.eq_ignore_ascii_case(&v.value))
                    {
                        out.push(
                            Diagnostic::new(
                                Code::P022,
                                v.span,
                                format!("`{}` is not a namespace kind", v.value),
                            )
                            .help(format!(
                                "use one of: {}",
                                facts::NAMESPACE_CHANGE_KINDS.join(", ")
                            )),
                        );
                    }
                }
            }
            for f in sel
                .match_capabilities
                .iter()
                .chain(&sel.match_capability_changes)
            {
                no_values(f, "capabilities", out);
                for v in &f.values {
                    if !facts::CAPABILITIES.contains(&v.value.trim().to_ascii_uppercase().as_str())
                    {
                        let d = Diagnostic::new(
                            Code::P022,
                            v.span,
                            format!("`{}` is not a Linux capability", v.value),
                        );
                        out.push(
                            match crate::suggest::did_you_mean(&v.value, facts::CAPABILITIES) {
                                Some(s) => d.help(format!("did you mean `{s}`?")),
                                None => {
                                    d.help("use a CAP_* name such as CAP_SYS_ADMIN or CAP_NET_RAW")
                                }
                            },
                        );
                    }
                }
            }
        }
    }
}

fn no_values(f: &SetFilter, what: &str, out: &mut Vec<Diagnostic>) {
    if f.values_written == 0 {
        let span = f
            .values_key
            .or(f.operator.as_ref().map(|o| o.span))
            .unwrap_or(f.span);
        out.push(
            Diagnostic::new(
                Code::P024,
                span,
                format!("this {what} filter has no values, so it never does what it says"),
            )
            .help("add the values to compare with under `values:`"),
        );
    }
}

fn limit(f: &SetFilter, max: usize, what: &str, why: &str, out: &mut Vec<Diagnostic>) {
    if f.values.len() > max {
        out.push(
            Diagnostic::new(
                Code::P013,
                f.values[max].span,
                format!("{what} holds at most {max} values; {why}"),
            )
            .help("split the values over several selectors"),
        );
    }
}

fn check_binaries(f: &SetFilter, out: &mut Vec<Diagnostic>) {
    let op = f.operator.as_ref().map(|o| o.value.as_str());
    if f.values_written == 0 {
        let span = f
            .values_key
            .or(f.operator.as_ref().map(|o| o.span))
            .unwrap_or(f.span);
        out.push(
            Diagnostic::new(Code::P060, span, "this matchBinaries has no values; Tetragon ignores it and the selector applies to every process")
                .help("list the binaries' absolute paths under `values:`, or remove the filter"),
        );
    }
    if matches!(op, Some("In" | "NotIn")) {
        for v in &f.values {
            if !v.value.starts_with('/') {
                out.push(
                    Diagnostic::new(
                        Code::P061,
                        v.span,
                        format!("`{}` is not an absolute path; {} compares full executable paths, so it {}", v.value, op.unwrap_or(""), if op == Some("In") { "never matches" } else { "always matches" }),
                    )
                    .help(format!("write the full path (like `/usr/bin/{}`), or use `Postfix` with `/{}`", v.value.trim_start_matches("./"), v.value.trim_start_matches("./"))),
                );
            }
            if v.value.len() > facts::MAX_BINARY_PATH {
                out.push(
                    Diagnostic::new(
                        Code::P023,
                        v.span,
                        format!(
                            "binary paths hold at most {} bytes; this one has {}",
                            facts::MAX_BINARY_PATH,
                            v.value.len()
                        ),
                    )
                    .help("use Prefix or Postfix on a shorter part of the path"),
                );
            }
        }
    }
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
