//! The Parquet pages of an `Int64` column, dictionary-encoded as `polars-parquet` would
//! encode it, in a fraction of its time.
//!
//! Integer columns are most of an artifact's columns (one-hot columns are 0/1 integers), and
//! polars' writer spent about a third of `split`'s time on them: a generic min/max kernel, a
//! pass to find the values present, one to map values to keys, and a run-length/bit-packing
//! hybrid encoder that looks for repeats key by key. Here the values present are marked in one
//! pass, keys mapped in a second, and the keys of a page bit-packed as one run. The dictionary
//! is polars' (the distinct values in ascending order), and so is every decision: a column
//! whose values spread over more than 65,536 numbers, or with too many distinct values for a
//! dictionary to pay, goes to polars' own path, which writes it as before. Only the data
//! pages' keys differ from polars' bytes: one bit-packed run where polars would alternate
//! runs, which any Parquet reader decodes alike.

use polars::prelude::ArrowDataType;
use polars_core::utils::arrow::array::{Array, PrimitiveArray};
use polars_core::utils::arrow::bitmap::Bitmap;
use polars_parquet::parquet::encoding::{bitpacked, uleb128, Encoding};
use polars_parquet::parquet::metadata::Descriptor;
use polars_parquet::parquet::page::{DataPage, DataPageHeader, DataPageHeaderV1, DictPage, Page};
use polars_parquet::parquet::schema::types::PrimitiveType;
use polars_parquet::parquet::schema::Repetition;
use polars_parquet::parquet::CowBuffer;
use polars_parquet::write::{write_def_levels, Version};

/// The widest range of values polars maps straight to keys (`BITMASK_THRESHOLD` for 64-bit
/// integers in its `dictionary.rs`).
const WIDEST_RANGE: u64 = u16::MAX as u64;
/// A dictionary always pays up to this many distinct values (polars' `DELTA_THRESHOLD`).
const FEW_VALUES: usize = 2048;
/// polars' default data page size.
const PAGE_BYTES: usize = 1024 * 1024;

/// The dictionary page and data pages of `array` (an `Int64` column of the Parquet field
/// `primitive_type`), or `None` when polars would not write it as this dictionary.
pub(crate) fn pages(array: &dyn Array, primitive_type: &PrimitiveType) -> Option<Vec<Page>> {
    if array.dtype() != &ArrowDataType::Int64 || array.is_empty() {
        return None;
    }
    let optional = primitive_type.field_info.repetition != Repetition::Required;
    let array = array.as_any().downcast_ref::<PrimitiveArray<i64>>()?;
    let values = array.values().as_slice();
    let validity = array.validity().filter(|validity| validity.unset_bits() > 0);
    // The smallest and largest valid values, then the values present, marked in a window
    // that spans them.
    let (min, max) = match validity {
        None => values.iter().fold((i64::MAX, i64::MIN), |(min, max), &value| (min.min(value), max.max(value))),
        Some(validity) => values
            .iter()
            .zip(validity.iter())
            .filter(|(_, valid)| *valid)
            .fold((i64::MAX, i64::MIN), |(min, max), (&value, _)| (min.min(value), max.max(value))),
    };
    let range = u64::try_from(i128::from(max) - i128::from(min)).ok()?;
    if range > WIDEST_RANGE {
        return None;
    }
    let mut seen = vec![false; range as usize + 1];
    match validity {
        None => values.iter().for_each(|&value| seen[(value - min) as usize] = true),
        Some(validity) => values
            .iter()
            .zip(validity.iter())
            .filter(|(_, valid)| *valid)
            .for_each(|(&value, _)| seen[(value - min) as usize] = true),
    }
    // Each value's key: its rank among the values present.
    let mut lookup = vec![0u32; seen.len()];
    let mut dictionary: Vec<u8> = Vec::new();
    let mut distinct = 0usize;
    for (offset, _) in seen.iter().enumerate().filter(|(_, present)| **present) {
        lookup[offset] = distinct as u32;
        dictionary.extend_from_slice(&(min + offset as i64).to_le_bytes());
        distinct += 1;
    }
    if !(distinct <= FEW_VALUES || (distinct as f64) / (values.len() as f64) < 0.75) {
        return None;
    }
    // A null's slot holds some value; like polars, clamp it to a key that exists.
    let keys: Vec<u32> = match validity {
        None => values.iter().map(|&value| lookup[(value - min) as usize]).collect(),
        Some(_) => values.iter().map(|&value| lookup[(value.clamp(min, max) - min) as usize]).collect(),
    };

    let mut pages = vec![Page::Dict(DictPage::new(CowBuffer::Owned(dictionary), distinct, false))];
    let rows = values.len();
    let key_bytes = rows * 4 + array.validity().map_or(0, |validity| validity.as_slice().0.len());
    for (offset, length) in page_ranges(rows, key_bytes) {
        let page_validity = array.validity().map(|validity| validity.clone().sliced(offset, length));
        let page_keys = &keys[offset..offset + length];
        pages.push(Page::Data(data_page(page_keys, page_validity.as_ref(), primitive_type, optional).ok()?));
    }
    Some(pages)
}

