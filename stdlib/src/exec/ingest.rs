//! `ingest`: reads a dataset's source files (CSV, Parquet, NDJSON; globs allowed), reads every
//! value as its declared column type, and writes the table `raw` as Parquet.
//!
//! Files are read in the order of the `paths` param, each glob's matches sorted by path; a
//! file matched twice is read once. Only the declared columns are kept, in declared order;
//! extra columns are reported in the step's notes. A value that cannot be read as its declared
//! type fails the step, naming the file, the column, the row (1-based, counting data rows) and
//! the value.

mod sources;

use std::collections::BTreeMap;

use polars::prelude::*;
use serde::Deserialize;
use serde_json::Value as Json;

pub use sources::source_files;
use sources::{expand, SourceFile};

use super::table::{self, convert, quoted_list, ColumnType, ConvertError, TableFormat};
use super::{FileHash, StepContext, StepError, StepResult};

/// One column of the declared schema, as the plan writes it in the `schema` param.
#[derive(Debug, Clone, Deserialize)]
pub struct DeclaredColumn {
    /// Its name.
    pub name: String,
    /// `int`, `float`, `bool`, `string`, `category`, `date` or `datetime`.
    #[serde(rename = "type")]
    pub ty: String,
    /// Whether it may hold nulls (checked by `validate`, not here).
    #[serde(default)]
    pub nullable: bool,
    /// A category's levels (checked by `validate`).
    #[serde(default)]
    pub levels: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct Params {
    paths: Vec<String>,
    #[serde(default = "auto")]
    format: String,
    #[serde(default = "comma")]
    delimiter: String,
    #[serde(default)]
    schema: Option<Vec<DeclaredColumn>>,
}

fn auto() -> String {
    "auto".to_string()
}

fn comma() -> String {
    ",".to_string()
}

fn params(params: &BTreeMap<String, Json>, step_id: &str) -> Result<Params, StepError> {
    let object = Json::Object(params.iter().map(|(key, value)| (key.clone(), value.clone())).collect());
    serde_json::from_value(object).map_err(|error| {
        StepError::Internal(format!("the params of step `{step_id}` have an unexpected shape: {error}"))
    })
}

/// Runs `ingest`.
pub fn run(ctx: &StepContext) -> Result<StepResult, StepError> {
    let params = params(ctx.params, ctx.step_id)?;
    let delimiter = delimiter(&params.delimiter)?;
    let schema = match &params.schema {
        Some(columns) => Some(declared_types(columns)?),
        None => None,
    };
    let files = expand(&params.paths, ctx.project_dir)?;
    let (rows, ignored, hash) = match write_files(ctx, &params, delimiter, schema.as_deref(), &files, true)? {
        Some(written) => written,
        // A block of lines failed: read every file whole instead, to say which value in which
        // row of the file is wrong.
        None => {
            (ctx.log)(FELL_BACK);
            write_files(ctx, &params, delimiter, schema.as_deref(), &files, false)?
                .ok_or_else(|| StepError::Internal("ingest fell back twice".to_string()))?
        }
    };
    let mut notes = Vec::new();
    if !ignored.is_empty() {
        let columns: Vec<&String> = ignored.keys().collect();
        notes.push(format!(
            "ignored {} column{} not in the schema: {}",
            columns.len(),
            if columns.len() == 1 { "" } else { "s" },
            quoted_list(&columns)
        ));
    }
    let hashes = BTreeMap::from([("raw".to_string(), hash)]);
    Ok(StepResult { rows: Some(rows as u64), notes, hashes, ..StepResult::default() })
}

/// What the step logs when a block of lines fails and the files are read whole.
const FELL_BACK: &str = "a block of lines could not be read; reading the files whole to report it";

/// Columns left out, and the files they were in.
type Ignored = BTreeMap<String, Vec<String>>;

/// Reads every file and writes its rows to the output as soon as they are read: the first
/// file's columns are the table's, and every later file must have the same. With `in_blocks`,
/// a CSV file read with a declared schema is read a block of lines at a time; `None` then
/// says that a block failed (its row numbers would count from the block, not the file) and
/// nothing is reported. Returns the rows written, the columns left out and the output's hash.
fn write_files(
    ctx: &StepContext,
    params: &Params,
    delimiter: u8,
    schema: Option<&[(String, ColumnType)]>,
    files: &[SourceFile],
    in_blocks: bool,
) -> Result<Option<(usize, Ignored, FileHash)>, StepError> {
    let output = ctx.output("raw")?;
    let mut written: Option<(table::ParquetSink, DataFrame, &SourceFile)> = None;
    let mut rows = 0;
    let mut ignored = Ignored::new();
    for file in files {
        ctx.check_cancelled()?;
        let format = format_of(file, &params.format)?;
        let mut file_rows = 0;
        let mut write = |table: DataFrame, ignored: &mut Ignored| -> Result<(), StepError> {
            let table = match schema {
                Some(schema) => {
                    let (table, extra) = conform(table, schema, file)?;
                    for column in extra {
                        let files = ignored.entry(column).or_default();
                        if !files.contains(&file.relative) {
                            files.push(file.relative.clone());
                        }
                    }
                    table
                }
                None => table::normalize_categories(table)?,
            };
            let sink = match &mut written {
                Some((sink, first, first_file)) => {
                    same_columns(first, first_file, &table, file)?;
                    sink
                }
                None => {
                    &mut written.insert((table::ParquetSink::create(output, table.schema())?, table.clear(), file)).0
                }
            };
            sink.push(&table)?;
            file_rows += table.height();
            Ok(())
        };
        let blocks = match (format, schema) {
            (TableFormat::Csv, Some(schema)) if in_blocks => {
                let types = csv_types(schema);
                let mut each = |block: DataFrame| {
                    ctx.check_cancelled()?;
                    write(block, &mut ignored)
                };
                match table::read_csv_typed_blocks(&file.path, delimiter, &types, &mut each) {
                    Ok(blocks) => blocks,
                    Err(StepError::Cancelled) => return Err(StepError::Cancelled),
                    Err(_) => return Ok(None),
                }
            }
            _ => 0,
        };
        if blocks == 0 {
            write(read_file(file, format, delimiter, schema)?, &mut ignored)?;
        }
        (ctx.log)(&format!("read {file_rows} rows from `{}`", file.relative));
        rows += file_rows;
    }
    let Some((sink, ..)) = written else {
        return Err(StepError::Internal("ingest matched no files but did not say so".to_string()));
    };
    let hash = sink.finish()?;
    Ok(Some((rows, ignored, hash)))
}

/// How the declared columns are read from CSV: numbers and text as their types; booleans,
/// dates and datetimes as text, converted by [`conform`], which names a value it cannot read.
fn csv_types(schema: &[(String, ColumnType)]) -> Vec<(String, DataType)> {
    schema
        .iter()
        .map(|(name, ty)| {
            let dtype = match ty {
                ColumnType::Int | ColumnType::Float | ColumnType::String | ColumnType::Category => ty.dtype(),
                ColumnType::Bool | ColumnType::Date | ColumnType::Datetime => DataType::String,
            };
            (name.clone(), dtype)
        })
        .collect()
}

fn delimiter(text: &str) -> Result<u8, StepError> {
    match text.as_bytes() {
        [byte] => Ok(*byte),
        _ if text == "\\t" => Ok(b'\t'),
        _ => Err(StepError::data(format!(
            "the CSV delimiter must be a single ASCII character, found `{}`",
            text.escape_default()
        ))),
    }
}

fn declared_types(columns: &[DeclaredColumn]) -> Result<Vec<(String, ColumnType)>, StepError> {
    columns
        .iter()
        .map(|column| {
            ColumnType::parse(&column.ty).map(|ty| (column.name.clone(), ty)).ok_or_else(|| {
                StepError::Internal(format!("column `{}` has an unknown type `{}`", column.name, column.ty))
            })
        })
        .collect()
}

fn format_of(file: &SourceFile, format: &str) -> Result<TableFormat, StepError> {
    if format == "auto" {
        return TableFormat::from_extension(&file.path).ok_or_else(|| StepError::Data {
            message: format!("cannot tell the format of `{}` from its extension", file.relative),
            details: vec![
                "auto-detection knows .csv, .tsv, .txt, .parquet, .pq, .ndjson and .jsonl".to_string(),
                "set it on the source: format=\"csv\", \"parquet\" or \"ndjson\"".to_string(),
            ],
        });
    }
    TableFormat::from_name(format).ok_or_else(|| {
        StepError::Internal(format!("unknown source format `{format}` (the checker allows only known ones)"))
    })
}

/// Reads one file. With a schema, CSV numbers and text are read as their declared types by
/// polars' own parser, and everything else as text for [`convert`]; if polars refuses a value,
/// the file is read again all as text, so that [`convert`] names the value, its row and
/// column. Without a schema, CSV types are inferred.
fn read_file(
    file: &SourceFile,
    format: TableFormat,
    delimiter: u8,
    schema: Option<&[(String, ColumnType)]>,
) -> Result<DataFrame, StepError> {
    let read = match (format, schema) {
        (TableFormat::Csv, Some(schema)) => table::read_csv_typed(&file.path, delimiter, &csv_types(schema))
            .or_else(|_| table::read_csv_text(&file.path, delimiter)),
        (TableFormat::Csv, None) => table::read_csv(&file.path, delimiter),
        (TableFormat::Parquet, _) => table::read_parquet(&file.path),
        (TableFormat::Ndjson, _) => table::read_ndjson(&file.path),
    };
    // A file that is there but cannot be parsed is the user's data, not our bug.
    read.map_err(|error| match error {
        StepError::Polars { message, .. } => StepError::Data {
            message: format!("cannot read `{}` as {}", file.relative, format.name()),
            details: vec![message],
        },
        other => other,
    })
}

/// Keeps the declared columns, in declared order, each read as its type. Returns the table and
/// the names of the columns left out.
fn conform(
    read: DataFrame,
    schema: &[(String, ColumnType)],
    file: &SourceFile,
) -> Result<(DataFrame, Vec<String>), StepError> {
    let missing: Vec<&str> =
        schema.iter().filter(|(name, _)| read.column(name).is_err()).map(|(name, _)| name.as_str()).collect();
    if !missing.is_empty() {
        let found: Vec<&str> = read.get_column_names().into_iter().map(|name| name.as_str()).collect();
        let plural = if missing.len() == 1 { "" } else { "s" };
        return Err(StepError::Data {
            message: format!("`{}` has no column{plural} {}", file.relative, quoted_list(&missing)),
            details: vec![
                format!(
                    "the schema declares {}",
                    quoted_list(&schema.iter().map(|(name, _)| name).collect::<Vec<_>>())
                ),
                format!(
                    "the file has {}",
                    if found.is_empty() { "no columns".to_string() } else { quoted_list(&found) }
                ),
            ],
        });
    }
    let extra: Vec<String> = read
        .get_column_names()
        .into_iter()
        .filter(|name| !schema.iter().any(|(declared, _)| declared == name.as_str()))
        .map(|name| name.to_string())
        .collect();
    let mut columns = Vec::with_capacity(schema.len());
    for (name, ty) in schema {
        let series = read
            .column(name)
            .map_err(|error| StepError::polars(format!("cannot read column `{name}`"), error))?
            .as_materialized_series();
        let converted = convert(series, *ty).map_err(|error| bad_column(error, name, *ty, series.dtype(), file))?;
        columns.push(converted.into_column());
    }
    let table = DataFrame::new(read.height(), columns)
        .map_err(|error| StepError::polars(format!("cannot assemble the columns of `{}`", file.relative), error))?;
    Ok((table, extra))
}

fn bad_column(error: ConvertError, column: &str, ty: ColumnType, dtype: &DataType, file: &SourceFile) -> StepError {
    match error {
        ConvertError::BadValue(bad) => {
            let mut details = Vec::new();
            if bad.count > 1 {
                let others = bad.count - 1;
                let plural = if others == 1 { "" } else { "s" };
                details.push(format!("{others} more value{plural} in this column cannot be read as {}", ty.name()));
            }
            details.push(format!("the dataset's schema declares `{column}` as `{}`", ty.name()));
            StepError::Data {
                message: format!(
                    "`{}`, column `{column}`, row {}: `{}` is not {}",
                    file.relative,
                    bad.row + 1,
                    bad.value,
                    ty.with_article()
                ),
                details,
            }
        }
        ConvertError::Unsupported(found) => StepError::Data {
            message: format!(
                "`{}`, column `{column}`: values of type {found} cannot be read as {}",
                file.relative,
                ty.with_article()
            ),
            details: vec![format!("the dataset's schema declares `{column}` as `{}`", ty.name())],
        },
        ConvertError::Polars(error) => StepError::polars(
            format!("cannot read column `{column}` ({dtype}) of `{}` as {}", file.relative, ty.name()),
            error,
        ),
    }
}

/// Fails unless `table` (read from `file`) has the columns, and column types, of `first`.
fn same_columns(
    first: &DataFrame,
    first_file: &SourceFile,
    table: &DataFrame,
    file: &SourceFile,
) -> Result<(), StepError> {
    if table.schema() == first.schema() {
        return Ok(());
    }
    Err(StepError::Data {
        message: format!("`{}` does not have the columns of `{}`", file.relative, first_file.relative),
        details: vec![
            format!("`{}`: {}", first_file.relative, describe_schema(first)),
            format!("`{}`: {}", file.relative, describe_schema(table)),
            "declare a schema on the dataset so every file is read the same way".to_string(),
        ],
    })
}

fn describe_schema(table: &DataFrame) -> String {
    table.columns().iter().map(|column| format!("{} {}", column.name(), column.dtype())).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests;
