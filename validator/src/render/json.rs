//! The JSON format: a documented contract (see the README). Lines and columns are 1-based,
//! columns count characters, and `end_line`/`end_column` point just past the span.

use serde_json::json;

use super::{range, Summary};
use crate::FileReport;

pub(super) fn render(reports: &[FileReport]) -> String {
    let mut diagnostics = Vec::new();
    for r in reports {
        for d in &r.diagnostics {
            let (start, end) = range(r, d);
            diagnostics.push(json!({
                "file": r.source.name(),
                "line": start.line,
                "column": start.column,
                "end_line": end.line,
                "end_column": end.column,
                "severity": d.severity.as_str(),
                "code": d.code.as_str(),
                "message": d.message,
                "help": d.help,
                "kernels": d.kernels,
            }));
        }
    }
    let kernels = reports.first().map_or(&[][..], |r| &r.kernels[..]);
    let mut policies = Vec::new();
    for r in reports {
        for p in &r.policies {
            let per_kernel: Vec<_> = r
                .kernels
                .iter()
                .zip(&p.per_kernel)
                .map(|(k, (errors, warnings))| {
                    json!({"kernel": k, "errors": errors, "warnings": warnings})
                })
                .collect();
            policies.push(json!({
                "file": r.source.name(),
                "name": p.policy.name.as_ref().map(|n| n.value.as_str()),
                "errors": p.errors,
                "warnings": p.warnings,
                "kernels": per_kernel,
            }));
        }
    }
    let out = json!({
        "diagnostics": diagnostics,
        "policies": policies,
        "kernels": kernels,
        "summary": Summary::of(reports),
    });
    let mut s = serde_json::to_string_pretty(&out).unwrap_or_default();
    s.push('\n');
    s
}
