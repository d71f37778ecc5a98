//! The typed syntax tree of an `mlops.kdl` file: what the user wrote, with spans, nothing inferred.
//!
//! Built by [`crate::syntax`], consumed by [`crate::check`]. Options are kept as validated
//! [`Options`] maps (their names, types and literal ranges were checked against the vocabulary);
//! defaults are not filled in here but when the plan is lowered.

use std::collections::BTreeMap;

use miette::SourceSpan;
use mlops_stdlib::signature::{Range, ValueKind};

/// A value with the span of the text it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: SourceSpan,
}

impl<T> Spanned<T> {
    /// Pairs a value with its span.
    pub fn new(value: T, span: SourceSpan) -> Spanned<T> {
        Spanned { value, span }
    }
}

impl Spanned<String> {
    /// The text as a `&str`.
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

/// A literal or a reference, as written for an argument or option.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A whole number.
    Int(i64),
    /// A number with a fraction or exponent.
    Float(f64),
    /// `#true` / `#false`.
    Bool(bool),
    /// A string.
    Str(String),
    /// `(param)"name"`: the value of a declared parameter.
    Param(String),
    /// `(env)"NAME"`: an environment variable, resolved where the step runs.
    Env(String),
    /// `(secret)"NAME"`: a secret, mapped to each target's own mechanism.
    Secret(String),
}

impl Value {
    /// The string, when the value is a plain string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(text) => Some(text),
            _ => None,
        }
    }

    /// The number, when the value is a numeric literal.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(int) => Some(*int as f64),
            Value::Float(float) => Some(*float),
            _ => None,
        }
    }

    /// What the value is, for messages: "an integer", "a `(param)` reference".
    pub fn describe(&self) -> &'static str {
        match self {
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Bool(_) => "a boolean",
            Value::Str(_) => "a string",
            Value::Param(_) => "a `(param)` reference",
            Value::Env(_) => "an `(env)` reference",
            Value::Secret(_) => "a `(secret)` reference",
        }
    }
}

/// The `key=value` options of a node, each checked against the vocabulary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options(pub BTreeMap<&'static str, Spanned<Value>>);

impl Options {
    /// The option called `name`, if written.
    pub fn get(&self, name: &str) -> Option<&Spanned<Value>> {
        self.0.get(name)
    }

    /// The option as a string, if written as a plain string. Only for options whose kind
    /// refuses `(param)` (references, columns, paths) or that are literal-only; a value that
    /// may be a `(param)` is read with the checker's `text`, which resolves it.
    pub fn str(&self, name: &str) -> Option<Spanned<String>> {
        let value = self.get(name)?;
        value.value.as_str().map(|text| Spanned::new(text.to_string(), value.span))
    }
}

/// A whole spec file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spec {
    /// `project`.
    pub project: Option<Project>,
    /// The `params` block, in source order.
    pub params: Vec<ParamDecl>,
    /// `store`.
    pub store: Option<Spanned<Value>>,
    /// `tracking`.
    pub tracking: Option<Tracking>,
    /// Every other top-level node, in source order.
    pub items: Vec<Item>,
    /// Every `(param)` reference, with what the place it is used in accepts.
    pub param_uses: Vec<ParamUse>,
    /// Whether the syntax stage reported problems: then some nodes, or some of their
    /// references, were left out, and what reads what is not fully known.
    pub partial: bool,
}

/// A `(param)"name"` written where a value is expected.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamUse {
    /// The parameter's name and the span of the reference.
    pub name: Spanned<String>,
    /// What the place accepts.
    pub kind: ValueKind,
    /// Its numeric bounds.
    pub range: Range,
    /// The allowed values, when the place is an enumeration.
    pub choices: &'static [&'static str],
    /// "option `rounds` of `xgboost`", for messages.
    pub what: String,
    /// What the option means, for help lines.
    pub doc: String,
}

/// `project NAME version=… { description …; owner … }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// The project's name.
    pub name: Spanned<String>,
    /// Its options (`version`).
    pub options: Options,
    /// `description`.
    pub description: Option<String>,
    /// `owner`.
    pub owner: Option<String>,
}

/// One entry of the `params` block.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamDecl {
    /// The parameter's name.
    pub name: Spanned<String>,
    /// Its default value (a literal).
    pub value: Spanned<Value>,
}

/// `tracking BACKEND uri=…`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracking {
    /// `local` or `mlflow`.
    pub backend: Spanned<String>,
    /// Its options.
    pub options: Options,
}

/// A top-level node that declares or configures a part of the pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// `dataset`.
    Dataset(Dataset),
    /// `transform`.
    Transform(Transform),
    /// `split`.
    Split(Split),
    /// `train`.
    Train(Train),
    /// `tune`.
    Tune(Tune),
    /// `evaluate`.
    Evaluate(Evaluate),
    /// `register`.
    Register(Register),
    /// `package`.
    Package(Package),
    /// `serve`.
    Serve(Serve),
    /// `monitor`.
    Monitor(Monitor),
    /// `schedule`.
    Schedule(Schedule),
    /// `step`.
    Step(Step),
    /// `target`.
    Target(Target),
}

