//! The contract of a packaged model's service: the JSON Schema (draft 2020-12) of one
//! prediction request row, and the OpenAPI 3.1 document of `POST /predict` and `GET /health`.
//!
//! A request row holds the raw input columns the model's transform chain starts from (the
//! `input_schema` of its `preprocess` document, label excluded): `int` columns are JSON
//! integers, `float` numbers, `bool` booleans, `string` strings, `category` one of its levels,
//! `date` and `datetime` strings in ISO 8601. Nullable columns accept `null` and may be left
//! out; unknown fields are refused, so a misspelt column is a 4xx, not a silent missing value.
//!
//! `POST /predict` takes one row or a non-empty array of rows and answers one prediction or an
//! array of them, in order: `{"prediction": label, "probability": p}` for a binary model
//! (the probability of the positive class), `{"prediction": label, "probabilities":
//! {class: p}}` for a multiclass one, `{"prediction": x}` for regression.

use serde_json::{json, Map, Value as Json};

use crate::exec::train::preprocess::{Preprocess, SchemaColumn};

const JSON_SCHEMA_DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// The JSON Schema of one request row.
pub(crate) fn request_row_schema(name: &str, version: &str, preprocess: &Preprocess) -> Json {
    let columns: Vec<&SchemaColumn> =
        preprocess.input_schema.iter().filter(|column| column.name != preprocess.label).collect();
    let properties: Map<String, Json> =
        columns.iter().map(|column| (column.name.clone(), column_schema(column))).collect();
    let required: Vec<&str> =
        columns.iter().filter(|column| !column.nullable).map(|column| column.name.as_str()).collect();
    json!({
        "$schema": JSON_SCHEMA_DIALECT,
        "title": format!("a prediction request row for {name} version {version}"),
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

fn column_schema(column: &SchemaColumn) -> Json {
    let (json_type, format) = match column.ty.as_str() {
        "int" => ("integer", None),
        "float" => ("number", None),
        "bool" => ("boolean", None),
        "date" => ("string", Some("date")),
        "datetime" => ("string", Some("date-time")),
        _ => ("string", None),
    };
    let mut schema = Map::new();
    schema.insert("type".to_string(), if column.nullable { json!([json_type, "null"]) } else { json!(json_type) });
    if let Some(format) = format {
        schema.insert("format".to_string(), json!(format));
    }
    if let Some(levels) = &column.levels {
        let mut values: Vec<Json> = levels.iter().cloned().map(Json::String).collect();
        if column.nullable {
            values.push(Json::Null);
        }
        schema.insert("enum".to_string(), Json::Array(values));
    }
    Json::Object(schema)
}

/// The JSON Schema of one prediction.
fn prediction_schema(preprocess: &Preprocess) -> Json {
    let class_schema = json!({"enum": preprocess.classes});
    match preprocess.task.as_str() {
        "binary" => json!({
            "type": "object",
            "properties": {
                "prediction": class_schema,
                "probability": {"type": "number", "minimum": 0, "maximum": 1,
                                "description": "the probability of the positive class"},
            },
            "required": ["prediction", "probability"],
        }),
        "multiclass" => {
            let classes: Map<String, Json> = preprocess
                .classes
                .iter()
                .map(|class| {
                    let key = class.as_str().map_or_else(|| class.to_string(), str::to_string);
                    (key, json!({"type": "number", "minimum": 0, "maximum": 1}))
                })
                .collect();
            json!({
                "type": "object",
                "properties": {
                    "prediction": class_schema,
                    "probabilities": {"type": "object", "properties": classes, "additionalProperties": false},
                },
                "required": ["prediction", "probabilities"],
            })
        }
        _ => json!({
            "type": "object",
            "properties": {"prediction": {"type": "number"}},
            "required": ["prediction"],
        }),
    }
}

/// The OpenAPI 3.1 document of the model's service.
pub(crate) fn document(name: &str, version: &str, preprocess: &Preprocess, row_schema: &Json) -> Json {
    let mut row = row_schema.clone();
    if let Some(object) = row.as_object_mut() {
        object.remove("$schema");
    }
    let one_or_many = |schema: &str| {
        json!({"oneOf": [
            {"$ref": format!("#/components/schemas/{schema}")},
            {"type": "array", "minItems": 1, "items": {"$ref": format!("#/components/schemas/{schema}")}},
        ]})
    };
    let error_response = |description: &str| {
        json!({"description": description,
               "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
    };
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": JSON_SCHEMA_DIALECT,
        "info": {
            "title": name,
            "version": version,
            "description": format!(
                "Predictions of `{label}` ({task}) by model {name} version {version}, served by mlopsc.",
                label = preprocess.label,
                task = preprocess.task
            ),
        },
        "paths": {
            "/predict": {"post": {
                "operationId": "predict",
                "summary": "predict one row, or an array of rows",
                "requestBody": {"required": true, "content": {"application/json": {"schema": one_or_many("Row")}}},
                "responses": {
                    "200": {"description": "one prediction per row, in order",
                            "content": {"application/json": {"schema": one_or_many("Prediction")}}},
                    "400": error_response("the body is not JSON, or a row does not match the schema"),
                    "413": error_response("more rows than the service accepts at once"),
                },
            }},
            "/health": {"get": {
                "operationId": "health",
                "summary": "whether the service is ready",
                "responses": {"200": {"description": "ready",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}},
            }},
        },
        "components": {"schemas": {
            "Row": row,
            "Prediction": prediction_schema(preprocess),
            "Health": {
                "type": "object",
                "properties": {"status": {"const": "ok"}, "model": {"type": "string"}, "version": {"type": "string"}},
                "required": ["status"],
            },
            "Error": {
                "type": "object",
                "properties": {"error": {"type": "string"}, "details": {"type": "array", "items": {"type": "string"}}},
                "required": ["error"],
            },
        }},
    })
}
