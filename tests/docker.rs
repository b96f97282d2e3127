//! The containerised Django reference: the whole suite against containers started by
//! testcontainers (`--django docker`), and the docker-compose.yml stack behind `--django-url`.
//! Afterwards nothing of ours may be left: no container, no network, no process, no socket.

mod support;

use support::{djc, docker, repo, signal_djc, text};

/// docker-compose.yml's variables for Django 6.1 under uvicorn on the offline base images (the
/// other cells' path is the same; 5.2 under gunicorn is the default).
const COMPOSE_6_1_UVICORN: [(&str, &str); 5] = [
    ("DJC_DJANGO_VERSION", "6.1"),
    ("DJC_SERVER", "uvicorn"),
    ("DJC_BASE_IMAGE", "django-conformance-base:trixie"),
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

/// A machine as CI's starts: no Python that passes the check, an engine with no image and no
/// registry. `djc run` with no flags must end green: it builds what it lacks, once.
fn a_fresh_machine_gets_what_it_lacks_and_ends_green() {
    for image in lines(docker(&[
        "images",
        "--format",
        "{{.Repository}}:{{.Tag}}",
        "--filter",
        "reference=django-conformance-*",
    ])) {
        let removed = docker(&["rmi", "-f", &image]);
        assert!(removed.status.success(), "{}", text(&removed));
    }
    let scratch = tempfile::tempdir().unwrap();
    let python = support::unfixed_python(scratch.path());
    let report = scratch.path().join("report.json");
    let output = support::djc_with_env(
        &["run", "--report", report.to_str().unwrap()],
        &repo(),
        &[("DJC_PYTHON_5_2", python.to_str().unwrap())],
    );
    let message = text(&output);
    assert_eq!(output.status.code(), Some(0), "{message}");
    for version in ["5.2", "6.1"] {
        for said in [
            format!("Django {version} not as a local process"),
            format!(
                "building the offline base image of Django {version} from Debian's packages \
                 (once, about a minute)"
            ),
            format!("building the Django {version} image"),
            format!("Django {version} runs as django {version} (containers"),
        ] {
            assert!(message.contains(&said), "{said:?} in {message}");
        }
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let summary = &report["summary"];
    assert_eq!(summary["errors"], 0, "{message}");
    assert_eq!(summary["diverged"], 0, "{message}");
    assert_eq!(
        summary["passed"].as_u64().unwrap() + summary["known"].as_u64().unwrap(),
        summary["scenarios"].as_u64().unwrap(),
        "every scenario compared, each divergence in the ledger: {message}"
    );
    assert_eq!(our_leftovers(), Vec::<String>::new());
}

fn every_scenario_passes_in_containers_and_nothing_is_left_behind() {
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
        text(&output).contains("Django 6.1 runs as django 6.1 (containers"),
        "djc says which it chose: {}",
        text(&output)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.path()).unwrap()).unwrap();
    assert_eq!(report["mode"], "live");
    assert_eq!(report["cells"]["5.2/gunicorn"]["django_version"], "5.2.19");
    assert_eq!(report["cells"]["6.1/uvicorn"]["django_version"], "6.1.3");
    assert_eq!(report["cells"]["6.1/uvicorn"]["python_version"], "3.13.5");
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

fn docker_compose_serves_the_same_app() {
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
            .envs(COMPOSE_6_1_UVICORN)
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
    assert!(
        text(&output).contains("6.1/uvicorn"),
        "the run covers the cell the stack serves: {}",
        text(&output)
    );
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

fn ctrl_c_removes_every_container_and_network() {
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

fn containers_of_a_killed_djc_are_removed_by_the_next_run() {
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

fn sigterm_and_sighup_remove_every_container_and_network() {
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

fn django_images() -> Vec<String> {
    lines(docker(&[
        "images",
        "--format",
        "{{.Repository}}:{{.Tag}}",
        "--filter",
        "reference=django-conformance-django",
    ]))
}

/// `djc run` of one scenario on Django 5.2 in containers, from the Django project `django_dir`.
fn one_scenario_in_5_2_containers(django_dir: &std::path::Path) -> std::process::Output {
    djc(
        &[
            "run",
            "--django",
            "docker",
            "--django-dir",
            django_dir.to_str().unwrap(),
            "--django-version",
            "5.2",
            "cookies/set_cookie_plain",
        ],
        &repo(),
    )
}

/// A copy of the Django project with one more file: a change that needs a new Django image.
fn changed_django_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let copied = std::process::Command::new("cp")
        .args(["-r", "--"])
        .arg(repo().join("django_reference"))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(copied.success());
    std::fs::write(dir.path().join("django_reference/CHANGED"), "a change").unwrap();
    dir
}

fn older_django_images_are_removed_after_a_build() {
    for old in ["old-1", "old-2", "old-3"] {
        let tagged = docker(&[
            "tag",
            "django-conformance-base:bookworm",
            &format!("django-conformance-django:5.2-{old}"),
        ]);
        assert!(tagged.status.success(), "{}", text(&tagged));
    }
    let before = django_images();
    let project = changed_django_project();
    let django_dir = project.path().join("django_reference");
    let output = one_scenario_in_5_2_containers(&django_dir);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let after = django_images();
    let of_5_2: Vec<&String> = after
        .iter()
        .filter(|image| image.contains(":5.2-"))
        .collect();
    assert_eq!(
        of_5_2.len(),
        2,
        "the new 5.2 image and one before it: {before:?} → {after:?}"
    );
    assert!(
        after.iter().any(|image| image.contains(":6.1-")),
        "6.1's image is another version's, kept: {after:?}"
    );
    assert!(
        after.iter().all(|image| !image.ends_with(":old-3")),
        "{after:?}"
    );
    assert_eq!(our_leftovers(), Vec::<String>::new());
}

/// A checkout without the wheels (a fresh clone on a machine that has the base image from an
/// earlier one) gets them before the Django image is built, since nothing is downloaded inside it.
fn a_checkout_without_the_wheels_gets_them_for_an_existing_base_image() {
    let project = changed_django_project();
    let django_dir = project.path().join("django_reference");
    std::fs::remove_dir_all(django_dir.join("wheels")).unwrap();
    std::fs::create_dir_all(django_dir.join("wheels")).unwrap();
    let output = one_scenario_in_5_2_containers(&django_dir);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(
        text(&output).contains("downloading the wheels of Django 5.2 for its image"),
        "{}",
        text(&output)
    );
    assert!(
        django_dir
            .join("wheels/5.2")
            .read_dir()
            .unwrap()
            .next()
            .is_some()
    );
    assert_eq!(our_leftovers(), Vec::<String>::new());
}

/// Last: it removes the images the other tests use.
fn clean_removes_everything_djc_made() {
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().join("cache");
    std::fs::create_dir_all(cache_dir.join("venvs")).unwrap();
    let output = support::djc_with_env(
        &["clean"],
        &repo(),
        &[("DJC_CACHE_DIR", cache_dir.to_str().unwrap())],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    for base in ["bookworm", "trixie"] {
        assert!(
            text(&output).contains(&format!("removed django-conformance-base:{base}")),
            "{}",
            text(&output)
        );
    }
    assert!(!cache_dir.exists(), "{}", text(&output));
    let left = lines(docker(&[
        "images",
        "-q",
        "--filter",
        "reference=django-conformance-*",
    ]));
    assert_eq!(left, Vec::<String>::new());
    assert_eq!(our_leftovers(), Vec::<String>::new());
}

fn main() {
    support::run_trials(
        support::Needs::Docker,
        trials![
            a_fresh_machine_gets_what_it_lacks_and_ends_green,
            every_scenario_passes_in_containers_and_nothing_is_left_behind,
            docker_compose_serves_the_same_app,
            ctrl_c_removes_every_container_and_network,
            containers_of_a_killed_djc_are_removed_by_the_next_run,
            sigterm_and_sighup_remove_every_container_and_network,
            older_django_images_are_removed_after_a_build,
            a_checkout_without_the_wheels_gets_them_for_an_existing_base_image,
            clean_removes_everything_djc_made,
        ],
    );
}
