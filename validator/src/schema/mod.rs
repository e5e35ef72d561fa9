//! Schema checks: everything Tetragon's CRD enforces on a document's shape (codes `S001`–`S006`,
//! `S015`, `S016`), plus the generator of the JSON Schema in `schema/`.
//!
//! The walker reads [`table`] and reports unknown fields (with "did you mean"), field names in
//! another case (which Tetragon's file loader folds and Kubernetes does not), missing required
//! fields, wrong types, values outside an enum, too many items and values below a minimum.
//! A `null` where a field has a default stands for the default; any other `null` under `spec` is
//! refused by Tetragon's file loader (Kubernetes drops it), and reported.

pub mod json;
pub mod meant;
mod placement;
pub mod refine;
pub mod table;

use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::facts;
use crate::source::Span;
use crate::suggest::did_you_mean;
use crate::yaml::{Node, Value};
use table::{Field, Obj, Ty};

/// Check `node` against object type `obj`; `what` names the node for messages (e.g. "kprobe").
///
/// `src` is the text the node was parsed from: messages quote a value as it was written (`on`,
/// which Tetragon reads as the boolean true).
pub fn check_object(node: &Node, obj: &'static Obj, src: &str, out: &mut Vec<Diagnostic>) {
    check_value(node, &Ty::Obj(obj), obj.name, src, out);
}

fn check_value(node: &Node, ty: &Ty, what: &str, src: &str, out: &mut Vec<Diagnostic>) {
    match ty {
        Ty::Any => {}
        Ty::Obj(obj) => {
            let Some(entries) = node.as_map() else {
                out.push(wrong_type(node, src, "a mapping", what));
                return;
            };
            let mut unknown = Vec::new();
            for entry in entries {
                let key = entry.key.scalar_text();
                match obj.field(&key) {
                    Some(field) => {
                        if !entry.value.is_null() {
                            check_field(&entry.value, field, obj, src, out);
                        } else if !field.required
                            && field.default.is_none()
                            && obj.name != "ObjectMeta"
                            && !matches!(field.ty, Ty::Any)
                        {
                            out.push(null_value(&entry.key, field, obj));
                        }
                    }
                    None if facts::is_removed_field(obj.name, &key) => {}
                    None => match obj.field_ignoring_case(&key) {
                        Some(field) => {
                            out.push(field_name_case(&entry.key, &key, field, obj));
                            if !entry.value.is_null() {
                                check_field(&entry.value, field, obj, src, out);
                            }
                        }
                        None => unknown.push(entry),
                    },
                }
            }
            let explained = placement::unknown_fields(node, obj, &unknown, out);
            // Kubernetes fills in defaults before it validates, so a defaulted field is never missing.
            for field in obj
                .fields
                .iter()
                .filter(|f| f.required && f.default.is_none() && !explained.contains(&f.name))
            {
                let present = node.get(field.name).is_some_and(|v| !v.is_null());
                if !present {
                    out.push(missing_field(node, field, obj));
                }
            }
        }
        Ty::Arr(item) => {
            let Some(items) = node.as_seq() else {
                out.push(wrong_type(node, src, "a list", what));
                return;
            };
            let item_what = format!("each item of `{what}`");
            for it in items {
                check_value(it, item, &item_what, src, out);
            }
        }
        Ty::Map(value) => {
            let Some(entries) = node.as_map() else {
                out.push(wrong_type(node, src, "a mapping", what));
                return;
            };
            for e in entries {
                check_value(&e.value, value, what, src, out);
            }
        }
        Ty::Str => {
            if node.as_str().is_none() {
                out.push(wrong_type(node, src, "a string", what));
            }
        }
        Ty::Int { .. } => match node.value {
            Value::Int(i) => {
                let (lo, hi) = ty.int_range().unwrap_or((i64::MIN.into(), i64::MAX.into()));
                let go = ty.go_int_name().unwrap_or("int64");
                if !(lo..=hi).contains(&i128::from(i)) {
                    // As written: a value past i64 reads as its nearest i64 in Kubernetes.
                    let i = src
                        .get(node.span.start..node.span.end)
                        .filter(|t| !t.is_empty() && t.len() <= 40)
                        .map_or_else(|| i.to_string(), str::to_string);
                    let message = if i.starts_with('-') && lo == 0 {
                        format!(
                            "{} cannot be negative: Tetragon reads it as a Go {go}; it is {i}",
                            quoted(what)
                        )
                    } else {
                        format!(
                            "{} is a Go {go} in Tetragon; {i} does not fit",
                            quoted(what)
                        )
                    };
                    out.push(
                        Diagnostic::new(Code::S006, node.span, message)
                            .help(format!("use a value from {lo} to {hi}")),
                    );
                }
            }
            _ => out.push(wrong_type(node, src, "an integer", what)),
        },
        Ty::Bool => {
            if node.as_bool().is_none() {
                out.push(wrong_type(node, src, "true or false", what));
            }
        }
    }
}

