//! The store: content-addressed artifacts on disk and an SQLite database of runs, step runs,
//! metrics, data versions, the registry and the audit log.
//!
//! Layout of a store folder (`.mlops/` beside the spec by default):
//!
//! ```text
//! .mlops/
//!   mlops.db            SQLite (WAL): see schema.sql
//!   objects/ab/cdef…    immutable artifacts named by the blake3 hash of their bytes
//!   tmp/                outputs being written; renamed into objects/ when complete
//! ```
//!
//! Artifacts are written to `tmp/`, hashed, synced and renamed into `objects/`, so a killed
//! process never leaves a partial object under a valid name. Database writes are transactions,
//! and SQLite's locking makes concurrent `mlopsc run`s on one store safe.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The database connection [`Store::connect`] returns, re-exported so callers can name it
/// without depending on SQLite themselves.
pub use rusqlite::Connection;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file or folder of the store could not be used.
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The database refused an operation.
    #[error("store database `{path}`: {source}")]
    Database {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The database was written by a newer mlopsc.
    #[error("store `{path}` has schema version {found}, newer than this mlopsc understands ({supported})")]
    TooNew {
        /// The store folder.
        path: PathBuf,
        /// Its version.
        found: i64,
        /// Ours.
        supported: i64,
    },
    /// Something the caller asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A request that conflicts with the store's state.
    #[error("{0}")]
    Conflict(String),
}

const SCHEMA_VERSION: i64 = 1;
const SCHEMA: &str = include_str!("schema.sql");

/// An object in the store: the `blake3:` hash of its bytes, which names it, and its size.
pub type ObjectRef = mlops_stdlib::exec::FileHash;

/// An opened store folder.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// How long a connection waits for other processes' writes before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

impl Store {
    /// Opens (creating when needed) the store at `root`, and brings its database up to date.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        for dir in [root.to_path_buf(), root.join("objects"), root.join("tmp")] {
            std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io { action: "create", path: dir, source })?;
        }
        let store = Store { root: root.to_path_buf() };
        let connection = store.connect()?;
        let version: i64 = connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(|source| store.db_error(source))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNew { path: root.to_path_buf(), found: version, supported: SCHEMA_VERSION });
        }
        if version < SCHEMA_VERSION {
            // BEGIN IMMEDIATE: two processes opening a new store at once create it once.
            connection
                .execute_batch(&format!("BEGIN IMMEDIATE; {SCHEMA}\nPRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"))
                .or_else(|error| {
                    let _ = connection.execute_batch("ROLLBACK");
                    let now: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap_or(0);
                    if now == SCHEMA_VERSION {
                        Ok(())
                    } else {
                        Err(error)
                    }
                })
                .map_err(|source| store.db_error(source))?;
        }
        Ok(store)
    }

    /// The store folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn db_path(&self) -> PathBuf {
        self.root.join("mlops.db")
    }

    /// Wraps an SQLite error with the database path.
    pub fn db_error(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Database { path: self.db_path(), source }
    }

    /// A new connection: WAL journal, foreign keys on, waits up to a minute for other writers.
    pub fn connect(&self) -> Result<Connection, StoreError> {
        let connection = Connection::open(self.db_path()).map_err(|source| self.db_error(source))?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(|source| self.db_error(source))?;
        // Turning the write-ahead log on (once, for a new database) takes the database for
        // itself, and SQLite answers "database is locked" at once, without its busy wait, to a
        // connection doing it while another one does: so that is waited for here.
        let started = std::time::Instant::now();
        loop {
            match connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get::<_, String>(0)) {
                Ok(_) => break,
                Err(rusqlite::Error::SqliteFailure(error, _))
                    if error.code == rusqlite::ErrorCode::DatabaseBusy && started.elapsed() < BUSY_TIMEOUT =>
                {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(source) => return Err(self.db_error(source)),
            }
        }
        connection
            .execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")
            .map_err(|source| self.db_error(source))?;
        Ok(connection)
    }

    /// Where the object with this hash lives.
    pub fn object_path(&self, hash: &str) -> PathBuf {
        let hex = hash.strip_prefix("blake3:").unwrap_or(hash);
        let (prefix, rest) = hex.split_at(hex.len().min(2));
        self.root.join("objects").join(prefix).join(rest)
    }

    /// Whether the object exists.
    pub fn has(&self, hash: &str) -> bool {
        self.object_path(hash).is_file()
    }

    /// A fresh folder under `tmp/` for outputs being written; removed when dropped.
    pub fn scratch(&self) -> Result<tempfile::TempDir, StoreError> {
        self.scratch_named("step-")
    }

    /// Like [`Store::scratch`], for a step of run `run_id`: named after the run, so that what a
    /// killed run leaves behind can be found and removed once the run is known to be dead
    /// ([`Store::remove_run_scratch`]).
    pub fn scratch_for_run(&self, run_id: i64) -> Result<tempfile::TempDir, StoreError> {
        self.scratch_named(&run_scratch_prefix(run_id))
    }

    fn scratch_named(&self, prefix: &str) -> Result<tempfile::TempDir, StoreError> {
        let tmp = self.root.join("tmp");
        tempfile::Builder::new().prefix(prefix).tempdir_in(&tmp).map_err(|source| StoreError::Io {
            action: "create a folder in",
            path: tmp,
            source,
        })
    }

    /// Removes the scratch folders of run `run_id`, which must be dead: a killed process
    /// cannot remove its own. Best effort: a folder that cannot be removed is left for the next
    /// time.
    pub fn remove_run_scratch(&self, run_id: i64) {
        let prefix = run_scratch_prefix(run_id);
        let Ok(entries) = std::fs::read_dir(self.root.join("tmp")) else { return };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }

    /// Moves a finished file into the store under its hash and returns the reference. The file
    /// must be on the store's filesystem (write it under [`Store::scratch`]).
    pub fn put(&self, path: &Path) -> Result<ObjectRef, StoreError> {
        let hashed = hash_file(path)?;
        self.put_as(path, hashed)
    }

    /// Like [`Store::put`], for a file whose hash its writer took as it wrote it. The file is
    /// hashed again if its size is not the one given.
    pub fn put_hashed(&self, path: &Path, hashed: &ObjectRef) -> Result<ObjectRef, StoreError> {
        let size = std::fs::metadata(path)
            .map_err(|source| StoreError::Io { action: "read", path: path.to_path_buf(), source })?
            .len();
        if size != hashed.bytes {
            return self.put(path);
        }
        self.put_as(path, hashed.clone())
    }

    fn put_as(&self, path: &Path, object: ObjectRef) -> Result<ObjectRef, StoreError> {
        let ObjectRef { hash, bytes } = object;
        let target = self.object_path(&hash);
        if target.is_file() {
            let _ = std::fs::remove_file(path);
            return Ok(ObjectRef { hash, bytes });
        }
        let parent = target.parent().unwrap_or(&self.root).to_path_buf();
        std::fs::create_dir_all(&parent).map_err(|source| StoreError::Io { action: "create", path: parent, source })?;
        File::open(path).and_then(|file| file.sync_all()).map_err(|source| StoreError::Io {
            action: "sync",
            path: path.to_path_buf(),
            source,
        })?;
        std::fs::rename(path, &target).map_err(|source| StoreError::Io {
            action: "move into the store",
            path: target.clone(),
            source,
        })?;
        Ok(ObjectRef { hash, bytes })
    }

    /// Copies an outside file into the store (for `--input` files and reproductions).
    pub fn put_copy(&self, path: &Path) -> Result<ObjectRef, StoreError> {
        let scratch = self.scratch()?;
        let copy = scratch.path().join("copy");
        std::fs::copy(path, &copy).map_err(|source| StoreError::Io {
            action: "copy",
            path: path.to_path_buf(),
            source,
        })?;
        self.put(&copy)
    }
}

