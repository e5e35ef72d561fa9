//! policyctl's engine: parse TracingPolicy YAML with exact spans, build the typed model, and
//! check it against the CRD's schema and Tetragon's load-time semantics.
//!
//! The one entry point for every client (the CLI, the language server, the runtime) is
//! [`check_source`]: text in, [`FileReport`] out (policies and diagnostics as plain data). The
//! stages run in one fixed order: YAML → document kind → schema → CEL rules → model → semantic
//! checks. Nothing here does I/O or knows about terminals or LSP.

pub mod btf;
pub mod celexpr;
pub mod checks;
pub mod codes;
pub mod config;
pub mod diagnostic;
pub mod explain;
pub mod facts;
pub mod golang;
pub mod kernel;
pub mod model;
pub mod render;
pub mod schema;
pub mod source;
pub mod suggest;
pub mod suppress;
pub mod yaml;

pub use codes::Code;
pub use diagnostic::{Diagnostic, Severity};
pub use model::{Kind, Policy};
pub use source::{Position, SourceFile, Span};
pub use suppress::Selection;

use std::sync::Arc;

use checks::document::{self, Classified};
use kernel::Kernel;

/// One policy found in a file, with its model.
#[derive(Clone, Debug)]
pub struct CheckedPolicy {
    /// The model.
    pub policy: Policy,
    /// Errors in this policy (on any kernel).
    pub errors: usize,
    /// Warnings in this policy (on any kernel).
    pub warnings: usize,
    /// (errors, warnings) on each kernel checked, in the order of [`FileReport::kernels`].
    pub per_kernel: Vec<(usize, usize)>,
}

/// Everything `check_source` learned about one file.
#[derive(Clone, Debug)]
pub struct FileReport {
    /// The file.
    pub source: SourceFile,
    /// Every TracingPolicy document, in order.
    pub policies: Vec<CheckedPolicy>,
    /// Documents that are some other kind of object.
    pub other_documents: usize,
    /// Every diagnostic, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
    /// The kernels the file was checked against, by name.
    pub kernels: Vec<String>,
}

/// A policy the validator accepted: its file was checked, against every kernel given, without
/// one error. Only the validator makes these, and the runtime takes nothing else.
#[derive(Clone, Copy, Debug)]
pub struct Accepted<'a> {
    policy: &'a Policy,
    source: &'a SourceFile,
}

impl<'a> Accepted<'a> {
    /// The policy's model.
    pub fn policy(&self) -> &'a Policy {
        self.policy
    }

    /// The file it came from.
    pub fn source(&self) -> &'a SourceFile {
        self.source
    }
}

impl FileReport {
    /// The file's policies, when the file has no error at all (in a policy or around one);
    /// otherwise the number of errors.
    pub fn accepted(&self) -> Result<Vec<Accepted<'_>>, usize> {
        self.accepted_allowing(|_| false)
    }

    /// As [`FileReport::accepted`], with errors for which `allow` returns true not counted:
    /// for a consumer that serves a case Tetragon cannot (the runtime attaches a syscall hook
    /// to the raw syscall tracepoint on a kernel without kprobes).
    pub fn accepted_allowing(
        &self,
        allow: impl Fn(&Diagnostic) -> bool,
    ) -> Result<Vec<Accepted<'_>>, usize> {
        let errors = self
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error && !allow(d))
            .count();
        match errors {
            0 => Ok(self
                .policies
                .iter()
                .map(|p| Accepted {
                    policy: &p.policy,
                    source: &self.source,
                })
                .collect()),
            errors => Err(errors),
        }
    }

    /// The first YAML error of a file that is no policy: it holds no policy document, nothing in
    /// its text reads like one ([`document::looks_like_policy`]), and every finding is a YAML
    /// error (`Y`; not Y006, a file too large to read whole). Such a file is some other YAML
    /// (a Helm template, a broken CI file) that Tetragon is never handed: its loader refuses
    /// every kind but the two policy kinds (`FromYAML` in `pkg/tracingpolicy/k8s.go`: `unknown
    /// CRD kind`). The CLI reports it as a warning, not as errors of a policy.
    pub fn not_a_policy(&self) -> Option<&Diagnostic> {
        let yaml_only = self
            .diagnostics
            .iter()
            .all(|d| d.code.as_str().starts_with('Y') && d.code != Code::Y006);
        if !self.policies.is_empty()
            || !yaml_only
            || document::looks_like_policy(self.source.text())
        {
            return None;
        }
        self.diagnostics.first()
    }

    /// Number of diagnostics of a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }
}

/// Check every document of one file, without kernel facts.
pub fn check_source(source: SourceFile) -> FileReport {
    check_source_with(source, &[])
}

/// Check every document of one file, and against each kernel given. A diagnostic that depends
/// on the kernel names the kernels it holds for ([`Diagnostic::kernels`]). The file's own
/// suppression comments apply ([`suppress`]); every code is selected at its default severity.
pub fn check_source_with(source: SourceFile, kernels: &[Arc<Kernel>]) -> FileReport {
    check_source_configured(source, kernels, &Selection::default())
}

