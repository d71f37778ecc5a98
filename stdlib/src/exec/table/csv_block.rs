//! A reader for plain CSV blocks: the header line, then lines of unquoted fields, every field
//! an `Int64`, `Float64` or `String` column. It splits and converts the fields in one pass,
//! where polars first counts the block's lines, then splits them, then hands each field to a
//! builder chosen per field.
//!
//! The table it returns is the one polars' reader returns for the block (its options in
//! [`super::read_csv_typed_blocks`]): the header's names in order, an empty field null, floats
//! read by `fast-float2` as polars reads them. It reads only what it is sure polars reads the
//! same way, and returns `None` for anything else, which polars then reads (or rejects): a
//! quote or a carriage return anywhere, a byte-order mark, an empty, padded or repeated column
//! name, a line with too few or too many fields or no fields at all, an integer that is not
//! `-?[0-9]{1,18}`, a float field with anything after its number, text that is not UTF-8.

use memchr::memchr;
use polars::prelude::*;
use polars_core::utils::arrow::array::MutableBinaryViewArray;
use polars_core::utils::arrow::bitmap::MutableBitmap;

/// A column being read.
enum Builder {
    Int(Vec<i64>, Nulls),
    Float(Vec<f64>, Nulls),
    Text(MutableBinaryViewArray<str>),
}

/// The null rows of a number column, kept once there is one.
#[derive(Default)]
struct Nulls(Option<MutableBitmap>);

impl Nulls {
    /// Marks the row after the `rows` already read as valid or null.
    fn push(&mut self, rows: usize, valid: bool) {
        match &mut self.0 {
            Some(bitmap) => bitmap.push(valid),
            None if valid => {}
            None => {
                let mut bitmap = MutableBitmap::with_capacity(rows + 1);
                bitmap.extend_constant(rows, true);
                bitmap.push(false);
                self.0 = Some(bitmap);
            }
        }
    }
}

