//! Shared by the integration tests: running the `djc` binary, scratch suites, watching processes,
//! and running the tests that need a local Django or Docker, which are reported as ignored, with
//! the reason, where what they need is missing.
// Each test binary compiles this module and uses a different part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn djc(args: &[&str], cwd: &Path) -> Output {
    djc_with_env(args, cwd, &[])
}

pub fn djc_with_env(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_djc"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .output()
        .expect("djc runs")
}

/// The docker CLI, for looking at what a run left behind.
pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI runs")
}

pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A scratch copy of the scenarios and snapshots of the given scenario ids, for tests that edit
/// them.
pub fn scratch_suite(ids: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    for id in ids {
        for (folder, extension) in [("scenarios", "toml"), ("snapshots", "snap")] {
            let from = repo().join(folder).join(format!("{id}.{extension}"));
            let to = dir.path().join(folder).join(format!("{id}.{extension}"));
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
        }
        // The files of the cells whose record differs: `<name>@<cells>.snap`.
        let (topic, name) = id.split_once('/').unwrap();
        let prefix = format!("{name}@");
        for entry in std::fs::read_dir(repo().join("snapshots").join(topic)).unwrap() {
            let file_name = entry.unwrap().file_name();
            if file_name.to_string_lossy().starts_with(&prefix) {
                let to = dir.path().join("snapshots").join(topic).join(&file_name);
                std::fs::copy(repo().join("snapshots").join(topic).join(&file_name), to).unwrap();
            }
        }
    }
    std::fs::copy(
        repo().join("scenarios/profiles.toml"),
        dir.path().join("scenarios/profiles.toml"),
    )
    .unwrap();
    dir
}

/// Starts `djc` with `args` in `cwd`, its output captured.
pub fn spawn_djc(args: &[&str], cwd: &Path) -> std::process::Child {
    spawn_marked_djc(args, cwd, "")
}

/// The environment variable that marks every process a test's djc starts.
const MARK: &str = "DJC_TEST_MARK";

/// Starts `djc` like [`spawn_djc`], with `mark` in the environment of djc and of everything it
/// starts, so [`marked_processes`] finds them even once djc is gone.
pub fn spawn_marked_djc(args: &[&str], cwd: &Path, mark: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_djc"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env(MARK, mark)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("djc starts")
}

/// A mark no other test uses.
pub fn unique_mark(test: &str) -> String {
    format!(
        "{test}-{}-{:?}",
        std::process::id(),
        std::time::Instant::now()
    )
}

/// The running processes whose environment carries `mark`.
pub fn marked_processes(mark: &str) -> Vec<u32> {
    let wanted = format!("{MARK}={mark}");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                environ
                    .split(|&b| b == 0)
                    .any(|var| var == wanted.as_bytes())
            })
        })
        .filter(|pid| running(*pid))
        .collect()
}

/// Sends `signal` to process `pid`.
pub fn send_signal(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) signals a process this test started; it touches no memory.
    unsafe {
        libc::kill(pid as i32, signal);
    }
}

/// Starts `djc` with `args` in `cwd`, waits until `ready` says so (polled, up to 60 s), then sends
/// `signal`, and returns its exit and output.
pub fn signal_djc(
    args: &[&str],
    cwd: &Path,
    signal: libc::c_int,
    ready: impl Fn(u32) -> bool,
) -> Output {
    let child = spawn_djc(args, cwd);
    let pid = child.id();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !ready(pid) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    send_signal(pid, signal);
    child.wait_with_output().expect("djc exits")
}

