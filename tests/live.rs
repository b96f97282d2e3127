//! The whole suite live against a local Django 5.2.19 (gunicorn, from the pinned venv): every
//! scenario must pass or be explained by the ledger, and Django must match its snapshots.

mod support;

use support::{
    children_of, djc, djc_with_env, interrupt_djc, python_available, repo, scratch_suite, text,
};

#[test]
fn every_scenario_passes_live_against_a_local_django_process() {
    if !python_available("every_scenario_passes_live_against_a_local_django_process") {
        return;
    }
    let report = tempfile::NamedTempFile::new().unwrap();
    // `--django auto` (the default) with no engine: the local process, and it says so.
    let output = djc_with_env(
        &["run", "--report", report.path().to_str().unwrap()],
        &repo(),
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert!(
        text(&output).contains("Django runs as a local process"),
        "{}",
        text(&output)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.path()).unwrap()).unwrap_or_default();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_eq!(report["mode"], "live");
    assert_eq!(report["django_version"], "5.2.19");
    assert_eq!(report["summary"]["errors"], 0, "{}", text(&output));
    assert_eq!(report["summary"]["drifted"], 0, "{}", text(&output));
    assert!(report["summary"]["scenarios"].as_u64().unwrap() >= 40);
}

#[test]
fn record_writes_pending_snapshots_then_accepts_and_then_finds_them_unchanged() {
    if !python_available(
        "record_writes_pending_snapshots_then_accepts_and_then_finds_them_unchanged",
    ) {
        return;
    }
    let id = "cookies/set_cookie_plain";
    let dir = scratch_suite(&[id]);
    let snapshot = dir.path().join(format!("snapshots/{id}.snap"));
    let committed = std::fs::read_to_string(&snapshot).unwrap();
    std::fs::remove_file(&snapshot).unwrap();
    let django_dir = repo().join("django_reference");
    let django_dir = django_dir.to_str().unwrap();

    let output = djc(
        &["record", "--django", "local", "--django-dir", django_dir],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(
        text(&output).contains("pending review"),
        "{}",
        text(&output)
    );
    let pending =
        std::fs::read_to_string(snapshot.with_extension("snap.new")).expect("a pending snapshot");
    assert!(!snapshot.exists(), "nothing is accepted without review");
    assert_eq!(
        body(&pending),
        body(&committed),
        "Django's record is the committed golden one"
    );

    let output = djc(
        &[
            "record",
            "--accept",
            "--django",
            "local",
            "--django-dir",
            django_dir,
        ],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_eq!(
        body(&std::fs::read_to_string(&snapshot).unwrap()),
        body(&committed)
    );

    let output = djc(
        &["record", "--django", "local", "--django-dir", django_dir],
        dir.path(),
    );
    assert!(
        text(&output).contains(&format!("{id}: unchanged")),
        "{}",
        text(&output)
    );
}

/// A snapshot without its header (which names the source path).
fn body(snapshot: &str) -> &str {
    snapshot.splitn(3, "---\n").nth(2).unwrap_or_default()
}

#[test]
fn ctrl_c_stops_the_local_django() {
    if !python_available("ctrl_c_stops_the_local_django") {
        return;
    }
    let started = std::sync::Mutex::new(Vec::new());
    // Interrupted once gunicorn runs (not while the venv is built: its pip would outlive djc).
    let output = interrupt_djc(
        &["run", "--django", "local", "--jobs", "1"],
        &repo(),
        |pid| {
            let gunicorns: Vec<String> = children_of(pid)
                .into_iter()
                .filter(|child| {
                    std::fs::read(format!("/proc/{child}/cmdline"))
                        .is_ok_and(|line| String::from_utf8_lossy(&line).contains("gunicorn"))
                })
                .collect();
            let ready = !gunicorns.is_empty();
            *started.lock().unwrap() = gunicorns;
            ready
        },
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(text(&output).contains("interrupted"), "{}", text(&output));
    let started = started.into_inner().unwrap();
    assert!(!started.is_empty(), "gunicorn was running when Ctrl-C came");
    // A start cut off by Ctrl-C is stopped with SIGKILL to its group, which the kernel carries
    // out a moment later.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while started.iter().any(|pid| running(pid)) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    for pid in started {
        assert!(!running(&pid), "gunicorn {pid} outlived djc");
    }
}

/// Whether process `pid` still runs: a zombie (killed, waiting for a reaper that a sandbox's
/// init may never be) runs no more.
fn running(pid: &str) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state follows the command name in parentheses, which may itself hold spaces.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    state.is_some_and(|state| state != "Z" && state != "X")
}