/// Reads `text` (data lines) under the `header` line (with its line break) with the column
/// types of `schema` (others are text), or `None` when it is not plain enough (see the
/// module's documentation).
pub(crate) fn read(header: &[u8], text: &[u8], delimiter: u8, schema: &Schema) -> Option<DataFrame> {
    let plain = |bytes: &[u8]| memchr(b'"', bytes).is_none() && memchr(b'\r', bytes).is_none();
    // A byte-order mark is polars' to strip or keep.
    let bom = header.starts_with(b"\xef\xbb\xbf");
    if !plain(header) || !plain(text) || bom || delimiter == b'\n' || !delimiter.is_ascii() {
        return None;
    }
    let header = std::str::from_utf8(header.strip_suffix(b"\n")?).ok()?;
    let text = std::str::from_utf8(text).ok()?;
    let bytes = text.as_bytes();
    let names: Vec<&str> = header.split(delimiter as char).collect();
    let mut seen = std::collections::HashSet::new();
    if !names.iter().all(|&name| !name.is_empty() && name.trim() == name && seen.insert(name)) {
        return None;
    }
    let lines = memchr::memchr_iter(b'\n', bytes).count() + 1;
    let mut builders = names
        .iter()
        .map(|name| match schema.get(name) {
            Some(DataType::Int64) => Some(Builder::Int(Vec::with_capacity(lines), Nulls::default())),
            Some(DataType::Float64) => Some(Builder::Float(Vec::with_capacity(lines), Nulls::default())),
            Some(DataType::String) | None => Some(Builder::Text(MutableBinaryViewArray::with_capacity(lines))),
            Some(_) => None,
        })
        .collect::<Option<Vec<Builder>>>()?;
    let last = builders.len() - 1;
    let mut at = 0;
    let mut rows = 0;
    while at < bytes.len() {
        if bytes[at] == b'\n' {
            return None;
        }
        for (column, builder) in builders.iter_mut().enumerate() {
            let end = if column == last { b'\n' } else { delimiter };
            let rest = &bytes[at..];
            let used = match builder {
                Builder::Int(values, nulls) => {
                    let (value, used) = int(rest)?;
                    values.push(value.unwrap_or(0));
                    nulls.push(rows, value.is_some());
                    used
                }
                Builder::Float(values, nulls) => {
                    let (value, used) = if rest.first().is_none_or(|&byte| byte == end) {
                        (None, 0)
                    } else {
                        let (value, used) = match short_decimal(rest) {
                            Some(read) => read,
                            None => fast_float2::parse_partial::<f64, _>(rest).ok()?,
                        };
                        (Some(value), used)
                    };
                    values.push(value.unwrap_or(0.0));
                    nulls.push(rows, value.is_some());
                    used
                }
                Builder::Text(values) => {
                    // The field ends at its delimiter; the last one at the line's end, and a
                    // delimiter before that is a field too many.
                    let used = rest.iter().position(|&byte| byte == delimiter || byte == b'\n').unwrap_or(rest.len());
                    if rest.get(used).is_some_and(|&byte| byte != end) {
                        return None;
                    }
                    if used == 0 {
                        values.push_null();
                    } else {
                        values.push_value(&text[at..at + used]);
                    }
                    used
                }
            };
            at += used;
            match bytes.get(at) {
                Some(&byte) if byte == end => at += 1,
                // The file's last line may lack its line break.
                None if column == last => {}
                _ => return None,
            }
        }
        rows += 1;
    }
    let columns: Vec<Column> = names
        .iter()
        .zip(builders)
        .map(|(name, builder)| {
            let name = PlSmallStr::from_str(name);
            match builder {
                Builder::Int(values, nulls) => {
                    Int64Chunked::from_vec_validity(name, values, nulls.0.map(Into::into)).into_column()
                }
                Builder::Float(values, nulls) => {
                    Float64Chunked::from_vec_validity(name, values, nulls.0.map(Into::into)).into_column()
                }
                Builder::Text(values) => StringChunked::with_chunk(name, values.freeze()).into_column(),
            }
        })
        .collect();
    DataFrame::new(rows, columns).ok()
}

/// Powers of ten that `f64` holds exactly, up to the most digits [`short_decimal`] reads.
const POWERS_OF_TEN: [f64; 16] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/// A decimal at the start of `bytes` of the form `-?[0-9]*(\.[0-9]*)?` with 1 to 15 digits in
/// all, and the bytes it takes; `None` for any other start, which `fast-float2` then reads.
/// Its digits make an integer below 10^15, which `f64` holds exactly, as it does the power of
/// ten to divide it by: the one correctly rounded division gives the correctly rounded value
/// of the decimal, which is what `fast-float2` returns (it takes the same path for these).
fn short_decimal(bytes: &[u8]) -> Option<(f64, usize)> {
    let negative = bytes.first() == Some(&b'-');
    let start = usize::from(negative);
    // The digits before the point, then those after it, into one integer (it wraps only past
    // 19 digits, which are refused below).
    let mut mantissa = 0u64;
    let mut digits = |from: usize| {
        let mut at = from;
        while let Some(digit) = bytes.get(at).map(|byte| byte.wrapping_sub(b'0')).filter(|digit| *digit < 10) {
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(digit));
            at += 1;
        }
        at
    };
    let point = digits(start);
    let (end, decimals) = match bytes.get(point) {
        Some(b'.') => {
            let end = digits(point + 1);
            (end, end - point - 1)
        }
        _ => (point, 0),
    };
    let count = point - start + decimals;
    // No digit, a 16th one, or an exponent, is `fast-float2`'s to read.
    if count == 0 || count > 15 || matches!(bytes.get(end), Some(b'e' | b'E')) {
        return None;
    }
    let magnitude = mantissa as f64 / POWERS_OF_TEN[decimals];
    Some((if negative { -magnitude } else { magnitude }, end))
}

