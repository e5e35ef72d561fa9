//! The CRD's CEL rules (`x-kubernetes-validations`), written out in Rust.

use crate::codes::{Code, CodeInfo};
use crate::diagnostic::{Diagnostic, Severity};
use crate::facts::HookKind;
use crate::model::{Kind, Policy};
use crate::yaml::Node;

/// `S010`.
pub const S010: CodeInfo = CodeInfo {
    code: "S010",
    name: "return-without-return-arg",
    severity: Severity::Error,
    summary: "`return: true` without a `returnArg`.",
    explanation: "A hook that also traces the function's return must say how to read the return value. The CRD rule `!has(self.return) || (!self.return || has(self.returnArg))` rejects the policy otherwise (\"ReturnArg not specified with Return=true.\").",
    tetragon: "pkg/k8s/apis/cilium.io/v1alpha1/types.go XValidation on KProbeSpec and UProbeSpec, checked by pkg/crdutils/crdutils.go CRDContext.Validate (CEL) and by the API server",
};

/// `S011`.
pub const S011: CodeInfo = CodeInfo {
    code: "S011",
    name: "uprobe-addressing",
    severity: Severity::Error,
    summary: "A uprobe needs exactly one of `symbols`, `offsets` or `addrs`, and one `refCtrOffsets` item per symbol or offset.",
    explanation: "A uprobe names the code to hook in one way only. The CRD forbids two of `symbols`, `offsets` and `addrs` together (`uprobe needs at most one of symbols, addrs or offsets defined`, even when one of them is an empty list), and Tetragon's uprobe sensor counts the non-empty ones and refuses anything but exactly one (`uprobe needs exactly one of either Symbols, Offsets or Addrs defined`), so a uprobe with none, or with only `symbols: []`, fails too. `refCtrOffsets`, when given, needs as many items as `symbols` or `offsets` (`RefCtrOffsets(2) has different dimension than Symbols(1)`).",
    tetragon: "pkg/k8s/apis/cilium.io/v1alpha1/types.go XValidation on UProbeSpec (CRD CEL); pkg/sensors/tracing/genericuprobe.go validateUprobeSpec",
};

/// `S012`.
pub const S012: CodeInfo = CodeInfo {
    code: "S012",
    name: "override-one-target",
    severity: Severity::Error,
    summary: "An Override names more than one of argNewSymbol, argNewAddr, argNewOffset.",
    explanation: "A uprobe Override can redirect execution to a symbol, an address or an offset, never to two of them (\"override action needs at most one of argNewSymbol, argNewAddr or argNewOffset defined\").",
    tetragon: "pkg/k8s/apis/cilium.io/v1alpha1/types.go XValidation on ActionSelector (CRD CEL); pkg/sensors/tracing/genericuprobe.go validateUprobeSpec (`uprobe Override action needs exactly one of either argNewSymbol, argNewOffset or argNewAddr defined`)",
};

/// `S013`.
pub const S013: CodeInfo = CodeInfo {
    code: "S013",
    name: "host-selector-labels",
    severity: Severity::Error,
    summary: "`hostSelector` with labels; only null or {} is supported.",
    explanation: "`hostSelector` selects host (non-container) processes, and it has no labels to select on: `{}` means all host processes, null means none. The CRD rejects `matchLabels` and `matchExpressions` in it (\"The hostSelector should be either null or {}.\").",
    tetragon: "pkg/k8s/apis/cilium.io/v1alpha1/types.go XValidation on the hostSelector fields (TracingPolicySpec and WorkloadSelector), checked by pkg/crdutils/crdutils.go CRDContext.Validate and the API server",
};

/// `S014`.
pub const S014: CodeInfo = CodeInfo {
    code: "S014",
    name: "namespaced-host-selector",
    severity: Severity::Error,
    summary: "A TracingPolicyNamespaced with `spec.hostSelector`.",
    explanation: "A namespaced policy applies to the pods of its namespace, so it cannot also match host processes. The CRD rejects it (\"TracingPolicyNamespaced should have a null spec.hostSelector.\").",
    tetragon: "pkg/k8s/apis/cilium.io/v1alpha1/tracing_policy_types.go XValidation on TracingPolicyNamespaced (`!has(self.spec.hostSelector)`), checked by pkg/crdutils/crdutils.go CRDContext.Validate and the API server",
};

