//! Reading and writing tables: Parquet for artifacts, CSV/Parquet/NDJSON for files users and
//! custom steps bring, and the small conversions every table step shares.
//!
//! Every artifact table is written by [`write_parquet`] (or a [`ParquetSink`]) with fixed
//! settings (uncompressed pages, row groups of a fixed size, fixed encodings, no statistics),
//! so the same rows give the same bytes on any machine and with any number of threads.
//! Uncompressed, because an artifact is written once and read by the next step on the same
//! disk: compressing took more time than anything else in the data steps (zstd more than LZ4),
//! and the tables are mostly floats, which compress little (a 1M-row benchmark's artifacts are
//! 308 MB uncompressed, 228 MB with LZ4). Text and integers are dictionary-encoded and nulls
//! run-length encoded, as polars does; floats are written plain, without the cardinality
//! estimate polars takes of every float column to decide, since measured values are nearly
//! all distinct. No min/max statistics either: nothing reads an artifact by ranges of values,
//! and computing them is one more pass over every column. Category columns are
//! stored as plain `String` columns: their levels live in the plan's schema, not in the file,
//! which keeps the files readable by any tool and keeps one representation across all steps.

mod column_type;
mod csv_block;
mod int_pages;
#[cfg(test)]
pub(crate) mod testing;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;

use polars::prelude::*;
use polars_core::runtime::RAYON;
use polars_parquet::parquet::error::ParquetError;
use polars_parquet::write::{
    array_to_columns, CompressedPage, CompressionOptions, Compressor, Encoding, ParquetType, StatisticsOptions,
    Version, WriteOptions,
};
use rayon::prelude::*;
use serde_json::Value as Json;

pub(crate) use column_type::{convert, format_date, parse_date, parse_datetime, ConvertError};
pub use column_type::{BadValue, ColumnType};

use super::{FileHash, StepError};

/// Rows per Parquet row group; fixed so the layout never depends on how the table was built.
const ROW_GROUP_SIZE: usize = 128 * 1024;

/// Reads a Parquet file, a row group at a time: the file is mapped into memory one row group
/// at a time, not whole beside the table it decodes into.
pub fn read_parquet(path: &Path) -> Result<DataFrame, StepError> {
    let mut groups = row_groups(path)?.into_iter();
    let Some((offset, rows)) = groups.next() else {
        return ParquetReader::new(open(path)?).finish().map_err(unreadable_parquet(path));
    };
    let mut table = read_parquet_slice(path, offset, rows)?;
    for (offset, rows) in groups {
        let part = read_parquet_slice(path, offset, rows)?;
        table.vstack_mut_owned(part).map_err(unreadable_parquet(path))?;
    }
    Ok(table)
}

/// How a failure to read the Parquet file at `path` is reported.
fn unreadable_parquet(path: &Path) -> impl FnOnce(PolarsError) -> StepError + '_ {
    move |error| StepError::polars(format!("cannot read `{}` as Parquet", path.display()), error)
}

/// The column names of a Parquet file, in order, without reading its data.
pub fn parquet_column_names(path: &Path) -> Result<Vec<String>, StepError> {
    let schema = ParquetReader::new(open(path)?).schema().map_err(unreadable_parquet(path))?;
    Ok(schema.iter_names().map(|name| name.to_string()).collect())
}

/// Reads some columns of a Parquet file (all of them must be there).
pub fn read_parquet_columns(path: &Path, columns: &[String]) -> Result<DataFrame, StepError> {
    ParquetReader::new(open(path)?).with_columns(Some(columns.to_vec())).finish().map_err(unreadable_parquet(path))
}

/// The schema of a Parquet file as polars reads it (category columns as text, as
/// [`normalize_categories`] makes them), without reading its data.
pub fn parquet_schema(path: &Path) -> Result<Schema, StepError> {
    let empty = read_parquet_slice(path, 0, 0)?;
    Ok(normalize_categories(empty)?.schema().as_ref().clone())
}

/// The number of rows of a Parquet file, from its footer.
pub fn parquet_row_count(path: &Path) -> Result<usize, StepError> {
    ParquetReader::new(open(path)?).num_rows().map_err(unreadable_parquet(path))
}

/// Reads `rows` rows of a Parquet file from row `offset` on (fewer at the end of the file).
/// Slices of [`ROW_GROUP_SIZE`] rows at its multiples read one row group of an artifact.
pub fn read_parquet_slice(path: &Path, offset: usize, rows: usize) -> Result<DataFrame, StepError> {
    ParquetReader::new(open(path)?).with_slice(Some((offset, rows))).finish().map_err(unreadable_parquet(path))
}

/// The row groups of a Parquet file, from its footer: (first row, rows) each, in order. The
/// slices [`read_parquet_slice`] reads one row group at a time, whoever wrote the file.
pub fn row_groups(path: &Path) -> Result<Vec<(usize, usize)>, StepError> {
    let metadata = ParquetReader::new(open(path)?).get_metadata().map_err(unreadable_parquet(path))?.clone();
    let mut offset = 0;
    Ok(metadata
        .row_groups
        .iter()
        .map(|group| {
            let range = (offset, group.num_rows());
            offset += group.num_rows();
            range
        })
        .filter(|(_, rows)| *rows > 0)
        .collect())
}

/// Writes `table` as Parquet, deterministically: the same rows give the same bytes. Returns
/// the file's hash, taken as it was written.
pub fn write_parquet(table: &DataFrame, path: &Path) -> Result<FileHash, StepError> {
    let mut sink = ParquetSink::create(path, table.schema())?;
    sink.push(table)?;
    sink.finish()
}

