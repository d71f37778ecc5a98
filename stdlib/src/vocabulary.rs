//! The language's vocabulary: every node, argument, option and default, in one table.
//!
//! The checker validates specs against this table, the plan fills defaults from it, and a test
//! keeps `docs/language.md` in step with it. Change a default here and it changes everywhere.

use crate::signature::{ArgSpec, Args, Children, Literal, NodeSpec, OptionSpec, Range, ValueKind};

use ValueKind::*;

const fn node(keyword: &'static str, summary: &'static str) -> NodeSpec {
    NodeSpec { keyword, summary, args: Args::NONE, options: &[], children: Children::None, repeatable: true }
}

const NAME: ArgSpec = ArgSpec::new("name", Name);
const NAMED: Args = Args::exactly(&[NAME]);
const COLUMNS: Args = Args::one_or_more(ArgSpec::new("column", Column));
const ONE_TEXT: Args = Args::exactly(&[ArgSpec::new("text", String)]);

/// Column types of a schema.
pub const COLUMN_TYPES: &[&str] = &["int", "float", "bool", "string", "category", "date", "datetime"];

/// XGBoost objectives for binary classification.
pub const BINARY_OBJECTIVES: &[&str] = &["binary:logistic", "binary:logitraw", "binary:hinge"];
/// XGBoost objectives for multiclass classification.
pub const MULTICLASS_OBJECTIVES: &[&str] = &["multi:softprob", "multi:softmax"];
/// XGBoost objectives for regression.
pub const REGRESSION_OBJECTIVES: &[&str] = &[
    "reg:squarederror",
    "reg:squaredlogerror",
    "reg:absoluteerror",
    "reg:pseudohubererror",
    "reg:logistic",
    "reg:tweedie",
    "reg:gamma",
    "count:poisson",
];
const OBJECTIVES: &[&str] = &[
    "binary:logistic",
    "binary:logitraw",
    "binary:hinge",
    "multi:softprob",
    "multi:softmax",
    "reg:squarederror",
    "reg:squaredlogerror",
    "reg:absoluteerror",
    "reg:pseudohubererror",
    "reg:logistic",
    "reg:tweedie",
    "reg:gamma",
    "count:poisson",
];

/// Metrics for binary classifiers.
pub const BINARY_METRICS: &[&str] = &["auc", "logloss", "accuracy", "precision", "recall", "f1"];
/// Metrics for multiclass classifiers (precision, recall and f1 are macro averages).
pub const MULTICLASS_METRICS: &[&str] = &["logloss", "accuracy", "precision", "recall", "f1"];
/// Metrics for regressors.
pub const REGRESSION_METRICS: &[&str] = &["rmse", "mae", "r2"];
/// Every metric name the language knows.
pub const METRICS: &[&str] = &["auc", "logloss", "accuracy", "precision", "recall", "f1", "rmse", "mae", "r2"];
/// Metrics where a larger value is better; the others are better when smaller.
pub const HIGHER_IS_BETTER: &[&str] = &["auc", "accuracy", "precision", "recall", "f1", "r2"];

// ---- project, params, store, tracking -------------------------------------------------------

const PROJECT_CHILDREN: &[NodeSpec] = &[
    NodeSpec { args: ONE_TEXT, repeatable: false, ..node("description", "what the project is for") },
    NodeSpec { args: ONE_TEXT, repeatable: false, ..node("owner", "who answers for the model") },
];

const PROJECT: NodeSpec = NodeSpec {
    args: NAMED,
    options: &[OptionSpec::new("version", String, "the project's version").default(Literal::Str("0.0.0"))],
    children: Children::Nodes(PROJECT_CHILDREN),
    repeatable: false,
    ..node("project", "the project's name, version, description and owner")
};

const PARAMS: NodeSpec = NodeSpec {
    children: Children::Params,
    repeatable: false,
    ..node("params", "named values that options refer to with `(param)\"name\"`; overridable at run time")
};

