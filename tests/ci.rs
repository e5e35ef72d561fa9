//! policyctl in CI: its SARIF validates against the official SARIF 2.1.0 JSON Schema
//! (`testdata/sarif/`, see its README), and the composite GitHub Action (`action.yml`) names
//! flags policyctl has and its check step, run as GitHub runs it, writes that SARIF or the
//! annotations.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use policyctl_validator::{yaml, SourceFile};
use serde_json::Value;

#[path = "support/output.rs"]
#[allow(dead_code)]
mod output;
use output::{code, stdout};

const K61: &str = "testdata/btf/6.1.0-56-amd64.btf.zst";
const K612: &str = "testdata/btf/6.12.117+deb12-amd64.btf.zst";
const K618: &str = "testdata/btf/6.18.44-fc-v769.btf.zst";
const CFG612: &str = "testdata/btf/6.12.117+deb12-amd64.config.gz";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn policyctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_policyctl"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run policyctl")
}

/// The SARIF 2.1.0 schema (draft-04), with format checks on.
fn sarif_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("testdata/sarif/sarif-schema-2.1.0.json"))
        .expect("the SARIF schema");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::draft4::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles")
}

fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// The codes of a SARIF log's results.
fn result_codes(sarif: &Value) -> BTreeSet<String> {
    sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["ruleId"].as_str().expect("ruleId").to_string())
        .collect()
}

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let v = sarif_validator();
    // Every code's invalid examples and the article's policies, against the three fixture
    // kernels: YAML, schema, semantic and kernel findings, with and without kernels named.
    let o = policyctl(&[
        "check",
        "--format",
        "sarif",
        "--btf",
        K61,
        "--btf",
        K612,
        "--btf",
        K618,
        "--kernel-config",
        CFG612,
        "testdata/checks",
        "testdata/policies/article",
    ]);
    assert_eq!(code(&o), 1);
    let sarif: Value = serde_json::from_str(&stdout(&o)).expect("SARIF is JSON");
    let codes = result_codes(&sarif);
    for family in ['Y', 'S', 'P', 'K'] {
        assert!(
            codes.iter().any(|c| c.starts_with(family)),
            "a {family} code among the results: {codes:?}"
        );
    }
    assert!(
        codes.len() > 80,
        "most codes are exercised: {}",
        codes.len()
    );
    let errs = errors(&v, &sarif);
    assert!(errs.is_empty(), "SARIF schema errors:\n{}", errs.join("\n"));

    // Without kernels, on clean policies (no results), and on standard input.
    let o = policyctl(&[
        "check",
        "--format",
        "sarif",
        "--no-btf",
        "testdata/policies/valid",
    ]);
    assert_eq!(code(&o), 0);
    let clean: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(result_codes(&clean).is_empty());
    let errs = errors(&v, &clean);
    assert!(errs.is_empty(), "SARIF schema errors:\n{}", errs.join("\n"));
}

#[test]
fn the_schema_check_catches_broken_sarif() {
    // The validation above can fail: the same log, broken in ways the schema forbids.
    let v = sarif_validator();
    let o = policyctl(&[
        "check",
        "--format",
        "sarif",
        "--no-btf",
        "testdata/policies/article/original-block-443-for-wget.yaml",
    ]);
    let good: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(errors(&v, &good).is_empty());
    let broken = |f: &dyn Fn(&mut Value)| {
        let mut doc = good.clone();
        f(&mut doc);
        errors(&v, &doc)
    };
    assert!(!broken(&|d| d["version"] = Value::from("2.0")).is_empty());
    assert!(!broken(&|d| d["runs"][0]["results"][0]["level"] = Value::from("fatal")).is_empty());
    assert!(!broken(&|d| d["runs"][0]["tool"]["driver"]
        .as_object_mut()
        .unwrap()
        .retain(|k, _| k != "name"))
    .is_empty());
    assert!(!broken(&|d| {
        d["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
            Value::from(0)
    })
    .is_empty());
}

// ---------------------------------------------------------------------------------------------
// action.yml

fn action() -> yaml::Node {
    let src = SourceFile::new(
        "action.yml",
        std::fs::read_to_string(root().join("action.yml")).expect("action.yml"),
    );
    let parsed = yaml::parse(&src);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    parsed.documents[0].root.clone().expect("a document")
}

fn s<'a>(n: &'a yaml::Node, key: &str) -> &'a str {
    n.get(key).and_then(|v| v.as_str()).unwrap_or_default()
}

