//! "Did you mean" suggestions by edit distance, and "one of" lists for help lines.

/// `Some("did you mean `x`?")` when a candidate is close enough to `written`.
pub(crate) fn did_you_mean(written: &str, candidates: &[&str]) -> Option<String> {
    closest(written, candidates).map(|candidate| format!("did you mean `{candidate}`?"))
}

/// The candidate closest to `written`, if it is close enough to be a likely typo, or else the
/// one candidate that starts with it (`prod` for `production`).
pub(crate) fn closest<'a>(written: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (written.chars().count() / 3).max(1) + 1;
    let typo = candidates
        .iter()
        .map(|candidate| (strsim::damerau_levenshtein(written, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= limit && *distance < candidate.chars().count())
        .min()
        .map(|(_, candidate)| candidate);
    typo.or_else(|| abbreviated(written, candidates))
}

/// The only candidate that starts with `written`, when `written` is at least two characters
/// long; several would be a guess.
fn abbreviated<'a>(written: &str, candidates: &[&'a str]) -> Option<&'a str> {
    if written.chars().count() < 2 {
        return None;
    }
    let mut starting = candidates.iter().filter(|candidate| candidate.starts_with(written) && **candidate != written);
    match (starting.next(), starting.next()) {
        (Some(only), None) => Some(*only),
        _ => None,
    }
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

    #[test]
    fn suggests_the_one_name_a_prefix_abbreviates() {
        assert_eq!(closest("prod", &["staging", "production", "latest"]), Some("production"));
        assert_eq!(closest("hold", &["customers", "holdout"]), Some("holdout"));
        // A close typo wins over a prefix; two names with the prefix, or a one-letter
        // prefix, are a guess.
        assert_eq!(closest("stagin", &["staging", "stagingarea"]), Some("staging"));
        assert_eq!(closest("pro", &["production", "promote"]), None);
        assert_eq!(closest("p", &["production"]), None);
        assert_eq!(did_you_mean("prod", &["production"]).as_deref(), Some("did you mean `production`?"));
    }
}
