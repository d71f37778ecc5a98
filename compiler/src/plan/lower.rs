//! Lowering: a checked spec becomes the Plan IR — steps with resolved parameters, typed inputs
//! and outputs, dependencies and fingerprints.

use std::collections::BTreeMap;

use mlops_stdlib::signature::{Literal, OptionSpec};
use mlops_stdlib::vocabulary;
use serde::Serialize;
use serde_json::{json, Value as Json};

use super::ir::{
    ColumnInfo, Input, Output, OutputRef, ParamInfo, Plan, ProjectInfo, ScheduleInfo, SecretRef, SpecInfo, Step,
    TargetInfo, TrackingInfo, PLAN_VERSION,
};
use crate::ast::{Item, Op, Options, Spanned, Value};
use crate::check::{Checked, ModelInfo, Resolved, Schema};
use crate::graph::Dag;

/// The mlopsc version that goes into every plan and fingerprint.
pub const MLOPSC_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Lowers a checked spec into a plan. `file` is the spec's file name, `source` its text.
pub fn lower(checked: &Checked, file: &str, source: &str) -> Plan {
    let mut lowering = Lowering { checked, steps: Vec::new(), secrets: BTreeMap::new() };
    for item in &checked.spec.items {
        lowering.item(item);
    }
    let spec = &checked.spec;
    let store = match &spec.store {
        Some(store) => lowering.json(&store.value, "store"),
        None => json!(".mlops"),
    };
    let tracking = match &spec.tracking {
        Some(tracking) => {
            let mut options = BTreeMap::new();
            for (name, value) in &tracking.options.0 {
                options.insert(name.to_string(), lowering.json(&value.value, "tracking"));
            }
            TrackingInfo { backend: tracking.backend.value.clone(), options }
        }
        None => TrackingInfo { backend: "local".to_string(), options: BTreeMap::new() },
    };
    let targets = spec
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Target(target) => {
                let mut options = BTreeMap::new();
                let mut refs = BTreeMap::new();
                let specs = vocabulary::top_level("target").map_or(&[][..], |node| node.options);
                lowering.options(&target.options, specs, "", &mut options, &mut refs, "target");
                if let Some(runner) = &target.runner {
                    options.insert("runner".to_string(), json!(runner));
                }
                if let Some(install) = &target.install {
                    options.insert("install".to_string(), json!(install));
                }
                Some(TargetInfo { kind: target.kind.value.clone(), options })
            }
            _ => None,
        })
        .collect();
    let schedules = spec
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Schedule(schedule) => {
                Some(ScheduleInfo { name: schedule.name.value.clone(), cron: schedule.cron.value.clone() })
            }
            _ => None,
        })
        .collect();
    let params = spec
        .params
        .iter()
        .map(|param| {
            let ty = match param.value.value {
                Value::Int(_) => "int",
                Value::Float(_) => "float",
                Value::Bool(_) => "bool",
                _ => "string",
            };
            (param.name.value.clone(), ParamInfo { ty: ty.to_string(), value: literal_json(&param.value.value) })
        })
        .collect();
    let project = match &spec.project {
        Some(project) => ProjectInfo {
            name: project.name.value.clone(),
            version: project
                .options
                .get("version")
                .and_then(|version| checked.value(&version.value).as_str().map(str::to_string))
                .unwrap_or_else(|| "0.0.0".to_string()),
            description: project.description.clone(),
            owner: project.owner.clone(),
        },
        None => ProjectInfo {
            name: file.trim_end_matches(".kdl").to_string(),
            version: "0.0.0".to_string(),
            description: None,
            owner: None,
        },
    };
    let secrets = lowering
        .secrets
        .into_iter()
        .map(|((kind, name), mut used_by)| {
            used_by.sort();
            used_by.dedup();
            SecretRef { kind, name, used_by }
        })
        .collect();
    let steps = order(lowering.steps);
    Plan {
        plan_version: PLAN_VERSION,
        mlopsc_version: MLOPSC_VERSION.to_string(),
        spec: SpecInfo { file: file.to_string(), hash: format!("blake3:{}", blake3::hash(source.as_bytes())) },
        project,
        params,
        store,
        tracking,
        steps,
        schedules,
        targets,
        secrets,
    }
}

