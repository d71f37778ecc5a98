//! Models and what depends on them: `train`, `tune`, `evaluate`, `register`, `package`, `serve`,
//! `monitor`.

use miette::SourceSpan;
use mlops_stdlib::signature::{OptionSpec, ValueKind};
use mlops_stdlib::vocabulary::{self, BINARY_OBJECTIVES, MULTICLASS_OBJECTIVES, REGRESSION_OBJECTIVES};

use super::{CheckError, Checker, ModelColumns, ModelInfo, RegistryInfo, Schema, Task};
use crate::ast::{ColumnType, Evaluate, Item, Monitor, Package, Register, Serve, Spanned, Spec, Train, Tune, Value};
use crate::suggest::{did_you_mean, one_of};

/// What is wrong with `number` as a value of an `xgboost` option, if anything.
fn value_problem(spec: &OptionSpec, number: f64) -> Option<String> {
    if spec.kind == ValueKind::Int && number.fract() != 0.0 {
        Some(format!("an integer parameter takes whole numbers, found {number}"))
    } else if !spec.range.contains(number) {
        Some(format!("a value must be {}, found {number}", spec.range.describe()))
    } else {
        None
    }
}

/// Whether `objective` is one of the objectives the language knows.
fn is_objective(objective: &str) -> bool {
    [BINARY_OBJECTIVES, MULTICLASS_OBJECTIVES, REGRESSION_OBJECTIVES].iter().any(|known| known.contains(&objective))
}

fn task_of(objective: &str) -> Task {
    if BINARY_OBJECTIVES.contains(&objective) {
        Task::Binary
    } else if MULTICLASS_OBJECTIVES.contains(&objective) {
        Task::Multiclass
    } else {
        Task::Regression
    }
}

impl Checker {
    pub(crate) fn train(&mut self, train: &Train) {
        let name = train.name.as_str();
        let Some(xgboost) = &train.xgboost else {
            self.errors.push(CheckError::MissingNode {
                node: "train".to_string(),
                name: name.to_string(),
                child: "xgboost".to_string(),
                span: train.name.span,
                help:
                    "say how to train it: train \"m\" data=\"…\" label=\"…\" { xgboost objective=\"binary:logistic\"; }"
                        .to_string(),
            });
            return;
        };
        let what = format!("`data` of train `{name}`");
        let objective = self.text(xgboost.value.get("objective")).filter(|objective| is_objective(objective));
        let Some(objective) = objective else {
            // The objective is missing or invalid, which was reported where it is written.
            // Without it the task is unknown, so only the data reference is checked.
            self.table(&train.data, &what);
            return;
        };
        let task = task_of(&objective);
        let Some((data, schema)) = self.table(&train.data, &what) else { return };
        let valid = match &train.valid {
            Some(valid) => {
                let what = format!("`valid` of train `{name}`");
                self.table(valid, &what).map(|(resolved, valid_schema)| {
                    if let (Some(schema), Some(valid_schema)) = (&schema, &valid_schema) {
                        self.same_columns(
                            schema,
                            valid_schema,
                            &format!("validation table `{}`", valid.value),
                            valid.span,
                        );
                    }
                    resolved
                })
            }
            None => {
                // A split's `.train` part implies its `.valid` part, when it has one.
                let implied =
                    (data.output == "train").then(|| self.checked.resolve(&format!("{}.valid", data.node))).flatten();
                if let Some(implied) = &implied {
                    self.used.insert(implied.node.clone());
                }
                implied
            }
        };
        // An explicit `valid=` that does not resolve was reported already.
        if valid.is_none() && train.valid.is_none() {
            if let Some(early) = xgboost.value.get("early-stopping") {
                self.errors.push(CheckError::MissingValidation {
                    what: "`early-stopping`".to_string(),
                    model: name.to_string(),
                    span: early.span,
                    help: "add `valid=\"…\"` to the train node, or give its split a `valid=` fraction".to_string(),
                });
            }
        }
        // Without the training table's columns (a custom step output without a `schema`) the
        // label and features are unknown, but the task, the data and the validation table are
        // not: the model is recorded so that the plan wires its inputs and `tune`, `evaluate`
        // and the registry are still checked.
        let columns = schema.and_then(|schema| self.model_columns(train, &schema, task, &objective));
        let label = train.label.value.clone();
        self.checked.models.insert(name.to_string(), ModelInfo { task, objective, label, columns, data, valid });
    }

