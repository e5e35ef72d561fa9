//! Which findings are reported: inline suppressions (`# policyctl: ignore[P041]` on the line
//! of a finding or on its own line above it, `# policyctl: ignore-file[P041, K021]` anywhere in
//! a file) and the project's code selection ([`Selection`]: `select`, `ignore`, per-code
//! severity). Both are applied in one place, [`crate::check_source_configured`], so the CLI, the
//! language server and the runtime see the same result.
//!
//! Comments are read from the source text: the YAML reader drops them. A `#` starts a comment
//! where YAML says it does (at the start of a line or after a blank) and only outside scalars:
//! the spans of the quoted and block scalars the reader found rule out a `#` inside a string.
//!
//! A suppression that suppresses nothing (no finding of its code where it applies, or a code
//! that does not exist) is itself reported, as C001 (as ruff's RUF100 reports an unused `noqa`).

use std::collections::HashMap;

use crate::codes::{self, Code, CodeInfo};
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::{SourceFile, Span};
use crate::yaml::{self, Node, Value};

/// C001: a suppression comment that suppresses nothing.
pub const C001: CodeInfo = CodeInfo {
    code: "C001",
    name: "unused-suppression",
    severity: Severity::Warning,
    summary: "A `# policyctl: ignore[...]` comment that suppresses nothing.",
    explanation: "A suppression comment is for one finding. When the finding goes (the policy \
        was fixed, or the check changed), the comment stays and would hide the next finding of \
        that code on that line without anyone noticing. policyctl therefore reports a \
        suppression whose code matched no finding where it applies, a code that does not \
        exist, and a `# policyctl: ignore` with no code list. `# policyctl: ignore[CODE]` \
        applies to the findings on its own line, and, when it is alone on its line, to those \
        on the next line; `# policyctl: ignore-file[CODE]` applies to the whole file. A \
        suppression of a kernel code (`K...`) is judged only when the file is checked against \
        kernels, and is reported on a run whose kernels do not give that finding. The \
        language server offers a quick fix that removes the unused code or the whole comment.",
    tetragon: "not checked by Tetragon: the comments are policyctl's own; \
        pkg/tracingpolicy/k8s.go FromYAML decodes the file with sigs.k8s.io/yaml \
        UnmarshalStrict, which drops comments",
};

/// How a finding of a code is reported, as set by a [`Selection`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// As an error.
    Error,
    /// As a warning.
    Warning,
    /// As information.
    Info,
    /// Not at all.
    Off,
}

impl Level {
    /// `error`, `warning`, `info` or `off`.
    pub fn parse(text: &str) -> Option<Level> {
        match text {
            "error" => Some(Level::Error),
            "warning" => Some(Level::Warning),
            "info" => Some(Level::Info),
            "off" => Some(Level::Off),
            _ => None,
        }
    }

    /// The names [`Level::parse`] accepts.
    pub const NAMES: &'static [&'static str] = &["error", "warning", "info", "off"];
}

/// A code (`P041`) or a prefix of codes (`K`, `P03`), upper case, matching at least one code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule(String);

impl Rule {
    /// Read a code or prefix; an unknown one is an error that names the closest code.
    pub fn parse(text: &str) -> Result<Rule, String> {
        let rule = text.trim().to_ascii_uppercase();
        if rule.is_empty() {
            return Err("an empty code; write a code like P041 or a prefix like K".into());
        }
        if codes::ALL.iter().any(|c| c.as_str().starts_with(&rule)) {
            return Ok(Rule(rule));
        }
        let names: Vec<&str> = codes::ALL.iter().map(|c| c.as_str()).collect();
        let hint = crate::suggest::did_you_mean(&rule, &names)
            .map_or_else(String::new, |c| format!("; did you mean `{c}`?"));
        Err(format!(
            "`{}` is neither a code nor the prefix of one (`policyctl explain --all` lists them){hint}",
            text.trim()
        ))
    }

    /// Read a comma-separated list of codes and prefixes (`P041,K`).
    pub fn parse_list(text: &str) -> Result<Vec<Rule>, String> {
        text.split(',')
            .filter(|s| !s.trim().is_empty())
            .map(Rule::parse)
            .collect()
    }

    /// The code or prefix as written, in upper case.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn matches(&self, code: Code) -> bool {
        code.as_str().starts_with(&self.0)
    }
}

