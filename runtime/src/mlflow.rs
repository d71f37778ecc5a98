//! Mirroring a finished run to an MLflow tracking server (`tracking "mlflow" uri=…`) through
//! its REST API, so teams that look at MLflow see every mlopsc run there too.
//!
//! The store stays the record; the mirror is a copy made after the run. Calls, in order (all
//! under `{uri}/api/2.0/`):
//!
//! - `GET mlflow/experiments/get-by-name`, else `POST mlflow/experiments/create`: the experiment
//!   (`experiment=` of the spec, default the project name);
//! - `POST mlflow/runs/create` with tags `mlopsc.run_id`, `mlopsc.spec_hash`, `mlopsc.version`…;
//! - `POST mlflow/runs/log-batch`: the plan's params, each `train` step's XGBoost params as
//!   `step/param`, and every recorded metric as `step/metric` (in batches within MLflow's limits
//!   of 100 params and 1000 metrics per request);
//! - `PUT mlflow-artifacts/artifacts/<run artifact path>/model/model.json`: the registered (else
//!   trained) XGBoost model, through the server's artifact proxy (`mlflow server
//!   --serve-artifacts`, the default);
//! - `POST mlflow/runs/update`: status `FINISHED`, `FAILED` or `KILLED` and the end time.
//!
//! Only `http://` servers are reachable: this build's HTTP client has no TLS. A bearer token in
//! `MLFLOW_TRACKING_TOKEN` is sent when set, as MLflow's own clients do.

use std::time::Duration;

use mlops_compiler::plan::Plan;
use serde_json::{json, Value as Json};

use crate::query::{self, RunDetail};
use crate::registry;
use crate::store::{Store, StoreError};

const MAX_PARAMS_PER_BATCH: usize = 100;
const MAX_METRICS_PER_BATCH: usize = 1000;
const MAX_PARAM_VALUE_CHARS: usize = 6000;

/// Why a run could not be mirrored.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    /// The spec's tracking options cannot be used.
    #[error("{0}")]
    Config(String),
    /// The server could not be reached.
    #[error("cannot reach MLflow at {uri}: {reason}")]
    Unreachable {
        /// The tracking URI.
        uri: String,
        /// Why: "connection refused", "no answer within 30s"…
        reason: String,
    },
    /// The server answered with an error.
    #[error("MLflow at {uri} refused `{endpoint}` (HTTP {status}{code}): {message}")]
    Refused {
        /// The tracking URI.
        uri: String,
        /// The endpoint called.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// `: ERROR_CODE`, when MLflow gave one.
        code: String,
        /// MLflow's message.
        message: String,
    },
    /// The server answered something the REST API does not document.
    #[error("MLflow at {uri} answered `{endpoint}` unexpectedly: {detail}")]
    Unexpected {
        /// The tracking URI.
        uri: String,
        /// The endpoint called.
        endpoint: String,
        /// What was wrong.
        detail: String,
    },
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Part of the run was mirrored, then something failed.
    #[error("run {run_id} was partly mirrored to MLflow run {mlflow_run}: {source}")]
    Partial {
        /// The mlopsc run.
        run_id: i64,
        /// The MLflow run.
        mlflow_run: String,
        /// What failed.
        source: Box<MirrorError>,
    },
}

/// Where runs are mirrored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracking {
    /// `http://host:port`, without a trailing slash.
    pub uri: String,
    /// The experiment name.
    pub experiment: String,
}

/// What a mirror did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirrored {
    /// The MLflow experiment id.
    pub experiment_id: String,
    /// The MLflow run id.
    pub mlflow_run_id: String,
    /// Params logged.
    pub params: usize,
    /// Metrics logged.
    pub metrics: usize,
    /// The artifact path of the uploaded model, if there was one.
    pub model_artifact: Option<String>,
}

