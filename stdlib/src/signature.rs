//! The shape of a signature: what a node of the language accepts (arguments, options, children).
//!
//! These types are plain `'static` data so that the checker, the runtime and the docs test all
//! read the one table in [`crate::vocabulary`] instead of keeping lists of their own.

/// The kind of value an argument or option accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A whole number.
    Int,
    /// A number; whole numbers are accepted too.
    Float,
    /// `#true` or `#false`.
    Bool,
    /// Free text.
    String,
    /// A declared name: letters, digits, `_` and `-`, starting with a letter.
    Name,
    /// An environment variable's name: letters, digits and `_`, not starting with a digit.
    Variable,
    /// A reference to a step's output: `name` or `name.output`.
    Reference,
    /// A reference to a registered model: `name@alias` or `name@version`.
    ModelReference,
    /// A column name at that point of the plan.
    Column,
    /// A column type: `int float bool string category date datetime`.
    ColumnType,
    /// An expression of the `derive`/`filter` language.
    Expression,
    /// A five-field cron expression.
    Cron,
    /// A file path or glob, relative to the spec.
    Path,
    /// Any literal (its type is checked against something else later).
    Any,
}

impl ValueKind {
    /// A short phrase for messages: "expected an integer".
    pub fn describe(self) -> &'static str {
        match self {
            ValueKind::Int => "an integer",
            ValueKind::Float => "a number",
            ValueKind::Bool => "a boolean (`#true` or `#false`)",
            ValueKind::String => "a string",
            ValueKind::Name => "a name",
            ValueKind::Variable => "an environment variable name",
            ValueKind::Reference => "a step reference such as `holdout.train`",
            ValueKind::ModelReference => "a model reference such as `churn-classifier@production`",
            ValueKind::Column => "a column name",
            ValueKind::ColumnType => "a column type",
            ValueKind::Expression => "an expression",
            ValueKind::Cron => "a cron expression",
            ValueKind::Path => "a path",
            ValueKind::Any => "a value",
        }
    }

    /// Whether a `(param)"name"` reference may stand for this value.
    pub fn accepts_param(self) -> bool {
        matches!(self, ValueKind::Int | ValueKind::Float | ValueKind::Bool | ValueKind::String | ValueKind::Any)
    }
}

/// A default value, as written in the table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Literal {
    /// A whole number.
    Int(i64),
    /// A number.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A string.
    Str(&'static str),
}

/// Inclusive or exclusive numeric bounds for an option.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// Lower bound, if any.
    pub min: Option<f64>,
    /// Whether the lower bound itself is excluded.
    pub min_exclusive: bool,
    /// Upper bound, if any.
    pub max: Option<f64>,
}

impl Range {
    /// No bounds.
    pub const ANY: Range = Range { min: None, min_exclusive: false, max: None };

    /// `min <= x`.
    pub const fn at_least(min: f64) -> Range {
        Range { min: Some(min), min_exclusive: false, max: None }
    }

    /// `min <= x <= max`.
    pub const fn between(min: f64, max: f64) -> Range {
        Range { min: Some(min), min_exclusive: false, max: Some(max) }
    }

    /// `min < x <= max`.
    pub const fn above_up_to(min: f64, max: f64) -> Range {
        Range { min: Some(min), min_exclusive: true, max: Some(max) }
    }

    /// `min < x`.
    pub const fn above(min: f64) -> Range {
        Range { min: Some(min), min_exclusive: true, max: None }
    }

    /// Whether `value` lies inside the bounds.
    pub fn contains(&self, value: f64) -> bool {
        let above_min = match self.min {
            Some(min) if self.min_exclusive => value > min,
            Some(min) => value >= min,
            None => true,
        };
        let below_max = self.max.is_none_or(|max| value <= max);
        above_min && below_max
    }

    /// The bounds in words: "between 1 and 64", "greater than 0".
    pub fn describe(&self) -> String {
        match (self.min, self.max) {
            (Some(min), Some(max)) if self.min_exclusive => {
                format!("greater than {min} and at most {max}")
            }
            (Some(min), Some(max)) => format!("between {min} and {max}"),
            (Some(min), None) if self.min_exclusive => format!("greater than {min}"),
            (Some(min), None) => format!("at least {min}"),
            (None, Some(max)) => format!("at most {max}"),
            (None, None) => "any number".to_string(),
        }
    }
}

/// One `key=value` option of a node.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptionSpec {
    /// The option's spelling.
    pub name: &'static str,
    /// What it accepts.
    pub kind: ValueKind,
    /// Whether the node is incomplete without it.
    pub required: bool,
    /// The value used when it is absent.
    pub default: Option<Literal>,
    /// Numeric bounds.
    pub range: Range,
    /// The allowed values, when the option is an enumeration.
    pub choices: &'static [&'static str],
    /// Whether `(env)` and `(secret)` references are allowed.
    pub secret_ok: bool,
    /// Whether the value must be written out, never as `(param)`: set on options that shape
    /// the plan's columns or outputs, which the checker must see as they will run.
    pub literal_only: bool,
    /// One line for the docs.
    pub doc: &'static str,
}

impl OptionSpec {
    /// An optional option with no default.
    pub const fn new(name: &'static str, kind: ValueKind, doc: &'static str) -> OptionSpec {
        OptionSpec {
            name,
            kind,
            required: false,
            default: None,
            range: Range::ANY,
            choices: &[],
            secret_ok: false,
            literal_only: false,
            doc,
        }
    }

