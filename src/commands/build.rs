//! `mlopsc build`: compile the spec's plan into orchestrator files (GitHub Actions, Airflow,
//! Kubeflow) and the plan JSON they run, write them atomically, or with `--check` report which
//! are stale.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use clap::{Args, ValueEnum};
use mlops_targets::{Emitted, Options, Target, TemplateOverride};

use super::location;
use crate::report::{self, MessageFormat};
use crate::Outcome;

/// `mlopsc build`.
#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// The spec file
    #[arg(default_value = "mlops.kdl")]
    spec: PathBuf,
    /// Targets to build, comma-separated or repeated (default: the spec's `target` nodes)
    #[arg(long, short = 't', value_enum, value_name = "TARGET", value_delimiter = ',')]
    target: Vec<TargetArg>,
    /// The folder the files are written to, treated as the repository root (default: the
    /// spec's folder)
    #[arg(long, short = 'o', value_name = "DIR")]
    output: Option<PathBuf>,
    /// A folder of templates replacing the embedded ones of the same name
    /// (such as DIR/github-actions/workflow.yml.tera)
    #[arg(long, value_name = "DIR")]
    templates: Option<PathBuf>,
    /// Write nothing; exit 1 listing the files that are missing or differ from what the spec
    /// compiles to
    #[arg(long)]
    check: bool,
    /// How to print diagnostics
    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    message_format: MessageFormat,
}

/// A `--target` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TargetArg {
    /// GitHub Actions workflows under .github/workflows/
    GithubActions,
    /// An Apache Airflow DAG under dags/
    Airflow,
    /// A Kubeflow Pipelines v2 PipelineSpec under kubeflow/
    Kubeflow,
    /// Every target this mlopsc implements
    All,
}

fn error(message: &str, outcome: Outcome) -> Outcome {
    crate::output::stderr_line(&format!("error: {message}"));
    outcome
}

fn note(message: &str) {
    crate::output::stderr_line(&format!("note: {message}"));
}

pub(crate) fn run(args: BuildArgs) -> Result<(), Outcome> {
    let spec = crate::cli::read_spec(&args.spec)?;
    let compilation = mlops_compiler::compile(&spec.source, &spec.file_name);
    report::print(&spec, &compilation.diagnostics, args.message_format);
    let plan = match compilation.plan {
        Some(plan) if !compilation.has_errors() => plan,
        _ => {
            if args.message_format == MessageFormat::Human {
                report::summary(&spec, &compilation.diagnostics);
            }
            return Err(Outcome::UserError);
        }
    };
    let targets = targets(&args.target, &plan)?;
    let out_dir = args.output.clone().unwrap_or_else(|| location::project_dir(&args.spec));
    let out_root = resolve(&out_dir).map_err(|message| error(&message, Outcome::UsageError))?;
    let spec_dir =
        resolve(&location::project_dir(&args.spec)).map_err(|message| error(&message, Outcome::UsageError))?;
    let Some(spec_dir_relative) = relative(&out_root, &spec_dir) else {
        return Err(error(
            &format!(
                "the spec `{}` is outside the output folder `{}`\nhelp: generated workflows run from the output folder (the repository root), so it must hold the spec; pass -o with a folder that contains it",
                spec.display,
                out_dir.display()
            ),
            Outcome::UsageError,
        ));
    };
    let spec_path = if spec_dir_relative.is_empty() {
        spec.file_name.clone()
    } else {
        format!("{spec_dir_relative}/{}", spec.file_name)
    };
    let (overrides, templates_dir) = match &args.templates {
        Some(dir) => {
            let overrides = read_templates(dir)?;
            let relative_dir = resolve(dir).ok().and_then(|absolute| relative(&out_root, &absolute));
            if relative_dir.is_none() {
                note(&format!(
                    "`{}` is outside the output folder, so the generated check workflow rebuilds with the embedded templates",
                    dir.display()
                ));
            }
            (overrides, relative_dir.map(|dir| if dir.is_empty() { ".".to_string() } else { dir }))
        }
        None => (Vec::new(), None),
    };
    let options = Options { spec_path, targets: targets.clone(), templates_dir, overrides };
    let (syntax, _) = mlops_compiler::syntax::parse(&spec.source);
    let emitted = mlops_targets::build(&targets, &plan, &syntax, &options)
        .map_err(|emit_error| error(&emit_error.to_string(), Outcome::UserError))?;
    report::print(&spec, &emitted.diagnostics, args.message_format);
    for message in &emitted.notes {
        note(message);
    }
    if emitted.has_errors() {
        if args.message_format == MessageFormat::Human {
            report::summary(&spec, &emitted.diagnostics);
        }
        crate::output::stderr_line("error: nothing was written");
        return Err(Outcome::UserError);
    }
    if args.check {
        check(&emitted, &out_dir, &args, &targets)
    } else {
        write(&emitted, &out_dir)
    }
}

/// The targets to build: `--target` (`all` is every target), else the spec's `target` nodes.
fn targets(flags: &[TargetArg], plan: &mlops_compiler::plan::Plan) -> Result<Vec<Target>, Outcome> {
    let mut chosen = Vec::new();
    if flags.is_empty() {
        chosen.extend(plan.targets.iter().filter_map(|info| Target::from_name(&info.kind)));
        if chosen.is_empty() {
            return Err(error(
                "the spec declares no `target`, so there is nothing to build\nhelp: pass --target github-actions|airflow|kubeflow|all, or add `target \"github-actions\"` to the spec",
                Outcome::UsageError,
            ));
        }
    }
    for flag in flags {
        match flag {
            TargetArg::GithubActions => chosen.push(Target::GithubActions),
            TargetArg::Airflow => chosen.push(Target::Airflow),
            TargetArg::Kubeflow => chosen.push(Target::Kubeflow),
            TargetArg::All => chosen.extend(Target::ALL),
        }
    }
    chosen.sort();
    chosen.dedup();
    Ok(chosen)
}

