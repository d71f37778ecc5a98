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

/// Turns transparent huge pages off for this process. A data step touches a few hundred MiB of
/// fresh memory at 1M rows, and the first touch of a huge page costs far more than that of
/// 512 small ones wherever the kernel has to find a free 2 MiB block for it: on a virtual
/// machine whose free blocks go back to the host, first touching 400 MiB took 0.7 s in huge
/// pages and 0.15 s in small ones. Steps stream row groups, so the TLB gains little from huge
/// pages, and XGBoost's training measured no slower without them. This is what mimalloc's
/// `MIMALLOC_ALLOW_THP=0` does. Linux keeps the setting for child processes, so the commands
/// custom steps run inherit it.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // One system call with integer arguments.
fn prefer_small_pages() {
    // SAFETY: `PR_SET_THP_DISABLE` takes integers only and changes no memory of ours. A
    // kernel without it returns an error, which leaves things as they were.
    let _ = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
}

#[cfg(not(target_os = "linux"))]
fn prefer_small_pages() {}

/// Hands the memory the calling thread's heap keeps for reuse back to the operating system.
/// Registered with the runtime, which calls it before every step that allocates outside this
/// program's allocator (XGBoost's training, a command's process): such a step could not reuse
/// what mimalloc keeps, and its memory would add to it.
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
    prefer_small_pages();
    mlops_runtime::executor::set_memory_release(release_freed_memory);
    let args = cli::Cli::parse();
    ExitCode::from(cli::run(args).code())
}
