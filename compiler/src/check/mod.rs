//! The check stage: names, references, cycles, schemas, expressions and models, all at once.
//!
//! [`check`] takes a parsed [`Spec`] and returns a [`Checked`] spec — the symbol table, the
//! inferred schema of every table output and what every model learns — with every problem found.
//! Nothing here stops at the first error: a node that cannot be checked is skipped and the rest
//! goes on.

mod error;
mod expr_type;
mod model;
mod params;
mod schema;
mod table;

use std::collections::{BTreeMap, BTreeSet};

use miette::{LabeledSpan, SourceSpan};

pub use error::CheckError;
pub use expr_type::{ExprType, FUNCTIONS};
pub use schema::{Column, Schema};

use crate::ast::{Item, Options, Spanned, Spec, Value};
use crate::graph::Dag;
use crate::suggest::{did_you_mean, one_of};

/// What kind of artifact an output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OutputKind {
    /// A table (Parquet in the store).
    Table,
    /// A model (XGBoost JSON in the store).
    Model,
    /// Any other file.
    File,
}

impl OutputKind {
    /// "a table".
    pub fn describe(self) -> &'static str {
        match self {
            OutputKind::Table => "a table",
            OutputKind::Model => "a model",
            OutputKind::File => "a file",
        }
    }

    /// The name used in the plan.
    pub fn name(self) -> &'static str {
        match self {
            OutputKind::Table => "table",
            OutputKind::Model => "model",
            OutputKind::File => "file",
        }
    }
}

/// A node whose outputs other nodes can refer to: `dataset`, `transform`, `split`, `step`, `train`.
#[derive(Debug, Clone, PartialEq)]
pub struct Producer {
    /// The node's keyword.
    pub keyword: &'static str,
    /// Its name.
    pub name: String,
    /// Where the name was declared.
    pub span: SourceSpan,
    /// Its outputs, in declaration order.
    pub outputs: Vec<(String, OutputKind)>,
    /// The output a bare `name` refers to.
    pub default_output: Option<String>,
}

/// A reference resolved to a producer's output.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Resolved {
    /// The producer's name.
    pub node: String,
    /// The output's name.
    pub output: String,
}

/// The learning task an objective implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Two classes.
    Binary,
    /// More than two classes.
    Multiclass,
    /// A number.
    Regression,
}

impl Task {
    /// "a binary classification".
    pub fn describe(self) -> &'static str {
        match self {
            Task::Binary => "a binary classification",
            Task::Multiclass => "a multiclass classification",
            Task::Regression => "a regression",
        }
    }

    /// The name used in the plan.
    pub fn name(self) -> &'static str {
        match self {
            Task::Binary => "binary",
            Task::Multiclass => "multiclass",
            Task::Regression => "regression",
        }
    }

    /// The metrics that fit the task.
    pub fn metrics(self) -> &'static [&'static str] {
        use mlops_stdlib::vocabulary::{BINARY_METRICS, MULTICLASS_METRICS, REGRESSION_METRICS};
        match self {
            Task::Binary => BINARY_METRICS,
            Task::Multiclass => MULTICLASS_METRICS,
            Task::Regression => REGRESSION_METRICS,
        }
    }
}

/// What the checker learned about a `train` model. Recorded whenever its objective is valid
/// and its data resolves, so that the plan wires its inputs and the nodes that read the model
/// are checked, even when the training table's columns are unknown.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// Its task.
    pub task: Task,
    /// Its objective.
    pub objective: String,
    /// The label column's name, as written.
    pub label: String,
    /// The label and feature columns; `None` when the training table's columns are unknown
    /// (it comes from a custom step output without a `schema`) or the label is not among them.
    pub columns: Option<ModelColumns>,
    /// The training table.
    pub data: Resolved,
    /// The validation table, explicit or implied by the split.
    pub valid: Option<Resolved>,
}

/// The columns a model learns from.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelColumns {
    /// The label column.
    pub label: Column,
    /// The feature columns, in order.
    pub features: Vec<Column>,
}

/// What the checker learned about a `register` node.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryInfo {
    /// The `train` model registered.
    pub model: String,
    /// Aliases that exist for it: the one set on registration, the promotion alias and `latest`.
    pub aliases: Vec<String>,
}

