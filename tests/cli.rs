//! The `djc` binary as a user meets it: exit codes, messages, reports, diffs, the ledger.

mod support;

use support::{djc, djc_with_env, repo, scratch_suite, text};

const SCENARIO: &str = "cookies/set_cookie_plain";

#[test]
fn a_malformed_scenario_exits_2_naming_the_file_line_and_problem() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("scenarios/cookies/typo.toml");
    std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
    std::fs::write(&bad, "[[step]]\npath = \"/cookies/read\"\n\n[[step]]\npath = \"/cookies/read\"\nmethdo = \"POST\"\n").unwrap();
    let wrong_type = dir.path().join("scenarios/cookies/wrong_type.toml");
    std::fs::write(
        &wrong_type,
        "[[step]]\npath = \"/cookies/read\"\nadvance = \"later\"\n",
    )
    .unwrap();
    let output = djc(&["run", "--offline"], dir.path());
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let message = text(&output);
    assert!(
        message.contains("scenarios/cookies/typo.toml:6: unknown field `methdo`"),
        "{message}"
    );
    assert!(
        message.contains("scenarios/cookies/wrong_type.toml:3:"),
        "{message}"
    );
    let output = djc(&["run", "--offline", "--jobs", "x"], dir.path());
    assert_eq!(output.status.code(), Some(2), "usage errors exit 2 as well");
}

#[test]
fn an_offline_run_that_matches_writes_the_documented_reports() {
    let dir = scratch_suite(&[SCENARIO]);
    let output = djc(
        &[
            "run",
            "--offline",
            "--report",
            "out/report.json",
            "--junit",
            "out/junit.xml",
        ],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/report.json")).unwrap())
            .unwrap();
    assert_eq!(report["mode"], "offline");
    assert_eq!(report["cells"]["5.2/gunicorn"]["django_version"], "5.2.19");
    assert_eq!(report["cells"]["6.1/uvicorn"]["django_version"], "6.1.3");
    let summary = &report["summary"];
    assert_eq!(
        summary["by_topic_and_cell"]["cookies"]["6.1/uvicorn"],
        serde_json::json!({"agree": 1, "scenarios": 1})
    );
    for (field, expected) in [
        ("scenarios", 4),
        ("passed", 4),
        ("diverged", 0),
        ("known", 0),
        ("errors", 0),
    ] {
        assert_eq!(summary[field], expected, "summary.{field} in {summary}");
    }
    let scenario = &report["scenarios"][0];
    assert_eq!(
        (
            scenario["id"].as_str(),
            scenario["topic"].as_str(),
            scenario["status"].as_str()
        ),
        (Some(SCENARIO), Some("cookies"), Some("passed"))
    );
    assert_eq!(
        (&scenario["django_version"], &scenario["server"]),
        (&serde_json::json!("5.2"), &serde_json::json!("gunicorn")),
        "each result names its cell"
    );
    assert!(scenario["tags"].is_array());
    let junit = std::fs::read_to_string(dir.path().join("out/junit.xml")).unwrap();
    for cell in ["5.2/gunicorn", "5.2/uvicorn", "6.1/gunicorn", "6.1/uvicorn"] {
        assert!(
            junit.contains(&format!("name=\"{SCENARIO} [{cell}]\"")),
            "{junit}"
        );
    }
    assert!(
        text(&output).contains("Rust agrees, by cell"),
        "the compliance table: {}",
        text(&output)
    );
    assert!(
        text(&output).contains("cookies"),
        "the per-topic table names the topic"
    );
}

#[test]
fn a_report_that_cannot_be_written_fails_after_the_summary() {
    let dir = scratch_suite(&[SCENARIO]);
    std::fs::write(
        dir.path().join("blocker"),
        "a file where a folder should be",
    )
    .unwrap();
    let output = djc(
        &["run", "--offline", "--report", "blocker/report.json"],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("total"), "the summary is printed: {stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot write blocker/report.json: File exists"),
        "{stderr}"
    );
}

