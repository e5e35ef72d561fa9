//! Document-level checks: is this document a TracingPolicy, and are its `apiVersion`, `kind` and
//! `metadata.name` right?

use crate::codes::{Code, CodeInfo};
use crate::diagnostic::{Diagnostic, Severity};
use crate::model::Kind;
use crate::schema::table::{API_VERSION, KINDS};
use crate::suggest::{did_you_mean, distance};
use crate::yaml::Node;

/// `S007`.
pub const S007: CodeInfo = CodeInfo {
    code: "S007",
    name: "invalid-name",
    severity: Severity::Error,
    summary: "metadata.name is not a valid Kubernetes name (a lowercase DNS subdomain).",
    explanation: "A policy name must be a DNS subdomain: lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit, at most 253 characters. Tetragon's file loader validates the metadata the way the API server does, so `Block-secret-files` or `my_policy` are refused on both paths (`a lowercase RFC 1123 subdomain must consist of ...`). A TracingPolicyNamespaced's namespace must be a DNS label (no `.`, at most 63 characters).",
    tetragon: "pkg/crdutils/crdutils.go CRDContext.Validate (apimachinery ValidateObjectMeta with NameIsDNSSubdomain)",
};

/// `S017`.
pub const S017: CodeInfo = CodeInfo {
    code: "S017",
    name: "metadata-namespace",
    severity: Severity::Error,
    summary: "A namespace on a cluster-wide TracingPolicy, or none on a TracingPolicyNamespaced.",
    explanation: "`TracingPolicy` is cluster-scoped: it has no namespace. Tetragon's file loader validates the metadata as the API server's object-meta rules say and refuses a namespace on it (`metadata.namespace: Forbidden: not allowed on this type`). Kubernetes instead drops the namespace silently, so a policy meant for one namespace applies to the whole cluster, which is rarely what its author wanted: to limit a policy to one namespace, use `kind: TracingPolicyNamespaced`. The reverse: a `TracingPolicyNamespaced` needs a namespace. kubectl fills it in from `-n` or the context, so it loads through Kubernetes, but Tetragon's file loader refuses it (`metadata.namespace: Required value`); that case is a warning.",
    tetragon: "pkg/crdutils/crdutils.go CRDContext.Validate (apimachinery ValidateObjectMeta with requiresNamespace = the CRD's scope)",
};

/// `S008`.
pub const S008: CodeInfo = CodeInfo {
    code: "S008",
    name: "api-version",
    severity: Severity::Warning,
    summary: "apiVersion is missing or is not cilium.io/v1alpha1.",
    explanation: "Both policy kinds belong to the API group `cilium.io`, version `v1alpha1`. Kubernetes serves no other version, so `kubectl apply` of any other apiVersion (or of none) fails: `no matches for kind \"TracingPolicy\" in version ...`. Tetragon's own file loader does not read apiVersion at all, it chooses the type by `kind`, so the same file loads when given to Tetragon directly: a warning, not an error. Write `apiVersion: cilium.io/v1alpha1` so that the file works on both paths.",
    tetragon: "pkg/tracingpolicy/k8s.go FromYAML (dispatches on kind only; apiVersion is never compared); the CRD's served versions (pkg/k8s/apis/cilium.io/v1alpha1/register.go) for Kubernetes",
};

/// `S009`.
pub const S009: CodeInfo = CodeInfo {
    code: "S009",
    name: "kind",
    severity: Severity::Error,
    summary: "kind is missing or misspelt (TracingPolicy, TracingPolicyNamespaced).",
    explanation: "`kind` selects the type: `TracingPolicy` applies cluster-wide (or to the host), `TracingPolicyNamespaced` to one Kubernetes namespace. Tetragon's file loader compares the kind with these two names exactly (case included) and refuses anything else (`unknown CRD kind`); Kubernetes has no other kind under `cilium.io` for policies.\n\nA document whose apiVersion is in the `cilium.io` group is checked as a policy unless its kind is one of Tetragon's other kinds (`PodInfo`, and the List kinds) or a Cilium kind (they all start with `Cilium`: CiliumNetworkPolicy, CiliumNode, ...), so a misspelt kind is reported rather than skipped as some other object. The help names the kind meant, reading its words in any order, case or plural (`NamespacedTracingPolicy`, `tracing-policy-namespaced`, `TracingPolicies`, `TracePolicy`).",
    tetragon: "pkg/tracingpolicy/k8s.go FromYAML (`unknown CRD kind: ...`); pkg/k8s/apis/cilium.io/v1alpha1/register.go addKnownTypes (the group's kinds: TracingPolicy, TracingPolicyNamespaced, PodInfo and their Lists)",
};