/// Which codes are reported and how: ruff's `select` / `ignore`, plus a severity per code.
/// Between `select` and `ignore`, the longest rule that matches a code decides (`select = ["P"]`
/// with `ignore = ["P04"]` leaves out P041; `select = ["P041"]` with `ignore = ["P"]` keeps it);
/// with no `select`, every code is selected. A severity set for a longer rule wins likewise.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// The codes reported (`None`: all).
    pub select: Option<Vec<Rule>>,
    /// The codes left out.
    pub ignore: Vec<Rule>,
    /// Severity overrides, by code or prefix.
    pub severity: Vec<(Rule, Level)>,
}

impl Selection {
    /// How a finding of `code` with `severity` is reported (`None`: not at all).
    pub fn level(&self, code: Code, severity: Severity) -> Option<Severity> {
        let longest = |rules: &mut dyn Iterator<Item = &Rule>| {
            rules.filter(|r| r.matches(code)).map(|r| r.0.len()).max()
        };
        let selected = match &self.select {
            None => Some(0),
            Some(rules) => longest(&mut rules.iter()),
        };
        let ignored = longest(&mut self.ignore.iter());
        match (selected, ignored) {
            (None, _) => return None,
            (Some(s), Some(i)) if i >= s => return None,
            _ => {}
        }
        let set = self
            .severity
            .iter()
            .filter(|(r, _)| r.matches(code))
            .max_by_key(|(r, _)| r.0.len())
            .map(|(_, l)| *l);
        match set {
            None => Some(severity),
            Some(Level::Off) => None,
            Some(Level::Error) => Some(Severity::Error),
            Some(Level::Warning) => Some(Severity::Warning),
            Some(Level::Info) => Some(Severity::Info),
        }
    }

    /// True when the selection changes nothing.
    pub fn is_default(&self) -> bool {
        *self == Selection::default()
    }
}

/// Where a suppression comment applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    /// `ignore[...]` on a 0-based line; `alone` when nothing but blanks precede it there (it
    /// then covers the next line too).
    Line { line: usize, alone: bool },
    /// `ignore-file[...]`.
    File,
}

/// One code of a suppression comment.
#[derive(Debug)]
struct Named {
    /// The code as written.
    text: String,
    /// Where it is written.
    span: Span,
    /// The code, if it is one.
    code: Option<Code>,
    /// Whether it suppressed a finding.
    used: bool,
}

/// One suppression comment.
#[derive(Debug)]
struct Directive {
    /// From the `#` to the end of the comment.
    comment: Span,
    scope: Scope,
    codes: Vec<Named>,
}

/// The suppressions of one file and the selection: what decides which findings are reported.
#[derive(Debug)]
pub struct Filter<'a> {
    directives: Vec<Directive>,
    /// Indexes of the line directives, by 0-based line.
    by_line: HashMap<usize, Vec<usize>>,
    /// Indexes of the file directives.
    file_wide: Vec<usize>,
    /// Directives that name no code (`# policyctl: ignore`), reported as they are.
    malformed: Vec<Diagnostic>,
    selection: &'a Selection,
}

