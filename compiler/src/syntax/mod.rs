//! The syntax stage: KDL text → typed [`Spec`](crate::ast::Spec), with every problem reported.
//!
//! Only this module sees the `kdl` crate. It parses the text, reads every node against the
//! vocabulary in `mlops-stdlib` ([`reader`]) and builds the typed AST ([`build`]).

mod build;
mod document;
mod error;
mod layout;
mod reader;

pub use error::SyntaxError;

use miette::SourceSpan;
use mlops_stdlib::vocabulary;

use crate::ast::Spec;

/// Parses a spec. Always returns a tree — of the nodes that could be read — and every problem.
pub fn parse(source: &str) -> (Spec, Vec<SyntaxError>) {
    let layout = layout::scan(source);
    if let Some(offset) = layout.too_deep {
        let error = SyntaxError::Kdl {
            message: format!("blocks are nested more than {} levels deep", layout::MAX_DEPTH),
            span: SourceSpan::new(offset.into(), 1),
            label: "too deep".to_string(),
            help: "a spec nests a few levels at most, such as `step { output { schema { … } } }`; is a `}` missing?"
                .to_string(),
        };
        return (Spec { partial: true, ..Spec::default() }, vec![error]);
    }
    let document = match document::parse(source, &layout) {
        Ok(document) => document,
        Err(error) => {
            let errors = error
                .diagnostics
                .into_iter()
                .map(|diagnostic| SyntaxError::Kdl {
                    message: diagnostic
                        .message
                        .map_or_else(|| "invalid KDL".to_string(), |message| sentence_case(&message)),
                    span: diagnostic.span,
                    label: diagnostic.label.map_or_else(|| "here".to_string(), |label| sentence_case(&label)),
                    help: diagnostic.help.unwrap_or_else(|| kdl_help(source, diagnostic.span)),
                })
                .collect();
            return (Spec { partial: true, ..Spec::default() }, errors);
        }
    };
    let mut reader = reader::Reader::new(source);
    let nodes = reader.read_block(&document, vocabulary::TOP_LEVEL, "at the top level");
    let spec = build::spec(&mut reader, nodes);
    (spec, reader.errors)
}

/// kdl's messages start with a capital and may end with a period; ours do neither.
fn sentence_case(message: &str) -> String {
    let message = message.trim().trim_end_matches('.');
    let mut chars = message.chars();
    match (chars.next(), chars.next()) {
        // Leave acronyms such as "KDL" alone.
        (Some(first), Some(second)) if first.is_uppercase() && !second.is_uppercase() => {
            first.to_lowercase().chain(message[first.len_utf8()..].chars()).collect()
        }
        _ => message.to_string(),
    }
}

/// A help line for a KDL error that kdl gives none for.
fn kdl_help(source: &str, span: SourceSpan) -> String {
    let text = source.get(span.offset()..span.offset() + span.len()).unwrap_or_default();
    match text {
        "true" | "false" | "null" => format!("KDL v2 writes `#{text}`, with a `#`"),
        _ => "mlops.kdl is KDL v2: strings in double quotes, `#true`/`#false`, blocks in `{ }`".to_string(),
    }
}
