//! Schema checks: everything Tetragon's CRD enforces on a document's shape (codes `S001`–`S006`),
//! plus the generator of the JSON Schema in `schema/`.
//!
//! The walker reads [`table`] and reports unknown fields (with "did you mean"), missing required
//! fields, wrong types, values outside an enum, too many items and values below a minimum.
//! Kubernetes drops `null` values of optional fields before validation, and so does this walker.

pub mod json;
pub mod table;

use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::facts;
use crate::source::Span;
use crate::suggest::did_you_mean;
use crate::yaml::{Node, Value};
use table::{Field, Obj, Ty};

/// Check `node` against object type `obj`; `what` names the node for messages (e.g. "kprobe").
pub fn check_object(node: &Node, obj: &'static Obj, out: &mut Vec<Diagnostic>) {
    check_value(node, &Ty::Obj(obj), obj.name, out);
}

fn check_value(node: &Node, ty: &Ty, what: &str, out: &mut Vec<Diagnostic>) {
    match ty {
        Ty::Any => {}
        Ty::Obj(obj) => {
            let Some(entries) = node.as_map() else {
                out.push(wrong_type(node, "a mapping", what));
                return;
            };
            for entry in entries {
                let key = entry.key.scalar_text();
                match obj.field(&key) {
                    Some(field) => {
                        if !entry.value.is_null() {
                            check_field(&entry.value, field, out);
                        }
                    }
                    None if facts::is_removed_field(obj.name, &key) => {}
                    None => out.push(unknown_field(&entry.key, &key, obj)),
                }
            }
            // Kubernetes fills in defaults before it validates, so a defaulted field is never missing.
            for field in obj
                .fields
                .iter()
                .filter(|f| f.required && f.default.is_none())
            {
                let present = node.get(field.name).is_some_and(|v| !v.is_null());
                if !present {
                    out.push(missing_field(node, field, obj));
                }
            }
        }
        Ty::Arr(item) => {
            let Some(items) = node.as_seq() else {
                out.push(wrong_type(node, "a list", what));
                return;
            };
            let item_what = format!("each item of `{what}`");
            for it in items {
                check_value(it, item, &item_what, out);
            }
        }
        Ty::Map(value) => {
            let Some(entries) = node.as_map() else {
                out.push(wrong_type(node, "a mapping", what));
                return;
            };
            for e in entries {
                check_value(&e.value, value, what, out);
            }
        }
        Ty::Str => {
            if node.as_str().is_none() {
                out.push(wrong_type(node, "a string", what));
            }
        }
        Ty::Int { wide } => match node.value {
            Value::Int(i) => {
                if !wide && i32::try_from(i).is_err() {
                    out.push(
                        Diagnostic::new(
                            Code::S006,
                            node.span,
                            format!(
                                "{} must fit in a 32-bit integer; {i} does not",
                                quoted(what)
                            ),
                        )
                        .help("use a value between -2147483648 and 2147483647"),
                    );
                }
            }
            _ => out.push(wrong_type(node, "an integer", what)),
        },
        Ty::Bool => {
            if node.as_bool().is_none() {
                out.push(wrong_type(node, "true or false", what));
            }
        }
    }
}

