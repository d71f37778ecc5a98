//! The PipelineSpec of a plan, shaped as `kfp` compiles a Python pipeline: one component, one
//! container executor and one root-DAG task per batch step, step outputs passed as KFP
//! artifacts, the spec's `params` as pipeline parameters, and secrets in the kfp-kubernetes
//! platform spec (a second YAML document).

use std::collections::BTreeMap;

use serde_json::Value as Json;

use mlops_compiler::plan::{Plan, Step};

use super::document::Node;
use super::{names, Settings};
use crate::batch::{left_out_notes, names_by_kind, references, runs};
use crate::names::unique;
use crate::store_mode::StoreMode;
use crate::{plan_file, Options, Target};

/// The PipelineSpec schema version `kfp` 2.x writes.
const SCHEMA_VERSION: &str = "2.1.0";

/// The two YAML documents of the pipeline file.
pub(super) struct Documents {
    /// The PipelineSpec.
    pub(super) pipeline: Node,
    /// The platform spec, when some task needs a secret or a ConfigMap.
    pub(super) platform: Option<Node>,
}

/// A pipeline parameter: the spec's parameter and its key in the PipelineSpec.
struct Param<'plan> {
    name: &'plan str,
    key: String,
    ty: &'static str,
    default: Node,
}

/// The pipeline parameters, one per spec parameter, in name order.
fn params(plan: &Plan) -> Vec<Param<'_>> {
    let mut taken = Vec::new();
    let mut params = Vec::new();
    for (name, param) in &plan.params {
        let key = unique(names::identifier(name), &taken);
        taken.push(key.clone());
        let (ty, default) = match (param.ty.as_str(), &param.value) {
            ("int", Json::Number(number)) if number.as_i64().is_some() => {
                ("NUMBER_INTEGER", Node::Int(number.as_i64().unwrap_or_default()))
            }
            ("int" | "float", Json::Number(number)) => {
                ("NUMBER_DOUBLE", Node::Float(number.as_f64().unwrap_or_default()))
            }
            ("bool", Json::Bool(flag)) => ("BOOLEAN", Node::Bool(*flag)),
            (_, Json::String(text)) => ("STRING", Node::text(text.clone())),
            (_, other) => ("STRING", Node::text(other.to_string())),
        };
        params.push(Param { name, key, ty, default });
    }
    params
}

/// The Python type `kfp` names a parameter type with in its summary comment.
fn python_type(ty: &str) -> &'static str {
    match ty {
        "NUMBER_INTEGER" => "int",
        "NUMBER_DOUBLE" => "float",
        "BOOLEAN" => "bool",
        _ => "str",
    }
}

