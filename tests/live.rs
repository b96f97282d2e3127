//! Everything that needs a local Django (gunicorn, from the pinned venv): the whole suite live,
//! recording, signals and crashes, and what once broke the harness. Where no Python passes
//! `check_python.py` (djc's own check), each test is reported as ignored with the reason;
//! `DJC_REQUIRE_DJANGO=1` (CI) makes that a failure.

mod support;

use std::sync::Arc;

use django_conformance::harness::cell::{Cell, DjangoVersion, Server};

use support::{
    children_of, djc, djc_with_env, gunicorns_below, long_suite, marked_processes, repo,
    scratch_suite, send_signal, spawn_marked_djc, still_running_after, text, unique_mark,
};

fn every_scenario_passes_live_against_a_local_django_process() {
    let report = tempfile::NamedTempFile::new().unwrap();
    // `--django auto` (the default) with no engine: the local process, and it says so.
    let output = djc_with_env(
        &[
            "run",
            "--django-version",
            "5.2",
            "--report",
            report.path().to_str().unwrap(),
        ],
        &repo(),
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert!(
        text(&output).contains("Django 5.2 runs as django 5.2 (local process"),
        "{}",
        text(&output)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.path()).unwrap()).unwrap_or_default();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_eq!(report["mode"], "live");
    for server in ["gunicorn", "uvicorn"] {
        assert_eq!(
            report["cells"][format!("5.2/{server}")]["django_version"],
            "5.2.19"
        );
    }
    assert_eq!(report["summary"]["errors"], 0, "{}", text(&output));
    assert_eq!(report["summary"]["drifted"], 0, "{}", text(&output));
    assert!(report["summary"]["scenarios"].as_u64().unwrap() >= 40);
}

