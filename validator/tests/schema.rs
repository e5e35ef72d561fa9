//! The three descriptions of the TracingPolicy schema must agree: the Rust table
//! (`schema::table`), the generated JSON Schemas (`schema/*.json`) and Tetragon's CRD
//! (`testdata/crd/tetragon-crd-v1alpha1.yaml`).
//!
//! - `schema_files_are_up_to_date`: `schema/*.json` is what the table generates
//!   (`UPDATE_SCHEMA=1` rewrites the files instead of failing).
//! - `table_matches_the_crd`: the table and both CRDs, field by field.
//! - `json_schema_accepts_valid_policies`: the generated schemas accept every valid policy
//!   and reject documents that are broken at the schema level.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use policyctl_validator::schema::json::schema_text;
use policyctl_validator::schema::table::{Field, Obj, Ty, POLICY};
use policyctl_validator::{yaml, Kind, SourceFile};
use serde_json::Value;

mod support;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn schema_path(kind: Kind) -> PathBuf {
    let name = match kind {
        Kind::TracingPolicy => "tracingpolicy.json",
        Kind::TracingPolicyNamespaced => "tracingpolicynamespaced.json",
    };
    root().join("schema").join(name)
}

const KINDS: [Kind; 2] = [Kind::TracingPolicy, Kind::TracingPolicyNamespaced];