const STORE: NodeSpec = NodeSpec {
    args: Args::exactly(&[ArgSpec::new("uri", String).secret_ok()]),
    repeatable: false,
    ..node("store", "where runs, artifacts and the registry live (default `.mlops`)")
};

const TRACKING: NodeSpec = NodeSpec {
    args: Args::exactly(&[ArgSpec::choice("backend", &["local", "mlflow"])]),
    options: &[
        OptionSpec::new("uri", String, "the MLflow tracking server").secret_ok(),
        OptionSpec::new("experiment", String, "the MLflow experiment name (default: the project name)"),
    ],
    repeatable: false,
    ..node("tracking", "where runs are mirrored besides the store")
};

// ---- dataset --------------------------------------------------------------------------------

const SCHEMA: NodeSpec = NodeSpec {
    children: Children::Columns,
    repeatable: false,
    ..node("schema", "the columns: `name type constraints…`")
};

/// Options of one column inside a `schema` block.
pub const COLUMN_OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("nullable", Bool, "whether the column may hold nulls").default(Literal::Bool(false)).literal_only(),
    OptionSpec::new("unique", Bool, "whether every value must be distinct").default(Literal::Bool(false)),
    OptionSpec::new("min", Float, "smallest allowed value (numeric columns)"),
    OptionSpec::new("max", Float, "largest allowed value (numeric columns)"),
];

/// The one child a column may have: its category levels.
pub const LEVELS: NodeSpec = NodeSpec {
    args: Args::one_or_more(ArgSpec::new("level", String)),
    repeatable: false,
    ..node("levels", "the allowed values of a `category` column")
};

/// Rules of `expect`.
pub const EXPECT_RULES: &[&str] = &["row-count", "null-fraction", "unique"];

const DATASET_CHILDREN: &[NodeSpec] = &[
    NodeSpec {
        args: Args::one_or_more(ArgSpec::new("path", Path)),
        options: &[
            OptionSpec::new("format", String, "file format; `auto` goes by the extension")
                .default(Literal::Str("auto"))
                .choices(&["auto", "csv", "parquet", "ndjson"]),
            OptionSpec::new("delimiter", String, "CSV field delimiter").default(Literal::Str(",")),
        ],
        repeatable: false,
        ..node("source", "the files to read: CSV, Parquet or NDJSON; globs allowed")
    },
    SCHEMA,
    NodeSpec {
        args: Args {
            required: &[ArgSpec::choice("rule", EXPECT_RULES)],
            optional: &[ArgSpec::new("column", Column)],
            rest: None,
            rest_min_one: false,
        },
        options: &[
            OptionSpec::new("min", Float, "lower bound of the measured value").range(Range::at_least(0.0)),
            OptionSpec::new("max", Float, "upper bound of the measured value").range(Range::at_least(0.0)),
        ],
        ..node("expect", "a rule the whole table must satisfy")
    },
    NodeSpec {
        args: Args::exactly(&[ArgSpec::choice("action", &["stop", "warn"])]),
        repeatable: false,
        ..node("on-invalid", "what a failed validation does (default `stop`)")
    },
];

const DATASET: NodeSpec = NodeSpec {
    args: NAMED,
    children: Children::Nodes(DATASET_CHILDREN),
    ..node("dataset", "ingest, version and validate a table")
};

// ---- transform ------------------------------------------------------------------------------

