//! Fixture tests: every `fixtures/ok/*.kdl` compiles with no diagnostic at all, every
//! `fixtures/err/*.kdl` gives at least one, and the rendered diagnostics are snapshotted.

use miette::{GraphicalReportHandler, GraphicalTheme, NamedSource};
use mlops_compiler::{compile, plan, Diagnostic};

/// Renders diagnostics the way users see them, without colour, 80 columns wide.
fn render(name: &str, source: &str, diagnostics: &[Diagnostic]) -> String {
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

fn read(path: &std::path::Path) -> (String, String) {
    let source = std::fs::read_to_string(path).expect("fixture is readable");
    let name = format!("{}", path.file_name().expect("fixture has a name").to_string_lossy());
    (name, source)
}

#[test]
fn ok_fixtures_have_no_diagnostics() {
    insta::glob!("fixtures/ok/*.kdl", |path| {
        let (name, source) = read(path);
        let compilation = compile(&source, &name);
        assert!(
            compilation.diagnostics.is_empty(),
            "{name} should compile cleanly:\n{}",
            render(&name, &source, &compilation.diagnostics)
        );
        let plan = compilation.plan.expect("a spec without errors has a plan");
        insta::assert_snapshot!(plan::to_human(&plan));
    });
}

#[test]
fn err_fixtures_report_problems() {
    insta::glob!("fixtures/err/*.kdl", |path| {
        let (name, source) = read(path);
        let compilation = compile(&source, &name);
        assert!(!compilation.diagnostics.is_empty(), "{name} should give at least one diagnostic");
        insta::assert_snapshot!(render(&name, &source, &compilation.diagnostics));
    });
}

#[test]
fn examples_compile_cleanly() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut count = 0;
    for entry in std::fs::read_dir(&examples).expect("examples/ exists") {
        let spec = entry.expect("readable entry").path().join("mlops.kdl");
        if !spec.exists() {
            continue;
        }
        let source = std::fs::read_to_string(&spec).expect("example is readable");
        let compilation = compile(&source, "mlops.kdl");
        assert!(
            compilation.diagnostics.is_empty(),
            "{} should compile cleanly:\n{}",
            spec.display(),
            render("mlops.kdl", &source, &compilation.diagnostics)
        );
        count += 1;
    }
    assert!(count >= 3, "expected at least three examples, found {count}");
}
