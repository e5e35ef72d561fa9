//! The human format, drawn by miette: the message, the source lines with the span underlined,
//! and the help line; a summary line closes the output.
//!
//! Linear in the size of the output: miette asks its source for the lines around each span,
//! and a plain `str` answers by scanning from the start of the file (quadratic in diagnostics ×
//! file size). [`Excerpts`] answers the same question from the file's line index, reading only
//! the lines it returns, with what miette's own scan returns: the output is the same byte for
//! byte, except that the column in an excerpt's header counts characters (as the other
//! formats do) where miette's scan counts bytes. What miette draws per diagnostic is bounded
//! too: a line longer than [`MAX_LINE`] is shown as a window around the span, and a span over
//! many lines or bytes is underlined on its first line.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::Mutex;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};

use super::Summary;
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::{Positions, SourceFile};
use crate::FileReport;

/// Options of the text format.
#[derive(Clone, Copy, Debug, Default)]
pub struct TextOptions {
    /// Use colours (only when writing to a terminal).
    pub color: bool,
}

/// Lines longer than this (bytes) are shown as a window around the span, not whole: the output
/// of each diagnostic stays small whatever the file holds (a 4 MiB one-line flow mapping).
const MAX_LINE: usize = 1024;
/// Bytes shown on each side of a span in a window.
const WINDOW: usize = 120;
/// A span longer than this (bytes), or over more lines than [`MAX_LABEL_LINES`], is underlined
/// on its first line only, for at most this many bytes.
const MAX_LABEL_BYTES: usize = 1024;
/// See [`MAX_LABEL_BYTES`].
const MAX_LABEL_LINES: usize = 8;
/// Most lines one excerpt shows: miette joins the excerpts of labels whose lines touch, and a
/// longer join is refused (the labels are then drawn apart).
const MAX_EXCERPT_LINES: usize = 48;

/// One file's text as miette reads it, with the file's line index.
struct Excerpts<'a> {
    file: &'a SourceFile,
    /// The text shown: the file's, with each lone `\r` written as `\n` (same length, same
    /// offsets). A lone `\r` ends a line for saphyr and for the line index, and miette's scan
    /// counts it as a line end too, but miette prints it inside the line it does not end.
    text: Cow<'a, [u8]>,
    /// Columns of the excerpt headers, counted in characters as every other format counts
    /// them (miette's scan counts bytes), asked in the order of the diagnostics.
    columns: Mutex<Positions<'a>>,
}