const TRANSFORM_OPS: &[NodeSpec] = &[
    NodeSpec { args: COLUMNS, ..node("drop", "remove columns") },
    NodeSpec { args: COLUMNS, ..node("keep", "keep only these columns") },
    NodeSpec {
        args: Args::exactly(&[ArgSpec::new("from", Column), ArgSpec::new("to", Name)]),
        ..node("rename", "rename a column")
    },
    NodeSpec {
        args: Args::exactly(&[ArgSpec::new("column", Column), ArgSpec::new("type", ColumnType)]),
        ..node("cast", "change a column's type")
    },
    NodeSpec {
        args: COLUMNS,
        options: &[
            OptionSpec::new("strategy", String, "how missing values are filled")
                .default(Literal::Str("median"))
                .choices(&["mean", "median", "mode", "constant"]),
            OptionSpec::new("value", Any, "the fill value for `strategy=\"constant\"`"),
        ],
        ..node("impute", "fill missing values; the fitted value is saved with the model")
    },
    NodeSpec {
        args: COLUMNS,
        options: &[OptionSpec::new("drop-first", Bool, "leave out the first level's column")
            .default(Literal::Bool(false))
            .literal_only()],
        ..node("one-hot", "replace a category column by one 0/1 column per level (`column_level`)")
    },
    NodeSpec {
        args: Args::exactly(&[ArgSpec::new("column", Name), ArgSpec::new("expression", Expression)]),
        ..node("derive", "add (or replace) a column computed from an expression")
    },
    NodeSpec {
        args: Args::exactly(&[ArgSpec::new("condition", Expression)]),
        ..node("filter", "keep the rows where a boolean expression holds")
    },
    NodeSpec {
        args: COLUMNS,
        options: &[OptionSpec::new("method", String, "`standard` (zero mean, unit variance) or `minmax` (0..1)")
            .default(Literal::Str("standard"))
            .choices(&["standard", "minmax"])],
        ..node("scale", "rescale numeric columns; the fitted statistics are saved with the model")
    },
];

const TRANSFORM: NodeSpec = NodeSpec {
    args: NAMED,
    options: &[OptionSpec::new("from", Reference, "the input table").required()],
    children: Children::Nodes(TRANSFORM_OPS),
    ..node("transform", "clean and shape a table, one operation per line, in order")
};

// ---- split ----------------------------------------------------------------------------------

const FRACTION: Range = Range::between(0.0, 1.0);

const SPLIT: NodeSpec = NodeSpec {
    args: NAMED,
    options: &[
        OptionSpec::new("from", Reference, "the input table").required(),
        OptionSpec::new("train", Float, "fraction of rows in `.train`")
            .default(Literal::Float(0.8))
            .range(Range::above_up_to(0.0, 1.0)),
        // Whether `.valid` and `.test` exist depends on these two, so they are written out.
        OptionSpec::new("valid", Float, "fraction of rows in `.valid` (0: no `.valid` part)")
            .default(Literal::Float(0.0))
            .range(FRACTION)
            .literal_only(),
        OptionSpec::new("test", Float, "fraction of rows in `.test` (0: no `.test` part)")
            .default(Literal::Float(0.2))
            .range(FRACTION)
            .literal_only(),
        OptionSpec::new("stratify", Column, "keep this column's class balance in every part"),
        OptionSpec::new("seed", Int, "random seed").default(Literal::Int(0)).range(Range::at_least(0.0)),
    ],
    ..node("split", "split a table into `.train`, `.valid` and `.test` parts")
};

// ---- train and tune -------------------------------------------------------------------------

/// The parameters of the `xgboost` block, with XGBoost's own spellings where it has one.
pub const XGBOOST_OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("objective", String, "the learning task").required().choices(OBJECTIVES),
    OptionSpec::new("rounds", Int, "number of boosting rounds")
        .default(Literal::Int(100))
        .range(Range::between(1.0, 100000.0)),
    OptionSpec::new("max_depth", Int, "maximum tree depth").default(Literal::Int(6)).range(Range::between(1.0, 64.0)),
    OptionSpec::new("eta", Float, "learning rate").default(Literal::Float(0.3)).range(Range::above_up_to(0.0, 1.0)),
    OptionSpec::new("early-stopping", Int, "stop after this many rounds without improvement on the validation data")
        .range(Range::at_least(1.0)),
    OptionSpec::new("subsample", Float, "row sampling per tree")
        .default(Literal::Float(1.0))
        .range(Range::above_up_to(0.0, 1.0)),
    OptionSpec::new("colsample_bytree", Float, "column sampling per tree")
        .default(Literal::Float(1.0))
        .range(Range::above_up_to(0.0, 1.0)),
    OptionSpec::new("min_child_weight", Float, "minimum hessian in a leaf")
        .default(Literal::Float(1.0))
        .range(Range::at_least(0.0)),
    OptionSpec::new("lambda", Float, "L2 regularisation").default(Literal::Float(1.0)).range(Range::at_least(0.0)),
    OptionSpec::new("alpha", Float, "L1 regularisation").default(Literal::Float(0.0)).range(Range::at_least(0.0)),
    OptionSpec::new("gamma", Float, "minimum loss reduction to split")
        .default(Literal::Float(0.0))
        .range(Range::at_least(0.0)),
    OptionSpec::new("max_bin", Int, "histogram bins").default(Literal::Int(256)).range(Range::between(2.0, 65536.0)),
    OptionSpec::new("scale_pos_weight", Float, "weight of positive examples")
        .default(Literal::Float(1.0))
        .range(Range::above(0.0)),
    OptionSpec::new("tree_method", String, "tree construction algorithm")
        .default(Literal::Str("hist"))
        .choices(&["hist", "approx", "exact"]),
    OptionSpec::new("nthread", Int, "threads (0 = all cores)").default(Literal::Int(0)).range(Range::at_least(0.0)),
    OptionSpec::new("seed", Int, "random seed").default(Literal::Int(0)).range(Range::at_least(0.0)),
];

