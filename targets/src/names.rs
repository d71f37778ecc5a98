//! Names the targets make up and must keep apart: a numeric suffix for a name already taken,
//! and the environment variables the spec's parameters reach task commands through.

/// `wanted`, or `wanted_2`, `wanted_3`… when `taken` already holds it.
pub(crate) fn unique(wanted: String, taken: &[String]) -> String {
    if !taken.contains(&wanted) {
        return wanted;
    }
    (2..).map(|suffix| format!("{wanted}_{suffix}")).find(|candidate| !taken.contains(candidate)).unwrap_or(wanted)
}

/// A parameter and the environment variable its value reaches the commands through.
pub(crate) struct ParamVar {
    /// The parameter's name in the spec.
    pub(crate) name: String,
    /// `MLOPS_PARAM_<NAME>`.
    pub(crate) var: String,
}

/// `MLOPS_PARAM_<NAME>` for each of `names`, `<NAME>` written by `upper_name`; a suffix keeps
/// names that differ only in `-`/`_` or case apart.
pub(crate) fn param_vars<'plan>(
    names: impl Iterator<Item = &'plan String>,
    upper_name: impl Fn(&str) -> String,
) -> Vec<ParamVar> {
    let mut taken: Vec<String> = Vec::new();
    let mut vars = Vec::new();
    for name in names {
        let var = unique(format!("MLOPS_PARAM_{}", upper_name(name)), &taken);
        taken.push(var.clone());
        vars.push(ParamVar { name: name.clone(), var });
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taken_names_get_the_next_free_suffix() {
        assert_eq!(unique("data".to_string(), &["data".to_string(), "data_2".to_string()]), "data_3");
        let names = ["min-auc".to_string(), "min_auc".to_string(), "rounds".to_string()];
        let vars = param_vars(names.iter(), |name| name.to_ascii_uppercase().replace('-', "_"));
        let vars: Vec<&str> = vars.iter().map(|param| param.var.as_str()).collect();
        assert_eq!(vars, ["MLOPS_PARAM_MIN_AUC", "MLOPS_PARAM_MIN_AUC_2", "MLOPS_PARAM_ROUNDS"]);
    }
}
