//! The `policyctl` binary end to end: exit codes, inputs (files, directories, stdin), the four
//! output formats (snapshots in `tests/snapshots/`), kernels (`--btf`), `explain` and `schema`.
//!
//! `check` runs with `--no-btf` unless a test names its kernels, so that no result depends on
//! the kernel of the machine running the tests.
//!
//! Update the snapshots with `INSTA_UPDATE=always cargo test --test cli`, then review them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The article's policy with one error (an unquoted port in matchArgs values).
const ARTICLE: &str = "testdata/policies/article/original-block-443-for-wget.yaml";
/// A clean policy.
const CLEAN: &str = "testdata/policies/article/fixed-block-443-for-wget.yaml";

/// The fixture kernels.
const K61: &str = "testdata/btf/6.1.0-56-amd64.btf.zst";
const K612: &str = "testdata/btf/6.12.117+deb12-amd64.btf.zst";
const K618: &str = "testdata/btf/6.18.44-fc-v769.btf.zst";
const CFG618: &str = "testdata/btf/6.18.44-fc-v769.config.gz";

#[path = "support/output.rs"]
mod output;
#[path = "support/samples.rs"]
mod samples;
#[path = "support/skip.rs"]
mod skip;
use output::{code, json, stderr, stdout};
use samples::{KILL_WITH_ARGSIG, WARNING_ONLY};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `check` without kernel arguments gets `--no-btf` (see the module doc).
fn with_kernels(args: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let names_kernels = args
        .iter()
        .any(|a| matches!(*a, "--btf" | "--no-btf" | "--host"));
    if args.first() == Some(&"check") && !names_kernels {
        v.insert(1, "--no-btf".into());
    }
    v.retain(|a| a != "--host");
    v
}

/// Run `policyctl` in the workspace root. `--host` (removed before running) lets `check` use
/// the host's kernel.
fn policyctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_policyctl"))
        .args(with_kernels(args))
        .current_dir(root())
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .output()
        .expect("run policyctl")
}