pub use mlops_stdlib::column_type::ColumnType;

/// `dataset NAME { source …; schema { … }; expect …; on-invalid … }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The dataset's name.
    pub name: Spanned<String>,
    /// The `source` node: paths and options.
    pub source: Option<Source>,
    /// The `schema` block.
    pub schema: Option<Spanned<Vec<ColumnDecl>>>,
    /// `expect` rules.
    pub expects: Vec<Expect>,
    /// `on-invalid`.
    pub on_invalid: Option<Spanned<String>>,
    /// The whole node.
    pub span: SourceSpan,
}

/// `source PATH… format=… delimiter=…`.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// Files or globs, relative to the spec.
    pub paths: Vec<Spanned<String>>,
    /// Its options.
    pub options: Options,
}

/// One column of a `schema` block.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDecl {
    /// The column's name.
    pub name: Spanned<String>,
    /// Its type.
    pub ty: Spanned<ColumnType>,
    /// Constraints (`nullable`, `unique`, `min`, `max`).
    pub options: Options,
    /// Category levels.
    pub levels: Option<Spanned<Vec<String>>>,
}

/// `expect RULE [COLUMN] min=… max=…`.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    /// `row-count`, `null-fraction` or `unique`.
    pub rule: Spanned<String>,
    /// The column the rule is about.
    pub column: Option<Spanned<String>>,
    /// Bounds.
    pub options: Options,
    /// The whole node.
    pub span: SourceSpan,
}

/// `transform NAME from=… { ops }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Transform {
    /// The transform's name.
    pub name: Spanned<String>,
    /// The input table.
    pub from: Spanned<String>,
    /// Operations in order.
    pub ops: Vec<Spanned<Op>>,
    /// The whole node.
    pub span: SourceSpan,
}

/// An expression written inside a string, with where its text starts in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct ExprSource {
    /// The expression text.
    pub text: String,
    /// The span of the whole string value.
    pub span: SourceSpan,
    /// Byte offset of the text's first character in the file, when the string was written
    /// without escapes so that positions inside it map one to one.
    pub text_offset: Option<usize>,
}

/// One operation of a `transform`.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `drop COL…`.
    Drop(Vec<Spanned<String>>),
    /// `keep COL…`.
    Keep(Vec<Spanned<String>>),
    /// `rename FROM TO`.
    Rename {
        /// The existing column.
        from: Spanned<String>,
        /// Its new name.
        to: Spanned<String>,
    },
    /// `cast COL TYPE`.
    Cast {
        /// The column.
        column: Spanned<String>,
        /// The new type.
        ty: Spanned<ColumnType>,
    },
    /// `impute COL… strategy=… value=…`.
    Impute {
        /// The columns.
        columns: Vec<Spanned<String>>,
        /// Its options.
        options: Options,
    },
    /// `one-hot COL… drop-first=…`.
    OneHot {
        /// The columns.
        columns: Vec<Spanned<String>>,
        /// Its options.
        options: Options,
    },
    /// `derive NAME EXPR`.
    Derive {
        /// The new column.
        column: Spanned<String>,
        /// The expression.
        expr: ExprSource,
    },
    /// `filter EXPR`.
    Filter(ExprSource),
    /// `scale COL… method=…`.
    Scale {
        /// The columns.
        columns: Vec<Spanned<String>>,
        /// Its options.
        options: Options,
    },
}

/// `split NAME from=… train=… valid=… test=… stratify=… seed=…`.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// The split's name.
    pub name: Spanned<String>,
    /// The input table.
    pub from: Spanned<String>,
    /// Its options.
    pub options: Options,
    /// Whether a `train`, `valid` or `test` fraction was written but could not be read (the
    /// syntax stage reported it): then what the fractions add up to is unknown.
    pub unread_fractions: bool,
    /// The whole node.
    pub span: SourceSpan,
}

/// `train NAME data=… label=… { xgboost … }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Train {
    /// The model's name.
    pub name: Spanned<String>,
    /// The training table.
    pub data: Spanned<String>,
    /// The label column.
    pub label: Spanned<String>,
    /// The validation table.
    pub valid: Option<Spanned<String>>,
    /// The `xgboost` block's options.
    pub xgboost: Option<Spanned<Options>>,
    /// The whole node.
    pub span: SourceSpan,
}

/// One hyperparameter range of a `tune` block.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchParam {
    /// The XGBoost parameter.
    pub name: Spanned<String>,
    /// `uniform`, `log-uniform`, `int` or `choice`.
    pub distribution: Spanned<String>,
    /// Bounds or choices.
    pub values: Vec<Spanned<Value>>,
    /// The whole line.
    pub span: SourceSpan,
}

