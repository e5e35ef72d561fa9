//! Byte offsets (the validator) ↔ LSP positions (line, UTF-16 code unit).

use policyctl_validator::Span;
use tower_lsp_server::ls_types::{Position, Range};

/// Where each line of a text starts, for converting positions.
#[derive(Clone, Debug)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Index a text.
    pub fn new(text: &str) -> LineIndex {
        // LSP's line ends: `\n`, `\r\n` and a lone `\r`.
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                starts.push(i + 1);
            }
        }
        LineIndex { starts }
    }

    /// The LSP position of a byte offset (clamped to the text).
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let offset = floor_char(text, offset.min(text.len()));
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let character: usize = text[start..offset].chars().map(char::len_utf16).sum();
        Position::new(line as u32, character as u32)
    }

    /// The byte offset of an LSP position; positions past the end of a line or the text clamp to
    /// it, and a position inside a surrogate pair goes to the character's start.
    pub fn offset(&self, text: &str, pos: Position) -> usize {
        let Some(&start) = self.starts.get(pos.line as usize) else {
            return text.len();
        };
        // The line's end, before its terminator (`\n`, `\r\n` or `\r`).
        let end = match self.starts.get(pos.line as usize + 1) {
            Some(&next) => {
                let e = next - 1;
                if text.as_bytes()[e] == b'\n' && e > start && text.as_bytes()[e - 1] == b'\r' {
                    e - 1
                } else {
                    e
                }
            }
            None => text.len(),
        };
        let mut units = 0usize;
        for (i, c) in text[start..end].char_indices() {
            if units + c.len_utf16() > pos.character as usize {
                return start + i;
            }
            units += c.len_utf16();
        }
        end
    }

    /// The LSP range of a span.
    pub fn range(&self, text: &str, span: Span) -> Range {
        Range::new(
            self.position(text, span.start),
            self.position(text, span.end),
        )
    }
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_round_trip() {
        let text = "a: é\nb: 😀x\n\nlast";
        let idx = LineIndex::new(text);
        for (offset, _) in text.char_indices().chain([(text.len(), ' ')]) {
            let p = idx.position(text, offset);
            assert_eq!(idx.offset(text, p), offset, "{offset} {p:?}");
        }
        assert_eq!(
            idx.position(text, text.find('x').unwrap()),
            Position::new(1, 5)
        );
        // Past the end of a line or of the text.
        assert_eq!(idx.offset(text, Position::new(0, 99)), 5);
        assert_eq!(idx.offset(text, Position::new(99, 0)), text.len());
        // Inside the surrogate pair of 😀.
        assert_eq!(
            idx.offset(text, Position::new(1, 4)),
            text.find('😀').unwrap()
        );
    }

    #[test]
    fn crlf_and_lone_cr_end_lines() {
        let text = "a: 1\r\nb: 2\rc: 3";
        let idx = LineIndex::new(text);
        assert_eq!(idx.position(text, 6), Position::new(1, 0));
        assert_eq!(idx.position(text, 11), Position::new(2, 0));
        // A CRLF line ends before its `\r`; a lone `\r` line before the `\r`.
        assert_eq!(idx.offset(text, Position::new(0, 99)), 4);
        assert_eq!(idx.offset(text, Position::new(1, 99)), 10);
        for offset in 0..=text.len() {
            let p = idx.position(text, offset);
            assert!(idx.offset(text, p) <= offset);
        }
    }
}
