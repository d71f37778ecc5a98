//! The model registry: versions, aliases with history, and the audit log.
//!
//! A version is added by a `register` step once its gates passed; `promote` and `rollback`
//! move aliases. Every change is one transaction that also appends to the audit log, so a
//! killed process never leaves a half-registered model. Version numbers are taken inside an
//! immediate (write-locked) transaction, so concurrent registrations get distinct numbers.
//!
//! Alias semantics: `alias_history` records every move. Registering or promoting pushes a
//! version onto the alias's stack; `rollback` pops the current one and points the alias at the
//! version below it. Rolling back twice after `1 → 2 → 3` gives 2, then 1; a third rollback is
//! refused. Promoting a version to the alias that already points at it writes nothing.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use serde_json::json;

use crate::records::{actor, now};
use crate::store::{Store, StoreError};

/// A registered model version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelVersion {
    /// Registry name.
    pub name: String,
    /// Version number, from 1.
    pub version: i64,
    /// The run that produced it.
    pub run_id: i64,
    /// The register step.
    pub step_id: String,
    /// The `train` model it came from.
    pub source_model: String,
    /// The XGBoost JSON model object.
    pub model_hash: String,
    /// The preprocessing (fitted transforms, features) object.
    pub preprocess_hash: Option<String>,
    /// The evaluation report object.
    pub evaluation_hash: Option<String>,
    /// Metrics at registration.
    pub metrics: serde_json::Value,
    /// The spec it was built from.
    pub spec_hash: String,
    /// When.
    pub created_at: String,
    /// By whom.
    pub created_by: String,
    /// Aliases pointing at it now.
    pub aliases: Vec<String>,
}

/// One change of an alias.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AliasChange {
    /// The alias.
    pub alias: String,
    /// The version it points to after the change.
    pub version: i64,
    /// The version before.
    pub previous_version: Option<i64>,
    /// When.
    pub changed_at: String,
    /// By whom.
    pub changed_by: String,
    /// `register`, `promote` or `rollback`.
    pub action: String,
}

/// What a new version is made of.
#[derive(Debug, Clone)]
pub struct NewVersion<'a> {
    /// Registry name.
    pub name: &'a str,
    /// The run.
    pub run_id: i64,
    /// The register step.
    pub step_id: &'a str,
    /// The `train` model.
    pub source_model: &'a str,
    /// Model object.
    pub model_hash: &'a str,
    /// Preprocess object.
    pub preprocess_hash: Option<&'a str>,
    /// Evaluation report object.
    pub evaluation_hash: Option<&'a str>,
    /// Metrics.
    pub metrics: serde_json::Value,
    /// Spec hash.
    pub spec_hash: &'a str,
    /// Alias set on registration.
    pub alias: &'a str,
}

fn audit(
    transaction: &Connection,
    action: &str,
    subject: &str,
    detail: serde_json::Value,
) -> Result<(), rusqlite::Error> {
    transaction.execute(
        "INSERT INTO audit (at, actor, action, subject, detail_json) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![now(), actor(), action, subject, detail.to_string()],
    )?;
    Ok(())
}

fn set_alias(
    transaction: &Connection,
    name: &str,
    alias: &str,
    version: i64,
    action: &str,
) -> Result<Option<i64>, rusqlite::Error> {
    let previous: Option<i64> = transaction
        .query_row("SELECT version FROM aliases WHERE name = ?1 AND alias = ?2", params![name, alias], |row| row.get(0))
        .optional()?;
    transaction.execute(
        "INSERT INTO aliases (name, alias, version) VALUES (?1, ?2, ?3)
         ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version",
        params![name, alias, version],
    )?;
    transaction.execute(
        "INSERT INTO alias_history (name, alias, version, previous_version, changed_at, changed_by, action)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![name, alias, version, previous, now(), actor(), action],
    )?;
    Ok(previous)
}

