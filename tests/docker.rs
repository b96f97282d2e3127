//! The containerised Django reference: the whole suite against containers started by
//! testcontainers (`--django docker`), and the docker-compose.yml stack behind `--django-url`.
//! Afterwards nothing of ours may be left: no container, no network, no process, no socket.

mod support;

use std::sync::Mutex;

use support::{djc, docker, docker_available, repo, signal_djc, text};

/// The two tests look at the same engine for leftovers, so they take turns.
static ENGINE: Mutex<()> = Mutex::new(());

const OFFLINE_IMAGES: [(&str, &str); 3] = [
    ("DJC_BASE_IMAGE", "django-conformance-base:bookworm"),
    ("DJC_REDIS_IMAGE", "django-conformance-base:bookworm"),
    ("DJC_MEMCACHED_IMAGE", "django-conformance-base:bookworm"),
];

fn lines(output: std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn our_leftovers() -> Vec<String> {
    let containers = lines(docker(&[
        "ps",
        "-aq",
        "--filter",
        "label=org.django-conformance.run",
    ]));
    let networks = lines(docker(&["network", "ls", "-q", "--filter", "name=djc-"]));
    let sockets = std::fs::read_dir(std::env::temp_dir())
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with("djc-docker-api-"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let processes = lines(
        std::process::Command::new("pgrep")
            .args(["-f", "conformance.wsgi"])
            .output()
            .expect("pgrep runs"),
    );
    [
        containers
            .iter()
            .map(|c| format!("container {c}"))
            .collect::<Vec<_>>(),
        networks.iter().map(|n| format!("network {n}")).collect(),
        sockets.iter().map(|s| format!("socket {s}")).collect(),
        processes.iter().map(|p| format!("process {p}")).collect(),
    ]
    .concat()
}

/// Whether `GET /__djc__/health` on the loopback port answers 200.
fn health_answers(port: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(format!("127.0.0.1:{port}")) else {
        return false;
    };
    let mut reply = String::new();
    stream
        .write_all(b"GET /__djc__/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .is_ok()
        && stream.read_to_string(&mut reply).is_ok()
        && reply.starts_with("HTTP/1.1 200")
}

#[test]
fn every_scenario_passes_in_containers_and_nothing_is_left_behind() {
    if !docker_available("every_scenario_passes_in_containers_and_nothing_is_left_behind") {
        return;
    }
    let _engine = ENGINE.lock().unwrap_or_else(|e| e.into_inner());
    let report = tempfile::NamedTempFile::new().unwrap();
    let output = djc(
        &[
            "run",
            "--django",
            "docker",
            "--report",
            report.path().to_str().unwrap(),
        ],
        &repo(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(
        text(&output).contains("Django runs as django (containers"),
        "djc says which it chose: {}",
        text(&output)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.path()).unwrap()).unwrap();
    assert_eq!(report["mode"], "live");
    assert_eq!(report["django_version"], "5.2.19");
    assert_eq!(
        (
            report["summary"]["errors"].as_u64(),
            report["summary"]["drifted"].as_u64()
        ),
        (Some(0), Some(0))
    );
    assert!(report["summary"]["scenarios"].as_u64().unwrap() >= 40);
    assert_eq!(our_leftovers(), Vec::<String>::new());
}

#[test]
fn docker_compose_serves_the_same_app() {
    if !docker_available("docker_compose_serves_the_same_app") {
        return;
    }
    let _engine = ENGINE.lock().unwrap_or_else(|e| e.into_inner());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let project = "conformance-compose-test";
    let compose = |args: &[&str]| {
        let mut command = std::process::Command::new("docker-compose");
        command
            .args(["-p", project])
            .args(args)
            .current_dir(repo())
            .envs(OFFLINE_IMAGES)
            .env("DJC_PORT", &port);
        command.output().expect("docker-compose runs")
    };
    let up = compose(&["up", "-d", "--build"]);
    assert!(up.status.success(), "{}", text(&up));
    let url = format!("http://127.0.0.1:{port}/");
    let answered = (0..120).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(500));
        health_answers(&port)
    });
    let output = djc(
        &["run", "--django-url", &url, "--profile", "default"],
        &repo(),
    );
    let down = compose(&["down", "-v"]);
    assert!(answered, "the compose stack never answered on {url}");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(down.status.success(), "{}", text(&down));
    let left = lines(docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
    ]));
    assert_eq!(
        left,
        Vec::<String>::new(),
        "docker-compose down leaves no container"
    );
}