impl<'a> Excerpts<'a> {
    fn new(file: &'a SourceFile) -> Excerpts<'a> {
        let bytes = file.text().as_bytes();
        let lone_cr = |i: usize| bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n');
        let text = if (0..bytes.len()).any(lone_cr) {
            Cow::Owned(
                (0..bytes.len())
                    .map(|i| if lone_cr(i) { b'\n' } else { bytes[i] })
                    .collect(),
            )
        } else {
            Cow::Borrowed(bytes)
        };
        Excerpts {
            file,
            text,
            columns: Mutex::new(file.positions()),
        }
    }

    /// The column of an offset in characters from 0.
    fn char_column(&self, offset: usize) -> usize {
        match self.columns.lock() {
            Ok(mut cursor) => cursor.position(offset).column - 1,
            Err(_) => self.file.position(offset).column - 1,
        }
    }

    fn floor_char(&self, mut i: usize) -> usize {
        let t = self.file.text();
        i = i.min(t.len());
        while !t.is_char_boundary(i) {
            i -= 1;
        }
        i
    }

    fn ceil_char(&self, mut i: usize) -> usize {
        let t = self.file.text();
        i = i.min(t.len());
        while !t.is_char_boundary(i) {
            i += 1;
        }
        i
    }

    /// The span a label underlines: the span itself, or for a long one its start (first line,
    /// at most [`MAX_LABEL_BYTES`]).
    fn label(&self, start: usize, end: usize) -> SourceSpan {
        let f = self.file;
        let first = f.line_of(start);
        let lines = f.line_of(end).saturating_sub(first);
        if end.saturating_sub(start) <= MAX_LABEL_BYTES && lines < MAX_LABEL_LINES {
            return SourceSpan::from(start..end);
        }
        let cut = end
            .min(f.line_end(first))
            .min(start.saturating_add(MAX_LABEL_BYTES));
        SourceSpan::from(start..self.floor_char(cut).max(start))
    }

    /// A window on long lines: the span and up to [`WINDOW`] bytes either side on its lines.
    /// Miette draws it like a whole excerpt; the window's first line starts where it starts.
    fn window<'b>(
        &'b self,
        start: usize,
        end: usize,
        context_lines_before: usize,
    ) -> Box<dyn SpanContents<'b> + 'b> {
        let f = self.file;
        let line = f.line_of(start);
        let (from, to) = if context_lines_before == 0 {
            (start, end)
        } else {
            let from = self.floor_char(start.saturating_sub(WINDOW).max(f.line_start(line)));
            let to = self.ceil_char(end.saturating_add(WINDOW).min(f.line_end(f.line_of(end))));
            (from, to.max(end))
        };
        Box::new(MietteSpanContents::new_named(
            f.name().to_string(),
            &self.text[from..to],
            (from, to - from).into(),
            line,
            if context_lines_before == 0 {
                self.char_column(start)
            } else {
                0
            },
            f.line_of(to),
        ))
    }
}

impl SourceCode for Excerpts<'_> {
    /// What miette's `SourceCode for [u8]` returns (`source_impls.rs`, `context_info`, miette
    /// 7.6), computed from the line index: the scan starts at the first context line instead
    /// of at the start of the file. Its state there is known: every line break before the
    /// span's line is "before the span", so the scan's line counters equal the line number and
    /// the queue of context line starts fills from there. (Only an empty span at a line start
    /// with no context before needs the break before it, which the scan then starts on.) The
    /// column, which miette reads only for the header, is counted in characters.
    ///
    /// Excerpts with a line longer than [`MAX_LINE`] are windows instead
    /// ([`Excerpts::window`]); one over more than [`MAX_EXCERPT_LINES`] lines is refused.
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let input: &[u8] = &self.text;
        let f = self.file;
        let (s, len) = (span.offset(), span.len());
        // (miette's own scan panics on these.)
        if s > input.len() || s.checked_add(len).is_none_or(|e| e > input.len() + 1) {
            return Err(MietteError::OutOfBounds);
        }
        // Line breaks strictly before the span's first byte.
        let breaks_before = f.line_of(s);
        let first = breaks_before.saturating_sub(context_lines_before);
        let last = f.line_of(s + len) + context_lines_after + 1;
        if last - first > MAX_EXCERPT_LINES {
            return Err(MietteError::OutOfBounds);
        }
        let long = (first..=last.min(f.line_count() - 1))
            .any(|l| f.line_end(l) - f.line_start(l) > MAX_LINE);
        if long {
            if len > MAX_LABEL_BYTES {
                return Err(MietteError::OutOfBounds);
            }
            return Ok(self.window(s, (s + len).min(input.len()), context_lines_before));
        }
        let mut offset = f.line_start(first);
        let mut line_count = first;
        let mut start_line = first;
        if context_lines_before == 0 && len == 0 && first > 0 && offset == s {
            // The full scan meets the span on the line break before it: start there.
            offset -= 1;
            line_count -= 1;
            start_line -= 1;
        }
        let mut before_lines_starts = VecDeque::new();
        let mut current_line_start = offset;
        let mut end_lines = 0usize;
        let mut post_span = false;
        let mut post_span_got_newline = false;
        let mut iter = input[offset..].iter().copied().peekable();
        while let Some(char) = iter.next() {
            if matches!(char, b'\r' | b'\n') {
                line_count += 1;
                if char == b'\r' && iter.next_if_eq(&b'\n').is_some() {
                    offset += 1;
                }
                if offset < s {
                    before_lines_starts.push_back(current_line_start);
                    if before_lines_starts.len() > context_lines_before {
                        start_line += 1;
                        before_lines_starts.pop_front();
                    }
                } else if offset >= s + len.saturating_sub(1) && post_span {
                    if post_span_got_newline {
                        end_lines += 1;
                    } else {
                        post_span_got_newline = true;
                    }
                    if end_lines >= context_lines_after {
                        offset += 1;
                        break;
                    }
                }
                current_line_start = offset + 1;
            }
            if offset >= (s + len).saturating_sub(1) {
                post_span = true;
                if end_lines >= context_lines_after {
                    offset += 1;
                    break;
                }
            }
            offset += 1;
        }
        if offset < (s + len).saturating_sub(1) || offset > input.len() {
            return Err(MietteError::OutOfBounds);
        }
        let starting_offset = before_lines_starts
            .front()
            .copied()
            .unwrap_or(if context_lines_before == 0 { s } else { 0 });
        if starting_offset > offset {
            return Err(MietteError::OutOfBounds);
        }
        Ok(Box::new(MietteSpanContents::new_named(
            f.name().to_string(),
            &input[starting_offset..offset],
            (starting_offset, offset - starting_offset).into(),
            start_line,
            if context_lines_before == 0 {
                self.char_column(s)
            } else {
                0
            },
            line_count,
        )))
    }
}