/// Every document of a YAML file as JSON (what Kubernetes would see).
fn yaml_documents(name: &str, text: &str) -> Vec<Value> {
    let source = SourceFile::new(name, text);
    let parsed = yaml::parse(&source);
    assert!(
        parsed.diagnostics.is_empty(),
        "{name}: YAML errors: {:#?}",
        parsed.diagnostics
    );
    parsed
        .documents
        .iter()
        .filter_map(|d| d.root.as_ref().map(yaml::Node::to_json))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// a. The files are what the table generates.

#[test]
fn schema_files_are_up_to_date() {
    let update = std::env::var("UPDATE_SCHEMA").is_ok_and(|v| v == "1");
    let mut stale = Vec::new();
    for kind in KINDS {
        let path = schema_path(kind);
        let want = schema_text(kind);
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have == want {
            continue;
        }
        if update {
            std::fs::write(&path, &want)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            eprintln!("rewrote {}", path.display());
        } else {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "out of date (generated from validator/src/schema/table.rs): {}\n\
         regenerate with `UPDATE_SCHEMA=1 cargo test -p policyctl-validator --test schema`",
        stale.join(", ")
    );
}

// ---------------------------------------------------------------------------------------------
// b. The table is the CRD.

/// The `openAPIV3Schema` of both CRDs, with their kind.
fn crd_schemas() -> Vec<(String, Value)> {
    let path = root().join("testdata/crd/tetragon-crd-v1alpha1.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let docs = yaml_documents("tetragon-crd-v1alpha1.yaml", &text);
    let schemas: Vec<(String, Value)> = docs
        .iter()
        .map(|d| {
            let kind = d["spec"]["names"]["kind"]
                .as_str()
                .expect("spec.names.kind")
                .to_string();
            let schema = d["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone();
            assert!(
                schema.is_object(),
                "{kind}: no spec.versions[0].schema.openAPIV3Schema"
            );
            (kind, schema)
        })
        .collect();
    let kinds: Vec<&str> = schemas.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        ["TracingPolicy", "TracingPolicyNamespaced"],
        "the CRD file should hold both CRDs"
    );
    schemas
}

struct Drift {
    crd: String,
    mismatches: Vec<String>,
    /// Fields compared (to show the walk went everywhere).
    fields: usize,
}

impl Drift {
    fn push(&mut self, path: &str, what: String) {
        self.mismatches
            .push(format!("[{}] {path}: {what}", self.crd));
    }
}

/// The CRD's name for a table type (`type` and `format`).
fn ty_name(ty: &Ty) -> (&'static str, Option<&'static str>) {
    match ty {
        Ty::Str => ("string", None),
        Ty::Int { wide: true, .. } => ("integer", Some("int64")),
        Ty::Int { wide: false, .. } => ("integer", Some("int32")),
        Ty::Bool => ("boolean", None),
        Ty::Obj(_) | Ty::Map(_) => ("object", None),
        Ty::Arr(_) => ("array", None),
        Ty::Any => ("any", None),
    }
}

fn default_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Compare an object of the table with an object schema of the CRD.
fn walk_obj(path: &str, crd: &Value, obj: &Obj, is_root: bool, drift: &mut Drift) {
    let empty = serde_json::Map::new();
    let props = crd
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let skip = |name: &str| is_root && matches!(name, "apiVersion" | "kind" | "metadata");

    let crd_names: BTreeSet<&str> = props
        .keys()
        .map(String::as_str)
        .filter(|n| !skip(n))
        .collect();
    let table_names: BTreeSet<&str> = obj
        .fields
        .iter()
        .map(|f| f.name)
        .filter(|n| !skip(n))
        .collect();
    for missing in crd_names.difference(&table_names) {
        drift.push(
            path,
            format!(
                "field `{missing}` is in the CRD but not in the table ({})",
                obj.name
            ),
        );
    }
    for extra in table_names.difference(&crd_names) {
        drift.push(
            path,
            format!(
                "field `{extra}` is in the table ({}) but not in the CRD",
                obj.name
            ),
        );
    }

    let crd_required: BTreeSet<&str> = crd
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let table_required: BTreeSet<&str> = obj
        .fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.name)
        .collect();
    if crd_required != table_required {
        drift.push(
            path,
            format!(
                "required: CRD {crd_required:?}, table ({}) {table_required:?}",
                obj.name
            ),
        );
    }

    for field in obj.fields {
        if skip(field.name) {
            continue;
        }
        if let Some(schema) = props.get(field.name) {
            walk_field(&format!("{path}.{}", field.name), schema, field, drift);
        }
    }
}

/// Compare one field (its own keywords, then its type).
fn walk_field(path: &str, crd: &Value, field: &Field, drift: &mut Drift) {
    drift.fields += 1;
    // enum
    let crd_enum: Vec<&str> = crd
        .get("enum")
        .and_then(Value::as_array)
        .map(|e| {
            e.iter()
                .map(|v| v.as_str().unwrap_or("<non-string>"))
                .collect()
        })
        .unwrap_or_default();
    if crd_enum != field.enum_values {
        drift.push(
            path,
            format!("enum: CRD {crd_enum:?}, table {:?}", field.enum_values),
        );
    }
    // default
    let crd_default = crd.get("default").map(default_text);
    if crd_default.as_deref() != field.default {
        drift.push(
            path,
            format!("default: CRD {crd_default:?}, table {:?}", field.default),
        );
    }
    // maxItems
    let crd_max = crd
        .get("maxItems")
        .and_then(Value::as_u64)
        .map(|n| n as usize);
    if crd_max != field.max_items {
        drift.push(
            path,
            format!("maxItems: CRD {crd_max:?}, table {:?}", field.max_items),
        );
    }
    // minimum (of the list's items for a list)
    let min_at = match field.ty {
        Ty::Arr(_) => crd.get("items").unwrap_or(&Value::Null),
        _ => crd,
    };
    let crd_min = min_at.get("minimum").and_then(Value::as_i64);
    if crd_min != field.minimum {
        drift.push(
            path,
            format!("minimum: CRD {crd_min:?}, table {:?}", field.minimum),
        );
    }
    walk_ty(path, crd, &field.ty, drift);
}

/// Compare a type (recursing into objects, list items and map values).
fn walk_ty(path: &str, crd: &Value, ty: &Ty, drift: &mut Drift) {
    if matches!(ty, Ty::Any) {
        return;
    }
    let crd_type = crd.get("type").and_then(Value::as_str).unwrap_or("<none>");
    let crd_format = crd.get("format").and_then(Value::as_str);
    let (want_type, want_format) = ty_name(ty);
    if crd_type != want_type {
        drift.push(
            path,
            format!("type: CRD `{crd_type}`, table `{want_type}` ({ty:?})"),
        );
        return;
    }
    if want_type == "integer" && crd_format != want_format {
        drift.push(
            path,
            format!("format: CRD {crd_format:?}, table {want_format:?} ({ty:?})"),
        );
    }
    match ty {
        Ty::Obj(obj) => {
            if crd.get("properties").is_none() {
                drift.push(
                    path,
                    format!(
                        "the CRD has no properties here, the table has object {}",
                        obj.name
                    ),
                );
            } else {
                walk_obj(path, crd, obj, false, drift);
            }
            if crd.get("additionalProperties").is_some() {
                drift.push(
                    path,
                    "the CRD has additionalProperties (a map), the table an object".into(),
                );
            }
        }
        Ty::Map(value) => match crd.get("additionalProperties") {
            Some(v) => walk_ty(&format!("{path}.<key>"), v, value, drift),
            None => drift.push(
                path,
                "the table has a map, the CRD no additionalProperties".into(),
            ),
        },
        Ty::Arr(item) => match crd.get("items") {
            Some(items) => {
                let ipath = format!("{path}[]");
                // The table has no per-item enum, default or maxItems.
                if let Some(e) = items.get("enum") {
                    drift.push(
                        &ipath,
                        format!("the CRD has an enum on the items ({e}), the table cannot say it"),
                    );
                }
                walk_ty(&ipath, items, item, drift);
            }
            None => drift.push(path, "the CRD array has no items".into()),
        },
        _ => {
            if crd.get("properties").is_some() || crd.get("items").is_some() {
                drift.push(path, format!("the CRD nests a schema in a scalar ({ty:?})"));
            }
        }
    }
}

#[test]
fn table_matches_the_crd() {
    let mut all = Vec::new();
    for (kind, schema) in crd_schemas() {
        let mut drift = Drift {
            crd: kind.clone(),
            mismatches: Vec::new(),
            fields: 0,
        };
        // `metadata` is just `type: object` in the CRD.
        assert_eq!(
            schema["properties"]["metadata"]["type"].as_str(),
            Some("object"),
            "{kind}: metadata"
        );
        walk_obj("", &schema, &POLICY, true, &mut drift);
        eprintln!("{kind}: compared {} fields", drift.fields);
        // Every hook, selector and argument field is reached (several hundred paths).
        assert!(
            drift.fields > 300,
            "{kind}: only {} fields compared",
            drift.fields
        );
        all.extend(drift.mismatches);
    }
    if !all.is_empty() {
        panic!(
            "the table (validator/src/schema/table.rs) and the CRD (testdata/crd/) differ in {} places:\n  {}\n",
            all.len(),
            all.join("\n  ")
        );
    }
}

/// The walk itself finds differences (a mutated CRD is reported).
#[test]
fn drift_walk_reports_a_changed_crd() {
    let (kind, mut schema) = crd_schemas().remove(0);
    let kprobe = &mut schema["properties"]["spec"]["properties"]["kprobes"]["items"];
    kprobe["properties"]["newField"] = serde_json::json!({"type": "string"});
    kprobe["properties"]["syscall"]["default"] = serde_json::json!(false);
    kprobe["required"] = serde_json::json!([]);
    let mut drift = Drift {
        crd: kind,
        mismatches: Vec::new(),
        fields: 0,
    };
    walk_obj("", &schema, &POLICY, true, &mut drift);
    let text = drift.mismatches.join("\n");
    assert!(
        text.contains("`newField` is in the CRD but not in the table"),
        "{text}"
    );
    assert!(text.contains(".spec.kprobes[].syscall: default"), "{text}");
    assert!(text.contains(".spec.kprobes[]: required"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// c. The JSON Schemas accept valid policies and reject broken ones.

fn validator(kind: Kind) -> jsonschema::Validator {
    let path = schema_path(kind);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::draft7::new(&schema)
        .unwrap_or_else(|e| panic!("{} does not compile: {e}", path.display()))
}

fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn valid_files() -> Vec<PathBuf> {
    support::testdata_files("policies/valid")
}

#[test]
fn json_schema_accepts_valid_policies() {
    let cluster = validator(Kind::TracingPolicy);
    let namespaced = validator(Kind::TracingPolicyNamespaced);
    let mut checked = [0usize; 2];
    let mut failures = Vec::new();
    for path in valid_files() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        for doc in yaml_documents(&name, &text) {
            let (v, i) = match doc["kind"].as_str() {
                Some("TracingPolicy") => (&cluster, 0),
                Some("TracingPolicyNamespaced") => (&namespaced, 1),
                other => panic!("{name}: unexpected kind {other:?}"),
            };
            checked[i] += 1;
            let errs = errors(v, &doc);
            if !errs.is_empty() {
                failures.push(format!("{name}:\n    {}", errs.join("\n    ")));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "valid policies rejected by the JSON Schema:\n{}",
        failures.join("\n")
    );
    assert!(
        checked[0] >= 10,
        "too few TracingPolicy documents: {}",
        checked[0]
    );
    assert!(checked[1] >= 1, "no TracingPolicyNamespaced document");
    // A namespaced policy is not a TracingPolicy, and the other way round (`kind` is a const).
    let first = valid_files()
        .into_iter()
        .find_map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            yaml_documents("x", &text)
                .into_iter()
                .find(|d| d["kind"] == "TracingPolicy")
        })
        .unwrap();
    assert!(!namespaced.is_valid(&first));
}

const BASE: &str = "\
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: block-443
spec:
  kprobes:
  - call: tcp_connect
    syscall: false
    args:
    - index: 0
      type: sock
    selectors:
    - matchArgs:
      - index: 0
        operator: DPort
        values:
        - \"443\"
      matchActions:
      - action: Sigkill
";

fn one_doc(text: &str) -> Value {
    let mut docs = yaml_documents("broken.yaml", text);
    assert_eq!(docs.len(), 1);
    docs.remove(0)
}

#[test]
fn json_schema_rejects_schema_level_errors() {
    let v = validator(Kind::TracingPolicy);
    let base = one_doc(BASE);
    assert_eq!(
        errors(&v, &base),
        Vec::<String>::new(),
        "the base document is valid"
    );

    let cases: &[(&str, &str, &str, &str)] = &[
        // (what, replace, with, expected error location)
        ("unknown field", "    syscall: false\n", "    syscall: false\n    sycall: true\n", "/spec/kprobes/0"),
        ("unquoted integer in matchArgs values", "        - \"443\"\n", "        - 443\n", "/spec/kprobes/0/selectors/0/matchArgs/0/values/0"),
        ("bad operator enum", "operator: DPort", "operator: DestPort", "/spec/kprobes/0/selectors/0/matchArgs/0/operator"),
        ("missing call", "  - call: tcp_connect\n    syscall: false\n", "  - syscall: false\n", "/spec/kprobes/0"),
        ("return: true without returnArg", "    syscall: false\n", "    syscall: false\n    return: true\n", "/spec/kprobes/0"),
        ("maxItems on matchBinaries", "      matchActions:\n", "      matchBinaries:\n      - operator: In\n        values: [/a]\n      - operator: In\n        values: [/b]\n      matchActions:\n", "/spec/kprobes/0/selectors/0/matchBinaries"),
        ("bad action enum", "action: Sigkill", "action: SigKill", "/spec/kprobes/0/selectors/0/matchActions/0/action"),
        ("wrong kind", "kind: TracingPolicy", "kind: TracingPolicyNamespaced", "/kind"),
        ("index is a string", "    - index: 0\n      type: sock", "    - index: \"0\"\n      type: sock", "/spec/kprobes/0/args/0/index"),
        ("hostSelector with labels", "spec:\n", "spec:\n  hostSelector:\n    matchLabels:\n      a: b\n", "/spec/hostSelector"),
    ];
    let mut unexpected = Vec::new();
    for (what, from, to, location) in cases {
        assert!(BASE.contains(from), "{what}: the base has no {from:?}");
        let text = BASE.replacen(from, to, 1);
        let doc = one_doc(&text);
        let errs: Vec<(String, String)> = v
            .iter_errors(&doc)
            .map(|e| (e.to_string(), e.instance_path().to_string()))
            .collect();
        if errs.is_empty() {
            unexpected.push(format!("{what}: accepted"));
        } else if !errs.iter().any(|(_, at)| at == location) {
            unexpected.push(format!("{what}: no error at {location}, got {errs:?}"));
        }
    }
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));

    // The namespaced schema rejects what a namespaced policy cannot have.
    let ns = validator(Kind::TracingPolicyNamespaced);
    let text = BASE
        .replace("kind: TracingPolicy", "kind: TracingPolicyNamespaced")
        .replace("spec:\n", "spec:\n  hostSelector: {}\n");
    assert!(
        !ns.is_valid(&one_doc(&text)),
        "hostSelector in a namespaced policy"
    );
    let ok = BASE.replace("kind: TracingPolicy", "kind: TracingPolicyNamespaced");
    assert_eq!(errors(&ns, &one_doc(&ok)), Vec::<String>::new());
}
