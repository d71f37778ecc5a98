//! Quoting for POSIX shell words in generated `run:` scripts.

/// `text` as one shell word: unchanged when it holds only characters no shell treats specially,
/// otherwise in single quotes (a `'` inside becomes `'\''`).
pub(crate) fn quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ',' | ':' | '@' | '+' | '='));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn leaves_plain_words_alone_and_quotes_the_rest() {
        assert_eq!(quote("examples/churn/mlops.kdl"), "examples/churn/mlops.kdl");
        assert_eq!(quote("data=mlops-artifacts/split.holdout/train"), "data=mlops-artifacts/split.holdout/train");
        assert_eq!(quote("my data"), "'my data'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("$HOME"), "'$HOME'");
        assert_eq!(quote(""), "''");
    }
}
