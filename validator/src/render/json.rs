//! The JSON format: a documented contract (see the README). Lines and columns are 1-based,
//! columns count characters, and `end_line`/`end_column` point just past the span.

use serde::Serialize;

use super::{write_json, Ranges, Streamed, Summary};
use crate::FileReport;

#[derive(Serialize)]
struct Diag<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    severity: &'static str,
    code: &'static str,
    message: &'a str,
    help: Option<&'a str>,
    kernels: &'a [String],
}

#[derive(Serialize)]
struct PerKernel<'a> {
    kernel: &'a str,
    errors: usize,
    warnings: usize,
}

#[derive(Serialize)]
struct Policy<'a> {
    file: &'a str,
    name: Option<&'a str>,
    errors: usize,
    warnings: usize,
    kernels: Vec<PerKernel<'a>>,
}

#[derive(Serialize)]
struct Output<'a, D, P> {
    diagnostics: D,
    policies: P,
    kernels: &'a [String],
    summary: Summary,
}

pub(super) fn write(reports: &[FileReport], out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let diagnostics = || {
        reports.iter().flat_map(|r| {
            let mut ranges = Ranges::new(r);
            r.diagnostics.iter().map(move |d| {
                let (start, end) = ranges.of(d);
                Diag {
                    file: r.source.name(),
                    line: start.line,
                    column: start.column,
                    end_line: end.line,
                    end_column: end.column,
                    severity: d.severity.as_str(),
                    code: d.code.as_str(),
                    message: &d.message,
                    help: d.help.as_deref(),
                    kernels: &d.kernels,
                }
            })
        })
    };
    let policies = || {
        reports.iter().flat_map(|r| {
            r.policies.iter().map(move |p| Policy {
                file: r.source.name(),
                name: p.policy.name.as_ref().map(|n| n.value.as_str()),
                errors: p.errors,
                warnings: p.warnings,
                kernels: r
                    .kernels
                    .iter()
                    .zip(&p.per_kernel)
                    .map(|(k, &(errors, warnings))| PerKernel {
                        kernel: k,
                        errors,
                        warnings,
                    })
                    .collect(),
            })
        })
    };
    let output = Output {
        diagnostics: Streamed(diagnostics),
        policies: Streamed(policies),
        kernels: reports.first().map_or(&[][..], |r| &r.kernels[..]),
        summary: Summary::of(reports),
    };
    write_json(&output, out)
}