#[test]
fn ctrl_c_removes_every_container_and_network() {
    if !docker_available("ctrl_c_removes_every_container_and_network") {
        return;
    }
    let _engine = ENGINE.lock().unwrap_or_else(|e| e.into_inner());
    let running = || {
        lines(docker(&[
            "ps",
            "-q",
            "--filter",
            "label=org.django-conformance.run",
        ]))
        .len()
    };
    // Interrupted once the three profiles' stacks run (nine containers), in mid-run.
    let output = signal_djc(
        &["run", "--django", "docker", "--jobs", "1"],
        &repo(),
        libc::SIGINT,
        |_| running() >= 9,
    );
    assert_eq!(output.status.code(), Some(130), "{}", text(&output));
    assert!(text(&output).contains("interrupted"), "{}", text(&output));
    assert_eq!(our_leftovers(), Vec::<String>::new());
}

#[test]
fn containers_of_a_killed_djc_are_removed_by_the_next_run() {
    if !docker_available("containers_of_a_killed_djc_are_removed_by_the_next_run") {
        return;
    }
    let _engine = ENGINE.lock().unwrap_or_else(|e| e.into_inner());
    let ours = || {
        lines(docker(&[
            "ps",
            "-aq",
            "--filter",
            "label=org.django-conformance.run",
        ]))
    };
    let scratch = tempfile::tempdir().unwrap();
    let snapshots = scratch.path().to_str().unwrap();
    for command in ["run", "record"] {
        let output = signal_djc(
            &[
                command,
                "--django",
                "docker",
                "--jobs",
                "1",
                "--profile",
                "default",
                "--snapshots",
                snapshots,
            ],
            &repo(),
            libc::SIGKILL,
            |_| ours().len() >= 3,
        );
        assert_eq!(output.status.code(), None, "killed: {}", text(&output));
        assert!(
            !ours().is_empty(),
            "{command}: a killed djc cannot remove its containers"
        );
        let output = djc(
            &["run", "--django", "docker", "--profile", "legacy_salt_off"],
            &repo(),
        );
        assert_eq!(output.status.code(), Some(0), "{}", text(&output));
        assert!(
            text(&output).contains("removing the containers of 1 earlier run(s) whose djc is gone"),
            "{command}: {}",
            text(&output)
        );
        assert_eq!(our_leftovers(), Vec::<String>::new(), "{command}");
    }
}

#[test]
fn sigterm_and_sighup_remove_every_container_and_network() {
    if !docker_available("sigterm_and_sighup_remove_every_container_and_network") {
        return;
    }
    let _engine = ENGINE.lock().unwrap_or_else(|e| e.into_inner());
    let scratch = tempfile::tempdir().unwrap();
    for (command, signal) in [("run", libc::SIGTERM), ("record", libc::SIGHUP)] {
        let output = signal_djc(
            &[
                command,
                "--django",
                "docker",
                "--jobs",
                "1",
                "--snapshots",
                scratch.path().to_str().unwrap(),
            ],
            &repo(),
            signal,
            |_| {
                lines(docker(&[
                    "ps",
                    "-q",
                    "--filter",
                    "label=org.django-conformance.run",
                ]))
                .len()
                    >= 3
            },
        );
        assert_eq!(
            output.status.code(),
            Some(128 + signal),
            "{command}: {}",
            text(&output)
        );
        assert_eq!(our_leftovers(), Vec::<String>::new(), "{command}");
    }
}
