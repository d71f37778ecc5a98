//! The values the GitHub Actions templates render: triggers, inputs, the install job and one
//! job per batch step with its artifact downloads, `mlopsc step run` script and uploads.
//! Everything is computed here, in order, so the templates only lay it out.

use serde::Serialize;
use serde_json::Value as Json;

use mlops_compiler::plan::{Plan, Step};

use super::checks::MAX_INPUTS;
use super::Settings;
use crate::batch::{left_out_notes, runs, uses};
use crate::names::{param_vars, ParamVar};
use crate::shell::quote;
use crate::store_mode::StoreMode;
use crate::yaml::{literal_for_github, scalar};
use crate::{plan_file, Options, Target};

/// Where jobs put step outputs they hand to each other.
const ARTIFACT_DIR: &str = "mlops-artifacts";
/// Where the install job puts the mlopsc binary.
const BINARY_DIR: &str = "mlopsc-bin";

/// Everything both workflow templates see.
#[derive(Debug, Serialize)]
pub(super) struct Workflow {
    /// `.github/workflows/<project>.yml`.
    pub(super) workflow_path: String,
    /// `.github/workflows/<project>-check.yml`.
    pub(super) check_path: String,
    /// The pipeline workflow's display name.
    name: String,
    /// The check workflow's display name.
    check_name: String,
    /// The project.
    project: Project,
    /// The mlopsc that generated the files.
    mlopsc_version: String,
    /// The spec, relative to the repository root.
    spec_path: String,
    /// The plan JSON the jobs run, relative to the repository root.
    plan_path: String,
    /// `push` and `pull_request` path filters of the pipeline: the spec, the plan, this
    /// workflow, data sources and custom step code.
    paths: Vec<String>,
    /// Path filters of the check workflow.
    check_paths: Vec<String>,
    /// `schedule:` entries.
    schedules: Vec<Schedule>,
    /// `workflow_dispatch` inputs, one per parameter.
    inputs: Vec<Input>,
    /// Workflow-level environment: the inputs, for the job scripts to read.
    env: Vec<EnvVar>,
    /// The pipeline's concurrency group.
    concurrency_group: String,
    /// The check's concurrency group.
    check_concurrency_group: String,
    /// `runs-on`.
    runner: String,
    /// `container:` image, when the spec names one.
    container: Option<String>,
    /// How mlopsc gets onto the runner; `None` when the container image has it.
    install: Option<Install>,
    /// One job per batch step, in plan order.
    jobs: Vec<Job>,
    /// The check workflow's type-check command.
    check_script: String,
    /// The check workflow's "generated files are fresh" command.
    build_check_script: String,
}

#[derive(Debug, Serialize)]
struct Project {
    name: String,
    version: String,
    description: Option<String>,
}

#[derive(Debug, Serialize)]
struct Schedule {
    name: String,
    cron: String,
}

#[derive(Debug, Serialize)]
struct Input {
    /// The input id: the parameter's name.
    id: String,
    /// `number`, `boolean` or `string`.
    kind: &'static str,
    description: String,
    /// The spec's value, as YAML text.
    default: String,
}

#[derive(Debug, Serialize)]
struct EnvVar {
    name: String,
    /// YAML text (an expression such as `${{ secrets.TOKEN }}`).
    value: String,
}

#[derive(Debug, Serialize)]
struct Install {
    /// Installs mlopsc and copies it into `binary_dir`.
    script: String,
    /// The cache key of the installed binary.
    cache_key: String,
    /// The folder holding the binary.
    binary_dir: String,
    /// The artifact the install job hands the binary to the step jobs in.
    artifact: String,
}

#[derive(Debug, Serialize)]
struct Job {
    /// The job id: the step id with `.` written `-`.
    id: String,
    /// The step id.
    step: String,
    /// Job ids that must finish first.
    needs: Vec<String>,
    /// Upstream outputs to download.
    downloads: Vec<Transfer>,
    /// Secrets and variables the step uses, passed only through the step's `env:`.
    env: Vec<EnvVar>,
    /// The shell script that runs the step contract.
    script: String,
    /// This step's outputs to upload, when jobs hand artifacts to each other.
    upload: Option<Transfer>,
}

#[derive(Debug, Serialize)]
struct Transfer {
    /// The producing step's id.
    step: String,
    /// The artifact's name.
    artifact: String,
    /// The folder, relative to the workspace.
    path: String,
}

/// The GitHub job id of a plan step.
pub(super) fn job_id(step_id: &str) -> String {
    step_id.replace('.', "-")
}

/// The job id of the install job (no step id can give it: every step job id holds a `-`).
const INSTALL_JOB: &str = "mlopsc";

