//! Reads one KDL node against its signature: arguments, options and block, every problem reported.
//!
//! The result is a [`RawNode`] whose values already have the right literal types and ranges;
//! [`super::build`] turns raw nodes into the typed AST.

use std::collections::BTreeMap;

use kdl::{KdlDocument, KdlEntry, KdlNode, KdlValue};
use miette::SourceSpan;
use mlops_stdlib::signature::{ArgSpec, Children, NodeSpec, OptionSpec, Range, ValueKind};
use mlops_stdlib::vocabulary;

use super::error::SyntaxError;
use crate::ast::{ColumnDecl, ColumnType, Options, ParamDecl, ParamUse, SearchParam, Spanned, Value};
use crate::suggest::{did_you_mean, one_of};

/// A node checked against its signature, not yet given its typed form.
#[derive(Debug, Clone)]
pub(crate) struct RawNode {
    pub(crate) keyword: &'static str,
    pub(crate) span: SourceSpan,
    pub(crate) keyword_span: SourceSpan,
    pub(crate) args: Vec<Spanned<Value>>,
    pub(crate) options: Options,
    pub(crate) children: Vec<RawNode>,
    pub(crate) params: Vec<ParamDecl>,
    pub(crate) columns: Vec<ColumnDecl>,
    pub(crate) space: Vec<SearchParam>,
    /// The option keys written on the node, valid or not: a missing option that was written
    /// but rejected has been reported already.
    pub(crate) written: Vec<String>,
    /// False when a required argument or option was missing or invalid: builders skip
    /// such nodes, since the problem has been reported already.
    pub(crate) complete: bool,
}

impl RawNode {
    /// The argument at `index` as text. Only arguments that may be a `(param)` hold anything
    /// but literals (the reader refuses `(param)` in names and choices), and those are read
    /// as values, never through here.
    pub(crate) fn arg_str(&self, index: usize) -> Option<Spanned<String>> {
        let value = self.args.get(index)?;
        value.value.as_str().map(|text| Spanned::new(text.to_string(), value.span))
    }

    pub(crate) fn arg_strs(&self) -> Vec<Spanned<String>> {
        (0..self.args.len()).filter_map(|index| self.arg_str(index)).collect()
    }

    pub(crate) fn children_named<'a>(&'a self, keyword: &'a str) -> impl Iterator<Item = &'a RawNode> + 'a {
        self.children.iter().filter(move |child| child.keyword == keyword)
    }

    pub(crate) fn child(&self, keyword: &str) -> Option<&RawNode> {
        self.children.iter().find(|child| child.keyword == keyword)
    }
}

/// Reads a KDL source text and its diagnostics into the reader's context.
pub(crate) struct Reader<'src> {
    pub(crate) source: &'src str,
    pub(crate) errors: Vec<SyntaxError>,
    pub(crate) param_uses: Vec<ParamUse>,
}

