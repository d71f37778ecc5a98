//! What Airflow cannot express in a plan, as diagnostics on the spec: cron syntax its cron
//! parser refuses, options it has no use for, and a store that pods cannot share.

use miette::SourceSpan;
use mlops_compiler::ast::Spec;
use mlops_compiler::plan::{Plan, ScheduleInfo};

use super::{Settings, KIND, TARGET_NAME};
use crate::{spans, store_mode, TargetDiagnostic};

/// Every diagnostic of the Airflow target for `plan`.
pub(super) fn check(plan: &Plan, spec: &Spec, settings: &Settings) -> Vec<TargetDiagnostic> {
    let mut diagnostics = Vec::new();
    for schedule in &plan.schedules {
        diagnostics.extend(cron(schedule, spec));
    }
    ignored_options(spec, settings, &mut diagnostics);
    if settings.image.is_some() {
        if let Some(path) = plan.store.as_str().filter(|path| !store_mode::is_shared(path)) {
            let span = spec
                .store
                .as_ref()
                .map(|store| store.span)
                .or_else(|| spans::target_option(spec, KIND, "image"))
                .unwrap_or_else(spans::file_start);
            diagnostics.push(TargetDiagnostic::UnsharedStore {
                target: TARGET_NAME.to_string(),
                store: path.to_string(),
                span,
                help: "each task runs in a pod of its own, so outputs written to a relative store stay in that pod; declare `store` as an absolute path on a volume every pod mounts (through a pod template), or as `(env)\"NAME\"`".to_string(),
            });
        }
    }
    diagnostics
}

/// Airflow's cron parser (croniter) takes `L` in the day-of-month field but not in the
/// day-of-week field (`5L`, the last Friday), and no `LW`.
fn cron(schedule: &ScheduleInfo, spec: &Spec) -> Vec<TargetDiagnostic> {
    let text = schedule.cron.as_str();
    let whole = spans::schedule_cron(spec, &schedule.name).unwrap_or_else(spans::file_start);
    // Positions inside the text map onto the file when it was written in plain quotes.
    let plain = whole.len() == text.len() + 2;
    let mut diagnostics = Vec::new();
    for (index, field) in text.split_whitespace().enumerate() {
        let offset = field.as_ptr() as usize - text.as_ptr() as usize;
        let upper = field.to_ascii_uppercase();
        let (what, help) = match index {
            2 if upper.contains("LW") => (
                "`LW` in the day-of-month field".to_string(),
                "Airflow's cron takes `L` (the last day of the month) and `W` after a day (`28W`, the weekday nearest the 28th), but not `LW`; use one of those".to_string(),
            ),
            // No day name (SUN–SAT) holds an `L`, so any `L` here is the special.
            4 if upper.contains('L') => (
                format!("`{field}` in the day-of-week field"),
                "Airflow's cron takes no `L` in the day-of-week field; use `#` for the n-th such weekday of the month, such as `5#4` for the fourth Friday".to_string(),
            ),
            _ => continue,
        };
        let span = if plain { SourceSpan::new((whole.offset() + 1 + offset).into(), field.len()) } else { whole };
        diagnostics.push(TargetDiagnostic::UnsupportedCron {
            target: TARGET_NAME.to_string(),
            schedule: schedule.name.clone(),
            what,
            span,
            help,
        });
    }
    diagnostics
}

/// Options of `target "airflow"` that it has no use for: `runner` (GitHub Actions), `install`
/// (workers are expected to have mlopsc), and `namespace` without an `image`.
fn ignored_options(spec: &Spec, settings: &Settings, diagnostics: &mut Vec<TargetDiagnostic>) {
    let Some(target) = spans::target_node(spec, KIND) else { return };
    if settings.image.is_none() {
        if let Some(span) = spans::target_option(spec, KIND, "namespace") {
            diagnostics.push(TargetDiagnostic::IgnoredOption {
                target: TARGET_NAME.to_string(),
                option: "namespace".to_string(),
                span,
                help: "`namespace` places the pods of `KubernetesPodOperator` tasks, which Airflow uses only with an `image`; add `image=…` or remove it".to_string(),
            });
        }
    }
    for (option, set, help) in [
        ("runner", target.runner.is_some(), "`runner` is the GitHub Actions `runs-on` label; remove it from `target \"airflow\"`"),
        ("install", target.install.is_some(), "Airflow workers (or the `image`) are expected to have mlopsc on the `PATH`; remove `install` from `target \"airflow\"`"),
    ] {
        if set {
            diagnostics.push(TargetDiagnostic::IgnoredOption {
                target: TARGET_NAME.to_string(),
                option: option.to_string(),
                span: target.span,
                help: help.to_string(),
            });
        }
    }
}