/// The tracking URI and experiment of a plan whose backend is `mlflow`. The URI is a string, or
/// `(env)`/`(secret)` `"NAME"` read from that environment variable.
pub fn tracking(plan: &Plan) -> Result<Tracking, MirrorError> {
    let options = &plan.tracking.options;
    let uri = match options.get("uri") {
        Some(Json::String(uri)) => uri.clone(),
        Some(Json::Object(reference)) => {
            let (kind, name) = reference
                .iter()
                .next()
                .and_then(|(kind, name)| Some((kind.as_str(), name.as_str()?)))
                .ok_or_else(|| {
                MirrorError::Config(format!("tracking `uri` has an unknown form: {}", Json::Object(reference.clone())))
            })?;
            std::env::var(name).map_err(|_| {
                MirrorError::Config(format!(
                    "the MLflow tracking URI comes from `({kind})\"{name}\"`, but the environment variable `{name}` is not set; \
                     export {name}=http://host:5000"
                ))
            })?
        }
        Some(other) => return Err(MirrorError::Config(format!("tracking `uri` must be a string, found {other}"))),
        None => return Err(MirrorError::Config("the spec's tracking \"mlflow\" has no `uri`".to_string())),
    };
    let uri = uri.trim().trim_end_matches('/').to_string();
    if uri.starts_with("https://") {
        return Err(MirrorError::Config(format!(
            "MLflow at {uri}: this mlopsc speaks plain http only; reach the server through an http address or a local proxy"
        )));
    }
    if !uri.starts_with("http://") {
        return Err(MirrorError::Config(format!("MLflow tracking URI `{uri}` is not an http:// address")));
    }
    let experiment = match options.get("experiment") {
        Some(Json::String(name)) if !name.trim().is_empty() => name.clone(),
        _ => plan.project.name.clone(),
    };
    Ok(Tracking { uri, experiment })
}

/// Mirrors a finished run to MLflow when the plan's tracking backend is `mlflow`. Returns a
/// line for the user, or `None` when there is nothing to mirror.
pub fn mirror_if_configured(store: &Store, plan: &Plan, run_id: i64) -> Result<Option<String>, String> {
    if plan.tracking.backend != "mlflow" {
        return Ok(None);
    }
    let tracking = tracking(plan).map_err(|error| error.to_string())?;
    let mirrored = mirror(store, plan, run_id, &tracking).map_err(|error| error.to_string())?;
    let model = match &mirrored.model_artifact {
        Some(path) => format!(", model at `{path}`"),
        None => String::new(),
    };
    Ok(Some(format!(
        "mirrored run {run_id} to MLflow at {}: experiment `{}` ({}), run {} ({} params, {} metrics{model})",
        tracking.uri,
        tracking.experiment,
        mirrored.experiment_id,
        mirrored.mlflow_run_id,
        mirrored.params,
        mirrored.metrics
    )))
}

