//! Times each compiler stage on a spec file: `cargo bench -p mlops-compiler --bench stages -- FILE`.

use std::time::Instant;

fn main() {
    let path = std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with("--"))
        .unwrap_or_else(|| "examples/churn/mlops.kdl".to_string());
    let source = std::fs::read_to_string(&path).expect("spec readable");
    let runs = 10;
    let mut parse_ms = 0.0;
    let mut check_ms = 0.0;
    let mut lower_ms = 0.0;
    let mut kdl_ms = 0.0;
    let mut json_ms = 0.0;
    for _ in 0..runs {
        let start = Instant::now();
        let _ = kdl::KdlDocument::parse_v2(&source);
        kdl_ms += start.elapsed().as_secs_f64() * 1000.0;
        let start = Instant::now();
        let (spec, _) = mlops_compiler::syntax::parse(&source);
        parse_ms += start.elapsed().as_secs_f64() * 1000.0;
        let start = Instant::now();
        let (checked, _) = mlops_compiler::check::check(spec);
        check_ms += start.elapsed().as_secs_f64() * 1000.0;
        let start = Instant::now();
        let plan = mlops_compiler::plan::lower(&checked, "mlops.kdl", &source);
        lower_ms += start.elapsed().as_secs_f64() * 1000.0;
        let start = Instant::now();
        let _ = plan.to_json();
        json_ms += start.elapsed().as_secs_f64() * 1000.0;
    }
    let n = runs as f64;
    println!(
        "{path}: kdl parse {:.2} ms, syntax (incl. kdl) {:.2} ms, check {:.2} ms, lower {:.2} ms, plan JSON {:.2} ms",
        kdl_ms / n,
        parse_ms / n,
        check_ms / n,
        lower_ms / n,
        json_ms / n
    );
}
