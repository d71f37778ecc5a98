//! Helpers shared by the CLI tests: a temporary folder to run the real `mlopsc` in, its output
//! as text, and the small churn spec with data that trains in a moment.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary folder with files in it, where `mlopsc` runs.
pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox { dir: tempfile::tempdir().expect("a temporary folder") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `name` (a path relative to the folder), creating its folders.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("folder");
        std::fs::write(&path, contents).expect("written");
        path
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_else(|error| panic!("{name}: {error}"))
    }

    pub fn exists(&self, name: &str) -> bool {
        self.dir.path().join(name).exists()
    }

    /// Runs `mlopsc args` in the folder.
    pub fn mlopsc(&self, args: &[&str]) -> Output {
        mlopsc(self.path(), args)
    }
}

/// Runs `mlopsc args` in `dir`, without colour.
pub fn mlopsc(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlopsc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("mlopsc runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Copies the folder `from` to `to`, leaving out folders named in `skip`.
pub fn copy_dir(from: &Path, to: &Path, skip: &[&str]) {
    std::fs::create_dir_all(to).expect("folder");
    for entry in std::fs::read_dir(from).expect("readable folder") {
        let path = entry.expect("readable entry").path();
        let target = to.join(path.file_name().expect("a name"));
        if path.is_dir() {
            if path.file_name().is_some_and(|name| !skip.iter().any(|skipped| name == *skipped)) {
                copy_dir(&path, &target, skip);
            }
        } else {
            std::fs::copy(&path, &target).expect("copied");
        }
    }
}

/// A spec small enough to train in a moment, with parameters a run overrides; `target` is its
/// last line.
pub fn small_spec(target: &str) -> String {
    format!(
        r#"project "tiny" version="0.1.0"

params {{
    rounds 40
    min-auc 0.6
}}

dataset "customers" {{
    source "data/customers.csv"
    schema {{
        customer_id string unique=#true
        monthly_charges float min=0
        tenure_months int min=0
        churned bool
    }}
}}

transform "features" from="customers" {{
    drop "customer_id"
    scale "monthly_charges" method="standard"
}}

split "holdout" from="features" train=0.7 valid=0.15 test=0.15 stratify="churned" seed=42

train "churn" data="holdout.train" label="churned" {{
    xgboost objective="binary:logistic" rounds=(param)"rounds" max_depth=3 eta=0.3 nthread=1 seed=1
}}

evaluate "churn" data="holdout.test" {{
    metrics "auc"
    gate "auc" min=(param)"min-auc"
}}

register "churn-classifier" model="churn" alias="staging"

package "churn-classifier" format="bundle"

{target}
"#
    )
}

/// 600 customers whose churn depends on tenure and charges, for [`small_spec`]; the same on
/// every machine.
pub fn small_customers_csv() -> String {
    let mut state: u64 = 11;
    let mut next = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut csv = String::from("customer_id,monthly_charges,tenure_months,churned\n");
    for index in 0..600 {
        let charges = 20.0 + next() * 100.0;
        let tenure = (next() * 72.0) as i64;
        let churned = 0.03 * charges - 0.06 * tenure as f64 + next() * 1.5 > 0.6;
        csv.push_str(&format!("c{index:04},{charges:.2},{tenure},{churned}\n"));
    }
    csv
}
