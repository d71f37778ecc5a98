//! The syntax stage: KDL text → typed [`Spec`](crate::ast::Spec), with every problem reported.
//!
//! Only this module sees the `kdl` crate. It parses the text, reads every node against the
//! vocabulary in `mlops-stdlib` ([`reader`]) and builds the typed AST ([`build`]).

mod build;
mod error;
mod reader;

pub use error::SyntaxError;

use kdl::KdlDocument;
use mlops_stdlib::vocabulary;

use crate::ast::Spec;

/// Parses a spec. Always returns a tree — of the nodes that could be read — and every problem.
pub fn parse(source: &str) -> (Spec, Vec<SyntaxError>) {
    let document = match KdlDocument::parse_v2(source) {
        Ok(document) => document,
        Err(error) => {
            let errors = error
                .diagnostics
                .into_iter()
                .map(|diagnostic| SyntaxError::Kdl {
                    message: diagnostic.message.unwrap_or_else(|| "invalid KDL".to_string()),
                    span: diagnostic.span,
                    label: diagnostic.label.unwrap_or_else(|| "here".to_string()),
                    help: diagnostic.help.unwrap_or_else(|| {
                        "mlops.kdl is KDL v2: strings in double quotes, `#true`/`#false`, blocks in `{ }`"
                            .to_string()
                    }),
                })
                .collect();
            return (Spec::default(), errors);
        }
    };
    let mut reader = reader::Reader::new(source);
    let nodes = reader.read_block(&document, vocabulary::TOP_LEVEL, "at the top level");
    let spec = build::spec(&mut reader, nodes);
    (spec, reader.errors)
}
