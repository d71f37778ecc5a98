//! Golden files of the Kubeflow target: every example (and every spec under `tests/specs/`)
//! built for Kubeflow, snapshotted; the same input always gives the same bytes; paths, secrets
//! and parameters land where the PipelineSpec expects them.

mod common;

use mlops_targets::Target;

#[test]
fn every_spec_builds_for_kubeflow_as_snapshotted() {
    for common::Golden { name, plan, emitted, files } in common::golden(Target::Kubeflow) {
        let project = &plan.project.name;
        let paths: Vec<&str> = emitted.files.iter().map(|file| file.path.as_str()).collect();
        assert_eq!(paths, [format!("{project}.plan.json"), format!("kubeflow/{project}.yaml")], "{name}");
        for (path, text) in files {
            insta::assert_snapshot!(format!("{name}__{}", path.replace('/', "__")), text);
        }
        insta::assert_snapshot!(format!("{name}__kubeflow_notes"), emitted.notes.join("\n"));
    }
}

#[test]
fn building_twice_gives_identical_bytes() {
    common::assert_deterministic(Target::Kubeflow);
}

fn pipeline_text(source: &str, spec_path: &str) -> String {
    let emitted = common::build(source, spec_path, &[Target::Kubeflow]);
    let file = emitted.files.iter().find(|file| file.path.starts_with("kubeflow/")).expect("a pipeline file");
    String::from_utf8(file.bytes.clone()).expect("UTF-8")
}

#[test]
fn every_task_runs_the_step_contract_with_artifacts_and_parameters() {
    let source = std::fs::read_to_string(common::root().join("examples/churn/mlops.kdl")).expect("example");
    let text = pipeline_text(&source, "examples/churn/mlops.kdl");
    assert!(text.contains("from examples/churn/mlops.kdl ("), "{text}");
    for expected in [
        "        command:\n        - mlopsc\n        - step\n        - run\n        - train.churn\n",
        "        - \"--plan\"\n        - churn.plan.json\n        - \"--project-dir\"\n        - examples/churn\n        - \"--store\"\n        - examples/churn/.mlops\n",
        "        - \"fitted.features={{$.inputs.artifacts['fitted_features'].path}}\"\n",
        "        - \"model={{$.outputs.artifacts['model'].path}}\"\n",
        "        - \"--set\"\n        - \"rounds={{$.inputs.parameters['rounds']}}\"\n",
        "        image: \"ghcr.io/acme/mlopsc:0.1.0\"\n",
        "          resourceCpuRequest: \"2\"\n",
        "            fitted_features:\n              taskOutputArtifact:\n                outputArtifactKey: fitted\n                producerTask: transform-features\n",
        "      min_auc:\n        defaultValue: 0.8\n        isOptional: true\n        parameterType: NUMBER_DOUBLE\n",
        "        cachingOptions:\n          enableCache: true\n",
        "schemaVersion: \"2.1.0\"\n",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    assert!(!text.contains("serve"), "services are left out: {text}");
    assert!(!text.contains("monitor"), "monitors are left out: {text}");
    assert!(!text.contains("platforms:"), "no secrets, no platform spec: {text}");
}

#[test]
fn secrets_reach_tasks_only_through_the_platform_spec() {
    let source = std::fs::read_to_string(common::root().join("targets/tests/specs/everything.kdl")).expect("spec");
    let text = pipeline_text(&source, "mlops.kdl");
    let (pipeline, platform) = text.split_once("\n---\n").expect("a platform spec document");
    assert!(!pipeline.contains("NOTIFY_TOKEN"), "{pipeline}");
    assert!(!pipeline.contains("MLOPS_STORE"), "{pipeline}");
    assert!(platform.starts_with("platforms:\n  kubernetes:\n    deploymentSpec:\n      executors:\n"), "{platform}");
    assert!(
        platform.contains("            - envVar: NOTIFY_TOKEN\n              secretKey: NOTIFY_TOKEN\n"),
        "{platform}"
    );
    assert!(
        platform.contains("            - configMapKey: AWS_REGION\n              envVar: AWS_REGION\n"),
        "{platform}"
    );
    assert!(platform.contains("            secretName: mlops-kitchen-sink\n"), "{platform}");
    // The store is an (env) reference: every task reads it from the ConfigMap, and no task is
    // told a `--store` path.
    assert_eq!(platform.matches("configMapKey: MLOPS_STORE").count(), 7, "{platform}");
    assert!(!pipeline.contains("--store"), "{pipeline}");
}

#[test]
fn kubeflow_builds_beside_github_actions_and_shares_the_plan() {
    let source = std::fs::read_to_string(common::root().join("examples/churn/mlops.kdl")).expect("example");
    let emitted = common::build(&source, "mlops.kdl", &[Target::GithubActions, Target::Kubeflow]);
    let paths: Vec<&str> = emitted.files.iter().map(|file| file.path.as_str()).collect();
    assert_eq!(
        paths,
        [".github/workflows/churn-check.yml", ".github/workflows/churn.yml", "churn.plan.json", "kubeflow/churn.yaml"]
    );
    assert!(emitted.notes.iter().any(|note| note.starts_with("kubeflow: left out `serve.churn-api`")));
    assert!(emitted.notes.iter().any(|note| note.starts_with("github-actions: left out `serve.churn-api`")));
}
