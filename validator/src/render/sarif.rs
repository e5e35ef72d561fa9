//! SARIF 2.1.0 for code scanning: one run, every code as a rule with its explanation.

use serde_json::{json, Value};

use super::range;
use crate::codes::ALL;
use crate::diagnostic::Severity;
use crate::FileReport;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

pub(super) fn render(reports: &[FileReport]) -> String {
    let rules: Vec<Value> = ALL
        .iter()
        .map(|c| {
            let info = c.info();
            json!({
                "id": info.code,
                "name": info.name,
                "shortDescription": {"text": info.summary},
                "fullDescription": {"text": info.explanation},
                "help": {"text": format!("Run `policyctl explain {}` for examples.", info.code)},
                "defaultConfiguration": {"level": level(info.severity)},
            })
        })
        .collect();
    let mut results = Vec::new();
    for r in reports {
        for d in &r.diagnostics {
            let (start, end) = range(r, d);
            let mut text = d.message.clone();
            if let Some(help) = &d.help {
                text.push_str(" Help: ");
                text.push_str(help);
            }
            results.push(json!({
                "ruleId": d.code.as_str(),
                "ruleIndex": ALL.iter().position(|c| *c == d.code).unwrap_or(0),
                "level": level(d.severity),
                "message": {"text": text},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": r.source.name().trim_start_matches("./")},
                        "region": {
                            "startLine": start.line,
                            "startColumn": start.column,
                            "endLine": end.line,
                            "endColumn": end.column,
                        }
                    }
                }],
            }));
        }
    }
    let sarif = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "policyctl",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/policyctl/policyctl",
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    });
    let mut s = serde_json::to_string_pretty(&sarif).unwrap_or_default();
    s.push('\n');
    s
}
