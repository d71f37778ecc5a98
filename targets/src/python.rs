//! Writing Python literals that mean exactly the value given, for generated DAG files.

use serde_json::Value as Json;

/// `text` as a Python string literal: in double quotes, or in single quotes when it holds `"`
/// and no `'`; backslashes, the quote and control characters escaped; other characters (the
/// file is UTF-8) kept as they are.
pub(crate) fn string(text: &str) -> String {
    let quote = if text.contains('"') && !text.contains('\'') { '\'' } else { '"' };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// A JSON value as a Python literal: `None`, `True`/`False`, numbers as written, strings
/// quoted, lists and dicts (with sorted keys, as the plan keeps them).
pub(crate) fn literal(value: &Json) -> String {
    match value {
        Json::Null => "None".to_string(),
        Json::Bool(true) => "True".to_string(),
        Json::Bool(false) => "False".to_string(),
        Json::Number(number) => number.to_string(),
        Json::String(text) => string(text),
        Json::Array(items) => format!("[{}]", items.iter().map(literal).collect::<Vec<_>>().join(", ")),
        Json::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(key, value)| format!("{}: {}", string(key), literal(value)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_and_values_are_python() {
        assert_eq!(string("churn"), "\"churn\"");
        assert_eq!(string("say \"hi\"\\\n"), "'say \"hi\"\\\\\\n'");
        assert_eq!(string("it's \"x\""), "\"it's \\\"x\\\"\"");
        assert_eq!(string("\u{7}é"), "\"\\u0007é\"");
        assert_eq!(literal(&serde_json::json!(0.8)), "0.8");
        assert_eq!(literal(&serde_json::json!(300)), "300");
        assert_eq!(literal(&serde_json::json!(true)), "True");
        assert_eq!(literal(&serde_json::json!(null)), "None");
        assert_eq!(literal(&serde_json::json!(["a", 1])), "[\"a\", 1]");
    }
}
