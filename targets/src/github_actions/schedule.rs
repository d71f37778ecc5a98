//! Which cron expressions GitHub Actions can run: the five POSIX fields with numbers, names,
//! `*`, `,`, `-` and `/` only (no `L`, `W`, `#` or `?`, Sunday is `0`), and no schedule more
//! frequent than every five minutes.

use miette::SourceSpan;
use mlops_compiler::ast::Spec;
use mlops_compiler::plan::ScheduleInfo;

use super::TARGET_NAME;
use crate::{spans, TargetDiagnostic};

/// GitHub runs scheduled workflows at most this often, in minutes.
const SHORTEST_INTERVAL: u32 = 5;

const FIELDS: [&str; 5] = ["minute", "hour", "day-of-month", "month", "day-of-week"];
const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// Every problem GitHub Actions has with `schedule`'s cron.
pub(super) fn check(schedule: &ScheduleInfo, spec: &Spec) -> Vec<TargetDiagnostic> {
    let cron = schedule.cron.as_str();
    let whole = spans::schedule_cron(spec, &schedule.name).unwrap_or_else(spans::file_start);
    // Positions inside the text map onto the file when it was written in plain quotes.
    let plain = whole.len() == cron.len() + 2;
    let fields: Vec<(usize, &str)> =
        cron.split_whitespace().map(|field| (field.as_ptr() as usize - cron.as_ptr() as usize, field)).collect();
    let span_of = |offset: usize, field: &str| {
        if plain {
            SourceSpan::new((whole.offset() + 1 + offset).into(), field.len())
        } else {
            whole
        }
    };
    let mut diagnostics = Vec::new();
    if fields.len() != FIELDS.len() {
        diagnostics.push(TargetDiagnostic::UnsupportedCron {
            target: TARGET_NAME.to_string(),
            schedule: schedule.name.clone(),
            what: format!("a cron with {} fields", fields.len()),
            span: whole,
            help: "GitHub Actions takes five fields: minute hour day-of-month month day-of-week (no seconds)"
                .to_string(),
        });
        return diagnostics;
    }
    for (index, &(offset, field)) in fields.iter().enumerate() {
        if let Some((what, help)) = field_problem(index, field) {
            diagnostics.push(TargetDiagnostic::UnsupportedCron {
                target: TARGET_NAME.to_string(),
                schedule: schedule.name.clone(),
                what,
                span: span_of(offset, field),
                help,
            });
        }
    }
    if diagnostics.is_empty() {
        let (offset, minutes) = fields[0];
        if let Some(every) = shortest_gap(minutes).filter(|gap| *gap < SHORTEST_INTERVAL) {
            diagnostics.push(TargetDiagnostic::ScheduleTooFrequent {
                target: TARGET_NAME.to_string(),
                schedule: schedule.name.clone(),
                every,
                limit: SHORTEST_INTERVAL,
                span: span_of(offset, minutes),
                help: format!(
                    "GitHub Actions would start the workflow less often than this; fire at most every {SHORTEST_INTERVAL} minutes, such as \"*/{SHORTEST_INTERVAL} * * * *\""
                ),
            });
        }
    }
    diagnostics
}

/// What GitHub cannot take in field `index`, with the help line.
fn field_problem(index: usize, field: &str) -> Option<(String, String)> {
    let name = FIELDS[index];
    for item in field.split(',') {
        let range = item.split_once('/').map_or(item, |(range, _)| range);
        for part in range.split('-') {
            if part == "*" || part.chars().all(|c| c.is_ascii_digit()) && !part.is_empty() {
                if index == 4 && part == "7" {
                    return Some((
                        "`7` for Sunday in the day-of-week field".to_string(),
                        "GitHub Actions numbers the days 0 (Sunday) to 6 (Saturday); write `0` for Sunday".to_string(),
                    ));
                }
                continue;
            }
            let names: &[&str] = match index {
                3 => &MONTHS,
                4 => &DAYS,
                _ => &[],
            };
            if names.contains(&part.to_ascii_uppercase().as_str()) {
                continue;
            }
            return Some((
                format!("`{part}` in the {name} field"),
                "GitHub Actions cron takes numbers, `*`, `,`, `-` and `/` (and JAN–DEC, SUN–SAT names) only: no `L`, `W`, `#` or `?`; list the days instead".to_string(),
            ));
        }
    }
    None
}

/// The shortest gap in minutes between two firings within an hour, from the minute field;
/// `None` when it fires once an hour or the field is not understood.
fn shortest_gap(field: &str) -> Option<u32> {
    let mut minutes = Vec::new();
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (range, step.parse::<u32>().ok()?),
            None => (item, 1),
        };
        let (low, high) = match range.split_once('-') {
            _ if range == "*" => (0, 59),
            Some((low, high)) => (low.parse::<u32>().ok()?, high.parse::<u32>().ok()?),
            None => {
                let low = range.parse::<u32>().ok()?;
                (low, if item.contains('/') { 59 } else { low })
            }
        };
        if step == 0 {
            return None;
        }
        minutes.extend((low..=high.min(59)).step_by(step as usize));
    }
    minutes.sort_unstable();
    minutes.dedup();
    minutes.windows(2).map(|pair| pair[1] - pair[0]).min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_posix_fields_and_names() {
        for field in ["*", "0", "1-5", "*/15", "MON-FRI", "1,3,5", "0-30/10"] {
            let index = if field.contains("MON") { 4 } else { 0 };
            assert_eq!(field_problem(index, field), None, "{field}");
        }
        assert_eq!(field_problem(3, "jan"), None);
    }

    #[test]
    fn refuses_quartz_specials_and_sunday_seven() {
        assert!(field_problem(2, "L").is_some());
        assert!(field_problem(2, "15W").is_some());
        assert!(field_problem(4, "1#2").is_some());
        assert!(field_problem(4, "?").is_some());
        assert!(field_problem(4, "5L").is_some());
        assert!(field_problem(4, "7").is_some_and(|(what, _)| what.contains("Sunday")));
        assert!(field_problem(4, "5-7").is_some());
    }

    #[test]
    fn measures_the_shortest_gap() {
        assert_eq!(shortest_gap("*"), Some(1));
        assert_eq!(shortest_gap("*/2"), Some(2));
        assert_eq!(shortest_gap("*/5"), Some(5));
        assert_eq!(shortest_gap("0"), None);
        assert_eq!(shortest_gap("0,3"), Some(3));
        assert_eq!(shortest_gap("10/20"), Some(20));
    }
}
