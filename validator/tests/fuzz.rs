//! Throws malformed and mutated documents at `check_source_with`, against the three fixture
//! kernels.
//!
//! Properties, for any text:
//! - it never panics and finishes quickly (a generous 2 s guard per case; each takes ~ms);
//! - every diagnostic span (primary and related) lies within the text, on char boundaries;
//! - every span's positions can be computed, and map back to the same offsets;
//! - every output format (text, JSON, GitHub, SARIF) renders, each diagnostic once, the text
//!   with an excerpt for every label and the others with the positions the source gives;
//! - line endings do not matter: the same text with `\r\n` or a lone `\r` for each `\n` gives
//!   the same diagnostics at the same lines and columns;
//! - empty documents (`---` alone, comments alone) around a policy add nothing.
//!
//! Inputs: the valid policies of `testdata/policies/valid/` mutated at random (lines deleted,
//! duplicated, swapped, re-indented; YAML-significant characters, anchors, aliases and
//! non-ASCII text inserted; truncation at any byte), soups of YAML tokens, and random bytes
//! (lossy UTF-8). About 3600 cases in all.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use policyctl_validator::render::{self, Format, TextOptions};
use policyctl_validator::{check_source_with, FileReport, SourceFile, Span};
use proptest::prelude::*;

mod support;

const GUARD: Duration = Duration::from_secs(2);

/// The valid policies, read once.
fn corpus() -> &'static [String] {
    static CORPUS: OnceLock<Vec<String>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let files = support::testdata_files("policies/valid");
        let texts: Vec<String> = files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        texts
    })
}

/// Check `text` and assert every property; returns the report.
fn check_and_verify(text: String) -> FileReport {
    let started = Instant::now();
    // Against the three fixture kernels, so the kernel checks see every mutation too.
    let report = check_source_with(
        SourceFile::new("fuzz.yaml", text),
        support::fixture_kernels(),
    );
    let elapsed = started.elapsed();
    assert!(elapsed < GUARD, "check_source took {elapsed:?}");
    let source = &report.source;
    let t = source.text();
    let mut spans: Vec<Span> = Vec::new();
    for d in &report.diagnostics {
        spans.push(d.span);
        spans.extend(d.related.iter().map(|r| r.span));
        assert!(!d.message.is_empty(), "{:?}: empty message", d.code);
    }
    for span in spans {
        assert!(span.start <= span.end, "inverted span {span:?}");
        assert!(
            span.end <= t.len(),
            "span {span:?} past the end ({} bytes)",
            t.len()
        );
        assert!(
            t.is_char_boundary(span.start) && t.is_char_boundary(span.end),
            "span {span:?} splits a character"
        );
        for offset in [span.start, span.end] {
            let p = source.position(offset);
            assert!(
                p.line >= 1 && p.line <= source.line_count(),
                "{offset}: line {}",
                p.line
            );
            assert!(p.column >= 1, "{offset}: column {}", p.column);
            assert_eq!(
                source.offset_of(p.line, p.column - 1),
                offset,
                "offset {offset} -> {p:?} does not map back"
            );
        }
    }
    // Sorted by position, as documented.
    assert!(report
        .diagnostics
        .windows(2)
        .all(|w| w[0].span.start <= w[1].span.start));
    // Counts agree with the diagnostics.
    let per_policy: usize = report.policies.iter().map(|p| p.errors + p.warnings).sum();
    assert!(
        per_policy <= report.diagnostics.len(),
        "policies count {per_policy} > {} diagnostics",
        report.diagnostics.len()
    );
    report
}