/// A spec that passed the check stage, with everything the plan needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// The spec itself.
    pub spec: Spec,
    /// Declared parameters with their values.
    pub params: BTreeMap<String, Value>,
    /// Producers by name.
    pub producers: BTreeMap<String, Producer>,
    /// The schema of every table output whose columns are known.
    pub schemas: BTreeMap<Resolved, Schema>,
    /// Models by `train` name.
    pub models: BTreeMap<String, ModelInfo>,
    /// Registered models by name.
    pub registry: BTreeMap<String, RegistryInfo>,
    /// The levels each `one-hot` expands: (transform, column) → levels, in order.
    pub one_hot_levels: BTreeMap<(String, String), Vec<String>>,
}

impl Checked {
    /// Resolves `name` or `name.output` to a producer's output.
    pub fn resolve(&self, reference: &str) -> Option<Resolved> {
        let (name, output) = match reference.split_once('.') {
            Some((name, output)) => (name, Some(output)),
            None => (reference, None),
        };
        let producer = self.producers.get(name)?;
        let output = match output {
            Some(output) => producer.outputs.iter().find(|(known, _)| known == output)?.0.clone(),
            None => producer.default_output.clone()?,
        };
        Some(Resolved { node: name.to_string(), output })
    }

    /// A value with `(param)` references replaced by the parameter's value.
    pub fn value(&self, value: &Value) -> Value {
        match value {
            Value::Param(name) => self.params.get(name).cloned().unwrap_or_else(|| value.clone()),
            other => other.clone(),
        }
    }
}

/// Checks a parsed spec. Returns what could be learned and every problem found.
pub fn check(spec: Spec) -> (Checked, Vec<CheckError>) {
    let mut checker = Checker {
        checked: Checked {
            spec: Spec::default(),
            params: BTreeMap::new(),
            producers: BTreeMap::new(),
            schemas: BTreeMap::new(),
            models: BTreeMap::new(),
            registry: BTreeMap::new(),
            one_hot_levels: BTreeMap::new(),
        },
        errors: Vec::new(),
        used: BTreeSet::new(),
        unknown_schemas: BTreeMap::new(),
    };
    checker.params(&spec);
    checker.declare(&spec);
    let order = checker.producer_order(&spec);
    // The first declaration of each producer name (later duplicates were reported).
    let mut producer_items: BTreeMap<&str, &Item> = BTreeMap::new();
    for item in &spec.items {
        if let Some(("step", name)) = declaration(item) {
            producer_items.entry(name.as_str()).or_insert(item);
        }
    }
    for name in order {
        match producer_items.get(name.as_str()) {
            Some(Item::Dataset(dataset)) => checker.dataset(dataset),
            Some(Item::Transform(transform)) => checker.transform(transform),
            Some(Item::Split(split)) => checker.split(split),
            Some(Item::Step(step)) => checker.step(step),
            Some(Item::Train(train)) => checker.train(train),
            _ => {}
        }
    }
    checker.registry(&spec);
    for item in &spec.items {
        match item {
            Item::Tune(tune) => checker.tune(tune),
            Item::Evaluate(evaluate) => checker.evaluate(evaluate),
            Item::Register(register) => checker.register(register, &spec),
            Item::Package(package) => checker.package(package),
            Item::Serve(serve) => checker.serve(serve),
            Item::Monitor(monitor) => checker.monitor(monitor),
            Item::Schedule(schedule) => checker.schedule(schedule),
            _ => {}
        }
    }
    checker.unused(&spec);
    checker.unknown_schemas(&spec);
    checker.checked.spec = spec;
    (checker.checked, checker.errors)
}

pub(crate) struct Checker {
    pub(crate) checked: Checked,
    pub(crate) errors: Vec<CheckError>,
    /// Producers some other node reads.
    pub(crate) used: BTreeSet<String>,
    /// Custom step outputs read as tables while their columns are unknown, with the first
    /// place that reads each.
    pub(crate) unknown_schemas: BTreeMap<Resolved, SourceSpan>,
}

/// The name and namespace an item declares, if any.
fn declaration(item: &Item) -> Option<(&'static str, &Spanned<String>)> {
    Some(match item {
        Item::Dataset(node) => ("step", &node.name),
        Item::Transform(node) => ("step", &node.name),
        Item::Split(node) => ("step", &node.name),
        Item::Train(node) => ("step", &node.name),
        Item::Step(node) => ("step", &node.name),
        Item::Register(node) => ("registered model", &node.name),
        Item::Serve(node) => ("service", &node.name),
        Item::Monitor(node) => ("monitor", &node.name),
        Item::Schedule(node) => ("schedule", &node.name),
        Item::Target(node) => ("target", &node.kind),
        Item::Tune(node) => ("tune of model", &node.model),
        Item::Evaluate(node) => ("evaluation of model", &node.model),
        Item::Package(node) => ("package of model", &node.model),
    })
}