#[test]
fn a_divergence_fails_the_run_and_djc_diff_shows_the_field() {
    let dir = scratch_suite(&[SCENARIO]);
    let snapshot = dir.path().join(format!("snapshots/{SCENARIO}.snap"));
    let golden = std::fs::read_to_string(&snapshot).unwrap();
    let raw = r#""raw": "a=b; Path=/""#;
    assert!(
        golden.contains(raw),
        "the fixture sets a cookie with Path=/"
    );
    std::fs::write(
        &snapshot,
        golden.replacen(raw, r#""raw": "a=b; Path=/elsewhere""#, 1),
    )
    .unwrap();
    let output = djc(&["run", "--offline"], dir.path());
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains(&format!("diverged {SCENARIO}")),
        "{}",
        text(&output)
    );
    let diff = djc(&["diff", SCENARIO], dir.path());
    assert_eq!(
        diff.status.code(),
        Some(1),
        "a difference shown: {}",
        text(&diff)
    );
    let shown = text(&diff);
    assert!(shown.contains("set_cookies[0]"), "{shown}");
    assert!(
        shown.contains("Path=/elsewhere") && shown.contains("django") && shown.contains("rust"),
        "{shown}"
    );
}

#[test]
fn a_ledger_entry_explains_a_divergence_and_a_stale_one_fails_the_run() {
    let dir = scratch_suite(&[SCENARIO]);
    let snapshot = dir.path().join(format!("snapshots/{SCENARIO}.snap"));
    let golden = std::fs::read_to_string(&snapshot).unwrap();
    std::fs::write(
        &snapshot,
        golden.replacen("\"status\": 200", "\"status\": 299", 1),
    )
    .unwrap();
    let ledger = dir.path().join("scenarios/known-divergences.toml");
    std::fs::write(&ledger, format!("[[divergence]]\nscenario = \"{SCENARIO}\"\nfield = \"status\"\nclass = \"intentional\"\nreason = \"a test\"\n")).unwrap();
    let output = djc(&["run", "--offline", "--report", "r.json"], dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(report["summary"]["known"], 4, "in each of the four cells");
    assert_eq!(
        report["scenarios"][0]["divergences"][0]["known"]["class"],
        "intentional"
    );

    std::fs::write(&snapshot, golden).unwrap();
    let output = djc(&["run", "--offline"], dir.path());
    assert_eq!(
        output.status.code(),
        Some(1),
        "an entry that matches nothing fails the run: {}",
        text(&output)
    );
    assert!(
        text(&output).contains("known-divergences.toml:1"),
        "{}",
        text(&output)
    );
}

#[test]
fn a_ledger_entry_about_unselected_scenarios_is_not_judged_but_one_naming_none_is() {
    let other = "cookies/max_age_zero";
    let dir = scratch_suite(&[SCENARIO, other]);
    let ledger = dir.path().join("scenarios/known-divergences.toml");
    let entry = |scenario: &str| {
        format!(
            "[[divergence]]\nscenario = \"{scenario}\"\nfield = \"status\"\nclass = \"intentional\"\nreason = \"a test\"\n"
        )
    };
    std::fs::write(&ledger, entry(other)).unwrap();
    let output = djc(&["run", "--offline", SCENARIO], dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(!text(&output).contains("stale"), "{}", text(&output));

    std::fs::write(&ledger, entry("cookies/gone")).unwrap();
    let output = djc(&["run", "--offline", SCENARIO], dir.path());
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("it names no scenario that exists"),
        "{}",
        text(&output)
    );
}

#[test]
fn a_redaction_that_matches_nothing_is_that_scenarios_error() {
    let dir = scratch_suite(&[SCENARIO]);
    let file = dir.path().join(format!("scenarios/{SCENARIO}.toml"));
    let scenario = std::fs::read_to_string(&file).unwrap();
    let redaction = "\n[[redact]]\nfield = \"body.nothing\"\npattern = \"x\"\nplaceholder = \"x\"\nreason = \"a test\"\n";
    std::fs::write(&file, format!("{scenario}{redaction}")).unwrap();
    let output = djc(&["run", "--offline"], dir.path());
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("matched nothing"),
        "{}",
        text(&output)
    );
}