/// Render the report in every format: none may panic or emit an empty result; each shows
/// every diagnostic once, where the source says it is.
fn render_all(report: FileReport) {
    let reports = [report];
    let report = &reports[0];
    let n = report.diagnostics.len();
    for format in [Format::Text, Format::Json, Format::Github, Format::Sarif] {
        let out = render::render(&reports, format, &TextOptions { color: false });
        if format != Format::Github {
            assert!(!out.is_empty(), "{format:?} rendered nothing");
        }
        match format {
            Format::Json => {
                let v: serde_json::Value = serde_json::from_str(&out).expect("JSON output parses");
                let diags = v["diagnostics"].as_array().expect("diagnostics");
                assert_eq!(diags.len(), n);
                for (j, d) in diags.iter().zip(&report.diagnostics) {
                    let p = report.source.position(d.span.start);
                    assert_eq!(j["line"], p.line, "{j}");
                    assert_eq!(j["column"], p.column, "{j}");
                    assert_eq!(j["code"], d.code.as_str());
                }
            }
            Format::Sarif => {
                let v: serde_json::Value = serde_json::from_str(&out).expect("SARIF output parses");
                assert_eq!(v["runs"][0]["results"].as_array().map(Vec::len), Some(n));
            }
            Format::Github => assert_eq!(out.lines().count(), n),
            Format::Text => {
                assert!(
                    !out.contains("Failed to read contents"),
                    "an excerpt could not be read:\n{out}"
                );
                // Each diagnostic opens with its code alone on a line.
                let heads = out
                    .lines()
                    .filter(|l| {
                        l.len() == 4
                            && l.starts_with(['Y', 'S', 'P', 'K'])
                            && l[1..].bytes().all(|b| b.is_ascii_digit())
                    })
                    .count();
                assert_eq!(heads, n, "{out}");
                assert!(out.contains(" (1 file)\n"), "no summary:\n{out}");
            }
        }
    }
}

/// (code, line, column) of each diagnostic, for comparing texts that differ in line endings.
fn places(report: &FileReport) -> Vec<(&'static str, usize, usize)> {
    report
        .diagnostics
        .iter()
        .map(|d| {
            let p = report.source.position(d.span.start);
            (d.code.as_str(), p.line, p.column)
        })
        .collect()
}

/// The same diagnostics with `\r\n` and a lone `\r` for every `\n` (texts with a `\r` of their
/// own are left alone: `\r` + `\n` → `\r\r\n` would add a line).
fn same_with_other_line_endings(text: &str, report: &FileReport) {
    if text.contains('\r') {
        return;
    }
    let want = places(report);
    for eol in ["\r\n", "\r"] {
        let other = check_source_with(
            SourceFile::new("fuzz.yaml", text.replace('\n', eol)),
            support::fixture_kernels(),
        );
        assert_eq!(places(&other), want, "with {eol:?} line endings");
    }
}

// ---------------------------------------------------------------------------------------------
// Mutations.

/// Fragments that matter to YAML (and to the checks), inserted at random places.
const TOKENS: &[&str] = &[
    "\t",
    "\"",
    "'",
    ":",
    ": ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "- ",
    "-",
    "? ",
    "#",
    "|",
    ">",
    "|-\n",
    "&a ",
    "*a",
    "&b [*a, *a]",
    "*b",
    "!!str ",
    "!!int ",
    "!tag ",
    "%YAML 1.2\n",
    "---\n",
    "...\n",
    "\n",
    "\r\n",
    "\r",
    " ",
    "    ",
    "\\",
    "\0",
    "é",
    "日本語",
    "🦀",
    "\u{200b}",
    "\u{feff}",
    "\u{2028}",
    "0x",
    "-1",
    "99999999999999999999",
    "1e400",
    ".inf",
    "null",
    "~",
    "true",
    "yes",
    "<<: *a\n",
    "index: ",
    "operator: ",
    "values:",
    "call: ",
    "kprobes:",
    "selectors:",
    "matchArgs:",
    "matchActions:",
    "  - index: 0\n",
    "@",
    "`",
    "%",
];