fn record_writes_pending_snapshots_then_accepts_and_then_finds_them_unchanged() {
    let id = "cookies/set_cookie_plain";
    let dir = scratch_suite(&[id]);
    let snapshot = dir.path().join(format!("snapshots/{id}.snap"));
    let committed = std::fs::read_to_string(&snapshot).unwrap();
    std::fs::remove_file(&snapshot).unwrap();

    let output = djc(&local_5_2("record", &[]), dir.path());
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

    let output = djc(&local_5_2("record", &["--accept"]), dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_eq!(
        body(&std::fs::read_to_string(&snapshot).unwrap()),
        body(&committed)
    );

    let output = djc(&local_5_2("record", &[]), dir.path());
    for cell in ["5.2/gunicorn", "5.2/uvicorn"] {
        assert!(
            text(&output).contains(&format!("{id} [{cell}]: unchanged")),
            "{}",
            text(&output)
        );
    }
}

fn a_snapshot_that_cannot_be_written_is_not_recorded_and_fails_the_run() {
    let id = "cookies/set_cookie_plain";
    let dir = scratch_suite(&[id]);
    let snapshots = dir.path().join("snapshots");
    std::fs::remove_dir_all(snapshots.join("cookies")).unwrap();
    std::fs::write(
        snapshots.join("cookies"),
        "a file where the topic folder should be",
    )
    .unwrap();
    let output = djc(&local_5_2("record", &["--accept"]), dir.path());
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let message = text(&output);
    for cell in ["5.2/gunicorn", "5.2/uvicorn"] {
        assert!(
            message.contains(&format!("{id} [{cell}]: NOT recorded: cannot write")),
            "{message}"
        );
    }
    assert!(message.contains("File exists"), "the real cause: {message}");
}

fn a_live_scenario_without_a_snapshot_is_unrecorded_not_passed() {
    let id = "cookies/set_cookie_plain";
    let dir = scratch_suite(&[id]);
    std::fs::remove_file(dir.path().join(format!("snapshots/{id}.snap"))).unwrap();
    let output = djc(&local_5_2("run", &["--report", "r.json"]), dir.path());
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(report["scenarios"][0]["status"], "unrecorded");
    assert_eq!(report["summary"]["passed"], 0);
    assert!(
        text(&output).contains(&format!("djc record {id}")),
        "{}",
        text(&output)
    );
}

/// The Django app's own tests (django_reference/tests/), run with the venv djc builds.
fn the_django_apps_own_tests_pass() {
    use django_conformance::harness::progress::Progress;
    use django_conformance::harness::targets::{PythonEnv, find_python};
    let django_dir = repo().join("django_reference");
    let python = find_python(&django_dir, DjangoVersion::V5_2).unwrap();
    let env = PythonEnv::ensure(
        &django_dir,
        DjangoVersion::V5_2,
        &python,
        &Progress::hidden(),
    )
    .unwrap();
    let output = std::process::Command::new(&env.python)
        .arg(django_dir.join("tests/test_contract.py"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
}

/// The same request outside the contract gets the same contract error text from both apps.
fn both_apps_refuse_requests_outside_the_contract_in_the_same_words() {
    use django_conformance::harness::profile::Profile;
    use django_conformance::harness::progress::Progress;
    use django_conformance::harness::targets::{DjangoLocal, RustTarget, Target};
    let cases: &[(&str, &str)] = &[
        ("/cookies/set", "not json{"),
        ("/cookies/set", "[1]"),
        ("/cookies/set", r#"{"x": 1}"#),
        ("/cookies/set", "{}"),
        ("/cookies/set", r#"{"ops": 1}"#),
        ("/cookies/set", r#"{"ops": [{}]}"#),
        ("/cookies/set", r#"{"ops": [{"op": "set_cokie"}]}"#),
        ("/cookies/set", r#"{"ops": [{"op": "set_cookie"}]}"#),
        (
            "/cookies/set",
            r#"{"ops": [{"op": "set_cookie", "key": 1}]}"#,
        ),
        (
            "/cookies/set",
            r#"{"ops": [{"op": "set_cookie", "key": "a", "bogus": 1}]}"#,
        ),
        (
            "/cookies/set",
            r#"{"ops": [{"op": "set_cookie", "key": "a", "b\u00f6gus": 1}]}"#,
        ),
        (
            "/cookies/set",
            r#"{"ops": [{"op": "set_cookie", "key": "a", "max_age": "x"}]}"#,
        ),
        (
            "/cookies/set",
            r#"{"ops": [{"op": "set_cookie", "key": "a", "expires": 5}]}"#,
        ),
        (
            "/cookies/set",
            r#"{"ops": [{"op": "set_cookie", "key": "a", "expires": {"datetime": "nope"}}]}"#,
        ),
        (
            "/cookies/set",
            r#"{"ops": [{"op": "set_cookie", "key": "a", "secure": "yes"}]}"#,
        ),
        (
            "/cookies/set",
            r#"{"ops": [{"op": "set_cookie", "key": "a", "samesite": 5}]}"#,
        ),
        (
            "/cookies/set",
            r#"{"ops": [{"op": "set_signed_cookie", "key": "a"}]}"#,
        ),
        (
            "/cookies/set",
            r#"{"ops": [{"op": "delete_cookie", "key": "a", "max_age": 1}]}"#,
        ),
        ("/cookies/read", r#"{"signed": 1}"#),
        ("/cookies/read", r#"{"signed": [1]}"#),
        ("/cookies/read", r#"{"signed": [{}]}"#),
        ("/cookies/read", r#"{"signed": [{"key": "a", "bogus": 1}]}"#),
        (
            "/cookies/read",
            r#"{"signed": [{"key": "a", "max_age": "x"}]}"#,
        ),
        ("/cookies/signing", r#"{"ops": [{"op": "signs"}]}"#),
        ("/cookies/signing", r#"{"ops": [{"op": "sign"}]}"#),
        (
            "/cookies/signing",
            r#"{"ops": [{"op": "sign", "value": "v", "signer": "nope"}]}"#,
        ),
        (
            "/cookies/signing",
            r#"{"ops": [{"op": "sign", "value": "v", "signer": "cookie", "key": "k"}]}"#,
        ),
        (
            "/cookies/signing",
            r#"{"ops": [{"op": "unsign", "value": "v", "max_age": 1}]}"#,
        ),
        ("/cookies/signing", r#"{"ops": [{"op": "dumps"}]}"#),
        (
            "/cookies/signing",
            r#"{"ops": [{"op": "loads", "value": "v", "fallback_keys": [1]}]}"#,
        ),
        (
            "/cookies/signing",
            r#"{"ops": [{"op": "salted_hmac", "value": "v"}]}"#,
        ),
        (
            "/cookies/signing",
            r#"{"ops": [{"op": "sign", "value": {"bytes": 1}}]}"#,
        ),
        (
            "/cookies/signing",
            r#"{"ops": [{"op": "sign", "value": {"byte": "v"}}]}"#,
        ),
        (
            "/cookies/signing",
            r#"{"ops": [{"op": "sign", "value": {"bytes": "v", "x": 1}}]}"#,
        ),
        (
            "/cookies/signing",
            r#"{"ops": [{"op": "sign", "value": {"bytes": "Ā"}}]}"#,
        ),
        (
            "/cookies/signing",
            r#"{"ops": [{"op": "sign", "value": "v", "salt": [1]}]}"#,
        ),
        (
            "/cookies/signing",
            r#"{"ops": [{"op": "b62_encode", "value": "1"}]}"#,
        ),
        (
            "/cookies/signing",
            r#"{"ops": [{"op": "b62_encode", "value": 1.5}]}"#,
        ),
        (
            "/cookies/signing",
            r#"{"ops": [{"op": "sign_object", "obj": 1, "serializer": "PickleSerializer"}]}"#,
        ),
        ("/cookies/signing", r#"{"ops": [{"op": "timestamp"}]}"#),
        (
            "/cookies/signing",
            r#"{"ops": [{"op": "signature", "value": "v", "signature_key": 1}]}"#,
        ),
        (
            "/cookies/signing",
            r#"{"ops": [{"op": "salted_hmac", "key_salt": "a", "value": "v", "algorithm": 5}]}"#,
        ),
        (
            "/cookies/signing",
            r#"{"ops": [{"op": "constant_time_compare", "val1": "a"}]}"#,
        ),
        (
            "/cookies/signing",
            r#"{"ops": [{"op": "loads", "value": "v", "fallback_keys": [{"bytes": "a"}, 1]}]}"#,
        ),
        (
            "/cookies/set",
            r#"{"ops": [{"op": "set_cookie", "key": {"bytes": 5}}]}"#,
        ),
        (
            "/cookies/set",
            r#"{"ops": [{"op": "set_cookie", "key": "a", "value": [true]}]}"#,
        ),
        (
            "/cookies/signing",
            r#"{"ops": [{"op": "base64_hmac", "salt": "s", "value": {}, "key": "k"}]}"#,
        ),
        (
            "/cookies/set",
            r#"{"ops": [{"op": "set_cookie", "key": "a", "expires": {"bytes": 5}}]}"#,
        ),
    ];
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let logs = tempfile::tempdir().unwrap();
        let django: Arc<dyn Target> = Arc::new(
            DjangoLocal::prepare(
                DjangoVersion::V5_2,
                repo().join("django_reference"),
                logs.path().to_owned(),
                &Progress::hidden(),
            )
            .unwrap(),
        );
        let rust: Arc<dyn Target> = Arc::new(RustTarget::default());
        let profile = Profile::default_profile();
        let client = reqwest::Client::new();
        let mut differ = Vec::new();
        for server in Server::ALL {
            let cell = Cell {
                django: DjangoVersion::V5_2,
                server,
            };
            let urls = [
                django.instance(cell, &profile).await.unwrap().base_url,
                rust.instance(cell, &profile).await.unwrap().base_url,
            ];
            for (path, body) in cases {
                let mut said = Vec::new();
                for url in &urls {
                    let response = client
                        .post(url.join(path.trim_start_matches('/')).unwrap())
                        .header("content-type", "application/json")
                        .body(body.to_string())
                        .send()
                        .await
                        .unwrap();
                    let error = response
                        .headers()
                        .get("x-djc-contract-error")
                        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
                    said.push((response.status().as_u16(), error));
                }
                assert_eq!(said[0].0, 400, "{path} {body} [{cell}]: Django {said:?}");
                if said[0] != said[1] {
                    differ.push(format!(
                        "{path} {body} [{cell}]\n  django: {:?}\n    rust: {:?}",
                        said[0], said[1]
                    ));
                }
            }
        }
        django.shutdown().await;
        rust.shutdown().await;
        assert!(differ.is_empty(), "{}", differ.join("\n"));
    });
}

/// A snapshot without its header (which names the source path).
fn body(snapshot: &str) -> &str {
    snapshot.splitn(3, "---\n").nth(2).unwrap_or_default()
}

/// Scenarios for the signal tests: enough copies that a run lasts a few seconds.
const LONG_SUITE: [&str; 3] = [
    "cookies/set_cookie_plain",
    "cookies/signing_dumps_loads",
    "cookies/jar_expiry_advance",
];

/// Builds the venv before a test whose signals would otherwise land in the build.
fn warm_up(dir: &std::path::Path) {
    let output = djc(&local_5_2("run", &["--profile", "default"]), dir);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
}

/// The arguments of `djc <command>` on a local Django 5.2 (both servers), then `more`.
fn local_5_2<'a>(command: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let django_dir: &'static str =
        DJANGO_DIR.get_or_init(|| repo().join("django_reference").to_str().unwrap().to_owned());
    let mut args = vec![
        command,
        "--django",
        "local",
        "--django-version",
        "5.2",
        "--django-dir",
        django_dir,
    ];
    args.extend_from_slice(more);
    args
}

static DJANGO_DIR: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// `djc <command>` on a local Django, one scenario at a time, its processes marked with `mark`.
fn spawn_local(
    command: &str,
    dir: &std::path::Path,
    mark: &str,
    more: &[&str],
) -> std::process::Child {
    let mut args = local_5_2(command, &["--jobs", "1"]);
    args.extend_from_slice(more);
    spawn_marked_djc(&args, dir, mark)
}

/// Waits (a minute at most) until djc `pid` has at least `count` gunicorn processes.
fn wait_for_gunicorns(pid: u32, count: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while gunicorns_below(pid).len() < count && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A small generator for the signals' random points: xorshift on a seed from the clock, printed
/// so that a failure can be replayed with `DJC_TEST_SEED`.
fn random_delays(count: usize, max_ms: u64) -> Vec<u64> {
    let mut state: u64 = std::env::var("DJC_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("random points from DJC_TEST_SEED={state}");
    (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % max_ms
        })
        .collect()
}

fn a_signal_at_any_point_of_run_or_record_stops_everything() {
    let dir = long_suite(&LONG_SUITE, 100);
    warm_up(dir.path());
    let trials = [
        ("run", libc::SIGINT),
        ("run", libc::SIGTERM),
        ("run", libc::SIGHUP),
        ("record", libc::SIGINT),
        ("record", libc::SIGTERM),
        ("record", libc::SIGHUP),
    ];
    let delays = random_delays(trials.len() * 3, 3_000);
    let mut interrupted = 0;
    for (trial, delay) in trials.iter().cycle().zip(delays) {
        let (command, signal) = *trial;
        let mark = unique_mark("signal");
        let mut child = spawn_local(command, dir.path(), &mark, &[]);
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let finished_first = child.try_wait().unwrap().is_some();
        if !finished_first {
            send_signal(child.id(), signal);
        }
        let output = child.wait_with_output().unwrap();
        let what = format!("{command} with signal {signal} after {delay} ms");
        if finished_first {
            assert!(output.status.code().is_some(), "{what}: {}", text(&output));
        } else {
            interrupted += 1;
            assert_eq!(
                output.status.code(),
                Some(128 + signal),
                "{what}: {}",
                text(&output)
            );
            assert!(
                text(&output).contains("every app djc started has been stopped"),
                "{what}: {}",
                text(&output)
            );
        }
        let left = still_running_after(&marked_processes(&mark), 5);
        assert_eq!(left, Vec::<u32>::new(), "{what}: processes left behind");
    }
    assert!(
        interrupted >= trials.len(),
        "most signals landed in mid-run: {interrupted}"
    );
}

fn a_second_signal_stops_django_at_once() {
    let dir = long_suite(&LONG_SUITE, 40);
    warm_up(dir.path());
    let mark = unique_mark("second");
    let child = spawn_local("run", dir.path(), &mark, &[]);
    let pid = child.id();
    wait_for_gunicorns(pid, 1);
    send_signal(pid, libc::SIGINT);
    send_signal(pid, libc::SIGINT);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", text(&output));
    let left = still_running_after(&marked_processes(&mark), 5);
    assert_eq!(left, Vec::<u32>::new(), "processes left behind");
}

fn django_dies_with_a_killed_djc() {
    let dir = long_suite(&LONG_SUITE, 40);
    warm_up(dir.path());
    let mark = unique_mark("sigkill");
    for command in ["run", "record"] {
        let mut child = spawn_local(command, dir.path(), &mark, &[]);
        let pid = child.id();
        wait_for_gunicorns(pid, 2);
        assert!(!marked_processes(&mark).is_empty(), "{command}: Django ran");
        send_signal(pid, libc::SIGKILL);
        let _ = child.wait();
        // The parent-death signal ends each gunicorn master at once; its workers notice their
        // parent is gone within a second or so.
        let left = still_running_after(&marked_processes(&mark), 10);
        assert_eq!(left, Vec::<u32>::new(), "{command}: processes outlived djc");
    }
}

fn a_django_that_dies_mid_run_is_reported_and_leaves_no_worker() {
    // Long enough that the run is still going when the test, slowed by the others, kills Django.
    let dir = long_suite(&LONG_SUITE, 200);
    warm_up(dir.path());
    let mark = unique_mark("dies");
    let child = spawn_local("run", dir.path(), &mark, &["--profile", "default"]);
    let pid = child.id();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let master = loop {
        let masters: Vec<u32> = children_of(pid)
            .into_iter()
            .filter(|child| gunicorns_below(pid).contains(child))
            .collect();
        if let (Some(master), false) = (masters.first(), gunicorns_below(pid).len() < 2) {
            break *master;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "gunicorn never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    send_signal(master, libc::SIGKILL);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let message = text(&output);
    assert!(
        message.contains("exited during the run (signal: 9 (SIGKILL))"),
        "{message}"
    );
    let left = still_running_after(&marked_processes(&mark), 5);
    assert_eq!(left, Vec::<u32>::new(), "an orphaned worker carried on");
}

fn django_failing_to_start_exits_with_the_tail_of_its_log() {
    let dir = scratch_suite(&["cookies/set_cookie_plain"]);
    let django = dir.path().join("django_reference");
    copy_tree(&repo().join("django_reference"), &django);
    let settings = django.join("conformance/settings.py");
    let original = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(
        &settings,
        format!("{original}\nraise RuntimeError('broken on purpose for a test')\n"),
    )
    .unwrap();
    let output = djc(
        &[
            "run",
            "--django",
            "local",
            "--django-version",
            "5.2",
            "--jobs",
            "1",
        ],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let message = text(&output);
    assert!(message.contains("did not start"), "{message}");
    assert_eq!(
        message.matches("broken on purpose for a test").count(),
        1,
        "said once: {message}"
    );
    assert!(
        message.contains("broken on purpose for a test"),
        "the log tail shows the cause: {message}"
    );
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "__pycache__" {
                copy_tree(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn what_once_panicked_the_harness_is_compared_live() {
    for folder in ["year9999", "maxage_panic", "b62"] {
        let scenarios = repo().join("tests/repro/scenario-panics").join(folder);
        let report = tempfile::NamedTempFile::new().unwrap();
        let snapshots = tempfile::tempdir().unwrap();
        let output = djc_with_env(
            &[
                "run",
                "--django",
                "local",
                "--django-version",
                "5.2",
                "--scenarios",
                scenarios.to_str().unwrap(),
                "--snapshots",
                snapshots.path().to_str().unwrap(),
                "--report",
                report.path().to_str().unwrap(),
            ],
            &repo(),
            &[],
        );
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(report.path()).unwrap())
                .unwrap_or_default();
        assert_eq!(
            report["summary"]["scenarios"],
            4,
            "{folder}: two scenarios in 5.2's two cells: {}",
            text(&output)
        );
        for outcome in report["scenarios"].as_array().unwrap() {
            assert!(
                outcome["django"].is_array() && outcome["rust"].is_array(),
                "{folder}: both sides recorded {}: {}",
                outcome["id"],
                text(&output)
            );
            assert!(
                outcome["divergences"].as_array().unwrap().is_empty(),
                "{folder}: {}",
                text(&output)
            );
        }
    }
}

fn main() {
    support::run_trials(
        support::Needs::Django,
        trials![
            every_scenario_passes_live_against_a_local_django_process,
            a_live_scenario_without_a_snapshot_is_unrecorded_not_passed,
            both_apps_refuse_requests_outside_the_contract_in_the_same_words,
            the_django_apps_own_tests_pass,
            record_writes_pending_snapshots_then_accepts_and_then_finds_them_unchanged,
            a_snapshot_that_cannot_be_written_is_not_recorded_and_fails_the_run,
            a_signal_at_any_point_of_run_or_record_stops_everything,
            a_second_signal_stops_django_at_once,
            django_dies_with_a_killed_djc,
            a_django_that_dies_mid_run_is_reported_and_leaves_no_worker,
            django_failing_to_start_exits_with_the_tail_of_its_log,
            what_once_panicked_the_harness_is_compared_live,
        ],
    );
}