struct Shown<'a, 'f> {
    d: &'a Diagnostic,
    /// Where labels are cut to size.
    excerpts: &'a Excerpts<'f>,
    /// Where miette reads the excerpts.
    source: &'a dyn SourceCode,
}

impl std::fmt::Debug for Shown<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.d.fmt(f)
    }
}

impl std::fmt::Display for Shown<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.d.message)
    }
}

impl std::error::Error for Shown<'_, '_> {}

impl miette::Diagnostic for Shown<'_, '_> {
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
        Some(self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = |s: crate::Span| self.excerpts.label(s.start, s.end);
        let mut labels = vec![LabeledSpan::new_primary_with_span(None, span(self.d.span))];
        for r in &self.d.related {
            labels.push(LabeledSpan::new_with_span(
                Some(r.message.clone()),
                span(r.span),
            ));
        }
        Some(Box::new(labels.into_iter()))
    }
}

fn handler(options: &TextOptions) -> GraphicalReportHandler {
    let theme = if options.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false)
}

/// Draw one diagnostic, its excerpts read from `source`.
fn draw(
    handler: &GraphicalReportHandler,
    out: &mut String,
    d: &Diagnostic,
    excerpts: &Excerpts<'_>,
    source: &dyn SourceCode,
) {
    let _ = handler.render_report(
        out,
        &Shown {
            d,
            excerpts,
            source,
        },
    );
    out.push('\n');
}

/// Files shown in full for one kernel's missing feature (the same K030 finding): past these,
/// its other files are named on one line, [`Gathered`].
const K030_SHOWN_FILES: usize = 3;

/// The K030 findings that are the same (one kernel lacks one feature a hook section needs:
/// same message, severity and kernels) in more than [`K030_SHOWN_FILES`] files: the first
/// files' are drawn in full, the others counted and named on one line after the findings.
/// Only the text format gathers them; every other format keeps one finding per place.
struct Gathered<'a> {
    /// Each gathered finding, and the names of its files in the order of the output.
    groups: Vec<(Same<'a>, Vec<&'a str>)>,
}

/// What makes two K030 findings the same: severity, message and kernels.
type Same<'a> = (Severity, &'a str, &'a [String]);