impl<'src> Reader<'src> {
    pub(crate) fn new(source: &'src str) -> Reader<'src> {
        Reader { source, errors: Vec::new(), param_uses: Vec::new() }
    }

    /// Reads the nodes of a block against the allowed signatures.
    pub(crate) fn read_block(
        &mut self,
        document: &KdlDocument,
        allowed: &'static [NodeSpec],
        place: &str,
    ) -> Vec<RawNode> {
        let mut nodes = Vec::new();
        let mut seen: BTreeMap<&'static str, SourceSpan> = BTreeMap::new();
        for node in document.nodes() {
            let keyword = node.name().value();
            let Some(spec) = allowed.iter().find(|spec| spec.keyword == keyword) else {
                let names: Vec<&str> = allowed.iter().map(|spec| spec.keyword).collect();
                self.errors.push(SyntaxError::UnknownNode {
                    keyword: keyword.to_string(),
                    place: place.to_string(),
                    span: node.name().span(),
                    help: did_you_mean(keyword, &names)
                        .unwrap_or_else(|| format!("expected one of {}", one_of(&names))),
                });
                continue;
            };
            if !spec.repeatable {
                if let Some(first) = seen.get(spec.keyword) {
                    self.errors.push(SyntaxError::DuplicateNode {
                        keyword: keyword.to_string(),
                        place: place.to_string(),
                        span: node.name().span(),
                        first: *first,
                        help: format!("merge the two `{keyword}` nodes into one"),
                    });
                    continue;
                }
                seen.insert(spec.keyword, node.name().span());
            }
            nodes.push(self.read_node(node, spec));
        }
        nodes
    }

    /// Reads one node against its signature.
    pub(crate) fn read_node(&mut self, node: &KdlNode, spec: &'static NodeSpec) -> RawNode {
        let mut raw = RawNode {
            keyword: spec.keyword,
            span: node.span(),
            keyword_span: node.name().span(),
            args: Vec::new(),
            options: Options::default(),
            children: Vec::new(),
            params: Vec::new(),
            columns: Vec::new(),
            space: Vec::new(),
            written: Vec::new(),
            complete: true,
        };
        let args: Vec<&KdlEntry> = node.entries().iter().filter(|entry| entry.name().is_none()).collect();
        let written: Vec<&str> = node.entries().iter().filter_map(|entry| Some(entry.name()?.value())).collect();
        self.read_args(&mut raw, spec, &args, &written);
        raw.written = written.iter().map(|key| key.to_string()).collect();
        raw.options = self.read_options(node, spec.keyword, spec.options, &mut raw.complete);
        match (spec.children, node.children()) {
            (_, None) => {}
            (Children::None, Some(block)) => {
                self.errors.push(SyntaxError::UnexpectedBlock {
                    node: spec.keyword.to_string(),
                    span: block.span(),
                    help: format!("`{}` is written on one line: {}", spec.keyword, spec.summary),
                });
            }
            (Children::Nodes(allowed), Some(block)) => {
                let place = format!("inside `{}`", spec.keyword);
                raw.children = self.read_block(block, allowed, &place);
            }
            (Children::Params, Some(block)) => raw.params = self.read_params(block),
            (Children::Columns, Some(block)) => raw.columns = self.read_columns(block),
            (Children::SearchSpace, Some(block)) => raw.space = self.read_search_space(block),
        }
        raw
    }

    /// Reads the positional arguments; `written` are the option keys written on the node.
    fn read_args(&mut self, raw: &mut RawNode, spec: &'static NodeSpec, args: &[&KdlEntry], written: &[&str]) {
        let shape = spec.args;
        for (index, arg_spec) in shape.required.iter().enumerate() {
            match args.get(index) {
                Some(entry) => {
                    let what = format!("the {} of `{}`", arg_spec.name, spec.keyword);
                    match self.read_arg(entry, arg_spec, spec, &what) {
                        Some(value) => raw.args.push(value),
                        None => raw.complete = false,
                    }
                }
                None => {
                    raw.complete = false;
                    self.errors.push(SyntaxError::MissingArgument {
                        node: spec.keyword.to_string(),
                        argument: arg_spec.name.to_string(),
                        span: raw.keyword_span,
                        help: format!("write it after the keyword: {} \"…\"", spec.keyword),
                    });
                }
            }
        }
        let mut index = shape.required.len();
        for arg_spec in shape.optional {
            if let Some(entry) = args.get(index) {
                let what = format!("the {} of `{}`", arg_spec.name, spec.keyword);
                if let Some(value) = self.read_arg(entry, arg_spec, spec, &what) {
                    raw.args.push(value);
                }
                index += 1;
            }
        }
        match shape.rest {
            Some(rest) => {
                if shape.rest_min_one && args.len() <= index {
                    raw.complete = false;
                    self.errors.push(SyntaxError::MissingArgument {
                        node: spec.keyword.to_string(),
                        argument: rest.name.to_string(),
                        span: raw.keyword_span,
                        help: format!("list one or more: {} \"…\" \"…\"", spec.keyword),
                    });
                }
                for entry in &args[index.min(args.len())..] {
                    let what = format!("a {} of `{}`", rest.name, spec.keyword);
                    if let Some(value) = self.read_arg(entry, &rest, spec, &what) {
                        raw.args.push(value);
                    }
                }
            }
            None => {
                if let Some(extra) = args.get(index) {
                    let count = shape.required.len() + shape.optional.len();
                    let names: Vec<&str> = shape.required.iter().chain(shape.optional).map(|arg| arg.name).collect();
                    let expected = match count {
                        0 => "no arguments".to_string(),
                        1 => format!("one argument ({})", names[0]),
                        _ => format!("{count} arguments ({})", names.join(", ")),
                    };
                    // `split "holdout" "features"`: the value of a required option written
                    // without its key.
                    let missing_required =
                        spec.options.iter().find(|option| option.required && !written.contains(&option.name));
                    let help = if let (Some(option), Some(text)) = (missing_required, extra.value().as_string()) {
                        format!("did you mean `{}=\"{text}\"`? options are written `key=value`", option.name)
                    } else if spec.options.is_empty() {
                        match names.first() {
                            Some(only) if count == 1 => format!("remove it; `{}` takes only its {only}", spec.keyword),
                            _ => format!("remove it; `{}` takes {expected}", spec.keyword),
                        }
                    } else {
                        let options: Vec<&str> = spec.options.iter().map(|option| option.name).collect();
                        format!("options are written `key=value`; `{}` takes {}", spec.keyword, one_of(&options))
                    };
                    self.errors.push(SyntaxError::ExtraArgument {
                        node: spec.keyword.to_string(),
                        expected,
                        span: extra.span(),
                        help,
                    });
                }
            }
        }
    }

    fn read_arg(
        &mut self,
        entry: &KdlEntry,
        arg: &ArgSpec,
        node: &'static NodeSpec,
        what: &str,
    ) -> Option<Spanned<Value>> {
        let value = self.entry_value(entry)?;
        self.check_value(&value, &ValueCheck::argument(arg, node), what).then_some(value)
    }

    /// Reads `key=value` options against the allowed option specs.
    pub(crate) fn read_options(
        &mut self,
        node: &KdlNode,
        keyword: &str,
        allowed: &'static [OptionSpec],
        complete: &mut bool,
    ) -> Options {
        let mut options = BTreeMap::new();
        let mut first_seen: BTreeMap<&'static str, SourceSpan> = BTreeMap::new();
        for entry in node.entries() {
            let Some(name) = entry.name() else { continue };
            let Some(spec) = allowed.iter().find(|option| option.name == name.value()) else {
                let names: Vec<&str> = allowed.iter().map(|option| option.name).collect();
                let help = if names.is_empty() {
                    format!("`{keyword}` takes no options")
                } else {
                    did_you_mean(name.value(), &names)
                        .unwrap_or_else(|| format!("`{keyword}` takes {}", one_of(&names)))
                };
                self.errors.push(SyntaxError::UnknownOption {
                    node: keyword.to_string(),
                    option: name.value().to_string(),
                    span: name.span(),
                    help,
                });
                continue;
            };
            if let Some(first) = first_seen.get(spec.name) {
                self.errors.push(SyntaxError::DuplicateOption {
                    option: spec.name.to_string(),
                    span: name.span(),
                    first: *first,
                    help: "keep one of them".to_string(),
                });
                continue;
            }
            first_seen.insert(spec.name, name.span());
            let Some(value) = self.entry_value(entry) else {
                if spec.required {
                    *complete = false;
                }
                continue;
            };
            let what = format!("option `{}` of `{keyword}`", spec.name);
            if self.check_value(&value, &ValueCheck::option(spec), &what) {
                options.insert(spec.name, value);
            } else if spec.required {
                *complete = false;
            }
        }
        for spec in allowed.iter().filter(|option| option.required) {
            if !first_seen.contains_key(spec.name) {
                *complete = false;
                self.errors.push(SyntaxError::MissingOption {
                    node: keyword.to_string(),
                    option: spec.name.to_string(),
                    span: node.name().span(),
                    help: format!("add `{}=…`: {}", spec.name, spec.doc),
                });
            }
        }
        Options(options)
    }

    /// The span of an entry's value, without its `key=` part.
    fn value_span(&self, entry: &KdlEntry) -> SourceSpan {
        let span = entry.span();
        let Some(name) = entry.name() else { return span };
        let end = span.offset() + span.len();
        let mut start = name.span().offset() + name.span().len();
        let bytes = self.source.as_bytes();
        while start < end && (bytes[start] == b'=' || bytes[start].is_ascii_whitespace()) {
            start += 1;
        }
        SourceSpan::new(start.into(), end - start)
    }

    /// Converts an entry to a [`Value`], reporting bad annotations.
    pub(crate) fn entry_value(&mut self, entry: &KdlEntry) -> Option<Spanned<Value>> {
        let span = self.value_span(entry);
        let annotation = entry.ty().map(|ty| ty.value().to_string());
        let value = match (annotation.as_deref(), entry.value()) {
            (None, KdlValue::String(text)) => Value::Str(text.clone()),
            (None, KdlValue::Integer(int)) => match i64::try_from(*int) {
                Ok(int) => Value::Int(int),
                Err(_) => {
                    self.errors.push(SyntaxError::OutOfRange {
                        what: "an integer".to_string(),
                        range: "a 64-bit integer".to_string(),
                        value: int.to_string(),
                        span,
                        help: "use a smaller number".to_string(),
                    });
                    return None;
                }
            },
            (None, KdlValue::Float(float)) => Value::Float(*float),
            (None, KdlValue::Bool(flag)) => Value::Bool(*flag),
            (None, KdlValue::Null) => {
                self.errors.push(SyntaxError::WrongType {
                    what: "this value".to_string(),
                    expected: "a number, string or boolean".to_string(),
                    found: "`#null`".to_string(),
                    span,
                    help: "leave the option out to use its default".to_string(),
                });
                return None;
            }
            (Some(kind @ ("param" | "env" | "secret")), KdlValue::String(name)) => {
                if kind != "param" && !is_variable_name(name) {
                    self.errors.push(SyntaxError::MalformedSecret {
                        name: name.clone(),
                        kind: kind.to_string(),
                        span,
                        help: "names are letters, digits and `_`, not starting with a digit, such as `MLFLOW_TOKEN`"
                            .to_string(),
                    });
                    return None;
                }
                match kind {
                    "param" => Value::Param(name.clone()),
                    "env" => Value::Env(name.clone()),
                    _ => Value::Secret(name.clone()),
                }
            }
            (Some(kind @ ("param" | "env" | "secret")), other) => {
                self.errors.push(SyntaxError::WrongType {
                    what: format!("a `({kind})` reference"),
                    expected: "a string name".to_string(),
                    found: describe_kdl(other).to_string(),
                    span,
                    help: format!("write the name in quotes: ({kind})\"NAME\""),
                });
                return None;
            }
            (Some(other), _) => {
                self.errors.push(SyntaxError::UnknownAnnotation {
                    annotation: other.to_string(),
                    span,
                    help: did_you_mean(other, &["param", "env", "secret"])
                        .unwrap_or_else(|| "the annotations are `(param)`, `(env)` and `(secret)`".to_string()),
                });
                return None;
            }
        };
        Some(Spanned::new(value, span))
    }

    /// Checks a value against what the argument or option accepts; reports and returns false
    /// when it does not fit.
    fn check_value(&mut self, value: &Spanned<Value>, check: &ValueCheck, what: &str) -> bool {
        let kind = check.kind;
        match &value.value {
            Value::Param(name) if check.param_ok => {
                self.param_uses.push(ParamUse {
                    name: Spanned::new(name.clone(), value.span),
                    kind,
                    range: check.range,
                    choices: check.choices,
                    what: what.to_string(),
                    doc: check.doc.to_string(),
                });
                return true;
            }
            Value::Env(_) | Value::Secret(_) if check.secret_ok => return true,
            reference @ (Value::Param(_) | Value::Env(_) | Value::Secret(_)) => {
                let help = match (reference, check.place) {
                    (Value::Param(_), Place::Option { literal_only: true }) => format!(
                        "`{}` shapes the columns or outputs that later steps are checked against; write its \
                         value out, so that a `--set` at run time cannot change them unchecked",
                        check.name
                    ),
                    (Value::Param(_), Place::Argument) if kind.accepts_param() => {
                        "names and choices are written out; `(param)` stands for values such as numbers, booleans \
                         and `key=value` options"
                            .to_string()
                    }
                    (_, Place::Parameter) => "a parameter's default is a literal number, boolean or string".to_string(),
                    (Value::Param(_), _) => {
                        "`(param)` stands for numbers, booleans and strings; names and references must be written out"
                            .to_string()
                    }
                    _ => {
                        "`(env)` and `(secret)` are accepted by `store`, `tracking uri=` and a step's `env`".to_string()
                    }
                };
                self.errors.push(SyntaxError::ReferenceNotAllowed {
                    what: what.to_string(),
                    reference: reference.describe().to_string(),
                    span: value.span,
                    help,
                });
                return false;
            }
            _ => {}
        }
        let type_ok = match (kind, &value.value) {
            (ValueKind::Any, _) => true,
            (ValueKind::Int, Value::Int(_)) => true,
            (ValueKind::Float, Value::Int(_) | Value::Float(_)) => true,
            (ValueKind::Bool, Value::Bool(_)) => true,
            (_, Value::Str(_)) => !matches!(kind, ValueKind::Int | ValueKind::Float | ValueKind::Bool),
            _ => false,
        };
        if !type_ok {
            let help = match kind {
                ValueKind::Bool => "write `#true` or `#false`".to_string(),
                ValueKind::Int | ValueKind::Float => "write the number without quotes".to_string(),
                _ => "write it in double quotes".to_string(),
            };
            self.errors.push(SyntaxError::WrongType {
                what: what.to_string(),
                expected: kind.describe().to_string(),
                found: value.value.describe().to_string(),
                span: value.span,
                help,
            });
            return false;
        }
        if let Some(number) = value.value.as_f64() {
            if !check.range.contains(number) {
                self.errors.push(SyntaxError::OutOfRange {
                    what: what.to_string(),
                    range: check.range.describe(),
                    value: format_number(&value.value),
                    span: value.span,
                    help: format!("`{}` is the {}", check.name, check.doc),
                });
                return false;
            }
        }
        let Value::Str(text) = &value.value else { return true };
        if !check.choices.is_empty() && !check.choices.contains(&text.as_str()) {
            // "option `objective` of `xgboost`" reads "not a valid `objective` of `xgboost`".
            let what = what.trim_start_matches("the ").trim_start_matches("option ");
            self.errors.push(SyntaxError::UnknownValue {
                value: text.clone(),
                what: what.to_string(),
                span: value.span,
                help: did_you_mean(text, check.choices)
                    .unwrap_or_else(|| format!("expected one of {}", one_of(check.choices))),
            });
            return false;
        }
        match kind {
            ValueKind::Name if !is_name(text) => {
                self.errors.push(SyntaxError::InvalidName {
                    name: text.clone(),
                    span: value.span,
                    help: "names start with a letter and hold letters, digits, `_` and `-`".to_string(),
                });
                false
            }
            ValueKind::Variable if !is_variable_name(text) => {
                self.errors.push(SyntaxError::InvalidName {
                    name: text.clone(),
                    span: value.span,
                    help: "environment variable names hold letters, digits and `_`, not starting with a digit, \
                           such as `API_TOKEN`"
                        .to_string(),
                });
                false
            }
            ValueKind::Reference if !is_reference(text) => {
                self.errors.push(SyntaxError::MalformedReference {
                    reference: text.clone(),
                    what: "step reference".to_string(),
                    span: value.span,
                    help: "write `name` or `name.output`, such as `customers` or `holdout.train`".to_string(),
                });
                false
            }
            ValueKind::ModelReference if !is_model_reference(text) => {
                let help = if is_name(text) {
                    format!("say which version: `{text}@production` (an alias) or `{text}@1` (a version number)")
                } else {
                    "write `model@alias` or `model@version`, such as `churn-classifier@production`".to_string()
                };
                self.errors.push(SyntaxError::MalformedReference {
                    reference: text.clone(),
                    what: "model reference".to_string(),
                    span: value.span,
                    help,
                });
                false
            }
            ValueKind::ColumnType if ColumnType::parse(text).is_none() => {
                self.errors.push(SyntaxError::UnknownValue {
                    value: text.clone(),
                    what: "column type".to_string(),
                    span: value.span,
                    help: did_you_mean(text, vocabulary::COLUMN_TYPES)
                        .unwrap_or_else(|| format!("expected one of {}", one_of(vocabulary::COLUMN_TYPES))),
                });
                false
            }
            ValueKind::Column | ValueKind::Path | ValueKind::Expression | ValueKind::Cron if text.trim().is_empty() => {
                self.errors.push(SyntaxError::WrongType {
                    what: what.to_string(),
                    expected: kind.describe().to_string(),
                    found: "an empty string".to_string(),
                    span: value.span,
                    help: "write the value between the quotes".to_string(),
                });
                false
            }
            _ => true,
        }
    }

    /// Reads a `params` block: `name value` per line.
    fn read_params(&mut self, block: &KdlDocument) -> Vec<ParamDecl> {
        let mut params: Vec<ParamDecl> = Vec::new();
        for node in block.nodes() {
            let name = Spanned::new(node.name().value().to_string(), node.name().span());
            if let Some(first) = params.iter().find(|param| param.name.value == name.value) {
                self.errors.push(SyntaxError::DuplicateNode {
                    keyword: name.value.clone(),
                    place: "inside `params`".to_string(),
                    span: name.span,
                    first: first.name.span,
                    help: "each parameter is declared once".to_string(),
                });
                continue;
            }
            if !is_name(&name.value) {
                self.errors.push(SyntaxError::InvalidName {
                    name: name.value.clone(),
                    span: name.span,
                    help: "parameter names start with a letter and hold letters, digits, `_` and `-`".to_string(),
                });
                continue;
            }
            let check = ValueCheck { place: Place::Parameter, ..ValueCheck::plain(ValueKind::Any) };
            let what = format!("parameter `{}`", name.value);
            let Some(value) = self.single_value(node, &what, &check) else { continue };
            params.push(ParamDecl { name, value });
        }
        params
    }

    /// Reads a node that holds exactly one value and nothing else.
    fn single_value(&mut self, node: &KdlNode, what: &str, check: &ValueCheck) -> Option<Spanned<Value>> {
        let mut entries = node.entries().iter();
        let Some(entry) = entries.next() else {
            self.errors.push(SyntaxError::MissingArgument {
                node: node.name().value().to_string(),
                argument: "value".to_string(),
                span: node.name().span(),
                help: format!("write its value after it: {} 100", node.name().value()),
            });
            return None;
        };
        if let Some(extra) = entries.next() {
            self.errors.push(SyntaxError::ExtraArgument {
                node: node.name().value().to_string(),
                expected: "one value".to_string(),
                span: extra.span(),
                help: "remove it".to_string(),
            });
        }
        if let Some(block) = node.children() {
            self.errors.push(SyntaxError::UnexpectedBlock {
                node: node.name().value().to_string(),
                span: block.span(),
                help: "remove the block".to_string(),
            });
        }
        if let Some(name) = entry.name() {
            self.errors.push(SyntaxError::UnknownOption {
                node: node.name().value().to_string(),
                option: name.value().to_string(),
                span: name.span(),
                help: format!("{what} holds one value, written without a key"),
            });
            return None;
        }
        let value = self.entry_value(entry)?;
        self.check_value(&value, check, what).then_some(value)
    }

    /// Reads a `schema` block: `name type options… { levels … }` per line.
    pub(crate) fn read_columns(&mut self, block: &KdlDocument) -> Vec<ColumnDecl> {
        let mut columns: Vec<ColumnDecl> = Vec::new();
        for node in block.nodes() {
            let name = Spanned::new(node.name().value().to_string(), node.name().span());
            if let Some(first) = columns.iter().find(|column| column.name.value == name.value) {
                self.errors.push(SyntaxError::DuplicateNode {
                    keyword: name.value.clone(),
                    place: "inside `schema`".to_string(),
                    span: name.span,
                    first: first.name.span,
                    help: "each column is declared once".to_string(),
                });
                continue;
            }
            let args: Vec<&KdlEntry> = node.entries().iter().filter(|entry| entry.name().is_none()).collect();
            let mut complete = true;
            let options = self.read_options(node, &name.value, vocabulary::COLUMN_OPTIONS, &mut complete);
            let Some(type_entry) = args.first() else {
                self.errors.push(SyntaxError::MissingArgument {
                    node: name.value.clone(),
                    argument: "column type".to_string(),
                    span: name.span,
                    help: format!("write its type after the name, one of {}", one_of(vocabulary::COLUMN_TYPES)),
                });
                continue;
            };
            if let Some(extra) = args.get(1) {
                self.errors.push(SyntaxError::ExtraArgument {
                    node: name.value.clone(),
                    expected: "one argument (column type)".to_string(),
                    span: extra.span(),
                    help: "constraints are written `key=value`: nullable, unique, min, max".to_string(),
                });
            }
            let check = ValueCheck::plain(ValueKind::ColumnType);
            let what = format!("the type of column `{}`", name.value);
            let Some(ty_value) = self.entry_value(type_entry) else { continue };
            if !self.check_value(&ty_value, &check, &what) {
                continue;
            }
            let Some(ty) = ty_value.value.as_str().and_then(ColumnType::parse) else { continue };
            let levels = node.children().and_then(|levels_block| {
                let read = self.read_block(levels_block, std::slice::from_ref(&vocabulary::LEVELS), "inside a column");
                read.into_iter().next().map(|levels| {
                    let values = levels.arg_strs().into_iter().map(|level| level.value).collect();
                    Spanned::new(values, levels.span)
                })
            });
            columns.push(ColumnDecl { name, ty: Spanned::new(ty, ty_value.span), options, levels });
        }
        columns
    }

    /// Reads a `tune` block: `param distribution values…` per line.
    fn read_search_space(&mut self, block: &KdlDocument) -> Vec<SearchParam> {
        let tunable: Vec<&str> = vocabulary::XGBOOST_OPTIONS
            .iter()
            .filter(|option| matches!(option.kind, ValueKind::Int | ValueKind::Float))
            .map(|option| option.name)
            .collect();
        let mut space: Vec<SearchParam> = Vec::new();
        for node in block.nodes() {
            let name = Spanned::new(node.name().value().to_string(), node.name().span());
            if !tunable.contains(&name.value.as_str()) {
                self.errors.push(SyntaxError::UnknownOption {
                    node: "tune".to_string(),
                    option: name.value.clone(),
                    span: name.span,
                    help: did_you_mean(&name.value, &tunable)
                        .unwrap_or_else(|| format!("tunable parameters are {}", one_of(&tunable))),
                });
                continue;
            }
            if let Some(first) = space.iter().find(|param| param.name.value == name.value) {
                self.errors.push(SyntaxError::DuplicateNode {
                    keyword: name.value.clone(),
                    place: "inside `tune`".to_string(),
                    span: name.span,
                    first: first.name.span,
                    help: "give each parameter one range".to_string(),
                });
                continue;
            }
            let mut values = Vec::new();
            for entry in node.entries() {
                if let Some(key) = entry.name() {
                    self.errors.push(SyntaxError::UnknownOption {
                        node: name.value.clone(),
                        option: key.value().to_string(),
                        span: key.span(),
                        help: "a range is written `param distribution low high`, such as `eta log-uniform 0.01 0.3`"
                            .to_string(),
                    });
                    continue;
                }
                if let Some(value) = self.entry_value(entry) {
                    values.push(value);
                }
            }
            // The distribution is a word; the bounds and choices are numbers, which may be
            // `(param)` references (tracked like any other use) but not `(env)` or `(secret)`.
            let bound = ValueCheck { param_ok: true, ..ValueCheck::plain(ValueKind::Float) };
            let what = format!("a value of `tune` parameter `{}`", name.value);
            let rejected = values.iter().skip(1).filter(|value| !self.check_value(value, &bound, &what)).count();
            if rejected > 0 {
                continue;
            }
            let Some(first) = values.first().cloned() else {
                self.errors.push(SyntaxError::MissingArgument {
                    node: name.value.clone(),
                    argument: "distribution".to_string(),
                    span: name.span,
                    help: format!("write `{} {} low high`", name.value, one_of(vocabulary::DISTRIBUTIONS)),
                });
                continue;
            };
            let check = ValueCheck { choices: vocabulary::DISTRIBUTIONS, ..ValueCheck::plain(ValueKind::String) };
            if !self.check_value(&first, &check, "distribution") {
                continue;
            }
            let distribution = Spanned::new(first.value.as_str().unwrap_or_default().to_string(), first.span);
            space.push(SearchParam { name, distribution, values: values[1..].to_vec(), span: node.span() });
        }
        space
    }
}

/// What a value is checked against.
struct ValueCheck {
    kind: ValueKind,
    choices: &'static [&'static str],
    range: Range,
    /// Whether `(param)` may stand for the value.
    param_ok: bool,
    /// Whether `(env)` and `(secret)` may.
    secret_ok: bool,
    /// Where the value is written, for the help line when a `(param)` is refused.
    place: Place,
    /// The option's name or the node's keyword, and what it means, for help lines.
    name: &'static str,
    doc: &'static str,
}