impl<'a> Filter<'a> {
    /// Read the suppression comments of `source` (whose YAML `documents` tell where scalars
    /// are), to apply with `selection`.
    pub fn new(
        source: &SourceFile,
        documents: &[yaml::Document],
        selection: &'a Selection,
    ) -> Filter<'a> {
        let mut strings = Strings::default();
        for doc in documents {
            if let Some(root) = &doc.root {
                strings.collect(source.text(), root);
            }
        }
        strings.quoted.sort_unstable_by_key(|s| s.start);
        let mut filter = Filter {
            directives: Vec::new(),
            by_line: HashMap::new(),
            file_wide: Vec::new(),
            malformed: Vec::new(),
            selection,
        };
        for (comment, line, alone) in comments(source, &strings) {
            filter.read(source.text(), comment, line, alone);
        }
        filter
    }

    /// Read one comment's directive, if it holds one.
    fn read(&mut self, text: &str, comment: Span, line: usize, alone: bool) {
        let body = &text[comment.start..comment.end];
        let Some(at) = body.find("policyctl:") else {
            return;
        };
        let after = &body[at + "policyctl:".len()..];
        let rest = after.trim_start();
        if !rest.starts_with("ignore") {
            return;
        }
        let (scope, rest) = match rest.strip_prefix("ignore-file") {
            Some(r) => (Scope::File, r),
            None => (Scope::Line { line, alone }, &rest["ignore".len()..]),
        };
        let open = comment.start + at + "policyctl:".len() + (after.len() - rest.len());
        let inner = rest
            .trim_start()
            .strip_prefix('[')
            .and_then(|r| r.find(']').map(|end| (r, end)));
        let Some((list, end)) = inner else {
            let what = if scope == Scope::File {
                "ignore-file"
            } else {
                "ignore"
            };
            self.malformed.push(
                Diagnostic::new(
                    Code::C001,
                    Span::new(comment.start, comment.end),
                    format!("`# policyctl: {what}` names no code, so it suppresses nothing"),
                )
                .help(format!(
                    "name the codes in brackets, as `# policyctl: {what}[P041]`, or remove the comment"
                )),
            );
            return;
        };
        let list_start = open + (rest.len() - rest.trim_start().len()) + 1;
        let mut codes = Vec::new();
        let mut offset = 0;
        for part in list[..end].split(',') {
            let lead = part.len() - part.trim_start().len();
            let word = part.trim();
            if !word.is_empty() {
                let start = list_start + offset + lead;
                codes.push(Named {
                    text: word.to_string(),
                    span: Span::new(start, start + word.len()),
                    code: Code::parse(word),
                    used: false,
                });
            }
            offset += part.len() + 1;
        }
        if codes.is_empty() {
            self.malformed.push(
                Diagnostic::new(
                    Code::C001,
                    comment,
                    "this suppression names no code, so it suppresses nothing",
                )
                .help("name the codes in the brackets, as `[P041]`, or remove the comment"),
            );
            return;
        }
        let index = self.directives.len();
        match scope {
            Scope::File => self.file_wide.push(index),
            Scope::Line { line, .. } => self.by_line.entry(line).or_default().push(index),
        }
        self.directives.push(Directive {
            comment,
            scope,
            codes,
        });
    }

    /// Whether a finding is suppressed by a comment (marking the comment used).
    fn suppressed(&mut self, source: &SourceFile, d: &Diagnostic) -> bool {
        let line = source.line_of(d.span.start);
        let mut hit = false;
        let Filter {
            directives,
            by_line,
            file_wide,
            ..
        } = self;
        let above = line.checked_sub(1).and_then(|l| by_line.get(&l));
        let here = by_line.get(&line);
        let candidates = file_wide
            .iter()
            .chain(here.into_iter().flatten())
            .chain(above.into_iter().flatten());
        for &i in candidates {
            let dir = &mut directives[i];
            let applies = match dir.scope {
                Scope::File => true,
                Scope::Line { line: l, alone } => l == line || (alone && l + 1 == line),
            };
            if !applies {
                continue;
            }
            for named in &mut dir.codes {
                if named.code == Some(d.code) {
                    named.used = true;
                    hit = true;
                }
            }
        }
        hit
    }

    /// Apply the suppressions and the selection to `diagnostics[from..]`: suppressed and
    /// deselected findings go, severities are set. Applying it twice changes nothing more.
    pub fn apply(&mut self, source: &SourceFile, diagnostics: &mut Vec<Diagnostic>, from: usize) {
        if self.directives.is_empty() && self.selection.is_default() {
            return;
        }
        let mut tail = diagnostics.split_off(from.min(diagnostics.len()));
        tail.retain_mut(|d| {
            if self.suppressed(source, d) {
                return false;
            }
            match self.selection.level(d.code, d.severity) {
                None => false,
                Some(sev) => {
                    d.severity = sev;
                    true
                }
            }
        });
        diagnostics.append(&mut tail);
    }

    /// The C001 findings: every suppression that suppressed nothing, once every finding has
    /// gone through [`Filter::apply`]. A C001 goes through the selection and the file's
    /// `ignore-file[C001]` like any finding.
    ///
    /// Without kernels (`with_kernels` false) no kernel finding can occur, so a suppression of a
    /// `K` code is not judged: the same file is checked with and without kernels.
    pub fn unused(mut self, source: &SourceFile, with_kernels: bool) -> Vec<Diagnostic> {
        let mut out = std::mem::take(&mut self.malformed);
        let judged = |n: &&Named| {
            !n.used && (with_kernels || !n.code.is_some_and(|c| c.as_str().starts_with('K')))
        };
        for dir in &self.directives {
            let unused: Vec<&Named> = dir.codes.iter().filter(judged).collect();
            if unused.is_empty() {
                continue;
            }
            let where_ = match dir.scope {
                Scope::File => "in this file",
                Scope::Line { alone: true, .. } => "on this line or the next",
                Scope::Line { alone: false, .. } => "on this line",
            };
            if unused.len() == dir.codes.len() {
                let names: Vec<String> = unused.iter().map(|n| format!("`{}`", n.text)).collect();
                let unknown: Vec<&str> = unused
                    .iter()
                    .filter(|n| n.code.is_none())
                    .map(|n| n.text.as_str())
                    .collect();
                let message = if unknown.len() == unused.len() {
                    format!(
                        "this suppression suppresses nothing: {} {} not a code",
                        names.join(", "),
                        if unknown.len() == 1 { "is" } else { "are" }
                    )
                } else {
                    format!(
                        "this suppression suppresses nothing: no {} finding {where_}",
                        names.join(" or ")
                    )
                };
                let help = if unknown.is_empty() {
                    "remove the comment: the finding it was written for is gone"
                } else {
                    "remove the comment, or name a code there (`policyctl explain --all` lists them)"
                };
                out.push(Diagnostic::new(Code::C001, dir.comment, message).help(help));
            } else {
                for n in unused {
                    let message = match n.code {
                        None => format!("`{}` is not a code, so it suppresses nothing", n.text),
                        Some(_) => format!(
                            "`{}` suppresses nothing: no {} finding {where_}",
                            n.text, n.text
                        ),
                    };
                    out.push(
                        Diagnostic::new(Code::C001, n.span, message)
                            .help(format!("remove `{}` from the list", n.text)),
                    );
                }
            }
        }
        let mut filter = self;
        filter.apply(source, &mut out, 0);
        out
    }
}