/// As [`check_source_with`], reporting the codes `selection` selects at the severities it sets
/// (a project's `policyctl.toml`, `--select`, `--ignore`). This is the one place where
/// suppressions and the selection are applied: every count and every client sees the result.
pub fn check_source_configured(
    source: SourceFile,
    kernels: &[Arc<Kernel>],
    selection: &Selection,
) -> FileReport {
    let parsed = yaml::parse(&source);
    let mut filter = suppress::Filter::new(&source, &parsed.documents, selection);
    let mut diagnostics = parsed.diagnostics;
    helm_template_help(&source, &mut diagnostics);
    let mut policies = Vec::new();
    let mut other_documents = 0;
    for doc in &parsed.documents {
        let Some(root) = &doc.root else { continue };
        // An empty document (only `---`, only comments, or `null`) is nothing, as kubectl
        // treats it: a trailing `---` (Kubernetes and Helm style) is not a finding.
        if root.is_null() {
            continue;
        }
        let before = diagnostics.len();
        if root.as_map().is_none() {
            if !doc.truncated {
                diagnostics.push(
                    Diagnostic::new(
                        Code::Y007,
                        root.span,
                        format!("this document is {} `{}`, not a mapping with apiVersion, kind, metadata and spec", a_type(root), schema::short(root)),
                    )
                    .help("a policy starts with `apiVersion: cilium.io/v1alpha1` on its own line"),
                );
            }
            continue;
        }
        let kind = match document::classify(root, &mut diagnostics) {
            Classified::Policy(kind) => kind,
            Classified::Other => {
                other_documents += 1;
                continue;
            }
        };
        let mut out = Vec::new();
        schema::check_object(root, &schema::table::POLICY, source.text(), &mut out);
        document::check_metadata(root, kind, &mut out);
        let policy = Policy::from_node(root, kind);
        schema::refine::refine(&policy, &mut out);
        checks::cel::check(root, &policy, &mut out);
        checks::run(&policy, &mut out);
        checks::kernel::run_all(&policy, kernels, &mut out);
        checks::tracepoint_pairs::check(&policy, kernels, &mut out);
        checks::host::check(&policy, kernels, &mut out);
        // One finding per mistake: a null action parameter that P040 explains ("Signal needs
        // argSig", an error there too) is not reported again as a bare null (S016).
        let explained: Vec<Span> = out
            .iter()
            .filter(|d| d.code == Code::P040)
            .map(|d| d.span)
            .collect();
        out.retain(|d| d.code != Code::S016 || !explained.contains(&d.span));
        // A truncated document is checked for what it holds before the syntax error, not for
        // what it is missing nor for the half-read node at the error.
        if doc.truncated {
            let cut = diagnostics[..before]
                .iter()
                .filter(|d| {
                    matches!(d.code, Code::Y001 | Code::Y003) && d.span.start >= doc.span.start
                })
                .map(|d| d.span.start)
                .min()
                .map_or(doc.span.end, |at| {
                    let line = source.position(at).line;
                    source.offset_of(line.saturating_sub(2).max(1), 0)
                });
            // Checks for something missing cannot tell "missing" from "after the error".
            let absence = |c: Code| {
                matches!(
                    c,
                    Code::S002
                        | Code::S010
                        | Code::S011
                        | Code::P002
                        | Code::P020
                        | Code::P024
                        | Code::P060
                )
            };
            out.retain(|d| !absence(d.code) && d.span.end <= cut);
        }
        // What is reported: the document's kind findings and its checks' findings.
        filter.apply(&source, &mut diagnostics, before);
        filter.apply(&source, &mut out, 0);
        let per_kernel = kernels
            .iter()
            .map(|k| {
                let on = |sev: Severity| {
                    out.iter()
                        .filter(|d| {
                            d.severity == sev
                                && (d.kernels.is_empty() || d.kernels.iter().any(|n| *n == k.name))
                        })
                        .count()
                };
                (on(Severity::Error), on(Severity::Warning))
            })
            .collect();
        diagnostics.append(&mut out);
        let mine = &diagnostics[before..];
        policies.push(CheckedPolicy {
            per_kernel,
            errors: mine
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .count(),
            warnings: mine
                .iter()
                .filter(|d| d.severity == Severity::Warning)
                .count(),
            policy,
        });
    }
    // Findings outside any policy (YAML errors, other documents), then the suppressions that
    // suppressed nothing.
    filter.apply(&source, &mut diagnostics, 0);
    diagnostics.extend(filter.unused(&source, !kernels.is_empty()));
    diagnostics.sort_by_key(|d| (d.span.start, d.code));
    diagnostics.dedup_by(|a, b| a.code == b.code && a.span == b.span && a.message == b.message);
    FileReport {
        source,
        policies,
        other_documents,
        diagnostics,
        kernels: kernels.iter().map(|k| k.name.clone()).collect(),
    }
}

/// A YAML syntax error on a line of Helm template syntax (`{{- if ... }}`, `{{ .Values.x }}`):
/// the file is a chart's template, which only `helm template` turns into YAML; the help says
/// so instead of "fix the YAML syntax".
fn helm_template_help(source: &SourceFile, diagnostics: &mut [Diagnostic]) {
    for d in diagnostics.iter_mut().filter(|d| d.code == Code::Y001) {
        let line = source.position(d.span.start).line;
        let start = source.offset_of(line, 0);
        let text = source.text().get(start..).unwrap_or_default();
        let text = text.lines().next().unwrap_or_default();
        if text.contains("{{") && text.contains("}}") {
            d.help = Some(
                "this line is Helm template syntax: render the chart first and check what Helm prints (`helm template RELEASE CHART | policyctl check -`)"
                    .into(),
            );
        }
    }
}

fn a_type(node: &yaml::Node) -> &'static str {
    match node.value {
        yaml::Value::Seq(_) => "a list",
        yaml::Value::Str { .. } => "the string",
        _ => "the value",
    }
}
