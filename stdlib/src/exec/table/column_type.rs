//! The column types of the language and how a column of any polars type is read as one of
//! them, naming the first value that cannot be.
//!
//! | type       | polars dtype          | read from text |
//! |------------|-----------------------|----------------|
//! | `int`      | `Int64`               | an integer, surrounding spaces ignored |
//! | `float`    | `Float64`             | a decimal or scientific number, `NaN`, `inf` |
//! | `bool`     | `Boolean`             | `true`/`false`, `t`/`f`, `yes`/`no`, `y`/`n`, `1`/`0` (any case) |
//! | `string`   | `String`              | as is |
//! | `category` | `String`              | as is (levels are checked by `validate`) |
//! | `date`     | `Date`                | `YYYY-MM-DD` |
//! | `datetime` | `Datetime(µs, naive)` | `YYYY-MM-DD[T| ]HH:MM[:SS[.fraction]][Z]`, or a date (midnight) |
//!
//! An empty or all-blank text is a missing value (null) for every type but `string` and
//! `category`; there, an empty CSV field is null too (polars' reader), while a quoted empty
//! field (`""`) is the empty text.

use polars::prelude::*;

pub use crate::column_type::ColumnType;

/// How each column type is stored in every mlopsc table.
impl ColumnType {
    /// The polars dtype a column of this type has in every mlopsc table.
    pub fn dtype(self) -> DataType {
        match self {
            ColumnType::Int => DataType::Int64,
            ColumnType::Float => DataType::Float64,
            ColumnType::Bool => DataType::Boolean,
            ColumnType::String | ColumnType::Category => DataType::String,
            ColumnType::Date => DataType::Date,
            ColumnType::Datetime => DataType::Datetime(TimeUnit::Microseconds, None),
        }
    }
}

/// A value that cannot be read as the wanted type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadValue {
    /// Its row, 0-based.
    pub row: usize,
    /// The value, as text.
    pub value: String,
    /// How many values of the column cannot be read, this one included.
    pub count: usize,
}

/// Why a column could not be converted.
#[derive(Debug)]
pub(crate) enum ConvertError {
    /// Some values do not fit the type.
    BadValue(BadValue),
    /// The column's dtype cannot become this type at all (a list as a date, say).
    Unsupported(DataType),
    /// polars failed.
    Polars(PolarsError),
}

impl From<PolarsError> for ConvertError {
    fn from(error: PolarsError) -> Self {
        ConvertError::Polars(error)
    }
}

/// Reads `column` as `ty`: text is parsed, numbers and dates are cast, and every value that is
/// not null before but would be after is reported (the first one, with the count).
pub(crate) fn convert(column: &Series, ty: ColumnType) -> Result<Series, ConvertError> {
    let name = column.name().clone();
    let target = ty.dtype();
    if column.dtype() == &target {
        return Ok(column.clone());
    }
    let converted = match column.dtype() {
        DataType::String => parse_text(column.str()?, ty)?,
        DataType::Null => Series::full_null(name.clone(), column.len(), &target),
        DataType::Categorical(..) | DataType::Enum(..) => {
            return convert(&column.cast(&DataType::String)?, ty);
        }
        source => match ty {
            ColumnType::String | ColumnType::Category => column.cast(&DataType::String)?,
            ColumnType::Int if source.is_float() => float_to_int(&column.cast(&DataType::Float64)?)?,
            ColumnType::Int | ColumnType::Float if source.is_primitive_numeric() || source.is_bool() => {
                column.cast(&target)?
            }
            ColumnType::Bool if source.is_integer() => int_to_bool(&column.cast(&DataType::Int64)?)?,
            ColumnType::Date | ColumnType::Datetime if matches!(source, DataType::Date | DataType::Datetime(..)) => {
                column.cast(&target)?
            }
            _ => return Err(ConvertError::Unsupported(source.clone())),
        },
    };
    let converted = converted.with_name(name);
    match first_lost_value(column, &converted)? {
        Some(bad) => Err(ConvertError::BadValue(bad)),
        None => Ok(converted),
    }
}

