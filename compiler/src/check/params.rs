//! Parameters and their uses, and schedules.

use miette::SourceSpan;
use mlops_stdlib::signature::ValueKind;

use super::{CheckError, Checker};
use crate::ast::{Schedule, Spec, Value};
use crate::suggest::{did_you_mean, one_of};

impl Checker {
    /// Records declared parameters and checks every `(param)` use against them.
    pub(crate) fn params(&mut self, spec: &Spec) {
        for param in &spec.params {
            self.checked.params.insert(param.name.value.clone(), param.value.value.clone());
        }
        for usage in &spec.param_uses {
            let name = usage.name.as_str();
            let Some(declared) = spec.params.iter().find(|param| param.name.value == name) else {
                let names: Vec<&str> = spec.params.iter().map(|param| param.name.as_str()).collect();
                let help = did_you_mean(name, &names)
                    .unwrap_or_else(|| format!("declare it in the `params` block: params {{ {name} … }}"));
                self.errors.push(CheckError::UnknownParam { param: name.to_string(), span: usage.name.span, help });
                continue;
            };
            let value = &declared.value.value;
            let fits = matches!(
                (usage.kind, value),
                (ValueKind::Any, _)
                    | (ValueKind::Int, Value::Int(_))
                    | (ValueKind::Float, Value::Int(_) | Value::Float(_))
                    | (ValueKind::Bool, Value::Bool(_))
                    | (ValueKind::String, Value::Str(_))
            );
            if !fits {
                self.errors.push(CheckError::ParamType {
                    what: usage.what.clone(),
                    expected: usage.kind.describe().to_string(),
                    param: name.to_string(),
                    found: value.describe().to_string(),
                    span: usage.name.span,
                    declared: declared.value.span,
                    help: format!("give `{name}` {} in `params`, or use a literal here", usage.kind.describe()),
                });
                continue;
            }
            if let Some(number) = value.as_f64() {
                if !usage.range.contains(number) {
                    self.errors.push(CheckError::ParamOutOfRange {
                        what: usage.what.clone(),
                        range: usage.range.describe(),
                        param: name.to_string(),
                        value: number.to_string(),
                        span: usage.name.span,
                        declared: declared.value.span,
                        help: format!("it is the {}", usage.doc),
                    });
                }
            }
            if let Value::Str(text) = value {
                if !usage.choices.is_empty() && !usage.choices.contains(&text.as_str()) {
                    self.errors.push(CheckError::ParamOutOfRange {
                        what: usage.what.clone(),
                        range: format!("one of {}", one_of(usage.choices)),
                        param: name.to_string(),
                        value: format!("`{text}`"),
                        span: usage.name.span,
                        declared: declared.value.span,
                        help: did_you_mean(text, usage.choices)
                            .unwrap_or_else(|| "change the parameter's value".to_string()),
                    });
                }
            }
        }
    }

    /// Checks a cron expression: exactly five fields, each valid.
    pub(crate) fn schedule(&mut self, schedule: &Schedule) {
        let cron = schedule.cron.as_str();
        let fields: Vec<(usize, &str)> =
            cron.split_whitespace().map(|field| (field.as_ptr() as usize - cron.as_ptr() as usize, field)).collect();
        // Positions inside the text map onto the file when it was written in plain quotes.
        let plain = schedule.cron.span.len() == cron.len() + 2;
        let whole = schedule.cron.span;
        let problem = if fields.len() != 5 {
            Some((format!("expected 5 fields (minute hour day month weekday), found {}", fields.len()), whole))
        } else {
            let field_problem = fields.iter().zip(CRON_FIELDS).find_map(|(&(offset, field), (name, min, max))| {
                let message = field_problem(field, name, min, max)?;
                let span =
                    if plain { SourceSpan::new((whole.offset() + 1 + offset).into(), field.len()) } else { whole };
                Some((message, span))
            });
            field_problem.or_else(|| {
                croner::parser::CronParser::builder()
                    .seconds(croner::parser::Seconds::Disallowed)
                    .build()
                    .parse(cron)
                    .err()
                    .map(|error| (croner_message(&error.to_string()), whole))
            })
        };
        if let Some((message, span)) = problem {
            self.errors.push(CheckError::InvalidCron {
                cron: cron.to_string(),
                message,
                span,
                help:
                    "five fields: minute hour day-of-month month day-of-week, such as \"0 3 * * 1\" (Mondays 03:00 UTC)"
                        .to_string(),
            });
        }
    }
}

/// The five cron fields: name, smallest and largest value (7 is Sunday, like 0).
const CRON_FIELDS: [(&str, u32, u32); 5] =
    [("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7)];

/// What is wrong with the numbers of one cron field, if anything. Names such as `MON` and
/// special characters such as `L` are left to the cron parser.
fn field_problem(field: &str, name: &str, min: u32, max: u32) -> Option<String> {
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (item, None),
        };
        if step.and_then(|step| step.parse::<u32>().ok()) == Some(0) {
            return Some(format!("the {name} step `{item}` is zero"));
        }
        let bounds: Vec<Option<u32>> = range.split('-').map(|bound| bound.parse::<u32>().ok()).collect();
        if let Some(value) = bounds.iter().flatten().find(|value| **value < min || **value > max) {
            return Some(format!("{name} `{value}` is out of range, expected {min} to {max}"));
        }
        if let [Some(low), Some(high)] = bounds[..] {
            if low > high {
                return Some(format!("the {name} range `{range}` runs backwards"));
            }
        }
    }
    None
}

/// The cron parser's message in the style of ours: no "Component error:" prefix, lowercase
/// start, no final period.
fn croner_message(message: &str) -> String {
    let message = message.split_once(": ").map_or(message, |(_, rest)| rest).trim().trim_end_matches('.');
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "the cron parser rejects it".to_string(),
    }
}
