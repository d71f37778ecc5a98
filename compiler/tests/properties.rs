//! Property tests: no input panics the compiler, and compiling is deterministic.

use mlops_compiler::compile;
use proptest::prelude::*;

const CHURN: &str = include_str!("../../examples/churn/mlops.kdl");

/// Fragments that are likely to make interesting near-miss specs when spliced in.
const FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "\"",
    "=",
    "(param)",
    "(secret)",
    "(env)",
    "#true",
    "#null",
    "1.5e3",
    "-1",
    ";",
    "\n",
    "dataset \"x\"",
    "from=\"features\"",
    "holdout.valid",
    "@production",
    "derive \"z\" \"a / (b\"",
    "filter \"not\"",
    "schema { a int }",
    "/-",
    "r#\"raw\"#",
    "\"\"\"\nmulti\n\"\"\"",
    "0x1F",
];

fn mutate(source: &str, edits: &[(usize, usize, usize)]) -> String {
    let mut text = source.to_string();
    for &(position, delete, fragment) in edits {
        let mut start = position % (text.len() + 1);
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = (start + delete % 12).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        text.replace_range(start..end, FRAGMENTS[fragment % FRAGMENTS.len()]);
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let _ = compile(&text, "mlops.kdl");
    }

    #[test]
    fn mutated_specs_never_panic_and_compile_deterministically(
        edits in proptest::collection::vec((0usize..4000, 0usize..40, 0usize..64), 1..6)
    ) {
        let text = mutate(CHURN, &edits);
        let first = compile(&text, "mlops.kdl");
        let second = compile(&text, "mlops.kdl");
        prop_assert_eq!(first.diagnostics, second.diagnostics);
        prop_assert_eq!(first.plan.map(|plan| plan.to_json()), second.plan.map(|plan| plan.to_json()));
    }
}

#[test]
fn the_example_plan_is_byte_identical_across_compilations() {
    let first = compile(CHURN, "mlops.kdl").plan.expect("the example compiles").to_json();
    for _ in 0..5 {
        let again = compile(CHURN, "mlops.kdl").plan.expect("the example compiles").to_json();
        assert_eq!(first, again);
    }
}