fn check_field(
    node: &Node,
    field: &'static Field,
    obj: &Obj,
    src: &str,
    out: &mut Vec<Diagnostic>,
) {
    let before = out.len();
    check_value(node, &field.ty, field.name, src, out);
    if out.len() != before {
        return;
    }
    if !field.enum_values.is_empty() {
        if let Some(s) = node.as_str() {
            if !field.enum_values.contains(&s) && !facts::is_removed_enum_value(field.name, s) {
                out.push(invalid_enum(node, s, field, obj));
            }
        }
    }
    if let (Some(max), Some(items)) = (field.max_items, node.as_seq()) {
        if items.len() > max {
            let extra = &items[max];
            out.push(
                Diagnostic::new(
                    Code::S005,
                    extra.span,
                    format!(
                        "`{}` takes at most {max} item{}, this one is number {}",
                        field.name,
                        if max == 1 { "" } else { "s" },
                        max + 1
                    ),
                )
                .help(match field.name {
                    "matchBinaries" | "matchParentBinaries" => "put all binaries in the `values` of one entry, or split the selector in two".to_string(),
                    _ => format!("remove items until at most {max} remain"),
                }),
            );
        }
    }
    if let Some(min) = field.minimum {
        let ints: Vec<&Node> = match &node.value {
            Value::Seq(items) => items.iter().collect(),
            _ => vec![node],
        };
        for n in ints {
            if let Some(i) = n.as_i64() {
                if i < min {
                    out.push(
                        Diagnostic::new(
                            Code::S006,
                            n.span,
                            format!("`{}` must be {min} or more; it is {i}", field.name),
                        )
                        .help("argument positions count from 0"),
                    );
                }
            }
        }
    }
}

fn unknown_field(key: &Node, name: &str, obj: &Obj) -> Diagnostic {
    let names: Vec<&str> = obj.fields.iter().map(|f| f.name).collect();
    let mut d = Diagnostic::new(
        Code::S001,
        key.span,
        format!("`{name}` is not a field of {}", describe(obj)),
    );
    d = match did_you_mean(name, &names) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => d.help(format!("the fields here are: {}", names.join(", "))),
    };
    d
}

/// An optional field written with no value (`message:`).
fn null_value(key: &Node, field: &Field, obj: &Obj) -> Diagnostic {
    Diagnostic::new(
        Code::S016,
        key.span,
        format!(
            "`{}` of {} has no value: Tetragon's file loader refuses a null here",
            field.name,
            describe(obj)
        ),
    )
    .help(format!(
        "give `{}` a value or remove the line (Kubernetes drops it, Tetragon's file loader does not)",
        field.name
    ))
}

/// A key that names a field in another case (`matchPids` for `matchPIDs`).
fn field_name_case(key: &Node, name: &str, field: &Field, obj: &Obj) -> Diagnostic {
    if obj.name == "TracingPolicy" && field.name == "kind" {
        // FromYAML reads the kind from the untyped object with its exact key: no folding there.
        return Diagnostic::new(
            Code::S001,
            key.span,
            format!("`{name}` is not `kind`: Tetragon reads the kind with this exact spelling, and finds none"),
        )
        .help("write `kind:`");
    }
    Diagnostic::new(
        Code::S015,
        key.span,
        format!(
            "`{name}` is written `{}` in the CRD: it loads from a file, but Kubernetes rejects or drops it",
            field.name
        ),
    )
    .help(format!("write `{}`", field.name))
}

