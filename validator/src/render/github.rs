//! GitHub Actions workflow commands: each diagnostic becomes an annotation on the pull request.

use std::io::Write;

use super::Ranges;
use crate::diagnostic::Severity;
use crate::FileReport;

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub(super) fn write(reports: &[FileReport], out: &mut dyn Write) -> std::io::Result<()> {
    for r in reports {
        let mut ranges = Ranges::new(r);
        for d in &r.diagnostics {
            let (start, end) = ranges.of(d);
            let level = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "notice",
            };
            let mut message = d.message.clone();
            if let Some(help) = &d.help {
                message.push_str("\nhelp: ");
                message.push_str(help);
            }
            writeln!(
                out,
                "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}",
                escape_property(r.source.name()),
                start.line,
                start.column,
                end.line,
                end.column
                    .max(start.column + usize::from(end.line == start.line)),
                escape_property(&format!("{} {}", d.code, d.code.info().name)),
                escape_data(&message)
            )?;
        }
    }
    Ok(())
}