/// The first value that was there in `before` and is null in `after` (a blank text was not
/// there: it is a missing value).
fn first_lost_value(before: &Series, after: &Series) -> PolarsResult<Option<BadValue>> {
    let present = match before.dtype() {
        DataType::String => before.str()?.iter().map(|value| blank_is_null(value).is_some()).collect(),
        _ => before.is_not_null(),
    };
    let lost = present & after.is_null();
    let count = lost.sum().unwrap_or(0) as usize;
    if count == 0 {
        return Ok(None);
    }
    let row = lost.iter().position(|flag| flag == Some(true)).unwrap_or(0);
    let value = super::value_text(&before.get(row)?);
    Ok(Some(BadValue { row, value, count }))
}

/// Blanks become nulls before parsing, so a blank is never reported as a bad value.
fn blank_is_null(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|value| !value.is_empty())
}

fn parse_text(text: &StringChunked, ty: ColumnType) -> PolarsResult<Series> {
    Ok(match ty {
        ColumnType::String | ColumnType::Category => text.clone().into_series(),
        ColumnType::Int => {
            let parsed: Int64Chunked = text.iter().map(|v| blank_is_null(v).and_then(|v| v.parse().ok())).collect();
            parsed.into_series()
        }
        ColumnType::Float => {
            let parsed: Float64Chunked = text.iter().map(|v| blank_is_null(v).and_then(|v| v.parse().ok())).collect();
            parsed.into_series()
        }
        ColumnType::Bool => {
            let parsed: BooleanChunked = text.iter().map(|v| blank_is_null(v).and_then(parse_bool)).collect();
            parsed.into_series()
        }
        ColumnType::Date => {
            let parsed: Int32Chunked = text.iter().map(|v| blank_is_null(v).and_then(parse_date)).collect();
            parsed.into_date().into_series()
        }
        ColumnType::Datetime => {
            let parsed: Int64Chunked = text.iter().map(|v| blank_is_null(v).and_then(parse_datetime)).collect();
            parsed.into_datetime(TimeUnit::Microseconds, None).into_series()
        }
    })
}

fn float_to_int(floats: &Series) -> PolarsResult<Series> {
    let ints: Int64Chunked = floats
        .f64()?
        .iter()
        .map(|value| value.filter(|value| value.fract() == 0.0 && value.abs() < 9.2e18).map(|value| value as i64))
        .collect();
    Ok(ints.into_series())
}

fn int_to_bool(ints: &Series) -> PolarsResult<Series> {
    let flags: BooleanChunked = ints
        .i64()?
        .iter()
        .map(|value| match value {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        })
        .collect();
    Ok(flags.into_series())
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "1" => Some(true),
        "false" | "f" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// `YYYY-MM-DD` → days since 1970-01-01.
pub(crate) fn parse_date(text: &str) -> Option<i32> {
    let mut parts = text.splitn(3, '-');
    let year = parts.next().filter(|part| part.len() == 4)?.parse::<i64>().ok()?;
    let month = parts.next().filter(|part| (1..=2).contains(&part.len()))?.parse::<u32>().ok()?;
    let day = parts.next().filter(|part| (1..=2).contains(&part.len()))?.parse::<u32>().ok()?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    i32::try_from(days_from_civil(year, month, day)).ok()
}

/// `YYYY-MM-DD[T| ]HH:MM[:SS[.fraction]][Z]` or a bare date → microseconds since the epoch.
pub(crate) fn parse_datetime(text: &str) -> Option<i64> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    let (date, time) = match text.find(['T', ' ']) {
        Some(position) => (&text[..position], Some(&text[position + 1..])),
        None => (text, None),
    };
    let days = i64::from(parse_date(date)?);
    let micros_of_day = match time {
        None => 0,
        Some(time) => parse_time(time)?,
    };
    Some(days * 86_400_000_000 + micros_of_day)
}