/// Adds a version and points its alias at it, in one transaction. Returns the version number.
pub fn register(store: &Store, connection: &mut Connection, new: &NewVersion) -> Result<i64, StoreError> {
    let db = |source| store.db_error(source);
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
    let version: i64 = transaction
        .query_row("SELECT COALESCE(MAX(version), 0) + 1 FROM models WHERE name = ?1", params![new.name], |row| {
            row.get(0)
        })
        .map_err(db)?;
    transaction
        .execute(
            "INSERT INTO models (name, version, run_id, step_id, source_model, model_hash, preprocess_hash, evaluation_hash,
                                 metrics_json, spec_hash, created_at, created_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                new.name,
                version,
                new.run_id,
                new.step_id,
                new.source_model,
                new.model_hash,
                new.preprocess_hash,
                new.evaluation_hash,
                new.metrics.to_string(),
                new.spec_hash,
                now(),
                actor()
            ],
        )
        .map_err(db)?;
    set_alias(&transaction, new.name, new.alias, version, "register").map_err(db)?;
    audit(
        &transaction,
        "register",
        &format!("{}@{version}", new.name),
        json!({ "run": new.run_id, "alias": new.alias, "model": new.model_hash, "metrics": new.metrics }),
    )
    .map_err(db)?;
    transaction.commit().map_err(db)?;
    Ok(version)
}

/// `name@alias`, `name@VERSION` or `name` (latest) → the version it means now.
pub fn resolve(store: &Store, connection: &Connection, reference: &str) -> Result<Option<ModelVersion>, StoreError> {
    let (name, selector) = reference.split_once('@').unwrap_or((reference, "latest"));
    let db = |source| store.db_error(source);
    let version: Option<i64> = if let Ok(number) = selector.parse::<i64>() {
        Some(number)
    } else if selector == "latest" {
        connection
            .query_row("SELECT MAX(version) FROM models WHERE name = ?1", params![name], |row| row.get(0))
            .map_err(db)?
    } else {
        connection
            .query_row("SELECT version FROM aliases WHERE name = ?1 AND alias = ?2", params![name, selector], |row| {
                row.get(0)
            })
            .optional()
            .map_err(db)?
    };
    match version {
        Some(version) => show(store, connection, name, version),
        None => Ok(None),
    }
}

/// One version with its aliases.
pub fn show(
    store: &Store,
    connection: &Connection,
    name: &str,
    version: i64,
) -> Result<Option<ModelVersion>, StoreError> {
    let db = |source| store.db_error(source);
    let found = connection
        .query_row(
            "SELECT run_id, step_id, source_model, model_hash, preprocess_hash, evaluation_hash, metrics_json, spec_hash,
                    created_at, created_by
             FROM models WHERE name = ?1 AND version = ?2",
            params![name, version],
            |row| {
                Ok(ModelVersion {
                    name: name.to_string(),
                    version,
                    run_id: row.get(0)?,
                    step_id: row.get(1)?,
                    source_model: row.get(2)?,
                    model_hash: row.get(3)?,
                    preprocess_hash: row.get(4)?,
                    evaluation_hash: row.get(5)?,
                    metrics: serde_json::from_str(&row.get::<_, String>(6)?).unwrap_or(serde_json::Value::Null),
                    spec_hash: row.get(7)?,
                    created_at: row.get(8)?,
                    created_by: row.get(9)?,
                    aliases: Vec::new(),
                })
            },
        )
        .optional()
        .map_err(db)?;
    let Some(mut found) = found else { return Ok(None) };
    let mut statement =
        connection.prepare("SELECT alias FROM aliases WHERE name = ?1 AND version = ?2 ORDER BY alias").map_err(db)?;
    found.aliases = statement
        .query_map(params![name, version], |row| row.get(0))
        .map_err(db)?
        .collect::<Result<Vec<String>, _>>()
        .map_err(db)?;
    Ok(Some(found))
}

/// Every version of every model (or of one), newest first within a name.
pub fn list(store: &Store, connection: &Connection, name: Option<&str>) -> Result<Vec<ModelVersion>, StoreError> {
    versions_where(
        store,
        connection,
        "SELECT name, version FROM models WHERE (?1 IS NULL OR name = ?1) ORDER BY name, version DESC",
        params![name],
    )
}

