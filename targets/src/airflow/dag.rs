//! The values the Airflow template renders: the DAG's arguments, its params, the environment
//! every task gets, one task per batch step and the dependency edges. Everything is computed
//! here, in plan order, as Python source text, so the template only lays it out.

use serde::Serialize;

use mlops_compiler::plan::{Plan, SecretRef};

use super::{Settings, RETRY_DELAY_MINUTES};
use crate::batch::{left_out_notes, references, runs, uses};
use crate::names::{param_vars, unique};
use crate::python::{literal, string};
use crate::shell::quote;
use crate::store_mode::StoreMode;
use crate::{plan_file, Options, Target};

/// Where the DAG file goes, relative to the output folder: Airflow's usual `dags/` folder.
const DAG_DIR: &str = "dags";

/// Everything the DAG template sees. Fields ending in `_text` are plain text for comments; the
/// others are Python source.
#[derive(Debug, Serialize)]
pub(super) struct DagFile {
    /// `dags/<dag_id>.py`, relative to the output folder.
    pub(super) dag_path: String,
    /// The module docstring's text, escaped for a `"""` string.
    docstring: String,
    /// The plan file, for comments.
    plan_path_text: String,
    /// The Airflow Variable that overrides the project root.
    root_variable_text: String,
    /// The environment variable that overrides the project root.
    root_env: String,
    root_env_text: String,
    /// How many folders up from the DAG file the project root is.
    root_depth: usize,
    /// The pieces of `STEP_ARGS`, each a string literal.
    step_args: Vec<String>,
    /// `STEP_ENV`.
    env: Vec<EnvVar>,
    /// Set when the tasks run in pods.
    pod: Option<Pod>,
    /// Whether some task reads secrets or variables when it runs.
    uses_variables: bool,
    /// Whether the DAG has more than one schedule.
    multiple_schedules: bool,
    /// The `schedule=` line(s).
    schedule: Vec<String>,
    dag_id: String,
    description: Option<String>,
    retries: u64,
    retry_delay_minutes: u64,
    params: Vec<Param>,
    /// A list literal.
    tags: String,
    /// One task per batch step, in plan order.
    tasks: Vec<Task>,
    /// `upstream >> downstream` lines, in plan order.
    edges: Vec<String>,
}

#[derive(Debug, Serialize)]
struct EnvVar {
    name: String,
    value: String,
}

#[derive(Debug, Serialize)]
struct Pod {
    image: String,
    /// A literal, or `None`.
    namespace: String,
    /// The Kubernetes secret holding the spec's secrets.
    secret_name: String,
    /// Whether any task mounts a secret.
    secrets: bool,
}

#[derive(Debug, Serialize)]
struct Param {
    name: String,
    default: String,
    kind: String,
    description: String,
}

#[derive(Debug, Serialize)]
struct Task {
    /// The Python variable.
    var: String,
    /// The arguments of `step_task(…)`.
    args: String,
}