/// Sorts steps topologically with an id tie-break, fills in fingerprints.
fn order(mut steps: Vec<Step>) -> Vec<Step> {
    let mut dag = Dag::default();
    let index: BTreeMap<String, usize> =
        steps.iter().map(|step| (step.id.clone(), dag.add_node(step.id.clone()))).collect();
    for step in &steps {
        for dependency in &step.depends_on {
            if let (Some(&from), Some(&to)) = (index.get(dependency), index.get(&step.id)) {
                dag.add_edge(from, to);
            }
        }
    }
    let positions = dag.topological_order();
    let mut slots: Vec<Option<Step>> = steps.drain(..).map(Some).collect();
    positions
        .into_iter()
        .filter_map(|position| slots[position].take())
        .map(|mut step| {
            step.fingerprint = fingerprint(&step);
            step
        })
        .collect()
}

/// What a step's fingerprint covers: its kind, resolved parameters, the names and sources of
/// its inputs, its outputs and the mlopsc version. Schemas are left out: they follow from
/// upstream parameters and data, which the cache key covers through the inputs' content hashes.
#[derive(Serialize)]
struct FingerprintContent<'a> {
    kind: &'a str,
    params: &'a BTreeMap<String, Json>,
    inputs: Vec<(&'a str, &'a OutputRef, &'a str)>,
    outputs: Vec<(&'a str, &'a str)>,
    mlopsc_version: &'a str,
}

fn fingerprint(step: &Step) -> String {
    let content = FingerprintContent {
        kind: &step.kind,
        params: &step.params,
        inputs: step.inputs.iter().map(|input| (input.name.as_str(), &input.from, input.kind.as_str())).collect(),
        outputs: step.outputs.iter().map(|output| (output.name.as_str(), output.kind.as_str())).collect(),
        mlopsc_version: MLOPSC_VERSION,
    };
    let mut hasher = blake3::Hasher::new();
    // Writing JSON into a hasher cannot fail: the hasher's writer never errors.
    let _ = serde_json::to_writer(&mut hasher, &content);
    format!("blake3:{}", hasher.finalize())
}

fn literal_json(value: &Value) -> Json {
    match value {
        Value::Int(int) => json!(int),
        Value::Float(float) => json!(float),
        Value::Bool(flag) => json!(flag),
        Value::Str(text) => json!(text),
        Value::Param(name) => json!({ "param": name }),
        Value::Env(name) => json!({ "env": name }),
        Value::Secret(name) => json!({ "secret": name }),
    }
}

fn default_json(literal: Literal) -> Json {
    match literal {
        Literal::Int(int) => json!(int),
        Literal::Float(float) => json!(float),
        Literal::Bool(flag) => json!(flag),
        Literal::Str(text) => json!(text),
    }
}

fn schema_info(schema: &Schema) -> Vec<ColumnInfo> {
    schema
        .columns
        .iter()
        .map(|column| ColumnInfo {
            name: column.name.clone(),
            ty: column.ty.name().to_string(),
            nullable: column.nullable,
            levels: column.levels.clone(),
        })
        .collect()
}

fn names(columns: &[Spanned<String>]) -> Json {
    json!(columns.iter().map(|column| column.value.clone()).collect::<Vec<_>>())
}

struct Lowering<'a> {
    checked: &'a Checked,
    steps: Vec<Step>,
    secrets: BTreeMap<(String, String), Vec<String>>,
}

