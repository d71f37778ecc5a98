//! Writing to stdout and stderr without panicking when the reader goes away
//! (`mlopsc plan --json | head -1` closes the pipe early; that is not an error of ours).

use std::io::Write;

/// Writes `text` to stdout; a closed pipe or other write error ends the output quietly.
pub(crate) fn stdout(text: &str) {
    let mut handle = std::io::stdout().lock();
    let _ = handle.write_all(text.as_bytes()).and_then(|()| handle.flush());
}

/// Writes `text` and a newline to stderr, ignoring write errors.
pub(crate) fn stderr_line(text: &str) {
    let mut handle = std::io::stderr().lock();
    let _ = writeln!(handle, "{text}");
}