/// Builds the templates' context; notes what is left out.
pub(super) fn context(plan: &Plan, options: &Options, settings: &Settings, notes: &mut Vec<String>) -> Workflow {
    let project = &plan.project.name;
    let workflow_path = format!(".github/workflows/{project}.yml");
    let check_path = format!(".github/workflows/{project}-check.yml");
    let plan_path = plan_file(plan);
    let store = StoreMode::of(plan, options);
    let params = param_vars(plan.params.keys().take(MAX_INPUTS), |name| name.to_ascii_uppercase().replace('-', "_"));

    let mut paths = vec![options.spec_path.clone(), plan_path.clone(), workflow_path.clone()];
    for step in plan.steps.iter().filter(|step| runs(step)) {
        let sources = match step.kind.as_str() {
            "ingest" => step.params.get("paths"),
            "step" => step.params.get("code"),
            _ => None,
        };
        for path in sources.and_then(Json::as_array).into_iter().flatten().filter_map(Json::as_str) {
            if path.starts_with('/') || path.split('/').any(|part| part == "..") {
                notes.push(format!(
                    "github-actions: `{path}` ({}) is outside the repository, so changing it does not start the workflow",
                    step.id
                ));
            } else {
                paths.push(literal_for_github(&options.from_spec_dir(path)));
            }
        }
    }
    paths.sort();
    paths.dedup();
    let mut check_paths = vec![options.spec_path.clone(), plan_path.clone(), workflow_path.clone(), check_path.clone()];
    if let Some(dir) = &options.templates_dir {
        check_paths.push(format!("{}/**", dir.trim_end_matches('/')));
    }
    check_paths.sort();
    check_paths.dedup();

    notes.extend(left_out_notes(plan, Target::GithubActions));
    if matches!(store, StoreMode::PerTask(_)) {
        let keeps_state: Vec<&str> = plan
            .steps
            .iter()
            .filter(|step| {
                step.kind == "register"
                    || step.params.get("compare_to").and_then(Json::as_array).is_some_and(|list| !list.is_empty())
            })
            .map(|step| step.id.as_str())
            .collect();
        if !keeps_state.is_empty() {
            notes.push(format!(
                "github-actions: each job starts from an empty store, so the model registry that {} use lasts one workflow run only (no champion to compare to, no versions kept); to keep it, declare `store` as an absolute path or an `(env)` reference to storage every runner shares",
                keeps_state.iter().map(|id| format!("`{id}`")).collect::<Vec<_>>().join(", ")
            ));
        }
    }

    let install = settings.install.as_ref().map(|command| Install {
        script: format!("{}\nmkdir -p {BINARY_DIR}\ncp \"$(command -v mlopsc)\" {BINARY_DIR}/mlopsc", command.trim()),
        cache_key: format!(
            "mlopsc-{}-${{{{ runner.os }}}}-${{{{ runner.arch }}}}-{}",
            plan.mlopsc_version,
            &blake3::hash(command.trim().as_bytes()).to_hex()[..16]
        ),
        binary_dir: BINARY_DIR.to_string(),
        artifact: "mlopsc-binary".to_string(),
    });
    let jobs = plan
        .steps
        .iter()
        .filter(|step| runs(step))
        .map(|step| job(plan, step, options, settings, &store, &params, install.is_some()))
        .collect();

    let targets = if options.targets.is_empty() {
        "github-actions".to_string()
    } else {
        options.targets.iter().map(|target| target.name()).collect::<Vec<_>>().join(",")
    };
    let mut build_check = format!("mlopsc build {} --target {targets} --output . --check", quote(&options.spec_path));
    if let Some(dir) = &options.templates_dir {
        build_check.push_str(&format!(" --templates {}", quote(dir)));
    }
    Workflow {
        name: format!("{project} pipeline"),
        check_name: format!("{project} spec check"),
        project: Project {
            name: project.clone(),
            version: plan.project.version.clone(),
            description: plan.project.description.as_deref().map(literal_for_github),
        },
        mlopsc_version: plan.mlopsc_version.clone(),
        spec_path: literal_for_github(&options.spec_path),
        paths,
        check_paths: check_paths.iter().map(|path| literal_for_github(path)).collect(),
        schedules: plan
            .schedules
            .iter()
            .map(|schedule| Schedule { name: schedule.name.clone(), cron: schedule.cron.clone() })
            .collect(),
        inputs: inputs(plan),
        env: params
            .iter()
            .map(|param| EnvVar { name: param.var.clone(), value: format!("${{{{ inputs.{} }}}}", param.name) })
            .collect(),
        concurrency_group: format!("mlops-{project}-${{{{ github.ref }}}}"),
        check_concurrency_group: format!("mlops-{project}-check-${{{{ github.ref }}}}"),
        runner: settings.runner.clone(),
        container: settings.image.clone(),
        install,
        jobs,
        check_script: literal_for_github(&format!(
            "mlopsc check {} --message-format github",
            quote(&options.spec_path)
        )),
        build_check_script: literal_for_github(&build_check),
        workflow_path,
        check_path,
        plan_path,
    }
}

