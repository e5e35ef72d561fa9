//! Output formats for a set of checked files: `text` (miette), `json`, `github` and `sarif`.
//! Every renderer reads the same [`FileReport`]s; none of them decides anything.

mod github;
mod json;
mod sarif;
mod text;

use crate::diagnostic::{Diagnostic, Severity};
use crate::source::Position;
use crate::FileReport;

pub use text::TextOptions;

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Human-readable, with source excerpts.
    Text,
    /// One JSON object: `{"diagnostics": [...], "summary": {...}}`.
    Json,
    /// GitHub Actions workflow commands (`::error file=...::message`).
    Github,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
}

/// Counts over all files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Files read.
    pub files: usize,
    /// Policy documents found.
    pub policies: usize,
    /// Error diagnostics.
    pub errors: usize,
    /// Warning diagnostics.
    pub warnings: usize,
    /// Info diagnostics.
    pub infos: usize,
}

impl Summary {
    /// Count the reports.
    pub fn of(reports: &[FileReport]) -> Summary {
        let mut s = Summary {
            files: reports.len(),
            ..Summary::default()
        };
        for r in reports {
            s.policies += r.policies.len();
            s.errors += r.count(Severity::Error);
            s.warnings += r.count(Severity::Warning);
            s.infos += r.count(Severity::Info);
        }
        s
    }
}

/// Render `reports` in `format`.
pub fn render(reports: &[FileReport], format: Format, text: &TextOptions) -> String {
    match format {
        Format::Text => text::render(reports, text),
        Format::Json => json::render(reports),
        Format::Github => github::render(reports),
        Format::Sarif => sarif::render(reports),
    }
}

/// Start and end positions of a diagnostic (end is exclusive; an empty span ends where it starts).
pub fn range(report: &FileReport, d: &Diagnostic) -> (Position, Position) {
    (
        report.source.position(d.span.start),
        report.source.position(d.span.end),
    )
}
