//! Errors and warnings of the check stage: names, references, schemas, expressions, models.

use miette::{Diagnostic, LabeledSpan, SourceSpan};
use thiserror::Error;

/// A problem found while checking a well-formed spec as a whole.
#[derive(Debug, Clone, Error, Diagnostic, PartialEq)]
pub enum CheckError {
    /// Two nodes declare the same name in one namespace.
    #[error("{kind} `{name}` is declared twice")]
    #[diagnostic(code("mlops::check::duplicate-name"))]
    DuplicateName {
        /// "step", "registered model".
        kind: String,
        /// The name.
        name: String,
        /// The second declaration.
        #[label("declared again here")]
        span: SourceSpan,
        /// The first declaration.
        #[label("first declared here")]
        first: SourceSpan,
        /// Rename one.
        #[help]
        help: String,
    },

    /// A reference to a name nothing declares.
    #[error("{what} `{name}` does not exist")]
    #[diagnostic(code("mlops::check::unknown-reference"))]
    UnknownReference {
        /// "step", "model".
        what: String,
        /// The name.
        name: String,
        /// The reference.
        #[label("not declared anywhere")]
        span: SourceSpan,
        /// "did you mean …" or what exists.
        #[help]
        help: String,
    },

    /// A reference to an output its node does not have, or a bare name for a node with several.
    #[error("{}", unknown_output_message(.node, .output))]
    #[diagnostic(code("mlops::check::unknown-output"))]
    UnknownOutput {
        /// The node.
        node: String,
        /// The output written (empty when none was and one is needed).
        output: String,
        /// The reference.
        #[label("{}", if output.is_empty() { "which output?" } else { "no such output" })]
        span: SourceSpan,
        /// The outputs it has.
        #[help]
        help: String,
    },

    /// A reference to the wrong kind of thing (a model where a table is needed).
    #[error("{what} must be {expected}, but `{name}` is {found}")]
    #[diagnostic(code("mlops::check::wrong-reference-kind"))]
    WrongReferenceKind {
        /// "`data` of train `churn`".
        what: String,
        /// "a table".
        expected: String,
        /// The name.
        name: String,
        /// "a model".
        found: String,
        /// The reference.
        #[label("{found}")]
        span: SourceSpan,
        /// What to refer to instead.
        #[help]
        help: String,
    },

    /// References that go round in a circle.
    #[error("these steps depend on each other in a cycle: {cycle}")]
    #[diagnostic(code("mlops::check::cycle"))]
    Cycle {
        /// `a` → `b` → `a`.
        cycle: String,
        /// One label per reference of the cycle.
        #[label(collection)]
        labels: Vec<LabeledSpan>,
        /// Break it.
        #[help]
        help: String,
    },

    /// A node that lacks a block it cannot work without.
    #[error("{node} `{name}` has no `{child}`")]
    #[diagnostic(code("mlops::check::missing-node"))]
    MissingNode {
        /// The node's keyword.
        node: String,
        /// Its name.
        name: String,
        /// The missing child.
        child: String,
        /// The node.
        #[label("needs a `{child}`")]
        span: SourceSpan,
        /// An example.
        #[help]
        help: String,
    },

    /// A column that does not exist at that point of the plan.
    #[error("column `{column}` does not exist {place}")]
    #[diagnostic(code("mlops::check::unknown-column"))]
    UnknownColumn {
        /// The column.
        column: String,
        /// "after transform `features`", "in dataset `customers`".
        place: String,
        /// Where it was named.
        #[label("unknown column")]
        span: SourceSpan,
        /// "did you mean …" or the columns there.
        #[help]
        help: String,
    },

    /// A column created with a name that is already taken.
    #[error("column `{column}` already exists {place}")]
    #[diagnostic(code("mlops::check::duplicate-column"))]
    DuplicateColumn {
        /// The column.
        column: String,
        /// Where.
        place: String,
        /// What creates it.
        #[label("would create a second `{column}`")]
        span: SourceSpan,
        /// Rename or drop first.
        #[help]
        help: String,
    },

    /// An operation applied to a column of a type it cannot handle.
    #[error("{operation} needs {expected}, but column `{column}` is {found}")]
    #[diagnostic(code("mlops::check::column-type"))]
    ColumnTypeMismatch {
        /// "`scale`".
        operation: String,
        /// "a numeric column".
        expected: String,
        /// The column.
        column: String,
        /// "`string`".
        found: String,
        /// Where it was named.
        #[label("{found} column")]
        span: SourceSpan,
        /// How to make it fit.
        #[help]
        help: String,
    },

