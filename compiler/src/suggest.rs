//! "Did you mean" suggestions by edit distance, and "one of" lists for help lines.

/// `Some("did you mean `x`?")` when a candidate is close enough to `written`.
pub(crate) fn did_you_mean(written: &str, candidates: &[&str]) -> Option<String> {
    closest(written, candidates).map(|candidate| format!("did you mean `{candidate}`?"))
}

/// The candidate closest to `written`, if it is close enough to be a likely typo.
pub(crate) fn closest<'a>(written: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (written.chars().count() / 3).max(1) + 1;
    candidates
        .iter()
        .map(|candidate| (strsim::damerau_levenshtein(written, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= limit && *distance < candidate.chars().count())
        .min()
        .map(|(_, candidate)| candidate)
}

/// "`a`, `b` or `c`".
pub(crate) fn one_of(names: &[&str]) -> String {
    match names {
        [] => "nothing".to_string(),
        [only] => format!("`{only}`"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(|name| format!("`{name}`")).collect();
            format!("{} or `{last}`", init.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(closest("datset", &["dataset", "transform"]), Some("dataset"));
        assert_eq!(closest("featurs", &["features", "customers"]), Some("features"));
        assert_eq!(closest("zzz", &["dataset", "transform"]), None);
        assert_eq!(one_of(&["a", "b", "c"]), "`a`, `b` or `c`");
    }
}