impl Checker {
    /// Declares every name, reporting duplicates within a namespace.
    fn declare(&mut self, spec: &Spec) {
        let mut seen: BTreeMap<(&str, &str), SourceSpan> = BTreeMap::new();
        for item in &spec.items {
            let Some((namespace, name)) = declaration(item) else { continue };
            if let Some(first) = seen.get(&(namespace, name.as_str())) {
                self.errors.push(CheckError::DuplicateName {
                    kind: namespace.to_string(),
                    name: name.value.clone(),
                    span: name.span,
                    first: *first,
                    help: match namespace {
                        "step" => {
                            "datasets, transforms, splits, models and steps share one namespace; rename one".to_string()
                        }
                        "tune of model" | "evaluation of model" | "package of model" => {
                            "merge the two blocks into one".to_string()
                        }
                        _ => "rename one of them".to_string(),
                    },
                });
                continue;
            }
            seen.insert((namespace, name.as_str()), name.span);
            let producer = |keyword, outputs: Vec<(&str, OutputKind)>, default: Option<&str>| Producer {
                keyword,
                name: name.value.clone(),
                span: name.span,
                outputs: outputs.into_iter().map(|(output, kind)| (output.to_string(), kind)).collect(),
                default_output: default.map(str::to_string),
            };
            let declared = match item {
                Item::Dataset(_) => producer("dataset", vec![("table", OutputKind::Table)], Some("table")),
                Item::Transform(_) => producer("transform", vec![("table", OutputKind::Table)], Some("table")),
                Item::Split(split) => {
                    // A part with a fraction of 0 does not exist. `valid` and `test` are
                    // literals (the vocabulary refuses `(param)` there), so this holds at run time.
                    let has = |part: &str, default: f64| {
                        split.options.get(part).and_then(|value| value.value.as_f64()).unwrap_or(default) > 0.0
                    };
                    let mut outputs = vec![("train", OutputKind::Table)];
                    if has("valid", 0.0) {
                        outputs.push(("valid", OutputKind::Table));
                    }
                    if has("test", 0.2) {
                        outputs.push(("test", OutputKind::Table));
                    }
                    producer("split", outputs, None)
                }
                Item::Train(_) => producer("train", vec![("model", OutputKind::Model)], Some("model")),
                Item::Step(step) => {
                    let outputs: Vec<(String, OutputKind)> = step
                        .outputs
                        .iter()
                        .map(|output| {
                            let kind = match output.kind.as_str() {
                                "model" => OutputKind::Model,
                                "file" => OutputKind::File,
                                _ => OutputKind::Table,
                            };
                            (output.name.value.clone(), kind)
                        })
                        .collect();
                    let default = (outputs.len() == 1).then(|| outputs[0].0.clone());
                    Producer {
                        keyword: "step",
                        name: name.value.clone(),
                        span: name.span,
                        outputs,
                        default_output: default,
                    }
                }
                _ => continue,
            };
            self.checked.producers.insert(name.value.clone(), declared);
        }
    }

    /// Whether `name` is the declaration that owns its name (not a reported duplicate).
    fn is_declaration(&self, name: &Spanned<String>) -> bool {
        self.checked.producers.get(name.as_str()).is_some_and(|producer| producer.span == name.span)
    }

    /// References between producers, as (item name, reference) pairs.
    fn producer_references(spec: &Spec) -> Vec<(&Spanned<String>, &Spanned<String>)> {
        let mut references = Vec::new();
        for item in &spec.items {
            match item {
                Item::Transform(node) => references.push((&node.name, &node.from)),
                Item::Split(node) => references.push((&node.name, &node.from)),
                Item::Train(node) => {
                    references.push((&node.name, &node.data));
                    if let Some(valid) = &node.valid {
                        references.push((&node.name, valid));
                    }
                }
                Item::Step(node) => references.extend(node.inputs.iter().map(|input| (&node.name, &input.from))),
                _ => {}
            }
        }
        references
    }

