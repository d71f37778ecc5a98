//! The `tera` templates: embedded in the binary, replaceable one by one with `--templates DIR`,
//! and the filters they write YAML and shell with. Only this module sees `tera`.

use serde::Serialize;
use tera::{Context, Kwargs, State, Tera, Value};

use crate::{EmitError, Target, TemplateOverride};

/// A template compiled into the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedTemplate {
    /// Its name, which is also its path under `targets/templates/` and under `--templates DIR`.
    pub name: &'static str,
    /// Its text.
    pub text: &'static str,
}

/// Every template name of every target, for messages.
fn known_names() -> Vec<&'static str> {
    Target::ALL.iter().flat_map(|target| target.templates()).map(|template| template.name).collect()
}

/// Refuses overrides that replace nothing (a misspelt file name would otherwise be ignored).
pub(crate) fn check_overrides(overrides: &[TemplateOverride]) -> Result<(), EmitError> {
    let known = known_names();
    match overrides.iter().find(|template| !known.contains(&template.name.as_str())) {
        Some(unknown) => Err(EmitError::UnknownTemplate {
            origin: unknown.origin.clone(),
            known: known.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", "),
        }),
        None => Ok(()),
    }
}

/// A target's templates, each embedded or overridden, ready to render.
pub(crate) struct Engine {
    tera: Tera,
    /// Template name → where its text came from (the override's file, or the embedded name).
    origins: Vec<(&'static str, String)>,
}

impl Engine {
    /// Loads `embedded`, replacing any template an override names.
    pub(crate) fn new(embedded: &[EmbeddedTemplate], overrides: &[TemplateOverride]) -> Result<Engine, EmitError> {
        let mut tera = Tera::new();
        // Nothing here is HTML; escaping would corrupt `&`, `<` and quotes in YAML and shell.
        tera.autoescape_on(Vec::<&str>::new());
        tera.register_filter("yaml", yaml_filter);
        tera.register_filter("yaml_block", yaml_block_filter);
        tera.register_filter("shell", shell_filter);
        let mut origins = Vec::new();
        for template in embedded {
            let (text, origin) = match overrides.iter().find(|candidate| candidate.name == template.name) {
                Some(replacement) => (replacement.text.as_str(), replacement.origin.clone()),
                None => (template.text, template.name.to_string()),
            };
            tera.add_raw_template(template.name, text)
                .map_err(|error| EmitError::Template { origin: origin.clone(), message: message(&error) })?;
            origins.push((template.name, origin));
        }
        Ok(Engine { tera, origins })
    }

    /// Renders template `name` with `context`.
    pub(crate) fn render(&self, name: &str, context: &impl Serialize) -> Result<String, EmitError> {
        let origin = self
            .origins
            .iter()
            .find(|(candidate, _)| *candidate == name)
            .map_or_else(|| name.to_string(), |(_, origin)| origin.clone());
        let context = Context::from_serialize(context).map_err(|error| EmitError::Template {
            origin: origin.clone(),
            message: format!("internal error: the template context does not serialize: {}", message(&error)),
        })?;
        self.tera.render(name, &context).map_err(|error| EmitError::Template { origin, message: message(&error) })
    }
}

/// Tera's report with its causes, trimmed.
fn message(error: &tera::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text.trim().to_string()
}

/// `{{ value | yaml }}`: a string as a YAML scalar (quoted when needed), a number or boolean as
/// itself, nothing as `null`.
fn yaml_filter(value: &Value, _: Kwargs, _: &State) -> String {
    if let Some(text) = value.as_str() {
        crate::yaml::scalar(text)
    } else if let Some(flag) = value.as_bool() {
        flag.to_string()
    } else if let Some(int) = value.as_i64() {
        int.to_string()
    } else if let Some(float) = value.as_f64() {
        format!("{float:?}")
    } else if value.is_none() || value.is_undefined() {
        "null".to_string()
    } else {
        crate::yaml::double_quoted(&value.to_string())
    }
}

/// `{{ script | yaml_block(indent=10) }}`: a multi-line string as a literal block whose lines
/// are indented by `indent` spaces.
fn yaml_block_filter(value: &str, kwargs: Kwargs, _: &State) -> tera::TeraResult<String> {
    let indent = kwargs.get::<usize>("indent")?.unwrap_or(2).min(200);
    Ok(crate::yaml::block(value, indent))
}

/// `{{ path | shell }}`: a string as one POSIX shell word.
fn shell_filter(value: &str, _: Kwargs, _: &State) -> String {
    crate::shell::quote(value)
}
