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

/// mimalloc gives freed memory back to the OS after a short delay, and the next large
/// allocation faults it in again, zeroed, 2 MiB at a time. The data steps allocate and free
/// hundreds of megabytes in turn; that churn cost about a third of their time (ingest and
/// transform of a million rows: 1.4 s → 1.0 s and 1.7 s → 1.0 s without it). Freed memory is
/// kept for reuse instead: an mlopsc process is short-lived, and its peak is the same.
#[allow(unsafe_code)]
fn keep_freed_memory() {
    // `mi_option_purge_delay` in mimalloc v3's `mi_option_e` (include/mimalloc.h); the Rust
    // binding names only some options.
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: `mi_option_set` is not thread-safe; it is called first thing in `main`, before
    // any other thread exists. The option is a valid `mi_option_t`, -1 a valid delay ("never").
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, -1) }
}

fn main() -> ExitCode {
    keep_freed_memory();
    std::panic::set_hook(Box::new(|info| {
        eprintln!("internal error: mlopsc crashed, which is a bug in mlopsc, not in your files.");
        eprintln!("{info}");
        eprintln!("please report it with the spec and command that triggered it");
        std::process::exit(101);
    }));
    let args = cli::Cli::parse();
    ExitCode::from(cli::run(args).code())
}