/// Mirrors run `run_id` of the store to `tracking`.
pub fn mirror(store: &Store, plan: &Plan, run_id: i64, tracking: &Tracking) -> Result<Mirrored, MirrorError> {
    let connection = store.connect()?;
    let detail = query::show_run(store, &connection, run_id)?;
    let model = model_object(store, &connection, &detail)?;
    drop(connection);
    let client = Client::new(&tracking.uri);
    let experiment_id = client.experiment(&tracking.experiment)?;
    let started = millis(&detail.run.started_at).unwrap_or(0);
    let ended = detail.run.finished_at.as_deref().and_then(millis).unwrap_or(started);
    let tags = [
        ("mlopsc.run_id", detail.run.id.to_string()),
        ("mlopsc.spec_hash", detail.run.spec_hash.clone()),
        ("mlopsc.spec_file", detail.run.spec_file.clone()),
        ("mlopsc.version", detail.run.mlopsc_version.clone()),
        ("mlopsc.project", detail.run.project.clone()),
        ("mlopsc.host", detail.run.host.clone()),
        ("mlflow.user", detail.run.user.clone()),
    ];
    let created = client.post(
        "mlflow/runs/create",
        &json!({
            "experiment_id": experiment_id,
            "run_name": format!("{} run {}", detail.run.project, detail.run.id),
            "start_time": started,
            "tags": tags.iter().map(|(key, value)| json!({ "key": key, "value": value })).collect::<Vec<_>>(),
        }),
    )?;
    let info = created.get("run").and_then(|run| run.get("info"));
    let text = |field: &str| info.and_then(|info| info.get(field)).and_then(Json::as_str).map(str::to_string);
    let mlflow_run_id = text("run_id")
        .or_else(|| text("run_uuid"))
        .ok_or_else(|| client.unexpected("mlflow/runs/create", "no run id in the answer"))?;
    let artifact_uri = text("artifact_uri").unwrap_or_default();

    let finish = |status: &str| {
        client.post("mlflow/runs/update", &json!({ "run_id": mlflow_run_id, "status": status, "end_time": ended }))
    };
    let partial = |source: MirrorError| {
        // Best effort: the MLflow run should not stay RUNNING forever.
        let _ = finish("FAILED");
        MirrorError::Partial { run_id, mlflow_run: mlflow_run_id.clone(), source: Box::new(source) }
    };
    let params = params_of(plan);
    let metrics = metrics_of(&detail, ended);
    for chunk in params.chunks(MAX_PARAMS_PER_BATCH) {
        client.post("mlflow/runs/log-batch", &json!({ "run_id": mlflow_run_id, "params": chunk })).map_err(partial)?;
    }
    for chunk in metrics.chunks(MAX_METRICS_PER_BATCH) {
        client.post("mlflow/runs/log-batch", &json!({ "run_id": mlflow_run_id, "metrics": chunk })).map_err(partial)?;
    }
    let mut model_artifact = None;
    if let Some(hash) = model {
        let path = "model/model.json";
        let bytes = std::fs::read(store.object_path(&hash)).map_err(|source| {
            partial(MirrorError::Store(StoreError::Io { action: "read", path: store.object_path(&hash), source }))
        })?;
        let base = proxied_artifact_path(&artifact_uri).ok_or_else(|| {
            partial(MirrorError::Config(format!(
                "MLflow keeps this run's artifacts at `{artifact_uri}`, which its server does not proxy; start it with \
                 `mlflow server --serve-artifacts` (the default) and no `--default-artifact-root`, or one of the form \
                 `mlflow-artifacts:/…`"
            )))
        })?;
        client.put(&format!("mlflow-artifacts/artifacts/{base}/{path}"), bytes).map_err(partial)?;
        model_artifact = Some(path.to_string());
    }
    let status = match detail.run.status.as_str() {
        "succeeded" => "FINISHED",
        "cancelled" => "KILLED",
        _ => "FAILED",
    };
    finish(status).map_err(partial)?;
    Ok(Mirrored { experiment_id, mlflow_run_id, params: params.len(), metrics: metrics.len(), model_artifact })
}

/// The model to upload: the version the run registered, else the model its first `train` step
/// wrote (or reused).
fn model_object(
    store: &Store,
    connection: &rusqlite::Connection,
    detail: &RunDetail,
) -> Result<Option<String>, StoreError> {
    if let Some(version) = registry::registered_by_run(store, connection, detail.run.id)?.into_iter().next() {
        return Ok(Some(version.model_hash));
    }
    let mut trained: Vec<(&String, &String)> = detail
        .steps
        .iter()
        .filter(|step| step.kind == "train" && matches!(step.status.as_str(), "succeeded" | "cached"))
        .flat_map(|step| {
            step.outputs
                .values()
                .filter(|output| output.kind == "model")
                .map(move |output| (&step.step_id, &output.hash))
        })
        .collect();
    trained.sort();
    Ok(trained.first().map(|(_, hash)| (*hash).clone()))
}

fn millis(time: &str) -> Option<i64> {
    time.parse::<jiff::Timestamp>().ok().map(|time| time.as_millisecond())
}

fn param_text(value: &Json) -> String {
    let text = match value {
        Json::String(text) => text.clone(),
        other => other.to_string(),
    };
    text.chars().take(MAX_PARAM_VALUE_CHARS).collect()
}