fn missing_field(node: &Node, field: &Field, obj: &Obj) -> Diagnostic {
    let (span, empty) = match node.entry(field.name) {
        Some(e) => (e.key.span, true),
        None => (head_span(node), false),
    };
    let message = if empty {
        format!("`{}` of {} has no value", field.name, describe(obj))
    } else {
        format!("{} needs `{}`", describe(obj), field.name)
    };
    Diagnostic::new(Code::S002, span, message).help(format!("add `{}:`. {}", field.name, field.doc))
}

fn invalid_enum(node: &Node, value: &str, field: &Field, obj: &Obj) -> Diagnostic {
    let set = meant::EnumSet::of(field.enum_values);
    enum_diagnostic(
        node.span,
        value,
        field.name,
        field.enum_values,
        set,
        obj.name,
        None,
    )
}

/// `S004` for `value` outside `allowed` (the enum of field `name` in object `obj_name`): what
/// an operator or action from another language was meant to be, else the closest value, else
/// the values allowed. `ty` is the type of the arg a matchArgs operator filters, when known:
/// then only operators that fit it are offered.
pub(crate) fn enum_diagnostic(
    span: Span,
    value: &str,
    name: &str,
    allowed: &[&str],
    set: Option<meant::EnumSet>,
    obj_name: &str,
    ty: Option<&str>,
) -> Diagnostic {
    let fits = |op: &str| {
        ty.is_none_or(|t| facts::operator(op).is_none_or(|o| facts::operator_fits(o, t).is_ok()))
    };
    // CapabilitiesGained compares two capability sets; offered on those only.
    let special = |op: &str| {
        op == "CapabilitiesGained"
            && ty.is_some_and(|t| !matches!(facts::sel_type(t), facts::SelType::Cap))
    };
    let offered: Vec<&str> = allowed
        .iter()
        .copied()
        .filter(|o| fits(o) && !special(o))
        .collect();
    let offered = if offered.is_empty() {
        allowed.to_vec()
    } else {
        offered
    };
    let list = |d: Diagnostic| match ty {
        Some(t) => d.help(format!(
            "use an operator that fits the `{t}` arg: {}",
            offered.join(", ")
        )),
        None => d.help(format!("use one of: {}", offered.join(", "))),
    };
    let typo = did_you_mean(value, &offered);
    let what = match set {
        Some(meant::EnumSet::Action) => "a Tetragon action".to_string(),
        Some(_) => match obj_name {
            "BinarySelector" => "a matchBinaries operator".to_string(),
            "LabelSelectorRequirement" => "a label selector operator".to_string(),
            "PIDSelector" => "a matchPIDs operator".to_string(),
            "NamespaceSelector" => "a matchNamespaces operator".to_string(),
            "NamespaceChangesSelector" => "a matchNamespaceChanges operator".to_string(),
            "CapabilitiesSelector" => "a capabilities operator".to_string(),
            _ => "a Tetragon operator".to_string(),
        },
        None => format!("a valid `{name}`"),
    };
    let meaning = set
        .and_then(|s| meant::enum_value(s, value))
        .filter(|m| m.instead.is_none() || m.instead != typo);
    let Some(m) = meaning else {
        let d = Diagnostic::new(
            Code::S004,
            span,
            format!("`{value}` is not a valid `{name}`"),
        );
        return match typo {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => list(d),
        };
    };
    let usable = m
        .instead
        .into_iter()
        .chain(m.uses.iter().copied())
        .all(fits);
    if let (false, Some(i), Some(t)) = (usable, m.instead, ty) {
        // What the word means in Tetragon does not work on this arg: say so, and offer what does.
        return list(Diagnostic::new(
            Code::S004,
            span,
            format!("`{value}` is not {what}, and Tetragon's `{i}` does not fit the `{t}` arg"),
        ));
    }
    let d = Diagnostic::new(
        Code::S004,
        span,
        format!("`{value}` is not {what}: {}", m.why),
    );
    if !usable {
        return list(d);
    }
    match (m.help, m.instead) {
        (Some(h), _) => d.help(h),
        // The form the language server turns into a quick fix.
        (None, Some(i)) => d.help(format!("did you mean `{i}`?")),
        (None, None) => list(d),
    }
}