    /// A schema constraint that does not fit the column's type.
    #[error("`{constraint}` does not apply to column `{column}` of type `{ty}`")]
    #[diagnostic(code("mlops::check::constraint-type"))]
    ConstraintType {
        /// "min", "levels".
        constraint: String,
        /// The column.
        column: String,
        /// Its type.
        ty: String,
        /// The constraint.
        #[label("not for `{ty}` columns")]
        span: SourceSpan,
        /// Where it applies.
        #[help]
        help: String,
    },

    /// `one-hot` on a column whose levels the compiler cannot know.
    #[error("`one-hot` needs the levels of column `{column}` to be declared")]
    #[diagnostic(code("mlops::check::one-hot-levels"))]
    OneHotLevels {
        /// The column.
        column: String,
        /// Where it was named.
        #[label("levels unknown")]
        span: SourceSpan,
        /// Declare them.
        #[help]
        help: String,
    },

    /// An expression that does not parse.
    #[error("invalid expression: {message}")]
    #[diagnostic(code("mlops::check::expression-syntax"))]
    ExpressionSyntax {
        /// The parser's message.
        message: String,
        /// Where.
        #[label("here")]
        span: SourceSpan,
        /// The grammar in short.
        #[help]
        help: String,
    },

    /// An expression whose parts have types that do not fit together.
    #[error("{message}")]
    #[diagnostic(code("mlops::check::expression-type"))]
    ExpressionType {
        /// "cannot apply `+` to `string` and `int`".
        message: String,
        /// The offending part.
        #[label("{label}")]
        span: SourceSpan,
        /// The types involved.
        label: String,
        /// How to fix it.
        #[help]
        help: String,
    },

    /// A call to a function the expression language does not have.
    #[error("unknown function `{function}`")]
    #[diagnostic(code("mlops::check::unknown-function"))]
    UnknownFunction {
        /// The name.
        function: String,
        /// The call.
        #[label("not a function of the expression language")]
        span: SourceSpan,
        /// "did you mean …" or the list.
        #[help]
        help: String,
    },

    /// A function called with the wrong number or types of arguments.
    #[error("`{function}` {message}")]
    #[diagnostic(code("mlops::check::function-arguments"))]
    FunctionArguments {
        /// The function.
        function: String,
        /// "takes 1 argument, found 2".
        message: String,
        /// The call.
        #[label("here")]
        span: SourceSpan,
        /// Its signature.
        #[help]
        help: String,
    },

    /// A comparison of a category column with a level it does not declare.
    #[error("`{level}` is not a level of column `{column}`")]
    #[diagnostic(code("mlops::check::unknown-level"))]
    UnknownLevel {
        /// The literal.
        level: String,
        /// The column.
        column: String,
        /// The literal.
        #[label("never equal")]
        span: SourceSpan,
        /// The levels.
        #[help]
        help: String,
    },

    /// A label column whose type does not fit the objective.
    #[error("label `{label}` is `{ty}`, which `{objective}` cannot learn")]
    #[diagnostic(code("mlops::check::label-type"))]
    LabelType {
        /// The label.
        label: String,
        /// Its type.
        ty: String,
        /// The objective.
        objective: String,
        /// The label option.
        #[label("`{ty}` label")]
        span: SourceSpan,
        /// The label types the objective needs, and the objectives that fit.
        #[help]
        help: String,
    },

    /// Features XGBoost cannot take as they are.
    #[error("feature `{column}` is `{ty}`; XGBoost needs numeric or boolean features")]
    #[diagnostic(code("mlops::check::feature-type"))]
    FeatureType {
        /// The column.
        column: String,
        /// Its type.
        ty: String,
        /// The `data` option.
        #[label("`{column}` reaches the model from here")]
        span: SourceSpan,
        /// One-hot, cast or drop it.
        #[help]
        help: String,
    },

    /// A training table with no column besides the label.
    #[error("train `{model}` has no features: `{data}` holds only the label")]
    #[diagnostic(code("mlops::check::no-features"))]
    NoFeatures {
        /// The model.
        model: String,
        /// The table.
        data: String,
        /// The `data` option.
        #[label("no feature columns")]
        span: SourceSpan,
        /// Keep some columns.
        #[help]
        help: String,
    },

    /// Two tables that must share their columns do not.
    #[error("{what} does not have the columns the model was trained on: {difference}")]
    #[diagnostic(code("mlops::check::schema-mismatch"))]
    SchemaMismatch {
        /// "validation table `holdout.valid`".
        what: String,
        /// "missing `age`; `plan` is `string` instead of `float`".
        difference: String,
        /// The reference.
        #[label("different columns")]
        span: SourceSpan,
        /// Use a table from the same transform.
        #[help]
        help: String,
    },

    /// Early stopping or tuning without validation data.
    #[error("{what} needs validation data, but train `{model}` has none")]
    #[diagnostic(code("mlops::check::missing-validation"))]
    MissingValidation {
        /// "`early-stopping`", "`tune churn`".
        what: String,
        /// The model.
        model: String,
        /// The option.
        #[label("no validation table to watch")]
        span: SourceSpan,
        /// Add `valid=` or a split with a `.valid` part.
        #[help]
        help: String,
    },

