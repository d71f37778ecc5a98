//! Cache keys, and why a step runs: "params changed: xgboost.eta 0.1 → 0.05", "input `data`
//! changed", "data changed: data/customers.csv", "cached".
//!
//! A step's key is its plan fingerprint (kind, resolved params, declared inputs and outputs,
//! mlopsc version) plus the content hash of everything it reads: upstream artifacts, source
//! files (`data:PATH`), code files of custom steps (`code:PATH`) and champion reports
//! (`compare_to.N`).

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::records::PastStep;

/// The cache key of a step with these fingerprint and content hashes.
pub fn cache_key(fingerprint: &str, hashes: &BTreeMap<String, String>) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(fingerprint.as_bytes());
    for (name, hash) in hashes {
        hasher.update(b"\0");
        hasher.update(name.as_bytes());
        hasher.update(b"=");
        hasher.update(hash.as_bytes());
    }
    format!("blake3:{}", hasher.finalize())
}

/// Why a step must run, compared with its last successful run.
pub fn explain(
    fingerprint: &str,
    params_json: &str,
    hashes: &BTreeMap<String, String>,
    past: Option<&PastStep>,
) -> String {
    let Some(past) = past else { return "first run".to_string() };
    let mut reasons = Vec::new();
    if past.fingerprint != fingerprint {
        let changes = param_changes(&past.params_json, params_json);
        if changes.is_empty() {
            reasons.push("step definition changed (inputs, outputs or mlopsc version)".to_string());
        } else {
            reasons.push(format!("params changed: {}", changes.join(", ")));
        }
    }
    let mut changed_inputs = Vec::new();
    let mut changed_data = Vec::new();
    let mut changed_code = Vec::new();
    let names: std::collections::BTreeSet<&String> = hashes.keys().chain(past.inputs.keys()).collect();
    for name in names {
        if hashes.get(name) == past.inputs.get(name) {
            continue;
        }
        if let Some(path) = name.strip_prefix("data:") {
            let what = match (past.inputs.contains_key(name), hashes.contains_key(name)) {
                (false, _) => format!("{path} (new)"),
                (_, false) => format!("{path} (gone)"),
                _ => path.to_string(),
            };
            changed_data.push(what);
        } else if let Some(path) = name.strip_prefix("code:") {
            changed_code.push(path.to_string());
        } else if name.starts_with("compare_to.") {
            changed_inputs.push("the champion model".to_string());
        } else {
            changed_inputs.push(format!("`{name}`"));
        }
    }
    if !changed_data.is_empty() {
        reasons.push(format!("data changed: {}", changed_data.join(", ")));
    }
    if !changed_code.is_empty() {
        reasons.push(format!("code changed: {}", changed_code.join(", ")));
    }
    if !changed_inputs.is_empty() {
        let plural = if changed_inputs.len() == 1 { "" } else { "s" };
        reasons.push(format!("input{plural} {} changed", changed_inputs.join(", ")));
    }
    if reasons.is_empty() {
        // Same key as a past run whose outputs are gone from the store.
        "outputs of the earlier run are no longer in the store".to_string()
    } else {
        reasons.join("; ")
    }
}

/// `path old → new` for every leaf that differs between two params documents.
fn param_changes(old: &str, new: &str) -> Vec<String> {
    let old: Json = serde_json::from_str(old).unwrap_or(Json::Null);
    let new: Json = serde_json::from_str(new).unwrap_or(Json::Null);
    let mut old_leaves = BTreeMap::new();
    let mut new_leaves = BTreeMap::new();
    flatten("", &old, &mut old_leaves);
    flatten("", &new, &mut new_leaves);
    let keys: std::collections::BTreeSet<&String> = old_leaves.keys().chain(new_leaves.keys()).collect();
    keys.into_iter()
        .filter(|key| old_leaves.get(*key) != new_leaves.get(*key))
        .map(|key| {
            let show = |value: Option<&String>| value.cloned().unwrap_or_else(|| "(none)".to_string());
            format!("{key} {} → {}", show(old_leaves.get(key)), show(new_leaves.get(key)))
        })
        .collect()
}

fn flatten(prefix: &str, value: &Json, out: &mut BTreeMap<String, String>) {
    match value {
        Json::Object(map) => {
            for (key, child) in map {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                flatten(&path, child, out);
            }
        }
        Json::Array(items) if items.iter().any(|item| item.is_object() || item.is_array()) => {
            for (index, child) in items.iter().enumerate() {
                flatten(&format!("{prefix}.{index}"), child, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn past(params: &str, inputs: &[(&str, &str)]) -> PastStep {
        PastStep {
            id: 1,
            run_id: 1,
            fingerprint: "blake3:old".to_string(),
            cache_key: String::new(),
            params_json: params.to_string(),
            inputs: inputs.iter().map(|(name, hash)| (name.to_string(), hash.to_string())).collect(),
            outputs: BTreeMap::new(),
            metrics: BTreeMap::new(),
            rows: None,
            data_files: Vec::new(),
        }
    }

    #[test]
    fn explains_param_and_input_changes() {
        let before = past(r#"{"xgboost":{"eta":0.1,"rounds":300}}"#, &[("data", "h1"), ("data:a.csv", "d1")]);
        let hashes: BTreeMap<String, String> =
            [("data".to_string(), "h2".to_string()), ("data:a.csv".to_string(), "d2".to_string())].into();
        let reason = explain("blake3:new", r#"{"xgboost":{"eta":0.05,"rounds":300}}"#, &hashes, Some(&before));
        assert_eq!(reason, "params changed: xgboost.eta 0.1 → 0.05; data changed: a.csv; input `data` changed");
        assert_eq!(explain("f", "{}", &hashes, None), "first run");
    }

    #[test]
    fn keys_change_with_any_content() {
        let one: BTreeMap<String, String> = [("data".to_string(), "h1".to_string())].into();
        let two: BTreeMap<String, String> = [("data".to_string(), "h2".to_string())].into();
        assert_ne!(cache_key("f", &one), cache_key("f", &two));
        assert_eq!(cache_key("f", &one), cache_key("f", &one.clone()));
        assert_ne!(cache_key("f", &one), cache_key("g", &one));
    }
}
