//! Errors of the syntax stage: the file is not KDL, or its nodes do not fit the vocabulary.

use miette::{Diagnostic, SourceSpan};
use thiserror::Error;

/// A problem found while reading the file against the language's vocabulary.
#[derive(Debug, Clone, Error, Diagnostic, PartialEq)]
pub enum SyntaxError {
    /// The text is not valid KDL v2; the message and span are kdl's own. Also used for blocks
    /// nested deeper than the parser can take, which are refused before it runs.
    #[error("{message}")]
    #[diagnostic(code("mlops::syntax::kdl"))]
    Kdl {
        /// kdl's message.
        message: String,
        /// Where kdl found the problem.
        #[label("{label}")]
        span: SourceSpan,
        /// kdl's label.
        label: String,
        /// kdl's suggestion, or ours.
        #[help]
        help: String,
    },

    /// A node whose keyword the language does not know at that place.
    #[error("unknown node `{keyword}` {place}")]
    #[diagnostic(code("mlops::syntax::unknown-node"))]
    UnknownNode {
        /// What was written.
        keyword: String,
        /// "at the top level", "inside `dataset`".
        place: String,
        /// The keyword.
        #[label("not a node of the language here")]
        span: SourceSpan,
        /// "did you mean …" or the list of nodes allowed.
        #[help]
        help: String,
    },

    /// An option the node does not take.
    #[error("`{node}` has no option `{option}`")]
    #[diagnostic(code("mlops::syntax::unknown-option"))]
    UnknownOption {
        /// The node's keyword.
        node: String,
        /// What was written.
        option: String,
        /// The option.
        #[label("unknown option")]
        span: SourceSpan,
        /// "did you mean …" or the list of options.
        #[help]
        help: String,
    },

    /// A value outside an enumeration.
    #[error("`{value}` is not a valid {what}")]
    #[diagnostic(code("mlops::syntax::unknown-value"))]
    UnknownValue {
        /// What was written.
        value: String,
        /// "`on-invalid` action", "column type".
        what: String,
        /// The value.
        #[label("not one of the allowed values")]
        span: SourceSpan,
        /// "did you mean …" or the list of values.
        #[help]
        help: String,
    },

    /// A value of the wrong type.
    #[error("{what} expects {expected}, found {found}")]
    #[diagnostic(code("mlops::syntax::wrong-type"))]
    WrongType {
        /// "option `rounds` of `xgboost`".
        what: String,
        /// "an integer".
        expected: String,
        /// "a string".
        found: String,
        /// The value.
        #[label("expected {expected}")]
        span: SourceSpan,
        /// How to write it.
        #[help]
        help: String,
    },

    /// A number outside the allowed range.
    #[error("{what} must be {range}, found {value}")]
    #[diagnostic(code("mlops::syntax::out-of-range"))]
    OutOfRange {
        /// "option `max_depth` of `xgboost`".
        what: String,
        /// "between 1 and 64".
        range: String,
        /// The number as written.
        value: String,
        /// The value.
        #[label("out of range")]
        span: SourceSpan,
        /// Why the bounds are what they are.
        #[help]
        help: String,
    },

    /// A required option is absent.
    #[error("`{node}` is missing the required option `{option}`")]
    #[diagnostic(code("mlops::syntax::missing-option"))]
    MissingOption {
        /// The node's keyword.
        node: String,
        /// The option.
        option: String,
        /// The node's keyword.
        #[label("needs `{option}=…`")]
        span: SourceSpan,
        /// What the option does.
        #[help]
        help: String,
    },

    /// A required argument is absent.
    #[error("`{node}` is missing its {argument}")]
    #[diagnostic(code("mlops::syntax::missing-argument"))]
    MissingArgument {
        /// The node's keyword.
        node: String,
        /// "name", "column".
        argument: String,
        /// The node's keyword.
        #[label("needs a {argument}")]
        span: SourceSpan,
        /// An example.
        #[help]
        help: String,
    },