    /// Producers in dependency order; reports cycles.
    fn producer_order(&mut self, spec: &Spec) -> Vec<String> {
        let mut dag = Dag::default();
        let names: Vec<String> = self.checked.producers.keys().cloned().collect();
        let index: BTreeMap<&str, usize> =
            names.iter().map(|name| (name.as_str(), dag.add_node(name.clone()))).collect();
        let references = Self::producer_references(spec);
        let mut edge_spans: BTreeMap<(usize, usize), SourceSpan> = BTreeMap::new();
        for (dependent, reference) in &references {
            // A duplicate's references are not the owner's: `split "churn" from="churn"` after
            // `dataset "churn"` is a duplicate name, not a cycle.
            if !self.is_declaration(dependent) {
                continue;
            }
            let target = reference.as_str().split('.').next().unwrap_or_default();
            if let (Some(&from), Some(&to)) = (index.get(target), index.get(dependent.as_str())) {
                dag.add_edge(from, to);
                edge_spans.entry((from, to)).or_insert(reference.span);
            }
        }
        for cycle in dag.cycles() {
            let mut path: Vec<&str> = cycle.iter().map(|node| names[*node].as_str()).collect();
            path.push(path[0]);
            let labels = cycle
                .iter()
                .zip(cycle.iter().cycle().skip(1))
                .filter_map(|(from, to)| {
                    let span = edge_spans.get(&(*from, *to))?;
                    Some(LabeledSpan::new_with_span(Some(format!("`{}` reads `{}`", names[*to], names[*from])), *span))
                })
                .collect();
            self.errors.push(CheckError::Cycle {
                cycle: path.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(" → "),
                labels,
                help: "a step can only read outputs of steps that come before it; remove one of these references"
                    .to_string(),
            });
        }
        let order: Vec<String> = dag.topological_order().into_iter().map(|node| names[node].clone()).collect();
        // Duplicates and nodes on or behind a cycle are not checked, so their references are
        // never resolved; what they name is still read, and must not be reported as unused.
        let ordered: BTreeSet<&str> = order.iter().map(String::as_str).collect();
        for (dependent, reference) in &references {
            if !self.is_declaration(dependent) || !ordered.contains(dependent.as_str()) {
                let target = reference.as_str().split('.').next().unwrap_or_default();
                self.used.insert(target.to_string());
            }
        }
        order
    }

    /// Resolves a reference, reporting what is wrong with it. `expected` restricts the kind.
    pub(crate) fn resolve(
        &mut self,
        reference: &Spanned<String>,
        what: &str,
        expected: Option<OutputKind>,
    ) -> Option<Resolved> {
        let (name, output) = match reference.as_str().split_once('.') {
            Some((name, output)) => (name, Some(output)),
            None => (reference.as_str(), None),
        };
        let Some(producer) = self.checked.producers.get(name) else {
            let names: Vec<&str> = self.checked.producers.keys().map(String::as_str).collect();
            // The user evidently meant the close match: don't also call it unused.
            if let Some(meant) = crate::suggest::closest(name, &names) {
                self.used.insert(meant.to_string());
            }
            let help = did_you_mean(name, &names).unwrap_or_else(|| {
                if names.is_empty() {
                    "declare a `dataset` first".to_string()
                } else {
                    format!("the steps are {}", one_of(&names))
                }
            });
            self.errors.push(CheckError::UnknownReference {
                what: "step".to_string(),
                name: name.to_string(),
                span: reference.span,
                help,
            });
            return None;
        };
        let outputs: Vec<&str> = producer.outputs.iter().map(|(output, _)| output.as_str()).collect();
        let output_name = match (output, &producer.default_output) {
            (Some(output), _) => output.to_string(),
            (None, Some(default)) => default.clone(),
            (None, None) => {
                let choices: Vec<String> = outputs.iter().map(|output| format!("{name}.{output}")).collect();
                let choices: Vec<&str> = choices.iter().map(String::as_str).collect();
                self.errors.push(CheckError::UnknownOutput {
                    node: name.to_string(),
                    output: String::new(),
                    span: reference.span,
                    help: format!("{} `{name}` has several outputs; name one: {}", producer.keyword, one_of(&choices)),
                });
                return None;
            }
        };
        let Some((_, kind)) = producer.outputs.iter().find(|(known, _)| *known == output_name) else {
            let mut help =
                did_you_mean(&output_name, &outputs).unwrap_or_else(|| format!("`{name}` has {}", one_of(&outputs)));
            if producer.keyword == "split" && matches!(output_name.as_str(), "valid" | "test") {
                help =
                    format!("split `{name}` has no `{output_name}` part; give it `{output_name}=` a fraction above 0");
            }
            self.errors.push(CheckError::UnknownOutput {
                node: name.to_string(),
                output: output_name,
                span: reference.span,
                help,
            });
            return None;
        };
        if let Some(expected) = expected {
            if *kind != expected {
                let help = match expected {
                    OutputKind::Table => "refer to a dataset, transform, split part or step output that is a table",
                    OutputKind::Model => "refer to a `train` model",
                    OutputKind::File => "refer to a file output",
                };
                self.errors.push(CheckError::WrongReferenceKind {
                    what: what.to_string(),
                    expected: expected.describe().to_string(),
                    name: reference.value.clone(),
                    found: kind.describe().to_string(),
                    span: reference.span,
                    help: help.to_string(),
                });
                return None;
            }
        }
        self.used.insert(name.to_string());
        Some(Resolved { node: name.to_string(), output: output_name })
    }

