//! Generate the JSON Schema (draft-07) of both kinds from [`super::table`], CEL rules included
//! where JSON Schema can say them. `schema/tracingpolicy.json` and
//! `schema/tracingpolicynamespaced.json` are this output; a test keeps them up to date.

use serde_json::{json, Map, Value};

use super::table::{Obj, Ty, API_VERSION, POLICY};
use crate::model::Kind;

/// The JSON Schema of a kind, as pretty JSON with a trailing newline.
pub fn schema_text(kind: Kind) -> String {
    let mut text = serde_json::to_string_pretty(&schema(kind)).unwrap_or_default();
    text.push('\n');
    text
}

/// The JSON Schema of a kind.
pub fn schema(kind: Kind) -> Value {
    let mut defs = Map::new();
    let root = object(&POLICY, &mut defs);
    let (name, title) = match kind {
        Kind::TracingPolicy => ("TracingPolicy", "Tetragon TracingPolicy"),
        Kind::TracingPolicyNamespaced => (
            "TracingPolicyNamespaced",
            "Tetragon TracingPolicyNamespaced",
        ),
    };
    let mut root = root;
    let props = root["properties"].as_object_mut().expect("object schema");
    props.insert(
        "apiVersion".into(),
        json!({"const": API_VERSION, "description": "Always `cilium.io/v1alpha1`."}),
    );
    props.insert(
        "kind".into(),
        json!({"const": name, "description": format!("`{name}`.")}),
    );
    root["required"] = json!(["apiVersion", "kind", "metadata", "spec"]);
    if kind == Kind::TracingPolicyNamespaced {
        root["properties"]["spec"] = json!({
            "allOf": [{"$ref": "#/definitions/TracingPolicySpec"}],
            "not": {"anyOf": [{"required": ["hostSelector"]}, {"required": ["uprobes"]}, {"required": ["usdts"]}]},
            "description": "What the policy hooks and does. A namespaced policy has no hostSelector, uprobes or usdts."
        });
    }
    let mut out = Map::new();
    out.insert(
        "$schema".into(),
        json!("http://json-schema.org/draft-07/schema#"),
    );
    out.insert(
        "$id".into(),
        json!(format!(
            "https://policyctl.dev/schema/{}.json",
            name.to_ascii_lowercase()
        )),
    );
    out.insert("title".into(), json!(title));
    for (k, v) in root.as_object().cloned().unwrap_or_default() {
        out.insert(k, v);
    }
    out.insert("definitions".into(), Value::Object(defs));
    Value::Object(out)
}

fn object(obj: &'static Obj, defs: &mut Map<String, Value>) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for f in obj.fields {
        let mut s = ty(&f.ty, defs);
        let m = s.as_object_mut().expect("field schema");
        m.insert("description".into(), json!(f.doc));
        if !f.enum_values.is_empty() {
            m.insert("enum".into(), json!(f.enum_values));
        }
        if let Some(d) = f.default {
            let v = match &f.ty {
                Ty::Bool => json!(d == "true"),
                Ty::Int { .. } => json!(d.parse::<i64>().unwrap_or(0)),
                _ => json!(d),
            };
            m.insert("default".into(), v);
        }
        if let Some(n) = f.max_items {
            m.insert("maxItems".into(), json!(n));
        }
        if let Some(n) = f.minimum {
            match &f.ty {
                Ty::Arr(_) => {
                    if let Some(items) = m.get_mut("items").and_then(Value::as_object_mut) {
                        items.insert("minimum".into(), json!(n));
                    }
                }
                _ => {
                    m.insert("minimum".into(), json!(n));
                }
            }
        }
        if f.name == "hostSelector" {
            // CEL: `!has(self.matchLabels) && !has(self.matchExpressions)`: null or {}.
            s = json!({"type": ["object", "null"], "maxProperties": 0, "description": f.doc});
        }
        if f.required {
            required.push(f.name);
        }
        props.insert(f.name.into(), s);
    }
    let mut s = json!({
        "type": "object",
        "description": obj.doc,
        "properties": props,
        "additionalProperties": false,
    });
    if !required.is_empty() {
        s["required"] = json!(required);
    }
    match obj.name {
        "KProbeSpec" | "UProbeSpec" => {
            s["if"] = json!({"properties": {"return": {"const": true}}, "required": ["return"]});
            s["then"] = json!({"required": ["returnArg"]});
        }
        "ActionSelector" => {
            s["not"] = json!({"anyOf": [
                {"required": ["argNewSymbol", "argNewAddr"]},
                {"required": ["argNewSymbol", "argNewOffset"]},
                {"required": ["argNewAddr", "argNewOffset"]}
            ]});
        }
        _ => {}
    }
    if obj.name == "UProbeSpec" {
        s["allOf"] = json!([{"not": {"anyOf": [
            {"required": ["symbols", "addrs"]},
            {"required": ["symbols", "offsets"]},
            {"required": ["addrs", "offsets"]}
        ]}}]);
    }
    s
}

fn ty(t: &Ty, defs: &mut Map<String, Value>) -> Value {
    match t {
        Ty::Str => json!({"type": "string"}),
        Ty::Int { wide, signed } => {
            if *wide {
                json!({"type": "integer"})
            } else if *signed {
                json!({"type": "integer", "minimum": i32::MIN, "maximum": i32::MAX})
            } else {
                json!({"type": "integer", "minimum": 0, "maximum": u32::MAX})
            }
        }
        Ty::Bool => json!({"type": "boolean"}),
        Ty::Any => json!({}),
        Ty::Arr(item) => json!({"type": "array", "items": ty(item, defs)}),
        Ty::Map(value) => json!({"type": "object", "additionalProperties": ty(value, defs)}),
        Ty::Obj(obj) => {
            if !defs.contains_key(obj.name) {
                defs.insert(obj.name.into(), json!({}));
                let s = object(obj, defs);
                defs.insert(obj.name.into(), s);
            }
            json!({"$ref": format!("#/definitions/{}", obj.name)})
        }
    }
}
