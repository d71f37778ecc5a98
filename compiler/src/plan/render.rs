//! Text renderings of a plan: a readable listing, Graphviz DOT and Mermaid.

use std::fmt::Write;

use super::ir::{ColumnInfo, Plan};

fn column(column: &ColumnInfo) -> String {
    let mut text = format!("{} {}", column.name, column.ty);
    if let Some(levels) = &column.levels {
        let _ = write!(text, "{{{}}}", levels.join(","));
    }
    if column.nullable {
        text.push('?');
    }
    text
}

fn columns(schema: &[ColumnInfo]) -> String {
    schema.iter().map(column).collect::<Vec<_>>().join(", ")
}

/// A readable topological listing with each step's inputs, outputs and schemas.
pub fn to_human(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "plan for `{}` {} — {} steps, spec {} ({})",
        plan.project.name,
        plan.project.version,
        plan.steps.len(),
        plan.spec.file,
        &plan.spec.hash[..plan.spec.hash.len().min(19)],
    );
    let width = plan.steps.len().to_string().len();
    for (index, step) in plan.steps.iter().enumerate() {
        let _ = writeln!(out);
        let service = if step.batch { "" } else { " (service)" };
        let _ = writeln!(out, "{:>width$}. {}{service}", index + 1, step.id);
        if !step.depends_on.is_empty() {
            let _ = writeln!(out, "{:width$}    after {}", "", step.depends_on.join(", "));
        }
        for input in &step.inputs {
            let _ = writeln!(
                out,
                "{:width$}    ← {} = {}.{} ({})",
                "", input.name, input.from.step, input.from.output, input.kind
            );
        }
        for output in &step.outputs {
            match &output.schema {
                Some(schema) => {
                    let _ = writeln!(
                        out,
                        "{:width$}    → {} ({} columns): {}",
                        "",
                        output.name,
                        schema.len(),
                        columns(schema)
                    );
                }
                None => {
                    let _ = writeln!(out, "{:width$}    → {} ({})", "", output.name, output.kind);
                }
            }
        }
        for (path, param) in &step.param_refs {
            let _ = writeln!(out, "{:width$}    {path} = (param) {param}", "");
        }
    }
    if !plan.schedules.is_empty() {
        let _ = writeln!(out);
        for schedule in &plan.schedules {
            let _ = writeln!(out, "schedule {}: {}", schedule.name, schedule.cron);
        }
    }
    out
}

fn quote(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The DAG in Graphviz DOT.
pub fn to_dot(plan: &Plan) -> String {
    let mut out =
        format!("digraph \"{}\" {{\n  rankdir=LR;\n  node [shape=box, style=rounded];\n", quote(&plan.project.name));
    for step in &plan.steps {
        let style = if step.batch { "" } else { ", style=\"rounded,dashed\"" };
        let _ = writeln!(
            out,
            "  \"{}\" [label=\"{}\\n{}\"{style}];",
            quote(&step.id),
            quote(&step.name),
            quote(&step.kind)
        );
    }
    for step in &plan.steps {
        for dependency in &step.depends_on {
            let _ = writeln!(out, "  \"{}\" -> \"{}\";", quote(dependency), quote(&step.id));
        }
    }
    out.push_str("}\n");
    out
}

/// The DAG as a Mermaid flowchart. Step ids hold characters Mermaid ids cannot, so nodes are
/// numbered in plan order and labelled with the id.
pub fn to_mermaid(plan: &Plan) -> String {
    let number = |id: &str| plan.steps.iter().position(|step| step.id == id).map_or(0, |index| index + 1);
    let mut out = String::from("flowchart LR\n");
    for (index, step) in plan.steps.iter().enumerate() {
        let (open, close) = if step.batch { ("[", "]") } else { ("([", "])") };
        let _ = writeln!(out, "  s{}{open}\"{}\"{close}", index + 1, step.id.replace('"', "#quot;"));
    }
    for step in &plan.steps {
        for dependency in &step.depends_on {
            let _ = writeln!(out, "  s{} --> s{}", number(dependency), number(&step.id));
        }
    }
    out
}
