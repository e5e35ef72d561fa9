//! Hostile and edge inputs at the façade (`check_source_with` and the renderers), one test per
//! case of issue 13: empty documents, exact integers in messages, lone CR line endings, and
//! output that stays linear (many diagnostics, long lines, huge spans). The YAML limits (alias
//! bytes, node count, flow lookahead) are unit-tested in `yaml.rs`; BTF in `tests/btf.rs`;
//! memory in `tests/memory.rs`.

use std::time::{Duration, Instant};

use policyctl_validator::render::{self, Format, TextOptions};
use policyctl_validator::{check_source, FileReport, SourceFile};

const POLICY: &str = "\
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: open
spec:
  kprobes:
  - call: sys_openat
    syscall: true
    args:
    - index: 1
      type: string
    selectors:
    - matchArgs:
      - index: 1
        operator: Prefix
        values:
        - /etc/
";

fn check(text: &str) -> FileReport {
    check_source(SourceFile::new("t.yaml", text))
}

fn codes(r: &FileReport) -> Vec<&'static str> {
    r.diagnostics.iter().map(|d| d.code.as_str()).collect()
}

fn text(r: FileReport) -> String {
    render::render(&[r], Format::Text, &TextOptions::default())
}

/// A trailing `---` (Kubernetes and Helm style) was a Y007 error. Empty documents are nothing,
/// as kubectl treats them: only `---`, only comments, `...`, or `null`.
#[test]
fn empty_documents_are_nothing() {
    assert!(
        codes(&check(POLICY)).is_empty(),
        "{:?}",
        codes(&check(POLICY))
    );
    for extra in [
        format!("{POLICY}---\n"),
        format!("{POLICY}---\n"),
        format!("{POLICY}---\n# the next policy goes here\n"),
        format!("---\n{POLICY}---\n---\n"),
        format!("# generated\n---\n{POLICY}...\n---\n...\n"),
        format!("{POLICY}--- ~\n"),
        format!("{POLICY}---\nnull\n"),
    ] {
        let r = check(&extra);
        assert!(codes(&r).is_empty(), "{extra}: {:?}", r.diagnostics);
        assert_eq!(r.policies.len(), 1, "{extra}");
        assert_eq!(r.other_documents, 0, "{extra}");
        assert!(text(r).starts_with("0 errors, 0 warnings in 1 policy (1 file)"));
    }
    for nothing in ["", "---\n", "# only a comment\n", "---\n---\n...\n"] {
        let r = check(nothing);
        assert!(
            r.diagnostics.is_empty() && r.policies.is_empty(),
            "{nothing:?}"
        );
    }
    // A document that is something other than a mapping still is an error.
    let r = check(&format!("{POLICY}---\n- a\n"));
    assert_eq!(codes(&r), ["Y007"]);
    let r = check(&format!("{POLICY}---\nfalse\n"));
    assert_eq!(codes(&r), ["Y007"]);
}

/// i64::MIN was read as a float and quoted rounded; integers are exact in messages.
#[test]
fn extreme_integers_are_quoted_exactly() {
    let policy = POLICY.replace(
        "index: 1\n      type",
        "index: -9223372036854775808\n      type",
    );
    let r = check(&policy);
    let d = r
        .diagnostics
        .iter()
        .find(|d| d.code.as_str() == "S006")
        .unwrap_or_else(|| panic!("{:#?}", r.diagnostics));
    assert!(d.message.contains("-9223372036854775808"), "{}", d.message);
    assert!(
        !d.message.contains("e18") && !d.message.contains("e+18"),
        "{}",
        d.message
    );
    let policy = POLICY.replace(
        "index: 1\n      type",
        "index: 9223372036854775807\n      type",
    );
    let r = check(&policy);
    assert!(
        r.diagnostics
            .iter()
            .any(|d| d.message.contains("9223372036854775807")),
        "{:#?}",
        r.diagnostics
    );
}

/// saphyr treats a lone `\r` as a line break and the line index did not, so every position
/// after one was wrong (all at line 1). Diagnostics are now where they are with any ending.
#[test]
fn lone_carriage_returns_end_lines() {
    let broken = POLICY
        .replace("operator: Prefix", "operator: Prefx")
        .replace("  name: open\n", "  name: open\n  bogus: 1\n");
    let want: Vec<(&str, usize, usize)> = places(&check(&broken));
    assert_eq!(want.len(), 2, "{want:?}");
    assert!(want.iter().all(|&(_, line, _)| line > 1), "{want:?}");
    for eol in ["\r\n", "\r"] {
        let r = check(&broken.replace('\n', eol));
        assert_eq!(places(&r), want, "{eol:?}");
        let json = render::render(&[r], Format::Json, &TextOptions::default());
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        for (d, (_, line, column)) in v["diagnostics"].as_array().unwrap().iter().zip(&want) {
            assert_eq!(
                (d["line"].as_u64(), d["column"].as_u64()),
                (Some(*line as u64), Some(*column as u64))
            );
        }
    }
    // The text output shows the lines, not a line with carriage returns in it.
    let out = text(check(&broken.replace('\n', "\r")));
    assert!(!out.contains('\r'), "{out:?}");
    assert!(out.contains("[t.yaml:5:3]"), "{out}");
    assert!(out.contains(" 5 │   bogus: 1\n"), "{out}");
}

