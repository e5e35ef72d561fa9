//! Diagnostics are data: a stable code, a severity, a primary span, a message and a help line.
//!
//! Checks build them; renderers (CLI) and the language server only read them.

use crate::codes::Code;
use crate::source::Span;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Tetragon rejects the policy, or it cannot do what it says.
    Error,
    /// It loads, but probably not as meant.
    Warning,
    /// Worth knowing; nothing is wrong.
    Info,
}

impl Severity {
    /// The lowercase name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// A secondary location that helps explain a diagnostic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Related {
    /// Where.
    pub span: Span,
    /// What is there.
    pub message: String,
}

/// One finding about one place in a policy file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The stable code; its registry entry gives the default severity and the long explanation.
    pub code: Code,
    /// Severity (the code's default unless a check has a reason to differ).
    pub severity: Severity,
    /// The node that is wrong.
    pub span: Span,
    /// What is wrong, in one sentence.
    pub message: String,
    /// How to fix it, in one sentence.
    pub help: Option<String>,
    /// Other places that explain this one.
    pub related: Vec<Related>,
    /// The kernels this holds for, by name; empty when it holds whatever the kernel.
    pub kernels: Vec<String>,
}

impl Diagnostic {
    /// A diagnostic with the code's default severity.
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.info().severity,
            span,
            message: message.into(),
            help: None,
            related: Vec::new(),
            kernels: Vec::new(),
        }
    }

    /// Adds the help line.
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Adds a related location.
    pub fn related(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.related.push(Related {
            span,
            message: message.into(),
        });
        self
    }

    /// Overrides the severity.
    pub fn severity(mut self, severity: Severity) -> Diagnostic {
        self.severity = severity;
        self
    }
}