/// Run the CEL rules.
pub fn check(root: &Node, policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.spec.hooks {
        if matches!(
            hook.kind,
            HookKind::Kprobe | HookKind::Fentry | HookKind::Uprobe
        ) && hook.returns()
            && hook.return_arg_key.is_none()
        {
            let span = hook.ret.as_ref().map_or(hook.span, |r| r.span);
            out.push(
                Diagnostic::new(Code::S010, span, format!("{} sets `return: true` but has no `returnArg`", hook.describe()))
                    .help("add `returnArg:` with `index: 0` and the return value's `type` (for example `int`), or remove `return: true`"),
            );
        }
        if hook.kind == HookKind::Uprobe {
            let ways: Vec<_> = hook
                .uprobe_addressing
                .iter()
                .filter(|(k, _, _)| *k != "refCtrOffsets")
                .collect();
            if ways.len() > 1 {
                let names: Vec<&str> = ways.iter().map(|(k, _, _)| *k).collect();
                out.push(
                    Diagnostic::new(
                        Code::S011,
                        ways[1].1,
                        format!("this uprobe sets both `{}` and `{}`", names[0], names[1]),
                    )
                    .help("keep only one way of naming the code to hook"),
                );
            } else if ways.iter().all(|(_, _, n)| *n == 0) {
                // Tetragon counts the non-empty lists: `symbols: []` names nothing either.
                let span = ways
                    .first()
                    .map(|(_, s, _)| *s)
                    .or(hook.target.as_ref().map(|t| t.span))
                    .unwrap_or(hook.span);
                out.push(
                    Diagnostic::new(
                        Code::S011,
                        span,
                        format!("{} names no code to hook", hook.describe()),
                    )
                    .help(
                        "add `symbols:` with the function names to hook (or `offsets:` / `addrs:`)",
                    ),
                );
            } else if let Some((_, ref_span, refs)) = hook
                .uprobe_addressing
                .iter()
                .find(|(k, _, n)| *k == "refCtrOffsets" && *n != 0)
            {
                if let Some((way, _, n)) = ways
                    .iter()
                    .find(|(k, _, n)| matches!(*k, "symbols" | "offsets") && n != refs)
                {
                    out.push(
                        Diagnostic::new(
                            Code::S011,
                            *ref_span,
                            format!("`refCtrOffsets` has {refs} items but `{way}` has {n}"),
                        )
                        .help(format!(
                            "give one reference counter offset per item of `{way}`"
                        )),
                    );
                }
            }
        }
        for sel in &hook.selectors {
            for action in sel.match_actions.iter().chain(&sel.match_return_actions) {
                let set: Vec<_> = action
                    .params
                    .iter()
                    .filter(|(k, _, v)| {
                        matches!(k.as_str(), "argNewSymbol" | "argNewAddr" | "argNewOffset")
                            && !v.is_null()
                    })
                    .collect();
                if set.len() > 1 {
                    out.push(
                        Diagnostic::new(
                            Code::S012,
                            set[1].1,
                            format!("this action sets both `{}` and `{}`", set[0].0, set[1].0),
                        )
                        .help("keep only one of argNewSymbol, argNewAddr and argNewOffset"),
                    );
                }
            }
        }
    }
    let spec = root.get("spec");
    let mut selectors: Vec<&Node> = spec
        .and_then(|s| s.get("hostSelector"))
        .into_iter()
        .collect();
    for (_, key) in HookKind::ALL {
        for hook in spec
            .and_then(|s| s.get(key))
            .and_then(Node::as_seq)
            .unwrap_or(&[])
        {
            for sel in hook.get("selectors").and_then(Node::as_seq).unwrap_or(&[]) {
                if let Some(h) = sel
                    .get("matchWorkloads")
                    .and_then(|w| w.get("hostSelector"))
                {
                    selectors.push(h);
                }
            }
        }
    }
    for host in selectors {
        for key in ["matchLabels", "matchExpressions"] {
            if let Some(e) = host.entry(key) {
                out.push(
                    Diagnostic::new(
                        Code::S013,
                        e.key.span,
                        format!("`hostSelector` cannot have `{key}`"),
                    )
                    .help("write `hostSelector: {}` to match all host processes, or remove it"),
                );
            }
        }
    }
    if policy.kind == Kind::TracingPolicyNamespaced {
        if let Some((span, _)) = policy.spec.host_selector {
            out.push(
                Diagnostic::new(
                    Code::S014,
                    span,
                    "a TracingPolicyNamespaced cannot have `spec.hostSelector`",
                )
                .help("remove `hostSelector`, or make the policy a cluster-wide `TracingPolicy`"),
            );
        }
    }
}
