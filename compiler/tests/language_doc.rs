//! Keeps `docs/language.md` in step with the language: every keyword, option, allowed value,
//! distribution and expression function must appear in it, written as `` `name` ``.

use std::collections::BTreeSet;

use mlops_compiler::check::FUNCTIONS;
use mlops_stdlib::signature::{ArgSpec, Children, NodeSpec, OptionSpec};
use mlops_stdlib::vocabulary::{COLUMN_OPTIONS, COLUMN_TYPES, DISTRIBUTIONS, LEVELS, TOP_LEVEL, XGBOOST_OPTIONS};

/// Everything the reference must mention, as (what it is, where it comes from, the word).
#[derive(Default)]
struct Required {
    entries: BTreeSet<(String, String, &'static str)>,
}

impl Required {
    fn add(&mut self, what: &str, place: &str, word: &'static str) {
        self.entries.insert((what.to_string(), place.to_string(), word));
    }

    fn args(&mut self, node: &NodeSpec, place: &str) {
        let args: Vec<&ArgSpec> =
            node.args.required.iter().chain(node.args.optional).chain(node.args.rest.as_ref()).collect();
        for arg in args {
            for choice in arg.choices {
                self.add("allowed value", &format!("{place}, argument {}", arg.name), choice);
            }
        }
    }

    fn options(&mut self, options: &[OptionSpec], place: &str) {
        for option in options {
            self.add("option", place, option.name);
            for choice in option.choices {
                self.add("allowed value", &format!("{place}, option {}", option.name), choice);
            }
        }
    }

    /// Walks a node and, through `Children::Nodes`, everything it may hold.
    fn node(&mut self, node: &NodeSpec, parent: &str) {
        let place = if parent.is_empty() { node.keyword.to_string() } else { format!("{parent} > {}", node.keyword) };
        let what = if parent.is_empty() { "top-level node" } else { "child node" };
        self.add(what, parent, node.keyword);
        self.args(node, &place);
        self.options(node.options, &place);
        match node.children {
            Children::Nodes(children) => {
                for child in children {
                    self.node(child, &place);
                }
            }
            Children::Columns => {
                for ty in COLUMN_TYPES {
                    self.add("column type", &place, ty);
                }
                self.options(COLUMN_OPTIONS, &format!("{place} > column"));
                self.node(&LEVELS, &format!("{place} > column"));
            }
            Children::SearchSpace => {
                for distribution in DISTRIBUTIONS {
                    self.add("distribution", &place, distribution);
                }
            }
            Children::None | Children::Params => {}
        }
    }
}

fn required() -> Required {
    let mut required = Required::default();
    for node in TOP_LEVEL {
        required.node(node, "");
    }
    // The tables that children reach only indirectly are listed too, so that a change in how
    // the walk finds them cannot silently drop them from the check.
    required.options(XGBOOST_OPTIONS, "train > xgboost");
    required.options(COLUMN_OPTIONS, "schema column");
    for distribution in DISTRIBUTIONS {
        required.add("distribution", "tune", distribution);
    }
    for (function, _) in FUNCTIONS {
        required.add("expression function", "derive/filter", function);
    }
    required
}

/// One required word, for the failure message: "option `eta` (train > xgboost)".
fn describe((what, place, word): &(String, String, &str)) -> String {
    if place.is_empty() {
        format!("{what} `{word}`")
    } else {
        format!("{what} `{word}` ({place})")
    }
}

/// What `doc` does not mention, one line per missing word, naming what and where it is.
fn missing(doc: &str, required: &Required) -> Vec<String> {
    required.entries.iter().filter(|(_, _, word)| !doc.contains(&format!("`{word}`"))).map(describe).collect()
}

fn read_doc() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/language.md");
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("cannot read {path}: {error}"))
}

#[test]
fn language_reference_mentions_the_whole_vocabulary() {
    let required = required();
    assert!(required.entries.len() > 200, "the vocabulary walk found only {} words", required.entries.len());
    let missing = missing(&read_doc(), &required);
    assert!(
        missing.is_empty(),
        "docs/language.md does not mention {} word(s) of the language, each expected as `word`:\n  {}",
        missing.len(),
        missing.join("\n  ")
    );
}

#[test]
fn a_word_taken_out_of_the_reference_is_reported() {
    // The check above must be able to fail, and say what is missing and where it belongs.
    let doc = read_doc().replace("`scale_pos_weight`", "scale_pos_weight").replace("`chi2`", "chi2");
    let missing = missing(&doc, &required());
    let expected =
        ["allowed value `chi2` (monitor > drift, argument method)", "option `scale_pos_weight` (train > xgboost)"];
    assert_eq!(missing, expected);
}