const TRAIN_CHILDREN: &[NodeSpec] = &[NodeSpec {
    options: XGBOOST_OPTIONS,
    repeatable: false,
    ..node("xgboost", "train a gradient-boosted tree model with XGBoost")
}];

const TRAIN: NodeSpec = NodeSpec {
    args: NAMED,
    options: &[
        OptionSpec::new("data", Reference, "the training table").required(),
        OptionSpec::new("label", Column, "the column to predict").required(),
        OptionSpec::new(
            "valid",
            Reference,
            "validation table for early stopping (default: the split's `.valid` when it has one)",
        ),
    ],
    children: Children::Nodes(TRAIN_CHILDREN),
    ..node("train", "train a model; every other column of `data` is a feature")
};

/// Distributions of a `tune` search space.
pub const DISTRIBUTIONS: &[&str] = &["uniform", "log-uniform", "int", "choice"];

const TUNE: NodeSpec = NodeSpec {
    args: Args::exactly(&[ArgSpec::new("model", Reference)]),
    options: &[
        OptionSpec::new("trials", Int, "number of trials")
            .default(Literal::Int(20))
            .range(Range::between(1.0, 100000.0)),
        OptionSpec::new("sampler", String, "search strategy").default(Literal::Str("tpe")).choices(&["tpe", "random"]),
        OptionSpec::new("metric", String, "the validation metric to optimise").required().choices(METRICS),
        OptionSpec::new("goal", String, "whether the metric should grow or shrink (default: by metric)")
            .choices(&["maximize", "minimize"]),
        OptionSpec::new("parallel", Int, "trials run at once")
            .default(Literal::Int(1))
            .range(Range::between(1.0, 256.0)),
        OptionSpec::new("seed", Int, "sampler seed").default(Literal::Int(0)).range(Range::at_least(0.0)),
    ],
    children: Children::SearchSpace,
    repeatable: true,
    ..node("tune", "search hyperparameters of a `train` model before it is trained")
};

// ---- evaluate, register, package ------------------------------------------------------------

const EVALUATE_CHILDREN: &[NodeSpec] = &[
    NodeSpec {
        args: Args::one_or_more(ArgSpec::choice("metric", METRICS)),
        repeatable: false,
        ..node("metrics", "metrics to compute (default: all that fit the task)")
    },
    NodeSpec {
        args: Args::exactly(&[ArgSpec::choice("metric", METRICS)]),
        options: &[
            OptionSpec::new("min", Float, "the metric must be at least this"),
            OptionSpec::new("max", Float, "the metric must be at most this"),
        ],
        ..node("gate", "a threshold the model must pass before it can be registered")
    },
    NodeSpec {
        args: Args::exactly(&[ArgSpec::new("model", ModelReference)]),
        options: &[
            OptionSpec::new("metric", String, "the metric compared").required().choices(METRICS),
            OptionSpec::new("tolerance", Float, "how much worse the challenger may be")
                .default(Literal::Float(0.0))
                .range(Range::at_least(0.0)),
        ],
        ..node("compare-to", "the challenger must not be worse than the model under this alias")
    },
];