/// The versions the query (selecting `name, version`) finds, in its order.
fn versions_where(
    store: &Store,
    connection: &Connection,
    query: &str,
    arguments: impl rusqlite::Params,
) -> Result<Vec<ModelVersion>, StoreError> {
    let db = |source| store.db_error(source);
    let mut statement = connection.prepare(query).map_err(db)?;
    let keys = statement
        .query_map(arguments, |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    let mut versions = Vec::new();
    for (name, version) in keys {
        if let Some(found) = show(store, connection, &name, version)? {
            versions.push(found);
        }
    }
    Ok(versions)
}

/// The history of every alias of a model, oldest first.
pub fn alias_history(store: &Store, connection: &Connection, name: &str) -> Result<Vec<AliasChange>, StoreError> {
    let db = |source| store.db_error(source);
    let mut statement = connection
        .prepare(
            "SELECT alias, version, previous_version, changed_at, changed_by, action FROM alias_history
             WHERE name = ?1 ORDER BY id",
        )
        .map_err(db)?;
    let changes = statement
        .query_map(params![name], |row| {
            Ok(AliasChange {
                alias: row.get(0)?,
                version: row.get(1)?,
                previous_version: row.get(2)?,
                changed_at: row.get(3)?,
                changed_by: row.get(4)?,
                action: row.get(5)?,
            })
        })
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    Ok(changes)
}

/// An alias moved by [`promote`] or [`rollback`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AliasMove {
    /// The model.
    pub name: String,
    /// The alias.
    pub alias: String,
    /// The version it pointed to before, if any.
    pub from: Option<i64>,
    /// The version it points to now.
    pub to: i64,
}

impl AliasMove {
    /// Whether the alias already pointed at the version (nothing was written).
    pub fn unchanged(&self) -> bool {
        self.from == Some(self.to)
    }
}

/// Refuses alias names that [`resolve`] would read as something else (`latest`, a number).
fn check_alias(alias: &str) -> Result<(), StoreError> {
    let valid_chars = alias.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if alias.is_empty() || !valid_chars || alias == "latest" || alias.parse::<i64>().is_ok() {
        return Err(StoreError::Conflict(format!(
            "`{alias}` cannot be an alias: use letters, digits, `-`, `_` or `.`, not a number and not `latest`"
        )));
    }
    Ok(())
}

/// Points `alias` at `version` (which must exist). Promoting a version to the alias that already
/// points at it changes nothing and writes nothing.
pub fn promote(
    store: &Store,
    connection: &mut Connection,
    name: &str,
    version: i64,
    alias: &str,
) -> Result<AliasMove, StoreError> {
    check_alias(alias)?;
    let db = |source| store.db_error(source);
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
    let exists: bool = transaction
        .query_row("SELECT COUNT(*) > 0 FROM models WHERE name = ?1 AND version = ?2", params![name, version], |row| {
            row.get(0)
        })
        .map_err(db)?;
    if !exists {
        return Err(not_found(&transaction, name, &version.to_string()).map_err(db)?);
    }
    let current = current_version(&transaction, name, alias).map_err(db)?;
    if current == Some(version) {
        return Ok(AliasMove { name: name.to_string(), alias: alias.to_string(), from: current, to: version });
    }
    let previous = set_alias(&transaction, name, alias, version, "promote").map_err(db)?;
    audit(&transaction, "promote", &format!("{name}@{version}"), json!({ "alias": alias, "previous": previous }))
        .map_err(db)?;
    transaction.commit().map_err(db)?;
    Ok(AliasMove { name: name.to_string(), alias: alias.to_string(), from: previous, to: version })
}

/// The versions `alias` has pointed to, oldest first, with every rolled-back state removed:
/// the stack [`rollback`] walks down. Registering or promoting pushes a version; a rollback pops
/// the current one. So after `1 → 2 → 3`, two rollbacks give 2 and then 1 (not 2, 3, 2…), and a
/// promotion after a rollback starts from the state rolled back to.
pub fn alias_stack(changes: &[AliasChange], alias: &str) -> Vec<i64> {
    let mut stack: Vec<i64> = Vec::new();
    for change in changes.iter().filter(|change| change.alias == alias) {
        if change.action == "rollback" {
            stack.pop();
        }
        // After a pop the rollback's target is normally on top already; a history written
        // otherwise (by hand, or by an older mlopsc) is trusted as it stands.
        if stack.last() != Some(&change.version) {
            stack.push(change.version);
        }
    }
    stack
}