    /// Checks the label and the features of a model against its training table's columns.
    fn model_columns(&mut self, train: &Train, schema: &Schema, task: Task, objective: &str) -> Option<ModelColumns> {
        let name = train.name.as_str();
        let place = format!("in `{}`", train.data.value);
        let label = self.column(&train.label, schema, &place).cloned()?;
        let fits = match task {
            Task::Binary => matches!(label.ty, ColumnType::Bool | ColumnType::Int),
            Task::Multiclass => matches!(label.ty, ColumnType::Int | ColumnType::Category),
            // `reg:logistic` regresses onto [0, 1], so a 0/1 boolean label fits it too.
            Task::Regression => {
                matches!(label.ty, ColumnType::Int | ColumnType::Float)
                    || (label.ty == ColumnType::Bool && objective == "reg:logistic")
            }
        };
        if !fits {
            let (needs, suggestion) = match task {
                Task::Binary => ("a `bool` or 0/1 `int` label", "for a number use `reg:squarederror`"),
                Task::Multiclass => ("an `int` or `category` label", "for a number use `reg:squarederror`"),
                Task::Regression => {
                    ("an `int` or `float` label", "for classes use `binary:logistic` or `multi:softprob`")
                }
            };
            self.errors.push(CheckError::LabelType {
                label: label.name.clone(),
                ty: label.ty.name().to_string(),
                objective: objective.to_string(),
                span: train.label.span,
                help: format!("`{objective}` needs {needs}; {suggestion}"),
            });
        }
        let features: Vec<_> = schema.columns.iter().filter(|column| column.name != label.name).cloned().collect();
        if features.is_empty() {
            self.errors.push(CheckError::NoFeatures {
                model: name.to_string(),
                data: train.data.value.clone(),
                span: train.data.span,
                help: "keep at least one column besides the label".to_string(),
            });
        }
        for feature in &features {
            if matches!(feature.ty, ColumnType::Int | ColumnType::Float | ColumnType::Bool) {
                continue;
            }
            let help = match feature.ty {
                ColumnType::Category => format!("`one-hot \"{}\"` in a transform, or `drop` it", feature.name),
                ColumnType::String => format!("`drop \"{}\"` in a transform (identifiers carry no signal), or cast it to `category` and one-hot it", feature.name),
                _ => format!("`derive` numbers from it (such as `year({})`) and `drop` it", feature.name),
            };
            self.errors.push(CheckError::FeatureType {
                column: feature.name.clone(),
                ty: feature.ty.name().to_string(),
                span: train.data.span,
                help,
            });
        }
        Some(ModelColumns { label, features })
    }

    /// Reports columns that differ between the training table and another table.
    fn same_columns(&mut self, expected: &Schema, found: &Schema, what: &str, span: SourceSpan) {
        let mut differences = Vec::new();
        for column in &expected.columns {
            match found.get(&column.name) {
                None => differences.push(format!("missing `{}`", column.name)),
                Some(other) if other.ty != column.ty => differences.push(format!(
                    "`{}` is `{}` instead of `{}`",
                    column.name,
                    other.ty.name(),
                    column.ty.name()
                )),
                _ => {}
            }
        }
        if !differences.is_empty() {
            self.errors.push(CheckError::SchemaMismatch {
                what: what.to_string(),
                difference: differences.join("; "),
                span,
                help: "score and validate on tables that went through the same transform as the training table"
                    .to_string(),
            });
        }
    }

    /// The `train` model called `reference`, reporting when there is none.
    fn model(&mut self, reference: &Spanned<String>, what: &str) -> Option<ModelInfo> {
        let producer = self.checked.producers.get(reference.as_str()).cloned();
        match producer {
            Some(producer) if producer.keyword == "train" => {
                self.used.insert(producer.name.clone());
                self.checked.models.get(reference.as_str()).cloned()
            }
            Some(producer) => {
                self.errors.push(CheckError::WrongReferenceKind {
                    what: what.to_string(),
                    expected: "a `train` model".to_string(),
                    name: reference.value.clone(),
                    found: format!("a {}", producer.keyword),
                    span: reference.span,
                    help: "refer to the name of a `train` node".to_string(),
                });
                None
            }
            None => {
                let models: Vec<&str> = self
                    .checked
                    .producers
                    .values()
                    .filter(|producer| producer.keyword == "train")
                    .map(|producer| producer.name.as_str())
                    .collect();
                self.errors.push(CheckError::UnknownReference {
                    what: "model".to_string(),
                    name: reference.value.clone(),
                    span: reference.span,
                    help: did_you_mean(reference.as_str(), &models).unwrap_or_else(|| {
                        if models.is_empty() {
                            "declare it with a `train` node".to_string()
                        } else {
                            format!("the models are {}", one_of(&models))
                        }
                    }),
                });
                None
            }
        }
    }

