//! Running a custom step's command: `sh -c` in its own process group, output lines streamed to
//! the log, cancellation stopping the whole group, and a failed exit reported with the end of
//! stderr.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;

use crate::exec::{StepContext, StepError};

/// Lines of stderr quoted when the command fails.
const STDERR_TAIL: usize = 20;

/// How often the command is polled for its exit and for cancellation.
const POLL: Duration = Duration::from_millis(20);

/// How long the output readers may outlive the command (a background process can hold the
/// pipes open) before the rest of its process group is stopped.
const DRAIN: Duration = Duration::from_secs(5);

/// Runs `command_line` and waits for it.
pub(super) fn execute(ctx: &StepContext, command_line: &str, env: &[(String, String)]) -> Result<(), StepError> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command_line)
        .current_dir(ctx.project_dir)
        .envs(env.iter().map(|(name, value)| (name.as_str(), value.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|error| StepError::Command(format!("cannot start `sh -c {command_line}`: {error}")))?;
    let group = child.id();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let tail = Mutex::new(VecDeque::with_capacity(STDERR_TAIL));

    std::thread::scope(|scope| {
        let (done, drained) = mpsc::channel::<()>();
        if let Some(stdout) = stdout {
            let done = done.clone();
            scope.spawn(move || {
                stream_lines(stdout, |line| (ctx.log)(line));
                let _ = done.send(());
            });
        }
        if let Some(stderr) = stderr {
            let done = done.clone();
            let tail = &tail;
            scope.spawn(move || {
                stream_lines(stderr, |line| {
                    (ctx.log)(line);
                    if let Ok(mut tail) = tail.lock() {
                        if tail.len() == STDERR_TAIL {
                            tail.pop_front();
                        }
                        tail.push_back(line.to_string());
                    }
                });
                let _ = done.send(());
            });
        }
        drop(done);

        let status = loop {
            if ctx.check_cancelled().is_err() {
                stop_group(group, &mut child);
                return Err(StepError::Cancelled);
            }
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => std::thread::sleep(POLL),
                Err(error) => {
                    stop_group(group, &mut child);
                    return Err(StepError::Command(format!("lost track of the command: {error}")));
                }
            }
        };
        // Wait for both readers; stop stray background processes that keep the pipes open.
        let deadline = std::time::Instant::now() + DRAIN;
        let mut finished = 0;
        while finished < 2 {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match drained.recv_timeout(left) {
                Ok(()) => finished += 1,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    signal_group(group, "KILL");
                    break;
                }
            }
        }
        if status.success() {
            return Ok(());
        }
        let how = match (status.code(), status.signal()) {
            (Some(code), _) => format!("exited with code {code}"),
            (None, Some(signal)) => format!("was killed by signal {signal}"),
            (None, None) => "failed".to_string(),
        };
        let tail = tail.lock().map(|tail| tail.iter().cloned().collect::<Vec<_>>()).unwrap_or_default();
        let mut message = format!("the command of step `{}` {how}: {command_line}", ctx.step_id);
        if tail.is_empty() {
            message.push_str("\n(it wrote nothing to stderr)");
        } else {
            message.push_str("\nlast lines of stderr:");
            for line in tail {
                message.push_str("\n  ");
                message.push_str(&line);
            }
        }
        Err(StepError::Command(message))
    })
}

/// Calls `each` with every line of `reader` (invalid UTF-8 replaced).
fn stream_lines(reader: impl Read, mut each: impl FnMut(&str)) {
    let mut reader = BufReader::new(reader);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buffer);
                each(line.trim_end_matches(['\n', '\r']));
            }
        }
    }
}

/// Stops the command's process group: TERM, a grace period, then KILL.
fn stop_group(group: u32, child: &mut std::process::Child) {
    signal_group(group, "TERM");
    for _ in 0..100 {
        if matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        std::thread::sleep(POLL);
    }
    signal_group(group, "KILL");
    let _ = child.kill();
    let _ = child.wait();
}

/// Sends `signal` to every process of the group (through `kill(1)`: this crate has no unsafe
/// code to call `kill(2)` itself).
fn signal_group(group: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .arg(format!("-{group}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}