/// A Parquet file written a part at a time. Whatever the parts' sizes, it is laid out in row
/// groups of exactly [`ROW_GROUP_SIZE`] rows (the last one shorter), each written as soon as
/// it is complete: the same rows give the same bytes however they are handed over, and
/// writing holds about one row group in memory, never a second copy of the table.
///
/// Row groups are encoded on polars' thread pool and written by a thread of the sink's own,
/// which hashes the bytes and sends them on to the disk while the caller makes the next row
/// group: the step's thread no longer waits for the file.
pub struct ParquetSink {
    path: std::path::PathBuf,
    /// Encoded row groups on their way to the writing thread (at most one waits).
    groups: Option<std::sync::mpsc::SyncSender<Written>>,
    /// The writing thread; it returns the file's hash.
    writing: Option<std::thread::JoinHandle<Result<FileHash, StepError>>>,
    /// The file's Parquet columns.
    fields: Vec<ParquetType>,
    /// How each column's values are encoded, as the writer would choose.
    encodings: Vec<Vec<Encoding>>,
    /// Rows handed over but not written yet, fewer than a row group.
    pending: Option<DataFrame>,
}

/// What the writing thread of a [`ParquetSink`] is handed.
enum Written {
    /// A row group: its rows and its columns' pages.
    Group(u64, Vec<Vec<CompressedPage>>),
    /// The end of the file: write the footer.
    Footer,
}

impl std::fmt::Debug for ParquetSink {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("ParquetSink").field("path", &self.path).finish_non_exhaustive()
    }
}

/// The page options of every artifact: uncompressed, without statistics.
fn write_options() -> WriteOptions {
    WriteOptions {
        statistics: StatisticsOptions::empty(),
        version: Version::V1,
        compression: CompressionOptions::Uncompressed,
        data_page_size: None,
    }
}

impl ParquetSink {
    /// Starts the file at `path` for rows of `schema`.
    pub fn create(path: &Path, schema: &Schema) -> Result<ParquetSink, StepError> {
        let arrow = schema.to_arrow(CompatLevel::newest());
        let encodings = polars::io::parquet::write::get_encodings(&arrow)
            .iter()
            .zip(schema.iter_values())
            .map(|(encoding, dtype)| if dtype.is_float() { vec![Encoding::Plain] } else { encoding.clone() })
            .collect();
        let hashed = Arc::new(Mutex::new(blake3::Hasher::new()));
        let file = create(path)?;
        let flusher = Flusher::start(&file, path)?;
        let file = HashingFile { file, hashed: Arc::clone(&hashed) };
        let mut writer = ParquetWriter::new(BufWriter::with_capacity(1 << 20, file))
            .with_compression(ParquetCompression::Uncompressed)
            .with_statistics(write_options().statistics)
            .batched(schema)
            .map_err(|error| Self::failed(path, error))?;
        let fields = writer.parquet_schema().fields().to_vec();
        let (groups, received) = std::sync::mpsc::sync_channel(1);
        let target = path.to_path_buf();
        let writing = std::thread::Builder::new()
            .name("parquet-writer".to_string())
            .spawn(move || write_groups(writer, flusher, &hashed, &received, &target))
            .map_err(|source| StepError::Io { action: "write", path: path.to_path_buf(), source })?;
        Ok(ParquetSink {
            path: path.to_path_buf(),
            groups: Some(groups),
            writing: Some(writing),
            fields,
            encodings,
            pending: None,
        })
    }

    fn failed(path: &Path, error: PolarsError) -> StepError {
        StepError::polars(format!("cannot write `{}` as Parquet", path.display()), error)
    }

    /// Adds `part`'s rows after the rows already handed over.
    pub fn push(&mut self, part: &DataFrame) -> Result<(), StepError> {
        let mut rows = match self.pending.take() {
            Some(mut pending) => {
                pending.vstack_mut(part).map_err(|error| Self::failed(&self.path, error))?;
                pending
            }
            None => part.clone(),
        };
        while rows.height() >= ROW_GROUP_SIZE {
            self.write_group(rows.slice(0, ROW_GROUP_SIZE))?;
            rows = rows.slice(ROW_GROUP_SIZE as i64, usize::MAX);
        }
        self.pending = (rows.height() > 0).then_some(rows);
        Ok(())
    }

    /// Encodes the columns of a row group in parallel (the writer's own `write_batch` encodes
    /// on the calling thread, as it writes), then writes them. A column whose rows came in
    /// several chunks is joined into one on the same thread that encodes it.
    fn write_group(&mut self, group: DataFrame) -> Result<(), StepError> {
        let rows = group.height() as u64;
        let fields = self.fields.clone();
        let encodings = &self.encodings;
        let columns = RAYON
            .install(|| {
                group
                    .columns()
                    .par_iter()
                    .zip(fields)
                    .zip(encodings.par_iter())
                    .map(|((column, field), encoding)| {
                        let series = column.as_materialized_series().rechunk();
                        encode_column(&series.to_arrow(0, CompatLevel::newest()), field, encoding)
                    })
                    .collect::<PolarsResult<Vec<_>>>()
            })
            .map_err(|error| Self::failed(&self.path, error))?;
        let columns: Vec<Vec<CompressedPage>> = columns.into_iter().flatten().collect();
        self.send(Written::Group(rows, columns))
    }