fn places(r: &FileReport) -> Vec<(&'static str, usize, usize)> {
    r.diagnostics
        .iter()
        .map(|d| {
            let p = r.source.position(d.span.start);
            (d.code.as_str(), p.line, p.column)
        })
        .collect()
}

/// `n` unknown fields under `spec`: one S001 each.
fn unknown_fields(n: usize) -> String {
    let mut t = String::from(
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: many\nspec:\n",
    );
    for i in 0..n {
        t.push_str(&format!("  unknownfield{i:05}: 1\n"));
    }
    t
}

/// Text output was quadratic in diagnostics × file size (miette scanned from the start of the
/// file for each): 10,000 diagnostics in 230 KB took 6 s, a 4 MiB file did not finish in 5
/// minutes. Now the excerpts come from the line index.
#[test]
fn text_output_is_linear() {
    let r = check(&unknown_fields(10_000));
    assert_eq!(r.diagnostics.len(), 10_001);
    let start = Instant::now();
    let out = text(r);
    let took = start.elapsed();
    eprintln!("10,000 diagnostics: {took:?}");
    // Was 6 s in a release build, far more in a test build (miette is not optimised there).
    assert!(
        took < Duration::from_secs(15),
        "10,000 diagnostics: {took:?}"
    );
    assert!(out.contains("[t.yaml:10005:3]"), "the last excerpt");
    // Many documents: the work per diagnostic does not grow with its distance from the start.
    let one = unknown_fields(100);
    let docs = vec![one.as_str(); 400].join("---\n");
    let r = check(&docs);
    let n = r.diagnostics.len();
    assert!(n > 40_000, "{n}");
    let start = Instant::now();
    let out = text(r);
    let took = start.elapsed();
    eprintln!("{n} diagnostics in 400 documents: {took:?}");
    assert!(
        took < Duration::from_secs(30),
        "{n} diagnostics in 400 documents: {took:?}"
    );
    assert!(out.len() < 700 * n, "{} bytes for {n}", out.len());
}

/// One long line with thousands of diagnostics (a policy written as one flow mapping): each
/// excerpt is a window of the line, not the line; positions are counted once along the line.
#[test]
fn long_lines_are_windowed() {
    let keys: Vec<String> = (0..20_000).map(|i| format!("u{i}: 1")).collect();
    let line = format!(
        "{{apiVersion: cilium.io/v1alpha1, kind: TracingPolicy, metadata: {{name: x}}, spec: {{{}}}}}\n",
        keys.join(", ")
    );
    assert!(line.len() > 150_000);
    let r = check(&line);
    let n = r.diagnostics.len();
    assert!(n >= 20_000, "{n}");
    let last = r
        .diagnostics
        .iter()
        .rev()
        .find(|d| d.code.as_str() == "S001")
        .unwrap();
    let column = r.source.position(last.span.start).column;
    let start = Instant::now();
    let json = render::render(
        std::slice::from_ref(&r),
        Format::Json,
        &TextOptions::default(),
    );
    eprintln!("JSON: {:?}", start.elapsed());
    // Counting characters from the start of the line for each position took seconds.
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "JSON: {:?}",
        start.elapsed()
    );
    assert!(json.contains(&format!("\"column\": {column},")));
    let start = Instant::now();
    let out = text(r);
    eprintln!("text: {:?}", start.elapsed());
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "text: {:?}",
        start.elapsed()
    );
    assert!(
        out.len() < 1500 * n,
        "{} bytes for {n} diagnostics",
        out.len()
    );
    assert!(
        out.contains(&format!("[t.yaml:1:{column}]")),
        "the last header"
    );
    assert!(out.contains("u19999: 1}}"), "the last window");
}

/// A span over 100,000 lines (a document that is a long list) is underlined on its first line,
/// not drawn line by line.
#[test]
fn huge_spans_are_cut_to_their_start() {
    let list = "- item\n".repeat(100_000);
    let r = check(&list);
    assert_eq!(codes(&r), ["Y007"]);
    let out = text(r);
    assert!(
        out.len() < 2_000,
        "{} bytes:\n{}",
        out.len(),
        &out[..2_000.min(out.len())]
    );
    assert!(out.contains(" 1 │ - item\n"), "{out}");
    // And a span over a 1 MiB line.
    let r = check(&format!("\"{}\"\n", "x".repeat(1 << 20)));
    assert_eq!(codes(&r), ["Y007"]);
    let out = text(r);
    assert!(out.len() < 8_000, "{} bytes", out.len());
}
