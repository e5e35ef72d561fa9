//! Output formats for a set of checked files: `text` (miette), `json`, `github` and `sarif`.
//! Every renderer reads the same [`FileReport`]s; none of them decides anything.
//!
//! [`write`] streams the output a diagnostic at a time, so memory does not grow with it (a
//! 4 MiB file can have 200,000 diagnostics and 150 MB of SARIF); [`render`] collects the same
//! bytes into a string. Every renderer is linear in the size of its output.

mod github;
mod json;
mod sarif;
mod text;

use crate::diagnostic::{Diagnostic, Severity};
use crate::source::{Position, Positions};
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
    let mut out = Vec::new();
    // Writing to memory fails only when memory does.
    let _ = write(reports, format, text, &mut out);
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Write `reports` in `format` to `out`, as [`render`] would return it, a piece at a time.
/// Give it a buffered writer.
pub fn write(
    reports: &[FileReport],
    format: Format,
    text: &TextOptions,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match format {
        Format::Text => text::write(reports, text, out),
        Format::Json => json::write(reports, out),
        Format::Github => github::write(reports, out),
        Format::Sarif => sarif::write(reports, out),
    }
}

/// A sequence serialized from an iterator as it is walked, without collecting it first.
struct Streamed<F>(F);

impl<F, I> serde::Serialize for Streamed<F>
where
    F: Fn() -> I,
    I: Iterator,
    I::Item: serde::Serialize,
{
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((self.0)())
    }
}

/// Pretty JSON of `value` and a final newline, written to `out` as it is produced.
fn write_json(value: &impl serde::Serialize, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    out.write_all(b"\n")
}

/// Start and end positions of a diagnostic (end is exclusive; an empty span ends where it starts).
pub fn range(report: &FileReport, d: &Diagnostic) -> (Position, Position) {
    (
        report.source.position(d.span.start),
        report.source.position(d.span.end),
    )
}

/// [`range`] for the diagnostics of one file in order, in time linear in the file: the
/// diagnostics are sorted by start, and each end is near its start.
struct Ranges<'a> {
    starts: Positions<'a>,
    ends: Positions<'a>,
}

impl<'a> Ranges<'a> {
    fn new(report: &'a FileReport) -> Ranges<'a> {
        Ranges {
            starts: report.source.positions(),
            ends: report.source.positions(),
        }
    }

    fn of(&mut self, d: &Diagnostic) -> (Position, Position) {
        (
            self.starts.position(d.span.start),
            self.ends.position(d.span.end),
        )
    }
}
