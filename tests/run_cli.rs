//! End-to-end tests of `mlopsc run` and `mlopsc step run`: a real spec on real CSV data,
//! trained with XGBoost into a real store, in a temporary folder.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{stderr, Sandbox};

/// A spec over the generated data: every batch kind that `mlopsc run` executes.
const SPEC: &str = r#"project "churn-test" version="0.1.0"

params {
    rounds 60
    min-auc 0.70
}

dataset "customers" {
    source "data/customers.csv"
    schema {
        customer_id string unique=#true
        age int min=18 max=100 nullable=#true
        plan category { levels "basic" "pro" "enterprise"; }
        monthly_charges float min=0
        tenure_months int min=0
        churned bool
    }
    expect row-count min=500
}

transform "features" from="customers" {
    drop "customer_id"
    impute "age" strategy="median"
    one-hot "plan"
    derive "charge_per_tenure" "monthly_charges / (tenure_months + 1)"
    scale "monthly_charges" "charge_per_tenure" method="standard"
}

split "holdout" from="features" train=0.7 valid=0.15 test=0.15 stratify="churned" seed=42

train "churn" data="holdout.train" label="churned" {
    xgboost objective="binary:logistic" rounds=(param)"rounds" max_depth=4 eta=0.2 early-stopping=10 nthread=2 seed=1
}

evaluate "churn" data="holdout.test" {
    metrics "auc" "f1" "accuracy" "logloss"
    gate "auc" min=(param)"min-auc"
}

register "churn-classifier" model="churn" alias="staging"
"#;

/// A deterministic pseudo-random generator, so the data is the same on every machine.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// 2,000 customers whose churn depends on tenure, charges and plan.
fn customers_csv(seed: u64) -> String {
    let mut rng = Lcg(seed);
    let mut csv = String::from("customer_id,age,plan,monthly_charges,tenure_months,churned\n");
    for index in 0..2000 {
        let age = 18 + (rng.next() * 60.0) as i64;
        let plan = ["basic", "pro", "enterprise"][(rng.next() * 3.0) as usize % 3];
        let charges = 20.0 + rng.next() * 100.0;
        let tenure = (rng.next() * 72.0) as i64;
        let score = 0.03 * charges - 0.06 * tenure as f64 + if plan == "basic" { 0.8 } else { -0.4 } + rng.next() * 1.5;
        let churned = score > 1.2;
        let age_text = if index % 37 == 0 { String::new() } else { age.to_string() };
        csv.push_str(&format!("c{index:05},{age_text},{plan},{charges:.2},{tenure},{churned}\n"));
    }
    csv
}

/// A temporary folder with the spec and its data.
fn project() -> Sandbox {
    let project = Sandbox::new();
    project.write("mlops.kdl", SPEC);
    project.write("data/customers.csv", customers_csv(7));
    project
}

/// Step id → (status, reason) from `--log-format json` output.
fn statuses(output: &Output) -> std::collections::BTreeMap<String, (String, String)> {
    stderr(output)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|event| event["event"] == "step_finished")
        .map(|event| {
            (
                event["step"].as_str().unwrap_or_default().to_string(),
                (
                    event["status"].as_str().unwrap_or_default().to_string(),
                    event["reason"].as_str().unwrap_or_default().to_string(),
                ),
            )
        })
        .collect()
}

