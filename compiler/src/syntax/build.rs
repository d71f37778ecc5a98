//! Turns checked raw nodes into the typed AST, one function per node kind.
//!
//! Raw nodes that miss a required part were reported by the reader and are skipped here.

use super::error::SyntaxError;
use super::reader::{RawNode, Reader};
use crate::ast::{
    ColumnType, CompareTo, Dataset, Evaluate, Expect, ExprSource, Gate, Item, Monitor, MonitorRule, Op, Package,
    Project, Register, Schedule, Serve, Source, Spanned, Spec, Split, Step, StepInput, StepOutput, Target, Tracking,
    Train, Transform, Tune, Value,
};

pub(super) fn spec(reader: &mut Reader, nodes: Vec<RawNode>) -> Spec {
    let mut spec = Spec { param_uses: std::mem::take(&mut reader.param_uses), ..Spec::default() };
    for node in nodes {
        match node.keyword {
            "project" => spec.project = project(&node),
            "params" => spec.params = node.params,
            "store" => spec.store = node.args.first().cloned(),
            "tracking" => spec.tracking = tracking(reader, &node),
            _ => {
                if let Some(item) = item(reader, &node) {
                    spec.items.push(item);
                }
            }
        }
    }
    spec.partial = !reader.errors.is_empty();
    spec
}

fn project(node: &RawNode) -> Option<Project> {
    let text = |keyword: &str| node.child(keyword).and_then(|child| child.arg_str(0)).map(|text| text.value);
    Some(Project {
        name: node.arg_str(0)?,
        options: node.options.clone(),
        description: text("description"),
        owner: text("owner"),
    })
}

fn tracking(reader: &mut Reader, node: &RawNode) -> Option<Tracking> {
    let backend = node.arg_str(0)?;
    // MLflow mirrors runs to a server, so it needs to know where that is. A `uri=` that was
    // written but rejected has been reported already.
    if backend.as_str() == "mlflow" && !node.written.iter().any(|key| key == "uri") {
        reader.errors.push(SyntaxError::MissingOption {
            node: "tracking \"mlflow\"".to_string(),
            option: "uri".to_string(),
            span: backend.span,
            help: "MLflow mirrors runs to a tracking server: add its address, such as \
                   tracking \"mlflow\" uri=(env)\"MLFLOW_TRACKING_URI\""
                .to_string(),
        });
    }
    Some(Tracking { backend, options: node.options.clone() })
}

fn item(reader: &mut Reader, node: &RawNode) -> Option<Item> {
    if !node.complete {
        return None;
    }
    let name = node.arg_str(0);
    let option = |key: &str| node.options.str(key);
    Some(match node.keyword {
        "dataset" => Item::Dataset(dataset(node, name?)),
        "transform" => Item::Transform(Transform {
            name: name?,
            from: option("from")?,
            ops: node.children.iter().filter_map(|child| op(reader, child)).collect(),
            span: node.span,
        }),
        "split" => Item::Split(Split {
            name: name?,
            from: option("from")?,
            options: node.options.clone(),
            unread_fractions: ["train", "valid", "test"]
                .iter()
                .any(|part| node.written.iter().any(|key| key == part) && node.options.get(part).is_none()),
            span: node.span,
        }),
        "train" => Item::Train(Train {
            name: name?,
            data: option("data")?,
            label: option("label")?,
            valid: option("valid"),
            // Kept even when its objective was invalid (and reported): the block is there, and
            // the checker must not report it missing.
            xgboost: node.child("xgboost").map(|child| Spanned::new(child.options.clone(), child.keyword_span)),
            span: node.span,
        }),
        "tune" => {
            Item::Tune(Tune { model: name?, options: node.options.clone(), space: node.space.clone(), span: node.span })
        }
        "evaluate" => Item::Evaluate(evaluate(node, name?)),
        "register" => Item::Register(Register {
            name: name?,
            model: option("model")?,
            options: node.options.clone(),
            span: node.span,
        }),
        "package" => Item::Package(Package { model: name?, options: node.options.clone(), span: node.span }),
        "serve" => Item::Serve(Serve {
            name: name?,
            model: option("model")?,
            options: node.options.clone(),
            log_predictions: node.child("log-predictions").and_then(|child| child.args.first().cloned()),
            max_batch: node.child("max-batch").and_then(|child| child.args.first().cloned()),
            span: node.span,
        }),
        "monitor" => Item::Monitor(monitor(reader, node, name?)),
        "schedule" => Item::Schedule(Schedule { name: name?, cron: option("cron")? }),
        "step" => Item::Step(step(reader, node, name?)),
        "target" => Item::Target(Target {
            kind: name?,
            options: node.options.clone(),
            runner: node.child("runner").and_then(|child| child.arg_str(0)).map(|text| text.value),
            install: node.child("install").and_then(|child| child.arg_str(0)).map(|text| text.value),
            span: node.span,
        }),
        _ => return None,
    })
}

