//! The human format, drawn by miette: the message, the source lines with the span underlined,
//! and the help line; a summary line closes the output.

use std::fmt::Write as _;
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};

use super::Summary;
use crate::diagnostic::{Diagnostic, Severity};
use crate::FileReport;

/// Options of the text format.
#[derive(Clone, Copy, Debug, Default)]
pub struct TextOptions {
    /// Use colours (only when writing to a terminal).
    pub color: bool,
}

#[derive(Debug)]
struct Shown<'a> {
    d: &'a Diagnostic,
    source: NamedSource<Arc<str>>,
}

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.d.message)
    }
}

impl std::error::Error for Shown<'_> {}

impl miette::Diagnostic for Shown<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        Some(Box::new(self.d.code.as_str()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.d
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            None,
            SourceSpan::from(self.d.span.start..self.d.span.end),
        )];
        for r in &self.d.related {
            labels.push(LabeledSpan::new_with_span(
                Some(r.message.clone()),
                SourceSpan::from(r.span.start..r.span.end),
            ));
        }
        Some(Box::new(labels.into_iter()))
    }
}

pub(super) fn render(reports: &[FileReport], options: &TextOptions) -> String {
    let theme = if options.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let mut out = String::new();
    for r in reports {
        if r.diagnostics.is_empty() {
            continue;
        }
        // One shared copy of the text per file; each diagnostic clones the handle, not the text.
        let source = NamedSource::new(r.source.name(), Arc::<str>::from(r.source.text()));
        for d in &r.diagnostics {
            let shown = Shown {
                d,
                source: source.clone(),
            };
            let _ = handler.render_report(&mut out, &shown);
            out.push('\n');
        }
    }
    let s = Summary::of(reports);
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let _ = writeln!(
        out,
        "{}, {} in {} ({})",
        plural(s.errors, "error"),
        plural(s.warnings, "warning"),
        plural(s.policies, "policy").replace("policys", "policies"),
        plural(s.files, "file")
    );
    kernel_table(reports, &mut out);
    out
}

/// With more than one kernel: a table of policies × kernels (clean, warnings, errors).
fn kernel_table(reports: &[FileReport], out: &mut String) {
    let kernels = reports.first().map_or(&[][..], |r| &r.kernels[..]);
    if kernels.len() < 2 {
        return;
    }
    let rows: Vec<(String, Vec<String>)> = reports
        .iter()
        .flat_map(|r| {
            r.policies.iter().map(move |p| {
                let name = p
                    .policy
                    .name
                    .as_ref()
                    .map_or("(unnamed)", |n| n.value.as_str());
                let cells = p
                    .per_kernel
                    .iter()
                    .map(|&(e, w)| match (e, w) {
                        (0, 0) => "clean".to_string(),
                        (0, w) => format!("{w} warning{}", if w == 1 { "" } else { "s" }),
                        (e, _) => format!("{e} error{}", if e == 1 { "" } else { "s" }),
                    })
                    .collect();
                (format!("{} ({name})", r.source.name()), cells)
            })
        })
        .collect();
    let first = rows
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(0)
        .max(6);
    let widths: Vec<usize> = kernels
        .iter()
        .enumerate()
        .map(|(i, k)| {
            rows.iter()
                .map(|(_, c)| c.get(i).map_or(0, String::len))
                .max()
                .unwrap_or(0)
                .max(k.chars().count())
        })
        .collect();
    let line = |first_cell: &str, cells: &[String]| {
        let mut l = format!("{first_cell:first$}");
        for (c, w) in cells.iter().zip(&widths) {
            let _ = write!(l, "  {c:w$}");
        }
        l.trim_end().to_string()
    };
    let _ = writeln!(out, "\n{}", line("policy", kernels));
    for (name, cells) in &rows {
        let _ = writeln!(out, "{}", line(name, cells));
    }
}