/// The `policyctl check` flags its `--help` lists.
fn check_flags() -> BTreeSet<String> {
    let help = stdout(&policyctl(&["check", "--help"]));
    help.split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']' || c == '=')
        .filter(|w| w.starts_with("--"))
        .map(str::to_string)
        .collect()
}

#[test]
fn action_yml_is_a_composite_action_over_existing_flags() {
    let a = action();
    assert!(!s(&a, "name").is_empty() && !s(&a, "description").is_empty());
    let runs = a.get("runs").expect("runs");
    assert_eq!(s(runs, "using"), "composite");
    let inputs: BTreeSet<&str> = a
        .get("inputs")
        .and_then(|i| i.as_map())
        .expect("inputs")
        .iter()
        .filter_map(|e| e.key.as_str())
        .collect();
    let steps = runs.get("steps").and_then(|s| s.as_seq()).expect("steps");
    let flags = check_flags();
    let mut uses = Vec::new();
    let mut formats = BTreeSet::new();
    for step in steps {
        let run = s(step, "run");
        assert!(
            step.get("uses").is_some() == run.is_empty(),
            "a step either runs or uses: {step:?}"
        );
        if !run.is_empty() {
            assert_eq!(
                s(step, "shell"),
                "bash",
                "a composite run step names its shell"
            );
        }
        uses.push(s(step, "uses").to_string());
        for line in run.lines().filter(|l| l.contains("policyctl check")) {
            for word in line.split_whitespace().filter(|w| w.starts_with("--")) {
                assert!(
                    flags.contains(word),
                    "`{word}` is not a flag of policyctl check"
                );
            }
            let mut words = line.split_whitespace();
            while let Some(w) = words.next() {
                if w == "--format" {
                    formats.insert(words.next().unwrap_or_default().to_string());
                }
            }
        }
    }
    // Every `inputs.X` in an expression `${{ ... }}` names an input.
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let mut used = 0;
    for expr in text.split("${{").skip(1) {
        let expr = expr.split("}}").next().unwrap_or_default();
        for (i, _) in expr.match_indices("inputs.") {
            let name: String = expr[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            assert!(inputs.contains(name.as_str()), "no input `{name}`");
            used += 1;
        }
    }
    assert!(used >= inputs.len(), "every input is used");
    assert_eq!(
        formats,
        BTreeSet::from(["github".to_string(), "sarif".to_string()])
    );
    assert!(
        uses.iter()
            .any(|u| u.starts_with("github/codeql-action/upload-sarif@")),
        "{uses:?}"
    );
}

/// The check step's script, run as GitHub runs a `shell: bash` step, with the built policyctl
/// on PATH: `(exit status, stdout, GITHUB_OUTPUT's lines, the SARIF file if any)`.
fn run_check_step(dir: &Path, sarif: bool, paths: &str) -> (i32, String, String, Option<Value>) {
    let a = action();
    let steps = a.get("runs").and_then(|r| r.get("steps")).unwrap();
    let step = steps
        .as_seq()
        .unwrap()
        .iter()
        .find(|s| s.get("id").and_then(|v| v.as_str()) == Some("check"))
        .expect("a step with id `check`");
    let script = dir.join("check.sh");
    std::fs::write(&script, s(step, "run")).unwrap();
    let out_file = dir.join("github_output");
    std::fs::write(&out_file, "").unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_policyctl")).parent().unwrap();
    let o = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail"])
        .arg(&script)
        .current_dir(root())
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("RUNNER_TEMP", dir)
        .env("GITHUB_OUTPUT", &out_file)
        .env("POLICYCTL_PATHS", paths)
        .env("POLICYCTL_ARGS", "--no-btf")
        .env("POLICYCTL_SARIF", if sarif { "true" } else { "false" })
        .output()
        .expect("run bash");
    let sarif_file = dir.join("policyctl.sarif");
    // Empty after a usage error (exit 2): policyctl printed nothing.
    let sarif = std::fs::read_to_string(&sarif_file)
        .ok()
        .filter(|t| !t.is_empty())
        .map(|t| serde_json::from_str(&t).expect("the SARIF file is JSON"));
    (
        code(&o),
        stdout(&o),
        std::fs::read_to_string(&out_file).unwrap(),
        sarif,
    )
}

/// The cache key step hashes the action's sources: the same tree gives the same key.
#[test]
fn action_cache_key_hashes_the_sources() {
    let a = action();
    let steps = a.get("runs").and_then(|r| r.get("steps")).unwrap();
    let step = steps
        .as_seq()
        .unwrap()
        .iter()
        .find(|s| s.get("id").and_then(|v| v.as_str()) == Some("sources"))
        .expect("a step with id `sources`");
    let dir = scratch("key");
    let tree = dir.join("tree");
    std::fs::create_dir_all(tree.join("src")).unwrap();
    std::fs::create_dir_all(tree.join("target")).unwrap();
    std::fs::write(tree.join("src/main.rs"), "fn main() {}\n").unwrap();
    let key = |tree: &Path| {
        let out = dir.join("github_output");
        std::fs::write(&out, "").unwrap();
        let o = Command::new("bash")
            .args([
                "--noprofile",
                "--norc",
                "-eo",
                "pipefail",
                "-c",
                s(step, "run"),
            ])
            .env("GITHUB_ACTION_PATH", tree)
            .env("GITHUB_OUTPUT", &out)
            .output()
            .expect("run bash");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let line = std::fs::read_to_string(&out).unwrap();
        let hash = line
            .trim()
            .strip_prefix("hash=")
            .expect("hash=")
            .to_string();
        assert!(
            hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
            "{line}"
        );
        hash
    };
    let first = key(&tree);
    assert_eq!(key(&tree), first);
    // A build left in target/ does not change it; a source does.
    std::fs::write(tree.join("target/policyctl"), "binary").unwrap();
    assert_eq!(key(&tree), first);
    std::fs::write(tree.join("src/main.rs"), "fn main() { }\n").unwrap();
    assert_ne!(key(&tree), first);
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ci").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn action_check_step_writes_sarif_or_annotations() {
    let article = "testdata/policies/article/original-block-443-for-wget.yaml";

    let dir = scratch("sarif");
    let (status, _, outputs, sarif) = run_check_step(&dir, true, article);
    assert_eq!(status, 0, "findings do not stop the step before the upload");
    assert!(outputs.contains("exit-code=1\n"), "{outputs}");
    let sarif_line = format!("sarif-file={}\n", dir.join("policyctl.sarif").display());
    assert!(outputs.contains(&sarif_line), "{outputs}");
    let sarif = sarif.expect("the SARIF file");
    assert!(errors(&sarif_validator(), &sarif).is_empty());
    assert!(result_codes(&sarif).contains("S003"));

    let dir = scratch("github");
    let (status, out, outputs, sarif) = run_check_step(
        &dir,
        false,
        "testdata/policies/article/fixed-detect-sudo.yaml",
    );
    assert_eq!(status, 0);
    assert!(outputs.contains("exit-code=0\n"), "{outputs}");
    assert!(sarif.is_none());
    assert!(out.is_empty(), "a clean policy: no annotation: {out}");
    let (_, out, outputs, _) = run_check_step(&dir, false, article);
    assert!(outputs.contains("exit-code=1\n"), "{outputs}");
    assert!(out.starts_with("::error file="), "{out}");

    // A usage error fails the step itself.
    let dir = scratch("missing");
    let (status, _, outputs, _) = run_check_step(&dir, true, "no/such/dir");
    assert_eq!(status, 2);
    assert!(outputs.contains("exit-code=2\n"), "{outputs}");
}