    /// A metric that does not fit the model's task.
    #[error("metric `{metric}` does not fit {task} model `{model}`")]
    #[diagnostic(code("mlops::check::metric-task"))]
    MetricTask {
        /// The metric.
        metric: String,
        /// "a regression".
        task: String,
        /// The model.
        model: String,
        /// The metric.
        #[label("not for {task} model")]
        span: SourceSpan,
        /// The metrics that fit.
        #[help]
        help: String,
    },

    /// A gate or comparison on a metric that is not computed.
    #[error("gate on `{metric}`, but `evaluate {model}` does not compute it")]
    #[diagnostic(code("mlops::check::gate-not-computed"))]
    GateNotComputed {
        /// The metric.
        metric: String,
        /// The model.
        model: String,
        /// The gate.
        #[label("never computed")]
        span: SourceSpan,
        /// The `metrics` line.
        #[label("computed metrics")]
        metrics: Option<SourceSpan>,
        /// Add it to `metrics`.
        #[help]
        help: String,
    },

    /// A gate with neither `min` nor `max`.
    #[error("gate on `{metric}` has no bound")]
    #[diagnostic(code("mlops::check::gate-without-bound"))]
    GateWithoutBound {
        /// The metric.
        metric: String,
        /// The gate.
        #[label("checks nothing")]
        span: SourceSpan,
        /// Add `min=` or `max=`.
        #[help]
        help: String,
    },

    /// A `drift` or `performance` rule with nothing to compare against.
    #[error("{rule} has no bound")]
    #[diagnostic(code("mlops::check::rule-without-bound"))]
    RuleWithoutBound {
        /// "`drift \"ks\"`", "`performance \"auc\"`".
        rule: String,
        /// The rule.
        #[label("detects nothing")]
        span: SourceSpan,
        /// The option to add.
        #[help]
        help: String,
    },

    /// A `min` above a `max`: no value can satisfy both.
    #[error("{what} has `min` {min} above `max` {max}")]
    #[diagnostic(code("mlops::check::contradictory-bounds"))]
    ContradictoryBounds {
        /// "gate on `auc`", "column `age`".
        what: String,
        /// The lower bound.
        min: String,
        /// The upper bound.
        max: String,
        /// The `min` value.
        #[label("at least {min}")]
        span: SourceSpan,
        /// The `max` value.
        #[label("at most {max}")]
        max_span: SourceSpan,
        /// Swap or fix them.
        #[help]
        help: String,
    },

    /// A `tune` range that is not a valid distribution.
    #[error("invalid range for `{param}`: {message}")]
    #[diagnostic(code("mlops::check::search-space"))]
    SearchSpace {
        /// The parameter.
        param: String,
        /// What is wrong.
        message: String,
        /// The range.
        #[label("here")]
        span: SourceSpan,
        /// The shape of each distribution.
        #[help]
        help: String,
    },

    /// Split fractions that do not add up to 1.
    #[error("split `{split}` fractions add up to {sum}, not 1")]
    #[diagnostic(code("mlops::check::split-fractions"))]
    SplitFractions {
        /// The split.
        split: String,
        /// Their sum.
        sum: String,
        /// The split.
        #[label("train + valid + test = {sum}")]
        span: SourceSpan,
        /// Make them add up.
        #[help]
        help: String,
    },

    /// A `(param)` reference to a parameter that `params` does not declare.
    #[error("parameter `{param}` is not declared")]
    #[diagnostic(code("mlops::check::unknown-param"))]
    UnknownParam {
        /// The name.
        param: String,
        /// The reference.
        #[label("not in `params`")]
        span: SourceSpan,
        /// "did you mean …" or declare it.
        #[help]
        help: String,
    },

    /// A `(param)` whose value has the wrong type for where it is used.
    #[error("{what} expects {expected}, but parameter `{param}` is {found}")]
    #[diagnostic(code("mlops::check::param-type"))]
    ParamType {
        /// "option `rounds` of `xgboost`".
        what: String,
        /// "an integer".
        expected: String,
        /// The parameter.
        param: String,
        /// "a string".
        found: String,
        /// The use.
        #[label("used here")]
        span: SourceSpan,
        /// The declaration.
        #[label("declared here")]
        declared: SourceSpan,
        /// Change one.
        #[help]
        help: String,
    },