fn wrong_type(node: &Node, src: &str, expected: &str, what: &str) -> Diagnostic {
    if what == "argSig" {
        if let Some(d) = signal_name(node) {
            return d;
        }
    }
    if let Some(template) = helm_template(node, src) {
        return Diagnostic::new(
            Code::S003,
            node.span,
            format!(
                "{} must be {expected}, not the Helm template expression `{template}` (unrendered, YAML reads it as a mapping)",
                quoted(what)
            ),
        )
        .help("render the chart first and check what Helm prints: `helm template RELEASE CHART | policyctl check -`");
    }
    let found = node.type_name();
    // The value as written: `on` reads as the boolean true, and the message says `on`.
    let written = Some(node)
        .filter(|n| matches!(n.value, Value::Bool(_) | Value::Int(_) | Value::Float(_)))
        .and_then(|n| src.get(n.span.start..n.span.end))
        .filter(|t| !t.is_empty() && !t.contains('\n') && t.chars().count() <= 30)
        .map_or_else(|| short(node), str::to_string);
    let mut d = Diagnostic::new(
        Code::S003,
        node.span,
        format!(
            "{} must be {expected}, not {} {found} `{written}`",
            quoted(what),
            article(found),
        ),
    );
    d = match (&node.value, expected) {
        (Value::Bool(_), "a string") => d.help(format!(
            "quote it: \"{written}\" (Tetragon and kubectl read YAML 1.1, where an unquoted `{written}` is a boolean)"
        )),
        (Value::Int(i), "a string")
            if written.len() > 1
                && written.starts_with('0')
                && written.bytes().all(|c| c.is_ascii_digit()) =>
        {
            d.help(format!(
                "quote it: \"{written}\" (unquoted, Tetragon and kubectl read the octal integer {i})"
            ))
        }
        (Value::Int(_) | Value::Float(_), "a string") => d.help(format!(
            "quote it: \"{written}\" (Tetragon's CRD wants every value here as a string)"
        )),
        (Value::Str { text, .. }, "an integer")
            if crate::golang::parse_int(text.trim(), 64).is_ok() =>
        {
            d.help(format!("write it without quotes: {}", text.trim()))
        }
        (Value::Str { text, .. }, "true or false")
            if matches!(
                text.to_ascii_lowercase().as_str(),
                "yes" | "no" | "on" | "off" | "y" | "n" | "true" | "false"
            ) =>
        {
            d.help(format!("write it without quotes: {}", text.to_ascii_lowercase()))
        }
        (Value::Map(_), "a list") | (Value::Str { .. }, "a list") => {
            d.help("write it as a list: each item on its own line starting with `- `")
        }
        _ => d.help(format!("write {expected} here")),
    };
    d
}

/// The text of an unquoted Helm template expression (`{{ .Values.x }}`, which YAML reads as a
/// mapping in a mapping), on one line of at most 80 characters.
fn helm_template<'a>(node: &Node, src: &'a str) -> Option<&'a str> {
    if !matches!(node.value, Value::Map(_)) {
        return None;
    }
    let text = src.get(node.span.start..node.span.end)?.trim();
    (text.starts_with("{{") && text.ends_with("}}") && !text.contains('\n') && text.len() <= 80)
        .then_some(text)
}

/// `argSig: SIGKILL` (or `KILL`, `sigkill`): the number the signal name stands for.
fn signal_name(node: &Node) -> Option<Diagnostic> {
    let Value::Str { text, .. } = &node.value else {
        return None;
    };
    // A quoted number gets the ordinary "write it without quotes" (a quick fix in editors).
    let text = text.trim();
    let also_sigkill = "; `action: Sigkill` kills without an argSig";
    let (n, name) = meant::signal_number(text)?;
    let mut help = format!("write `argSig: {n}`");
    if n == 9 {
        help.push_str(also_sigkill);
    }
    Some(
        Diagnostic::new(
            Code::S003,
            node.span,
            format!("`argSig` is the signal's number, not its name: {name} is {n}"),
        )
        .help(help),
    )
}

fn quoted(what: &str) -> String {
    if what.contains('`') {
        what.to_string()
    } else {
        format!("`{what}`")
    }
}

fn article(word: &str) -> &'static str {
    match word.as_bytes().first() {
        Some(b'i') => "an",
        _ => "a",
    }
}

/// A scalar's text cut to 30 characters, for messages.
pub fn short(node: &Node) -> String {
    let t = node.scalar_text();
    if t.chars().count() > 30 {
        format!("{}…", t.chars().take(30).collect::<String>())
    } else {
        t
    }
}