    /// Hands the writing thread a row group or the footer; when it has stopped, fails with
    /// the error that stopped it.
    fn send(&mut self, written: Written) -> Result<(), StepError> {
        if self.groups.as_ref().is_some_and(|groups| groups.send(written).is_ok()) {
            return Ok(());
        }
        Err(self.join().err().unwrap_or_else(|| StepError::Internal("a Parquet writer stopped early".to_string())))
    }

    /// Waits for the writing thread to end; returns the file's hash.
    fn join(&mut self) -> Result<FileHash, StepError> {
        self.groups = None;
        match self.writing.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(StepError::Internal("a Parquet writer panicked".to_string())),
            None => Err(StepError::Internal("a Parquet writer stopped early".to_string())),
        }
    }

    /// Writes the rows still pending and the file's footer. Returns the file's hash, taken as
    /// it was written, so that the runtime need not read the file again to store it.
    pub fn finish(mut self) -> Result<FileHash, StepError> {
        if let Some(rows) = self.pending.take() {
            self.write_group(rows)?;
        }
        self.send(Written::Footer)?;
        self.join()
    }
}

impl Drop for ParquetSink {
    fn drop(&mut self) {
        // A sink dropped unfinished (its step failed) waits for its thread, which stops
        // without a footer: the file is incomplete, and the runtime discards it.
        let _ = self.join();
    }
}

/// The writing thread of a [`ParquetSink`]: writes each row group it is handed (the file
/// hashes the bytes into `hashed` as they go) and asks for them to be sent on to the disk,
/// then the footer. Returns the file's hash, once every byte reached the file.
fn write_groups(
    mut writer: polars::io::parquet::write::BatchedWriter<BufWriter<HashingFile>>,
    mut flusher: Flusher,
    hashed: &Mutex<blake3::Hasher>,
    received: &std::sync::mpsc::Receiver<Written>,
    path: &Path,
) -> Result<FileHash, StepError> {
    let io_error = |source| StepError::Io { action: "write", path: path.to_path_buf(), source };
    for written in received {
        match written {
            Written::Group(rows, columns) => {
                writer.write_row_group(rows, &columns).map_err(|error| ParquetSink::failed(path, error))?;
                flusher.flush();
            }
            Written::Footer => {
                let size = writer.finish().map_err(|error| ParquetSink::failed(path, error))?;
                // Dropping the writer flushes its buffer, and would swallow an error doing it:
                // the file's size on disk says whether every byte got there.
                drop(writer);
                flusher.finish().map_err(io_error)?;
                let written = std::fs::metadata(path).map_err(io_error)?.len();
                if written != size {
                    return Err(io_error(std::io::Error::other(format!("{written} of {size} bytes reached the disk"))));
                }
                let hashed = hashed.lock().map_err(|_| StepError::Internal("a Parquet writer panicked".to_string()))?;
                if hashed.count() != size {
                    return Err(StepError::Internal(format!("hashed {} of the {size} bytes written", hashed.count())));
                }
                return Ok(FileHash { hash: format!("blake3:{}", hashed.finalize().to_hex()), bytes: size });
            }
        }
    }
    Err(StepError::Internal(format!("`{}` was left without its footer", path.display())))
}

