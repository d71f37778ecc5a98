//! A cheap lexical scan for block nesting, run before the KDL parser.
//!
//! The `kdl` parser recurses once per `{ … }` level and has no depth limit, so a file with a few
//! hundred nested blocks overflows the stack and aborts the process. No spec needs more than a
//! handful of levels, so deeper nesting is refused with a diagnostic before `kdl` sees the text.

/// The deepest block nesting accepted; real specs use at most five levels.
pub(crate) const MAX_DEPTH: usize = 64;

/// The byte offset of the first `{` that opens a block deeper than [`MAX_DEPTH`], if any.
///
/// Braces inside strings, raw strings and comments are skipped. The scan never fails: on text
/// that is not valid KDL it may count wrongly, and the parser reports the real problem then.
pub(crate) fn too_deep(source: &str) -> Option<usize> {
    let bytes = source.as_bytes();
    let at = |index: usize, text: &[u8]| bytes.get(index..index + text.len()) == Some(text);
    let mut depth = 0usize;
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
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
            }
            b'"' => index = skip_string(bytes, index, 0),
            b'#' => {
                let hashes = bytes[index..].iter().take_while(|byte| **byte == b'#').count();
                if bytes.get(index + hashes) == Some(&b'"') {
                    index = skip_string(bytes, index + hashes, hashes);
                } else {
                    index += hashes;
                }
            }
            b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(index);
                }
                index += 1;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                index += 1;
            }
            _ => index += 1,
        }
    }
    None
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
}