/// The (first row, rows) of each data page: polars' `row_slice_ranges` for pages of at most
/// [`PAGE_BYTES`] of keys.
fn page_ranges(rows: usize, bytes: usize) -> Vec<(usize, usize)> {
    let bytes_per_row = ((bytes as f64) / (rows as f64)) as usize;
    let rows_per_page = (PAGE_BYTES / (bytes_per_row + 1)).max(1);
    (0..rows).step_by(rows_per_page).map(|offset| (offset, (offset + rows_per_page).min(rows) - offset)).collect()
}

/// A version 1 data page of `keys`: definition levels, the key width, then the keys of the
/// valid rows run-length/bit-packed.
fn data_page(
    keys: &[u32],
    validity: Option<&Bitmap>,
    primitive_type: &PrimitiveType,
    optional: bool,
) -> Result<DataPage, std::io::Error> {
    let mut buffer = Vec::with_capacity(keys.len() / 4 + 64);
    write_def_levels(&mut buffer, optional, validity, keys.len(), Version::V1).map_err(std::io::Error::other)?;
    let valid: Vec<u32>;
    let encoded = match validity {
        Some(validity) if validity.unset_bits() > 0 => {
            valid = keys.iter().zip(validity.iter()).filter(|(_, valid)| *valid).map(|(&key, _)| key).collect();
            &valid[..]
        }
        _ => keys,
    };
    let width = bit_width(encoded.iter().copied().max().unwrap_or(0));
    buffer.push(width as u8);
    encode_keys(&mut buffer, encoded, width);
    let header = DataPageHeader::V1(DataPageHeaderV1 {
        num_values: keys.len() as i32,
        encoding: Encoding::RleDictionary.into(),
        definition_level_encoding: Encoding::Rle.into(),
        repetition_level_encoding: Encoding::Rle.into(),
        statistics: None,
    });
    let descriptor = Descriptor { primitive_type: primitive_type.clone(), max_def_level: 0, max_rep_level: 0 };
    Ok(DataPage::new(header, CowBuffer::Owned(buffer), descriptor, keys.len()))
}

/// The bits that hold `max`.
fn bit_width(max: u32) -> u32 {
    32 - max.leading_zeros()
}

/// `keys` at `width` bits in the run-length/bit-packing hybrid encoding, as one bit-packed run
/// (the last block of 8 padded with zeros), or one repeated run when every key is 0 (width 0).
/// polars' encoder looks for repeats key by key, which costs a mispredicted branch every few
/// keys of a one-hot column and saves little: a 0/1 key packs into one bit anyway.
fn encode_keys(out: &mut Vec<u8>, keys: &[u32], width: u32) {
    if keys.is_empty() {
        return;
    }
    if width == 0 {
        run_length(out, keys.len(), 0, 0);
        return;
    }
    let width = width as usize;
    let mut header = [0u8; 10];
    let used = uleb128::encode(((keys.len().div_ceil(8) as u64) << 1) | 1, &mut header);
    out.extend_from_slice(&header[..used]);
    out.reserve(keys.len().div_ceil(8) * width);
    let mut packed = [0u8; 4 * 32];
    let mut blocks = keys.chunks_exact(32);
    for block in blocks.by_ref() {
        packed.fill(0);
        bitpacked::encode_pack::<u32>(block, width, &mut packed);
        out.extend_from_slice(&packed[..4 * width]);
    }
    let rest = blocks.remainder();
    if !rest.is_empty() {
        packed.fill(0);
        bitpacked::encode_pack::<u32>(rest, width, &mut packed);
        out.extend_from_slice(&packed[..rest.len().div_ceil(8) * width]);
    }
}