/// Sends a file's written bytes on to the disk from a thread of its own while the writer goes
/// on, so that the store's `fsync` of the finished artifact waits for little more than its last
/// row group instead of all of it: the kernel would otherwise start writing a step's artifacts
/// only when asked to sync them, and at 1M rows that wait was most of the time between two steps.
struct Flusher {
    requests: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Flusher {
    fn start(file: &File, path: &Path) -> Result<Flusher, StepError> {
        let file =
            file.try_clone().map_err(|source| StepError::Io { action: "write", path: path.to_path_buf(), source })?;
        let (requests, received) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("flush".to_string())
            .spawn(move || {
                while received.recv().is_ok() {
                    // Requests that came in meanwhile are covered by this one.
                    while received.try_recv().is_ok() {}
                    file.sync_data()?;
                }
                Ok(())
            })
            .map_err(|source| StepError::Io { action: "write", path: path.to_path_buf(), source })?;
        Ok(Flusher { requests: Some(requests), thread: Some(thread) })
    }

    /// Asks for what has reached the file so far to go to the disk; returns at once.
    fn flush(&self) {
        if let Some(requests) = &self.requests {
            let _ = requests.send(());
        }
    }

    /// Waits for the flushes asked for; fails with the first error the disk reported.
    fn finish(&mut self) -> std::io::Result<()> {
        self.requests = None;
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(std::io::Error::other("the thread writing to the disk panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        // A sink dropped unfinished (its step failed) still waits for its thread.
        let _ = self.finish();
    }
}

impl std::fmt::Debug for Flusher {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Flusher").finish_non_exhaustive()
    }
}

/// A file that hashes the bytes written to it, as they are written.
struct HashingFile {
    file: File,
    hashed: Arc<Mutex<blake3::Hasher>>,
}

impl Write for HashingFile {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let written = self.file.write(bytes)?;
        let mut hashed = self.hashed.lock().map_err(|_| std::io::Error::other("a Parquet writer panicked"))?;
        hashed.update(&bytes[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// One column of a row group as the pages of each of its Parquet leaf columns (passed through
/// the compressor, which only frames them when there is no compression). Integer columns that
/// take a dictionary are encoded by [`int_pages`], everything else by polars.
fn encode_column(
    array: &ArrayRef,
    field: ParquetType,
    encoding: &[Encoding],
) -> PolarsResult<Vec<Vec<CompressedPage>>> {
    let options = write_options();
    let compress = |pages: Box<dyn Iterator<Item = Result<_, ParquetError>> + '_>| {
        Compressor::new(pages, options.compression, Vec::new()).map(|page| page.map_err(PolarsError::from)).collect()
    };
    if let (ParquetType::PrimitiveType(primitive), [Encoding::RleDictionary]) = (&field, encoding) {
        if let Some(pages) = int_pages::pages(array.as_ref(), primitive) {
            return Ok(vec![compress(Box::new(pages.into_iter().map(Ok)))?]);
        }
    }
    array_to_columns(array, field, options, encoding)?
        .into_iter()
        .map(|pages| {
            // The encoder's errors pass through the compressor as Parquet errors, as in polars.
            compress(Box::new(
                pages.map(|page| page.map_err(|error| ParquetError::FeatureNotSupported(error.to_string()))),
            ))
        })
        .collect()
}

/// Reads a CSV file with a header, inferring column types from all its rows.
pub fn read_csv(path: &Path, delimiter: u8) -> Result<DataFrame, StepError> {
    read_csv_with(path, delimiter, None)
}

/// Reads a CSV file with a header, every column as text, so that the caller decides how each
/// value is read and can say which value in which row is wrong.
pub fn read_csv_text(path: &Path, delimiter: u8) -> Result<DataFrame, StepError> {
    read_csv_with(path, delimiter, Some(0))
}

/// Reads a CSV file with a header, the columns of `types` as those types and every other
/// column as text. Fails on the first value polars cannot read as its type, without saying
/// which: the caller falls back to [`read_csv_text`] to name it.
pub fn read_csv_typed(path: &Path, delimiter: u8, types: &[(String, DataType)]) -> Result<DataFrame, StepError> {
    read_csv_options(path, csv_options(delimiter, Some(0)).with_schema_overwrite(Some(typed_schema(types))))
}

/// The columns of `types` as a schema for the CSV reader to overwrite its guesses with.
fn typed_schema(types: &[(String, DataType)]) -> SchemaRef {
    Arc::new(types.iter().map(|(name, dtype)| Field::new(name.as_str().into(), dtype.clone())).collect())
}

/// Bytes of a CSV file [`read_csv_typed_blocks`] parses at once: about this many, whole lines.
/// Tiny in unit tests, so that their small files cross block boundaries.
const CSV_BLOCK: usize = if cfg!(test) { 64 } else { 8 << 20 };

/// Blocks [`read_csv_typed_blocks`] parses at once, one a core.
const CSV_BLOCKS_AT_ONCE: usize = 2;

/// Reads a CSV file like [`read_csv_typed`], a block of whole lines at a time (each parsed
/// with the header line in front), handing each block's rows to `each` in order, so that the
/// file's table is never whole in memory. A line break inside a quoted field never ends a
/// block. Returns the number of blocks (0 for a file without data lines). Fails like
/// [`read_csv_typed`], or with `each`'s error.
///
/// The file is memory-mapped: the blocks are parsed where the kernel keeps the file's pages,
/// without copying them into buffers first. Like any mapped file, one truncated by another
/// program while it is read stops the process (SIGBUS).
pub fn read_csv_typed_blocks(
    path: &Path,
    delimiter: u8,
    types: &[(String, DataType)],
    each: &mut dyn FnMut(DataFrame) -> Result<(), StepError>,
) -> Result<usize, StepError> {
    let schema = typed_schema(types);
    let file = open(path)?;
    let failed = |source| StepError::Io { action: "read", path: path.to_path_buf(), source };
    // An empty file maps to no bytes.
    let mapped = polars_utils::mmap::MMapSemaphore::new_from_file(&file)
        .map_err(|error| failed(std::io::Error::other(error.to_string())))?;
    let bytes: &[u8] = mapped.as_ref();
    // The header line; a file without one has no data lines.
    let Some(header_end) = line_ends(bytes).next() else { return Ok(0) };
    let header = &bytes[..header_end];
    let mut blocks = 0;
    let mut pending: Vec<&[u8]> = Vec::with_capacity(CSV_BLOCKS_AT_ONCE);
    let mut at = header_end;
    let mut size = CSV_BLOCK;
    while at < bytes.len() {
        let end = (at + size).min(bytes.len());
        let cut = if end == bytes.len() {
            end
        } else {
            // A block ends after its last whole line; a line longer than a block doubles it.
            match last_line_end(&bytes[at..end]) {
                Some(length) => at + length,
                None => {
                    size *= 2;
                    continue;
                }
            }
        };
        let block = &bytes[at..cut];
        at = cut;
        size = CSV_BLOCK;
        if block.iter().all(|byte| byte.is_ascii_whitespace()) {
            continue;
        }
        pending.push(block);
        if pending.len() == CSV_BLOCKS_AT_ONCE {
            blocks += parse_csv_blocks(header, &mut pending, path, delimiter, &schema, each)?;
        }
    }
    blocks += parse_csv_blocks(header, &mut pending, path, delimiter, &schema, each)?;
    Ok(blocks)
}

/// Parses the CSV blocks of `texts` (whole lines, under the `header` line) a block a core, each
/// on one thread, and hands their rows to `each` in order; returns the number of blocks. At 1M
/// rows this measured about 0.05 s faster than polars splitting each block between its threads.
fn parse_csv_blocks(
    header: &[u8],
    texts: &mut Vec<&[u8]>,
    path: &Path,
    delimiter: u8,
    schema: &SchemaRef,
    each: &mut dyn FnMut(DataFrame) -> Result<(), StepError>,
) -> Result<usize, StepError> {
    let tables = super::on_every_core(texts, |text| {
        if let Some(table) = csv_block::read(header, text, delimiter, schema) {
            return Ok(table);
        }
        csv_options(delimiter, Some(0))
            .with_n_threads(Some(1))
            .with_schema_overwrite(Some(schema.clone()))
            .into_reader_with_file_handle(std::io::Cursor::new([header, *text].concat()))
            .finish()
            .map_err(|error| StepError::polars(format!("cannot read `{}` as CSV", path.display()), error))
    })?;
    texts.clear();
    let blocks = tables.len();
    for table in tables {
        each(table)?;
    }
    Ok(blocks)
}

/// Where the last line of `bytes` that ends outside a quoted field ends (one past its line
/// break), if any.
fn last_line_end(bytes: &[u8]) -> Option<usize> {
    if !bytes.contains(&b'"') {
        return bytes.iter().rposition(|&byte| byte == b'\n').map(|position| position + 1);
    }
    line_ends(bytes).last()
}

/// Where each line of `bytes` that ends outside a quoted field ends (one past its line break),
/// in order. `bytes` starts outside quotes; a doubled quote inside a quoted field flips twice.
fn line_ends(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    bytes
        .iter()
        .enumerate()
        .scan(false, |quoted, (position, &byte)| {
            if byte == b'"' {
                *quoted = !*quoted;
            }
            Some((byte == b'\n' && !*quoted).then_some(position + 1))
        })
        .flatten()
}

fn read_csv_with(path: &Path, delimiter: u8, infer_schema_length: Option<usize>) -> Result<DataFrame, StepError> {
    read_csv_options(path, csv_options(delimiter, infer_schema_length))
}

fn read_csv_options(path: &Path, options: CsvReadOptions) -> Result<DataFrame, StepError> {
    // An existence check first: polars' own message for a missing file does not name it.
    drop(open(path)?);
    options
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .and_then(|reader| reader.finish())
        .map_err(|error| StepError::polars(format!("cannot read `{}` as CSV", path.display()), error))
}

fn csv_options(delimiter: u8, infer_schema_length: Option<usize>) -> CsvReadOptions {
    CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(infer_schema_length)
        .with_rechunk(false)
        .map_parse_options(|options| options.with_separator(delimiter))
}

/// Reads a newline-delimited JSON file (one object per line).
pub fn read_ndjson(path: &Path) -> Result<DataFrame, StepError> {
    let file = open(path)?;
    JsonReader::new(file)
        .with_json_format(JsonFormat::JsonLines)
        .infer_schema_len(None)
        .finish()
        .map_err(|error| StepError::polars(format!("cannot read `{}` as NDJSON", path.display()), error))
}

/// The table formats a file can be read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    /// Comma- (or otherwise) separated values with a header line.
    Csv,
    /// Apache Parquet.
    Parquet,
    /// Newline-delimited JSON objects.
    Ndjson,
}

impl TableFormat {
    /// The format a file's extension says: `.csv`/`.tsv`/`.txt`, `.parquet`/`.pq`,
    /// `.ndjson`/`.jsonl`.
    pub fn from_extension(path: &Path) -> Option<TableFormat> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "csv" | "tsv" | "txt" => Some(TableFormat::Csv),
            "parquet" | "pq" => Some(TableFormat::Parquet),
            "ndjson" | "jsonl" => Some(TableFormat::Ndjson),
            _ => None,
        }
    }

    /// The format named in a spec: `csv`, `parquet`, `ndjson`.
    pub fn from_name(name: &str) -> Option<TableFormat> {
        match name {
            "csv" => Some(TableFormat::Csv),
            "parquet" => Some(TableFormat::Parquet),
            "ndjson" => Some(TableFormat::Ndjson),
            _ => None,
        }
    }

    /// The name, as written in a spec.
    pub fn name(self) -> &'static str {
        match self {
            TableFormat::Csv => "csv",
            TableFormat::Parquet => "parquet",
            TableFormat::Ndjson => "ndjson",
        }
    }
}