/// Where a value is written.
#[derive(Clone, Copy)]
enum Place {
    /// A `key=value` option; some take only literals.
    Option { literal_only: bool },
    /// A positional argument.
    Argument,
    /// A parameter's default in `params`.
    Parameter,
    /// Anything else: a column type, a `tune` range.
    Other,
}

impl ValueCheck {
    /// A value with no range, choices or references.
    fn plain(kind: ValueKind) -> ValueCheck {
        ValueCheck {
            kind,
            choices: &[],
            range: Range::ANY,
            param_ok: false,
            secret_ok: false,
            place: Place::Other,
            name: "",
            doc: "",
        }
    }

    fn option(spec: &'static OptionSpec) -> ValueCheck {
        ValueCheck {
            kind: spec.kind,
            choices: spec.choices,
            range: spec.range,
            param_ok: spec.param_ok(),
            secret_ok: spec.secret_ok,
            place: Place::Option { literal_only: spec.literal_only },
            name: spec.name,
            doc: spec.doc,
        }
    }

    fn argument(arg: &ArgSpec, node: &'static NodeSpec) -> ValueCheck {
        ValueCheck {
            kind: arg.kind,
            choices: arg.choices,
            range: arg.range,
            param_ok: arg.param_ok && arg.kind.accepts_param(),
            secret_ok: arg.secret_ok,
            place: Place::Argument,
            name: node.keyword,
            doc: node.summary,
        }
    }
}

fn describe_kdl(value: &KdlValue) -> &'static str {
    match value {
        KdlValue::String(_) => "a string",
        KdlValue::Integer(_) => "an integer",
        KdlValue::Float(_) => "a number",
        KdlValue::Bool(_) => "a boolean",
        KdlValue::Null => "`#null`",
    }
}

fn format_number(value: &Value) -> String {
    match value {
        Value::Int(int) => int.to_string(),
        Value::Float(float) => float.to_string(),
        other => other.describe().to_string(),
    }
}

/// A declared name: a letter, then letters, digits, `_` and `-`.
pub(crate) fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|first| first.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `name` or `name.output`.
fn is_reference(text: &str) -> bool {
    match text.split_once('.') {
        Some((name, output)) => is_name(name) && is_name(output),
        None => is_name(text),
    }
}

/// `name@alias` or `name@version`.
fn is_model_reference(text: &str) -> bool {
    match text.split_once('@') {
        Some((name, alias)) => {
            is_name(name) && (is_name(alias) || (!alias.is_empty() && alias.bytes().all(|b| b.is_ascii_digit())))
        }
        None => false,
    }
}

/// An environment-variable-style name.
fn is_variable_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
