//! The project file's three descriptions agree: the reader (`config::parse`), the JSON Schema
//! published in `schema/policyctl.json` (generated from the same key tables; `UPDATE_SCHEMA=1`
//! rewrites it), and the README's example.

use std::path::{Path, PathBuf};

use policyctl_validator::config::{self, json_schema_text};
use serde_json::{Map, Value};
use toml::de::{DeTable, DeValue};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn schema_path() -> PathBuf {
    root().join("schema/policyctl.json")
}

#[test]
fn config_schema_file_is_up_to_date() {
    let path = schema_path();
    let want = json_schema_text();
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have == want {
        return;
    }
    if std::env::var("UPDATE_SCHEMA").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &want).unwrap();
        eprintln!("rewrote {}", path.display());
        return;
    }
    panic!(
        "{} is out of date (generated from validator/src/config.rs); regenerate with \
         `UPDATE_SCHEMA=1 cargo test -p policyctl-validator --test config`",
        path.display()
    );
}

/// A TOML value as JSON, as taplo and Even Better TOML see it when they validate.
fn to_json(v: &DeValue<'_>) -> Value {
    match v {
        DeValue::String(s) => Value::from(s.to_string()),
        DeValue::Integer(i) => Value::from(i.as_str().parse::<i64>().unwrap_or_default()),
        DeValue::Float(f) => Value::from(f.as_str().parse::<f64>().unwrap_or_default()),
        DeValue::Boolean(b) => Value::from(*b),
        DeValue::Datetime(d) => Value::from(d.to_string()),
        DeValue::Array(a) => Value::Array(a.iter().map(|i| to_json(i.get_ref())).collect()),
        DeValue::Table(t) => table_json(t),
    }
}

fn table_json(t: &DeTable<'_>) -> Value {
    let m: Map<String, Value> = t
        .iter()
        .map(|(k, v)| (k.get_ref().to_string(), to_json(v.get_ref())))
        .collect();
    Value::Object(m)
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(schema_path()).expect("schema/policyctl.json");
    let schema: Value = serde_json::from_str(&text).expect("JSON");
    jsonschema::draft7::new(&schema).expect("the schema compiles")
}

fn schema_accepts(v: &jsonschema::Validator, text: &str) -> bool {
    let table = DeTable::parse(text).expect("TOML");
    v.is_valid(&table_json(table.get_ref()))
}

#[test]
fn the_schema_accepts_what_the_reader_accepts() {
    let v = validator();
    let path = Path::new("/p/policyctl.toml");
    let cases = [
        "",
        "deny-warnings = true\nformat = \"sarif\"\n",
        "include = [\"policies/**\"]\nexclude = [\"templates\"]\n",
        "select = [\"P\", \"k02\", \"C001\"]\nignore = [\"P041\"]\n",
        "[severity]\nP041 = \"error\"\nK021 = \"off\"\nS = \"info\"\n",
        "[[kernel]]\nname = \"a\"\nbtf = \"a.btf\"\nerror-injection = \"e\"\nconfig = \"c\"\nmodules = [\"m.ko\"]\n",
        // Rejected by both.
        "deny-warning = true\n",
        "deny-warnings = \"yes\"\n",
        "format = \"sarf\"\n",
        "select = \"P\"\n",
        "select = [\"X1\"]\n",
        "[severity]\nP041 = \"fatal\"\n",
        "[severity]\nQ1 = \"off\"\n",
        "[[kernel]]\nname = \"a\"\n",
        "[[kernel]]\nbtf = \"a\"\n",
        "[[kernel]]\nname = \"a=b\"\nbtf = \"a\"\n",
        "[[kernel]]\nname = \"a\"\nbtf = \"a\"\nbtfs = \"b\"\n",
        "kernel = \"x\"\n",
    ];
    let mut accepted = 0;
    for text in cases {
        let reader = config::parse(path, text);
        assert_eq!(
            reader.is_ok(),
            schema_accepts(&v, text),
            "the reader and the schema disagree on {text:?}: {reader:?}"
        );
        accepted += usize::from(reader.is_ok());
    }
    assert_eq!(accepted, 6);
}

#[test]
fn the_readmes_example_is_read_and_valid() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("\n## Configuration")
        .nth(1)
        .expect("a `## Configuration` section in the README");
    let block = section
        .split("```toml\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("a ```toml block in the Configuration section");
    let c = config::parse(&root().join("policyctl.toml"), block)
        .unwrap_or_else(|e| panic!("the README's example: {e}"));
    assert!(!c.kernels.is_empty(), "the example names kernels");
    assert!(schema_accepts(&validator(), block));
}
