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
            }));
        }
    }
    let out = json!({"diagnostics": diagnostics, "summary": Summary::of(reports)});
    let mut s = serde_json::to_string_pretty(&out).unwrap_or_default();
    s.push('\n');
    s
}