const EVALUATE: NodeSpec = NodeSpec {
    args: Args::exactly(&[ArgSpec::new("model", Reference)]),
    options: &[OptionSpec::new("data", Reference, "the table the model is scored on").required()],
    children: Children::Nodes(EVALUATE_CHILDREN),
    ..node("evaluate", "score a model, check its gates")
};

const REGISTER: NodeSpec = NodeSpec {
    args: NAMED,
    options: &[
        OptionSpec::new("model", Reference, "the `train` model to register").required(),
        OptionSpec::new("alias", Name, "alias set when a new version passes its gates")
            .default(Literal::Str("staging")),
        OptionSpec::new("promote", Name, "alias that `mlopsc models promote` moves a version to")
            .default(Literal::Str("production")),
    ],
    ..node("register", "add a new model version to the registry once its gates pass")
};

const PACKAGE: NodeSpec = NodeSpec {
    args: Args::exactly(&[ArgSpec::new("model", Name)]),
    options: &[OptionSpec::new(
        "format",
        String,
        "`bundle` (model, schema, metadata, OpenAPI) or `docker` (bundle + Dockerfile)",
    )
    .default(Literal::Str("bundle"))
    .choices(&["bundle", "docker"])],
    ..node("package", "package a registered model for deployment")
};

// ---- serve, monitor, schedule ---------------------------------------------------------------

const SERVE_CHILDREN: &[NodeSpec] = &[
    NodeSpec {
        args: Args::exactly(&[ArgSpec::new("enabled", Bool)]),
        repeatable: false,
        ..node("log-predictions", "record every prediction for monitoring")
    },
    NodeSpec {
        args: Args::exactly(&[ArgSpec::new("rows", Int).range(Range::at_least(1.0))]),
        repeatable: false,
        ..node("max-batch", "largest batch one request may send (default 1000)")
    },
];

const SERVE: NodeSpec = NodeSpec {
    args: NAMED,
    options: &[
        OptionSpec::new("model", ModelReference, "the registered model to serve").required(),
        OptionSpec::new("port", Int, "TCP port").default(Literal::Int(8080)).range(Range::between(1.0, 65535.0)),
        OptionSpec::new("host", String, "address to listen on").default(Literal::Str("127.0.0.1")),
    ],
    children: Children::Nodes(SERVE_CHILDREN),
    ..node("serve", "an HTTP prediction service")
};

/// Drift tests of `monitor`.
pub const DRIFT_METHODS: &[&str] = &["psi", "ks", "chi2"];

const MONITOR_CHILDREN: &[NodeSpec] = &[
    NodeSpec {
        args: Args::exactly(&[ArgSpec::choice("method", DRIFT_METHODS)]),
        options: &[
            OptionSpec::new("threshold", Float, "drift when the statistic exceeds this (psi)").range(Range::above(0.0)),
            OptionSpec::new("p-value", Float, "drift when the p-value is below this (ks, chi2)")
                .range(Range::above_up_to(0.0, 1.0)),
        ],
        ..node("drift", "a per-feature drift test")
    },
    NodeSpec {
        args: Args::exactly(&[ArgSpec::choice("metric", METRICS)]),
        options: &[
            OptionSpec::new("min", Float, "alert when the metric falls below this"),
            OptionSpec::new("max", Float, "alert when the metric rises above this"),
        ],
        ..node("performance", "a metric on labelled current data")
    },
    NodeSpec {
        args: COLUMNS,
        repeatable: false,
        ..node("features", "only watch these columns (default: all features)")
    },
    NodeSpec {
        args: Args::exactly(&[ArgSpec::choice("action", &["retrain", "alert", "fail"])]),
        repeatable: false,
        ..node("on-drift", "what detected drift does (default `alert`)")
    },
];

