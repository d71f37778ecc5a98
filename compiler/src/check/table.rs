//! Schema flow through the table steps: `dataset`, `transform`, `split` and custom `step` outputs.

use miette::SourceSpan;

use super::expr_type::check_expression;
use super::{CheckError, Checker, Column, Resolved, Schema};
use crate::ast::{ColumnDecl, ColumnType, Dataset, Op, Spanned, Split, Step, Transform, Value};
use crate::suggest::{did_you_mean, one_of};

impl Checker {
    /// Reports a column that does not exist.
    pub(crate) fn unknown_column(&mut self, column: &Spanned<String>, schema: &Schema, place: &str) {
        let names = schema.names();
        let help = did_you_mean(column.as_str(), &names).unwrap_or_else(|| {
            if names.is_empty() {
                "the table has no columns at this point".to_string()
            } else {
                format!("the columns are {}", one_of(&names))
            }
        });
        self.errors.push(CheckError::UnknownColumn {
            column: column.value.clone(),
            place: place.to_string(),
            span: column.span,
            help,
        });
    }

    /// The column called `column`, reporting when it does not exist.
    pub(crate) fn column<'s>(
        &mut self,
        column: &Spanned<String>,
        schema: &'s Schema,
        place: &str,
    ) -> Option<&'s Column> {
        let found = schema.get(column.as_str());
        if found.is_none() {
            self.unknown_column(column, schema, place);
        }
        found
    }

    /// Whether a boolean option is set, with `(param)` resolved to the parameter's value (as
    /// the plan resolves it) so that the inferred schema matches what runs.
    fn flag(&self, value: Option<&Spanned<Value>>) -> bool {
        value.is_some_and(|value| self.checked.value(&value.value) == Value::Bool(true))
    }

    /// Turns a `schema` block into a schema, checking each column's constraints.
    pub(crate) fn declared_schema(&mut self, columns: &[ColumnDecl]) -> Schema {
        let mut schema = Schema::default();
        for column in columns {
            let ty = column.ty.value;
            for bound in ["min", "max"] {
                if let Some(value) = column.options.get(bound) {
                    if !(ty.is_numeric() || matches!(ty, ColumnType::Date | ColumnType::Datetime)) {
                        self.errors.push(CheckError::ConstraintType {
                            constraint: bound.to_string(),
                            column: column.name.value.clone(),
                            ty: ty.name().to_string(),
                            span: value.span,
                            help: "`min` and `max` apply to `int` and `float` columns".to_string(),
                        });
                    }
                }
            }
            self.bounds(&column.options, &format!("column `{}`", column.name.value));
            if let Some(levels) = &column.levels {
                if ty != ColumnType::Category {
                    self.errors.push(CheckError::ConstraintType {
                        constraint: "levels".to_string(),
                        column: column.name.value.clone(),
                        ty: ty.name().to_string(),
                        span: levels.span,
                        help: format!(
                            "declare the column as `category` to give it levels: {} category {{ levels … }}",
                            column.name.value
                        ),
                    });
                }
            }
            let flag = |name: &str| self.flag(column.options.get(name));
            schema.columns.push(Column {
                name: column.name.value.clone(),
                ty,
                nullable: flag("nullable"),
                levels: column.levels.as_ref().map(|levels| levels.value.clone()),
            });
        }
        schema
    }

    pub(crate) fn dataset(&mut self, dataset: &Dataset) {
        let name = dataset.name.as_str();
        if dataset.source.is_none() {
            self.errors.push(CheckError::MissingNode {
                node: "dataset".to_string(),
                name: name.to_string(),
                child: "source".to_string(),
                span: dataset.name.span,
                help: "say where the data is: source \"data/customers.csv\"".to_string(),
            });
        }
        let Some(columns) = &dataset.schema else {
            self.errors.push(CheckError::MissingNode {
                node: "dataset".to_string(),
                name: name.to_string(),
                child: "schema".to_string(),
                span: dataset.name.span,
                help: "declare its columns so every step after it can be checked: schema { id string; age int }"
                    .to_string(),
            });
            return;
        };
        let schema = self.declared_schema(&columns.value);
        let place = format!("in dataset `{name}`");
        for expect in &dataset.expects {
            let rule = expect.rule.as_str();
            let shape = |message: &str| {
                CheckError::ExpectRule {
                rule: rule.to_string(),
                message: message.to_string(),
                span: expect.span,
                help: "the rules are `expect row-count min=… max=…`, `expect null-fraction \"column\" max=…` and `expect unique \"column\"`".to_string(),
            }
            };
            match (rule, &expect.column) {
                ("row-count", Some(_)) => self.errors.push(shape("takes no column")),
                ("null-fraction" | "unique", None) => self.errors.push(shape("needs a column")),
                (_, Some(column)) => {
                    self.column(column, &schema, &place);
                }
                _ => {}
            }
            let has_bound = expect.options.get("min").is_some() || expect.options.get("max").is_some();
            // Bounds may be `(param)`s: checked with the values the plan will hold.
            let above_one = ["min", "max"].into_iter().find(|bound| self.number(expect.options.get(bound), 0.0) > 1.0);
            match (rule, above_one) {
                ("row-count" | "null-fraction", _) if !has_bound => self.errors.push(shape("needs `min=` or `max=`")),
                ("unique", _) if has_bound => self.errors.push(shape("takes no bounds")),
                ("null-fraction", Some(bound)) => {
                    self.errors.push(shape(&format!("is a fraction: `{bound}` must be at most 1")))
                }
                _ => {}
            }
            if rule != "unique" {
                self.bounds(&expect.options, &format!("`expect {rule}`"));
            }
        }
        self.checked.schemas.insert(Resolved { node: name.to_string(), output: "table".to_string() }, schema);
    }

    pub(crate) fn transform(&mut self, transform: &Transform) {
        let name = transform.name.as_str();
        let what = format!("`from` of transform `{name}`");
        let Some((_, Some(mut schema))) = self.table(&transform.from, &what) else { return };
        let place = format!("at this point of transform `{name}`");
        for op in &transform.ops {
            self.op(name, &op.value, &mut schema, &place);
        }
        self.checked.schemas.insert(Resolved { node: name.to_string(), output: "table".to_string() }, schema);
    }

    fn op(&mut self, transform: &str, op: &Op, schema: &mut Schema, place: &str) {
        match op {
            Op::Drop(columns) => {
                for column in columns {
                    match schema.position(column.as_str()) {
                        Some(position) => {
                            schema.columns.remove(position);
                        }
                        None => self.unknown_column(column, schema, place),
                    }
                }
            }
            Op::Keep(columns) => {
                let mut kept = Schema::default();
                for column in columns {
                    if let Some(found) = self.column(column, schema, place) {
                        kept.columns.push(found.clone());
                    }
                }
                *schema = kept;
            }
            Op::Rename { from, to } => {
                if schema.get(to.as_str()).is_some() && from.value != to.value {
                    self.errors.push(CheckError::DuplicateColumn {
                        column: to.value.clone(),
                        place: place.to_string(),
                        span: to.span,
                        help: format!("drop `{}` first or pick another name", to.value),
                    });
                    return;
                }
                match schema.position(from.as_str()) {
                    Some(position) => schema.columns[position].name = to.value.clone(),
                    None => self.unknown_column(from, schema, place),
                }
            }
            Op::Cast { column, ty } => {
                if let Some(position) = schema.position(column.as_str()) {
                    let target = &mut schema.columns[position];
                    if target.ty != ty.value {
                        target.ty = ty.value;
                        target.levels = None;
                    }
                } else {
                    self.unknown_column(column, schema, place);
                }
            }
            Op::Impute { columns, options } => {
                let strategy = self.text(options.get("strategy")).unwrap_or_else(|| "median".to_string());
                let fill = options.get("value");
                // A literal `strategy="constant"` without `value=` was reported by the syntax
                // stage; only a `(param)` strategy is left to check here.
                let from_param = matches!(options.get("strategy").map(|value| &value.value), Some(Value::Param(_)));
                if strategy == "constant" && fill.is_none() && from_param {
                    if let Some(first) = columns.first() {
                        self.errors.push(CheckError::ColumnTypeMismatch {
                            operation: "`impute strategy=\"constant\"`".to_string(),
                            expected: "a `value=`".to_string(),
                            column: first.value.clone(),
                            found: "given none".to_string(),
                            span: first.span,
                            help: "add the fill value: impute \"x\" strategy=\"constant\" value=0".to_string(),
                        });
                    }
                }
                for column in columns {
                    let Some(position) = schema.position(column.as_str()) else {
                        self.unknown_column(column, schema, place);
                        continue;
                    };
                    let ty = schema.columns[position].ty;
                    let fits = match strategy.as_str() {
                        "mean" | "median" => ty.is_numeric(),
                        "constant" => fill.is_none_or(|value| constant_fits(&self.checked.value(&value.value), ty)),
                        _ => true,
                    };
                    if !fits {
                        let expected = if strategy == "constant" {
                            "a fill value of the column's type".to_string()
                        } else {
                            "a numeric column".to_string()
                        };
                        self.errors.push(CheckError::ColumnTypeMismatch {
                            operation: format!("`impute strategy=\"{strategy}\"`"),
                            expected,
                            column: column.value.clone(),
                            found: format!("`{}`", ty.name()),
                            span: column.span,
                            help: "use `strategy=\"mode\"` or `\"constant\"` for non-numeric columns".to_string(),
                        });
                        continue;
                    }
                    schema.columns[position].nullable = false;
                }
            }
            Op::OneHot { columns, options } => {
                let drop_first = self.flag(options.get("drop-first"));
                for column in columns {
                    let Some(position) = schema.position(column.as_str()) else {
                        self.unknown_column(column, schema, place);
                        continue;
                    };
                    let found = schema.columns[position].clone();
                    let levels = match (found.ty, &found.levels) {
                        (ColumnType::Category, Some(levels)) => levels.clone(),
                        (ColumnType::Bool, _) => vec!["false".to_string(), "true".to_string()],
                        (ColumnType::Category, None) => {
                            self.errors.push(CheckError::OneHotLevels {
                                column: column.value.clone(),
                                span: column.span,
                                help: format!(
                                    "declare the levels in the dataset's schema: {} category {{ levels \"a\" \"b\"; }}",
                                    column.value
                                ),
                            });
                            continue;
                        }
                        (ty, _) => {
                            self.errors.push(CheckError::ColumnTypeMismatch {
                                operation: "`one-hot`".to_string(),
                                expected: "a `category` column with declared levels".to_string(),
                                column: column.value.clone(),
                                found: format!("`{}`", ty.name()),
                                span: column.span,
                                help: "declare it as `category` with `levels` in the dataset's schema".to_string(),
                            });
                            continue;
                        }
                    };
                    self.checked.one_hot_levels.insert((transform.to_string(), found.name.clone()), levels.clone());
                    let skip = usize::from(drop_first);
                    let mut created = Vec::new();
                    for level in levels.iter().skip(skip) {
                        let new_name = format!("{}_{}", found.name, level);
                        if schema.get(&new_name).is_some() {
                            self.errors.push(CheckError::DuplicateColumn {
                                column: new_name,
                                place: place.to_string(),
                                span: column.span,
                                help: "rename or drop the existing column first".to_string(),
                            });
                            continue;
                        }
                        created.push(Column::new(new_name, ColumnType::Int));
                    }
                    schema.columns.splice(position..=position, created);
                }
            }
            Op::Derive { column, expr } => {
                let Some((_, ty)) = check_expression(expr, schema, place, &mut self.errors) else { return };
                let derived = Column { name: column.value.clone(), ty: ty.ty, nullable: ty.nullable, levels: None };
                match schema.position(column.as_str()) {
                    Some(position) => schema.columns[position] = derived,
                    None => schema.columns.push(derived),
                }
            }
            Op::Filter(expr) => {
                let Some((parsed, ty)) = check_expression(expr, schema, place, &mut self.errors) else { return };
                if ty.ty != ColumnType::Bool {
                    let span = match expr.text_offset {
                        Some(offset) => miette::SourceSpan::new(
                            (offset + parsed.range.start).into(),
                            parsed.range.end - parsed.range.start,
                        ),
                        None => expr.span,
                    };
                    self.errors.push(CheckError::ExpressionType {
                        message: format!("`filter` needs a `bool` condition, found `{}`", ty.ty.name()),
                        span,
                        label: format!("`{}` value", ty.ty.name()),
                        help: "compare it, such as `age >= 18`".to_string(),
                    });
                }
            }
            Op::Scale { columns, .. } => {
                for column in columns {
                    let Some(position) = schema.position(column.as_str()) else {
                        self.unknown_column(column, schema, place);
                        continue;
                    };
                    let ty = schema.columns[position].ty;
                    if !ty.is_numeric() {
                        self.errors.push(CheckError::ColumnTypeMismatch {
                            operation: "`scale`".to_string(),
                            expected: "a numeric column".to_string(),
                            column: column.value.clone(),
                            found: format!("`{}`", ty.name()),
                            span: column.span,
                            help: "scale `int` and `float` columns; `one-hot` categories instead".to_string(),
                        });
                        continue;
                    }
                    schema.columns[position].ty = ColumnType::Float;
                }
            }
        }
    }

    pub(crate) fn split(&mut self, split: &Split) {
        let name = split.name.as_str();
        let fractions: Vec<f64> = [("train", 0.8), ("valid", 0.0), ("test", 0.2)]
            .iter()
            .map(|(option, default)| self.number(split.options.get(option), *default))
            .collect();
        let sum: f64 = fractions.iter().sum();
        // A fraction that could not be read was reported; the sum would count its default.
        if (sum - 1.0).abs() > 1e-9 && !split.unread_fractions {
            self.errors.push(CheckError::SplitFractions {
                split: name.to_string(),
                sum: format!("{}", (sum * 1e6).round() / 1e6),
                span: split.name.span,
                help: format!(
                    "train={} valid={} test={} must add up to 1; unset parts default to train=0.8 valid=0 test=0.2",
                    fractions[0], fractions[1], fractions[2]
                ),
            });
        }
        let what = format!("`from` of split `{name}`");
        let Some((_, Some(schema))) = self.table(&split.from, &what) else { return };
        if let Some(stratify) = split.options.str("stratify") {
            let place = format!("in `{}`", split.from.value);
            if let Some(column) = self.column(&stratify, &schema, &place) {
                if matches!(column.ty, ColumnType::Float | ColumnType::Date | ColumnType::Datetime) {
                    self.errors.push(CheckError::ColumnTypeMismatch {
                        operation: "`stratify`".to_string(),
                        expected: "a column of classes (`bool`, `int`, `category` or `string`)".to_string(),
                        column: stratify.value.clone(),
                        found: format!("`{}`", column.ty.name()),
                        span: stratify.span,
                        help: "stratify on the label of a classifier".to_string(),
                    });
                }
            }
        }
        let outputs: Vec<String> =
            self.checked.producers[name].outputs.iter().map(|(output, _)| output.clone()).collect();
        for output in outputs {
            self.checked.schemas.insert(Resolved { node: name.to_string(), output }, schema.clone());
        }
    }

    pub(crate) fn step(&mut self, step: &Step) {
        let name = step.name.as_str();
        if step.run.is_none() {
            self.errors.push(CheckError::MissingNode {
                node: "step".to_string(),
                name: name.to_string(),
                child: "run".to_string(),
                span: step.name.span,
                help: "give it a command: run \"python scripts/x.py --in {inputs.raw} --out {outputs.table}\""
                    .to_string(),
            });
        }
        for input in &step.inputs {
            let what = format!("input `{}` of step `{name}`", input.name.value);
            self.resolve(&input.from, &what, None);
        }
        if let Some(run) = &step.run {
            self.placeholders(step, run);
        }
        // Only table outputs keep a `schema`; the syntax stage reports one on other outputs.
        for output in &step.outputs {
            let Some(columns) = &output.schema else { continue };
            let schema = self.declared_schema(&columns.value);
            self.checked.schemas.insert(Resolved { node: name.to_string(), output: output.name.value.clone() }, schema);
        }
    }

    /// Checks `{inputs.NAME}` and `{outputs.NAME}` in a command against the declarations.
    /// Text that starts `{inputs` or `{outputs` is a placeholder and must be complete; any
    /// other `{…}` (shell or format syntax) is left alone.
    fn placeholders(&mut self, step: &Step, run: &Spanned<String>) {
        // Positions inside the command map onto the file when it was written in plain quotes
        // without escapes: then the span is the text plus its two quotes.
        let plain = run.span.len() == run.value.len() + 2;
        let text = run.as_str();
        let span_of = |start: usize, end: usize| {
            if plain {
                SourceSpan::new((run.span.offset() + 1 + start).into(), end - start)
            } else {
                run.span
            }
        };
        let mut search = 0;
        while let Some(found) = text[search..].find('{') {
            let open = search + found;
            search = open + 1;
            let after = &text[open + 1..];
            let Some((group, rest)) = [("input", "inputs"), ("output", "outputs")]
                .into_iter()
                .find_map(|(group, word)| Some((group, after.strip_prefix(word)?)))
            else {
                continue;
            };
            // `{inputs_dir}` is not a placeholder; `{inputs`, `{inputs}` and `{inputs.…` are.
            if rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                continue;
            }
            let declared: Vec<&str> = match group {
                "input" => step.inputs.iter().map(|input| input.name.as_str()).collect(),
                _ => step.outputs.iter().map(|output| output.name.as_str()).collect(),
            };
            let word_end = text.len() - rest.len();
            let name = rest.strip_prefix('.').map(|name| {
                let length = name.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'));
                &name[..length.unwrap_or(name.len())]
            });
            let name_end = name.map_or(word_end, |name| word_end + 1 + name.len());
            let closed = text[name_end..].starts_with('}');
            let end = if closed { name_end + 1 } else { name_end };
            search = end;
            let written = &text[open..end];
            let example = declared.first().copied().unwrap_or("NAME");
            let shape = format!("write `{{{group}s.NAME}}`, such as `{{{group}s.{example}}}`");
            let problem = match name {
                _ if !closed => Some("is not closed".to_string()),
                None | Some("") => Some(format!("names no {group}")),
                Some(_) => None,
            };
            if let Some(problem) = problem {
                let help = if declared.is_empty() {
                    format!("{shape}; declare it: {group} \"…\"")
                } else {
                    format!("{shape}; the declared {group}s are {}", one_of(&declared))
                };
                self.errors.push(CheckError::MalformedPlaceholder {
                    text: written.to_string(),
                    problem,
                    span: span_of(open, end),
                    help,
                });
                continue;
            }
            let name = name.unwrap_or_default();
            if declared.contains(&name) {
                continue;
            }
            let help = did_you_mean(name, &declared).unwrap_or_else(|| {
                if declared.is_empty() {
                    format!("declare it: {group} \"{name}\" …")
                } else {
                    format!("the declared {group}s are {}", one_of(&declared))
                }
            });
            self.errors.push(CheckError::UnknownPlaceholder {
                placeholder: written[1..written.len() - 1].to_string(),
                what: group.to_string(),
                span: span_of(open, end),
                help,
            });
        }
    }
}

/// Whether an `impute strategy="constant"` fill value fits the column's type.
fn constant_fits(value: &Value, ty: ColumnType) -> bool {
    match value {
        Value::Int(_) => ty.is_numeric(),
        Value::Float(_) => ty == ColumnType::Float,
        Value::Bool(_) => ty == ColumnType::Bool,
        Value::Str(_) => !ty.is_numeric() && ty != ColumnType::Bool,
        _ => true,
    }
}