    /// Reports a metric that does not fit the model's task; returns whether it fits.
    fn metric_fits(&mut self, metric: &Spanned<String>, model_name: &str, info: &ModelInfo) -> bool {
        let fits = info.task.metrics().contains(&metric.as_str());
        if !fits {
            self.errors.push(CheckError::MetricTask {
                metric: metric.value.clone(),
                task: info.task.describe().to_string(),
                model: model_name.to_string(),
                span: metric.span,
                help: format!("the metrics for {} model are {}", info.task.describe(), one_of(info.task.metrics())),
            });
        }
        fits
    }

    pub(crate) fn tune(&mut self, tune: &Tune) {
        let what = format!("the model of `tune {}`", tune.model.value);
        let Some(info) = self.model(&tune.model, &what) else { return };
        if let Some(metric) = self.text_option(&tune.options, "metric") {
            self.metric_fits(&metric, tune.model.as_str(), &info);
        }
        if info.valid.is_none() {
            self.errors.push(CheckError::MissingValidation {
                what: format!("`tune {}`", tune.model.value),
                model: tune.model.value.clone(),
                span: tune.model.span,
                help: "tuning scores each trial on validation data: add `valid=\"…\"` to the train node or a `valid=` fraction to its split".to_string(),
            });
        }
        for param in &tune.space {
            let spec = vocabulary::XGBOOST_OPTIONS.iter().find(|option| option.name == param.name.value);
            let bad = |message: String, span: SourceSpan| CheckError::SearchSpace {
                param: param.name.value.clone(),
                message,
                span,
                help: "write `uniform low high`, `log-uniform low high` (low > 0), `int low high` or `choice v1 v2 …`"
                    .to_string(),
            };
            let values: Vec<Value> = param.values.iter().map(|value| self.checked.value(&value.value)).collect();
            // An undeclared `(param)` stays unresolved; it was reported where it is used.
            if values.iter().any(|value| matches!(value, Value::Param(_))) {
                continue;
            }
            let numbers: Vec<Option<f64>> = values.iter().map(Value::as_f64).collect();
            let distribution = param.distribution.as_str();
            let whole = spec.is_some_and(|spec| spec.kind == ValueKind::Int);
            let name = param.name.as_str();
            if distribution == "choice" {
                if param.values.is_empty() {
                    self.errors.push(bad("`choice` needs at least one value".to_string(), param.span));
                }
                // Every choice is a value the parameter takes: whole where it is an integer,
                // and inside its range.
                for (value, number) in param.values.iter().zip(&numbers) {
                    let Some(number) = number else { continue };
                    if let Some(problem) = spec.and_then(|spec| value_problem(spec, *number)) {
                        self.errors.push(bad(problem, value.span));
                        break;
                    }
                }
                continue;
            }
            let [Some(low), Some(high)] = numbers[..] else {
                self.errors.push(bad(format!("`{distribution}` needs two numbers, low and high"), param.span));
                continue;
            };
            let bounds_span = match &param.values[..] {
                [first, .., last] => SourceSpan::new(
                    first.span.offset().into(),
                    last.span.offset() + last.span.len() - first.span.offset(),
                ),
                _ => param.span,
            };
            if whole && distribution != "int" {
                self.errors.push(bad(
                    format!(
                        "`{distribution}` draws fractions, but `{name}` is an integer; use `int low high` or `choice` of whole numbers"
                    ),
                    param.distribution.span,
                ));
            } else if low >= high {
                self.errors.push(bad(format!("low {low} is not below high {high}"), bounds_span));
            } else if distribution == "log-uniform" && low <= 0.0 {
                self.errors.push(bad("`log-uniform` needs low > 0".to_string(), bounds_span));
            } else if distribution == "int" && (low.fract() != 0.0 || high.fract() != 0.0) {
                self.errors.push(bad("`int` needs whole numbers".to_string(), bounds_span));
            } else if let Some(spec) = spec {
                if !spec.range.contains(low) || !spec.range.contains(high) {
                    self.errors.push(bad(format!("low and high must be {}", spec.range.describe()), bounds_span));
                }
            }
        }
    }