fn dataset(node: &RawNode, name: Spanned<String>) -> Dataset {
    // A `source` whose paths could not be read was reported; it is still there.
    let source = node.child("source").map(|child| Source { paths: child.arg_strs(), options: child.options.clone() });
    let schema = node.child("schema").map(schema);
    let expects = node
        .children_named("expect")
        .filter(|child| child.complete)
        .filter_map(|child| {
            Some(Expect {
                rule: child.arg_str(0)?,
                column: child.arg_str(1),
                options: child.options.clone(),
                span: child.span,
            })
        })
        .collect();
    let on_invalid = node.child("on-invalid").and_then(|child| child.arg_str(0));
    Dataset { name, source, schema, expects, on_invalid, span: node.span }
}

fn schema(node: &RawNode) -> Spanned<Vec<crate::ast::ColumnDecl>> {
    Spanned::new(node.columns.clone(), node.keyword_span)
}

fn expression(reader: &Reader, value: &Spanned<Value>) -> Option<ExprSource> {
    let text = value.value.as_str()?.to_string();
    let start = value.span.offset();
    let raw = reader.source.get(start..start + value.span.len()).unwrap_or_default();
    // Positions inside the expression map one to one onto the file only when the string was
    // written in plain quotes without escapes.
    let text_offset = (raw.starts_with('"') && !raw.starts_with("\"\"\"") && !raw.contains('\\')).then_some(start + 1);
    Some(ExprSource { text, span: value.span, text_offset })
}

fn op(reader: &mut Reader, node: &RawNode) -> Option<Spanned<Op>> {
    if !node.complete {
        return None;
    }
    let columns = node.arg_strs();
    let op = match node.keyword {
        "drop" => Op::Drop(columns),
        "keep" => Op::Keep(columns),
        "rename" => Op::Rename { from: node.arg_str(0)?, to: node.arg_str(1)? },
        "cast" => {
            let ty = node.arg_str(1)?;
            Op::Cast { column: node.arg_str(0)?, ty: Spanned::new(ColumnType::parse(&ty.value)?, ty.span) }
        }
        "impute" => {
            let constant =
                node.options.get("strategy").and_then(|strategy| strategy.value.as_str()) == Some("constant");
            if constant && node.options.get("value").is_none() {
                reader.errors.push(SyntaxError::MissingOption {
                    node: "impute".to_string(),
                    option: "value".to_string(),
                    span: node.keyword_span,
                    help: "`strategy=\"constant\"` fills missing values with `value=`, such as impute \"age\" strategy=\"constant\" value=0".to_string(),
                });
            }
            Op::Impute { columns, options: node.options.clone() }
        }
        "one-hot" => Op::OneHot { columns, options: node.options.clone() },
        "derive" => Op::Derive { column: node.arg_str(0)?, expr: expression(reader, node.args.get(1)?)? },
        "filter" => Op::Filter(expression(reader, node.args.first()?)?),
        "scale" => Op::Scale { columns, options: node.options.clone() },
        _ => return None,
    };
    Some(Spanned::new(op, node.span))
}