fn parse_time(text: &str) -> Option<i64> {
    let (clock, fraction) = match text.split_once('.') {
        Some((clock, fraction)) => (clock, Some(fraction)),
        None => (text, None),
    };
    let mut parts = clock.split(':');
    let mut field = |max: i64| -> Option<i64> {
        let part = parts.next()?;
        let value = part.parse::<i64>().ok().filter(|_| part.len() == 2)?;
        (value <= max).then_some(value)
    };
    let hours = field(23)?;
    let minutes = field(59)?;
    let seconds = if clock.matches(':').count() == 2 { field(59)? } else { 0 };
    if parts.next().is_some() {
        return None;
    }
    let micros = match fraction {
        None => 0,
        Some(digits) if (1..=9).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) => {
            let padded = format!("{digits:0<6}");
            padded[..6].parse::<i64>().ok()?
        }
        Some(_) => return None,
    };
    if fraction.is_some() && clock.matches(':').count() != 2 {
        return None;
    }
    Some(((hours * 60 + minutes) * 60 + seconds) * 1_000_000 + micros)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = if year >= 0 { year } else { year - 399 } / 400;
    let year_of_era = year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Days since 1970-01-01 → `YYYY-MM-DD` (Howard Hinnant's `civil_from_days`).
pub(crate) fn format_date(days: i32) -> String {
    let days = i64::from(days) + 719_468;
    let era = if days >= 0 { days } else { days - 146_096 } / 146_097;
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(values: &[Option<&str>]) -> Series {
        Series::new("x".into(), values)
    }

    #[test]
    fn text_parses_into_every_type() {
        let ints = convert(&text(&[Some(" 12"), None, Some(""), Some("-3")]), ColumnType::Int).unwrap();
        assert_eq!(ints.i64().unwrap().iter().collect::<Vec<_>>(), vec![Some(12), None, None, Some(-3)]);
        let floats = convert(&text(&[Some("1.5"), Some("2e3")]), ColumnType::Float).unwrap();
        assert_eq!(floats.f64().unwrap().iter().collect::<Vec<_>>(), vec![Some(1.5), Some(2000.0)]);
        let flags = convert(&text(&[Some("TRUE"), Some("no"), Some("1")]), ColumnType::Bool).unwrap();
        assert_eq!(flags.bool().unwrap().iter().collect::<Vec<_>>(), vec![Some(true), Some(false), Some(true)]);
        let dates = convert(&text(&[Some("2024-02-29"), Some("1969-12-31")]), ColumnType::Date).unwrap();
        assert_eq!(dates.dtype(), &DataType::Date);
        assert_eq!(dates.date().unwrap().physical().iter().collect::<Vec<_>>(), vec![Some(19782), Some(-1)]);
        let times =
            convert(&text(&[Some("2024-01-01T00:00:01.5Z"), Some("2024-01-01")]), ColumnType::Datetime).unwrap();
        let micros: Vec<_> = times.datetime().unwrap().physical().iter().collect();
        assert_eq!(micros, vec![Some(1_704_067_201_500_000), Some(1_704_067_200_000_000)]);
    }

    #[test]
    fn the_first_bad_value_is_named_with_the_count() {
        let Err(ConvertError::BadValue(bad)) =
            convert(&text(&[Some("1"), Some("abc"), Some("2.5"), None]), ColumnType::Int)
        else {
            panic!("expected a bad value")
        };
        assert_eq!(bad, BadValue { row: 1, value: "abc".to_string(), count: 2 });
        for (value, ty) in
            [("2023-02-29", ColumnType::Date), ("maybe", ColumnType::Bool), ("12:00", ColumnType::Datetime)]
        {
            assert!(matches!(convert(&text(&[Some(value)]), ty), Err(ConvertError::BadValue(_))), "{value}");
        }
    }

    #[test]
    fn numbers_cast_without_losing_values() {
        let floats = Series::new("x".into(), &[1.0f64, 2.5]);
        let Err(ConvertError::BadValue(bad)) = convert(&floats, ColumnType::Int) else { panic!("2.5 is no int") };
        assert_eq!((bad.row, bad.value.as_str()), (1, "2.5"));
        let small = Series::new("x".into(), &[1i32, 0]);
        assert_eq!(convert(&small, ColumnType::Int).unwrap().dtype(), &DataType::Int64);
        assert_eq!(convert(&small, ColumnType::Bool).unwrap().dtype(), &DataType::Boolean);
        assert_eq!(convert(&small, ColumnType::String).unwrap().str().unwrap().get(0), Some("1"));
        let flags = Series::new("x".into(), &[true]);
        assert!(matches!(convert(&flags, ColumnType::Date), Err(ConvertError::Unsupported(_))));
    }

    #[test]
    fn dates_round_trip() {
        for days in [-719_468, -1, 0, 11_016, 19_723, 2_932_896] {
            assert_eq!(parse_date(&format_date(days)), Some(days), "{days}");
        }
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(parse_date("2024-1-5"), Some(19_727));
        assert_eq!(parse_date("24-01-05"), None);
    }
}