    /// More arguments than the node takes.
    #[error("`{node}` takes {expected}, found an extra argument")]
    #[diagnostic(code("mlops::syntax::extra-argument"))]
    ExtraArgument {
        /// The node's keyword.
        node: String,
        /// "one argument (name)".
        expected: String,
        /// The extra argument.
        #[label("unexpected argument")]
        span: SourceSpan,
        /// Options are written `key=value`.
        #[help]
        help: String,
    },

    /// The same option twice on one node.
    #[error("option `{option}` is given twice")]
    #[diagnostic(code("mlops::syntax::duplicate-option"))]
    DuplicateOption {
        /// The option.
        option: String,
        /// The second one.
        #[label("given again here")]
        span: SourceSpan,
        /// The first one.
        #[label("first given here")]
        first: SourceSpan,
        /// Keep one.
        #[help]
        help: String,
    },

    /// A node that may appear once, appearing again.
    #[error("`{keyword}` may appear only once {place}")]
    #[diagnostic(code("mlops::syntax::duplicate-node"))]
    DuplicateNode {
        /// The keyword.
        keyword: String,
        /// "at the top level".
        place: String,
        /// The second one.
        #[label("given again here")]
        span: SourceSpan,
        /// The first one.
        #[label("first given here")]
        first: SourceSpan,
        /// Merge them.
        #[help]
        help: String,
    },

    /// A block on a node that takes none.
    #[error("`{node}` takes no `{{ … }}` block")]
    #[diagnostic(code("mlops::syntax::unexpected-block"))]
    UnexpectedBlock {
        /// The node's keyword.
        node: String,
        /// The block.
        #[label("unexpected block")]
        span: SourceSpan,
        /// What to do.
        #[help]
        help: String,
    },

    /// A declared name with characters the language does not allow.
    #[error("`{name}` is not a valid name")]
    #[diagnostic(code("mlops::syntax::invalid-name"))]
    InvalidName {
        /// What was written.
        name: String,
        /// The name.
        #[label("invalid name")]
        span: SourceSpan,
        /// The rule.
        #[help]
        help: String,
    },

    /// A reference written in a shape that is not `name`, `name.output` or `name@alias`.
    #[error("`{reference}` is not a valid {what}")]
    #[diagnostic(code("mlops::syntax::malformed-reference"))]
    MalformedReference {
        /// What was written.
        reference: String,
        /// "step reference", "model reference".
        what: String,
        /// The reference.
        #[label("malformed")]
        span: SourceSpan,
        /// The expected shape.
        #[help]
        help: String,
    },

    /// A type annotation other than `(param)`, `(env)` or `(secret)`.
    #[error("unknown annotation `({annotation})`")]
    #[diagnostic(code("mlops::syntax::unknown-annotation"))]
    UnknownAnnotation {
        /// What was written.
        annotation: String,
        /// The value.
        #[label("not `(param)`, `(env)` or `(secret)`")]
        span: SourceSpan,
        /// "did you mean …".
        #[help]
        help: String,
    },

    /// A reference in a place that does not accept that kind of reference.
    #[error("{what} does not accept {reference}")]
    #[diagnostic(code("mlops::syntax::reference-not-allowed"))]
    ReferenceNotAllowed {
        /// "option `label` of `train`".
        what: String,
        /// "a `(secret)` reference".
        reference: String,
        /// The value.
        #[label("not allowed here")]
        span: SourceSpan,
        /// Where such references may be used.
        #[help]
        help: String,
    },

    /// An `(env)` or `(secret)` name that is not an environment-variable-style name.
    #[error("`{name}` is not a valid {kind} name")]
    #[diagnostic(code("mlops::syntax::malformed-secret"))]
    MalformedSecret {
        /// What was written.
        name: String,
        /// `env` or `secret`.
        kind: String,
        /// The value.
        #[label("malformed")]
        span: SourceSpan,
        /// The rule.
        #[help]
        help: String,
    },
}
