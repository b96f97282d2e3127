//! Shared by the integration tests: running the `djc` binary, and deciding whether the tests that
//! need Python or Docker can run here.
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

/// Whether a Docker engine answers and the Django image can be built without a registry (the
/// offline base image exists). Where CI sets `DJC_REQUIRE_DOCKER=1`, either missing fails the
/// test; elsewhere the test prints why it is skipped.
pub fn docker_available(test: &str) -> bool {
    use django_conformance::harness::target::{OFFLINE_BASE_IMAGE, docker_api};
    let missing = match docker_api::probe() {
        docker_api::Engine::Absent(why) => Some(why),
        _ if !docker(&["image", "inspect", OFFLINE_BASE_IMAGE])
            .status
            .success() =>
        {
            Some(format!(
                "{OFFLINE_BASE_IMAGE} is missing (django_reference/build-offline-base.sh builds it)"
            ))
        }
        _ => None,
    };
    if let Some(why) = missing {
        assert!(
            std::env::var_os("DJC_REQUIRE_DOCKER").is_none(),
            "{test}: Docker is required here (DJC_REQUIRE_DOCKER is set): {why}"
        );
        eprintln!("SKIPPED {test}: {why} (set DJC_REQUIRE_DOCKER=1 to make this a failure)");
        return false;
    }
    true
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

/// Whether the pinned Python is here. Where CI sets `DJC_REQUIRE_DJANGO=1` its absence fails the
/// test; elsewhere the test prints why it is skipped.
pub fn python_available(test: &str) -> bool {
    let wanted = std::fs::read_to_string(repo().join("django_reference/PYTHON_VERSION"))
        .expect("PYTHON_VERSION is committed");
    let python = std::env::var("DJC_PYTHON").unwrap_or_else(|_| format!("python{}", wanted.trim()));
    let found = Command::new(&python)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("DJC_REQUIRE_DJANGO").is_none(),
            "{test}: {python} is required here (DJC_REQUIRE_DJANGO is set) but was not found"
        );
        eprintln!(
            "SKIPPED {test}: {python} not found (set DJC_REQUIRE_DJANGO=1 to make this a failure)"
        );
    }
    found
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
    }
    std::fs::copy(
        repo().join("scenarios/profiles.toml"),
        dir.path().join("scenarios/profiles.toml"),
    )
    .unwrap();
    dir
}

/// Starts `djc` with `args` in `cwd`, waits until `ready` says so (polled, up to 60 s), then sends
/// SIGINT as Ctrl-C would, and returns its exit and output.
pub fn interrupt_djc(args: &[&str], cwd: &Path, ready: impl Fn(u32) -> bool) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_djc"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("djc starts");
    let pid = child.id();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !ready(pid) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // SAFETY: kill(2) signals a child process this test started; it touches no memory.
    unsafe {
        libc::kill(pid as i32, libc::SIGINT);
    }
    child.wait_with_output().expect("djc exits")
}

/// The processes whose parent is `pid`.
pub fn children_of(pid: u32) -> Vec<String> {
    let output = Command::new("pgrep")
        .args(["-P", &pid.to_string()])
        .output()
        .expect("pgrep runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}