/// What a document is.
pub enum Classified {
    /// A policy of this kind (possibly with a wrong or missing kind, already reported).
    Policy(Kind),
    /// Some other Kubernetes object: not ours.
    Other,
}

/// Tetragon's kinds that are not policies: objects of the `cilium.io` group a policy checker
/// leaves alone (pkg/k8s/apis/cilium.io/v1alpha1/register.go addKnownTypes).
const OTHER_TETRAGON_KINDS: &[&str] = &[
    "PodInfo",
    "PodInfoList",
    "TracingPolicyList",
    "TracingPolicyNamespacedList",
];

/// The policy kind a kind that is not one was meant to be: the same words in any order, in
/// any case, with `-`/`_`, plurals and a few typos (`NamespacedTracingPolicy`,
/// `Tracingpolicy-namespaced`, `TracingPolicies`, `TracePolicy`, `CiliumTracingPolicy`).
pub fn kind_meant(kind: &str) -> Option<&'static str> {
    if let Some(k) = KINDS.iter().find(|k| k.eq_ignore_ascii_case(kind)) {
        return Some(k);
    }
    let words: Vec<String> = crate::suggest::words(kind)
        .into_iter()
        .filter(|w| !matches!(w.as_str(), "cilium" | "tetragon" | "crd" | "kind"))
        .map(|w| match w.as_str() {
            "trace" | "traces" | "tracer" | "tracings" => "tracing".to_string(),
            "namespace" | "namespaces" | "ns" | "namespacescoped" => "namespaced".to_string(),
            "tp" => "tracingpolicy".to_string(),
            "tpn" => "tracingpolicynamespaced".to_string(),
            _ => w,
        })
        .collect();
    crate::suggest::did_you_mean_words(&words, KINDS)
        .or_else(|| did_you_mean(kind, KINDS))
        .or_else(|| {
            // Within distance 3 of a kind as the check always allowed.
            let lower = kind.to_ascii_lowercase();
            KINDS
                .iter()
                .find(|k| distance(&lower, &k.to_ascii_lowercase()) <= 3)
                .copied()
        })
}

/// Decide whether a mapping document is a TracingPolicy, reporting `S008`/`S009` for one that
/// plainly means to be a policy but gets apiVersion or kind wrong.
///
/// A document of the `cilium.io` group is ours unless its kind is one of Tetragon's other
/// kinds (PodInfo, the List kinds) or a Cilium kind (they all start with `Cilium`): Tetragon's
/// loader refuses every other kind (`unknown CRD kind`). Outside the group, a document is ours
/// when its kind reads as a policy kind, or when it has no apiVersion and no kind but hooks.
pub fn classify(root: &Node, out: &mut Vec<Diagnostic>) -> Classified {
    let api = root.get("apiVersion");
    let kind = root.get("kind");
    let api_text = api.and_then(Node::as_str);
    let kind_text = kind.and_then(Node::as_str);
    let cilium = api_text.is_some_and(|a| a == "cilium.io" || a.starts_with("cilium.io/"));
    let meant = kind_text
        .filter(|k| !OTHER_TETRAGON_KINDS.contains(k))
        .and_then(kind_meant);
    let spec_with_hooks = root.get("spec").is_some_and(|s| {
        [
            "kprobes",
            "tracepoints",
            "lsmhooks",
            "uprobes",
            "usdts",
            "fentries",
        ]
        .iter()
        .any(|k| s.get(k).is_some())
    });
    let foreign_in_group = kind_text.is_some_and(|k| {
        OTHER_TETRAGON_KINDS.contains(&k)
            || (k.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("cilium")) && meant.is_none())
    });
    let ours = meant.is_some()
        || (cilium && !foreign_in_group)
        || (kind.is_none() && api.is_none() && spec_with_hooks);
    if !ours {
        return Classified::Other;
    }
    match api {
        Some(a) if a.as_str() == Some(API_VERSION) => {}
        Some(a) => out.push(
            Diagnostic::new(
                Code::S008,
                a.span,
                format!(
                    "apiVersion is `{}`; TracingPolicies are `{API_VERSION}`",
                    a.scalar_text()
                ),
            )
            .help(format!("write `apiVersion: {API_VERSION}`")),
        ),
        None => out.push(
            Diagnostic::new(
                Code::S008,
                crate::schema::head_span(root),
                "the document has no apiVersion",
            )
            .help(format!("add `apiVersion: {API_VERSION}` at the top")),
        ),
    }
    let parsed = match (kind, kind_text) {
        (_, Some("TracingPolicyNamespaced")) => Kind::TracingPolicyNamespaced,
        (_, Some("TracingPolicy")) => Kind::TracingPolicy,
        (Some(k), text) => {
            let text = text.map_or_else(|| k.scalar_text(), str::to_string);
            let d = match meant {
                Some(m) => Diagnostic::new(
                    Code::S009,
                    k.span,
                    format!(
                        "`{text}` is not a policy kind: the {} kind is `{m}`",
                        if m == "TracingPolicy" {
                            "cluster-wide"
                        } else {
                            "namespaced"
                        }
                    ),
                )
                .help(format!("did you mean `{m}`?")),
                None => Diagnostic::new(
                    Code::S009,
                    k.span,
                    format!("`{text}` is not a policy kind Tetragon knows"),
                )
                .help("a policy is `kind: TracingPolicy` (cluster-wide) or `kind: TracingPolicyNamespaced` (one namespace)"),
            };
            out.push(d);
            if meant.is_none() && !spec_with_hooks {
                // Nothing here reads as a policy: the kind is the one finding, not a cascade of
                // missing and unknown fields.
                return Classified::Other;
            }
            match meant {
                Some("TracingPolicyNamespaced") => Kind::TracingPolicyNamespaced,
                Some(_) => Kind::TracingPolicy,
                None if text.to_ascii_lowercase().contains("namespace") => {
                    Kind::TracingPolicyNamespaced
                }
                None => Kind::TracingPolicy,
            }
        }
        (None, _) => {
            out.push(
                Diagnostic::new(
                    Code::S009,
                    crate::schema::head_span(root),
                    "the document has no kind",
                )
                .help("add `kind: TracingPolicy` (or `TracingPolicyNamespaced`)"),
            );
            Kind::TracingPolicy
        }
    };
    Classified::Policy(parsed)
}