/// Where `#` is text, not a comment: quoted scalars (from the opening to the closing quote) and
/// block scalars (their lines indented deeper than the line of their `|` or `>`).
#[derive(Default)]
struct Strings {
    /// Quoted scalars, sorted by start.
    quoted: Vec<Span>,
    /// Block scalars: the span, and the indentation of the line of their indicator.
    blocks: Vec<(Span, usize)>,
}

impl Strings {
    /// Collect the scalars under `node`.
    fn collect(&mut self, text: &str, node: &Node) {
        match &node.value {
            Value::Str { plain: false, .. } => {
                let s = node.span;
                match text.as_bytes().get(s.start) {
                    Some(&q @ (b'"' | b'\'')) => self.quoted.push(Span::new(
                        s.start,
                        closing_quote(text, s.start, q).unwrap_or(s.end),
                    )),
                    Some(b'|' | b'>') => {
                        let line_start = text[..s.start].rfind('\n').map_or(0, |i| i + 1);
                        self.blocks.push((s, indent(&text[line_start..])));
                    }
                    // A tagged or aliased string: its whole span.
                    _ => self.quoted.push(s),
                }
            }
            Value::Seq(items) => items.iter().for_each(|n| self.collect(text, n)),
            Value::Map(entries) => {
                for e in entries {
                    self.collect(text, &e.key);
                    self.collect(text, &e.value);
                }
            }
            _ => {}
        }
    }

    /// Whether the `#` at `at` (on a line starting at `line_start`) is inside a string.
    fn inside(&self, text: &str, line_start: usize, at: usize) -> bool {
        let i = self.quoted.partition_point(|s| s.start <= at);
        if self.quoted[..i].iter().rev().take(8).any(|s| at < s.end) {
            return true;
        }
        self.blocks.iter().any(|&(s, header_indent)| {
            s.start <= at
                && at < s.end
                && line_start > s.start
                && indent(&text[line_start..]) > header_indent
        })
    }
}

/// The number of blanks that start `line`.
fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// The end (past the closing quote) of the quoted scalar opening at `start` with `quote`.
fn closing_quote(text: &str, start: usize, quote: u8) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b if b == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Every comment of the text that may hold a directive: its span (from `#` to the end of the
/// line), its 0-based line, and whether it is alone on its line.
fn comments(source: &SourceFile, strings: &Strings) -> Vec<(Span, usize, bool)> {
    let text = source.text();
    let mut out = Vec::new();
    for line in 0..source.line_count() {
        let (start, end) = (source.line_start(line), source.line_end(line));
        let Some(body) = text.get(start..end) else {
            continue;
        };
        if !body.contains("policyctl:") {
            continue;
        }
        let bytes = body.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            if b != b'#' || (i > 0 && !matches!(bytes[i - 1], b' ' | b'\t')) {
                continue;
            }
            if strings.inside(text, start, start + i) {
                continue;
            }
            let alone = body[..i].trim().is_empty();
            out.push((Span::new(start + i, end), line, alone));
            break;
        }
    }
    out
}