/// `tune MODEL trials=… { param distribution bounds… }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tune {
    /// The `train` model tuned.
    pub model: Spanned<String>,
    /// Its options.
    pub options: Options,
    /// The search space.
    pub space: Vec<SearchParam>,
    /// The whole node.
    pub span: SourceSpan,
}

/// `gate METRIC min=… max=…`.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// The metric.
    pub metric: Spanned<String>,
    /// Bounds.
    pub options: Options,
    /// The whole node.
    pub span: SourceSpan,
}

/// `compare-to MODEL@ALIAS metric=… tolerance=…`.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareTo {
    /// The champion model.
    pub model: Spanned<String>,
    /// Its options.
    pub options: Options,
}

/// `evaluate MODEL data=… { metrics …; gate …; compare-to … }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluate {
    /// The `train` model evaluated.
    pub model: Spanned<String>,
    /// The scoring table.
    pub data: Spanned<String>,
    /// `metrics`, if written.
    pub metrics: Option<Vec<Spanned<String>>>,
    /// Gates.
    pub gates: Vec<Gate>,
    /// Champion comparisons.
    pub compare_to: Vec<CompareTo>,
    /// The whole node.
    pub span: SourceSpan,
}

/// `register NAME model=… alias=… promote=…`.
#[derive(Debug, Clone, PartialEq)]
pub struct Register {
    /// The registry model's name.
    pub name: Spanned<String>,
    /// The `train` model registered.
    pub model: Spanned<String>,
    /// Its options.
    pub options: Options,
    /// The whole node.
    pub span: SourceSpan,
}

/// `package MODEL format=…`.
#[derive(Debug, Clone, PartialEq)]
pub struct Package {
    /// The registry model packaged.
    pub model: Spanned<String>,
    /// Its options.
    pub options: Options,
    /// The whole node.
    pub span: SourceSpan,
}

/// `serve NAME model=… port=… { log-predictions …; max-batch … }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Serve {
    /// The service's name.
    pub name: Spanned<String>,
    /// The registry model served.
    pub model: Spanned<String>,
    /// Its options.
    pub options: Options,
    /// `log-predictions`: a boolean or a `(param)`.
    pub log_predictions: Option<Spanned<Value>>,
    /// `max-batch`.
    pub max_batch: Option<Spanned<Value>>,
    /// The whole node.
    pub span: SourceSpan,
}

/// `drift METHOD threshold=… p-value=…` or `performance METRIC min=…`.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorRule {
    /// The method or metric.
    pub name: Spanned<String>,
    /// Its options.
    pub options: Options,
    /// The whole node.
    pub span: SourceSpan,
}

/// `monitor NAME model=… reference=… current=… { … }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Monitor {
    /// The monitor's name.
    pub name: Spanned<String>,
    /// The registry model watched.
    pub model: Spanned<String>,
    /// The reference table.
    pub reference: Spanned<String>,
    /// The current data.
    pub current: Spanned<String>,
    /// Drift tests.
    pub drifts: Vec<MonitorRule>,
    /// Performance rules.
    pub performance: Vec<MonitorRule>,
    /// `features`.
    pub features: Option<Vec<Spanned<String>>>,
    /// `on-drift`.
    pub on_drift: Option<Spanned<String>>,
    /// The whole node.
    pub span: SourceSpan,
}

/// `schedule NAME cron=…`.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// The schedule's name.
    pub name: Spanned<String>,
    /// The cron expression.
    pub cron: Spanned<String>,
}

/// `input NAME from=…` of a custom step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepInput {
    /// The input's name.
    pub name: Spanned<String>,
    /// The upstream output.
    pub from: Spanned<String>,
}

/// `output NAME type=… { schema … }` of a custom step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepOutput {
    /// The output's name.
    pub name: Spanned<String>,
    /// `table`, `model` or `file`.
    pub kind: Spanned<String>,
    /// Declared columns.
    pub schema: Option<Spanned<Vec<ColumnDecl>>>,
}

/// `step NAME { run …; input …; output …; code …; env … }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The step's name.
    pub name: Spanned<String>,
    /// The command.
    pub run: Option<Spanned<String>>,
    /// Inputs.
    pub inputs: Vec<StepInput>,
    /// Outputs.
    pub outputs: Vec<StepOutput>,
    /// Files part of the cache key.
    pub code: Vec<Spanned<String>>,
    /// Environment variables.
    pub env: Vec<(Spanned<String>, Spanned<Value>)>,
    /// The whole node.
    pub span: SourceSpan,
}

/// `target KIND options… { runner …; install … }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// `github-actions`, `airflow` or `kubeflow`.
    pub kind: Spanned<String>,
    /// Its options.
    pub options: Options,
    /// `runner`.
    pub runner: Option<String>,
    /// `install`.
    pub install: Option<String>,
    /// The whole node.
    pub span: SourceSpan,
}