/// How the scratch folders of a run's steps are named: `run-7-` and a random suffix.
fn run_scratch_prefix(run_id: i64) -> String {
    format!("run-{run_id}-")
}

/// The `blake3:` hash and size of a file.
pub fn hash_file(path: &Path) -> Result<ObjectRef, StoreError> {
    mlops_stdlib::exec::hash_file(path).map_err(|source| StoreError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_content_addressed_and_deduplicated() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join(".mlops")).expect("store opens");
        let scratch = store.scratch().expect("scratch");
        let first = scratch.path().join("a");
        std::fs::write(&first, b"hello").expect("write");
        let object = store.put(&first).expect("put");
        assert_eq!(object.bytes, 5);
        assert!(store.has(&object.hash));
        assert!(!first.exists(), "the temporary file was moved");
        let second = scratch.path().join("b");
        std::fs::write(&second, b"hello").expect("write");
        assert_eq!(store.put(&second).expect("put").hash, object.hash);
        assert_eq!(std::fs::read(store.object_path(&object.hash)).expect("read"), b"hello");
    }

    #[test]
    fn connections_opening_a_new_store_at_once_all_get_it() {
        // The first connection to a new database turns on its write-ahead log, and SQLite
        // answers "database is locked" at once, without waiting, to another connection doing
        // the same meanwhile: two `mlopsc run`s started together on a new store failed so.
        for _ in 0..100 {
            let dir = tempfile::tempdir().expect("temp dir");
            let root = dir.path().join(".mlops");
            let opened: Vec<Result<(), String>> = std::thread::scope(|scope| {
                let openers: Vec<_> = (0..8)
                    .map(|_| {
                        scope.spawn(|| {
                            let store = Store::open(&root).map_err(|error| error.to_string())?;
                            store.connect().map(drop).map_err(|error| error.to_string())
                        })
                    })
                    .collect();
                openers.into_iter().map(|opener| opener.join().expect("no panic")).collect()
            });
            for result in opened {
                result.expect("the store opens");
            }
        }
    }

    #[test]
    fn reopening_keeps_the_schema_and_the_audit_log_is_append_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join(".mlops");
        Store::open(&root).expect("first open");
        let store = Store::open(&root).expect("second open");
        let connection = store.connect().expect("connect");
        connection
            .execute(
                "INSERT INTO audit (at, actor, action, subject, detail_json) VALUES ('t', 'a', 'x', 's', '{}')",
                [],
            )
            .expect("insert");
        assert!(connection.execute("DELETE FROM audit", []).is_err());
        assert!(connection.execute("UPDATE audit SET actor = 'b'", []).is_err());
    }
}