/// Reads a table file by its extension (CSV with `,`, Parquet, NDJSON), inferring types: what a
/// custom step wrote, for instance.
pub fn read_table(path: &Path) -> Result<DataFrame, StepError> {
    match TableFormat::from_extension(path) {
        Some(TableFormat::Csv) => read_csv(path, b','),
        Some(TableFormat::Parquet) => read_parquet(path),
        Some(TableFormat::Ndjson) => read_ndjson(path),
        None => Err(StepError::data(format!(
            "cannot tell the format of `{}` from its extension; expected .csv, .parquet or .ndjson/.jsonl",
            path.display()
        ))),
    }
}

/// Writes `table` as CSV with a header (dates as `YYYY-MM-DD`, nulls as empty fields): the
/// form custom commands read.
pub fn write_csv(table: &DataFrame, path: &Path) -> Result<(), StepError> {
    let mut table = table.clone();
    let mut writer = BufWriter::new(create(path)?);
    CsvWriter::new(&mut writer)
        .include_header(true)
        .finish(&mut table)
        .map_err(|error| StepError::polars(format!("cannot write `{}` as CSV", path.display()), error))?;
    writer.flush().map_err(|source| StepError::Io { action: "write", path: path.to_path_buf(), source })
}

/// Opens a file for reading, naming it on failure.
pub(crate) fn open(path: &Path) -> Result<File, StepError> {
    File::open(path).map_err(|source| StepError::Io { action: "read", path: path.to_path_buf(), source })
}