#[test]
fn a_pipeline_runs_then_caches_then_explains_what_changed() {
    let project = project();
    let first = project.mlopsc(&["run", "--log-format", "json"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let steps = statuses(&first);
    for id in [
        "ingest.customers",
        "validate.customers",
        "transform.features",
        "split.holdout",
        "train.churn",
        "evaluate.churn",
        "register.churn-classifier",
    ] {
        assert_eq!(steps.get(id).map(|(status, _)| status.as_str()), Some("succeeded"), "{id}: {}", stderr(&first));
        assert_eq!(steps[id].1, "first run");
    }
    assert!(project.path().join(".mlops/mlops.db").is_file());

    let second = project.mlopsc(&["run", "--log-format", "json"]);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert!(statuses(&second).values().all(|(status, _)| status == "cached"), "{}", stderr(&second));

    let changed = project.mlopsc(&["run", "--log-format", "json", "--set", "rounds=40"]);
    assert_eq!(changed.status.code(), Some(0), "{}", stderr(&changed));
    let steps = statuses(&changed);
    assert_eq!(steps["split.holdout"].0, "cached");
    assert_eq!(steps["train.churn"].0, "succeeded");
    assert!(steps["train.churn"].1.contains("params changed: xgboost.rounds 60 → 40"), "{:?}", steps["train.churn"]);

    project.write("data/customers.csv", customers_csv(8));
    let data_changed = project.mlopsc(&["run", "--log-format", "json"]);
    assert_eq!(data_changed.status.code(), Some(0), "{}", stderr(&data_changed));
    let steps = statuses(&data_changed);
    assert_eq!(steps["ingest.customers"].0, "succeeded");
    assert_eq!(steps["ingest.customers"].1, "data changed: data/customers.csv");
    assert!(steps["validate.customers"].1.contains("input `raw` changed"), "{:?}", steps["validate.customers"]);
}

#[test]
fn the_same_spec_and_data_give_the_same_model_bytes() {
    let one = project();
    let two = project();
    for project in [&one, &two] {
        let output = project.mlopsc(&["run", "--quiet"]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    }
    let model = |project: &Sandbox| {
        let target = project.path().join("model.json");
        let plan = project.path().join("plan.json");
        let json = project.mlopsc(&["plan", "--json"]);
        std::fs::write(&plan, &json.stdout).expect("plan written");
        let output = project.mlopsc(&[
            "step",
            "run",
            "train.churn",
            "--plan",
            "plan.json",
            "--output",
            &format!("model={}", target.display()),
        ]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        std::fs::read(target).expect("model copied")
    };
    assert_eq!(model(&one), model(&two));
}

#[test]
fn a_failed_gate_stops_registration_and_exits_1() {
    let project = project();
    let output = project.mlopsc(&["run", "--log-format", "json", "--set", "min-auc=0.999"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let steps = statuses(&output);
    assert_eq!(steps["evaluate.churn"].0, "failed");
    assert_eq!(steps["register.churn-classifier"].0, "skipped");
    assert!(stderr(&output).contains("gate failed: auc"), "{}", stderr(&output));
}

#[test]
fn bad_data_names_the_row_and_column_and_loses_nothing() {
    let project = project();
    // Data row 11 (line 12 of the file) gets a word where `tenure_months` needs an integer.
    let csv = customers_csv(7);
    let broken = csv.lines().enumerate().map(|(index, line)| {
        if index == 11 {
            let mut fields: Vec<&str> = line.split(',').collect();
            fields[4] = "twelve";
            fields.join(",")
        } else {
            line.to_string()
        }
    });
    project.write("data/customers.csv", broken.collect::<Vec<_>>().join("\n") + "\n");
    let output = project.mlopsc(&["run"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("tenure_months"), "{text}");
    assert!(text.contains("twelve"), "{text}");
}

#[test]
fn unknown_and_mistyped_set_values_are_usage_errors() {
    let project = project();
    let unknown = project.mlopsc(&["run", "--set", "roundz=5"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("no parameter `roundz`; did you mean `rounds`?"), "{}", stderr(&unknown));
    let mistyped = project.mlopsc(&["run", "--set", "rounds=many"]);
    assert_eq!(mistyped.status.code(), Some(2));
    assert!(stderr(&mistyped).contains("the value must be an integer"), "{}", stderr(&mistyped));
}

#[test]
fn a_missing_source_file_is_a_clear_error() {
    let project = project();
    std::fs::remove_file(project.path().join("data/customers.csv")).expect("removed");
    let output = project.mlopsc(&["run"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("data/customers.csv"), "{}", stderr(&output));
}

#[test]
fn reproduce_uses_the_recorded_data_after_the_files_changed() {
    let project = project();
    let first = project.mlopsc(&["run", "--quiet"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    project.write("data/customers.csv", customers_csv(99));
    let again = project.mlopsc(&["run", "--reproduce", "1", "--log-format", "json"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let steps = statuses(&again);
    assert!(steps["ingest.customers"].1.starts_with("reproducing run 1"), "{:?}", steps["ingest.customers"]);
    assert_eq!(steps["train.churn"].0, "cached", "the same data gives the same cache keys");
}

#[test]
fn two_concurrent_runs_on_one_store_both_succeed() {
    let project = project();
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_mlopsc"))
            .args(["run", "--quiet"])
            .current_dir(project.path())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("mlopsc starts")
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let output = child.wait_with_output().expect("mlopsc finishes");
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    }
    verify_objects(&project.path().join(".mlops"));
}

#[test]
fn a_killed_run_leaves_no_corrupt_object_and_the_next_run_succeeds() {
    let project = project();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlopsc"))
        .args(["run", "--quiet"])
        .current_dir(project.path())
        .spawn()
        .expect("mlopsc starts");
    std::thread::sleep(std::time::Duration::from_millis(400));
    let _ = child.kill();
    let _ = child.wait();
    verify_objects(&project.path().join(".mlops"));
    let output = project.mlopsc(&["run", "--quiet"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    verify_objects(&project.path().join(".mlops"));
    // The killed run (when it got as far as recording itself) is not left `running` forever.
    let listed = project.mlopsc(&["runs", "list", "--json"]);
    let runs: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("runs list --json");
    let statuses: Vec<&str> =
        runs.as_array().expect("a list").iter().filter_map(|run| run["status"].as_str()).collect();
    assert_eq!(statuses.first(), Some(&"succeeded"), "{statuses:?}");
    assert!(statuses.iter().all(|status| *status != "running"), "{statuses:?}");
}

#[test]
fn a_run_whose_process_died_is_marked_failed_and_a_live_one_is_left_alone() {
    let project = project();
    let output = project.mlopsc(&["run", "--quiet"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let store = project.path().join(".mlops");
    // Run 1 is made to look unfinished: `running`, its lease file held by this test process.
    rusqlite::Connection::open(store.join("mlops.db"))
        .unwrap()
        .execute("UPDATE runs SET status = 'running', finished_at = NULL WHERE id = 1", [])
        .unwrap();
    std::fs::create_dir_all(store.join("runs")).unwrap();
    let lease = std::fs::File::create(store.join("runs/1.lock")).unwrap();
    lease.lock().unwrap();
    // What a step of run 1 was writing when its process died; another run's is left alone.
    let scratch = store.join("tmp/run-1-a1b2c3");
    std::fs::create_dir_all(&scratch).unwrap();
    std::fs::write(scratch.join("table.parquet"), b"half written").unwrap();
    let other = store.join("tmp/run-11-d4e5f6");
    std::fs::create_dir_all(&other).unwrap();
    let status = |id: i64| -> String {
        let listed = project.mlopsc(&["runs", "list", "--json"]);
        let runs: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("runs list --json");
        let run = runs.as_array().unwrap().iter().find(|run| run["id"] == id).expect("the run is listed");
        run["status"].as_str().unwrap().to_string()
    };

    let output = project.mlopsc(&["run", "--quiet"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(status(1), "running", "a run whose lease is held is alive");
    assert_eq!(status(2), "succeeded");
    assert!(scratch.exists(), "a live run's scratch folder is kept");

    drop(lease); // the process that held it is gone
    let output = project.mlopsc(&["run", "--quiet"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(status(1), "failed", "a run nobody holds is abandoned");
    assert_eq!(status(3), "succeeded");
    assert!(!store.join("runs/1.lock").exists(), "the dead run's lease file is gone");
    assert!(!scratch.exists(), "the dead run's half-written outputs are gone");
    assert!(other.exists(), "another run's scratch folder is left alone");
    assert!(!store.join("runs/3.lock").exists(), "a finished run leaves no lease file");
}

/// Every object's bytes hash to its name.
fn verify_objects(store: &Path) {
    let objects = store.join("objects");
    let Ok(prefixes) = std::fs::read_dir(&objects) else { return };
    for prefix in prefixes {
        let prefix = prefix.expect("entry").path();
        for object in std::fs::read_dir(&prefix).expect("prefix folder") {
            let path = object.expect("entry").path();
            let bytes = std::fs::read(&path).expect("object readable");
            let name = format!(
                "{}{}",
                prefix.file_name().expect("name").to_string_lossy(),
                path.file_name().expect("name").to_string_lossy()
            );
            assert_eq!(blake3::hash(&bytes).to_hex().to_string(), name, "object {} is corrupt", path.display());
        }
    }
}