/// Run `policyctl` with `input` on stdin.
fn policyctl_stdin(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_policyctl"))
        .args(with_kernels(args))
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run policyctl");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().expect("wait for policyctl")
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Exit codes.

#[test]
fn exit_0_on_a_clean_file() {
    let o = policyctl(&["check", CLEAN]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("0 errors, 0 warnings in 1 policy (1 file)"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn exit_1_with_an_error() {
    let o = policyctl(&["check", ARTICLE]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn warnings_exit_0_unless_denied() {
    let dir = scratch("warnings");
    let file = dir.join("warn.yaml");
    write(&file, WARNING_ONLY);
    let file = file.to_str().unwrap();

    let o = policyctl(&["check", "--format", "json", file]);
    let v = json(&o);
    assert_eq!(v["summary"]["errors"], 0, "{v:#}");
    assert_eq!(v["summary"]["warnings"], 1, "{v:#}");
    assert_eq!(v["diagnostics"][0]["code"], "P004");
    assert_eq!(code(&o), 0);

    let o = policyctl(&["check", "--deny-warnings", file]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    // Denying warnings does not turn a clean file into a failure.
    assert_eq!(code(&policyctl(&["check", "--deny-warnings", CLEAN])), 0);
}

#[test]
fn exit_2_for_a_missing_path() {
    let o = policyctl(&["check", "testdata/no/such/file.yaml"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("no such file or directory"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
    // Even next to a file that exists.
    assert_eq!(code(&policyctl(&["check", CLEAN, "missing.yaml"])), 2);
}

#[test]
fn exit_2_for_an_unknown_explain_code() {
    let o = policyctl(&["explain", "Z999"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("`Z999` is neither a diagnostic code nor an action"),
        "{}",
        stderr(&o)
    );
}

/// Issue 14: `explain Sigkill` says that the caller dies after the hooked function returns
/// (the call completes) and points to Override to prevent it.
#[test]
fn explain_an_action() {
    let o = policyctl(&["explain", "Sigkill"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("# Sigkill (action)\n"), "{out}");
    for needle in [
        "after the hooked function has returned",
        "still makes its directory",
        "use Override",
        "bpf/process/types/basic.h",
    ] {
        assert!(out.contains(needle), "{needle}: {out}");
    }
    let o = policyctl(&["explain", "sigkill"]);
    assert_eq!(code(&o), 2, "the CRD spelling only");
}

#[test]
fn exit_2_for_bad_usage() {
    assert_eq!(code(&policyctl(&["check"])), 2);
    assert_eq!(code(&policyctl(&["check", "--format", "xml", CLEAN])), 2);
    assert_eq!(code(&policyctl(&["frobnicate"])), 2);
    let o = policyctl(&["check", "--btf", "/no/such/btf", CLEAN]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("/no/such/btf"), "{}", stderr(&o));
    let o = policyctl(&["check", "--btf", "Cargo.toml", CLEAN]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("not BTF"), "{}", stderr(&o));
    let o = policyctl(&[
        "check",
        "--btf",
        K61,
        "--btf",
        K612,
        "--error-injection",
        "Cargo.toml",
        CLEAN,
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("NAME="), "{}", stderr(&o));
    assert_eq!(code(&policyctl(&["--version"])), 0);
}

// ---------------------------------------------------------------------------------------------
// Inputs.

/// The first line of the text output names the kernels checked against; other formats have
/// no such line.
#[test]
fn text_output_starts_with_the_kernels_checked_against() {
    let first = |o: &Output| stdout(o).lines().next().unwrap_or_default().to_string();
    let o = policyctl(&["check", CLEAN]);
    assert_eq!(first(&o), "checked against no kernel");
    let o = policyctl(&[
        "check",
        "--btf",
        K61,
        "--btf",
        &format!("prod={K612}"),
        CLEAN,
    ]);
    assert_eq!(
        first(&o),
        "checked against 6.1.0-56-amd64, prod",
        "{}",
        stderr(&o)
    );
    // With findings, a blank line before the first one.
    let o = policyctl(&["check", ARTICLE]);
    assert!(stdout(&o).starts_with("checked against no kernel\n\nS003\n"));
    let o = policyctl(&["check", "--host", CLEAN]);
    if Path::new("/sys/kernel/btf/vmlinux").exists() {
        assert!(first(&o).ends_with(" (this host)"), "{}", first(&o));
    } else {
        assert_eq!(first(&o), "checked against no kernel");
    }
    let o = policyctl(&["check", "--format", "github", CLEAN]);
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
}

/// The README's `policyctl check` and `policyctl kernel` commands run as written from the
/// repository's root (no usage or I/O error: every file they name exists), and where the
/// README shows their output (a `$ policyctl` line in a console block), it is what they print.
#[test]
fn readme_commands_run_as_written() {
    let readme = read("README.md");
    let mut commands = Vec::new();
    let mut lines = readme.lines().peekable();
    let mut fence: Option<String> = None;
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix("```") {
            fence = if fence.is_some() {
                None
            } else {
                Some(rest.to_string())
            };
            continue;
        }
        let Some(lang) = &fence else { continue };
        let (start, shown) = if let Some(c) = line.strip_prefix("$ policyctl ") {
            (c.to_string(), lang == "console")
        } else if let Some(c) = line.strip_prefix("cargo run --release -- ") {
            (c.to_string(), false)
        } else {
            continue;
        };
        let mut command = start;
        while command.ends_with('\\') {
            command.pop();
            command.push(' ');
            command.push_str(lines.next().unwrap_or_default().trim());
        }
        let mut output = String::new();
        if shown {
            while let Some(l) = lines.peek() {
                if l.starts_with("```") {
                    break;
                }
                output.push_str(l);
                output.push('\n');
                lines.next();
            }
        }
        commands.push((command, shown.then_some(output)));
    }
    let runnable: Vec<_> = commands
        .iter()
        .filter(|(c, _)| c.starts_with("check ") || c.starts_with("kernel "))
        .collect();
    assert!(runnable.len() >= 4, "{commands:?}");
    for (command, output) in runnable {
        let args: Vec<&str> = command.split_whitespace().collect();
        let o = Command::new(env!("CARGO_BIN_EXE_policyctl"))
            .args(&args)
            .current_dir(root())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(
            matches!(code(&o), 0 | 1),
            "README: policyctl {command}: exit {}\n{}",
            code(&o),
            stderr(&o)
        );
        if let Some(want) = output {
            assert_eq!(&stdout(&o), want, "README: policyctl {command}");
        }
    }
}

/// A path that names nothing is exit 2, and the message says a pattern the shell left as
/// written, or the name that was probably meant.
#[test]
fn a_missing_path_says_why() {
    let o = policyctl(&["check", "testdata/policies/valdi"]);
    assert_eq!(code(&o), 2);
    assert_eq!(
        stderr(&o),
        "policyctl: testdata/policies/valdi: no such file or directory; did you mean testdata/policies/valid?\n"
    );
    let o = policyctl(&["check", "--deny-warnings", "testdata/policies/*.yml"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("a pattern that matched no file"),
        "{}",
        stderr(&o)
    );
}

/// Other YAML in a checked directory: skipped when it holds no policy, said as a warning when
/// its YAML is broken (it is no policy: nothing in it says so), an error when it looks like a
/// policy.
#[test]
fn broken_yaml_that_is_not_a_policy_is_a_warning() {
    let dir = scratch("not-a-policy");
    write(
        &dir.join("ci/workflow.yml"),
        "on: [push\njobs:\n  test:\n    runs-on: ubuntu-latest\n",
    );
    write(&dir.join("hooks.yaml"), "- id: a\n- id: b\n");
    write(
        &dir.join("chart/templates/deploy.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\n{{- if .Values.x }}\nmetadata: {}\n{{- end }}\n",
    );
    let d = dir.to_str().unwrap();
    let o = policyctl(&["check", d]);
    let err = stderr(&o);
    assert_eq!(code(&o), 0, "{}{err}", stdout(&o));
    for f in [
        "ci/workflow.yml",
        "hooks.yaml",
        "chart/templates/deploy.yaml",
    ] {
        let name = dir.join(f);
        assert!(
            err.contains(&format!("policyctl: warning: {}:", name.display()))
                && err.contains("skipped, not a TracingPolicy"),
            "{f}: {err}"
        );
    }
    assert!(err.contains("(Y001)"), "{err}");
    assert!(err.contains("no TracingPolicy found in"), "{err}");
    assert!(stdout(&o).contains("0 errors, 0 warnings in 0 policies (3 files)"));
    let o = policyctl(&["check", "--deny-warnings", d]);
    assert_eq!(code(&o), 1);

    // Next to a policy: the policy is checked, the warnings stay warnings.
    let o = policyctl(&["check", d, CLEAN]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!stderr(&o).contains("no TracingPolicy found"));

    // Broken YAML that reads like a policy is an error.
    write(
        &dir.join("policy.yaml"),
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: [x\n",
    );
    let o = policyctl(&["check", d]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stdout(&o).contains("Y001"), "{}", stdout(&o));
    let o = policyctl_stdin(&["check", "-"], "kind: TracingPolicy\nspec: [\n");
    assert_eq!(code(&o), 1, "{}", stderr(&o));

    // A directory of other objects only: nothing found, said; with --deny-warnings, exit 1.
    let other = scratch("only-other-objects");
    write(
        &other.join("deploy.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n",
    );
    let o = policyctl(&["check", other.to_str().unwrap()]);
    assert_eq!(code(&o), 0);
    assert!(
        stderr(&o).contains(&format!(
            "policyctl: no TracingPolicy found in {} (1 file read)",
            other.display()
        )),
        "{}",
        stderr(&o)
    );
    let o = policyctl(&["check", "--deny-warnings", other.to_str().unwrap()]);
    assert_eq!(code(&o), 1);
}

/// A Helm template expression left in a policy is named as one, with the way to render it.
#[test]
fn helm_template_values_are_named() {
    let o = policyctl_stdin(
        &["check", "--format", "json", "-"],
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: {{ .Values.name }}\nspec:\n  kprobes:\n  - call: \"do_mkdirat\"\n    syscall: false\n",
    );
    assert_eq!(code(&o), 1);
    let d = &json(&o)["diagnostics"][0];
    assert_eq!(d["code"], "S003");
    assert_eq!(
        d["message"],
        "`name` must be a string, not the Helm template expression `{{ .Values.name }}` (unrendered, YAML reads it as a mapping)"
    );
    assert!(d["help"].as_str().unwrap().contains("helm template"), "{d}");
}

#[test]
fn stdin_is_read_with_dash() {
    let o = policyctl_stdin(&["check", "--format", "json", "-"], &read(ARTICLE));
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["diagnostics"][0]["file"], "-");
    assert_eq!(v["diagnostics"][0]["code"], "S003");
    assert_eq!(v["summary"]["files"], 1);

    let o = policyctl_stdin(&["check", "-"], &read(CLEAN));
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

#[test]
fn directories_recurse_and_pick_only_yaml() {
    let dir = scratch("recurse");
    write(&dir.join("a.yaml"), &read(CLEAN));
    write(&dir.join("sub/deeper/b.yml"), &read(ARTICLE));
    write(&dir.join("sub/c.yaml"), WARNING_ONLY);
    // Not policies: other extensions are not read, even when broken.
    write(&dir.join("notes.txt"), "key: [unclosed\n");
    write(&dir.join("sub/policy.json"), "{");
    write(&dir.join("sub/README.md"), "# hi\n\tkey: [\n");
    write(&dir.join("sub/yaml"), "a: [\n");
    write(&dir.join("x.yaml.bak"), "a: [\n");

    let o = policyctl(&["check", "--format", "json", dir.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let v = json(&o);
    assert_eq!(v["summary"]["files"], 3, "{v:#}");
    assert_eq!(v["summary"]["policies"], 3, "{v:#}");
    assert_eq!(v["summary"]["errors"], 1, "{v:#}");
    assert_eq!(v["summary"]["warnings"], 1, "{v:#}");
    let mut files: Vec<String> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["file"].as_str().unwrap().to_string())
        .collect();
    files.sort();
    assert!(
        files[0].ends_with("sub/c.yaml") && files[1].ends_with("sub/deeper/b.yml"),
        "{files:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Output formats.

#[test]
fn json_format_follows_the_contract() {
    let o = policyctl(&["check", "--format", "json", ARTICLE]);
    assert_eq!(code(&o), 1);
    let v = json(&o);
    let top: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert!(
        top.contains(&"diagnostics") && top.contains(&"summary"),
        "{top:?}"
    );
    for key in ["files", "policies", "errors", "warnings"] {
        assert!(v["summary"][key].is_u64(), "summary.{key}: {v:#}");
    }
    assert_eq!(v["summary"]["files"], 1);
    assert_eq!(v["summary"]["policies"], 1);
    let diagnostics = v["diagnostics"].as_array().unwrap();
    assert!(!diagnostics.is_empty());
    for d in diagnostics {
        for key in ["file", "severity", "code", "message"] {
            assert!(d[key].is_string(), "{key}: {d:#}");
        }
        for key in ["line", "column", "end_line", "end_column"] {
            assert!(d[key].as_u64().is_some_and(|n| n >= 1), "{key}: {d:#}");
        }
        assert!(d["help"].is_string() || d["help"].is_null(), "help: {d:#}");
        assert!(["error", "warning", "info"].contains(&d["severity"].as_str().unwrap()));
    }
    // The README's example: the unquoted 443 on line 21, columns 11 to 14.
    let d = &diagnostics[0];
    assert_eq!(
        (
            &d["file"],
            &d["line"],
            &d["column"],
            &d["end_line"],
            &d["end_column"],
            &d["code"]
        ),
        (
            &Value::from(ARTICLE),
            &Value::from(21),
            &Value::from(11),
            &Value::from(21),
            &Value::from(14),
            &Value::from("S003")
        )
    );
    insta::assert_snapshot!("json", stdout(&o));
}

#[test]
fn github_format() {
    let o = policyctl(&["check", "--format", "github", ARTICLE]);
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(out.starts_with("::error file="), "{out}");
    insta::assert_snapshot!("github", out);
}

#[test]
fn sarif_format() {
    let o = policyctl(&["check", "--format", "sarif", ARTICLE]);
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    let v: Value = serde_json::from_str(&out).expect("SARIF is JSON");
    assert_eq!(v["version"], "2.1.0");
    let driver = &v["runs"][0]["tool"]["driver"];
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    // Every result's ruleIndex points at its rule.
    let rules = driver["rules"].as_array().unwrap();
    for r in v["runs"][0]["results"].as_array().unwrap() {
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], r["ruleId"]);
    }
    for rule in rules {
        for key in [
            "name",
            "shortDescription",
            "fullDescription",
            "help",
            "defaultConfiguration",
        ] {
            assert!(!rule[key].is_null(), "rule {}: no {key}", rule["id"]);
        }
        assert!(!rule["fullDescription"]["text"]
            .as_str()
            .unwrap_or("")
            .is_empty());
    }
    let needle = format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION"));
    assert_eq!(
        out.matches(&needle).count(),
        1,
        "one tool version in the output"
    );
    // The snapshot keeps the whole document except the tool version, and the rules' long
    // texts (they belong to `explain`, and change with every wording fix): each rule is
    // reduced to its id, name and level.
    let mut v = v;
    v["runs"][0]["tool"]["driver"]["version"] = Value::from("[version]");
    for rule in v["runs"][0]["tool"]["driver"]["rules"]
        .as_array_mut()
        .unwrap()
    {
        let short = serde_json::json!({
            "id": rule["id"],
            "name": rule["name"],
            "level": rule["defaultConfiguration"]["level"],
        });
        *rule = short;
    }
    let redacted = serde_json::to_string_pretty(&v).unwrap();
    insta::assert_snapshot!("sarif", redacted);
}

#[test]
fn text_format_without_colour() {
    let o = policyctl(&["check", ARTICLE]);
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(
        !out.contains('\u{1b}'),
        "no ANSI escapes when stdout is not a terminal:\n{out}"
    );
    assert!(
        out.ends_with("1 error, 0 warnings in 1 policy (1 file)\n"),
        "{out}"
    );
    insta::assert_snapshot!("text", out);
}

// ---------------------------------------------------------------------------------------------
// explain and schema.

#[test]
fn explain_prints_the_heading_and_examples() {
    let o = policyctl(&["explain", "P021"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("P021"), "{out}");
    assert!(out.contains("```yaml"), "{out}");
    // Lower case works too, and --all lists the codes.
    let lower = policyctl(&["explain", "p021"]);
    if code(&lower) == 0 {
        assert_eq!(stdout(&lower), out);
    }
    let all = policyctl(&["explain", "--all"]);
    assert_eq!(code(&all), 0);
    assert!(stdout(&all).contains("P021") && stdout(&all).contains("Y001"));
}

#[test]
fn schema_prints_the_schema_files() {
    for (kind, file) in [
        ("TracingPolicy", "schema/tracingpolicy.json"),
        (
            "TracingPolicyNamespaced",
            "schema/tracingpolicynamespaced.json",
        ),
    ] {
        let o = policyctl(&["schema", "--kind", kind]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert!(
            stdout(&o) == read(file),
            "`policyctl schema --kind {kind}` differs from {file}"
        );
    }
    // TracingPolicy is the default.
    assert_eq!(
        stdout(&policyctl(&["schema"])),
        read("schema/tracingpolicy.json")
    );
}

// ---------------------------------------------------------------------------------------------
// Kernels.

/// A policy that loads on 6.12 and 6.18 but not on 6.1: `security_bpf_map_create` came in 6.9
/// (6.1 has `security_bpf_map_alloc`), and `vfs_mkdir`'s first parameter changed type.
const NEWER_KERNELS: &str = "\
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: \"bpf-maps\"
spec:
  kprobes:
  - call: \"security_bpf_map_create\"
    syscall: false
    args:
    - index: 0
      type: \"bpf_map\"
";

#[test]
fn several_kernels_name_the_kernels_each_finding_holds_for() {
    let dir = scratch("kernels");
    let file = dir.join("bpf-maps.yaml");
    write(&file, NEWER_KERNELS);
    let f = file.to_str().unwrap();
    let args = [
        "check",
        "--format",
        "json",
        "--btf",
        K61,
        "--btf",
        K612,
        "--btf",
        K618,
        "--kernel-config",
        CFG618,
        f,
    ];
    let o = policyctl(&args);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(
        v["kernels"],
        serde_json::json!(["6.1.0-56-amd64", "6.12.117+deb12-amd64", "6.18.44-fc-v769"])
    );
    let found: Vec<(String, Value)> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["kernels"].clone(),
            )
        })
        .collect();
    assert!(
        found.contains(&("K001".into(), serde_json::json!(["6.1.0-56-amd64"]))),
        "{found:?}"
    );
    assert!(
        found.contains(&("K030".into(), serde_json::json!(["6.18.44-fc-v769"]))),
        "{found:?}"
    );
    let per_kernel = &v["policies"][0]["kernels"];
    assert_eq!(per_kernel[1]["errors"], 0, "{per_kernel:#}");
    assert_eq!(per_kernel[0]["errors"], 1, "{per_kernel:#}");

    // The message names both sides.
    let k001 = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "K001")
        .unwrap();
    assert!(
        k001["message"]
            .as_str()
            .unwrap()
            .ends_with("(on 6.1.0-56-amd64; not on 6.12.117+deb12-amd64, 6.18.44-fc-v769)"),
        "{k001:#}"
    );
    // Text: a table of policies × kernels closes the run.
    let text_args: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| *a != "--format" && *a != "json" && *a != f)
        .chain(["-"])
        .collect();
    let o = policyctl_stdin(&text_args, NEWER_KERNELS);
    let out = stdout(&o);
    let table: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("policy "))
        .collect();
    insta::assert_snapshot!("kernel_table", table.join("\n"));
}

#[test]
fn one_kernel_checks_without_a_table() {
    let o = policyctl(&["check", "--btf", K612, CLEAN]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(!stdout(&o).contains("\npolicy "), "{}", stdout(&o));
    // Named kernels.
    let o = policyctl(&[
        "check",
        "--format",
        "json",
        "--btf",
        &format!("debian-6.12={K612}"),
        CLEAN,
    ]);
    assert_eq!(json(&o)["kernels"], serde_json::json!(["debian-6.12"]));
}

/// K040 on the real host: `check` of the running kernel resolves a `matchBinaries` path on this
/// machine's filesystem and names the file it really is (a link made in a temporary directory,
/// so the test does not depend on how this host lays out /bin).
#[test]
fn host_symlinked_binary_is_named() {
    if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        skip::skip(
            "host_symlinked_binary_is_named",
            "this host has no /sys/kernel/btf/vmlinux, so no host checks",
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("policyctl-k040-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("tool-1.2"), "").unwrap();
    let link = dir.join("tool");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink("tool-1.2", &link).unwrap();
    let policy = dir.join("policy.yaml");
    std::fs::write(
        &policy,
        format!(
            "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: tool\nspec:\n  tracepoints:\n  - subsystem: sched\n    event: sched_process_exec\n    selectors:\n    - matchBinaries:\n      - operator: In\n        values: [\"{}\", \"{}\"]\n",
            link.display(),
            dir.join("tool-1.2").display()
        ),
    )
    .unwrap();
    let o = policyctl(&[
        "check",
        "--host",
        "--format",
        "json",
        policy.to_str().unwrap(),
    ]);
    let v = json(&o);
    let _ = std::fs::remove_dir_all(&dir);
    let diags = v["diagnostics"].as_array().cloned().unwrap_or_default();
    let k040: Vec<&Value> = diags.iter().filter(|d| d["code"] == "K040").collect();
    assert_eq!(k040.len(), 1, "one K040, on the link only: {v:#}");
    let help = k040[0]["help"].as_str().unwrap_or_default();
    assert!(help.contains("tool-1.2"), "{help}");
    // The same file checked without the host's kernel: nothing to say about the host's files.
    let o = policyctl(&["check", "--no-btf", "--format", "json", CLEAN]);
    assert_eq!(code(&o), 0);
}

#[test]
fn host_kernel_by_default() {
    let o = policyctl(&["check", "--host", "--format", "json", CLEAN]);
    let v = json(&o);
    if Path::new("/sys/kernel/btf/vmlinux").exists() {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        assert_eq!(v["kernels"], serde_json::json!([release.trim()]));
    } else {
        assert_eq!(v["kernels"], serde_json::json!([]));
        assert!(stderr(&o).contains("no kernel checks"), "{}", stderr(&o));
    }
    let o = policyctl(&["check", "--no-btf", "--format", "json", CLEAN]);
    assert_eq!(json(&o)["kernels"], serde_json::json!([]));
}

/// `completions bash` is a script bash loads and that completes subcommands and flags.
#[test]
fn bash_completion_completes_subcommands_and_flags() {
    let o = policyctl(&["completions", "bash"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let dir = std::env::temp_dir().join(format!("policyctl-completion-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("policyctl.bash");
    std::fs::write(&script, &o.stdout).unwrap();
    // As bash calls a completion function: the command, the word completed, the word before.
    let ask = |words: &str, cword: usize| {
        let list: Vec<&str> = words.split(' ').collect();
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source '{}'; COMP_WORDS=({words}); COMP_CWORD={cword}; \
                 _policyctl policyctl '{}' '{}'; echo \"${{COMPREPLY[*]}}\"",
                script.display(),
                list[cword],
                list[cword - 1]
            ))
            .output()
            .expect("run bash");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let subcommands = ask("policyctl ch", 1);
    let flags = ask("policyctl check --deny", 2);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(subcommands, "check", "completing `policyctl ch`");
    assert_eq!(
        flags, "--deny-warnings",
        "completing `policyctl check --deny`"
    );
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let o = policyctl(&["completions", shell]);
        assert_eq!(code(&o), 0, "{shell}: {}", stderr(&o));
        assert!(stdout(&o).contains("deny-warnings"), "{shell}");
    }
}

/// `man` prints roff pages: the tool's, naming every subcommand, and one per subcommand.
#[test]
fn man_pages() {
    let o = policyctl(&["man"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let page = stdout(&o);
    assert!(
        page.starts_with(".ie") && page.contains(".TH policyctl 1"),
        "{page}"
    );
    for sub in [
        "check",
        "explain",
        "lsp",
        "kernel",
        "run",
        "schema",
        "completions",
    ] {
        assert!(page.contains(sub), "the page names `{sub}`");
    }
    let o = policyctl(&["man", "check"]);
    assert_eq!(code(&o), 0);
    let check = stdout(&o);
    assert!(check.contains(".TH policyctl-check 1"), "{check}");
    assert!(check.contains("deny\\-warnings"), "{check}");
    let o = policyctl(&["man", "nope"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("pages: check"), "{}", stderr(&o));
}

// ---------------------------------------------------------------------------------------------
// The project file and suppressions.

/// A project: `policyctl.toml` naming two fixture kernels (paths relative to the file), a
/// severity override, an exclude; a policy with a suppression that suppresses a kernel finding
/// and a stale one; a warning raised to an error; a broken policy in an excluded directory.
fn project(name: &str) -> PathBuf {
    let dir = scratch(name);
    // From target/tmp/cli/<name> back to the workspace root.
    let up = "../../../..";
    write(
        &dir.join("policyctl.toml"),
        &format!(
            r#"# The fleet.
format = "json"
exclude = ["vendor"]

[severity]
P004 = "error"
K030 = "off"

[[kernel]]
name = "old"
btf = "{up}/{K61}"

[[kernel]]
name = "new"
btf = "{up}/{K618}"
config = "{up}/{CFG618}"
"#
        ),
    );
    let bpf = NEWER_KERNELS
        .replace(
            "  - call: \"security_bpf_map_create\"\n",
            "  - call: \"security_bpf_map_create\" # policyctl: ignore[K001]\n",
        )
        .replace(
            "    syscall: false\n",
            "    # policyctl: ignore[P041]\n    syscall: false\n",
        );
    write(&dir.join("policies/bpf.yaml"), &bpf);
    write(&dir.join("policies/warn.yaml"), WARNING_ONLY);
    write(&dir.join("vendor/broken.yaml"), &read(ARTICLE));
    dir
}

/// (code, severity, file name, line) of every diagnostic of a JSON report.
fn findings(v: &Value) -> Vec<(String, String, String, u64)> {
    let mut out: Vec<_> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["severity"].as_str().unwrap().to_string(),
                Path::new(d["file"].as_str().unwrap())
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn project_file_kernels_severities_excludes_and_suppressions() {
    let dir = project("project");
    let d = dir.to_str().unwrap();
    // `--host`: no `--no-btf`, so the file's kernels are used. No `--format`: the file's.
    let o = policyctl(&["check", "--host", d]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    let v = json(&o);
    assert_eq!(v["kernels"], serde_json::json!(["old", "new"]), "{v:#}");
    assert_eq!(
        findings(&v),
        vec![
            // The stale suppression above `syscall: false`.
            ("C001".into(), "warning".into(), "bpf.yaml".into(), 8),
            // A warning made an error by `[severity]`.
            ("P004".into(), "error".into(), "warn.yaml".into(), 7),
        ],
        "{v:#}"
    );
    assert_eq!(v["summary"]["files"], 2, "vendor/ is excluded: {v:#}");
    let c001 = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "C001")
        .unwrap();
    assert_eq!(
        c001["message"],
        "this suppression suppresses nothing: no `P041` finding on this line or the next"
    );

    // Without the file, the same policies get what its overrides and excludes hid (the
    // comments still suppress K001).
    let o = policyctl(&[
        "check",
        "--no-config",
        "--format",
        "json",
        "--btf",
        K61,
        "--btf",
        K618,
        "--kernel-config",
        CFG618,
        d,
    ]);
    let got = findings(&json(&o));
    let codes: Vec<&str> = got.iter().map(|f| f.0.as_str()).collect();
    assert!(
        !codes.contains(&"K001") && codes.contains(&"K030"),
        "{got:?}"
    );
    assert!(
        got.contains(&("S003".into(), "error".into(), "broken.yaml".into(), 21)),
        "vendor/ is walked: {got:?}"
    );
    assert!(
        got.contains(&("P004".into(), "warning".into(), "warn.yaml".into(), 7)),
        "{got:?}"
    );

    // Flags override the file: --format, --btf (the file's kernels go), --ignore.
    let o = policyctl(&[
        "check", "--format", "github", "--btf", K612, "--ignore", "P00,C", d,
    ]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(!stdout(&o).contains("::error"), "{}", stdout(&o));
    let o = policyctl(&[
        "check", "--format", "json", "--btf", K612, "--select", "C", d,
    ]);
    let v = json(&o);
    assert_eq!(v["kernels"], serde_json::json!(["6.12.117+deb12-amd64"]));
    // 6.12 has `security_bpf_map_create`: the K001 suppression suppresses nothing there.
    let lines: Vec<(String, u64)> = findings(&v).into_iter().map(|f| (f.0, f.3)).collect();
    assert_eq!(
        lines,
        vec![("C001".to_string(), 7), ("C001".to_string(), 8)],
        "{v:#}"
    );

    // A file named on the command line is checked even in an excluded directory.
    let broken = dir.join("vendor/broken.yaml");
    let o = policyctl(&["check", "--host", broken.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(json(&o)["summary"]["files"], 1);
    // Unless --force-exclude (pre-commit's hooks pass it): then it is left out as a walk
    // leaves it out, and the other file named is still checked.
    let warn = dir.join("policies/warn.yaml");
    let o = policyctl(&[
        "check",
        "--host",
        "--force-exclude",
        broken.to_str().unwrap(),
        warn.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    let v = json(&o);
    assert_eq!(v["summary"]["files"], 1, "{v:#}");
    assert_eq!(
        findings(&v),
        vec![("P004".into(), "error".into(), "warn.yaml".into(), 7)],
        "{v:#}"
    );
}

#[test]
fn deny_warnings_from_the_project_file_and_stdin_finds_it_from_the_current_directory() {
    let dir = scratch("project-deny");
    write(&dir.join("policyctl.toml"), "deny-warnings = true\n");
    let o = Command::new(env!("CARGO_BIN_EXE_policyctl"))
        .args(["check", "--no-btf", "-"])
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(WARNING_ONLY.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    let o = Command::new(env!("CARGO_BIN_EXE_policyctl"))
        .args(["check", "--no-btf", "--no-config", "-"])
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(WARNING_ONLY.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn a_bad_project_file_or_code_is_a_clear_error() {
    let dir = scratch("project-bad");
    let file = dir.join("warn.yaml");
    write(&file, WARNING_ONLY);
    let f = file.to_str().unwrap();
    write(
        &dir.join("policyctl.toml"),
        "deny-warnings = true\n\n[severity]\nP004 = \"fatal\"\n",
    );
    let o = policyctl(&["check", f]);
    assert_eq!(code(&o), 2, "{}{}", stdout(&o), stderr(&o));
    let want = format!(
        "policyctl: {}:4:8: [severity] P004: write one of \"error\", \"warning\", \"info\", \"off\"\n",
        dir.join("policyctl.toml").display()
    );
    assert_eq!(stderr(&o), want);
    write(
        &dir.join("policyctl.toml"),
        "[[kernel]]\nname = \"a\"\nbtfs = \"x\"\n",
    );
    let o = policyctl(&["check", f]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).ends_with(":3:1: unknown key `btfs` in [[kernel]]; did you mean `btf`?\n"),
        "{}",
        stderr(&o)
    );
    // A kernel file the project names that does not exist.
    write(
        &dir.join("policyctl.toml"),
        "[[kernel]]\nname = \"a\"\nbtf = \"nope.btf\"\n",
    );
    let o = policyctl(&["check", "--host", f]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("nope.btf"), "{}", stderr(&o));
    // Codes on the command line.
    let o = policyctl(&["check", "--no-config", "--select", "PO04", CLEAN]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("--select: `PO04` is neither a code nor the prefix of one"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn explain_says_how_to_suppress() {
    let o = policyctl(&["explain", "P041"]);
    let out = stdout(&o);
    assert!(out.contains("`# policyctl: ignore[P041]`"), "{out}");
    assert!(out.contains("`# policyctl: ignore-file[P041]`"), "{out}");
    let o = policyctl(&["explain", "C001"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("# C001 unused-suppression"));
}

#[test]
fn include_and_config_flag() {
    let dir = scratch("project-include");
    write(&dir.join("policies/warn.yaml"), WARNING_ONLY);
    write(&dir.join("policies/deep/broken.yaml"), &read(ARTICLE));
    write(&dir.join("other/broken.yaml"), &read(ARTICLE));
    write(
        &dir.join("policyctl.toml"),
        "include = [\"policies/*.yaml\"]\n",
    );
    let d = dir.to_str().unwrap();
    // Only policies/warn.yaml: `*` does not cross directories, other/ is not included.
    let o = policyctl(&["check", "--format", "json", d]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let v = json(&o);
    assert_eq!(v["summary"]["files"], 1, "{v:#}");
    // `--config` names another file (here: one that denies warnings); `--no-config`
    // reads none, and every file is walked.
    let other = dir.join("other/strict.toml");
    write(&other, "deny-warnings = true\n");
    let o = policyctl(&[
        "check",
        "--config",
        other.to_str().unwrap(),
        dir.join("policies/warn.yaml").to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    let o = policyctl(&["check", "--no-config", "--format", "json", d]);
    assert_eq!(json(&o)["summary"]["files"], 3);
    let o = policyctl(&["check", "--config", "nope.toml", d]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("nope.toml: cannot read it"),
        "{}",
        stderr(&o)
    );
}

// ---------------------------------------------------------------------------------------------
// One kernel's missing feature, gathered in the text output.

#[test]
fn text_gathers_one_kernels_missing_feature_past_three_files() {
    let dir = scratch("k030-gathered");
    for name in ["a", "b", "c", "d", "e"] {
        write(&dir.join(format!("{name}.yaml")), KILL_WITH_ARGSIG);
    }
    // A second K030 in one file of those not drawn: counted on the gathered line too.
    write(
        &dir.join("f.yaml"),
        &format!(
            "{KILL_WITH_ARGSIG}---\n{}",
            KILL_WITH_ARGSIG.replace("kill-mkdir", "kill-mkdir-2")
        ),
    );
    write(&dir.join("w.yaml"), WARNING_ONLY);
    let run = |format: &str| {
        Command::new(env!("CARGO_BIN_EXE_policyctl"))
            .args(["check", "--no-config", "--format", format, "--btf"])
            .arg(root().join(K618))
            .arg("--kernel-config")
            .arg(root().join(CFG618))
            .arg(".")
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let o = run("text");
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let text = stdout(&o);
    // The summary still counts every finding: 8 K030 (f.yaml has two, w.yaml one), 7 P041,
    // 1 P004.
    assert!(
        text.contains("8 errors, 8 warnings in 8 policies (7 files)"),
        "{text}"
    );
    assert!(
        text.contains("K030: the same error 5 more times, in 4 more files, on 6.18.44-fc-v769: "),
        "{text}"
    );
    insta::assert_snapshot!("k030_gathered", text);
    // JSON keeps one finding per place.
    let v = json(&run("json"));
    let k030 = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "K030")
        .count();
    assert_eq!(k030, 8, "{v:#}");
}