#[derive(Clone, Debug)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    /// Add (or remove, when negative) spaces at the start of a line.
    Reindent(usize, i8),
    /// Indent a line with a tab.
    TabIndent(usize),
    InsertToken(usize, usize),
    InsertChar(usize, char),
    DeleteBytes(usize, usize),
    /// Keep only the first bytes (may cut a character: lossy).
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => any::<usize>().prop_map(Mutation::DeleteLine),
        2 => any::<usize>().prop_map(Mutation::DuplicateLine),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        3 => (any::<usize>(), -4i8..=4).prop_map(|(l, d)| Mutation::Reindent(l, d)),
        1 => any::<usize>().prop_map(Mutation::TabIndent),
        6 => (any::<usize>(), 0..TOKENS.len()).prop_map(|(p, t)| Mutation::InsertToken(p, t)),
        2 => (any::<usize>(), any::<char>()).prop_map(|(p, c)| Mutation::InsertChar(p, c)),
        2 => (any::<usize>(), 1usize..20).prop_map(|(p, n)| Mutation::DeleteBytes(p, n)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let n = lines.len().max(1);
    match *m {
        Mutation::DeleteLine(i) => {
            if !lines.is_empty() {
                lines.remove(i % n);
            }
        }
        Mutation::DuplicateLine(i) => {
            if !lines.is_empty() {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
        }
        Mutation::SwapLines(a, b) => {
            if !lines.is_empty() {
                lines.swap(a % n, b % n);
            }
        }
        Mutation::Reindent(i, d) => {
            if let Some(l) = lines.get_mut(i % n) {
                if d >= 0 {
                    l.insert_str(0, &" ".repeat(d as usize));
                } else {
                    let cut = l.len() - l.trim_start_matches(' ').len();
                    l.drain(..cut.min(d.unsigned_abs() as usize));
                }
            }
        }
        Mutation::TabIndent(i) => {
            if let Some(l) = lines.get_mut(i % n) {
                l.insert(0, '\t');
            }
        }
        Mutation::InsertToken(p, t) => {
            let mut s = lines.concat();
            let at = floor_boundary(&s, p % (s.len() + 1));
            s.insert_str(at, TOKENS[t]);
            return s;
        }
        Mutation::InsertChar(p, c) => {
            let mut s = lines.concat();
            let at = floor_boundary(&s, p % (s.len() + 1));
            s.insert(at, c);
            return s;
        }
        Mutation::DeleteBytes(p, len) => {
            let mut s = lines.concat();
            let a = floor_boundary(&s, p % (s.len() + 1));
            let b = floor_boundary(&s, a + len);
            s.replace_range(a..b, "");
            return s;
        }
        Mutation::Truncate(p) => {
            let bytes = text.as_bytes();
            let at = p % (bytes.len() + 1);
            return String::from_utf8_lossy(&bytes[..at]).into_owned();
        }
    }
    lines.concat()
}

fn mutated_policy() -> impl Strategy<Value = (usize, Vec<Mutation>)> {
    (any::<usize>(), prop::collection::vec(mutation(), 1..12))
}

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => (0..TOKENS.len()).prop_map(|i| TOKENS[i].to_string()),
            2 => "[a-zA-Z0-9_]{1,8}",
            1 => any::<char>().prop_map(String::from),
            1 => (0usize..8).prop_map(|n| format!("\n{}", " ".repeat(n))),
        ],
        0..80,
    )
    .prop_map(|parts| parts.concat())
}

/// `cases` cases, or `PROPTEST_CASES` for a longer hunt.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(cases),
        // Shrinking a mutation list is quick; keep it bounded anyway.
        max_shrink_iters: 2000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(1600))]

    /// Valid policies, mutated.
    #[test]
    fn mutated_policies_are_checked_safely((file, mutations) in mutated_policy()) {
        let corpus = corpus();
        let mut text = corpus[file % corpus.len()].clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        let report = check_and_verify(text.clone());
        same_with_other_line_endings(&text, &report);
        render_all(report);
    }
}

proptest! {
    #![proptest_config(config(300))]

    /// A valid policy with empty documents around it (`---` alone, comments alone, `...`):
    /// still clean, still one policy.
    #[test]
    fn empty_documents_add_nothing(
        file in any::<usize>(),
        before in prop::collection::vec(0usize..EMPTY.len(), 0..3),
        after in prop::collection::vec(0usize..EMPTY.len(), 0..3),
    ) {
        let corpus = corpus();
        let policy = &corpus[file % corpus.len()];
        let clean = check_source_with(SourceFile::new("p.yaml", policy.as_str()), &[]);
        let mut text: String = before.iter().map(|&i| EMPTY[i]).collect();
        if !text.is_empty() {
            text.push_str("---\n");
        }
        text.push_str(policy);
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.extend(after.iter().map(|&i| EMPTY[i]));
        let report = check_source_with(SourceFile::new("p.yaml", text.as_str()), &[]);
        prop_assert_eq!(report.policies.len(), clean.policies.len(), "{}", text);
        let codes = |r: &FileReport| r.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>();
        prop_assert_eq!(codes(&report), codes(&clean), "{}", text);
    }
}