fn evaluate(node: &RawNode, model: Spanned<String>) -> Evaluate {
    let data = node.options.str("data").unwrap_or_else(|| Spanned::new(String::new(), node.keyword_span));
    Evaluate {
        model,
        data,
        metrics: node.child("metrics").map(RawNode::arg_strs),
        gates: node
            .children_named("gate")
            .filter_map(|child| {
                Some(Gate { metric: child.arg_str(0)?, options: child.options.clone(), span: child.span })
            })
            .collect(),
        compare_to: node
            .children_named("compare-to")
            .filter(|child| child.complete)
            .filter_map(|child| Some(CompareTo { model: child.arg_str(0)?, options: child.options.clone() }))
            .collect(),
        span: node.span,
    }
}

fn monitor(reader: &mut Reader, node: &RawNode, name: Spanned<String>) -> Monitor {
    // `psi` is a statistic with a threshold; `ks` and `chi2` are tests with a p-value.
    for drift in node.children_named("drift") {
        let Some(method) = drift.arg_str(0) else { continue };
        let (takes, other) = if method.as_str() == "psi" { ("threshold", "p-value") } else { ("p-value", "threshold") };
        if let Some(wrong) = drift.options.get(other) {
            reader.errors.push(SyntaxError::UnknownOption {
                node: format!("drift \"{}\"", method.value),
                option: other.to_string(),
                span: option_key_span(reader.source, wrong.span, other),
                help: format!("`drift \"{}\"` takes `{takes}=`", method.value),
            });
        }
    }
    let rules = |keyword: &str| -> Vec<MonitorRule> {
        node.children_named(keyword)
            .filter_map(|child| {
                Some(MonitorRule { name: child.arg_str(0)?, options: child.options.clone(), span: child.span })
            })
            .collect()
    };
    let missing = || Spanned::new(String::new(), node.keyword_span);
    Monitor {
        name,
        model: node.options.str("model").unwrap_or_else(missing),
        reference: node.options.str("reference").unwrap_or_else(missing),
        current: node.options.str("current").unwrap_or_else(missing),
        drifts: rules("drift"),
        performance: rules("performance"),
        features: node.child("features").map(RawNode::arg_strs),
        on_drift: node.child("on-drift").and_then(|child| child.arg_str(0)),
        span: node.span,
    }
}

fn step(reader: &mut Reader, node: &RawNode, name: Spanned<String>) -> Step {
    let inputs = node
        .children_named("input")
        .filter(|child| child.complete)
        .filter_map(|child| Some(StepInput { name: child.arg_str(0)?, from: child.options.str("from")? }))
        .collect();
    let outputs = node
        .children_named("output")
        .filter_map(|child| {
            let kind =
                child.options.str("type").unwrap_or_else(|| Spanned::new("table".to_string(), child.keyword_span));
            let mut schema = child.child("schema").map(schema);
            if let (Some(columns), false) = (&schema, kind.as_str() == "table") {
                reader.errors.push(SyntaxError::UnknownNode {
                    keyword: "schema".to_string(),
                    place: format!("inside a `{}` output", kind.value),
                    span: columns.span,
                    help: "only `type=\"table\"` outputs have columns".to_string(),
                });
                schema = None;
            }
            Some(StepOutput { name: child.arg_str(0)?, kind, schema })
        })
        .collect();
    let code = node.children_named("code").flat_map(RawNode::arg_strs).collect();
    let env = node
        .children_named("env")
        .filter(|child| child.complete)
        .filter_map(|child| Some((child.arg_str(0)?, child.args.get(1)?.clone())))
        .collect();
    Step {
        name,
        // A `run` whose command could not be read was reported; it is still there, empty.
        run: node
            .child("run")
            .map(|child| child.arg_str(0).unwrap_or_else(|| Spanned::new(String::new(), child.keyword_span))),
        inputs,
        outputs,
        code,
        env,
        span: node.span,
    }
}

/// The span of `key` in `key=value`, given the span of the value: the key sits just before it.
fn option_key_span(source: &str, value: miette::SourceSpan, key: &str) -> miette::SourceSpan {
    let before =
        source.get(..value.offset()).unwrap_or_default().trim_end_matches(|c: char| c == '=' || c.is_whitespace());
    match before.strip_suffix(key) {
        Some(rest) => miette::SourceSpan::new(rest.len().into(), key.len()),
        None => value,
    }
}