/// The comment `kfp` puts at the top of a compiled pipeline: its name, description and inputs.
pub(super) fn summary(plan: &Plan) -> String {
    let mut text = String::from("# PIPELINE DEFINITION\n");
    text.push_str(&format!("# Name: {}\n", names::pipeline(plan)));
    if let Some(description) = &plan.project.description {
        text.push_str(&format!("# Description: {}\n", one_line(description)));
    }
    let params = params(plan);
    if !params.is_empty() {
        text.push_str("# Inputs:\n");
        for param in &params {
            let default = match &param.default {
                Node::Text(value) => format!("'{}'", one_line(value)),
                Node::Int(value) => value.to_string(),
                Node::Float(value) => format!("{value:?}"),
                Node::Bool(value) => if *value { "True" } else { "False" }.to_string(),
                _ => String::new(),
            };
            text.push_str(&format!("#    {}: {} [Default: {default}]\n", param.key, python_type(param.ty)));
        }
    }
    text
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The KFP artifact type of a plan input or output kind.
fn artifact_type(kind: &str) -> Node {
    let title = match kind {
        "table" => "system.Dataset",
        "model" => "system.Model",
        _ => "system.Artifact",
    };
    Node::map().with("schemaTitle", Node::text(title)).with("schemaVersion", Node::text("0.0.1"))
}

/// What a task asks the Kubernetes scheduler for: one core (a `tune` with `parallel=N`, N
/// cores, one per trial running at once) and 1 GiB of memory (2 GiB to train or tune). Requests
/// only, no limits: a step may use more when the node has it, and is never killed for it.
fn resources(step: &Step) -> Node {
    let cpu = match step.kind.as_str() {
        "tune" => step.params.get("parallel").and_then(Json::as_u64).unwrap_or(1).clamp(1, 1024),
        _ => 1,
    };
    let gibibytes: u64 = if matches!(step.kind.as_str(), "train" | "tune") { 2 } else { 1 };
    // `kfp` writes both forms: the Kubernetes quantities, and the older fields (cores, and
    // memory in gigabytes) that Kubeflow Pipelines backends before 2.3 read.
    let bytes = gibibytes * (1 << 30);
    Node::map()
        .with("cpuRequest", Node::Float(cpu as f64))
        .with("resourceCpuRequest", Node::text(cpu.to_string()))
        .with("memoryRequest", Node::Float(bytes as f64 / 1e9))
        .with("resourceMemoryRequest", Node::text(format!("{gibibytes}Gi")))
}

/// The PipelineSpec and platform spec of `plan`; notes what is left out or needs setting up.
pub(super) fn documents(plan: &Plan, options: &Options, settings: &Settings, notes: &mut Vec<String>) -> Documents {
    let store = StoreMode::of(plan, options);
    let params = params(plan);
    let running: Vec<&Step> = plan.steps.iter().filter(|step| runs(step)).collect();
    notes.extend(setup_notes(plan, &store, settings));

    let mut components = Node::map();
    let mut executors = Node::map();
    let mut tasks = Node::map();
    let mut platform_executors = Node::map();
    let mut outputs_of: BTreeMap<&str, BTreeMap<&str, String>> = BTreeMap::new();
    for step in &running {
        let task = names::task(&step.id);
        let component_name = names::component(&task);
        let executor_name = names::executor(&task);

        // Parameter keys first (they are the pipeline's), then artifacts, all unique in the
        // component: `kfp` turns them into the arguments of one Python function.
        let used: Vec<&Param> =
            params.iter().filter(|param| step.param_refs.values().any(|name| name == param.name)).collect();
        let mut taken: Vec<String> = used.iter().map(|param| param.key.clone()).collect();
        let mut input_keys = Vec::new();
        for input in &step.inputs {
            let key = unique(names::identifier(&input.name), &taken);
            taken.push(key.clone());
            input_keys.push(key);
        }
        let mut output_keys = BTreeMap::new();
        for output in &step.outputs {
            let key = unique(names::identifier(&output.name), &taken);
            taken.push(key.clone());
            output_keys.insert(output.name.as_str(), key);
        }

        let mut args = vec![
            Node::text("--plan"),
            Node::text(plan_file(plan)),
            Node::text("--project-dir"),
            Node::text(options.spec_dir()),
        ];
        if let Some(path) = store.flag() {
            args.extend([Node::text("--store"), Node::text(path)]);
        }

        let mut component = Node::map().with("executorLabel", Node::text(executor_name.as_str()));
        let mut task_node = Node::map()
            .with("cachingOptions", Node::map().with("enableCache", Node::Bool(true)))
            .with("componentRef", Node::map().with("name", Node::text(component_name.as_str())))
            .with("taskInfo", Node::map().with("name", Node::text(step.id.as_str())));
        for (input, key) in step.inputs.iter().zip(&input_keys) {
            let Some(producer_key) =
                outputs_of.get(input.from.step.as_str()).and_then(|outputs| outputs.get(input.from.output.as_str()))
            else {
                continue;
            };
            component
                .entry("inputDefinitions")
                .entry("artifacts")
                .set(key, Node::map().with("artifactType", artifact_type(&input.kind)));
            task_node.entry("inputs").entry("artifacts").set(
                key,
                Node::map().with(
                    "taskOutputArtifact",
                    Node::map()
                        .with("outputArtifactKey", Node::text(producer_key.as_str()))
                        .with("producerTask", Node::text(names::task(&input.from.step))),
                ),
            );
            args.extend([
                Node::text("--input"),
                Node::text(format!("{}={{{{$.inputs.artifacts['{key}'].path}}}}", input.name)),
            ]);
        }
        for output in &step.outputs {
            let key = &output_keys[output.name.as_str()];
            component
                .entry("outputDefinitions")
                .entry("artifacts")
                .set(key, Node::map().with("artifactType", artifact_type(&output.kind)));
            args.extend([
                Node::text("--output"),
                Node::text(format!("{}={{{{$.outputs.artifacts['{key}'].path}}}}", output.name)),
            ]);
        }
        for param in &used {
            component
                .entry("inputDefinitions")
                .entry("parameters")
                .set(&param.key, Node::map().with("parameterType", Node::text(param.ty)));
            task_node
                .entry("inputs")
                .entry("parameters")
                .set(&param.key, Node::map().with("componentInputParameter", Node::text(param.key.as_str())));
            args.extend([
                Node::text("--set"),
                Node::text(format!("{}={{{{$.inputs.parameters['{}']}}}}", param.name, param.key)),
            ]);
        }
        let mut dependencies: Vec<String> =
            step.depends_on.iter().filter(|id| plan.step(id).is_some_and(runs)).map(|id| names::task(id)).collect();
        dependencies.sort();
        dependencies.dedup();
        if !dependencies.is_empty() {
            task_node.set("dependentTasks", Node::List(dependencies.into_iter().map(Node::Text).collect()));
        }
        if settings.retries > 0 {
            // `kfp`'s `set_retry(N)` with its defaults: no wait before the first retry.
            task_node.set(
                "retryPolicy",
                Node::map()
                    .with("backoffDuration", Node::text("0s"))
                    .with("backoffFactor", Node::Float(2.0))
                    .with("backoffMaxDuration", Node::text("3600s"))
                    .with("maxRetryCount", Node::Int(i64::try_from(settings.retries).unwrap_or(i64::MAX))),
            );
        }
        let command = ["mlopsc", "step", "run", step.id.as_str()].into_iter().map(Node::text).collect();
        executors.set(
            &executor_name,
            Node::map().with(
                "container",
                Node::map()
                    .with("image", Node::text(settings.image.as_str()))
                    .with("command", Node::List(command))
                    .with("args", Node::List(args))
                    .with("resources", resources(step)),
            ),
        );
        if let Some(config) = kubernetes_config(plan, step) {
            platform_executors.set(&executor_name, config);
        }
        components.set(&component_name, component);
        tasks.set(&task, task_node);
        outputs_of.insert(step.id.as_str(), output_keys);
    }

    let mut pipeline_info = Node::map().with("name", Node::text(names::pipeline(plan)));
    if let Some(description) = &plan.project.description {
        pipeline_info.set("description", Node::text(description.as_str()));
    }
    let mut root = Node::map().with("dag", Node::map().with("tasks", tasks));
    for param in &params {
        root.entry("inputDefinitions").entry("parameters").set(
            &param.key,
            Node::map()
                .with("parameterType", Node::text(param.ty))
                .with("defaultValue", param.default.clone())
                .with("isOptional", Node::Bool(true)),
        );
    }
    let pipeline = Node::map()
        .with("components", components)
        .with("deploymentSpec", Node::map().with("executors", executors))
        .with("pipelineInfo", pipeline_info)
        .with("root", root)
        .with("schemaVersion", Node::text(SCHEMA_VERSION))
        .with("sdkVersion", Node::text(format!("mlopsc-{}", plan.mlopsc_version)));
    let platform = (platform_executors != Node::map()).then(|| {
        Node::map().with(
            "platforms",
            Node::map().with(
                "kubernetes",
                Node::map().with("deploymentSpec", Node::map().with("executors", platform_executors)),
            ),
        )
    });
    Documents { pipeline, platform }
}

/// The kfp-kubernetes executor config of a task: the `(secret)` values it uses from the
/// project's Kubernetes secret, the `(env)` values from its ConfigMap, as environment variables.
fn kubernetes_config(plan: &Plan, step: &Step) -> Option<Node> {
    let store = names::secret_store(plan);
    let (secrets, variables) = references(plan, step);
    let source = |name_key: &str, parameter_key: &str, key_key: &str, names: &[String]| {
        Node::map()
            .with(name_key, Node::text(store.as_str()))
            .with(
                parameter_key,
                Node::map().with("runtimeValue", Node::map().with("constant", Node::text(store.as_str()))),
            )
            .with(
                "keyToEnv",
                Node::List(
                    names
                        .iter()
                        .map(|name| {
                            Node::map()
                                .with(key_key, Node::text(name.as_str()))
                                .with("envVar", Node::text(name.as_str()))
                        })
                        .collect(),
                ),
            )
            .with("optional", Node::Bool(false))
    };
    let mut config = Node::map();
    if !secrets.is_empty() {
        config.set("secretAsEnv", Node::List(vec![source("secretName", "secretNameParameter", "secretKey", &secrets)]));
    }
    if !variables.is_empty() {
        config.set(
            "configMapAsEnv",
            Node::List(vec![source("configMapName", "configMapNameParameter", "configMapKey", &variables)]),
        );
    }
    (config != Node::map()).then_some(config)
}

/// Notes on what the pipeline leaves out or needs set up beside it.
fn setup_notes(plan: &Plan, store: &StoreMode, settings: &Settings) -> Vec<String> {
    let mut notes: Vec<String> = left_out_notes(plan, Target::Kubeflow).collect();
    match store {
        StoreMode::PerTask(_) => {
            let keeps_state: Vec<String> = plan
                .steps
                .iter()
                .filter(|step| runs(step))
                .filter(|step| {
                    step.kind == "register"
                        || step.params.get("compare_to").and_then(Json::as_array).is_some_and(|list| !list.is_empty())
                })
                .map(|step| format!("`{}`", step.id))
                .collect();
            if !keeps_state.is_empty() {
                notes.push(format!(
                    "kubeflow: each task starts from an empty store in its container, so the model registry that {} use lasts one task only (no champion to compare to, no versions kept); to keep it, declare `store` as an absolute path on a volume every task mounts, or an `(env)` reference",
                    keeps_state.join(", ")
                ));
            }
        }
        StoreMode::Shared(Some(path)) if path.starts_with('/') => notes.push(format!(
            "kubeflow: every task uses the store `{path}`; mount a volume every task shares there (such as kfp-kubernetes `mount_pvc`)"
        )),
        StoreMode::Shared(_) => {}
    }
    let (secrets, variables) = names_by_kind(plan.secrets.iter());
    let namespace =
        settings.namespace.as_ref().map_or_else(String::new, |namespace| format!(" in namespace `{namespace}`"));
    let store = names::secret_store(plan);
    if !secrets.is_empty() {
        notes.push(format!(
            "kubeflow: tasks read {} from the Kubernetes secret `{store}`; create it{namespace} with those keys (`kubectl create secret generic {store} --from-literal=NAME=VALUE …`)",
            secrets.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    if !variables.is_empty() {
        notes.push(format!(
            "kubeflow: tasks read {} from the ConfigMap `{store}`; create it{namespace} with those keys (`kubectl create configmap {store} --from-literal=NAME=VALUE …`)",
            variables.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    if let Some(namespace) = &settings.namespace {
        notes.push(format!(
            "kubeflow: a PipelineSpec names no namespace; submit its runs to `{namespace}` (`kfp --namespace {namespace} run create …`)"
        ));
    }
    notes
}
