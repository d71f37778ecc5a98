//! A cheap lexical scan of a KDL text, run before the KDL parser: block depth and where
//! top-level nodes start.
//!
//! The `kdl` parser recurses once per `{ … }` level and has no depth limit, so a file with a few
//! hundred nested blocks overflows the stack and aborts the process. No spec needs more than a
//! handful of levels, so deeper nesting is refused with a diagnostic before `kdl` sees the text.
//!
//! The same scan finds lines where a top-level node starts, so that a large spec can be parsed
//! in chunks on several threads (see [`super::document`]).

/// The deepest block nesting accepted; real specs use at most five levels.
pub(crate) const MAX_DEPTH: usize = 64;

/// What the scan found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// The byte offset of the first `{` that opens a block deeper than [`MAX_DEPTH`], if any.
    pub(crate) too_deep: Option<usize>,
    /// Byte offsets of lines that start a top-level node: at depth 0, outside strings and
    /// comments, not continued from the line before, beginning with a node name.
    pub(crate) top_level_starts: Vec<usize>,
}

/// Scans the text once. Braces inside strings, raw strings and comments are skipped.
///
/// The scan never fails: on text that is not valid KDL it may count wrongly, and the parser
/// reports the real problem then.
pub(crate) fn scan(source: &str) -> Layout {
    let bytes = source.as_bytes();
    let at = |index: usize, text: &[u8]| bytes.get(index..index + text.len()) == Some(text);
    let mut layout = Layout { too_deep: None, top_level_starts: Vec::new() };
    let mut depth = 0usize;
    let mut index = 0;
    // A `\` outside strings continues the node onto the next line.
    let mut continued = false;
    let mut line_start = true;
    while index < bytes.len() {
        let byte = bytes[index];
        if line_start && depth == 0 && !continued && starts_node(byte) && index > 0 {
            layout.top_level_starts.push(index);
        }
        line_start = false;
        match byte {
            b'\n' => {
                line_start = true;
                continued = false;
                index += 1;
            }
            b' ' | b'\t' | b'\r' => index += 1,
            b'\\' => {
                continued = true;
                index += 1;
            }
            b'/' if at(index, b"//") => {
                while index < bytes.len() && bytes[index] != b'\n' {
                    index += 1;
                }
            }
            b'/' if at(index, b"/*") => {
                // Block comments nest in KDL.
                let mut level = 0usize;
                while index < bytes.len() {
                    if at(index, b"/*") {
                        level += 1;
                        index += 2;
                    } else if at(index, b"*/") {
                        level -= 1;
                        index += 2;
                        if level == 0 {
                            break;
                        }
                    } else {
                        index += 1;
                    }
                }
                continued = false;
            }
            b'"' => {
                index = skip_string(bytes, index, 0);
                continued = false;
            }
            b'#' => {
                let hashes = bytes[index..].iter().take_while(|byte| **byte == b'#').count();
                if bytes.get(index + hashes) == Some(&b'"') {
                    index = skip_string(bytes, index + hashes, hashes);
                } else {
                    index += hashes;
                }
                continued = false;
            }
            b'{' => {
                depth += 1;
                if depth > MAX_DEPTH && layout.too_deep.is_none() {
                    layout.too_deep = Some(index);
                }
                index += 1;
                continued = false;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                index += 1;
                continued = false;
            }
            _ => {
                index += 1;
                continued = false;
            }
        }
    }
    layout
}

/// Whether a line beginning with this byte begins a node (a name, a quoted name, or a type
/// annotation), rather than a comment, a slashdash, a closing brace or a continuation.
fn starts_node(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || matches!(byte, b'"' | b'(' | b'_')
}

/// Skips a string that opens at `start` (a `"`), raw when `hashes > 0`; returns the index after it.
fn skip_string(bytes: &[u8], start: usize, hashes: usize) -> usize {
    let triple = bytes.get(start..start + 3) == Some(b"\"\"\"");
    let quotes = if triple { 3 } else { 1 };
    let mut index = start + quotes;
    while index < bytes.len() {
        if hashes == 0 && bytes[index] == b'\\' {
            index += 2;
            continue;
        }
        let closes = bytes[index..].starts_with(&b"\"\"\""[..quotes])
            && bytes[index + quotes..].iter().take(hashes).filter(|byte| **byte == b'#').count() == hashes;
        if closes {
            return index + quotes + hashes;
        }
        index += 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn too_deep(source: &str) -> Option<usize> {
        scan(source).too_deep
    }

    #[test]
    fn counts_blocks_but_not_braces_in_strings_or_comments() {
        let shallow = r##"step "s" { run "echo {{{{ }"; env "X" #"{{{"#; } // {{{{
/* { /* { */ { */ a { b { } }"##;
        assert_eq!(too_deep(shallow), None);
        let deep = "a {".repeat(MAX_DEPTH + 1);
        assert_eq!(too_deep(&deep), Some(3 * MAX_DEPTH + 2));
        let deep_in_string = format!("a \"{}\"", "{".repeat(MAX_DEPTH + 1));
        assert_eq!(too_deep(&deep_in_string), None);
    }

    #[test]
    fn finds_top_level_node_starts_only() {
        let source = "a 1 {\n  b 2\n}\n// c\nd \"x\n\" \\\n  e\n/* f\ng */ h\n\"quoted\" 1\nr #\"\nraw\n\"#\nz";
        let starts: Vec<&str> = scan(source).top_level_starts.iter().map(|start| &source[*start..*start + 1]).collect();
        // `b` is nested, `// c` is a comment, `e` continues `d`, `g` is inside a comment,
        // `raw` is inside a raw string.
        assert_eq!(starts, ["d", "\"", "r", "z"]);
    }
}