/// Creates (or truncates) a file for writing, naming it on failure.
pub(crate) fn create(path: &Path) -> Result<File, StepError> {
    File::create(path).map_err(|source| StepError::Io { action: "write", path: path.to_path_buf(), source })
}

/// Writes a JSON document (pretty, with a final newline).
pub(crate) fn write_json<T: serde::Serialize>(value: &T, path: &Path) -> Result<(), StepError> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|error| StepError::Internal(format!("cannot serialize `{}`: {error}", path.display())))?;
    bytes.push(b'\n');
    std::fs::write(path, bytes).map_err(|source| StepError::Io { action: "write", path: path.to_path_buf(), source })
}

/// A value as a user reads it in a message: text without quotes, `null` for nulls.
pub(crate) fn value_text(value: &AnyValue) -> String {
    match value {
        AnyValue::Null => "null".to_string(),
        AnyValue::String(text) => (*text).to_string(),
        AnyValue::StringOwned(text) => text.to_string(),
        other => other.to_string(),
    }
}

/// A value as JSON: numbers as numbers (non-finite floats as text), dates as `YYYY-MM-DD`.
pub(crate) fn value_json(value: &AnyValue) -> Json {
    match value {
        AnyValue::Null => Json::Null,
        AnyValue::Boolean(flag) => Json::Bool(*flag),
        AnyValue::Int8(int) => Json::from(*int),
        AnyValue::Int16(int) => Json::from(*int),
        AnyValue::Int32(int) => Json::from(*int),
        AnyValue::Int64(int) => Json::from(*int),
        AnyValue::UInt8(int) => Json::from(*int),
        AnyValue::UInt16(int) => Json::from(*int),
        AnyValue::UInt32(int) => Json::from(*int),
        AnyValue::UInt64(int) => Json::from(*int),
        AnyValue::Float32(float) => float_json(f64::from(*float)),
        AnyValue::Float64(float) => float_json(*float),
        AnyValue::Date(days) => Json::String(format_date(*days)),
        other => Json::String(value_text(other)),
    }
}

fn float_json(float: f64) -> Json {
    serde_json::Number::from_f64(float).map_or_else(|| Json::String(float.to_string()), Json::Number)
}

/// Category columns stored as polars categoricals (by a custom step, say) become text, the
/// one representation of categories in mlopsc tables.
pub(crate) fn normalize_categories(table: DataFrame) -> Result<DataFrame, StepError> {
    let categorical: Vec<PlSmallStr> = table
        .columns()
        .iter()
        .filter(|column| matches!(column.dtype(), DataType::Categorical(..) | DataType::Enum(..)))
        .map(|column| column.name().clone())
        .collect();
    if categorical.is_empty() {
        return Ok(table);
    }
    let mut table = table;
    for name in categorical {
        let text = table
            .column(&name)
            .and_then(|column| column.cast(&DataType::String))
            .map_err(|error| StepError::polars(format!("cannot read category column `{name}` as text"), error))?;
        table
            .replace(&name, text)
            .map_err(|error| StepError::polars(format!("cannot replace column `{name}`"), error))?;
    }
    Ok(table)
}

