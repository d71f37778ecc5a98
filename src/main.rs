//! The `mlopsc` binary: command-line wiring only. Parses flags, reads files, prints, exits.

mod cli;
mod commands;
mod output;
mod report;

use std::process::ExitCode;

use clap::Parser;

/// Parsing a spec allocates many small nodes; mimalloc makes that markedly cheaper than glibc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Hands the memory the calling thread's heap keeps for reuse back to the operating system.
/// Registered with the runtime, which calls it after every step: mimalloc keeps freed memory
/// for a second, and a run's later steps would otherwise add theirs to what the earlier ones
/// left behind.
#[allow(unsafe_code)] // The one call into mimalloc's C API.
fn release_freed_memory() {
    // SAFETY: `mi_collect` takes no pointers and may be called from any thread at any time.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

/// Exit codes: one function decides them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Everything went well (warnings allowed).
    Ok,
    /// The user's spec or data has errors.
    UserError,
    /// The command line was wrong, or a file could not be read.
    UsageError,
    /// The user stopped a run (Ctrl-C or SIGTERM).
    Interrupted,
}

impl Outcome {
    fn code(self) -> u8 {
        match self {
            Outcome::Ok => 0,
            Outcome::UserError => 1,
            Outcome::UsageError => 2,
            Outcome::Interrupted => 130,
        }
    }
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("internal error: mlopsc crashed, which is a bug in mlopsc, not in your files.");
        eprintln!("{info}");
        eprintln!("please report it with the spec and command that triggered it");
        std::process::exit(101);
    }));
    mlops_runtime::executor::set_memory_release(release_freed_memory);
    let args = cli::Cli::parse();
    ExitCode::from(cli::run(args).code())
}
