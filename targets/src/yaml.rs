//! Writing YAML scalars that mean exactly the text given: plain when that is unambiguous,
//! double-quoted otherwise, and literal blocks for multi-line scripts.

/// `text` as a YAML scalar: plain when no YAML reader could take it for anything else (a
/// boolean, a number, null, an indicator, a comment), otherwise double-quoted with escapes.
pub(crate) fn scalar(text: &str) -> String {
    if is_plain_safe(text) {
        text.to_string()
    } else {
        double_quoted(text)
    }
}

/// `text` as a double-quoted YAML scalar. JSON's string syntax is YAML's double-quoted syntax;
/// characters YAML does not allow unescaped (DEL, C1 controls, line and paragraph separators)
/// are escaped as well.
pub(crate) fn double_quoted(text: &str) -> String {
    let json = serde_json::to_string(text).unwrap_or_else(|_| String::from("\"\""));
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c == '\u{7f}' || ('\u{80}'..='\u{9f}').contains(&c) || c == '\u{2028}' || c == '\u{2029}' || c == '\u{feff}'
        {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` as the value of a `key:` line: a literal block (`|`) whose lines are indented by
/// `indent` spaces, or a double-quoted scalar when a block cannot carry it (control
/// characters, leading spaces on the first line, empty text).
pub(crate) fn block(text: &str, indent: usize) -> String {
    let blockable = !text.trim().is_empty()
        && !text.starts_with([' ', '\t', '\n'])
        && text.chars().all(|c| c == '\n' || c == '\t' || (!c.is_control() && c != '\u{feff}'))
        && !text.contains('\r');
    if !blockable {
        return double_quoted(text);
    }
    let padding = " ".repeat(indent);
    let mut out = String::from("|");
    for line in text.trim_end_matches('\n').split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&padding);
            out.push_str(line.trim_end());
        }
    }
    out
}

/// Whether `text` reads back as the same string when written plain.
fn is_plain_safe(text: &str) -> bool {
    let Some(first) = text.chars().next() else { return false };
    if !(first.is_ascii_alphabetic() || matches!(first, '_' | '.' | '/' | '$')) {
        return false;
    }
    if text.ends_with(' ') || text.contains("  ") {
        return false;
    }
    if !text.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(c, '_' | '-' | '.' | '/' | '$' | '{' | '}' | '@' | '=' | '+' | ' ' | '(' | ')' | ',')
    }) {
        return false;
    }
    // YAML 1.1 readers take these words for booleans or null; `.inf`, `.nan` are numbers.
    let lower = text.to_ascii_lowercase();
    !matches!(lower.as_str(), "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | ".inf" | ".nan")
}

/// `text` with every `${{` (which GitHub Actions would evaluate as an expression) written as an
/// expression that yields the literal `${{`.
pub(crate) fn literal_for_github(text: &str) -> String {
    text.replace("${{", "${{ '${{' }}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_when_unambiguous() {
        assert_eq!(scalar("ubuntu-latest"), "ubuntu-latest");
        assert_eq!(scalar("split.holdout"), "split.holdout");
        assert_eq!(scalar("${{ secrets.TOKEN }}"), "${{ secrets.TOKEN }}");
        assert_eq!(scalar("examples/churn/data/*.csv"), "\"examples/churn/data/*.csv\"");
    }

    #[test]
    fn quoted_when_yaml_would_read_something_else() {
        assert_eq!(scalar("on"), "\"on\"");
        assert_eq!(scalar("No"), "\"No\"");
        assert_eq!(scalar("0 3 * * 1"), "\"0 3 * * 1\"");
        assert_eq!(scalar("300"), "\"300\"");
        assert_eq!(scalar("a: b"), "\"a: b\"");
        assert_eq!(scalar("x # y"), "\"x # y\"");
        assert_eq!(scalar("-rf"), "\"-rf\"");
        assert_eq!(scalar(""), "\"\"");
        assert_eq!(scalar("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
        assert_eq!(scalar("del\u{7f}"), "\"del\\u007f\"");
    }

    #[test]
    fn blocks_indent_every_line_and_fall_back_to_quotes() {
        assert_eq!(block("echo a\n\necho b\n", 4), "|\n    echo a\n\n    echo b");
        assert_eq!(block("  leading", 4), "\"  leading\"");
        assert_eq!(block("bell\u{7}", 4), "\"bell\\u0007\"");
        assert_eq!(block("", 4), "\"\"");
    }

    #[test]
    fn expressions_in_user_text_stay_literal() {
        assert_eq!(literal_for_github("a ${{ b }}"), "a ${{ '${{' }} b }}");
        assert_eq!(literal_for_github("plain"), "plain");
    }
}