    /// A `(param)` whose value is outside the range of where it is used.
    #[error("{what} must be {range}, but parameter `{param}` is {value}")]
    #[diagnostic(code("mlops::check::param-out-of-range"))]
    ParamOutOfRange {
        /// "option `eta` of `xgboost`".
        what: String,
        /// "greater than 0 and at most 1".
        range: String,
        /// The parameter.
        param: String,
        /// Its value.
        value: String,
        /// The use.
        #[label("used here")]
        span: SourceSpan,
        /// The declaration.
        #[label("declared here")]
        declared: SourceSpan,
        /// What the option is.
        #[help]
        help: String,
    },

    /// A cron expression that does not parse or is not five fields.
    #[error("invalid cron expression `{cron}`: {message}")]
    #[diagnostic(code("mlops::check::invalid-cron"))]
    InvalidCron {
        /// What was written.
        cron: String,
        /// Why.
        message: String,
        /// The expression.
        #[label("invalid")]
        span: SourceSpan,
        /// The format.
        #[help]
        help: String,
    },

    /// A model reference to a registry name that no `register` declares.
    #[error("model `{model}` is never registered")]
    #[diagnostic(code("mlops::check::unregistered-model"))]
    UnregisteredModel {
        /// The name.
        model: String,
        /// The reference.
        #[label("no `register \"{model}\"`")]
        span: SourceSpan,
        /// "did you mean …" or add a register node.
        #[help]
        help: String,
    },

    /// A model reference to an alias that nothing sets.
    #[error("nothing sets alias `{alias}` of model `{model}`")]
    #[diagnostic(code("mlops::check::unknown-alias"))]
    UnknownAlias {
        /// The model.
        model: String,
        /// The alias.
        alias: String,
        /// The reference.
        #[label("unknown alias")]
        span: SourceSpan,
        /// The aliases that exist.
        #[help]
        help: String,
    },

    /// An `expect` rule written in a shape it does not take.
    #[error("`expect {rule}` {message}")]
    #[diagnostic(code("mlops::check::expect-rule"))]
    ExpectRule {
        /// The rule.
        rule: String,
        /// "needs a column".
        message: String,
        /// The rule.
        #[label("here")]
        span: SourceSpan,
        /// The shape of each rule.
        #[help]
        help: String,
    },

    /// A `{inputs.x}` or `{outputs.y}` placeholder that names nothing declared.
    #[error("placeholder `{{{placeholder}}}` names no declared {what}")]
    #[diagnostic(code("mlops::check::unknown-placeholder"))]
    UnknownPlaceholder {
        /// The placeholder text.
        placeholder: String,
        /// "input", "output".
        what: String,
        /// The placeholder, or the whole command when it was written with escapes.
        #[label("not declared")]
        span: SourceSpan,
        /// The declared names.
        #[help]
        help: String,
    },

    /// A `{inputs…}` or `{outputs…}` placeholder without a name or a closing brace.
    #[error("placeholder `{text}` {problem}")]
    #[diagnostic(code("mlops::check::malformed-placeholder"))]
    MalformedPlaceholder {
        /// The placeholder as written.
        text: String,
        /// "is not closed", "names no input".
        problem: String,
        /// The placeholder, or the whole command when it was written with escapes.
        #[label("malformed")]
        span: SourceSpan,
        /// The shape, and the declared names.
        #[help]
        help: String,
    },

    /// A custom step's table output without a `schema`, read by a node that needs its columns.
    #[error("table output `{node}.{output}` declares no schema; columns after it are not checked")]
    #[diagnostic(code("mlops::check::unknown-schema"), severity(Warning))]
    UnknownSchema {
        /// The step.
        node: String,
        /// The output.
        output: String,
        /// The output's declaration.
        #[label("no `schema` here")]
        span: SourceSpan,
        /// The first node that reads it as a table.
        #[label("its columns are needed here")]
        reader: SourceSpan,
        /// Declare the schema.
        #[help]
        help: String,
    },

    /// A table nothing reads.
    #[error("{kind} `{name}` is never used")]
    #[diagnostic(code("mlops::check::unused"), severity(Warning))]
    Unused {
        /// The node's keyword.
        kind: String,
        /// Its name.
        name: String,
        /// The declaration.
        #[label("nothing reads this")]
        span: SourceSpan,
        /// Use or remove it.
        #[help]
        help: String,
    },

    /// A model registered with no gate in front of it.
    #[error("model `{model}` is registered without any gate")]
    #[diagnostic(code("mlops::check::ungated-register"), severity(Warning))]
    UngatedRegister {
        /// The train model.
        model: String,
        /// The register node.
        #[label("registers every version, good or bad")]
        span: SourceSpan,
        /// Add an evaluate with a gate.
        #[help]
        help: String,
    },
}

/// "`holdout` has no output `tran`", or for a bare name: "`holdout` has several outputs".
fn unknown_output_message(node: &str, output: &str) -> String {
    if output.is_empty() {
        format!("`{node}` has several outputs, and the reference does not say which")
    } else {
        format!("`{node}` has no output `{output}`")
    }
}