const MONITOR: NodeSpec = NodeSpec {
    args: NAMED,
    options: &[
        OptionSpec::new("model", ModelReference, "the registered model watched").required(),
        OptionSpec::new("reference", Reference, "the table the model was trained on").required(),
        OptionSpec::new("current", Path, "the recent data (files or glob)").required(),
    ],
    children: Children::Nodes(MONITOR_CHILDREN),
    ..node("monitor", "watch drift and performance of a served model")
};

const SCHEDULE: NodeSpec = NodeSpec {
    args: NAMED,
    options: &[OptionSpec::new("cron", Cron, "five-field cron expression, in UTC").required()],
    ..node("schedule", "when the pipeline runs by itself (retraining cadence)")
};

// ---- custom steps and targets ---------------------------------------------------------------

const OUTPUT_CHILDREN: &[NodeSpec] = &[SCHEMA];

const STEP_CHILDREN: &[NodeSpec] = &[
    NodeSpec {
        args: Args::exactly(&[ArgSpec::new("command", String)]),
        repeatable: false,
        ..node("run", "the command; `{inputs.NAME}` and `{outputs.NAME}` become paths")
    },
    NodeSpec {
        args: NAMED,
        options: &[OptionSpec::new("from", Reference, "the upstream output").required()],
        ..node("input", "a table or file the command reads")
    },
    NodeSpec {
        args: NAMED,
        options: &[OptionSpec::new("type", String, "what the command writes")
            .default(Literal::Str("table"))
            .choices(&["table", "model", "file"])
            .literal_only()],
        children: Children::Nodes(OUTPUT_CHILDREN),
        ..node("output", "a table or file the command writes; a `schema` makes its columns known")
    },
    NodeSpec {
        args: Args::one_or_more(ArgSpec::new("path", Path)),
        ..node("code", "files whose bytes are part of the step's cache key (scripts it runs)")
    },
    NodeSpec {
        args: Args::exactly(&[
            ArgSpec::new("variable", Variable),
            ArgSpec::new("value", String).secret_ok().param_ok(),
        ]),
        ..node("env", "an environment variable for the command; `(secret)`/`(env)` values allowed")
    },
];

const STEP: NodeSpec = NodeSpec {
    args: NAMED,
    children: Children::Nodes(STEP_CHILDREN),
    ..node("step", "a custom command, typed at its boundary")
};

/// Targets `mlopsc build` can emit.
pub const TARGETS: &[&str] = &["github-actions", "airflow", "kubeflow"];

const TARGET_CHILDREN: &[NodeSpec] = &[
    NodeSpec { args: ONE_TEXT, repeatable: false, ..node("runner", "GitHub Actions `runs-on` label") },
    NodeSpec { args: ONE_TEXT, repeatable: false, ..node("install", "the command that installs mlopsc on a worker") },
];

const TARGET: NodeSpec = NodeSpec {
    args: Args::exactly(&[ArgSpec::choice("target", TARGETS)]),
    options: &[
        OptionSpec::new("dag-id", Name, "Airflow DAG id (default: the project name)"),
        OptionSpec::new("image", String, "container image with mlopsc (Kubeflow; KubernetesPodOperator on Airflow)"),
        OptionSpec::new("namespace", String, "Kubernetes namespace"),
        OptionSpec::new("retries", Int, "retries per task").default(Literal::Int(1)).range(Range::between(0.0, 100.0)),
    ],
    children: Children::Nodes(TARGET_CHILDREN),
    ..node("target", "an orchestrator `mlopsc build` emits files for")
};

/// Every top-level node, in the order the docs present them.
pub const TOP_LEVEL: &[NodeSpec] = &[
    PROJECT, PARAMS, STORE, TRACKING, DATASET, TRANSFORM, SPLIT, TRAIN, TUNE, EVALUATE, REGISTER, PACKAGE, SERVE,
    MONITOR, SCHEDULE, STEP, TARGET,
];

/// The top-level node called `keyword`.
pub fn top_level(keyword: &str) -> Option<&'static NodeSpec> {
    TOP_LEVEL.iter().find(|node| node.keyword == keyword)
}
