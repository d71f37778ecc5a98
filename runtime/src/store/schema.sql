-- The store's database, version 1. Every write happens in a transaction; the audit log is
-- append-only (triggers refuse updates and deletes).

CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    spec_file TEXT NOT NULL,
    spec_hash TEXT NOT NULL,
    plan_json TEXT NOT NULL,
    params_json TEXT NOT NULL,
    status TEXT NOT NULL,            -- running | succeeded | failed | cancelled
    started_at TEXT NOT NULL,
    finished_at TEXT,
    host TEXT NOT NULL,
    user TEXT NOT NULL,
    mlopsc_version TEXT NOT NULL,
    reproduces INTEGER REFERENCES runs(id),
    command TEXT NOT NULL
);

CREATE TABLE step_runs (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    step_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    cache_key TEXT NOT NULL,
    params_json TEXT NOT NULL,
    status TEXT NOT NULL,            -- succeeded | cached | failed | skipped | cancelled
    reason TEXT NOT NULL,
    cached_from INTEGER REFERENCES step_runs(id),
    started_at TEXT NOT NULL,
    finished_at TEXT,
    duration_ms INTEGER,
    rows INTEGER,
    error TEXT,
    notes_json TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX step_runs_by_key ON step_runs(step_id, cache_key, status);
CREATE INDEX step_runs_by_run ON step_runs(run_id);

CREATE TABLE step_inputs (
    step_run_id INTEGER NOT NULL REFERENCES step_runs(id),
    name TEXT NOT NULL,
    object_hash TEXT NOT NULL,
    PRIMARY KEY (step_run_id, name)
);

CREATE TABLE step_outputs (
    step_run_id INTEGER NOT NULL REFERENCES step_runs(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    object_hash TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    PRIMARY KEY (step_run_id, name)
);

CREATE TABLE data_files (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    step_id TEXT NOT NULL,
    path TEXT NOT NULL,
    hash TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    PRIMARY KEY (run_id, step_id, path)
);

CREATE TABLE metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    step_id TEXT NOT NULL,
    name TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (run_id, step_id, name)
);

CREATE TABLE models (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    step_id TEXT NOT NULL,
    source_model TEXT NOT NULL,
    model_hash TEXT NOT NULL,
    preprocess_hash TEXT,
    evaluation_hash TEXT,
    metrics_json TEXT NOT NULL,
    spec_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE TABLE aliases (
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (name, alias),
    FOREIGN KEY (name, version) REFERENCES models(name, version)
);

CREATE TABLE alias_history (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    version INTEGER NOT NULL,
    previous_version INTEGER,
    changed_at TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    action TEXT NOT NULL            -- register | promote | rollback
);

CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail_json TEXT NOT NULL
);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