/// `a`, `b`, `c` — names in backticks, for messages.
pub(crate) fn quoted_list<S: AsRef<str>>(names: &[S]) -> String {
    names.iter().map(|name| format!("`{}`", name.as_ref())).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> DataFrame {
        df!(
            "id" => ["a", "b", "c"],
            "age" => [Some(30i64), None, Some(41)],
            "score" => [0.5f64, 1.25, -3.0],
            "flag" => [true, false, true],
        )
        .unwrap()
    }

    #[test]
    fn parquet_round_trip_is_byte_identical() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("a.parquet");
        let second = dir.path().join("b.parquet");
        write_parquet(&sample(), &first).unwrap();
        let read = read_parquet(&first).unwrap();
        assert!(read.equals_missing(&sample()));
        write_parquet(&read, &second).unwrap();
        assert_eq!(std::fs::read(&first).unwrap(), std::fs::read(&second).unwrap());
    }

    #[test]
    fn chunk_layout_does_not_change_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let whole = dir.path().join("whole.parquet");
        let pieces = dir.path().join("pieces.parquet");
        let table = sample();
        let mut stacked = table.slice(0, 1);
        stacked.vstack_mut(&table.slice(1, 2)).unwrap();
        write_parquet(&table, &whole).unwrap();
        write_parquet(&stacked, &pieces).unwrap();
        assert_eq!(std::fs::read(&whole).unwrap(), std::fs::read(&pieces).unwrap());
    }

    #[test]
    fn a_sink_lays_out_row_groups_the_same_however_rows_are_handed_over() {
        let dir = tempfile::tempdir().unwrap();
        let rows = ROW_GROUP_SIZE * 2 + 1000;
        let table = df!(
            "id" => (0..rows as i64).collect::<Vec<_>>(),
            "half" => (0..rows).map(|row| row as f64 / 2.0).collect::<Vec<_>>(),
        )
        .unwrap();
        let whole = dir.path().join("whole.parquet");
        write_parquet(&table, &whole).unwrap();
        // Uneven parts that straddle row groups, and an empty one.
        let parts = dir.path().join("parts.parquet");
        let mut sink = ParquetSink::create(&parts, table.schema()).unwrap();
        for (offset, length) in [(0, 1000), (1000, 0), (1000, ROW_GROUP_SIZE), (1000 + ROW_GROUP_SIZE, rows)] {
            sink.push(&table.slice(offset as i64, length)).unwrap();
        }
        sink.finish().unwrap();
        assert_eq!(std::fs::read(&whole).unwrap(), std::fs::read(&parts).unwrap());

        assert_eq!(parquet_row_count(&whole).unwrap(), rows);
        let groups = row_groups(&whole).unwrap();
        assert_eq!(groups, [(0, ROW_GROUP_SIZE), (ROW_GROUP_SIZE, ROW_GROUP_SIZE), (2 * ROW_GROUP_SIZE, 1000)]);
        let mut read_back = read_parquet_slice(&whole, groups[0].0, groups[0].1).unwrap();
        for (offset, length) in &groups[1..] {
            read_back.vstack_mut(&read_parquet_slice(&whole, *offset, *length).unwrap()).unwrap();
        }
        assert!(read_back.equals_missing(&table));
        assert!(read_parquet(&whole).unwrap().equals_missing(&table));
        assert_eq!(parquet_schema(&whole).unwrap(), table.schema().as_ref().clone());
    }

    #[test]
    fn the_sink_writes_what_polars_own_writer_writes() {
        // The sink encodes row groups itself, in parallel: the file must be the one polars'
        // own batched writer makes from the same row groups with the same settings, text and
        // nulls included. (Polars too writes floats plain when they are nearly all distinct.)
        // Integers that take a dictionary are the exception, their keys packed in one run
        // (`int_pages`): these are spread too far for one in every row group.
        let dir = tempfile::tempdir().unwrap();
        let rows = ROW_GROUP_SIZE + 77;
        let table = df!(
            "name" => (0..rows).map(|row| format!("level {}", row % 5)).collect::<Vec<_>>(),
            "count" => (0..rows).map(|row| (row % 3 != 0).then_some(row as i64 * 1000)).collect::<Vec<_>>(),
            "value" => (0..rows).map(|row| row as f64 * 0.25).collect::<Vec<_>>(),
        )
        .unwrap();
        let ours = dir.path().join("ours.parquet");
        let hash = write_parquet(&table, &ours).unwrap();
        let theirs = dir.path().join("theirs.parquet");
        let mut writer = ParquetWriter::new(File::create(&theirs).unwrap())
            .with_compression(ParquetCompression::Uncompressed)
            .with_statistics(StatisticsOptions::empty())
            .batched(table.schema())
            .unwrap();
        for offset in [0, ROW_GROUP_SIZE] {
            let mut group = table.slice(offset as i64, ROW_GROUP_SIZE);
            group.rechunk_mut();
            writer.write_batch(&group).unwrap();
        }
        writer.finish().unwrap();
        drop(writer);
        let (ours, theirs) = (std::fs::read(&ours).unwrap(), std::fs::read(&theirs).unwrap());
        let first_difference = ours.iter().zip(&theirs).position(|(a, b)| a != b);
        assert!(ours == theirs, "{} vs {} bytes, first difference at {first_difference:?}", ours.len(), theirs.len());
        // The hash taken while writing is the hash of the file.
        assert_eq!(
            hash,
            FileHash { hash: format!("blake3:{}", blake3::hash(&ours).to_hex()), bytes: ours.len() as u64 }
        );
    }

    #[test]
    fn a_sink_dropped_unfinished_stops_its_threads_and_leaves_no_valid_file() {
        // A step that fails mid-write drops its sink: the threads stop, and what was written
        // has no footer, so it can never be read as a finished table.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("partial.parquet");
        let table = df!("x" => (0..ROW_GROUP_SIZE as i64 + 5).collect::<Vec<_>>()).unwrap();
        let mut sink = ParquetSink::create(&path, table.schema()).unwrap();
        sink.push(&table).unwrap();
        drop(sink);
        assert!(std::fs::metadata(&path).unwrap().len() > 0);
        assert!(read_parquet(&path).is_err());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_disk_is_an_error_from_push_or_finish_never_a_hang() {
        // Every write to /dev/full fails with ENOSPC: the writing thread stops, and the sink
        // reports why instead of waiting for it or claiming the file was written.
        let full = Path::new("/dev/full");
        let table = df!("x" => (0..3 * ROW_GROUP_SIZE as i64).collect::<Vec<_>>()).unwrap();
        let mut sink = ParquetSink::create(full, table.schema()).unwrap();
        let error = match sink.push(&table) {
            Err(error) => error,
            Ok(()) => sink.finish().unwrap_err(),
        };
        let message = format!("{error}");
        assert!(message.contains("No space left on device"), "{message}");
    }

    #[test]
    fn floats_are_written_plain_and_integers_as_a_dictionary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let rows = 10_000;
        // Ten distinct values each: a dictionary would take a few bits a row.
        let floats = df!("level" => (0..rows).map(|row| (row % 10) as f64).collect::<Vec<_>>()).unwrap();
        write_parquet(&floats, &path).unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() > rows as u64 * 8);
        assert!(read_parquet(&path).unwrap().equals_missing(&floats));
        let integers = df!("level" => (0..rows).map(|row| (row % 10) as i64).collect::<Vec<_>>()).unwrap();
        write_parquet(&integers, &path).unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() < rows as u64);
        assert!(read_parquet(&path).unwrap().equals_missing(&integers));
    }

    #[test]
    fn an_empty_table_is_a_valid_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.parquet");
        write_parquet(&sample().clear(), &path).unwrap();
        let read = read_parquet(&path).unwrap();
        assert_eq!(read.shape(), (0, 4));
        assert!(read.schema() == sample().schema());
        assert_eq!(row_groups(&path).unwrap(), []);
    }

    #[test]
    fn csv_blocks_grow_for_long_lines_and_files_without_data_lines_have_no_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let types = [("id".to_string(), DataType::Int64), ("note".to_string(), DataType::String)];
        let read = |text: &str| {
            std::fs::write(&path, text).unwrap();
            let mut rows = Vec::new();
            let blocks = read_csv_typed_blocks(&path, b',', &types, &mut |part| {
                rows.extend(part.column("note").unwrap().str().unwrap().iter().map(|note| note.map(str::to_string)));
                Ok(())
            })
            .unwrap();
            (blocks, rows)
        };
        // Lines several blocks long, then short ones, then a block of blank lines alone.
        let long = "x".repeat(5 * CSV_BLOCK);
        let text = format!("id,note\n1,{long}\n2,{long}y\n3,z\n4,\n{}", "\n".repeat(2 * CSV_BLOCK));
        let (blocks, rows) = read(&text);
        assert!(blocks >= 2, "{blocks} blocks");
        let whole = read_csv_typed(&path, b',', &types).unwrap();
        let whole: Vec<Option<String>> =
            whole.column("note").unwrap().str().unwrap().iter().map(|note| note.map(str::to_string)).collect();
        assert_eq!(rows.len(), whole.len());
        assert_eq!(rows, whole);
        assert_eq!(rows[..4], [Some(long.clone()), Some(format!("{long}y")), Some("z".to_string()), None]);
        for text in ["", "id,note", "id,note\n", "id,note\n\n"] {
            assert_eq!(read(text), (0, Vec::new()), "{text:?}");
        }
    }

    #[test]
    fn csv_blocks_end_between_lines_never_inside_a_quoted_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        // Quoted line breaks and delimiters, CRLF endings and no final line break, in a file
        // many blocks long.
        let mut text = String::from("id,note,score\r\n");
        for row in 0..40 {
            let note = if row % 3 == 0 { format!("\"line one\nline, two {row}\"") } else { format!("plain {row}") };
            text.push_str(&format!("{row},{note},{}.5\r\n", row * 2));
        }
        text.push_str("40,last,1.0");
        std::fs::write(&path, &text).unwrap();
        let types = [
            ("id".to_string(), DataType::Int64),
            ("note".to_string(), DataType::String),
            ("score".to_string(), DataType::Float64),
        ];
        let mut parts = Vec::new();
        let blocks = read_csv_typed_blocks(&path, b',', &types, &mut |part| {
            parts.push(part);
            Ok(())
        })
        .unwrap();
        assert!(blocks > 5, "{blocks} blocks");
        let mut all = parts.remove(0);
        for part in parts {
            all.vstack_mut(&part).unwrap();
        }
        let whole = read_csv_typed(&path, b',', &types).unwrap();
        assert!(all.equals_missing(&whole), "{all} vs {whole}");
        assert_eq!(all.height(), 41);
        assert_eq!(all.column("note").unwrap().str().unwrap().get(3), Some("line one\nline, two 3"));

        let header_only = dir.path().join("h.csv");
        std::fs::write(&header_only, "id,note,score\n").unwrap();
        assert_eq!(read_csv_typed_blocks(&header_only, b',', &types, &mut |_| Ok(())).unwrap(), 0);
    }

    #[test]
    fn read_table_goes_by_extension() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("t.csv");
        write_csv(&sample(), &csv).unwrap();
        let from_csv = read_table(&csv).unwrap();
        assert_eq!(from_csv.shape(), (3, 4));
        assert_eq!(from_csv.column("age").unwrap().dtype(), &DataType::Int64);

        let ndjson = dir.path().join("t.ndjson");
        std::fs::write(&ndjson, "{\"x\": 1, \"y\": \"a\"}\n{\"x\": 2, \"y\": null}\n").unwrap();
        let from_ndjson = read_table(&ndjson).unwrap();
        assert_eq!(from_ndjson.shape(), (2, 2));

        let parquet = dir.path().join("t.parquet");
        write_parquet(&sample(), &parquet).unwrap();
        assert!(read_table(&parquet).unwrap().equals_missing(&sample()));

        let unknown = read_table(&dir.path().join("t.xlsx")).unwrap_err().to_string();
        assert!(unknown.contains("cannot tell the format of") && unknown.contains("t.xlsx"), "{unknown}");
    }

    #[test]
    fn unreadable_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = read_parquet(&dir.path().join("missing.parquet")).unwrap_err().to_string();
        assert!(missing.contains("cannot read") && missing.contains("missing.parquet"), "{missing}");
        let corrupt = dir.path().join("corrupt.parquet");
        std::fs::write(&corrupt, b"PAR1 this is not parquet").unwrap();
        let error = read_parquet(&corrupt).unwrap_err().to_string();
        assert!(error.contains("corrupt.parquet") && error.contains("as Parquet"), "{error}");
    }

    #[test]
    fn values_render_for_messages_and_json() {
        assert_eq!(value_text(&AnyValue::String("abc")), "abc");
        assert_eq!(value_text(&AnyValue::Null), "null");
        assert_eq!(value_json(&AnyValue::Int64(7)), Json::from(7));
        assert_eq!(value_json(&AnyValue::Float64(f64::NAN)), Json::String("NaN".to_string()));
        assert_eq!(value_json(&AnyValue::Date(19723)), Json::String("2024-01-01".to_string()));
        assert_eq!(quoted_list(&["a", "b"]), "`a`, `b`");
    }
}