/// The plan's params, then each `train` step's XGBoost params as `step/param`, sorted.
fn params_of(plan: &Plan) -> Vec<Json> {
    let mut params: Vec<(String, String)> =
        plan.params.iter().map(|(name, param)| (name.clone(), param_text(&param.value))).collect();
    for step in plan.steps.iter().filter(|step| step.kind == "train") {
        if let Some(Json::Object(xgboost)) = step.params.get("xgboost") {
            params.extend(xgboost.iter().map(|(name, value)| (format!("{}/{name}", step.id), param_text(value))));
        }
    }
    params.sort();
    params.into_iter().map(|(key, value)| json!({ "key": key, "value": value })).collect()
}

/// Every finite metric as `step/metric` (JSON has no NaN or infinity).
fn metrics_of(detail: &RunDetail, timestamp: i64) -> Vec<Json> {
    detail
        .metrics
        .iter()
        .filter(|(_, value)| value.is_finite())
        .map(|(key, value)| json!({ "key": key, "value": value, "timestamp": timestamp, "step": 0 }))
        .collect()
}

/// The path under `mlflow-artifacts/artifacts/` of a run's artifact root, when the server proxies
/// it: `mlflow-artifacts:/1/abc/artifacts`, `mlflow-artifacts://host:5000/1/abc/artifacts` or
/// `http://host:5000/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts`.
pub fn proxied_artifact_path(artifact_uri: &str) -> Option<String> {
    let path = if let Some(rest) = artifact_uri.strip_prefix("mlflow-artifacts:") {
        match rest.strip_prefix("//") {
            Some(authority_and_path) => authority_and_path.split_once('/').map_or("", |(_, path)| path),
            None => rest,
        }
    } else if artifact_uri.starts_with("http://") || artifact_uri.starts_with("https://") {
        artifact_uri.split_once("/api/2.0/mlflow-artifacts/artifacts/")?.1
    } else {
        return None;
    };
    let path = path.trim_matches('/');
    (!path.is_empty() && !path.split('/').any(|segment| segment == "..")).then(|| path.to_string())
}

/// A small MLflow REST client with short timeouts and errors that name the server.
struct Client {
    agent: ureq::Agent,
    uri: String,
    token: Option<String>,
}