/// An integer field at the start of `bytes`: the value (`None` for an empty field) and the
/// bytes it takes; `None` unless it is empty or `-?[0-9]{1,18}` (what could not overflow).
fn int(bytes: &[u8]) -> Option<(Option<i64>, usize)> {
    let negative = bytes.first() == Some(&b'-');
    let digits = &bytes[usize::from(negative)..];
    let count = digits.iter().take(19).take_while(|byte| byte.is_ascii_digit()).count();
    if count == 0 {
        return (!negative).then_some((None, 0));
    }
    if count > 18 {
        return None;
    }
    let magnitude = digits[..count].iter().fold(0i64, |value, &digit| value * 10 + i64::from(digit - b'0'));
    Some((Some(if negative { -magnitude } else { magnitude }), usize::from(negative) + count))
}

#[cfg(test)]
mod tests {
    use rand_chacha::rand_core::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn schema() -> Schema {
        [("count", DataType::Int64), ("price", DataType::Float64), ("name", DataType::String)]
            .into_iter()
            .map(|(name, dtype)| Field::new(name.into(), dtype))
            .collect()
    }

    /// What polars' reader makes of `text`, read as [`super::super::read_csv_typed_blocks`]
    /// reads a block it does not read itself.
    /// [`read`] of a whole file's text.
    fn read_text(text: &[u8], delimiter: u8, schema: &Schema) -> Option<DataFrame> {
        let split = text.iter().position(|&byte| byte == b'\n')? + 1;
        read(&text[..split], &text[split..], delimiter, schema)
    }

    fn polars_reads(text: &[u8], delimiter: u8, schema: &Schema) -> PolarsResult<DataFrame> {
        super::super::csv_options(delimiter, Some(0))
            .with_n_threads(Some(1))
            .with_schema_overwrite(Some(Arc::new(schema.clone())))
            .into_reader_with_file_handle(std::io::Cursor::new(text))
            .finish()
    }

