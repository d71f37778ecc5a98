//! The source files of a dataset: `paths` (files or globs, relative to the project folder)
//! expanded into a deterministic list, and hashed for cache keys and data versioning.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use serde_json::Value as Json;

use crate::exec::{DataFile, StepError};

/// A matched source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceFile {
    /// As the user sees it: relative to the project folder, `/`-separated.
    pub relative: String,
    /// Where it is.
    pub path: PathBuf,
}

/// The files an `ingest` step reads (from its `paths` param), each with the `blake3:` hash and
/// size of its bytes, in reading order. The runtime records them for data versioning and
/// puts the hashes into the step's cache key.
pub fn source_files(params: &BTreeMap<String, Json>, project_dir: &Path) -> Result<Vec<DataFile>, StepError> {
    let paths: Vec<String> = params
        .get("paths")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|error| StepError::Internal(format!("the `paths` param of an ingest step is malformed: {error}")))?
        .unwrap_or_default();
    expand(&paths, project_dir)?.into_iter().map(|file| hash(&file)).collect()
}

fn hash(file: &SourceFile) -> Result<DataFile, StepError> {
    let hashed = crate::exec::hash_file(&file.path).map_err(|source| StepError::Io {
        action: "read",
        path: file.path.clone(),
        source,
    })?;
    Ok(DataFile { path: file.relative.clone(), hash: hashed.hash, bytes: hashed.bytes })
}

fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// Expands `patterns` in order; each glob's matches are sorted; a file matched twice is kept
/// at its first place. A plain path that does not exist, or a glob that matches no file, is an
/// error naming it.
pub(crate) fn expand(patterns: &[String], project_dir: &Path) -> Result<Vec<SourceFile>, StepError> {
    if patterns.is_empty() {
        return Err(StepError::Internal("an ingest step has no `paths`".to_string()));
    }
    let mut files = Vec::new();
    let mut seen = BTreeSet::new();
    for pattern in patterns {
        let matched =
            if is_glob(pattern) { glob_files(pattern, project_dir)? } else { plain_file(pattern, project_dir)? };
        for path in matched {
            if seen.insert(path.clone()) {
                files.push(SourceFile { relative: relative(&path, project_dir), path });
            }
        }
    }
    Ok(files)
}

fn plain_file(pattern: &str, project_dir: &Path) -> Result<Vec<PathBuf>, StepError> {
    let path = project_dir.join(pattern);
    match std::fs::metadata(&path) {
        Ok(metadata) if metadata.is_file() => Ok(vec![path]),
        Ok(_) => Err(StepError::Data {
            message: format!("source `{pattern}` is a folder, not a file"),
            details: vec![format!("to read every file in it, write a glob such as `{pattern}/*.csv`")],
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(StepError::Data {
            message: format!("source file `{pattern}` does not exist"),
            details: vec![format!("looked for {}", path.display())],
        }),
        Err(source) => Err(StepError::Io { action: "read", path, source }),
    }
}

fn glob_files(pattern: &str, project_dir: &Path) -> Result<Vec<PathBuf>, StepError> {
    let full = if Path::new(pattern).is_absolute() {
        pattern.to_string()
    } else {
        // The project folder is taken literally: brackets or stars in its name are no pattern.
        let base = glob::Pattern::escape(&project_dir.to_string_lossy());
        format!("{}/{pattern}", base.trim_end_matches('/'))
    };
    let options =
        glob::MatchOptions { case_sensitive: true, require_literal_separator: true, require_literal_leading_dot: true };
    let entries = glob::glob_with(&full, options).map_err(|error| StepError::Data {
        message: format!("source `{pattern}` is not a valid glob: {}", error.msg),
        details: vec![format!("at character {}", error.pos + 1)],
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|error| {
            let path = error.path().to_path_buf();
            StepError::Io { action: "read", path, source: error.into() }
        })?;
        if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(StepError::Data {
            message: format!("no file matches source `{pattern}`"),
            details: vec![format!("looked in {}", project_dir.display())],
        });
    }
    Ok(files)
}

/// `path` relative to the project folder with `/` separators, or as it is when it lies elsewhere.
fn relative(path: &Path, project_dir: &Path) -> String {
    let inside = path.strip_prefix(project_dir).unwrap_or(path);
    let parts: Vec<String> = inside
        .components()
        .filter(|component| !matches!(component, Component::CurDir))
        .map(|component| component.as_os_str().to_string_lossy().into_owned())
        .collect();
    if inside.is_absolute() {
        inside.display().to_string()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, relative: &str, bytes: &[u8]) {
        let path = dir.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    fn names(files: &[SourceFile]) -> Vec<&str> {
        files.iter().map(|file| file.relative.as_str()).collect()
    }

    #[test]
    fn globs_expand_sorted_in_pattern_order_without_repeats() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["data/b.csv", "data/a.csv", "data/sub/c.csv", "data/x.parquet", "extra/z.csv"] {
            touch(dir.path(), name, b"x\n1\n");
        }
        let patterns = ["extra/z.csv", "data/*.csv", "data/a.csv", "data/**/*.csv"].map(String::from);
        let files = expand(&patterns, dir.path()).unwrap();
        assert_eq!(names(&files), ["extra/z.csv", "data/a.csv", "data/b.csv", "data/sub/c.csv"]);
    }

    #[test]
    fn missing_files_and_empty_globs_are_named() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "data/a.csv", b"x\n");
        let missing = expand(&["data/nope.csv".to_string()], dir.path()).unwrap_err();
        assert_eq!(missing.to_string(), "source file `data/nope.csv` does not exist");
        let empty = expand(&["data/*.parquet".to_string()], dir.path()).unwrap_err();
        assert_eq!(empty.to_string(), "no file matches source `data/*.parquet`");
        let folder = expand(&["data".to_string()], dir.path()).unwrap_err();
        assert_eq!(folder.to_string(), "source `data` is a folder, not a file");
        let invalid = expand(&["data/[.csv".to_string()], dir.path()).unwrap_err();
        assert!(invalid.to_string().starts_with("source `data/[.csv` is not a valid glob"), "{invalid}");
    }

    #[test]
    fn source_files_hash_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "data/a.csv", b"x\n1\n");
        touch(dir.path(), "data/b.csv", b"x\n2\n");
        let params = BTreeMap::from([("paths".to_string(), serde_json::json!(["data/*.csv"]))]);
        let files = source_files(&params, dir.path()).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].path, "data/a.csv");
        assert_eq!(files[0].bytes, 4);
        assert_eq!(files[0].hash, format!("blake3:{}", blake3::hash(b"x\n1\n").to_hex()));
        assert_ne!(files[0].hash, files[1].hash);
    }
}