/// `metadata.name` (and, for the namespaced kind, `metadata.namespace`).
pub fn check_metadata(root: &Node, kind: Kind, out: &mut Vec<Diagnostic>) {
    let Some(meta) = root.get("metadata").filter(|m| m.as_map().is_some()) else {
        return;
    };
    match meta.get("name") {
        Some(name) => {
            if let Some(text) = name.as_str() {
                if let Some(problem) = dns_subdomain_problem(text) {
                    let suggestion = suggest_name(text);
                    let mut d = Diagnostic::new(
                        Code::S007,
                        name.span,
                        format!("`{text}` is not a valid policy name: {problem}"),
                    );
                    d = if suggestion.is_empty() {
                        d.help("use lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit")
                    } else {
                        d.help(format!("rename it, for example to `{suggestion}`"))
                    };
                    out.push(d);
                }
            }
        }
        // `name:` written above `metadata` is S001's finding (it says where the name goes).
        None if meta.get("generateName").is_none() && root.get("name").is_none() => out.push(
            Diagnostic::new(
                Code::S002,
                crate::schema::head_span(meta),
                "`metadata` needs `name`",
            )
            .help("add `name:` with a lowercase name such as `block-secret-files`"),
        ),
        None => {}
    }
    let namespace = meta.entry("namespace");
    let ns_text = namespace.and_then(|e| e.value.as_str().filter(|t| !t.is_empty()));
    match (kind, namespace, ns_text) {
        (Kind::TracingPolicyNamespaced, Some(e), Some(ns)) => {
            if let Some(problem) = dns_label_problem(ns) {
                out.push(
                    Diagnostic::new(
                        Code::S007,
                        e.value.span,
                        format!("`{ns}` is not a valid namespace: {problem}"),
                    )
                    .help(
                        "namespaces are lowercase letters, digits and `-`, at most 63 characters",
                    ),
                );
            }
        }
        (Kind::TracingPolicyNamespaced, _, None) if root.get("namespace").is_none() => {
            let span = namespace.map_or_else(|| crate::schema::head_span(meta), |e| e.key.span);
            out.push(
                Diagnostic::new(
                    Code::S017,
                    span,
                    "this TracingPolicyNamespaced names no namespace: kubectl fills it in, Tetragon's file loader refuses it",
                )
                .severity(Severity::Warning)
                .help("add `namespace:` under `metadata` with the namespace the policy is for"),
            );
        }
        (Kind::TracingPolicy, Some(e), Some(ns)) => {
            out.push(
                Diagnostic::new(
                    Code::S017,
                    e.key.span,
                    format!(
                        "a TracingPolicy is cluster-wide and cannot have a namespace (`{ns}`): Tetragon's file loader refuses it, Kubernetes drops it and the policy applies to every namespace"
                    ),
                )
                .help("to limit the policy to one namespace, make it `kind: TracingPolicyNamespaced`; otherwise remove `namespace:`"),
            );
        }
        _ => {}
    }
}

