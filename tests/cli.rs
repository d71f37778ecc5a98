//! CLI tests: run the real `mlopsc` binary in a temporary folder and check exit codes, stdout
//! and stderr for every command and message format.

mod common;

use common::{stderr, stdout, Sandbox};

const CHURN: &str = include_str!("../examples/churn/mlops.kdl");

const BAD: &str = r#"dataset "customers" {
    source "data/customers.csv"
    schema {
        id string
        age int
        churned bool
    }
}

transform "features" from="customers" {
    drop "id"
    derive "ratio" "age / agee"
}

split "holdout" from="featurs" train=0.8 test=0.2
"#;

#[test]
fn check_accepts_the_example_and_defaults_to_mlops_kdl() {
    let sandbox = Sandbox::new();
    sandbox.write("mlops.kdl", CHURN);
    let output = sandbox.mlopsc(&["check"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).contains("mlops.kdl: ok, 11 steps"), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
}

#[test]
fn check_reports_every_error_in_human_form_and_exits_1() {
    let sandbox = Sandbox::new();
    sandbox.write("bad.kdl", BAD);
    let output = sandbox.mlopsc(&["check", "bad.kdl"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains("mlops::check::unknown-column"), "{text}");
    assert!(text.contains("did you mean `age`?"), "{text}");
    assert!(text.contains("mlops::check::unknown-reference"), "{text}");
    assert!(text.contains("did you mean `features`?"), "{text}");
    assert!(text.contains("error: 2 errors in bad.kdl"), "{text}");
}

#[test]
fn check_json_prints_one_object_per_diagnostic_with_positions() {
    let sandbox = Sandbox::new();
    sandbox.write("bad.kdl", BAD);
    let output = sandbox.mlopsc(&["check", "bad.kdl", "--message-format", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let diagnostics: Vec<serde_json::Value> =
        stdout(&output).lines().map(|line| serde_json::from_str(line).expect("each line is JSON")).collect();
    assert_eq!(diagnostics.len(), 2);
    let first = &diagnostics[0];
    assert_eq!(first["code"], "mlops::check::unknown-column");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["file"], "bad.kdl");
    assert_eq!((first["line"].as_u64(), first["column"].as_u64()), (Some(12), Some(27)));
    assert_eq!(first["span"]["length"], 4);
    assert_eq!(first["help"], "did you mean `age`?");
    assert_eq!(first["message"], "column `agee` does not exist at this point of transform `features`");
    let second = &diagnostics[1];
    assert_eq!(second["code"], "mlops::check::unknown-reference");
    assert_eq!((second["line"].as_u64(), second["column"].as_u64()), (Some(15), Some(22)));
}

#[test]
fn check_github_prints_annotations() {
    let sandbox = Sandbox::new();
    sandbox.write("bad.kdl", BAD);
    let output = sandbox.mlopsc(&["check", "bad.kdl", "--message-format", "github"]);
    assert_eq!(output.status.code(), Some(1));
    let lines: Vec<String> = stdout(&output).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].starts_with("::error file=bad.kdl,line=12,col=27,endLine=12,endColumn=31,title=mlops%3A%3Acheck%3A%3Aunknown-column::column `agee` does not exist"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("%0Ahelp: did you mean `age`?"), "{}", lines[0]);
}

#[test]
fn warnings_do_not_change_the_exit_code() {
    let sandbox = Sandbox::new();
    sandbox.write("mlops.kdl", "dataset \"lonely\" {\n    source \"a.csv\"\n    schema { x int; }\n}\n");
    let output = sandbox.mlopsc(&["check", "--message-format", "json"]);
    assert_eq!(output.status.code(), Some(0));
    let diagnostic: serde_json::Value = serde_json::from_str(stdout(&output).trim()).expect("one JSON line");
    assert_eq!(diagnostic["severity"], "warning");
    assert_eq!(diagnostic["code"], "mlops::check::unused");
    let human = sandbox.mlopsc(&["check"]);
    assert_eq!(human.status.code(), Some(0));
    assert!(stderr(&human).contains("warning: 1 warning in mlops.kdl"), "{}", stderr(&human));
}

#[test]
fn kdl_syntax_errors_come_through_with_kdls_span() {
    let sandbox = Sandbox::new();
    sandbox.write("mlops.kdl", "dataset \"x {\n");
    let output = sandbox.mlopsc(&["check", "--message-format", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let first: serde_json::Value =
        serde_json::from_str(stdout(&output).lines().next().expect("a diagnostic")).expect("JSON");
    assert_eq!(first["code"], "mlops::syntax::kdl");
}

#[test]
fn usage_errors_exit_2() {
    let sandbox = Sandbox::new();
    let missing = sandbox.mlopsc(&["check", "nowhere.kdl"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("cannot read `nowhere.kdl`"), "{}", stderr(&missing));
    sandbox.write("mlops.kdl", CHURN);
    let bad_flag = sandbox.mlopsc(&["check", "--message-format", "xml"]);
    assert_eq!(bad_flag.status.code(), Some(2));
    let unknown_command = sandbox.mlopsc(&["chekc"]);
    assert_eq!(unknown_command.status.code(), Some(2));
}

#[test]
fn a_spec_that_is_not_utf8_is_a_spec_error() {
    let sandbox = Sandbox::new();
    sandbox.write("mlops.kdl", [b'a', 0xff, 0xfe, b'\n']);
    let output = sandbox.mlopsc(&["check"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("is not UTF-8"), "{}", stderr(&output));
}

#[test]
fn plan_json_is_byte_identical_across_runs_and_folders() {
    let first = Sandbox::new();
    first.write("mlops.kdl", CHURN);
    let second = Sandbox::new();
    second.write("nested/deeper/mlops.kdl", CHURN);
    let a = first.mlopsc(&["plan", "--json"]);
    let b = first.mlopsc(&["plan", "mlops.kdl", "--json"]);
    let absolute = second.path().join("nested/deeper/mlops.kdl");
    let c = second.mlopsc(&["plan", absolute.to_str().expect("UTF-8 path"), "--json"]);
    assert_eq!(a.status.code(), Some(0), "{}", stderr(&a));
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(a.stdout, c.stdout);
    let plan: serde_json::Value = serde_json::from_slice(&a.stdout).expect("plan is JSON");
    assert_eq!(plan["plan_version"], 1);
    assert_eq!(plan["spec"]["file"], "mlops.kdl");
    let ids: Vec<&str> =
        plan["steps"].as_array().expect("steps").iter().map(|step| step["id"].as_str().unwrap_or("")).collect();
    assert_eq!(ids[..4], ["ingest.customers", "validate.customers", "transform.features", "split.holdout"]);
    let text = String::from_utf8(a.stdout).expect("UTF-8");
    assert!(!text.contains(first.path().to_str().expect("UTF-8 path")), "the plan must not hold absolute paths");
}

#[test]
fn plan_human_lists_steps_with_schemas() {
    let sandbox = Sandbox::new();
    sandbox.write("mlops.kdl", CHURN);
    let output = sandbox.mlopsc(&["plan"]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(text.starts_with("plan for `churn` 1.0.0 — 11 steps"), "{text}");
    assert!(text.contains("plan_basic int, plan_pro int, plan_enterprise int"), "{text}");
    assert!(text.contains("xgboost.rounds = (param) rounds"), "{text}");
}

#[test]
fn plan_of_a_bad_spec_prints_diagnostics_and_exits_1() {
    let sandbox = Sandbox::new();
    sandbox.write("mlops.kdl", BAD);
    let output = sandbox.mlopsc(&["plan", "--json"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    assert!(stderr(&output).contains("mlops::check::unknown-reference"));
}

#[test]
fn graph_draws_dot_and_mermaid() {
    let sandbox = Sandbox::new();
    sandbox.write("mlops.kdl", CHURN);
    let dot = sandbox.mlopsc(&["graph"]);
    assert_eq!(dot.status.code(), Some(0));
    let dot = stdout(&dot);
    assert!(dot.starts_with("digraph \"churn\" {"), "{dot}");
    assert!(dot.contains("\"split.holdout\" -> \"train.churn\";"), "{dot}");
    let mermaid = sandbox.mlopsc(&["graph", "--format", "mermaid"]);
    assert_eq!(mermaid.status.code(), Some(0));
    let mermaid = stdout(&mermaid);
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
    assert!(mermaid.contains("s1[\"ingest.customers\"]"), "{mermaid}");
    assert!(mermaid.contains("s1 --> s2"), "{mermaid}");
}
