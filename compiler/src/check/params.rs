//! Parameters and their uses, and schedules.

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
                let help = did_you_mean(name, &names).unwrap_or_else(|| {
                    format!("declare it in the `params` block: params {{ {name} … }}")
                });
                self.errors.push(CheckError::UnknownParam { param: name.to_string(), span: usage.name.span, help });
                continue;
            };
            let value = &declared.value.value;
            let fits = match (usage.kind, value) {
                (ValueKind::Any, _) => true,
                (ValueKind::Int, Value::Int(_)) => true,
                (ValueKind::Float, Value::Int(_) | Value::Float(_)) => true,
                (ValueKind::Bool, Value::Bool(_)) => true,
                (ValueKind::String, Value::Str(_)) => true,
                _ => false,
            };
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
                        help: did_you_mean(text, usage.choices).unwrap_or_else(|| "change the parameter's value".to_string()),
                    });
                }
            }
        }
    }

    /// Checks a cron expression: exactly five fields, each valid.
    pub(crate) fn schedule(&mut self, schedule: &Schedule) {
        let cron = schedule.cron.as_str();
        let fields = cron.split_whitespace().count();
        let problem = if fields != 5 {
            Some(format!("expected 5 fields (minute hour day month weekday), found {fields}"))
        } else {
            croner::parser::CronParser::builder()
                .seconds(croner::parser::Seconds::Disallowed)
                .build()
                .parse(cron)
                .err()
                .map(|error| error.to_string())
        };
        if let Some(message) = problem {
            self.errors.push(CheckError::InvalidCron {
                cron: cron.to_string(),
                message,
                span: schedule.cron.span,
                help: "five fields: minute hour day-of-month month day-of-week, such as \"0 3 * * 1\" (Mondays 03:00 UTC)"
                    .to_string(),
            });
        }
    }
}
