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
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
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
        let end = self
            .starts
            .get(pos.line as usize + 1)
            .map_or(text.len(), |&e| e.saturating_sub(1).max(start));
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
}