    /// Resolves a table reference and returns its schema, if known.
    pub(crate) fn table(&mut self, reference: &Spanned<String>, what: &str) -> Option<(Resolved, Option<Schema>)> {
        let resolved = self.resolve(reference, what, Some(OutputKind::Table))?;
        let schema = self.checked.schemas.get(&resolved).cloned();
        // Only a custom step's output can lack a schema at its source; tables after it lack
        // one because of it, and the warning goes where the schema should be declared.
        let from_step = self.checked.producers.get(&resolved.node).is_some_and(|producer| producer.keyword == "step");
        if schema.is_none() && from_step {
            self.unknown_schemas.entry(resolved.clone()).or_insert(reference.span);
        }
        Some((resolved, schema))
    }

    /// Warns about custom step table outputs without a `schema` that a node needing columns
    /// reads: nothing after them is column-checked.
    fn unknown_schemas(&mut self, spec: &Spec) {
        for (resolved, reader) in std::mem::take(&mut self.unknown_schemas) {
            // The first declaration of the step: later duplicates were reported.
            let output = spec.items.iter().find_map(|item| match item {
                Item::Step(step) if step.name.value == resolved.node => {
                    Some(step.outputs.iter().find(|output| output.name.value == resolved.output))
                }
                _ => None,
            });
            // A step on a cycle is never checked, so its declared schema is missing too.
            let Some(Some(output)) = output else { continue };
            if output.schema.is_some() {
                continue;
            }
            self.errors.push(CheckError::UnknownSchema {
                node: resolved.node.clone(),
                output: resolved.output.clone(),
                span: output.name.span,
                reader,
                help: format!(
                    "declare its columns inside the output: output \"{}\" {{ schema {{ id string; score float; }} }}",
                    resolved.output
                ),
            });
        }
    }

    /// A numeric option, with `(param)` resolved; `default` when absent.
    pub(crate) fn number(&self, value: Option<&Spanned<Value>>, default: f64) -> f64 {
        value.and_then(|value| self.checked.value(&value.value).as_f64()).unwrap_or(default)
    }

    /// A string option, with `(param)` resolved.
    pub(crate) fn text(&self, value: Option<&Spanned<Value>>) -> Option<String> {
        value.and_then(|value| self.checked.value(&value.value).as_str().map(str::to_string))
    }

    /// A string option as text, with `(param)` resolved, spanned where it is written.
    pub(crate) fn text_option(&self, options: &Options, name: &str) -> Option<Spanned<String>> {
        let value = options.get(name)?;
        Some(Spanned::new(self.text(Some(value))?, value.span))
    }

    /// Reports a `min` above a `max` among a node's options, with `(param)` resolved.
    pub(crate) fn bounds(&mut self, options: &Options, what: &str) {
        let (Some(min), Some(max)) = (options.get("min"), options.get("max")) else { return };
        let number = |value: &Spanned<Value>| self.checked.value(&value.value).as_f64();
        let (Some(low), Some(high)) = (number(min), number(max)) else { return };
        if low > high {
            self.errors.push(CheckError::ContradictoryBounds {
                what: what.to_string(),
                min: low.to_string(),
                max: high.to_string(),
                span: min.span,
                max_span: max.span,
                help: format!("no value is at least {low} and at most {high}; swap them, or fix the one that is wrong"),
            });
        }
    }

    /// Warns about tables that nothing reads.
    fn unused(&mut self, spec: &Spec) {
        // After a syntax error some nodes or references were left out, so "nothing reads this"
        // could be false; the warnings come back once the file reads cleanly.
        if spec.partial {
            return;
        }
        for item in &spec.items {
            let (kind, name) = match item {
                Item::Dataset(node) => ("dataset", &node.name),
                Item::Transform(node) => ("transform", &node.name),
                _ => continue,
            };
            if !self.used.contains(name.as_str()) {
                self.errors.push(CheckError::Unused {
                    kind: kind.to_string(),
                    name: name.value.clone(),
                    span: name.span,
                    help: format!("read it with `from=\"{}\"`, or remove it", name.value),
                });
            }
        }
    }
}