/// Points `alias` back at the version it pointed to before the current one, following the
/// alias's history as a stack (see [`alias_stack`]): each rollback goes one state further back.
pub fn rollback(store: &Store, connection: &mut Connection, name: &str, alias: &str) -> Result<AliasMove, StoreError> {
    let db = |source| store.db_error(source);
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
    let Some(from) = current_version(&transaction, name, alias).map_err(db)? else {
        return Err(not_found(&transaction, name, alias).map_err(db)?);
    };
    let history = alias_history(store, &transaction, name)?;
    let mut stack = alias_stack(&history, alias);
    if stack.last() == Some(&from) {
        stack.pop();
    }
    let Some(&to) = stack.last() else {
        return Err(StoreError::Conflict(format!(
            "`{name}@{alias}` has no earlier version to roll back to (it points at version {from}, and nothing before it)"
        )));
    };
    set_alias(&transaction, name, alias, to, "rollback").map_err(db)?;
    audit(&transaction, "rollback", &format!("{name}@{alias}"), json!({ "from": from, "to": to })).map_err(db)?;
    transaction.commit().map_err(db)?;
    Ok(AliasMove { name: name.to_string(), alias: alias.to_string(), from: Some(from), to })
}

fn current_version(connection: &Connection, name: &str, alias: &str) -> Result<Option<i64>, rusqlite::Error> {
    connection
        .query_row("SELECT version FROM aliases WHERE name = ?1 AND alias = ?2", params![name, alias], |row| row.get(0))
        .optional()
}

/// "model `x` has no version 4 (its versions are 1–3)", "model `x` has no alias `prod` (its
/// aliases are production, staging)", or "there is no model `x` (the models are a, b)".
fn not_found(connection: &Connection, name: &str, selector: &str) -> Result<StoreError, rusqlite::Error> {
    let versions: Option<i64> =
        connection.query_row("SELECT MAX(version) FROM models WHERE name = ?1", params![name], |row| row.get(0))?;
    let message = match versions {
        None => {
            let mut statement = connection.prepare("SELECT DISTINCT name FROM models ORDER BY name")?;
            let names = statement.query_map([], |row| row.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
            if names.is_empty() {
                format!("there is no model `{name}`: nothing is registered in this store yet")
            } else {
                format!("there is no model `{name}`; the registered models are {}", names.join(", "))
            }
        }
        Some(latest) if selector.parse::<i64>().is_ok() => {
            format!("model `{name}` has no version {selector} (its versions are 1 to {latest})")
        }
        Some(_) => {
            let mut statement = connection.prepare("SELECT alias FROM aliases WHERE name = ?1 ORDER BY alias")?;
            let aliases =
                statement.query_map(params![name], |row| row.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
            let known = if aliases.is_empty() {
                "it has none".to_string()
            } else {
                format!("its aliases are {}", aliases.join(", "))
            };
            format!("model `{name}` has no alias `{selector}` ({known})")
        }
    };
    Ok(StoreError::NotFound(message))
}

/// Like [`resolve`], but a reference that names nothing is a [`StoreError::NotFound`] saying
/// which versions or aliases exist.
pub fn resolve_existing(store: &Store, connection: &Connection, reference: &str) -> Result<ModelVersion, StoreError> {
    if let Some(found) = resolve(store, connection, reference)? {
        return Ok(found);
    }
    let (name, selector) = reference.split_once('@').unwrap_or((reference, "latest"));
    Err(not_found(connection, name, selector).map_err(|source| store.db_error(source))?)
}

/// One registered model: its versions and where its aliases point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSummary {
    /// Registry name.
    pub name: String,
    /// How many versions it has.
    pub versions: i64,
    /// Its newest version.
    pub latest: i64,
    /// Alias → version.
    pub aliases: BTreeMap<String, i64>,
    /// The newest version's metrics at registration.
    pub latest_metrics: serde_json::Value,
    /// When the newest version was registered.
    pub updated_at: String,
}

/// Every registered model, by name.
pub fn models(store: &Store, connection: &Connection) -> Result<Vec<ModelSummary>, StoreError> {
    let db = |source| store.db_error(source);
    let mut statement = connection
        .prepare("SELECT name, COUNT(*), MAX(version) FROM models GROUP BY name ORDER BY name")
        .map_err(db)?;
    let rows = statement
        .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?, row.get::<_, i64>(2)?)))
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    let mut summaries = Vec::new();
    for (name, versions, latest) in rows {
        let Some(newest) = show(store, connection, &name, latest)? else { continue };
        let mut statement = connection.prepare("SELECT alias, version FROM aliases WHERE name = ?1").map_err(db)?;
        let aliases = statement
            .query_map(params![name], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(db)?
            .collect::<Result<BTreeMap<String, i64>, _>>()
            .map_err(db)?;
        summaries.push(ModelSummary {
            name,
            versions,
            latest,
            aliases,
            latest_metrics: newest.metrics,
            updated_at: newest.created_at,
        });
    }
    Ok(summaries)
}