    pub(crate) fn evaluate(&mut self, evaluate: &Evaluate) {
        let model_name = evaluate.model.as_str();
        let what = format!("the model of `evaluate {model_name}`");
        let info = self.model(&evaluate.model, &what);
        let what = format!("`data` of evaluate `{model_name}`");
        let data = self.table(&evaluate.data, &what);
        let Some(info) = info else { return };
        if let (Some((_, Some(schema))), Some(columns)) = (&data, &info.columns) {
            let mut expected = Schema { columns: columns.features.clone() };
            expected.columns.push(columns.label.clone());
            self.same_columns(
                &expected,
                schema,
                &format!("scoring table `{}`", evaluate.data.value),
                evaluate.data.span,
            );
        }
        let computed: Vec<String> = match &evaluate.metrics {
            Some(metrics) => metrics
                .iter()
                .filter(|metric| self.metric_fits(metric, model_name, &info))
                .map(|metric| metric.value.clone())
                .collect(),
            None => info.task.metrics().iter().map(|metric| metric.to_string()).collect(),
        };
        let metrics_span = evaluate.metrics.as_ref().and_then(|metrics| {
            let first = metrics.first()?.span;
            let last = metrics.last()?.span;
            Some(SourceSpan::new(first.offset().into(), last.offset() + last.len() - first.offset()))
        });
        let check_computed = |checker: &mut Checker, metric: &Spanned<String>| {
            if !checker.metric_fits(metric, model_name, &info) {
                return;
            }
            if !computed.contains(&metric.value) {
                checker.errors.push(CheckError::GateNotComputed {
                    metric: metric.value.clone(),
                    model: model_name.to_string(),
                    span: metric.span,
                    metrics: metrics_span,
                    help: format!("add `{}` to the `metrics` line", metric.value),
                });
            }
        };
        for gate in &evaluate.gates {
            check_computed(self, &gate.metric);
            self.bounds(&gate.options, &format!("gate on `{}`", gate.metric.value));
            if gate.options.get("min").is_none() && gate.options.get("max").is_none() {
                let better = if vocabulary::HIGHER_IS_BETTER.contains(&gate.metric.as_str()) { "min" } else { "max" };
                self.errors.push(CheckError::GateWithoutBound {
                    metric: gate.metric.value.clone(),
                    span: gate.span,
                    help: format!("add a bound: gate \"{}\" {better}=…", gate.metric.value),
                });
            }
        }
        for compare in &evaluate.compare_to {
            if let Some(metric) = self.text_option(&compare.options, "metric") {
                check_computed(self, &metric);
            }
            self.model_reference(&compare.model);
        }
    }

    /// Collects what every `register` node declares, before anything refers to it.
    pub(crate) fn registry(&mut self, spec: &Spec) {
        for item in &spec.items {
            let Item::Register(register) = item else { continue };
            if self.checked.registry.contains_key(register.name.as_str()) {
                continue;
            }
            let alias = self.text(register.options.get("alias")).unwrap_or_else(|| "staging".to_string());
            let promote = self.text(register.options.get("promote")).unwrap_or_else(|| "production".to_string());
            let mut aliases = vec![alias, promote, "latest".to_string()];
            aliases.dedup();
            self.checked
                .registry
                .insert(register.name.value.clone(), RegistryInfo { model: register.model.value.clone(), aliases });
        }
    }

    pub(crate) fn register(&mut self, register: &Register, spec: &Spec) {
        let what = format!("`model` of register `{}`", register.name.value);
        if self.model(&register.model, &what).is_none() {
            return;
        }
        let gated = spec.items.iter().any(|item| {
            matches!(item, Item::Evaluate(evaluate)
                if evaluate.model.value == register.model.value
                    && (!evaluate.gates.is_empty() || !evaluate.compare_to.is_empty()))
        });
        // After a syntax error a gate may have been left out: then "no gate" could be false.
        if !gated && !spec.partial {
            self.errors.push(CheckError::UngatedRegister {
                model: register.model.value.clone(),
                span: register.name.span,
                help: format!(
                    "add `evaluate \"{}\" data=\"…\" {{ gate \"…\" min=…; }}` so only good versions are registered",
                    register.model.value
                ),
            });
        }
    }