#[test]
fn a_missing_snapshot_is_an_error_that_says_how_to_record_it() {
    let dir = scratch_suite(&[SCENARIO]);
    std::fs::remove_file(dir.path().join(format!("snapshots/{SCENARIO}.snap"))).unwrap();
    let output = djc(&["run", "--offline"], dir.path());
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output).contains("djc record"), "{}", text(&output));
}

#[test]
fn new_scaffolds_a_scenario_that_lists() {
    let dir = scratch_suite(&[SCENARIO]);
    let output = djc(&["new", "cookies/my_case"], dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let listed = djc(&["list", "--topic", "cookies"], dir.path());
    assert!(
        text(&listed).contains("cookies/my_case"),
        "{}",
        text(&listed)
    );
    assert_eq!(
        djc(&["new", "cookies/my_case"], dir.path()).status.code(),
        Some(2),
        "an existing file is kept"
    );
    assert_eq!(djc(&["new", "no-topic"], dir.path()).status.code(), Some(2));
}

#[test]
fn a_tcp_docker_host_with_nothing_listening_is_found_out_before_it_is_chosen() {
    let dir = scratch_suite(&[SCENARIO]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let host = format!("tcp://127.0.0.1:{port}");
    let output = djc_with_env(
        &["run", "--django", "docker"],
        dir.path(),
        &[("DOCKER_HOST", host.as_str())],
    );
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let message = text(&output);
    assert!(
        message.contains(&format!("no Docker engine answers at {host}")),
        "{message}"
    );
    assert!(message.contains("Connection refused"), "{message}");
    assert!(!message.contains("base image"), "{message}");
}

#[test]
fn no_docker_engine_is_a_clear_message_not_a_stack_trace() {
    let dir = scratch_suite(&[SCENARIO]);
    let nowhere = [("DOCKER_HOST", "unix:///nonexistent/docker.sock")];
    let output = djc_with_env(&["run", "--django", "docker"], dir.path(), &nowhere);
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let message = text(&output);
    assert!(
        message.contains("no Docker engine answers at /nonexistent/docker.sock"),
        "{message}"
    );
    assert!(
        message.contains("--django auto") && message.contains("start docker"),
        "it says what to do: {message}"
    );
    assert!(!message.contains("panicked"), "{message}");
}

/// `GET /__djc__/health` on a fresh connection: the status line, if anything answered.
fn health_status(port: u16) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok()?;
    stream
        .write_all(b"GET /__djc__/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).ok()?;
    reply.lines().next().map(str::to_owned)
}

#[test]
fn the_rust_app_keeps_serving_when_file_descriptors_run_out() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = scratch_suite(&[SCENARIO]);
    let mut server =
        support::spawn_djc(&["serve", "rust", "--port", &port.to_string()], dir.path());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while health_status(port).is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(health_status(port).as_deref(), Some("HTTP/1.1 200 OK"));
    // Lowered once it runs, below what its connection cap was sized for: accepting must run
    // into EMFILE.
    let limit = libc::rlimit {
        rlim_cur: 40,
        rlim_max: 40,
    };
    // SAFETY: prlimit(2) on a child this test started, with a valid struct.
    let lowered = unsafe {
        libc::prlimit(
            server.id() as i32,
            libc::RLIMIT_NOFILE,
            &limit,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(lowered, 0, "prlimit: {}", std::io::Error::last_os_error());
    let hogs: Vec<std::net::TcpStream> = (0..100)
        .filter_map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).ok())
        .collect();
    assert!(hogs.len() > 40, "the backlog took the connections");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        server.try_wait().unwrap().is_none(),
        "running out of descriptors ended the server"
    );
    drop(hogs);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut answered = None;
    while answered.is_none() && std::time::Instant::now() < deadline {
        answered = health_status(port).filter(|line| line.contains("200"));
    }
    support::send_signal(server.id(), libc::SIGTERM);
    let output = server.wait_with_output().unwrap();
    assert_eq!(
        answered.as_deref(),
        Some("HTTP/1.1 200 OK"),
        "{}",
        text(&output)
    );
    assert!(
        text(&output).contains("Too many open files"),
        "the server said what happened: {}",
        text(&output)
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
}

#[test]
fn when_nothing_can_work_one_message_lists_what_was_tried_and_the_fixes() {
    let dir = scratch_suite(&[SCENARIO]);
    let python = support::unfixed_python(dir.path());
    let django_dir = repo().join("django_reference");
    // No fit Python for 5.2 and no Docker engine.
    let nothing_works = |selection: &[&str]| {
        let mut args = vec!["run", "--django-dir", django_dir.to_str().unwrap()];
        args.extend_from_slice(selection);
        djc_with_env(
            &args,
            dir.path(),
            &[
                ("DJC_PYTHON_5_2", python.to_str().unwrap()),
                ("DOCKER_HOST", "unix:///nonexistent/docker.sock"),
            ],
        )
    };
    let output = nothing_works(&["--django-version", "5.2"]);
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let message = text(&output);
    for expected in [
        "no Django 5.2 can start here",
        "a local process: no Python fit",
        "lacks CPython's fix",
        "containers: no Docker engine answers at /nonexistent/docker.sock",
        "apt-get install python3.11",
        "DJC_PYTHON_5_2",
        "start docker",
        "--django-url",
    ] {
        assert!(message.contains(expected), "{expected:?} in {message}");
    }
    assert_eq!(
        message.matches("no Django 5.2 can start here").count(),
        1,
        "said once: {message}"
    );
    assert!(!message.contains("compared"), "{message}");
    assert!(
        !message.contains("leave Django"),
        "only 5.2 was asked for: {message}"
    );

    // Over the whole matrix, the fixes include running the other version alone.
    let output = nothing_works(&[]);
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    assert!(
        text(&output).contains("leave Django 5.2 out of this run: --django-version 6.1"),
        "{}",
        text(&output)
    );
}

/// A Docker engine on a Unix socket that answers but has no image and reaches no registry.
fn engine_without_images_or_registry(socket: &std::path::Path) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::os::unix::net::UnixListener::bind(socket).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut length = 0;
                    loop {
                        let mut header = String::new();
                        reader.read_line(&mut header).unwrap();
                        if header.trim().is_empty() {
                            break;
                        }
                        if let Some(value) =
                            header.to_ascii_lowercase().strip_prefix("content-length:")
                        {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    std::io::Read::read_exact(&mut reader, &mut body).unwrap();
                    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
                    let (status, body) = if path.ends_with("/version") {
                        (
                            "200 OK",
                            r#"{"ApiVersion":"1.41","MinAPIVersion":"1.12","Version":"20.10.24"}"#,
                        )
                    } else if path.contains("/images/create") {
                        (
                            "500 Internal Server Error",
                            r#"{"message":"Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host"}"#,
                        )
                    } else if path.contains("/images/") {
                        ("404 Not Found", r#"{"message":"No such image"}"#)
                    } else {
                        (
                            "500 Internal Server Error",
                            r#"{"message":"refused by the test's engine"}"#,
                        )
                    };
                    let reply = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    // HTTP/1.0 (djc's probe) ends with the reply; HTTP/1.1 keeps the connection.
                    if writer.write_all(reply.as_bytes()).is_err()
                        || request_line.trim_end().ends_with("HTTP/1.0")
                    {
                        return;
                    }
                }
            });
        }
    });
}

