//! Helpers shared by the targets' integration tests: the specs to build, and building them the
//! way `mlopsc build` does.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use miette::{GraphicalReportHandler, GraphicalTheme, NamedSource};
use mlops_targets::{Emitted, Options, Target, TargetDiagnostic};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `examples/*/mlops.kdl` plus `targets/tests/specs/*.kdl`, as (name, spec path), sorted.
pub fn specs() -> Vec<(String, PathBuf)> {
    let mut specs = Vec::new();
    for entry in std::fs::read_dir(root().join("examples")).expect("examples/ exists") {
        let dir = entry.expect("readable entry").path();
        let spec = dir.join("mlops.kdl");
        if spec.is_file() {
            let name = dir.file_name().expect("a folder name").to_string_lossy().into_owned();
            specs.push((name, spec));
        }
    }
    assert!(specs.len() >= 4, "expected the four examples, found {}", specs.len());
    for entry in std::fs::read_dir(root().join("targets/tests/specs")).expect("specs/ exists") {
        let spec = entry.expect("readable entry").path();
        let name = spec.file_stem().expect("a file name").to_string_lossy().into_owned();
        specs.push((name, spec));
    }
    specs.sort();
    specs
}

/// Builds `source` (a spec file called `mlops.kdl` at `spec_path` under the output folder).
pub fn build(source: &str, spec_path: &str, targets: &[Target]) -> Emitted {
    let options = Options { spec_path: spec_path.to_string(), targets: targets.to_vec(), ..Options::default() };
    build_with(source, &options)
}

/// Builds `source` with `options`.
pub fn build_with(source: &str, options: &Options) -> Emitted {
    let file = options.spec_path.rsplit('/').next().unwrap_or("mlops.kdl");
    let compilation = mlops_compiler::compile(source, file);
    let plan = compilation.plan.expect("the spec compiles");
    let (spec, _) = mlops_compiler::syntax::parse(source);
    let targets = if options.targets.is_empty() { vec![Target::GithubActions] } else { options.targets.clone() };
    mlops_targets::build(&targets, &plan, &spec, options).expect("the plan builds")
}

/// Renders diagnostics as users see them, without colour, 80 columns wide.
pub fn render(name: &str, source: &str, diagnostics: &[TargetDiagnostic]) -> String {
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(80);
    let mut out = String::new();
    for diagnostic in diagnostics {
        let report =
            miette::Report::new(diagnostic.clone()).with_source_code(NamedSource::new(name, source.to_string()));
        handler.render_report(&mut out, report.as_ref()).expect("rendering to a String cannot fail");
        out.push('\n');
    }
    out
}