/// Whether a text that may not parse as YAML reads like a TracingPolicy: a line (indented or
/// not, a list item or not) `apiVersion: cilium.io...` or `kind: ...TracingPolicy...`, or a
/// hook section key (`kprobes:`, `tracepoints:`, ...) as [`classify`] counts a document
/// without apiVersion and kind. A file that does not is no policy, even when its YAML is
/// broken: the CLI says so as a warning instead of reporting its YAML errors.
pub fn looks_like_policy(text: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim_start().trim_start_matches("- ").trim_start();
        let Some((key, value)) = line.split_once(':') else {
            return false;
        };
        let key = key.trim().trim_matches(['"', '\'']);
        let value = value
            .split(" #")
            .next()
            .unwrap_or_default()
            .trim()
            .trim_matches(['"', '\'']);
        match key {
            "apiVersion" => value.starts_with("cilium.io"),
            "kind" => value.contains("TracingPolicy"),
            "kprobes" | "tracepoints" | "lsmhooks" | "uprobes" | "usdts" | "fentries" => true,
            _ => false,
        }
    })
}

/// Why `name` is not a DNS-1123 subdomain, or None.
pub fn dns_subdomain_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".into());
    }
    if name.len() > 253 {
        return Some(format!(
            "it has {} characters; at most 253 are allowed",
            name.len()
        ));
    }
    if let Some(c) = name.chars().find(|c| c.is_ascii_uppercase()) {
        return Some(format!("it contains the uppercase letter `{c}`"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.'))
    {
        return Some(format!(
            "it contains `{c}`; only lowercase letters, digits, `-` and `.` are allowed"
        ));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Some("it has an empty part between dots".into());
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some("each part must start and end with a letter or digit".into());
        }
    }
    None
}

fn dns_label_problem(name: &str) -> Option<String> {
    if name.contains('.') {
        return Some("it contains `.`".into());
    }
    if name.len() > 63 {
        return Some(format!(
            "it has {} characters; at most 63 are allowed",
            name.len()
        ));
    }
    dns_subdomain_problem(name)
}

/// A valid name close to `name` (lowercased, other characters turned into `-`).
pub fn suggest_name(name: &str) -> String {
    let mapped: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches(|c| c == '-' || c == '.').to_string();
    if dns_subdomain_problem(&trimmed).is_none() {
        trimmed
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    /// Classify the first document of `text`: Some(kind) for a policy, None for another object,
    /// with the codes reported.
    fn classified(text: &str) -> (Option<Kind>, Vec<Code>) {
        let parsed = crate::yaml::parse(&SourceFile::new("t.yaml", text));
        let root = parsed.documents[0].root.as_ref().expect("a document");
        let mut out = Vec::new();
        let kind = match classify(root, &mut out) {
            Classified::Policy(k) => Some(k),
            Classified::Other => None,
        };
        (kind, out.iter().map(|d| d.code).collect())
    }

    #[test]
    fn misspelt_kinds_in_the_cilium_group_are_policies() {
        for (kind, meant) in [
            ("NamespacedTracingPolicy", Kind::TracingPolicyNamespaced),
            ("TracingPolicies", Kind::TracingPolicy),
            ("Tracingpolicy-namespaced", Kind::TracingPolicyNamespaced),
            ("tracing_policy", Kind::TracingPolicy),
            ("TracePolicy", Kind::TracingPolicy),
            ("CiliumTracingPolicy", Kind::TracingPolicy),
        ] {
            let text = format!(
                "apiVersion: cilium.io/v1alpha1\nkind: {kind}\nmetadata:\n  name: x\nspec: {{}}\n"
            );
            assert_eq!(classified(&text), (Some(meant), vec![Code::S009]), "{kind}");
        }
        // No word of a policy kind and nothing hooked: one S009, and no policy checks after it.
        let text = "apiVersion: cilium.io/v1alpha1\nkind: Widget\nmetadata:\n  name: x\n";
        assert_eq!(classified(text), (None, vec![Code::S009]));
    }

    #[test]
    fn other_objects_of_the_cilium_group_are_left_alone() {
        for (api, kind) in [
            ("cilium.io/v2", "CiliumNetworkPolicy"),
            ("cilium.io/v2", "CiliumClusterwideNetworkPolicy"),
            ("cilium.io/v2alpha1", "CiliumBGPPeeringPolicy"),
            ("cilium.io/v2", "CiliumNode"),
            ("cilium.io/v1alpha1", "PodInfo"),
            ("cilium.io/v1alpha1", "TracingPolicyList"),
        ] {
            let text =
                format!("apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: x\nspec: {{}}\n");
            assert_eq!(classified(&text), (None, vec![]), "{kind}");
        }
        // Outside the group, kinds that are not policy kinds stay other objects.
        for (api, kind) in [
            ("kyverno.io/v1", "Policy"),
            ("networking.k8s.io/v1", "NetworkPolicy"),
        ] {
            let text =
                format!("apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: x\nspec: {{}}\n");
            assert_eq!(classified(&text), (None, vec![]), "{kind}");
        }
    }
}
