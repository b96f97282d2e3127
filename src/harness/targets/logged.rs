//! Long setup commands (pip, the base image script): their output goes to a log file and, line
//! by line, to the progress display; a failure carries the last lines.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::harness::progress::Phase;

const TAIL_LINES: usize = 20;

/// Runs `command` to its end (blocking). `Err` says how it ended, with its last lines.
pub(crate) fn run_logged(command: &mut Command, phase: &Phase, log: &Path) -> Result<(), String> {
    let mut log_file =
        std::fs::File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {:?}: {e}", command.get_program()))?;
    let (lines, received) = std::sync::mpsc::channel::<String>();
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|stream| {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        })
    })
    .collect();
    drop(lines);
    let mut tail = VecDeque::new();
    for line in received {
        let _ = writeln!(log_file, "{line}");
        phase.detail(&line);
        tail.push_back(line);
        if tail.len() > TAIL_LINES {
            tail.pop_front();
        }
    }
    for reader in readers {
        let _ = reader.join();
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if status.success() {
        return Ok(());
    }
    let tail: Vec<String> = tail.into_iter().map(|line| format!("  | {line}")).collect();
    Err(format!(
        "it ended with {status}; the full log is {}; its last lines:\n{}",
        log.display(),
        tail.join("\n")
    ))
}