impl Client {
    fn new(uri: &str) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .build()
            .into();
        let token = std::env::var("MLFLOW_TRACKING_TOKEN").ok().filter(|token| !token.is_empty());
        Client { agent, uri: uri.to_string(), token }
    }

    fn url(&self, endpoint: &str) -> String {
        format!("{}/api/2.0/{endpoint}", self.uri)
    }

    fn unexpected(&self, endpoint: &str, detail: &str) -> MirrorError {
        MirrorError::Unexpected { uri: self.uri.clone(), endpoint: endpoint.to_string(), detail: detail.to_string() }
    }

    fn authorized<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.token {
            Some(token) => request.header("Authorization", format!("Bearer {token}")),
            None => request,
        }
    }

    fn get(&self, endpoint: &str, query: &[(&str, &str)]) -> Result<Json, MirrorError> {
        let request = self.authorized(self.agent.get(self.url(endpoint))).query_pairs(query.iter().copied());
        self.answer(endpoint, request.call())
    }

    fn post(&self, endpoint: &str, body: &Json) -> Result<Json, MirrorError> {
        let request = self.authorized(self.agent.post(self.url(endpoint)));
        self.answer(endpoint, request.send_json(body))
    }

    fn put(&self, endpoint: &str, bytes: Vec<u8>) -> Result<Json, MirrorError> {
        let request = self
            .authorized(self.agent.put(self.url(endpoint)))
            .header("Content-Type", "application/json")
            .config()
            .timeout_global(Some(Duration::from_secs(120)))
            .build();
        self.answer(endpoint, request.send(bytes))
    }

    /// A 2xx answer's JSON body (`{}` when empty), or an error naming the server and endpoint.
    fn answer(
        &self,
        endpoint: &str,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Json, MirrorError> {
        let mut response =
            result.map_err(|error| MirrorError::Unreachable { uri: self.uri.clone(), reason: reason(&error) })?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|error| MirrorError::Unreachable { uri: self.uri.clone(), reason: reason(&error) })?;
        let body: Json =
            if text.trim().is_empty() { json!({}) } else { serde_json::from_str(&text).unwrap_or(Json::Null) };
        if (200..300).contains(&status) {
            if body.is_null() {
                return Err(self.unexpected(endpoint, &format!("HTTP {status} with a body that is not JSON")));
            }
            return Ok(body);
        }
        let code = body.get("error_code").and_then(Json::as_str).map(|code| format!(": {code}")).unwrap_or_default();
        let message = body
            .get("message")
            .and_then(Json::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| text.trim().chars().take(300).collect());
        Err(MirrorError::Refused { uri: self.uri.clone(), endpoint: endpoint.to_string(), status, code, message })
    }

    /// The id of the experiment named `name`, created when missing.
    fn experiment(&self, name: &str) -> Result<String, MirrorError> {
        let lookup = || -> Result<Option<String>, MirrorError> {
            match self.get("mlflow/experiments/get-by-name", &[("experiment_name", name)]) {
                Ok(found) => {
                    let experiment = found.get("experiment");
                    if experiment.and_then(|experiment| experiment.get("lifecycle_stage")).and_then(Json::as_str)
                        == Some("deleted")
                    {
                        return Err(MirrorError::Config(format!(
                            "MLflow experiment `{name}` is deleted; restore it (`mlflow experiments restore`) or set another `experiment` in the spec"
                        )));
                    }
                    let id = experiment.and_then(|experiment| experiment.get("experiment_id")).and_then(Json::as_str);
                    id.map(|id| Some(id.to_string())).ok_or_else(|| {
                        self.unexpected("mlflow/experiments/get-by-name", "no experiment id in the answer")
                    })
                }
                Err(MirrorError::Refused { code, .. }) if code.contains("RESOURCE_DOES_NOT_EXIST") => Ok(None),
                Err(error) => Err(error),
            }
        };
        if let Some(id) = lookup()? {
            return Ok(id);
        }
        match self.post("mlflow/experiments/create", &json!({ "name": name })) {
            Ok(created) => created
                .get("experiment_id")
                .and_then(Json::as_str)
                .map(str::to_string)
                .ok_or_else(|| self.unexpected("mlflow/experiments/create", "no experiment id in the answer")),
            // Someone created it between the two calls.
            Err(MirrorError::Refused { code, .. }) if code.contains("ALREADY_EXISTS") => {
                lookup()?.ok_or_else(|| self.unexpected("mlflow/experiments/get-by-name", "the experiment vanished"))
            }
            Err(error) => Err(error),
        }
    }
}

/// A transport error in a few words: "connection refused", "no answer within 30s"…
fn reason(error: &ureq::Error) -> String {
    match error {
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
            std::io::ErrorKind::TimedOut => "timed out".to_string(),
            std::io::ErrorKind::ConnectionReset => "the connection was reset".to_string(),
            _ => io.to_string(),
        },
        ureq::Error::Timeout(which) => format!("timed out ({which})"),
        ureq::Error::HostNotFound => "host not found".to_string(),
        ureq::Error::ConnectionFailed => "connection failed".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::proxied_artifact_path;

    #[test]
    fn proxied_artifact_paths_are_found_in_every_uri_form() {
        assert_eq!(proxied_artifact_path("mlflow-artifacts:/1/abc/artifacts").as_deref(), Some("1/abc/artifacts"));
        assert_eq!(
            proxied_artifact_path("mlflow-artifacts://h:5000/1/abc/artifacts").as_deref(),
            Some("1/abc/artifacts")
        );
        assert_eq!(
            proxied_artifact_path("http://h:5000/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/").as_deref(),
            Some("1/abc/artifacts")
        );
        assert_eq!(proxied_artifact_path("/tmp/mlruns/1/abc/artifacts"), None);
        assert_eq!(proxied_artifact_path("s3://bucket/1/abc/artifacts"), None);
        assert_eq!(proxied_artifact_path("mlflow-artifacts:/1/../../etc"), None);
    }
}