impl<'a> Gathered<'a> {
    fn of(reports: &'a [FileReport]) -> Gathered<'a> {
        let mut groups: Vec<(Same<'a>, Vec<&'a str>)> = Vec::new();
        for r in reports {
            for d in r.diagnostics.iter().filter(|d| d.code == crate::Code::K030) {
                let key = (d.severity, d.message.as_str(), &d.kernels[..]);
                let name = r.source.name();
                match groups.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, files)) => {
                        if files.last() != Some(&name) {
                            files.push(name);
                        }
                    }
                    None => groups.push((key, vec![name])),
                }
            }
        }
        groups.retain(|(_, files)| files.len() > K030_SHOWN_FILES);
        Gathered { groups }
    }

    /// The group `d` of file `name` belongs to, if it is gathered and the file is not one
    /// of the first shown in full.
    fn hides(&self, name: &str, d: &Diagnostic) -> Option<usize> {
        if d.code != crate::Code::K030 {
            return None;
        }
        let key = (d.severity, d.message.as_str(), &d.kernels[..]);
        let i = self.groups.iter().position(|(k, _)| *k == key)?;
        let files = &self.groups[i].1;
        (!files[..K030_SHOWN_FILES].contains(&name)).then_some(i)
    }
}

pub(super) fn write(
    reports: &[FileReport],
    options: &TextOptions,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let handler = handler(options);
    let gathered = Gathered::of(reports);
    // Per gathered group: the findings not drawn, and their places.
    let mut hidden: Vec<(usize, Vec<String>)> = vec![(0, Vec::new()); gathered.groups.len()];
    let mut buf = String::new();
    for r in reports {
        if r.diagnostics.is_empty() {
            continue;
        }
        let excerpts = Excerpts::new(&r.source);
        for d in &r.diagnostics {
            if let Some(g) = gathered.hides(r.source.name(), d) {
                let p = r.source.position(d.span.start);
                hidden[g].0 += 1;
                hidden[g]
                    .1
                    .push(format!("{}:{}:{}", r.source.name(), p.line, p.column));
                continue;
            }
            buf.clear();
            draw(&handler, &mut buf, d, &excerpts, &excerpts);
            out.write_all(buf.as_bytes())?;
        }
    }
    buf.clear();
    for (((severity, message, kernels), files), (count, places)) in
        gathered.groups.iter().zip(&hidden)
    {
        let more = files.len() - K030_SHOWN_FILES;
        let what = match severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "finding",
        };
        let files = format!("{more} more file{}", if more == 1 { "" } else { "s" });
        let findings = if *count == more {
            format!("the same {what} in {files}")
        } else {
            format!("the same {what} {count} more times, in {files}")
        };
        // A finding on several kernels names them in its message already.
        let on = if kernels.is_empty() || kernels.iter().any(|k| message.contains(k.as_str())) {
            String::new()
        } else {
            format!(", on {}", kernels.join(", "))
        };
        let _ = writeln!(
            buf,
            "K030: {findings}{on}: {message}\n  {}\n",
            places.join("\n  ")
        );
    }
    let s = Summary::of(reports);
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let _ = writeln!(
        buf,
        "{}, {} in {} ({})",
        plural(s.errors, "error"),
        plural(s.warnings, "warning"),
        plural(s.policies, "policy").replace("policys", "policies"),
        plural(s.files, "file")
    );
    kernel_table(reports, &mut buf);
    out.write_all(buf.as_bytes())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{check_source, check_source_with};
    use miette::NamedSource;
    use std::path::{Path, PathBuf};

    /// The text of every diagnostic as miette drew it from the plain text (its own scan from
    /// the start of the file), then from the line index; the columns of the headers, which
    /// miette counts in bytes and the index in characters, are left out of both and compared
    /// with the positions every other format gives.
    fn both(report: &FileReport) -> (String, String) {
        let handler = handler(&TextOptions { color: false });
        let plain = NamedSource::new(report.source.name(), report.source.text().to_string());
        let indexed = Excerpts::new(&report.source);
        let (mut a, mut b) = (String::new(), String::new());
        for d in &report.diagnostics {
            draw(&handler, &mut a, d, &indexed, &plain);
            let at = b.len();
            draw(&handler, &mut b, d, &indexed, &indexed);
            let p = report.source.position(d.span.start);
            let header = format!("[{}:{}:{}]", report.source.name(), p.line, p.column);
            if d.span.start <= report.source.text().len() {
                assert!(b[at..].contains(&header), "{header} in\n{}", &b[at..]);
            }
        }
        (without_columns(&a), without_columns(&b))
    }

    /// The text with the column of each `[file:line:column]` header removed.
    fn without_columns(text: &str) -> String {
        text.lines()
            .map(|l| match (l.find("─["), l.rfind(':')) {
                (Some(open), Some(colon)) if l.ends_with(']') && colon > open => {
                    format!("{}]", &l[..colon])
                }
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                yaml_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                out.push(p);
            }
        }
    }

    /// Every fixture's diagnostics draw the same from the line index as from miette's scan,
    /// and so do contexts at the edges: empty spans at line starts and ends, spans over line
    /// breaks, `\r\n`, the first and last lines, a text without a final line break, spans
    /// past the end.
    #[test]
    fn excerpts_draw_what_miettes_scan_draws() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata");
        let mut files = Vec::new();
        yaml_files(&root, &mut files);
        assert!(files.len() > 100, "{} fixtures", files.len());
        let btf = root.join("btf/6.12.117+deb12-amd64.btf.zst");
        let kernel = crate::kernel::Kernel::load(&crate::kernel::KernelSpec {
            btf,
            ..Default::default()
        })
        .map(std::sync::Arc::new)
        .unwrap();
        let mut drawn = 0;
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            let name = f.display().to_string();
            for report in [
                check_source(SourceFile::new(name.as_str(), text.as_str())),
                check_source_with(
                    SourceFile::new(name.as_str(), text.as_str()),
                    std::slice::from_ref(&kernel),
                ),
            ] {
                let (a, b) = both(&report);
                assert_eq!(a, b, "{name}");
                drawn += report.diagnostics.len();
            }
        }
        assert!(drawn > 300, "{drawn} diagnostics drawn");
        // Every span of short texts, with every line ending.
        let texts = [
            "a: 1\nb: [x, y]\nc: {d: é}\n\n\ne: 日本\n",
            "a: 1\r\nb: 2\r\n\r\nc: 3",
            "\n\nx\n\n",
            "x",
            "",
        ];
        for text in texts {
            let file = SourceFile::new("t.yaml", text);
            for start in 0..=text.len() {
                for end in start..=text.len() {
                    if !(text.is_char_boundary(start.min(text.len()))
                        && text.is_char_boundary(end.min(text.len())))
                    {
                        continue;
                    }
                    let d = Diagnostic::new(crate::Code::Y001, crate::Span::new(start, end), "m")
                        .related(crate::Span::new(start / 2, start / 2), "r");
                    let report = FileReport {
                        source: file.clone(),
                        policies: Vec::new(),
                        other_documents: 0,
                        diagnostics: vec![d],
                        kernels: Vec::new(),
                    };
                    let (a, b) = both(&report);
                    assert_eq!(a, b, "{text:?} {start}..{end}");
                }
            }
        }
        // Past the end (no check makes such a span): no panic, where miette's scan has one.
        let file = SourceFile::new("t.yaml", "a: 1\n");
        for (start, end) in [(5, 9), (6, 6), (9, 12), (0, 40)] {
            let report = FileReport {
                source: file.clone(),
                policies: Vec::new(),
                other_documents: 0,
                diagnostics: vec![Diagnostic::new(
                    crate::Code::Y001,
                    crate::Span::new(start, end),
                    "m",
                )],
                kernels: Vec::new(),
            };
            let mut out = Vec::new();
            write(&[report], &TextOptions::default(), &mut out).unwrap();
        }
    }
}
