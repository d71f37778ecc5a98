//! `mlopsc lineage NAME@VERSION|NAME@ALIAS`: a model traced back to its run, spec, step runs,
//! data files, and every registration and alias move (`mlops_runtime::lineage`).

use clap::Args;
use mlops_runtime::lineage::{self, Lineage};

use super::location::{self, StoreArgs};
use super::table::{self, Table};
use crate::Outcome;

/// `mlopsc lineage …`.
#[derive(Debug, Args)]
pub(crate) struct LineageArgs {
    /// The model: NAME@VERSION or NAME@ALIAS (NAME alone means the latest version)
    model: String,
    /// Print JSON instead of text
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    location: StoreArgs,
}

pub(crate) fn run(args: LineageArgs) -> Result<(), Outcome> {
    let store = args.location.open()?;
    let traced = location::with_connection(
        &store,
        "`mlopsc models list` shows the registered models and their aliases",
        |connection| lineage::trace(&store, connection, &args.model),
    )?;
    if args.json {
        table::print_json(&traced);
    } else {
        crate::output::stdout(&text(&traced));
    }
    Ok(())
}

fn indented(text: &str) -> String {
    text.lines().map(|line| format!("  {line}\n")).collect()
}

fn text(lineage: &Lineage) -> String {
    let model = &lineage.model;
    let run = &lineage.run;
    let aliases = if model.aliases.is_empty() { String::new() } else { format!("  ({})", model.aliases.join(", ")) };
    let mut out = format!("{}@{}{aliases}\n", model.name, model.version);
    let mut fields = Table::new(&["", ""]);
    let mut field = |name: &str, value: String| fields.row(vec![name.to_string(), value]);
    field("model", model.model_hash.clone());
    field("registered", format!("{} by {}, step {}", table::time(&model.created_at), model.created_by, model.step_id));
    field(
        "run",
        format!("{} ({}), started {} by {}@{}", run.id, run.status, table::time(&run.started_at), run.user, run.host),
    );
    field("command", run.command.clone());
    field("spec", format!("{}  {}", run.spec_file, run.spec_hash));
    field("mlopsc", run.mlopsc_version.clone());
    if let Some(train) = &lineage.train_step {
        field("trained by", train.clone());
    }
    out.push_str(&fields.render().lines().skip(1).map(|line| format!("  {line}\n")).collect::<String>());

    out.push_str("\nsteps, from the model back to the data\n");
    for step in &lineage.steps {
        let origin = if step.computed_in_run != step.run_id {
            format!(", computed in run {}", step.computed_in_run)
        } else if step.run_id != run.id {
            format!(" in run {}", step.run_id)
        } else {
            String::new()
        };
        out.push_str(&format!("  {} ({}): {}{origin}\n", step.step_id, step.kind, step.status));
        if !step.upstream.is_empty() {
            out.push_str(&format!("      reads from  {}\n", step.upstream.join(", ")));
        }
        for (name, hash) in &step.inputs {
            out.push_str(&format!("      in   {name} = {hash}\n"));
        }
        for (name, output) in &step.outputs {
            out.push_str(&format!("      out  {name} = {} ({} bytes)\n", output.hash, table::bytes(output.bytes)));
        }
    }
    for step in &lineage.missing {
        out.push_str(&format!("  {step}: no recorded step run (its outputs came from outside the store)\n"));
    }

    out.push_str("\ndata files\n");
    if lineage.data_files.is_empty() {
        out.push_str("  (none recorded)\n");
    } else {
        let mut files = Table::new(&["STEP", "PATH", ">BYTES", "HASH"]);
        for file in &lineage.data_files {
            files.row(vec![file.step_id.clone(), file.path.clone(), table::bytes(file.bytes), file.hash.clone()]);
        }
        out.push_str(&indented(&files.render()));
    }

    out.push_str("\nregistration and alias changes\n");
    out.push_str(&indented(&super::models::history_table(&lineage.alias_changes)));
    out
}