/// The text to delete to remove what a C001 finding at `span` points at: one code of a list
/// (with its comma), or the whole comment (with the blanks before it, or its whole line when it
/// is alone there). For the language server's quick fix.
pub fn removal(text: &str, span: Span) -> Option<Span> {
    let word = text.get(span.start..span.end)?;
    if word.starts_with('#') {
        let line_start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
        let before = &text[line_start..span.start];
        if before.trim().is_empty() {
            // The whole line, with its line break.
            let end = text[span.end..]
                .find('\n')
                .map_or(text.len(), |i| span.end + i + 1);
            return Some(Span::new(line_start, end));
        }
        let blanks = before.len() - before.trim_end().len();
        return Some(Span::new(span.start - blanks, span.end));
    }
    // One code in `[A, B]`: with the comma and blanks after it, or before it when it is last.
    let after = &text[span.end..];
    let trail = after.len() - after.trim_start_matches([' ', '\t']).len();
    if after[trail..].starts_with(',') {
        let rest = &after[trail + 1..];
        let blanks = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        return Some(Span::new(span.start, span.end + trail + 1 + blanks));
    }
    let before = &text[..span.start];
    let lead = before.len() - before.trim_end_matches([' ', '\t']).len();
    if before[..before.len() - lead].ends_with(',') {
        return Some(Span::new(span.start - lead - 1, span.end));
    }
    Some(span)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check_source;

    fn codes_of(text: &str) -> Vec<(String, usize)> {
        let r = check_source(SourceFile::new("t.yaml", text));
        r.diagnostics
            .iter()
            .map(|d| (d.code.to_string(), r.source.line_of(d.span.start) + 1))
            .collect()
    }

    const POLICY: &str = "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: x
spec:
  kprobes:
  - call: fd_install
    syscall: false
    selectors:
    - matchActions:
      - action: Sigkill
        argSig: 19
";

    #[test]
    fn a_policy_without_comments_has_its_finding() {
        let got = codes_of(POLICY);
        assert!(got.iter().any(|(c, _)| c == "P041"), "{got:?}");
    }

    #[test]
    fn same_line_line_above_and_file() {
        let same = POLICY.replace("argSig: 19", "argSig: 19 # policyctl: ignore[P041]");
        assert!(!codes_of(&same)
            .iter()
            .any(|(c, _)| c == "P041" || c == "C001"));
        let above = POLICY.replace(
            "        argSig: 19",
            "        # policyctl: ignore[P041]\n        argSig: 19",
        );
        assert!(!codes_of(&above)
            .iter()
            .any(|(c, _)| c == "P041" || c == "C001"));
        let file = format!("# policyctl: ignore-file[ P041 ,P002]\n{POLICY}");
        let got = codes_of(&file);
        assert!(!got.iter().any(|(c, _)| c == "P041"), "{got:?}");
        // P002 suppressed nothing: reported at its code.
        assert_eq!(
            got.iter().filter(|(c, _)| c == "C001").count(),
            1,
            "{got:?}"
        );
    }

    #[test]
    fn a_trailing_comment_does_not_cover_the_next_line() {
        let text = POLICY.replace(
            "      - action: Sigkill",
            "      - action: Sigkill # policyctl: ignore[P041]",
        );
        let got = codes_of(&text);
        assert!(got.iter().any(|(c, _)| c == "P041"), "{got:?}");
        assert!(got.iter().any(|(c, l)| c == "C001" && *l == 11), "{got:?}");
    }

    #[test]
    fn unknown_and_unused_codes_are_reported() {
        let text = POLICY.replace(
            "argSig: 19",
            "argSig: 19 # policyctl: ignore[P041, X999, P002]",
        );
        let r = check_source(SourceFile::new("t.yaml", text.clone()));
        let c: Vec<&Diagnostic> = r
            .diagnostics
            .iter()
            .filter(|d| d.code == Code::C001)
            .collect();
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(r.source.slice(c[0].span), "X999");
        assert!(c[0].message.contains("not a code"), "{}", c[0].message);
        assert_eq!(r.source.slice(c[1].span), "P002");
        // Removing both leaves `[P041]`.
        let mut fixed = text.clone();
        for d in c.iter().rev() {
            let s = removal(&fixed, d.span).unwrap();
            fixed.replace_range(s.start..s.end, "");
        }
        assert!(fixed.contains("# policyctl: ignore[P041]\n"), "{fixed}");
        // A comment that suppresses nothing at all is reported whole; removing it removes it.
        let text = format!("{POLICY}# policyctl: ignore[P001]\n");
        let r = check_source(SourceFile::new("t.yaml", text.clone()));
        let d = r.diagnostics.iter().find(|d| d.code == Code::C001).unwrap();
        assert_eq!(r.source.slice(d.span), "# policyctl: ignore[P001]");
        let s = removal(&text, d.span).unwrap();
        let mut fixed = text.clone();
        fixed.replace_range(s.start..s.end, "");
        assert_eq!(fixed, POLICY);
    }

    #[test]
    fn a_hash_inside_a_string_is_not_a_comment() {
        for quoted in [
            "\"a # policyctl: ignore[P041]\"",
            "'a # policyctl: ignore[P041]'",
            "|\n      a # policyctl: ignore[P041]",
        ] {
            let text = POLICY.replace(
                "name: x",
                &format!("name: x\n  annotations:\n    note: {quoted}"),
            );
            let got = codes_of(&text);
            assert!(got.iter().any(|(c, _)| c == "P041"), "{quoted}: {got:?}");
            assert!(!got.iter().any(|(c, _)| c == "C001"), "{quoted}: {got:?}");
        }
        // After a quoted scalar, and after a block scalar, a comment is a comment.
        let text = POLICY.replace("name: x", "name: \"x\" # policyctl: ignore[P002]");
        assert!(codes_of(&text).iter().any(|(c, l)| c == "C001" && *l == 4));
        let text = POLICY.replace(
            "name: x",
            "name: x\n  annotations:\n    note: |\n      text\n  # policyctl: ignore[P002]",
        );
        assert!(codes_of(&text).iter().any(|(c, l)| c == "C001" && *l == 8));
        // Not after a blank: part of a plain scalar.
        let text = POLICY.replace("name: x", "name: x#policyctl: ignore[P041]");
        assert!(!codes_of(&text).iter().any(|(c, _)| c == "C001"));
    }

    #[test]
    fn kernel_codes_are_not_judged_without_kernels() {
        let text = POLICY.replace("argSig: 19", "argSig: 19 # policyctl: ignore[P041, K001]");
        assert!(!codes_of(&text).iter().any(|(c, _)| c == "C001"));
    }

    #[test]
    fn a_directive_without_codes_is_reported() {
        let text = format!("{POLICY}# policyctl: ignore\n");
        let got = codes_of(&text);
        assert!(got.iter().any(|(c, l)| c == "C001" && *l == 13), "{got:?}");
        // Other comments that mention policyctl are not directives.
        let text = format!("{POLICY}# policyctl: checked in CI\n");
        assert!(!codes_of(&text).iter().any(|(c, _)| c == "C001"));
    }

    #[test]
    fn rules_and_selection() {
        assert!(Rule::parse("p04").is_ok());
        let e = Rule::parse("P9").unwrap_err();
        assert!(e.contains("neither a code"), "{e}");
        let e = Rule::parse("PO41").unwrap_err();
        assert!(e.contains("did you mean `P041`?"), "{e}");
        let sel = Selection {
            select: Some(Rule::parse_list("P").unwrap()),
            ignore: Rule::parse_list("P04").unwrap(),
            severity: vec![
                (Rule::parse("K").unwrap(), Level::Off),
                (Rule::parse("P001").unwrap(), Level::Info),
            ],
        };
        assert_eq!(sel.level(Code::P041, Severity::Warning), None);
        assert_eq!(sel.level(Code::S001, Severity::Error), None);
        assert_eq!(sel.level(Code::P001, Severity::Error), Some(Severity::Info));
        assert_eq!(
            sel.level(Code::P021, Severity::Error),
            Some(Severity::Error)
        );
        let sel = Selection {
            select: Some(Rule::parse_list("P041").unwrap()),
            ignore: Rule::parse_list("P").unwrap(),
            severity: vec![(Rule::parse("P041").unwrap(), Level::Error)],
        };
        assert_eq!(
            sel.level(Code::P041, Severity::Warning),
            Some(Severity::Error)
        );
        assert_eq!(sel.level(Code::P042, Severity::Warning), None);
        let k = Selection {
            severity: vec![(Rule::parse("K").unwrap(), Level::Off)],
            ..Selection::default()
        };
        assert_eq!(k.level(Code::K021, Severity::Warning), None);
    }
}
