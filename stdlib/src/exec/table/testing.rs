//! A harness for the step kinds' unit tests: a temporary project folder, params, input and
//! output paths, and a [`StepContext`] built from them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

use serde_json::Value as Json;

use crate::exec::{StepContext, StepError, StepResult};

/// One step's world, in a temporary folder that lives as long as the harness.
#[derive(Debug)]
pub(crate) struct Harness {
    /// The project folder.
    pub dir: tempfile::TempDir,
    /// The step's params.
    pub params: BTreeMap<String, Json>,
    /// Input name → file.
    pub inputs: BTreeMap<String, PathBuf>,
    /// Output name → file (under `out/`).
    pub outputs: BTreeMap<String, PathBuf>,
    /// What the step logged.
    pub logged: Mutex<Vec<String>>,
    /// The threads the step may use (1 unless a test says otherwise).
    pub threads: usize,
}

impl Harness {
    /// An empty project.
    pub fn new() -> Harness {
        let dir = tempfile::tempdir().expect("a temporary folder");
        std::fs::create_dir_all(dir.path().join("out")).expect("an output folder");
        Harness {
            dir,
            params: BTreeMap::new(),
            inputs: BTreeMap::new(),
            outputs: BTreeMap::new(),
            logged: Mutex::new(Vec::new()),
            threads: 1,
        }
    }

    /// A path inside the project folder.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Writes a file inside the project folder, creating its folders.
    pub fn write(&self, relative: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("a folder");
        }
        std::fs::write(&path, bytes).expect("a written file");
        path
    }

    /// Sets the params from a JSON object.
    pub fn params(&mut self, params: Json) -> &mut Harness {
        let Json::Object(object) = params else { panic!("params must be a JSON object") };
        self.params = object.into_iter().collect();
        self
    }

    /// Declares an input file.
    pub fn input(&mut self, name: &str, path: &Path) -> &mut Harness {
        self.inputs.insert(name.to_string(), path.to_path_buf());
        self
    }

    /// Declares an output, written to `out/NAME.EXTENSION`.
    pub fn output(&mut self, name: &str, extension: &str) -> &mut Harness {
        let path = self.path(&format!("out/{name}.{extension}"));
        self.outputs.insert(name.to_string(), path);
        self
    }

    /// The path of a declared output.
    pub fn output_path(&self, name: &str) -> &Path {
        self.outputs.get(name).expect("a declared output")
    }

    /// Runs the step `kind.name` through the dispatch.
    pub fn run(&self, kind: &str, name: &str) -> Result<StepResult, StepError> {
        let step_id = format!("{kind}.{name}");
        let cancel = AtomicBool::new(false);
        let log = |line: &str| self.logged.lock().expect("the log").push(line.to_string());
        let ctx = StepContext {
            step_id: &step_id,
            kind,
            params: &self.params,
            inputs: &self.inputs,
            outputs: &self.outputs,
            project_dir: self.dir.path(),
            threads: self.threads,
            log: &log,
            cancel: &cancel,
        };
        crate::exec::run(&ctx)
    }
}

/// The one-line message and detail lines of an error, for assertions.
pub(crate) fn error_text(error: &StepError) -> String {
    match error {
        StepError::Data { message, details } => {
            std::iter::once(message.clone()).chain(details.iter().cloned()).collect::<Vec<_>>().join("\n")
        }
        other => other.to_string(),
    }
}