    /// Checks a `name@alias` reference against the registry; returns the train model's info.
    fn model_reference(&mut self, reference: &Spanned<String>) -> Option<ModelInfo> {
        let (name, alias) = reference.as_str().split_once('@')?;
        let Some(info) = self.checked.registry.get(name).cloned() else {
            let names: Vec<&str> = self.checked.registry.keys().map(String::as_str).collect();
            self.errors.push(CheckError::UnregisteredModel {
                model: name.to_string(),
                span: reference.span,
                help: did_you_mean(name, &names)
                    .unwrap_or_else(|| format!("add `register \"{name}\" model=\"…\"` so it has versions")),
            });
            return None;
        };
        let is_version = alias.bytes().all(|byte| byte.is_ascii_digit());
        if !is_version && !info.aliases.iter().any(|known| known == alias) {
            let names: Vec<&str> = info.aliases.iter().map(String::as_str).collect();
            self.errors.push(CheckError::UnknownAlias {
                model: name.to_string(),
                alias: alias.to_string(),
                span: reference.span,
                help: did_you_mean(alias, &names).unwrap_or_else(|| {
                    format!(
                        "use {} (its `register` node sets them with `alias=` and `promote=`), or a version number",
                        one_of(&names)
                    )
                }),
            });
        }
        self.checked.models.get(&info.model).cloned()
    }

    pub(crate) fn package(&mut self, package: &Package) {
        if self.checked.registry.contains_key(package.model.as_str()) {
            return;
        }
        let name = package.model.as_str();
        let names: Vec<&str> = self.checked.registry.keys().map(String::as_str).collect();
        // A common slip: the `train` name instead of the name it is registered under.
        let registered_as =
            self.checked.registry.iter().find(|(_, info)| info.model == name).map(|(registered, _)| registered);
        let is_train = self.checked.producers.get(name).is_some_and(|producer| producer.keyword == "train");
        let help = match (registered_as, is_train) {
            (Some(registered), _) => format!("`{name}` is registered as `{registered}`; package \"{registered}\""),
            (None, true) => format!(
                "`{name}` is a `train` model; `package` takes the name of a `register` node: register \"{name}-model\" model=\"{name}\""
            ),
            (None, false) => did_you_mean(name, &names)
                .unwrap_or_else(|| "`package` takes the name of a `register` node".to_string()),
        };
        self.errors.push(CheckError::UnregisteredModel { model: name.to_string(), span: package.model.span, help });
    }

    pub(crate) fn serve(&mut self, serve: &Serve) {
        self.model_reference(&serve.model);
    }

    pub(crate) fn monitor(&mut self, monitor: &Monitor) {
        let info = self.model_reference(&monitor.model);
        let what = format!("`reference` of monitor `{}`", monitor.name.value);
        let reference = self.table(&monitor.reference, &what);
        if let (Some(features), Some((_, Some(schema)))) = (&monitor.features, &reference) {
            let place = format!("in `{}`", monitor.reference.value);
            for feature in features {
                self.column(feature, schema, &place);
            }
        }
        if let Some(info) = info {
            for rule in &monitor.performance {
                self.metric_fits(&rule.name, monitor.model.as_str(), &info);
            }
        }
        // Like a gate, a rule without its bound would never fire.
        for drift in &monitor.drifts {
            let (bound, other, example) = match drift.name.as_str() {
                "psi" => ("threshold", "p-value", "threshold=0.2"),
                _ => ("p-value", "threshold", "p-value=0.01"),
            };
            // The other method's option in its place was reported where it is written.
            if drift.options.get(bound).is_none() && drift.options.get(other).is_none() {
                self.errors.push(CheckError::RuleWithoutBound {
                    rule: format!("`drift \"{}\"`", drift.name.value),
                    span: drift.span,
                    help: format!("add `{bound}=`: drift \"{}\" {example}", drift.name.value),
                });
            }
        }
        for rule in &monitor.performance {
            let what = format!("`performance \"{}\"`", rule.name.value);
            self.bounds(&rule.options, &what);
            if rule.options.get("min").is_none() && rule.options.get("max").is_none() {
                let better = if vocabulary::HIGHER_IS_BETTER.contains(&rule.name.as_str()) { "min" } else { "max" };
                self.errors.push(CheckError::RuleWithoutBound {
                    rule: what,
                    span: rule.span,
                    help: format!("add the value that should alert: performance \"{}\" {better}=…", rule.name.value),
                });
            }
        }
    }
}