    fn pick<'a>(rng: &mut ChaCha8Rng, choices: &[&'a str]) -> &'a str {
        choices[(rng.next_u32() as usize) % choices.len()]
    }

    #[test]
    fn plain_blocks_read_as_polars_reads_them() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let ints = ["0", "7", "-12", "007", "", "123456789012345678", "-999999999999999999", "42"];
        let floats = [
            "1.5",
            "-0.0",
            "",
            "3",
            "1e5",
            "2.5E-3",
            "-7.25e+2",
            "1.",
            ".5",
            "-.5",
            "inf",
            "-inf",
            "NaN",
            "nan",
            "1.7976931348623157e308",
            "4.9e-324",
            "0.1",
            "123456.789012345678901",
            "999999999999999",
            "9999999999999999",
            "0.000000000000001",
            "1234567.12345678",
            "-000000.100",
            "5.e3",
        ];
        let texts = ["a", "", "two words", "ünïcødé", "x;y", "  padded  ", "-", "1e5", "€"];
        for (delimiter, trailing_break) in [(b',', true), (b';', false), (b'\t', true), (b'|', true)] {
            let columns = [("count", &ints[..]), ("price", &floats[..]), ("name", &texts[..]), ("extra", &texts[..])];
            // Every order of the columns in turn, so that each type comes last on a line.
            for rotation in 0..columns.len() {
                let order: Vec<_> =
                    (0..columns.len()).map(|index| columns[(index + rotation) % columns.len()]).collect();
                let separator = (delimiter as char).to_string();
                let mut text = order.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(&separator);
                for _ in 0..300 {
                    text.push('\n');
                    let fields: Vec<&str> = order
                        .iter()
                        .map(|(_, choices)| {
                            let value = pick(&mut rng, choices);
                            if value.contains(delimiter as char) {
                                "z"
                            } else {
                                value
                            }
                        })
                        .collect();
                    text.push_str(&fields.join(&separator));
                }
                if trailing_break {
                    text.push('\n');
                }
                let ours =
                    read_text(text.as_bytes(), delimiter, &schema()).unwrap_or_else(|| panic!("not read:\n{text}"));
                let theirs = polars_reads(text.as_bytes(), delimiter, &schema()).unwrap();
                assert_eq!(ours.schema(), theirs.schema(), "{text}");
                assert!(ours.equals_missing(&theirs), "{ours}\n{theirs}");
                assert_eq!(ours.height(), 300);
            }
        }
    }

    #[test]
    fn anything_but_plain_is_left_to_polars() {
        let not_plain: &[&str] = &[
            "count,price,name\n1,\"2.5\",a\n",
            "count,price,name\n1,2.5,\"a, b\"\n",
            "count,price,name\r\n1,2.5,a\r\n",
            "count,price,name\n1,2.5\n",
            "count,price,name\n1,2.5,a,b\n",
            "count,price,name\n1,2.5,a\n\n2,3.5,b\n",
            "count,price,name\n12a,2.5,a\n",
            "count,price,name\n+5,2.5,a\n",
            "count,price,name\n1234567890123456789,2.5,a\n",
            "count,price,name\n- ,2.5,a\n",
            "count,price,name\n1,2.5x,a\n",
            "count,price,name\n1,7.5.1,a\n",
            "count,price,name\n1,-,a\n",
            "count,price,name\n1, 2.5,a\n",
            "count,price,name\n1,2.5,a\n3,4.5\n",
            "count,price,count\n1,2.5,3\n",
            "count, price,name\n1,2.5,a\n",
            "count,,name\n1,2.5,a\n",
            "\u{feff}count,price,name\n1,2.5,a\n",
        ];
        for text in not_plain {
            assert!(read_text(text.as_bytes(), b',', &schema()).is_none(), "{text}");
        }
        assert!(read_text(b"count,price,name\n1,2.5,\xff\n", b',', &schema()).is_none(), "not UTF-8");
        let dates: Schema = [Field::new("day".into(), DataType::Date)].into_iter().collect();
        assert!(read_text(b"day\n2024-01-01\n", b',', &dates).is_none(), "a type it does not read");
        // Plain text that polars rejects is left to polars, which names the problem.
        assert!(polars_reads(b"count,price,name\n12a,2.5,a\n", b',', &schema()).is_err());
    }

    #[test]
    fn short_decimals_read_as_fast_float_reads_them() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut read = 0;
        for _ in 0..200_000 {
            let digits = 1 + (rng.next_u32() % 17) as usize;
            let mut text: String = (0..digits).map(|_| char::from(b'0' + (rng.next_u32() % 10) as u8)).collect();
            if rng.next_u32() % 4 != 0 {
                text.insert((rng.next_u32() as usize) % (digits + 1), '.');
            }
            if rng.next_u32() % 2 == 0 {
                text.insert(0, '-');
            }
            text.push_str(pick(&mut rng, &[",", "\n", "", "e3", "1"]));
            let expected = fast_float2::parse_partial::<f64, _>(text.as_bytes()).ok();
            if let Some((value, used)) = short_decimal(text.as_bytes()) {
                let (fast, fast_used) = expected.unwrap_or_else(|| panic!("`{text}` is not a float"));
                assert_eq!((value.to_bits(), used), (fast.to_bits(), fast_used), "`{text}`");
                read += 1;
            }
        }
        // Most of them are short enough to be read here.
        assert!(read > 100_000, "{read}");
    }

    #[test]
    fn headers_alone_and_one_column_files_read_as_polars_reads_them() {
        for text in ["count,price,name\n", "count\n1\n\n", "name\nx\n", "count,price,name\n,,\n"] {
            let theirs = polars_reads(text.as_bytes(), b',', &schema()).unwrap();
            match read_text(text.as_bytes(), b',', &schema()) {
                Some(ours) => {
                    assert_eq!(ours.schema(), theirs.schema(), "{text:?}");
                    assert!(ours.equals_missing(&theirs), "{text:?}: {ours}\n{theirs}");
                }
                None => assert!(text.contains("\n\n"), "{text:?} should be read"),
            }
        }
    }
}