/// Documents that hold nothing.
const EMPTY: &[&str] = &[
    "---\n",
    "---\n# nothing\n",
    "# a comment\n---\n",
    "---\n...\n",
    "--- ~\n",
];

proptest! {
    #![proptest_config(config(700))]

    /// Soups of YAML tokens, words, characters and indented line breaks.
    #[test]
    fn token_soup_is_checked_safely(text in token_soup()) {
        render_all(check_and_verify(text));
    }
}

proptest! {
    #![proptest_config(config(700))]

    /// Random bytes, as lossy UTF-8 (sometimes after a valid policy's first lines).
    #[test]
    fn random_bytes_are_checked_safely(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
        prefix in prop::option::of(any::<usize>()),
    ) {
        let mut text = String::new();
        if let Some(i) = prefix {
            let corpus = corpus();
            let policy = &corpus[i % corpus.len()];
            let cut = floor_boundary(policy, (i / corpus.len()) % (policy.len() + 1));
            text.push_str(&policy[..cut]);
        }
        text.push_str(&String::from_utf8_lossy(&bytes));
        render_all(check_and_verify(text));
    }
}

// ---------------------------------------------------------------------------------------------
// Deterministic hostile inputs.

fn quick_with_diagnostic(what: &str, text: String) -> FileReport {
    let started = Instant::now();
    let report = check_and_verify(text);
    let elapsed = started.elapsed();
    assert!(elapsed < GUARD, "{what}: took {elapsed:?}");
    assert!(!report.diagnostics.is_empty(), "{what}: no diagnostic");
    eprintln!(
        "{what}: {elapsed:?}, {:?}",
        report
            .diagnostics
            .iter()
            .map(|d| d.code.as_str())
            .collect::<Vec<_>>()
    );
    report
}

#[test]
fn billion_laughs_is_stopped() {
    let mut text = String::from("apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: lol\nspec:\n  lists:\n  - name: a\n    values: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    let names = ["b", "c", "d", "e", "f", "g", "h", "i", "j"];
    let mut prev = "a";
    for n in names {
        text.push_str(&format!(
            "  - name: {n}\n    values: &{n} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
        prev = n;
    }
    let report = quick_with_diagnostic("billion laughs", text);
    assert!(
        report.diagnostics.iter().any(|d| d.code.as_str() == "Y004"),
        "{:#?}",
        report.diagnostics
    );
}

#[test]
fn deeply_nested_flow_sequences_are_stopped() {
    let text = "[".repeat(100_000);
    quick_with_diagnostic("100k `[`", text);
    let text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    quick_with_diagnostic("100k `[]`", text);
    let text = format!("a: {}", "{a: ".repeat(100_000));
    quick_with_diagnostic("100k `{a: `", text);
}

#[test]
fn deeply_nested_block_collections_are_stopped() {
    let mut text = String::new();
    for i in 0..2_000 {
        text.push_str(&" ".repeat(i));
        text.push_str("k:\n");
    }
    quick_with_diagnostic("2000 nested mappings", text);
    let text = "- ".repeat(20_000);
    quick_with_diagnostic("20000 nested block sequences", text);
}

#[test]
fn the_mutations_do_something() {
    let base = &corpus()[0];
    let ms = [
        Mutation::DeleteLine(1),
        Mutation::DuplicateLine(1),
        Mutation::SwapLines(0, 3),
        Mutation::Reindent(2, 3),
        Mutation::Reindent(7, -2),
        Mutation::TabIndent(4),
        Mutation::InsertToken(10, 0),
        Mutation::InsertChar(3, '🦀'),
        Mutation::DeleteBytes(5, 4),
        Mutation::Truncate(50),
    ];
    for m in &ms {
        let out = apply(base, m);
        assert_ne!(&out, base, "{m:?} changed nothing");
        check_and_verify(out);
    }
    // Truncation through a multi-byte character is lossy, not a panic.
    let out = apply("a: é", &Mutation::Truncate(4));
    assert_eq!(out, "a: \u{fffd}");
}