    /// Marks the option as required.
    pub const fn required(mut self) -> OptionSpec {
        self.required = true;
        self
    }

    /// Sets the default.
    pub const fn default(mut self, default: Literal) -> OptionSpec {
        self.default = Some(default);
        self
    }

    /// Sets numeric bounds.
    pub const fn range(mut self, range: Range) -> OptionSpec {
        self.range = range;
        self
    }

    /// Restricts the option to a set of values.
    pub const fn choices(mut self, choices: &'static [&'static str]) -> OptionSpec {
        self.choices = choices;
        self
    }

    /// Allows `(env)` and `(secret)` references.
    pub const fn secret_ok(mut self) -> OptionSpec {
        self.secret_ok = true;
        self
    }

    /// Refuses `(param)`: the value decides columns or outputs, so a later `--set` must not be
    /// able to change it behind the checker's back.
    pub const fn literal_only(mut self) -> OptionSpec {
        self.literal_only = true;
        self
    }

    /// Whether `(param)` may stand for the value.
    pub fn param_ok(&self) -> bool {
        self.kind.accepts_param() && !self.literal_only
    }
}

/// A positional argument of a node.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArgSpec {
    /// What the argument means, for messages and docs.
    pub name: &'static str,
    /// What it accepts.
    pub kind: ValueKind,
    /// The allowed values, when the argument is an enumeration.
    pub choices: &'static [&'static str],
    /// Numeric bounds.
    pub range: Range,
    /// Whether `(env)` and `(secret)` references are allowed.
    pub secret_ok: bool,
    /// Whether `(param)` may stand for the value. Positional arguments are mostly names,
    /// choices, columns and paths, which are written out; numbers and booleans (`max-batch`,
    /// `log-predictions`) are values and take a `(param)`.
    pub param_ok: bool,
}

impl ArgSpec {
    /// An argument of any value of `kind`; a number or boolean may be a `(param)`.
    pub const fn new(name: &'static str, kind: ValueKind) -> ArgSpec {
        let param_ok = matches!(kind, ValueKind::Int | ValueKind::Float | ValueKind::Bool);
        ArgSpec { name, kind, choices: &[], range: Range::ANY, secret_ok: false, param_ok }
    }

    /// An argument restricted to a set of values.
    pub const fn choice(name: &'static str, choices: &'static [&'static str]) -> ArgSpec {
        ArgSpec { name, kind: ValueKind::String, choices, range: Range::ANY, secret_ok: false, param_ok: false }
    }

    /// Sets numeric bounds.
    pub const fn range(mut self, range: Range) -> ArgSpec {
        self.range = range;
        self
    }

    /// Allows `(env)` and `(secret)` references.
    pub const fn secret_ok(mut self) -> ArgSpec {
        self.secret_ok = true;
        self
    }

    /// Allows a `(param)` reference for a value that is not a number or a boolean (the value
    /// of a step's `env`).
    pub const fn param_ok(mut self) -> ArgSpec {
        self.param_ok = true;
        self
    }
}

/// How many positional arguments a node takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Args {
    /// Arguments that must be present, in order.
    pub required: &'static [ArgSpec],
    /// Arguments that may follow, in order.
    pub optional: &'static [ArgSpec],
    /// Any number of further arguments of this shape (at least one when `required` is empty
    /// and `rest_min_one` holds).
    pub rest: Option<ArgSpec>,
    /// Whether the rest must hold at least one value.
    pub rest_min_one: bool,
}

impl Args {
    /// No arguments.
    pub const NONE: Args = Args { required: &[], optional: &[], rest: None, rest_min_one: false };

    /// Exactly these arguments.
    pub const fn exactly(required: &'static [ArgSpec]) -> Args {
        Args { required, optional: &[], rest: None, rest_min_one: false }
    }

    /// One or more arguments of one shape.
    pub const fn one_or_more(rest: ArgSpec) -> Args {
        Args { required: &[], optional: &[], rest: Some(rest), rest_min_one: true }
    }
}

/// What may appear inside a node's `{ … }` block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Children {
    /// Nothing: a block is an error.
    None,
    /// These nodes, each described by its own signature.
    Nodes(&'static [NodeSpec]),
    /// Free-named children: `name value` (the `params` block).
    Params,
    /// Free-named columns: `name type constraints… { levels … }` (a `schema` block).
    Columns,
    /// Free-named hyperparameter ranges: `name distribution bounds…` (a `tune` block).
    SearchSpace,
}

/// The signature of one node of the language.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeSpec {
    /// The node's keyword.
    pub keyword: &'static str,
    /// One line for the docs and for "expected one of" messages.
    pub summary: &'static str,
    /// Positional arguments.
    pub args: Args,
    /// `key=value` options.
    pub options: &'static [OptionSpec],
    /// What the block may hold.
    pub children: Children,
    /// Whether the node may appear more than once among its siblings.
    pub repeatable: bool,
}

impl NodeSpec {
    /// The option called `name`, if the node has one.
    pub fn option(&self, name: &str) -> Option<&'static OptionSpec> {
        self.options.iter().find(|option| option.name == name)
    }

    /// The child node called `keyword`, if the block allows one.
    pub fn child(&self, keyword: &str) -> Option<&'static NodeSpec> {
        match self.children {
            Children::Nodes(nodes) => nodes.iter().find(|node| node.keyword == keyword),
            _ => None,
        }
    }
}