#[test]
fn an_engine_that_cannot_get_the_images_is_never_chosen() {
    let dir = scratch_suite(&[SCENARIO]);
    let python = support::unfixed_python(dir.path());
    let socket = dir.path().join("docker.sock");
    engine_without_images_or_registry(&socket);
    let host = format!("unix://{}", socket.display());
    let output = djc_with_env(
        &[
            "run",
            "--django-version",
            "5.2",
            "--django-dir",
            repo().join("django_reference").to_str().unwrap(),
        ],
        dir.path(),
        &[
            ("DJC_PYTHON_5_2", python.to_str().unwrap()),
            ("DOCKER_HOST", host.as_str()),
            ("DJC_BASE_IMAGE_5_2", "django-conformance-base:not-here"),
        ],
    );
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let message = text(&output);
    assert!(
        message.contains("containers: pulling django-conformance-base:not-here"),
        "{message}"
    );
    assert!(message.contains("no such host"), "{message}");
    assert!(!message.contains("compared"), "{message}");
}

/// A scratch suite of the whole cookies topic, with the ledger.
fn whole_suite() -> tempfile::TempDir {
    let ids: Vec<String> = std::fs::read_dir(repo().join("scenarios/cookies"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".toml") && !name.starts_with('_'))
        .map(|name| format!("cookies/{}", name.trim_end_matches(".toml")))
        .collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let dir = scratch_suite(&ids);
    std::fs::copy(
        repo().join("scenarios/known-divergences.toml"),
        dir.path().join("scenarios/known-divergences.toml"),
    )
    .unwrap();
    dir
}