/// `workflow_dispatch` inputs: typed, defaulting to the spec's values.
fn inputs(plan: &Plan) -> Vec<Input> {
    plan.params
        .iter()
        .take(MAX_INPUTS)
        .map(|(name, param)| {
            let (kind, default) = match (param.ty.as_str(), &param.value) {
                ("int" | "float", Json::Number(number)) => ("number", number.to_string()),
                ("bool", Json::Bool(flag)) => ("boolean", flag.to_string()),
                (_, Json::String(text)) => ("string", scalar(&literal_for_github(text))),
                (_, other) => ("string", scalar(&other.to_string())),
            };
            Input {
                id: name.clone(),
                kind,
                description: format!("parameter {name} ({}); empty keeps the spec's value", param.ty),
                default,
            }
        })
        .collect()
}

/// The job of one batch step.
fn job(
    plan: &Plan,
    step: &Step,
    options: &Options,
    settings: &Settings,
    store: &StoreMode,
    params: &[ParamVar],
    installs: bool,
) -> Job {
    let mut needs: Vec<String> =
        step.depends_on.iter().filter(|id| plan.step(id).is_some_and(runs)).map(|id| job_id(id)).collect();
    if installs {
        needs.insert(0, INSTALL_JOB.to_string());
    }
    let mut script =
        vec![format!("set -- --plan {} --project-dir {}", quote(&plan_file(plan)), quote(options.spec_dir()))];
    if let Some(path) = store.flag() {
        script.push(format!("set -- \"$@\" --store {}", quote(path)));
    }
    let mut downloads: Vec<Transfer> = Vec::new();
    let mut upload = None;
    if matches!(store, StoreMode::PerTask(_)) {
        for input in &step.inputs {
            let producer = &input.from.step;
            if !downloads.iter().any(|download| &download.step == producer) && plan.step(producer).is_some_and(runs) {
                downloads.push(Transfer {
                    step: producer.clone(),
                    artifact: producer.clone(),
                    path: format!("{ARTIFACT_DIR}/{producer}"),
                });
            }
            let file = format!("{ARTIFACT_DIR}/{producer}/{}", input.from.output);
            script.push(format!("set -- \"$@\" --input {}", quote(&format!("{}={file}", input.name))));
        }
        for output in &step.outputs {
            let file = format!("{ARTIFACT_DIR}/{}/{}", step.id, output.name);
            script.push(format!("set -- \"$@\" --output {}", quote(&format!("{}={file}", output.name))));
        }
        if !step.outputs.is_empty() {
            upload = Some(Transfer {
                step: step.id.clone(),
                artifact: step.id.clone(),
                path: format!("{ARTIFACT_DIR}/{}/", step.id),
            });
        }
    }
    for param in params {
        script.push(format!(
            "if [ -n \"${var}\" ]; then set -- \"$@\" --set \"{name}=${var}\"; fi",
            var = param.var,
            name = param.name
        ));
    }
    let command = format!("mlopsc step run {} \"$@\"", quote(&step.id));
    if settings.retries == 0 {
        script.push(command);
    } else {
        let attempts = settings.retries + 1;
        script.extend([
            "attempt=1".to_string(),
            format!("until {command}; do"),
            "  status=$?".to_string(),
            format!("  if [ \"$attempt\" -ge {attempts} ]; then exit \"$status\"; fi"),
            "  attempt=$((attempt + 1))".to_string(),
            format!(
                "  echo \"::warning::{} failed with exit status $status; attempt $attempt of {attempts}\"",
                step.id
            ),
            "done".to_string(),
        ]);
    }
    let mut env: Vec<EnvVar> = plan
        .secrets
        .iter()
        .filter(|reference| uses(step, reference))
        .map(|reference| EnvVar {
            name: reference.name.clone(),
            value: if reference.kind == "secret" {
                format!("${{{{ secrets.{} }}}}", reference.name)
            } else {
                format!("${{{{ vars.{} }}}}", reference.name)
            },
        })
        .collect();
    env.sort_by(|left, right| left.name.cmp(&right.name));
    env.dedup_by(|left, right| left.name == right.name);
    Job {
        id: job_id(&step.id),
        step: step.id.clone(),
        needs,
        downloads,
        env,
        script: literal_for_github(&script.join("\n")),
        upload,
    }
}