impl Lowering<'_> {
    /// A value as JSON with params resolved; records secret uses.
    fn json(&mut self, value: &Value, used_by: &str) -> Json {
        match value {
            Value::Env(name) | Value::Secret(name) => {
                let kind = if matches!(value, Value::Env(_)) { "env" } else { "secret" };
                self.secrets.entry((kind.to_string(), name.clone())).or_default().push(used_by.to_string());
                literal_json(value)
            }
            other => literal_json(&self.checked.value(other)),
        }
    }

    /// Writes options into `into`, defaults filled in, and records `(param)` origins.
    fn options(
        &mut self,
        options: &Options,
        specs: &'static [OptionSpec],
        prefix: &str,
        into: &mut BTreeMap<String, Json>,
        refs: &mut BTreeMap<String, String>,
        used_by: &str,
    ) {
        for spec in specs {
            let key = spec.name.replace('-', "_");
            match options.get(spec.name) {
                Some(value) => {
                    if let Value::Param(name) = &value.value {
                        refs.insert(format!("{prefix}{key}"), name.clone());
                    }
                    let json = self.json(&value.value, used_by);
                    into.insert(key, json);
                }
                None => {
                    if let Some(default) = spec.default {
                        into.insert(key, default_json(default));
                    }
                }
            }
        }
    }

    fn node_options(
        &mut self,
        keyword: &str,
        options: &Options,
        id: &str,
    ) -> (BTreeMap<String, Json>, BTreeMap<String, String>) {
        let mut params = BTreeMap::new();
        let mut refs = BTreeMap::new();
        let specs = vocabulary::top_level(keyword).map_or(&[][..], |node| node.options);
        self.options(options, specs, "", &mut params, &mut refs, id);
        (params, refs)
    }

    /// The id of the step that produces a producer's outputs.
    fn producer_step(&self, node: &str) -> String {
        let keyword = self.checked.producers.get(node).map_or("step", |producer| producer.keyword);
        match keyword {
            "dataset" => format!("validate.{node}"),
            other => format!("{other}.{node}"),
        }
    }

    fn input(&self, name: &str, resolved: &Resolved) -> Input {
        let kind = self
            .checked
            .producers
            .get(&resolved.node)
            .and_then(|producer| producer.outputs.iter().find(|(output, _)| *output == resolved.output))
            .map_or("table", |(_, kind)| kind.name());
        Input {
            name: name.to_string(),
            from: OutputRef { step: self.producer_step(&resolved.node), output: resolved.output.clone() },
            kind: kind.to_string(),
            schema: self.checked.schemas.get(resolved).map(schema_info),
        }
    }

    fn reference_input(&self, name: &str, reference: &Spanned<String>) -> Option<Input> {
        self.checked.resolve(reference.as_str()).map(|resolved| self.input(name, &resolved))
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        kind: &str,
        name: &str,
        params: BTreeMap<String, Json>,
        refs: BTreeMap<String, String>,
        inputs: Vec<Input>,
        outputs: Vec<Output>,
        extra: &[String],
    ) {
        let mut depends_on: Vec<String> =
            inputs.iter().map(|input| input.from.step.clone()).chain(extra.iter().cloned()).collect();
        depends_on.sort();
        depends_on.dedup();
        self.steps.push(Step {
            id: format!("{kind}.{name}"),
            kind: kind.to_string(),
            name: name.to_string(),
            batch: kind != "serve",
            depends_on,
            params,
            param_refs: refs,
            inputs,
            outputs,
            fingerprint: String::new(),
        });
    }

    fn table_output(&self, node: &str, output: &str) -> Output {
        let resolved = Resolved { node: node.to_string(), output: output.to_string() };
        Output {
            name: output.to_string(),
            kind: "table".to_string(),
            schema: self.checked.schemas.get(&resolved).map(schema_info),
        }
    }

    fn file_output(name: &str) -> Output {
        Output { name: name.to_string(), kind: "file".to_string(), schema: None }
    }

    /// The id of the `register` step for a registry name, if there is one.
    fn register_step(&self, registry_name: &str) -> Vec<String> {
        if self.checked.registry.contains_key(registry_name) {
            vec![format!("register.{registry_name}")]
        } else {
            Vec::new()
        }
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Dataset(dataset) => self.dataset(dataset),
            Item::Transform(transform) => {
                let name = transform.name.as_str();
                let id = format!("transform.{name}");
                let mut refs = BTreeMap::new();
                let ops: Vec<Json> = transform
                    .ops
                    .iter()
                    .enumerate()
                    .map(|(index, op)| self.op(name, index, &op.value, &mut refs, &id))
                    .collect();
                let params = BTreeMap::from([("ops".to_string(), json!(ops))]);
                let inputs = self.reference_input("data", &transform.from).into_iter().collect();
                let outputs = vec![self.table_output(name, "table"), Self::file_output("fitted")];
                self.push("transform", name, params, refs, inputs, outputs, &[]);
            }
            Item::Split(split) => {
                let name = split.name.as_str();
                let (params, refs) = self.node_options("split", &split.options, &format!("split.{name}"));
                let params = params.into_iter().filter(|(key, _)| key != "from").collect();
                let inputs = self.reference_input("data", &split.from).into_iter().collect();
                let outputs = self
                    .checked
                    .producers
                    .get(name)
                    .map(|producer| {
                        producer.outputs.iter().map(|(output, _)| self.table_output(name, output)).collect()
                    })
                    .unwrap_or_default();
                self.push("split", name, params, refs, inputs, outputs, &[]);
            }
            Item::Train(train) => self.train(train),
            Item::Tune(tune) => self.tune(tune),
            Item::Evaluate(evaluate) => self.evaluate(evaluate),
            Item::Register(register) => {
                let name = register.name.as_str();
                let model = register.model.as_str();
                let (mut params, refs) = self.node_options("register", &register.options, &format!("register.{name}"));
                params.remove("model");
                params.insert("source_model".to_string(), json!(model));
                let mut inputs = vec![
                    Input {
                        name: "model".to_string(),
                        from: OutputRef { step: format!("train.{model}"), output: "model".to_string() },
                        kind: "model".to_string(),
                        schema: None,
                    },
                    Input {
                        name: "preprocess".to_string(),
                        from: OutputRef { step: format!("train.{model}"), output: "preprocess".to_string() },
                        kind: "file".to_string(),
                        schema: None,
                    },
                ];
                let evaluated = self
                    .checked
                    .spec
                    .items
                    .iter()
                    .any(|item| matches!(item, Item::Evaluate(evaluate) if evaluate.model.value == model));
                if evaluated {
                    inputs.push(Input {
                        name: "evaluation".to_string(),
                        from: OutputRef { step: format!("evaluate.{model}"), output: "report".to_string() },
                        kind: "file".to_string(),
                        schema: None,
                    });
                }
                self.push("register", name, params, refs, inputs, vec![Self::file_output("version")], &[]);
            }
            Item::Package(package) => {
                let name = package.model.as_str();
                let (params, refs) = self.node_options("package", &package.options, &format!("package.{name}"));
                let mut inputs = vec![Input {
                    name: "version".to_string(),
                    from: OutputRef { step: format!("register.{name}"), output: "version".to_string() },
                    kind: "file".to_string(),
                    schema: None,
                }];
                if let Some(registered) = self.checked.registry.get(name) {
                    let train = format!("train.{}", registered.model);
                    inputs.push(Input {
                        name: "model".to_string(),
                        from: OutputRef { step: train.clone(), output: "model".to_string() },
                        kind: "model".to_string(),
                        schema: None,
                    });
                    inputs.push(Input {
                        name: "preprocess".to_string(),
                        from: OutputRef { step: train, output: "preprocess".to_string() },
                        kind: "file".to_string(),
                        schema: None,
                    });
                }
                self.push("package", name, params, refs, inputs, vec![Self::file_output("bundle")], &[]);
            }
            Item::Serve(serve) => {
                let name = serve.name.as_str();
                let (mut params, mut refs) = self.node_options("serve", &serve.options, &format!("serve.{name}"));
                for (key, value, default) in [
                    ("log_predictions", &serve.log_predictions, json!(false)),
                    ("max_batch", &serve.max_batch, json!(1000)),
                ] {
                    let json =
                        value.as_ref().map_or(default, |value| self.json(&value.value, &format!("serve.{name}")));
                    if let Some(Value::Param(param)) = value.as_ref().map(|value| &value.value) {
                        refs.insert(key.to_string(), param.clone());
                    }
                    params.insert(key.to_string(), json);
                }
                let registry_name = serve.model.as_str().split('@').next().unwrap_or_default().to_string();
                let extra = self.register_step(&registry_name);
                self.push("serve", name, params, refs, Vec::new(), Vec::new(), &extra);
            }
            Item::Monitor(monitor) => self.monitor(monitor),
            Item::Step(step) => self.command(step),
            Item::Schedule(_) | Item::Target(_) => {}
        }
    }

    fn dataset(&mut self, dataset: &crate::ast::Dataset) {
        let name = dataset.name.as_str();
        let raw_schema = self
            .checked
            .schemas
            .get(&Resolved { node: name.to_string(), output: "table".to_string() })
            .map(schema_info);
        let mut ingest = BTreeMap::new();
        let mut refs = BTreeMap::new();
        if let Some(source) = &dataset.source {
            ingest.insert("paths".to_string(), names(&source.paths));
            let specs = vocabulary::TOP_LEVEL
                .iter()
                .find(|node| node.keyword == "dataset")
                .and_then(|node| node.child("source"))
                .map_or(&[][..], |node| node.options);
            self.options(&source.options, specs, "", &mut ingest, &mut refs, &format!("ingest.{name}"));
        }
        // The reader needs the declared columns to parse the files with the right types.
        ingest.insert("schema".to_string(), json!(raw_schema));
        let raw = Output { name: "raw".to_string(), kind: "table".to_string(), schema: raw_schema.clone() };
        self.push("ingest", name, ingest, refs, Vec::new(), vec![raw], &[]);

        let mut validate = BTreeMap::new();
        let mut validate_refs = BTreeMap::new();
        let constraints: Vec<Json> = dataset
            .schema
            .iter()
            .flat_map(|schema| schema.value.iter())
            .enumerate()
            .map(|(index, column)| {
                let mut entry = serde_json::Map::new();
                entry.insert("column".to_string(), json!(column.name.value));
                entry.insert("type".to_string(), json!(column.ty.value.name()));
                for spec in vocabulary::COLUMN_OPTIONS {
                    match (column.options.get(spec.name), spec.default) {
                        (Some(value), _) => {
                            if let Value::Param(param) = &value.value {
                                validate_refs.insert(format!("columns.{index}.{}", spec.name), param.clone());
                            }
                            entry.insert(spec.name.to_string(), literal_json(&self.checked.value(&value.value)));
                        }
                        (None, Some(default)) => {
                            entry.insert(spec.name.to_string(), default_json(default));
                        }
                        (None, None) => {}
                    }
                }
                if let Some(levels) = &column.levels {
                    entry.insert("levels".to_string(), json!(levels.value));
                }
                Json::Object(entry)
            })
            .collect();
        validate.insert("columns".to_string(), json!(constraints));
        let expects: Vec<Json> = dataset
            .expects
            .iter()
            .enumerate()
            .map(|(index, expect)| {
                let mut entry = serde_json::Map::new();
                entry.insert("rule".to_string(), json!(expect.rule.value));
                if let Some(column) = &expect.column {
                    entry.insert("column".to_string(), json!(column.value));
                }
                for (key, value) in &expect.options.0 {
                    if let Value::Param(param) = &value.value {
                        validate_refs.insert(format!("expect.{index}.{key}"), param.clone());
                    }
                    entry.insert(key.to_string(), literal_json(&self.checked.value(&value.value)));
                }
                Json::Object(entry)
            })
            .collect();
        validate.insert("expect".to_string(), json!(expects));
        let on_invalid = dataset.on_invalid.as_ref().map_or("stop", |action| action.as_str());
        validate.insert("on_invalid".to_string(), json!(on_invalid));
        let input = Input {
            name: "raw".to_string(),
            from: OutputRef { step: format!("ingest.{name}"), output: "raw".to_string() },
            kind: "table".to_string(),
            schema: raw_schema,
        };
        let outputs = vec![self.table_output(name, "table"), Self::file_output("report")];
        self.push("validate", name, validate, validate_refs, vec![input], outputs, &[]);
    }

    fn op(&mut self, transform: &str, index: usize, op: &Op, refs: &mut BTreeMap<String, String>, id: &str) -> Json {
        let op_specs = |keyword: &str| {
            vocabulary::top_level("transform").and_then(|node| node.child(keyword)).map_or(&[][..], |node| node.options)
        };
        let mut with_options = |this: &mut Self, keyword: &str, columns: &[Spanned<String>], options: &Options| {
            let mut params = BTreeMap::new();
            this.options(options, op_specs(keyword), &format!("ops.{index}."), &mut params, refs, id);
            let mut entry = serde_json::Map::new();
            entry.insert("op".to_string(), json!(keyword));
            entry.insert("columns".to_string(), names(columns));
            entry.extend(params);
            entry
        };
        match op {
            Op::Drop(columns) => json!({ "op": "drop", "columns": names(columns) }),
            Op::Keep(columns) => json!({ "op": "keep", "columns": names(columns) }),
            Op::Rename { from, to } => json!({ "op": "rename", "from": from.value, "to": to.value }),
            Op::Cast { column, ty } => json!({ "op": "cast", "column": column.value, "type": ty.value.name() }),
            Op::Impute { columns, options } => Json::Object(with_options(self, "impute", columns, options)),
            Op::Scale { columns, options } => Json::Object(with_options(self, "scale", columns, options)),
            Op::OneHot { columns, options } => {
                let mut entry = with_options(self, "one-hot", columns, options);
                let levels: BTreeMap<String, Json> = columns
                    .iter()
                    .filter_map(|column| {
                        let key = (transform.to_string(), column.value.clone());
                        self.checked.one_hot_levels.get(&key).map(|levels| (column.value.clone(), json!(levels)))
                    })
                    .collect();
                entry.insert("levels".to_string(), json!(levels));
                Json::Object(entry)
            }
            Op::Derive { column, expr } => json!({ "op": "derive", "column": column.value, "expr": expr.text }),
            Op::Filter(expr) => json!({ "op": "filter", "expr": expr.text }),
        }
    }

    fn xgboost(&mut self, train: &crate::ast::Train, id: &str) -> (Json, BTreeMap<String, String>) {
        let mut params = BTreeMap::new();
        let mut refs = BTreeMap::new();
        let empty = Options::default();
        let options = train.xgboost.as_ref().map_or(&empty, |xgboost| &xgboost.value);
        self.options(options, vocabulary::XGBOOST_OPTIONS, "xgboost.", &mut params, &mut refs, id);
        (json!(params), refs)
    }

    fn train(&mut self, train: &crate::ast::Train) {
        let name = train.name.as_str();
        let id = format!("train.{name}");
        let (xgboost, refs) = self.xgboost(train, &id);
        let mut params =
            BTreeMap::from([("xgboost".to_string(), xgboost), ("label".to_string(), json!(train.label.value))]);
        let mut inputs = Vec::new();
        if let Some(info) = self.checked.models.get(name) {
            Self::model_params(info, &mut params);
            inputs.push(self.input("data", &info.data));
            if let Some(valid) = &info.valid {
                inputs.push(self.input("valid", valid));
            }
        }
        let tuned =
            self.checked.spec.items.iter().any(|item| matches!(item, Item::Tune(tune) if tune.model.value == name));
        if tuned {
            inputs.push(Input {
                name: "tuned".to_string(),
                from: OutputRef { step: format!("tune.{name}"), output: "best".to_string() },
                kind: "file".to_string(),
                schema: None,
            });
        }
        if let Some(info) = self.checked.models.get(name) {
            for transform in self.transform_chain(&info.data) {
                inputs.push(Input {
                    name: format!("fitted.{transform}"),
                    from: OutputRef { step: format!("transform.{transform}"), output: "fitted".to_string() },
                    kind: "file".to_string(),
                    schema: None,
                });
            }
        }
        let outputs = vec![
            Output { name: "model".to_string(), kind: "model".to_string(), schema: None },
            Self::file_output("preprocess"),
        ];
        self.push("train", name, params, refs, inputs, outputs, &[]);
    }

    /// The transforms between the source data and a table, in the order they apply, so that
    /// their fitted statistics travel with the model and serving can replay them.
    fn transform_chain(&self, table: &Resolved) -> Vec<String> {
        let mut chain = Vec::new();
        let mut current = table.node.clone();
        // Specs are acyclic once checked; the bound only guards against our own bugs.
        for _ in 0..self.checked.producers.len() {
            let from = self.checked.spec.items.iter().find_map(|item| match item {
                Item::Transform(transform) if transform.name.value == current => {
                    chain.push(current.clone());
                    Some(transform.from.value.clone())
                }
                Item::Split(split) if split.name.value == current => Some(split.from.value.clone()),
                _ => None,
            });
            match from.and_then(|reference| self.checked.resolve(&reference)) {
                Some(resolved) => current = resolved.node,
                None => break,
            }
        }
        chain.reverse();
        chain
    }

    /// The model's task, and its features when the training table's columns are known; without
    /// them (a custom step output without a `schema`) every column but the label is a feature.
    fn model_params(info: &ModelInfo, params: &mut BTreeMap<String, Json>) {
        params.insert("task".to_string(), json!(info.task.name()));
        if let Some(columns) = &info.columns {
            let features: Vec<&str> = columns.features.iter().map(|column| column.name.as_str()).collect();
            params.insert("features".to_string(), json!(features));
        }
    }

    fn tune(&mut self, tune: &crate::ast::Tune) {
        let name = tune.model.as_str();
        let id = format!("tune.{name}");
        let (mut params, mut refs) = self.node_options("tune", &tune.options, &id);
        let metric = params.get("metric").and_then(Json::as_str).unwrap_or("auc").to_string();
        if !params.contains_key("goal") {
            let goal = if vocabulary::HIGHER_IS_BETTER.contains(&metric.as_str()) { "maximize" } else { "minimize" };
            params.insert("goal".to_string(), json!(goal));
        }
        let space: BTreeMap<String, Json> = tune
            .space
            .iter()
            .map(|param| {
                let values: Vec<Json> =
                    param.values.iter().map(|value| literal_json(&self.checked.value(&value.value))).collect();
                (param.name.value.clone(), json!({ "distribution": param.distribution.value, "values": values }))
            })
            .collect();
        params.insert("space".to_string(), json!(space));
        let mut inputs = Vec::new();
        if let Some(train) = self.checked.spec.items.iter().find_map(|item| match item {
            Item::Train(train) if train.name.value == name => Some(train),
            _ => None,
        }) {
            let (xgboost, train_refs) = self.xgboost(train, &id);
            params.insert("xgboost".to_string(), xgboost);
            refs.extend(train_refs);
            params.insert("label".to_string(), json!(train.label.value));
        }
        if let Some(info) = self.checked.models.get(name) {
            Self::model_params(info, &mut params);
            inputs.push(self.input("data", &info.data));
            if let Some(valid) = &info.valid {
                inputs.push(self.input("valid", valid));
            }
        }
        self.push("tune", name, params, refs, inputs, vec![Self::file_output("best")], &[]);
    }

    fn evaluate(&mut self, evaluate: &crate::ast::Evaluate) {
        let name = evaluate.model.as_str();
        let info = self.checked.models.get(name);
        let metrics: Vec<String> = match (&evaluate.metrics, info) {
            (Some(metrics), _) => metrics.iter().map(|metric| metric.value.clone()).collect(),
            (None, Some(info)) => info.task.metrics().iter().map(|metric| metric.to_string()).collect(),
            (None, None) => Vec::new(),
        };
        let mut refs = BTreeMap::new();
        let gates: Vec<Json> = evaluate
            .gates
            .iter()
            .enumerate()
            .map(|(index, gate)| {
                let mut entry = serde_json::Map::new();
                entry.insert("metric".to_string(), json!(gate.metric.value));
                for (key, value) in &gate.options.0 {
                    if let Value::Param(param) = &value.value {
                        refs.insert(format!("gates.{index}.{key}"), param.clone());
                    }
                    entry.insert(key.to_string(), literal_json(&self.checked.value(&value.value)));
                }
                Json::Object(entry)
            })
            .collect();
        let compare_to: Vec<Json> = evaluate
            .compare_to
            .iter()
            .enumerate()
            .map(|(index, compare)| {
                let (model, alias) =
                    compare.model.as_str().split_once('@').unwrap_or((compare.model.as_str(), "latest"));
                let mut entry = serde_json::Map::new();
                entry.insert("model".to_string(), json!(model));
                entry.insert("alias".to_string(), json!(alias));
                entry.insert("tolerance".to_string(), json!(0.0));
                for (key, value) in &compare.options.0 {
                    if let Value::Param(param) = &value.value {
                        refs.insert(format!("compare_to.{index}.{key}"), param.clone());
                    }
                    entry.insert(key.to_string(), literal_json(&self.checked.value(&value.value)));
                }
                Json::Object(entry)
            })
            .collect();
        let mut params = BTreeMap::from([
            ("metrics".to_string(), json!(metrics)),
            ("gates".to_string(), json!(gates)),
            ("compare_to".to_string(), json!(compare_to)),
        ]);
        if let Some(info) = info {
            params.insert("task".to_string(), json!(info.task.name()));
            params.insert("label".to_string(), json!(info.label));
        }
        let mut inputs = vec![Input {
            name: "model".to_string(),
            from: OutputRef { step: format!("train.{name}"), output: "model".to_string() },
            kind: "model".to_string(),
            schema: None,
        }];
        inputs.push(Input {
            name: "preprocess".to_string(),
            from: OutputRef { step: format!("train.{name}"), output: "preprocess".to_string() },
            kind: "file".to_string(),
            schema: None,
        });
        inputs.extend(self.reference_input("data", &evaluate.data));
        self.push("evaluate", name, params, refs, inputs, vec![Self::file_output("report")], &[]);
    }

    fn monitor(&mut self, monitor: &crate::ast::Monitor) {
        let name = monitor.name.as_str();
        let mut refs = BTreeMap::new();
        let mut rules = |group: &str, rules: &[crate::ast::MonitorRule], key: &str| -> Json {
            json!(rules
                .iter()
                .enumerate()
                .map(|(index, rule)| {
                    let mut entry = serde_json::Map::new();
                    entry.insert(key.to_string(), json!(rule.name.value));
                    for (option, value) in &rule.options.0 {
                        let option = option.replace('-', "_");
                        if let Value::Param(param) = &value.value {
                            refs.insert(format!("{group}.{index}.{option}"), param.clone());
                        }
                        entry.insert(option, literal_json(&self.checked.value(&value.value)));
                    }
                    Json::Object(entry)
                })
                .collect::<Vec<_>>())
        };
        let drift = rules("drift", &monitor.drifts, "method");
        let performance = rules("performance", &monitor.performance, "metric");
        let mut params = BTreeMap::from([
            ("model".to_string(), json!(monitor.model.value)),
            ("current".to_string(), json!(monitor.current.value)),
            ("drift".to_string(), drift),
            ("performance".to_string(), performance),
            ("on_drift".to_string(), json!(monitor.on_drift.as_ref().map_or("alert", |action| action.as_str()))),
        ]);
        if let Some(features) = &monitor.features {
            params.insert("features".to_string(), names(features));
        }
        let inputs = self.reference_input("reference", &monitor.reference).into_iter().collect();
        let registry_name = monitor.model.as_str().split('@').next().unwrap_or_default().to_string();
        let extra = self.register_step(&registry_name);
        self.push("monitor", name, params, refs, inputs, vec![Self::file_output("report")], &extra);
    }

    fn command(&mut self, step: &crate::ast::Step) {
        let name = step.name.as_str();
        let id = format!("step.{name}");
        let env: BTreeMap<String, Json> =
            step.env.iter().map(|(variable, value)| (variable.value.clone(), self.json(&value.value, &id))).collect();
        let output_schemas: BTreeMap<String, Json> = step
            .outputs
            .iter()
            .filter_map(|output| {
                let resolved = Resolved { node: name.to_string(), output: output.name.value.clone() };
                let schema = self.checked.schemas.get(&resolved)?;
                Some((output.name.value.clone(), json!(schema_info(schema))))
            })
            .collect();
        let params = BTreeMap::from([
            ("run".to_string(), json!(step.run.as_ref().map(|run| run.value.clone()))),
            ("code".to_string(), names(&step.code)),
            ("env".to_string(), json!(env)),
            // The runtime checks what the command wrote against the declared columns.
            ("output_schemas".to_string(), json!(output_schemas)),
        ]);
        let inputs =
            step.inputs.iter().filter_map(|input| self.reference_input(&input.name.value, &input.from)).collect();
        let outputs = step
            .outputs
            .iter()
            .map(|output| {
                let resolved = Resolved { node: name.to_string(), output: output.name.value.clone() };
                Output {
                    name: output.name.value.clone(),
                    kind: output.kind.value.clone(),
                    schema: self.checked.schemas.get(&resolved).map(schema_info),
                }
            })
            .collect();
        self.push("step", name, params, BTreeMap::new(), inputs, outputs, &[]);
    }
}
