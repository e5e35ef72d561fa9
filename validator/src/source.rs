//! Source text with a line index: byte offsets to 1-based lines and character columns.
//!
//! Every span in policyctl is a byte range into one [`SourceFile`]. Lines and columns are only
//! computed when a diagnostic is rendered, so checks never deal with them.
//!
//! Lines end where YAML says they do: at `\n`, `\r\n` or a lone `\r` (YAML 1.2 §5.4, what
//! saphyr counts, and what LSP counts), so the line and column saphyr reports for a position and
//! the ones rendered here agree on any line ending.

/// A byte range `start..end` into a source text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Span {
    /// First byte (inclusive).
    pub start: usize,
    /// Last byte (exclusive).
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` (bytes).
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start,
            end: end.max(start),
        }
    }

    /// The smallest span covering both.
    pub fn join(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// Length in bytes.
    pub fn len(self) -> usize {
        self.end - self.start
    }

    /// True when the span covers no byte.
    pub fn is_empty(self) -> bool {
        self.end == self.start
    }
}

/// A 1-based line and a 1-based column counted in characters (Unicode scalar values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

/// One file's text, its display name and its line starts.
#[derive(Clone, Debug)]
pub struct SourceFile {
    name: String,
    text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// Index `text` under the display name `name` (a path, or `-` for stdin).
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let bytes = text.as_bytes();
        let mut line_starts = vec![0];
        for (i, &b) in bytes.iter().enumerate() {
            // `\r\n` is one break, counted at its `\n`.
            if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                line_starts.push(i + 1);
            }
        }
        SourceFile {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// The display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text under a span (empty if the span is out of range or splits a character).
    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.start..span.end).unwrap_or("")
    }

    /// Byte offset of a 1-based line and a 0-based column in characters (as saphyr reports
    /// them), clamped to the line's end.
    pub fn offset_of(&self, line: usize, char_col: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let end = self.line_end(line.saturating_sub(1));
        let line_text = &self.text[start..end];
        if line_text.is_ascii() {
            return start + char_col.min(line_text.len());
        }
        match line_text.char_indices().nth(char_col) {
            Some((i, _)) => start + i,
            None => end,
        }
    }

    /// Byte offset of the start of a 0-based line (the text's length past the last line).
    pub fn line_start(&self, line0: usize) -> usize {
        self.line_starts
            .get(line0)
            .copied()
            .unwrap_or(self.text.len())
    }

    /// Byte offset of the end of a 0-based line, before its line break.
    pub fn line_end(&self, line0: usize) -> usize {
        match self.line_starts.get(line0 + 1) {
            Some(&next) => {
                let b = self.text.as_bytes();
                if next >= 2 && b[next - 1] == b'\n' && b[next - 2] == b'\r' {
                    next - 2
                } else {
                    next - 1
                }
            }
            None => self.text.len(),
        }
    }

    /// The 0-based line an offset is on (offsets past the end are on the last line).
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= offset) - 1
    }

    /// The position of a byte offset (clamped to the text, snapped back to a char boundary).
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_of(offset);
        let start = self.line_starts[line];
        Position {
            line: line + 1,
            column: count_chars(&self.text.as_bytes()[start..offset]) + 1,
        }
    }

    /// The text of a 1-based line, without its line break.
    pub fn line_text(&self, line: usize) -> &str {
        let line0 = line.saturating_sub(1);
        match self.line_starts.get(line0) {
            Some(&start) => &self.text[start..self.line_end(line0)],
            None => "",
        }
    }

    /// Number of lines.
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// A cursor for positions asked in (mostly) increasing order, as renderers ask them.
    pub fn positions(&self) -> Positions<'_> {
        Positions {
            file: self,
            offset: 0,
            line: 0,
            column: 0,
        }
    }
}

/// Positions of offsets, each counted on from the previous one when it is on the same line:
/// the cost is the distance between the offsets asked, not the length of the line (a 4 MiB
/// one-line document with thousands of diagnostics would otherwise be quadratic).
#[derive(Clone, Debug)]
pub struct Positions<'a> {
    file: &'a SourceFile,
    /// The last offset asked, its 0-based line, and its column in characters from 0.
    offset: usize,
    line: usize,
    column: usize,
}

impl Positions<'_> {
    /// The position of a byte offset, as [`SourceFile::position`] gives it.
    pub fn position(&mut self, offset: usize) -> Position {
        let text = self.file.text.as_bytes();
        let mut offset = offset.min(text.len());
        while !self.file.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let same_line = self.file.line_start(self.line) <= offset
            && (self.line + 1 >= self.file.line_count()
                || offset < self.file.line_start(self.line + 1));
        let line = if same_line {
            self.line
        } else {
            self.file.line_of(offset)
        };
        let start = self.file.line_start(line);
        let column = if line != self.line {
            count_chars(&text[start..offset])
        } else if offset >= self.offset {
            self.column + count_chars(&text[self.offset..offset])
        } else if self.offset - offset < offset - start {
            self.column - count_chars(&text[offset..self.offset])
        } else {
            count_chars(&text[start..offset])
        };
        self.offset = offset;
        self.line = line;
        self.column = column;
        Position {
            line: line + 1,
            column: column + 1,
        }
    }
}

/// Characters in UTF-8 bytes (that start at a character boundary): the bytes that are not
/// continuation bytes. A loop the compiler vectorises: long lines cost little.
fn count_chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b as i8) >= -0x40).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_not_bytes() {
        let f = SourceFile::new("t", "a: é\nbb: x\n");
        assert_eq!(f.position(0), Position { line: 1, column: 1 });
        let x = f.text().find('x').unwrap();
        assert_eq!(f.position(x), Position { line: 2, column: 5 });
        let e = f.text().find('é').unwrap();
        assert_eq!(f.position(e + 2), Position { line: 1, column: 5 });
        assert_eq!(f.offset_of(1, 3), e);
        assert_eq!(f.offset_of(2, 4), x);
        assert_eq!(f.offset_of(9, 0), f.text().len());
    }

    /// The cursor gives what `position` gives, in any order of offsets.
    #[test]
    fn the_cursor_agrees_with_position() {
        let text = "a: é\r\nbb: 日本 x\rc\n\nd: [é, é, é]";
        let f = SourceFile::new("t", text);
        let offsets: Vec<usize> = (0..=text.len() + 2).collect();
        let mut orders = vec![offsets.clone(), offsets.iter().rev().copied().collect()];
        orders.push(offsets.iter().map(|i| (i * 7) % (text.len() + 3)).collect());
        for order in orders {
            let mut cursor = f.positions();
            for &o in &order {
                assert_eq!(cursor.position(o), f.position(o), "offset {o}");
            }
        }
    }

    /// A lone `\r` ends a line as `\n` and `\r\n` do (saphyr and LSP count it so).
    #[test]
    fn every_yaml_line_break_ends_a_line() {
        for text in [
            "a: 1\nb: é\nc: 3\n",
            "a: 1\rb: é\rc: 3\r",
            "a: 1\r\nb: é\r\nc: 3\r\n",
            "a: 1\rb: é\r\nc: 3\n",
        ] {
            let f = SourceFile::new("t", text);
            assert_eq!(f.line_count(), 4, "{text:?}");
            let c = text.find('c').unwrap();
            assert_eq!(f.position(c), Position { line: 3, column: 1 }, "{text:?}");
            let e = text.find('é').unwrap();
            assert_eq!(f.position(e), Position { line: 2, column: 4 }, "{text:?}");
            assert_eq!(f.offset_of(3, 0), c, "{text:?}");
            assert_eq!(
                f.offset_of(2, 9),
                e + 2,
                "clamped before the break: {text:?}"
            );
            assert_eq!(f.line_text(2), "b: é", "{text:?}");
            assert_eq!(f.line_text(1), "a: 1", "{text:?}");
        }
        // A `\r\n` is one break; the offset of its `\n` is still on the line it ends.
        let f = SourceFile::new("t", "a\r\nb");
        assert_eq!(f.position(2), Position { line: 1, column: 3 });
        assert_eq!(f.position(3), Position { line: 2, column: 1 });
        assert_eq!(f.line_end(0), 1);
    }
}