fn check_field(node: &Node, field: &'static Field, out: &mut Vec<Diagnostic>) {
    let before = out.len();
    check_value(node, &field.ty, field.name, out);
    if out.len() != before {
        return;
    }
    if !field.enum_values.is_empty() {
        if let Some(s) = node.as_str() {
            if !field.enum_values.contains(&s) && !facts::is_removed_enum_value(field.name, s) {
                out.push(invalid_enum(node, s, field));
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

fn invalid_enum(node: &Node, value: &str, field: &Field) -> Diagnostic {
    let d = Diagnostic::new(
        Code::S004,
        node.span,
        format!("`{value}` is not a valid `{}`", field.name),
    );
    match did_you_mean(value, field.enum_values) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => d.help(format!("use one of: {}", field.enum_values.join(", "))),
    }
}

fn wrong_type(node: &Node, expected: &str, what: &str) -> Diagnostic {
    let found = node.type_name();
    let mut d = Diagnostic::new(
        Code::S003,
        node.span,
        format!(
            "{} must be {expected}, not {} {found} `{}`",
            quoted(what),
            article(found),
            short(node)
        ),
    );
    d = match (&node.value, expected) {
        (Value::Int(_) | Value::Float(_) | Value::Bool(_), "a string") => d.help(format!(
            "quote it: \"{}\" (Tetragon's CRD wants every value here as a string)",
            node.scalar_text()
        )),
        (Value::Str { text, .. }, "an integer") if text.trim().parse::<i64>().is_ok() => {
            d.help(format!("write it without quotes: {}", text.trim()))
        }
        (Value::Str { text, .. }, "true or false")
            if matches!(
                text.to_ascii_lowercase().as_str(),
                "yes" | "no" | "on" | "off" | "y" | "n"
            ) =>
        {
            d.help("write `true` or `false`; YAML 1.2 and Tetragon read yes/no/on/off as strings")
        }
        (Value::Map(_), "a list") | (Value::Str { .. }, "a list") => {
            d.help("write it as a list: each item on its own line starting with `- `")
        }
        _ => d.help(format!("write {expected} here")),
    };
    d
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
    explanation: "Tetragon decodes policies strictly: a key the CRD does not know makes the whole policy fail to load (`json: unknown field`). Most often the key is misspelt (`selector` for `selectors`) or sits at the wrong indentation, under the wrong parent. The help names the closest valid key.",
    tetragon: "pkg/tracingpolicy (UnmarshalStrict) and the CRD's structural schema",
};

/// `S002`.
pub const S002: CodeInfo = CodeInfo {
    code: "S002",
    name: "missing-field",
    severity: Severity::Error,
    summary: "A field the CRD requires is missing or has no value.",
    explanation: "The CRD marks some fields as required: `call` of a kprobe, `hook` of an lsmhook, `subsystem` and `event` of a tracepoint, `index` and `type` of an arg, `operator` of every filter, `values` of matchBinaries and matchPIDs, `action` of an action, and `metadata.name`. A key written with nothing after the colon counts as missing, because Kubernetes drops null values.",
    tetragon: "the CRD's `required` lists; apimachinery ValidateObjectMeta for metadata.name",
};

/// `S003`.
pub const S003: CodeInfo = CodeInfo {
    code: "S003",
    name: "wrong-type",
    severity: Severity::Error,
    summary: "A value of the wrong type (a number where the CRD wants a string, ...).",
    explanation: "The CRD types every field. The most common mistake is an unquoted number in `values`: every matchArgs value is a string in the CRD, so `443` must be written `\"443\"`. The reverse happens too: `index: \"1\"` must be an integer. YAML 1.1 words like `yes` and `on` are strings, not booleans.",
    tetragon: "the CRD's OpenAPI types, checked by the API server or Tetragon's schema validation",
};

/// `S004`.
pub const S004: CodeInfo = CodeInfo {
    code: "S004",
    name: "invalid-enum-value",
    severity: Severity::Error,
    summary: "A value outside the set the CRD allows (operator, action, arg type, ...).",
    explanation: "Operators, actions, arg types, namespace kinds, capability sets and list types are enums, and the CRD compares them case-sensitively: `sigkill` and `Prefx` are rejected. Tetragon's Go code accepts some lowercase aliases, but only exact CRD spellings get through Kubernetes, so policyctl asks for those.",
    tetragon: "the CRD's `enum` lists",
};

/// `S005`.
pub const S005: CodeInfo = CodeInfo {
    code: "S005",
    name: "too-many-items",
    severity: Severity::Error,
    summary: "A list longer than the CRD's maxItems (tags, matchBinaries).",
    explanation: "The CRD caps `tags` at 16 and `matchBinaries` / `matchParentBinaries` at one entry per selector. Several binaries go into the `values` of that one entry.",
    tetragon: "the CRD's `maxItems`; Go `only support a single matchBinaries per selector`",
};

/// `S006`.
pub const S006: CodeInfo = CodeInfo {
    code: "S006",
    name: "out-of-range",
    severity: Severity::Error,
    summary: "An integer below the CRD's minimum or outside 32 bits.",
    explanation: "Arg indexes, `sizeArgIndex` and matchArgs `index`/`args` cannot be negative, and int32 fields (argError, argSig, index, pids) must fit in 32 bits.",
    tetragon: "the CRD's `minimum` and `format: int32`",
};