/// A run of `length` copies of `value` (polars' `Encoder<u32>::run_length_encode`).
fn run_length(out: &mut Vec<u8>, length: usize, value: u32, width: u32) {
    let mut header = [0u8; 10];
    let used = uleb128::encode((length as u64) << 1, &mut header);
    out.extend_from_slice(&header[..used]);
    out.extend_from_slice(&value.to_le_bytes()[..(width as usize).div_ceil(8)]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;
    use polars_parquet::parquet::encoding::hybrid_rle::HybridRleDecoder;
    use rand_chacha::rand_core::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Keys below `2^width` in runs of every length around 8.
    fn keys(rng: &mut ChaCha8Rng, length: usize, width: u32) -> Vec<u32> {
        let top = if width == 0 { 0 } else { ((1u64 << width) - 1) as u32 };
        let mut keys = Vec::with_capacity(length);
        while keys.len() < length {
            let value = if top == 0 { 0 } else { rng.next_u32() % (top + 1) };
            let run = 1 + (rng.next_u32() % 12) as usize;
            keys.extend(std::iter::repeat_n(value, run.min(length - keys.len())));
        }
        keys
    }

    #[test]
    fn keys_decode_as_they_were() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for round in 0..200 {
            let width = [0, 1, 1, 2, 3, 5, 8, 11, 16][round % 9];
            let length = match round % 4 {
                0 => (rng.next_u32() % 40) as usize,
                1 => 131_072,
                _ => (rng.next_u32() % 5000) as usize,
            };
            let keys = keys(&mut rng, length, width);
            let mut encoded = Vec::new();
            encode_keys(&mut encoded, &keys, width);
            let decoded = HybridRleDecoder::new(&encoded, width, keys.len()).collect().unwrap();
            assert_eq!(decoded, keys, "round {round}: {length} keys of width {width}");
        }
        let mut flags = Vec::new();
        let ones: Vec<u32> = (0..4096).map(|_| rng.next_u32() % 2).collect();
        encode_keys(&mut flags, &ones, 1);
        assert_eq!(flags.len(), 2 + 4096 / 8, "one bit a key, after a two-byte header");
    }

    fn int64_type() -> PrimitiveType {
        PrimitiveType::from_physical("x".into(), polars_parquet::parquet::schema::types::PhysicalType::Int64)
    }

    #[test]
    fn the_dictionary_is_polars_and_so_are_the_columns_it_declines() {
        use polars_parquet::write::{array_to_columns, CompressionOptions, StatisticsOptions, WriteOptions};
        let options = WriteOptions {
            statistics: StatisticsOptions::empty(),
            version: Version::V1,
            compression: CompressionOptions::Uncompressed,
            data_page_size: None,
        };
        let polars_pages = |array: &PrimitiveArray<i64>| -> Vec<Page> {
            let field = polars_parquet::parquet::schema::types::ParquetType::PrimitiveType(int64_type());
            array_to_columns(array.clone().boxed(), field, options, &[Encoding::RleDictionary])
                .unwrap()
                .into_iter()
                .flatten()
                .map(Result::unwrap)
                .collect()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let taken = [
            PrimitiveArray::from_vec((0..131_072).map(|_| i64::from(rng.next_u32() % 4 == 0)).collect()),
            PrimitiveArray::from((0..5000).map(|row| (row % 9 != 0).then_some(row % 7 - 3)).collect::<Vec<_>>()),
            PrimitiveArray::from_vec(vec![42; 100]),
            PrimitiveArray::from_vec(vec![5, -3, 5, 5, 2]),
        ];
        for (number, array) in taken.iter().enumerate() {
            let ours = pages(array, &int64_type()).expect("a dictionary");
            let theirs = polars_pages(array);
            // The same dictionary page, and as many data pages of the same rows.
            assert_eq!(format!("{:?}", ours[0]), format!("{:?}", theirs[0]), "case {number}");
            assert_eq!(ours.len(), theirs.len(), "case {number}");
        }
        let declined = [
            // Every value distinct, a range wider than polars maps to keys, extremes whose
            // difference overflows, nothing valid.
            PrimitiveArray::from_vec((0..10_000).collect()),
            PrimitiveArray::from_vec(vec![0, 1 << 20, 0, 0]),
            PrimitiveArray::from_vec(vec![i64::MIN, i64::MAX]),
            PrimitiveArray::<i64>::from(vec![None, None]),
        ];
        for array in declined {
            assert!(pages(&array, &int64_type()).is_none(), "{array:?}");
        }
    }

    #[test]
    fn tables_of_integers_read_back_as_written() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let rows = 300_000;
        let flags: Vec<i64> = (0..rows).map(|_| i64::from(rng.next_u32() % 12 == 0)).collect();
        let counts: Vec<Option<i64>> =
            (0..rows).map(|_| (rng.next_u32() % 10 != 0).then(|| i64::from(rng.next_u32() % 300) - 100)).collect();
        let constant = vec![7i64; rows];
        let sorted: Vec<i64> = (0..rows as i64).map(|row| row / 1000).collect();
        let table = df!("flag" => flags, "count" => counts, "constant" => constant, "sorted" => sorted).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        super::super::write_parquet(&table, &path).unwrap();
        let back = super::super::read_parquet(&path).unwrap();
        assert!(back.equals_missing(&table));
        // A slice that starts inside a row group, written through a sink in parts.
        let part = table.slice(70_001, 150_000);
        let sliced = dir.path().join("s.parquet");
        let mut sink = super::super::ParquetSink::create(&sliced, part.schema()).unwrap();
        sink.push(&part.slice(0, 1_000)).unwrap();
        sink.push(&part.slice(1_000, 149_000)).unwrap();
        sink.finish().unwrap();
        assert!(super::super::read_parquet(&sliced).unwrap().equals_missing(&part));
    }
}