fn listed(output: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            line.split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[test]
fn scenarios_are_selected_by_glob_tag_and_topic_and_a_typo_gets_a_suggestion() {
    let dir = whole_suite();
    let output = djc(&["list", "cookies/max_age*"], dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let ids = listed(&output);
    assert_eq!(ids.len(), 6, "{ids:?}");
    assert!(
        ids.iter().all(|id| id.starts_with("cookies/max_age")),
        "{ids:?}"
    );
    let ids = listed(&djc(&["list", "--tag", "jar"], dir.path()));
    assert_eq!(ids.len(), 9, "{ids:?}");
    assert!(
        ids.contains(&"cookies/jar_two_clients".to_owned()),
        "{ids:?}"
    );
    let ids = listed(&djc(&["list", "*/jar_*", "--tag", "clock"], dir.path()));
    assert_eq!(ids, ["cookies/jar_expiry_advance"]);
    for (args, expected) in [
        (
            vec!["list", "cookies/max_age_set_expires"],
            "no scenario matches \"cookies/max_age_set_expires\"; did you mean \"cookies/max_age_sets_expires\"?",
        ),
        (
            vec!["list", "--topic", "cokies"],
            "no topic \"cokies\"; did you mean \"cookies\"?",
        ),
        (
            vec!["run", "--offline", "--tag", "jarr"],
            "no tag \"jarr\"; did you mean \"jar\"?",
        ),
        (
            vec!["diff", "cookies/max_age_zeroo"],
            "cannot read .djc/last-run.json",
        ),
    ] {
        let output = djc(&args, dir.path());
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", text(&output));
        assert!(
            text(&output).contains(expected),
            "{args:?}: {}",
            text(&output)
        );
    }
}

/// Makes the Django snapshot of `id` in `dir` say status 299, so the Rust app diverges.
fn make_diverge(dir: &std::path::Path, id: &str) {
    let snapshot = dir.join(format!("snapshots/{id}.snap"));
    let golden = std::fs::read_to_string(&snapshot).unwrap();
    std::fs::write(
        &snapshot,
        golden.replacen("\"status\": 200", "\"status\": 299", 1),
    )
    .unwrap();
}

#[test]
fn fail_fast_stops_at_the_first_failure_and_failed_reruns_what_failed() {
    let dir = whole_suite();
    make_diverge(dir.path(), "cookies/all_options_attribute_order");
    make_diverge(dir.path(), "cookies/max_age_zero");
    let output = djc(
        &[
            "run",
            "--offline",
            "--fail-fast",
            "--jobs",
            "1",
            "--report",
            "r.json",
        ],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("not run: --fail-fast stopped"),
        "{}",
        text(&output)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(report["summary"]["diverged"], 1, "{report}");
    assert!(
        report["summary"]["not_run"].as_u64().unwrap() > 70,
        "{}",
        report["summary"]
    );
    // The full run finds both, then --failed runs just those.
    let output = djc(&["run", "--offline"], dir.path());
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let ids = listed(&djc(&["list", "--failed"], dir.path()));
    assert_eq!(
        ids,
        [
            "cookies/all_options_attribute_order",
            "cookies/max_age_zero"
        ]
    );
    let output = djc(
        &["run", "--offline", "--failed", "--report", "failed.json"],
        dir.path(),
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("failed.json")).unwrap())
            .unwrap();
    assert_eq!(
        report["summary"]["scenarios"],
        8,
        "two scenarios in four cells: {}",
        text(&output)
    );
}

#[test]
fn reports_carry_schema_version_and_timings_and_junit_names_each_side() {
    let dir = scratch_suite(&[SCENARIO]);
    make_diverge(dir.path(), SCENARIO);
    let output = djc(
        &["run", "--offline", "--report", "r.json", "--junit", "j.xml"],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(report["schema_version"], 2);
    assert_eq!(report["djc_version"], env!("CARGO_PKG_VERSION"));
    assert!(
        report["started_at"].as_str().unwrap().ends_with('Z'),
        "{report}"
    );
    assert!(report["duration_s"].as_f64().unwrap() > 0.0);
    let scenario = &report["scenarios"][0];
    assert_eq!(scenario["profile"], "default");
    assert!(scenario["duration_s"].as_f64().unwrap() > 0.0);
    let junit = std::fs::read_to_string(dir.path().join("j.xml")).unwrap();
    assert!(junit.contains("time=\""), "{junit}");
    assert!(
        junit.contains("step 1 status: django 299, rust 200"),
        "{junit}"
    );
    let summary = String::from_utf8_lossy(&output.stdout);
    assert!(summary.contains("ran in "), "{summary}");
}

#[test]
fn color_is_chosen_by_flag() {
    let dir = scratch_suite(&[SCENARIO]);
    make_diverge(dir.path(), SCENARIO);
    let run = |color: &str| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_djc"))
            .args(["run", "--offline", "--color", color])
            .current_dir(dir.path())
            .env_remove("NO_COLOR")
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert!(run("always").contains("\u{1b}["), "colour when asked");
    assert!(!run("never").contains("\u{1b}["), "none when refused");
    assert!(!run("auto").contains("\u{1b}["), "none into a pipe");
}

#[test]
fn diff_tells_a_missing_field_from_a_json_null() {
    let dir = scratch_suite(&[SCENARIO]);
    let snapshot = dir.path().join(format!("snapshots/{SCENARIO}.snap"));
    let golden = std::fs::read_to_string(&snapshot).unwrap();
    std::fs::write(
        &snapshot,
        golden.replacen(
            "\"status\": 200,",
            "\"status\": 200,\n      \"extra\": null,",
            1,
        ),
    )
    .unwrap();
    let output = djc(&["run", "--offline"], dir.path());
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let diff = djc(&["diff"], dir.path());
    assert_eq!(diff.status.code(), Some(1), "{}", text(&diff));
    let shown = text(&diff);
    assert!(shown.contains("django: null"), "{shown}");
    assert!(shown.contains("rust: (absent)"), "{shown}");
}