/// The versions a run registered.
pub fn registered_by_run(store: &Store, connection: &Connection, run_id: i64) -> Result<Vec<ModelVersion>, StoreError> {
    versions_where(
        store,
        connection,
        "SELECT name, version FROM models WHERE run_id = ?1 ORDER BY name, version",
        params![run_id],
    )
}

/// One entry of the append-only audit log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// `register`, `promote` or `rollback`.
    pub action: String,
    /// `name@version` or `name@alias`.
    pub subject: String,
    /// What changed.
    pub detail: serde_json::Value,
}

/// Audit entries about one model (every subject `name@…`), oldest first.
pub fn audit_log(store: &Store, connection: &Connection, name: &str) -> Result<Vec<AuditEntry>, StoreError> {
    let db = |source| store.db_error(source);
    let mut statement = connection
        .prepare(
            "SELECT at, actor, action, subject, detail_json FROM audit WHERE substr(subject, 1, ?1) = ?2 ORDER BY id",
        )
        .map_err(db)?;
    let prefix = format!("{name}@");
    let entries = statement
        .query_map(params![prefix.chars().count() as i64, prefix], |row| {
            Ok(AuditEntry {
                at: row.get(0)?,
                actor: row.get(1)?,
                action: row.get(2)?,
                subject: row.get(3)?,
                detail: serde_json::from_str(&row.get::<_, String>(4)?).unwrap_or(serde_json::Value::Null),
            })
        })
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{begin, register as add_version, temp_store};

    fn moves(store: &Store, name: &str) -> Vec<(String, String, Option<i64>, i64)> {
        let connection = store.connect().expect("connect");
        alias_history(store, &connection, name)
            .expect("history")
            .into_iter()
            .map(|change| (change.action, change.alias, change.previous_version, change.version))
            .collect()
    }

    #[test]
    fn rollback_walks_back_through_the_history_instead_of_flip_flopping() {
        let (_dir, store) = temp_store();
        let run = begin(&store, "{}", "{}");
        for _ in 0..3 {
            add_version(&store, run, "churn", "staging");
        }
        let mut connection = store.connect().expect("connect");
        for version in 1..=3 {
            let moved = promote(&store, &mut connection, "churn", version, "production").expect("promote");
            assert_eq!(moved.to, version);
            assert_eq!(moved.from, (version > 1).then_some(version - 1));
        }
        let first = rollback(&store, &mut connection, "churn", "production").expect("first rollback");
        assert_eq!((first.from, first.to), (Some(3), 2));
        let second = rollback(&store, &mut connection, "churn", "production").expect("second rollback");
        assert_eq!((second.from, second.to), (Some(2), 1), "a second rollback goes further back");
        let third = rollback(&store, &mut connection, "churn", "production").expect_err("nothing before version 1");
        assert!(third.to_string().contains("no earlier version"), "{third}");

        // A promotion after rollbacks starts from the state rolled back to.
        promote(&store, &mut connection, "churn", 3, "production").expect("promote again");
        let back = rollback(&store, &mut connection, "churn", "production").expect("rollback after promote");
        assert_eq!((back.from, back.to), (Some(3), 1));

        // Aliases are independent: staging rolls back from 3 to 2.
        let staging = rollback(&store, &mut connection, "churn", "staging").expect("staging rollback");
        assert_eq!((staging.from, staging.to), (Some(3), 2));

        let production: Vec<_> =
            moves(&store, "churn").into_iter().filter(|(_, alias, _, _)| alias == "production").collect();
        let expected = [
            ("promote", None, 1),
            ("promote", Some(1), 2),
            ("promote", Some(2), 3),
            ("rollback", Some(3), 2),
            ("rollback", Some(2), 1),
            ("promote", Some(1), 3),
            ("rollback", Some(3), 1),
        ];
        let found: Vec<_> = production.iter().map(|(action, _, from, to)| (action.as_str(), *from, *to)).collect();
        assert_eq!(found, expected);
        let audit = audit_log(&store, &connection, "churn").expect("audit");
        let actions: Vec<&str> = audit.iter().map(|entry| entry.action.as_str()).collect();
        assert_eq!(actions.iter().filter(|action| **action == "register").count(), 3);
        assert_eq!(actions.iter().filter(|action| **action == "promote").count(), 4);
        assert_eq!(actions.iter().filter(|action| **action == "rollback").count(), 4);
    }

    #[test]
    fn the_alias_stack_replays_any_history() {
        let change = |action: &str, version: i64| AliasChange {
            alias: "production".to_string(),
            version,
            previous_version: None,
            changed_at: String::new(),
            changed_by: String::new(),
            action: action.to_string(),
        };
        let history = [change("promote", 1), change("promote", 2), change("promote", 3), change("rollback", 2)];
        assert_eq!(alias_stack(&history, "production"), vec![1, 2]);
        assert_eq!(alias_stack(&history, "staging"), Vec::<i64>::new());
        // A flip-flop written by an older mlopsc: 1, 2, back to 1, "back" to 2.
        let old = [change("register", 1), change("promote", 2), change("rollback", 1), change("rollback", 2)];
        assert_eq!(alias_stack(&old, "production"), vec![2]);
    }

    #[test]
    fn promoting_to_the_current_alias_changes_nothing_and_bad_references_say_what_exists() {
        let (_dir, store) = temp_store();
        let run = begin(&store, "{}", "{}");
        add_version(&store, run, "churn", "staging");
        add_version(&store, run, "churn", "staging");
        let mut connection = store.connect().expect("connect");
        let before = moves(&store, "churn").len();
        let moved = promote(&store, &mut connection, "churn", 2, "staging").expect("promote");
        assert!(moved.unchanged());
        assert_eq!(moves(&store, "churn").len(), before, "no history entry for a no-op");

        let missing = promote(&store, &mut connection, "churn", 9, "production").expect_err("no version 9");
        assert_eq!(missing.to_string(), "model `churn` has no version 9 (its versions are 1 to 2)");
        for alias in ["latest", "7", "", "a b"] {
            assert!(promote(&store, &mut connection, "churn", 1, alias).is_err(), "alias `{alias}` refused");
        }
        let unknown = resolve_existing(&store, &connection, "churn@prod").expect_err("no alias prod");
        assert_eq!(unknown.to_string(), "model `churn` has no alias `prod` (its aliases are staging)");
        let nobody = resolve_existing(&store, &connection, "fraud@1").expect_err("no model fraud");
        assert_eq!(nobody.to_string(), "there is no model `fraud`; the registered models are churn");
        let never = rollback(&store, &mut connection, "churn", "production").expect_err("production never set");
        assert!(never.to_string().contains("has no alias `production`"), "{never}");
    }

    #[test]
    fn concurrent_registrations_get_distinct_versions() {
        let (_dir, store) = temp_store();
        let run = begin(&store, "{}", "{}");
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || {
                    (0..10).map(|_| add_version(&store, run, "churn", "staging")).collect::<Vec<_>>()
                })
            })
            .collect();
        let mut versions: Vec<i64> = threads.into_iter().flat_map(|thread| thread.join().expect("thread")).collect();
        versions.sort_unstable();
        assert_eq!(versions, (1..=20).collect::<Vec<_>>());
        let connection = store.connect().expect("connect");
        let summary = models(&store, &connection).expect("models");
        assert_eq!(summary.len(), 1);
        assert_eq!((summary[0].versions, summary[0].latest), (20, 20));
        assert_eq!(summary[0].aliases, BTreeMap::from([("staging".to_string(), 20)]));
        assert_eq!(alias_stack(&alias_history(&store, &connection, "churn").expect("history"), "staging").len(), 20);
    }
}