/// What to call an object in a message.
pub fn describe(obj: &Obj) -> &'static str {
    match obj.name {
        "TracingPolicy" => "the policy",
        "ObjectMeta" => "`metadata`",
        "TracingPolicySpec" => "`spec`",
        "KProbeSpec" => "a kprobe",
        "TracepointSpec" => "a tracepoint",
        "UProbeSpec" => "a uprobe",
        "UsdtSpec" => "a usdt",
        "LsmHookSpec" => "an lsmhook",
        "KProbeArg" => "an arg",
        "KProbeSelector" => "a selector",
        "ArgSelector" => "an argument filter",
        "PIDSelector" => "a matchPIDs filter",
        "BinarySelector" => "a matchBinaries filter",
        "NamespaceSelector" => "a matchNamespaces filter",
        "NamespaceChangesSelector" => "a matchNamespaceChanges filter",
        "CapabilitiesSelector" => "a capabilities filter",
        "ActionSelector" => "an action",
        "ListSpec" => "a list",
        "EnforcerSpec" => "an enforcer",
        "OptionSpec" => "an option",
        "LabelSelector" => "a label selector",
        "LabelSelectorRequirement" => "a label expression",
        "WorkloadSelector" => "`matchWorkloads`",
        _ => "this object",
    }
}

/// The span of a node's first line (for a mapping: its first key), for "missing field" errors.
pub fn head_span(node: &Node) -> Span {
    match &node.value {
        Value::Map(entries) if !entries.is_empty() => entries[0].key.span,
        _ => Span::new(node.span.start, node.span.start + node.span.len().min(1)),
    }
}

use crate::codes::CodeInfo;
use crate::diagnostic::Severity;

/// `S001`.
pub const S001: CodeInfo = CodeInfo {
    code: "S001",
    name: "unknown-field",
    severity: Severity::Error,
    summary: "A key that the TracingPolicy CRD does not define.",
    explanation: "Tetragon decodes a policy strictly: after the CRD's schema checks, its loader decodes the object into Tetragon's Go types with unknown fields forbidden, so a key the CRD does not know makes the whole policy fail to load (`json: unknown field \"selector\"`); the Kubernetes API server refuses it too (`unknown field`, kubectl's default strict validation). Most often the key is misspelt (`selector` for `selectors`) or sits at the wrong indentation, under the wrong parent. The help names the closest valid key. A key that differs from a field only in case is S015.\n\nWhen the key is a field one level up or down, the help says where it goes: an action field (`action`, `argSig`, `argError`, ...) written straight in a selector or a hook goes in an item of `matchActions`; a selector field (`matchArgs`, `matchBinaries`, `matchActions`, ...) written in a hook goes inside an item of `selectors`, and one written inside a filter (often after a `- ` too many) goes one level up; a hook field (`selectors`, `call`) written in `spec` goes inside a hook; `kprobes` or `name` at the top go under `spec` or `metadata`. Keys from other tools get Tetragon's way of saying the same thing: executables are matched with `matchBinaries` (full paths); files and directories are an argument of the hook, filtered with `matchArgs` (`Prefix` for a directory); pods and containers are chosen with `podSelector` and `containerSelector` (container `name` or `repo`) in `spec`, or in a selector's `matchWorkloads`; a policy for one Kubernetes namespace is a `TracingPolicyNamespaced`, while `matchNamespaces` filters Linux namespaces by inode.",
    tetragon: "pkg/crdutils/crdutils.go CRDContext.FromYAML (sigs.k8s.io/yaml UnmarshalStrict into the typed policy: `failed to unmarshal into typed object ... unknown field`); the fields of each level: pkg/k8s/apis/cilium.io/v1alpha1/types.go (KProbeSpec, KProbeSelector, ActionSelector, WorkloadsSelector) and tracing_policy_types.go (TracingPolicySpec)",
};

