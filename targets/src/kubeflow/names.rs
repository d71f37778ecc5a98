//! The names Kubeflow and Kubernetes accept, made from plan names: task names, component input
//! keys, the pipeline name, the default image, the secret and ConfigMap names.

use mlops_compiler::plan::Plan;

/// `name` as `kfp` sanitizes task and pipeline names: lowercase, every run of other characters
/// written `-`, no `-` at either end (`train.churn` → `train-churn`).
pub(super) fn dns_label(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// The task name of a plan step (also the base of its component and executor names).
pub(super) fn task(step_id: &str) -> String {
    let label = dns_label(step_id);
    if label.is_empty() {
        "step".to_string()
    } else {
        label
    }
}

/// The component of a task.
pub(super) fn component(task: &str) -> String {
    format!("comp-{task}")
}

/// The executor of a task.
pub(super) fn executor(task: &str) -> String {
    format!("exec-{task}")
}

/// `name` as a component input or output key: a Python identifier, as `kfp` makes the keys of
/// a component it loads into parameters of a Python function (`fitted.features` →
/// `fitted_features`, `min-auc` → `min_auc`).
pub(super) fn identifier(name: &str) -> String {
    let mut out: String = name
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' { c } else { '_' })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// The pipeline's name: the project's name as a DNS label, which `kfp` requires.
pub(super) fn pipeline(plan: &Plan) -> String {
    let label = dns_label(&plan.project.name);
    let label: String = label.chars().take(128).collect();
    let label = label.trim_end_matches('-').to_string();
    if label.is_empty() {
        "mlops".to_string()
    } else {
        label
    }
}

/// The Kubernetes secret (and ConfigMap) that holds the spec's `(secret)` (and `(env)`) values:
/// `mlops-<project>`.
pub(super) fn secret_store(plan: &Plan) -> String {
    let name: String = format!("mlops-{}", pipeline(plan)).chars().take(63).collect();
    name.trim_end_matches('-').to_string()
}

/// The image tasks run in when the spec names none: `<project>:<version>`, the image a team
/// builds from its repository (mlopsc plus the spec, the plan and the data).
pub(super) fn default_image(plan: &Plan) -> String {
    let tag: String = plan
        .project
        .version
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '-' })
        .take(128)
        .collect();
    let tag = tag.trim_start_matches(['.', '-']);
    format!("{}:{}", pipeline(plan), if tag.is_empty() { "latest" } else { tag })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_kfp() {
        assert_eq!(task("register.churn-classifier"), "register-churn-classifier");
        assert_eq!(task("Train.Churn_2"), "train-churn-2");
        assert_eq!(task("..."), "step");
        assert_eq!(identifier("fitted.features"), "fitted_features");
        assert_eq!(identifier("min-auc"), "min_auc");
        assert_eq!(identifier("2x"), "_2x");
    }
}