/// The processes whose parent is `pid`.
pub fn children_of(pid: u32) -> Vec<u32> {
    let output = Command::new("pgrep")
        .args(["-P", &pid.to_string()])
        .output()
        .expect("pgrep runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect()
}

/// Every process below `pid`: children, their children, and so on.
pub fn descendants_of(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut next = vec![pid];
    while let Some(parent) = next.pop() {
        for child in children_of(parent) {
            found.push(child);
            next.push(child);
        }
    }
    found
}

/// The gunicorn processes (masters and workers) below `pid`.
pub fn gunicorns_below(pid: u32) -> Vec<u32> {
    descendants_of(pid)
        .into_iter()
        .filter(|child| {
            std::fs::read(format!("/proc/{child}/cmdline"))
                .is_ok_and(|line| String::from_utf8_lossy(&line).contains("gunicorn"))
        })
        .collect()
}

/// Whether process `pid` still runs: a zombie (killed, waiting for a reaper that a sandbox's
/// init may never be) runs no more.
pub fn running(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state follows the command name in parentheses, which may itself hold spaces.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    state.is_some_and(|state| state != "Z" && state != "X")
}

/// Waits up to `seconds` for every process of `pids` to be gone; returns those still running.
pub fn still_running_after(pids: &[u32], seconds: u64) -> Vec<u32> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        let left: Vec<u32> = pids.iter().copied().filter(|pid| running(*pid)).collect();
        if left.is_empty() || std::time::Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A scratch suite whose run takes a while: `copies` copies of each of the given scenarios
/// (`<id>_<n>`), with their snapshots, so signals can land at any point of a run.
pub fn long_suite(ids: &[&str], copies: usize) -> tempfile::TempDir {
    let dir = scratch_suite(ids);
    for id in ids {
        for (folder, extension) in [("scenarios", "toml"), ("snapshots", "snap")] {
            let from = dir.path().join(folder).join(format!("{id}.{extension}"));
            for n in 1..copies {
                let to = dir
                    .path()
                    .join(folder)
                    .join(format!("{id}_{n}.{extension}"));
                std::fs::copy(&from, &to).unwrap();
            }
        }
    }
    dir
}

/// An executable standing in for a Python 3.11 that lacks CPython's 2025 cookie fix: it gives its
/// version and fails `check_python.py`, as Debian's python3.11 before 3.11.2-6+deb12u8 does.
pub fn unfixed_python(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("python3.11");
    std::fs::write(
        &path,
        "#!/bin/sh\ncase \"$*\" in\n  *check_python.py*) echo \"Python 3.11.2 lacks CPython's fix \
         that refuses control characters in cookies (a stand-in)\"; exit 1;;\n  *) echo 3.11.2;;\nesac\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// What a test binary's tests need from the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// A Python that passes `check_python.py` for Django 5.2: djc's own check for a local
    /// Django (6.1 runs in containers where no Python 3.12 is at hand, so its tests need Docker).
    Django,
    /// A Docker engine that answers.
    Docker,
}

impl Needs {
    /// Why the machine lacks it, if it does.
    fn missing(self) -> Option<String> {
        match self {
            Needs::Django => django_conformance::harness::targets::find_python(
                &repo().join("django_reference"),
                django_conformance::reference::DjangoVersion::V5_2,
            )
            .err()
            .map(|e| {
                let passed_over: Vec<&str> = e.0.lines().skip(1).map(str::trim).collect();
                format!(
                    "needs a Python 3.11 that passes check_python.py; {}",
                    passed_over.join("; ")
                )
            }),
            Needs::Docker => match django_conformance::harness::targets::docker_api::probe() {
                django_conformance::harness::targets::docker_api::Engine::Absent(why) => {
                    Some(format!("needs Docker: {why}"))
                }
                _ => None,
            },
        }
    }

    /// The variable that turns "missing" into a failure (CI sets it).
    fn required_by(self) -> &'static str {
        match self {
            Needs::Django => "DJC_REQUIRE_DJANGO",
            Needs::Docker => "DJC_REQUIRE_DOCKER",
        }
    }
}

/// `[("name", name as fn()), ...]` for [`run_trials`].
#[macro_export]
macro_rules! trials {
    ($($test:ident),* $(,)?) => {
        vec![$((stringify!($test), $test as fn())),*]
    };
}

/// Runs `tests` (each fails by panicking) as the test binary's tests. Where the machine lacks
/// what they need, each is reported as ignored with the reason, or fails when the variable of
/// [`Needs`] is set. Docker's tests run one at a time, in the order given: they share the engine
/// and look at it for leftovers.
pub fn run_trials(needs: Needs, tests: Vec<(&'static str, fn())>) {
    use libtest_mimic::{Arguments, Completion, Trial};
    let mut args = Arguments::from_args();
    if needs == Needs::Docker {
        args.test_threads = Some(1);
    }
    let missing = needs.missing();
    let required = std::env::var_os(needs.required_by()).is_some();
    let trials = tests
        .into_iter()
        .map(|(name, test)| {
            let missing = missing.clone();
            Trial::ignorable_test(name, move || match missing {
                Some(why) if required => Err(format!(
                    "{why} ({} is set: this must run here)",
                    needs.required_by()
                )
                .into()),
                Some(why) => Ok(Completion::ignored_with(why)),
                None => {
                    test();
                    Ok(Completion::Completed)
                }
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