/// `S002`.
pub const S002: CodeInfo = CodeInfo {
    code: "S002",
    name: "missing-field",
    severity: Severity::Error,
    summary: "A field the CRD requires is missing or has no value.",
    explanation: "The CRD marks some fields as required: `call` of a kprobe, `hook` of an lsmhook, `subsystem` and `event` of a tracepoint, `path` of a uprobe, `index` and `type` of an arg, `operator` of every filter, `values` of matchBinaries and matchPIDs, `action` of an action, and `metadata.name` (or `generateName`). A missing one fails the CRD's schema check in Tetragon's file loader and in the API server (`Required value`). A required key written with nothing after the colon counts as missing, because Kubernetes drops null values (and Tetragon's file loader refuses the null).",
    tetragon: "pkg/crdutils/crdutils.go CRDContext.Validate (the OpenAPI validator's `required` lists; apimachinery ValidateObjectMeta: `name or generateName is required`)",
};

/// `S003`.
pub const S003: CodeInfo = CodeInfo {
    code: "S003",
    name: "wrong-type",
    severity: Severity::Error,
    summary: "A value of the wrong type (a number where the CRD wants a string, ...).",
    explanation: "The CRD types every field. The most common mistake is an unquoted number in `values`: every matchArgs value is a string in the CRD, so `443` must be written `\"443\"`. The reverse happens too: `index: \"1\"` must be an integer.\n\nTetragon and kubectl read YAML with go-yaml v2, which follows YAML 1.1: unquoted `yes`, `no`, `on`, `off`, `y` and `n` (in lower case, capitalised or upper case) are booleans, so `syscall: yes` is a valid boolean and a `values` item written `on` is a boolean where a string is wanted; a leading `0` makes an integer octal (`0755` is 493) and `_` may separate digits (`1_000`). Quote a value to keep it a string. Both the file loader and the API server check these types, so the policy fails to load either way.\n\n`argSig` is the signal's number (a Go `uint32` in ActionSelector), so `argSig: SIGKILL` is a string where an integer is wanted and the policy is refused; the help gives the number, as Linux numbers signals on x86_64 and arm64 (the same for 1 to 31: SIGKILL is 9, SIGTERM is 15). To kill, `action: Sigkill` needs no argSig.",
    tetragon: "pkg/crdutils/crdutils.go CRDContext.FromYAML (ApplyDefaults decodes with sigs.k8s.io/yaml, whose go-yaml v2 `resolve` types the scalars; Validate runs the CRD's OpenAPI schema validator); the API server runs the same schema",
};

/// `S015`.
pub const S015: CodeInfo = CodeInfo {
    code: "S015",
    name: "field-name-case",
    severity: Severity::Warning,
    summary: "A field name written in another case (`matchPids` for `matchPIDs`).",
    explanation: "Tetragon's file loader decodes a policy into its Go types with Go's `encoding/json`, which matches a key to a field ignoring case when no exact match exists. So `matchPids`, `BTFType` or `apiversion` load when the policy is given to Tetragon as a file (`--tracing-policy`, `--tracing-policy-dir`, `tetra tracingpolicy add`): the value goes where the CRD's spelling would put it. Kubernetes does not fold case: with kubectl's default strict field validation the API server rejects the policy with `unknown field`, and with validation off it prunes the field, so the policy loads without it (a `matchPids` filter that disappears makes its selector match every process). Tetragon's build without Kubernetes (`nok8s`) validates against a JSON Schema that forbids unknown fields and refuses it too. Write the CRD's spelling so the policy means the same thing on every path. `kind` is the exception: Tetragon reads it by its exact key, so `Kind:` fails everywhere.",
    tetragon: "pkg/crdutils/crdutils.go CRDContext.FromYAML (sigs.k8s.io/yaml UnmarshalStrict into the typed policy: encoding/json's case-insensitive field match); pkg/tracingpolicy/k8s.go FromYAML (unstr.GetKind, exact); pkg/tracingpolicy/nok8s.go (JSON Schema, additionalProperties false)",
};

