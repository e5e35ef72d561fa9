//! SARIF 2.1.0 for code scanning: one run, every code as a rule with its explanation.

use serde::Serialize;
use serde_json::{json, Value};

use super::{write_json, Ranges, Streamed};
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

pub(super) fn write(reports: &[FileReport], out: &mut dyn std::io::Write) -> std::io::Result<()> {
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
    // Each result is made when the serializer reaches it.
    let results = || {
        reports.iter().flat_map(|r| {
            let mut ranges = Ranges::new(r);
            r.diagnostics.iter().map(move |d| {
                let (start, end) = ranges.of(d);
                let mut text = d.message.clone();
                if let Some(help) = &d.help {
                    text.push_str(" Help: ");
                    text.push_str(help);
                }
                SarifResult {
                    rule_id: d.code.as_str(),
                    rule_index: ALL.iter().position(|c| *c == d.code).unwrap_or(0),
                    level: level(d.severity),
                    message: Message { text },
                    locations: [Location {
                        physical_location: PhysicalLocation {
                            artifact_location: ArtifactLocation {
                                uri: r.source.name().trim_start_matches("./"),
                            },
                            region: Region {
                                start_line: start.line,
                                start_column: start.column,
                                end_line: end.line,
                                end_column: end.column,
                            },
                        },
                    }],
                }
            })
        })
    };
    let log = Log {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: [Run {
            tool: json!({"driver": {
                "name": "policyctl",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/policyctl/policyctl",
                "rules": rules,
            }}),
            column_kind: "unicodeCodePoints",
            results: Streamed(results),
        }],
    };
    write_json(&log, out)
}

/// A SARIF log of one run.
#[derive(Serialize)]
struct Log<R> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<R>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<R> {
    tool: Value,
    column_kind: &'static str,
    results: R,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: Message,
    locations: [Location<'a>; 1],
}

#[derive(Serialize)]
struct Message {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    physical_location: PhysicalLocation<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation<'a> {
    artifact_location: ArtifactLocation<'a>,
    region: Region,
}

#[derive(Serialize)]
struct ArtifactLocation<'a> {
    uri: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
    end_line: usize,
    end_column: usize,
}