/// Builds the template's context; notes what is left out.
pub(super) fn context(plan: &Plan, options: &Options, settings: &Settings, notes: &mut Vec<String>) -> DagFile {
    let dag_path = format!("{DAG_DIR}/{}.py", identifier(&settings.dag_id));
    let plan_path = plan_file(plan);
    let key = identifier(&settings.dag_id).to_ascii_lowercase();
    let root_variable = format!("mlops_{key}_root");
    let root_env = format!("MLOPS_{}_ROOT", key.to_ascii_uppercase());

    notes.extend(left_out_notes(plan, Target::Airflow));

    let mut step_args = vec![format!("--plan {} --project-dir {}", quote(&plan_path), quote(options.spec_dir()))];
    let store = StoreMode::of(plan, options);
    if let Some(path) = store.flag() {
        step_args.push(format!("--store {}", quote(path)));
    }
    if let (StoreMode::PerTask(path), None) = (&store, &settings.image) {
        notes.push(format!(
            "airflow: every task uses the store `{path}` under the project root of the worker that runs it; with workers on several machines, put the project root on storage they share (the `{root_variable}` Airflow Variable) or declare `store` as an absolute path there"
        ));
    }
    let params = param_vars(plan.params.keys(), |name| identifier(name).to_ascii_uppercase());
    for param in &params {
        step_args.push(format!("--set \"{}=${}\"", param.name, param.var));
    }
    let mut env = vec![EnvVar {
        name: string("MLOPS_ROOT"),
        value: string(&format!("{{{{ var.value.get('{root_variable}', mlops_default_root) }}}}")),
    }];
    for param in &params {
        let read = format!("params[{}]", python_single_quoted(&param.name));
        let value = match plan.params.get(&param.name).map(|info| info.ty.as_str()) {
            Some("bool") => format!("{{{{ 'true' if {read} else 'false' }}}}"),
            _ => format!("{{{{ {read} }}}}"),
        };
        env.push(EnvVar { name: string(&param.var), value: string(&value) });
    }

    let pod = settings.image.as_ref().map(|image| Pod {
        image: string(image),
        namespace: settings.namespace.as_deref().map_or_else(|| "None".to_string(), string),
        secret_name: string(&format!("mlops-{}", dns_label(&settings.dag_id))),
        secrets: plan.secrets.iter().any(|reference| reference.kind == "secret" && used_by_tasks(plan, reference)),
    });

    let mut vars: Vec<String> = Vec::new();
    let mut tasks = Vec::new();
    let mut edges = Vec::new();
    let mut uses_variables = false;
    for step in plan.steps.iter().filter(|step| runs(step)) {
        let var = unique(identifier(&step.id), &vars);
        vars.push(var.clone());
        let mut args = vec![string(&step.id)];
        if settings.image.is_some() {
            args.push(string(&dns_label(&step.id)));
        }
        let (secrets, variables) = references(plan, step);
        if !secrets.is_empty() {
            args.push(format!("secrets={}", list(&secrets)));
        }
        if !variables.is_empty() {
            args.push(format!("variables={}", list(&variables)));
        }
        uses_variables |= !secrets.is_empty() || !variables.is_empty();
        tasks.push(Task { var, args: args.join(", ") });
    }
    for (step, task) in plan.steps.iter().filter(|step| runs(step)).zip(&tasks) {
        let upstream: Vec<&str> = plan
            .steps
            .iter()
            .filter(|other| runs(other))
            .zip(&tasks)
            .filter(|(other, _)| step.depends_on.contains(&other.id))
            .map(|(_, other)| other.var.as_str())
            .collect();
        match upstream.as_slice() {
            [] => {}
            [one] => edges.push(format!("{one} >> {}", task.var)),
            many => edges.push(format!("[{}] >> {}", many.join(", "), task.var)),
        }
    }

    let schedule = match plan.schedules.as_slice() {
        [] => vec!["schedule=None,".to_string()],
        [one] => vec![format!("schedule={},  # {}", string(&one.cron), one.name)],
        many => {
            let mut lines = vec!["schedule=MultipleCronTriggerTimetable(".to_string()];
            lines.extend(many.iter().map(|schedule| format!("    {},  # {}", string(&schedule.cron), schedule.name)));
            lines.push("    timezone=\"UTC\",".to_string());
            lines.push("),".to_string());
            lines
        }
    };

    let mut docstring = format!(
        "The `{project}` pipeline of {spec}, as an Airflow DAG.\n",
        project = plan.project.name,
        spec = options.spec_path
    );
    if let Some(description) = &plan.project.description {
        docstring.push_str(&format!("\n{description}\n"));
    }
    docstring.push_str(&format!(
        "\nEach task runs one plan step through the step contract,\n`mlopsc step run STEP --plan {plan_path}`, from the project root, so a DAG run\nexecutes the same code, with the same cache keys, as `mlopsc run`. The DAG's params\nare the spec's `params`: a manual run may change them, as `mlopsc run --set` does.\n"
    ));

    DagFile {
        docstring: docstring.replace('\\', "\\\\").replace('"', "\\\""),
        plan_path_text: plan_path.clone(),
        root_variable_text: root_variable,
        root_env: string(&root_env),
        root_env_text: root_env,
        root_depth: dag_path.matches('/').count(),
        step_args: step_args.iter().map(|piece| string(&format!(" {piece}"))).collect(),
        env,
        pod,
        uses_variables,
        multiple_schedules: plan.schedules.len() > 1,
        schedule,
        dag_id: string(&settings.dag_id),
        description: plan.project.description.as_deref().map(string),
        retries: settings.retries,
        retry_delay_minutes: RETRY_DELAY_MINUTES,
        params: plan
            .params
            .iter()
            .map(|(name, info)| Param {
                name: string(name),
                default: literal(&info.value),
                kind: string(match info.ty.as_str() {
                    "int" => "integer",
                    "float" => "number",
                    "bool" => "boolean",
                    _ => "string",
                }),
                description: string(&format!("parameter `{name}` ({}) of the spec", info.ty)),
            })
            .collect(),
        tags: list(&["mlopsc".to_string(), plan.project.name.clone()]),
        tasks,
        edges,
        dag_path,
    }
}

/// Whether a batch task uses `reference` (directly, or through the store or the tracking).
fn used_by_tasks(plan: &Plan, reference: &SecretRef) -> bool {
    plan.steps.iter().filter(|step| runs(step)).any(|step| uses(step, reference))
}

/// A Python list literal of strings.
fn list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|item| string(item)).collect::<Vec<_>>().join(", "))
}

/// `text` as a single-quoted Python string, for use inside a Jinja expression in a
/// double-quoted literal.
fn python_single_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// `text` with every character but ASCII letters, digits and `_` written `_`: a Python
/// identifier (step ids start with their kind, a letter) and a safe file name.
fn identifier(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

/// `text` as a Kubernetes name (RFC 1123 label): lowercase letters, digits and `-`.
fn dns_label(text: &str) -> String {
    let label: String =
        text.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let label = label.trim_matches('-');
    let label = if label.len() > 63 { label[..63].trim_end_matches('-') } else { label };
    if label.is_empty() {
        "mlops".to_string()
    } else {
        label.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_identifiers_and_kubernetes_labels() {
        assert_eq!(identifier("train.churn-model"), "train_churn_model");
        assert_eq!(dns_label("Train.Churn_model"), "train-churn-model");
        assert_eq!(dns_label("..."), "mlops");
        assert_eq!(dns_label(&"a".repeat(80)).len(), 63);
        assert_eq!(python_single_quoted("min-auc"), "'min-auc'");
    }

    #[test]
    fn json_values_stay_json_in_python() {
        assert_eq!(literal(&serde_json::json!(0.8)), "0.8");
    }
}