/// `path` made absolute with symbolic links resolved, as far as it exists.
fn resolve(path: &Path) -> Result<PathBuf, String> {
    let absolute =
        std::path::absolute(path).map_err(|source| format!("cannot resolve `{}`: {source}", path.display()))?;
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(canonical) = existing.canonicalize() {
            let mut resolved = canonical;
            for component in rest.iter().rev() {
                match component {
                    Component::ParentDir => {
                        resolved.pop();
                    }
                    Component::CurDir => {}
                    other => resolved.push(other.as_os_str()),
                }
            }
            return Ok(resolved);
        }
        match (existing.parent(), existing.components().next_back()) {
            (Some(parent), Some(component)) => {
                rest.push(component);
                existing = parent;
            }
            _ => return Ok(absolute.clone()),
        }
    }
}

/// `path` relative to `base`, `/`-separated (empty when they are the same); `None` when `path`
/// is not inside `base` or is not UTF-8.
fn relative(base: &Path, path: &Path) -> Option<String> {
    let rest = path.strip_prefix(base).ok()?;
    let parts: Option<Vec<&str>> = rest.components().map(|component| component.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}

/// Every `*.tera` file under `dir`, named by its path relative to `dir`.
fn read_templates(dir: &Path) -> Result<Vec<TemplateOverride>, Outcome> {
    if !dir.is_dir() {
        return Err(error(&format!("--templates `{}` is not a folder", dir.display()), Outcome::UsageError));
    }
    let mut found = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let entries = std::fs::read_dir(&folder)
            .map_err(|source| error(&format!("cannot read `{}`: {source}", folder.display()), Outcome::UsageError))?;
        for entry in entries {
            let path = entry
                .map_err(|source| error(&format!("cannot read `{}`: {source}", folder.display()), Outcome::UsageError))?
                .path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|extension| extension == "tera") {
                let Some(name) = relative(dir, &path) else { continue };
                let text = std::fs::read_to_string(&path).map_err(|source| {
                    error(&format!("cannot read template `{}`: {source}", path.display()), Outcome::UsageError)
                })?;
                found.insert(name, (text, path.display().to_string()));
            }
        }
    }
    Ok(found.into_iter().map(|(name, (text, origin))| TemplateOverride { name, text, origin }).collect())
}

/// Compares the files with what is on disk; exit status 1 when any is missing or differs.
fn check(emitted: &Emitted, out_dir: &Path, args: &BuildArgs, targets: &[Target]) -> Result<(), Outcome> {
    let mut stale = Vec::new();
    for file in &emitted.files {
        match std::fs::read(out_dir.join(&file.path)) {
            Ok(bytes) if bytes == file.bytes => {}
            Ok(_) => stale.push((file.path.as_str(), "differs")),
            Err(_) => stale.push((file.path.as_str(), "missing")),
        }
    }
    let shown = out_dir.display();
    if stale.is_empty() {
        crate::output::stderr_line(&format!("{shown}: {} generated files are up to date", emitted.files.len()));
        return Ok(());
    }
    let mut command = format!("mlopsc build {}", args.spec.display());
    let names: Vec<&str> = targets.iter().map(|target| target.name()).collect();
    command.push_str(&format!(" --target {}", names.join(",")));
    if let Some(output) = &args.output {
        command.push_str(&format!(" --output {}", output.display()));
    }
    if let Some(templates) = &args.templates {
        command.push_str(&format!(" --templates {}", templates.display()));
    }
    let mut message = format!("{} of {} generated files in `{shown}` are stale:", stale.len(), emitted.files.len());
    for (path, why) in &stale {
        message.push_str(&format!("\n  {path} ({why})"));
    }
    message.push_str(&format!("\nhelp: run `{command}` and commit the result"));
    crate::output::stderr_line(&format!("error: {message}"));
    if args.message_format == MessageFormat::Github {
        for (path, why) in &stale {
            let file = out_dir.join(path).display().to_string().replace(',', "%2C").replace(':', "%3A");
            crate::output::stdout(&format!(
                "::error file={file},title=mlopsc build --check::generated file is stale ({why}); run `{command}` and commit the result\n"
            ));
        }
    }
    Err(Outcome::UserError)
}

/// Writes every file that changed, each through a temporary file renamed into place.
fn write(emitted: &Emitted, out_dir: &Path) -> Result<(), Outcome> {
    let mut written = 0;
    for file in &emitted.files {
        let path = out_dir.join(&file.path);
        if std::fs::read(&path).is_ok_and(|bytes| bytes == file.bytes) {
            continue;
        }
        write_atomically(&path, &file.bytes)
            .map_err(|message| error(&format!("cannot write `{}`: {message}", path.display()), Outcome::UserError))?;
        crate::output::stderr_line(&format!("wrote {}", path.display()));
        written += 1;
    }
    let unchanged = emitted.files.len() - written;
    if unchanged > 0 {
        crate::output::stderr_line(&format!("{}: {written} written, {unchanged} unchanged", out_dir.display()));
    }
    Ok(())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let parent = path.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|source| format!("cannot create `{}`: {source}", parent.display()))?;
    let name = path.file_name().map_or_else(String::new, |name| name.to_string_lossy().into_owned());
    let temporary = parent.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = std::fs::File::create(&temporary)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::rename(&temporary, path));
    if let Err(source) = result {
        let _ = std::fs::remove_file(&temporary);
        return Err(source.to_string());
    }
    Ok(())
}