/// `S016`.
pub const S016: CodeInfo = CodeInfo {
    code: "S016",
    name: "null-value",
    severity: Severity::Error,
    summary: "An optional field written with no value (`message:` and nothing after it).",
    explanation: "A key with nothing after the colon is a null. The two ways a policy reaches Tetragon treat it differently. The Kubernetes API server removes nulls of fields that are not nullable before it validates, so the policy is accepted as if the line were not there. Tetragon's own file loader (`--tracing-policy`, `--tracing-policy-dir`, `tetra tracingpolicy add`) does not: it fills in the CRD's defaults (so `syscall:` becomes `true`), then validates the object with the CRD's OpenAPI schema, and no field of the CRD allows null, so the policy is refused (`Invalid value: \"null\": ... must be of type string`). Usually the value was forgotten, or the lines under the key are indented wrongly. Give the field a value or delete the line. Required fields written empty are S002; fields under `metadata` are not checked by the CRD schema and may be null.",
    tetragon: "pkg/crdutils/crdutils.go CRDContext.ApplyDefaults (structural defaulting: nulls of defaulted fields get the default, no pruning) and CRDContext.Validate (the OpenAPI schema validator refuses null for a typed field)",
};

/// `S004`.
pub const S004: CodeInfo = CodeInfo {
    code: "S004",
    name: "invalid-enum-value",
    severity: Severity::Error,
    summary: "A value outside the set the CRD allows (operator, action, arg type, ...).",
    explanation: "Operators, actions, arg types, namespace kinds, capability sets and list types are enums in the CRD, compared case-sensitively: `sigkill` and `Prefx` are refused. Tetragon's file loader runs the CRD's schema before its own code sees the policy, and so does the API server, so the lowercase aliases that Tetragon's selector code knows (`eq`, `gt`, `prefix`) never get through either path.\n\nOperators from other languages get Tetragon's name for the same test. In matchArgs, matchData and matchReturnArgs a filter's values are alternatives, so `In` is `Equal` with several values and `NotIn` is `NotEqual`; `Contains` is `SubString`, `EndsWith` is `Postfix`, `StartsWith` is `Prefix`, `>` is `GT` (and `>=` is `GT` with one less); there are no regular expressions or globs. matchBinaries has its own set (`In`, `NotIn`, `Prefix`, `NotPrefix`, `Postfix`, `NotPostfix`), so there `Equal` is `In`; matchPIDs, matchNamespaces, matchCapabilities and their Changes take only `In` and `NotIn`. When the type of the argument a filter reads is known, the operators offered are those that work on that type.",
    tetragon: "pkg/crdutils/crdutils.go CRDContext.Validate (the OpenAPI `enum` from the +kubebuilder:validation:Enum markers in pkg/k8s/apis/cilium.io/v1alpha1/types.go); pkg/selectors/kernel.go SelectorOp (the names the selector compiler knows) and ParseMatchBinary (the matchBinaries operators)",
};

/// `S005`.
pub const S005: CodeInfo = CodeInfo {
    code: "S005",
    name: "too-many-items",
    severity: Severity::Error,
    summary: "A list longer than the CRD's maxItems (tags, matchBinaries).",
    explanation: "The CRD caps `tags` at 16 and `matchBinaries` / `matchParentBinaries` at one entry per selector (`maxItems`), checked by Tetragon's file loader and by the API server; Tetragon's selector compiler refuses a second matchBinaries entry as well (`only support a single matchBinaries per selector`). Several binaries go into the `values` of that one entry.",
    tetragon: "pkg/crdutils/crdutils.go CRDContext.Validate (the CRD's `maxItems`); pkg/selectors/kernel.go ParseMatchBinaries (`only support a single matchBinaries per selector`)",
};

/// `S006`.
pub const S006: CodeInfo = CodeInfo {
    code: "S006",
    name: "out-of-range",
    severity: Severity::Error,
    summary: "An integer below the CRD's minimum, or outside the Go type Tetragon reads it into.",
    explanation: "Arg indexes, `sizeArgIndex` and matchArgs `index`/`args` have a CRD minimum of 0. Every integer field is decoded into a Go integer type, and a value that does not fit makes the typed decoding fail (`cannot unmarshal number ... of type uint32`): `index`, `sizeArgIndex`, matchPIDs values, matchArgs `args`, `argSig`, `argSock`, `argIndex` and `argValue` are `uint32` (0 to 4294967295, so never negative), `argError` is `int32`, uprobe `offsets`, `addrs`, `refCtrOffsets` and `argNewAddr` are `uint64`, `argNewOffset` is `int64`.",
    tetragon: "pkg/crdutils/crdutils.go CRDContext.Validate (the CRD's `minimum`) and CRDContext.FromYAML (the typed decoding into the Go types of pkg/k8s/apis/cilium.io/v1alpha1/types.go)",
};
