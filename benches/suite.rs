//! Suite benchmark (not a test): how fast and how lean `djc` is as the suite grows.
//!
//! * offline: `djc run --offline` on the suite as it is and on a copy twenty times its size:
//!   wall time, steps per second (report included), peak memory;
//! * live: the suite's requests against a local Django, three ways: sent by the harness's client to
//!   Django alone (no Rust app, no comparison), the same through `suite::run` (both apps,
//!   compared), and `djc run --django local` as a whole process (start, run, reports, stop),
//!   beside Django alone started, sent the requests and stopped. Skipped, with the reason, where
//!   no local Django can start.
//!
//! Each figure is the median of `DJC_BENCH_RUNS` runs (default 5).
//!
//! ```sh
//! cargo bench --bench suite
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use django_conformance::harness::cell::{Cell, DjangoVersion};
use django_conformance::harness::ledger::Ledger;
use django_conformance::harness::profile::Profiles;
use django_conformance::harness::progress::Progress;
use django_conformance::harness::runner::{Runner, Targets};
use django_conformance::harness::scenario::{self, Scenario};
use django_conformance::harness::snapshot::SnapshotStore;
use django_conformance::harness::suite::{self, Mode, Status, Suite};
use django_conformance::harness::targets::{DjangoLocal, RustTarget, Target, TargetKind};

/// `djc`'s default `--jobs` on this machine's two cores.
const JOBS: usize = 2;
const COPIES: usize = 20;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn runs() -> usize {
    std::env::var("DJC_BENCH_RUNS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(5)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn mib(kib: i64) -> f64 {
    kib as f64 / 1024.0
}

/// Runs `djc args` in `dir`; its wall time and peak resident memory (KiB), read with wait4(2)
/// from that one process.
#[expect(
    clippy::zombie_processes,
    reason = "reaped with wait4(2), which also reports its peak memory"
)]
fn timed_djc(args: &[&str], dir: &Path) -> (Duration, i64) {
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_djc"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("djc starts");
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills; the pid is our own unwaited child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "djc {args:?} failed in {} (status {status})",
        dir.display()
    );
    (wall, usage.ru_maxrss)
}

/// A copy of the suite (scenarios, snapshots, profiles, ledger) with every scenario `copies`
/// times, `<id>_<n>`; ledger entries cover each copy of their scenario.
fn copy_suite(copies: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let scenarios = dir.path().join("scenarios");
    std::fs::create_dir_all(&scenarios).unwrap();
    for file in ["profiles.toml", "known-divergences.toml"] {
        let text = std::fs::read_to_string(repo().join("scenarios").join(file)).unwrap();
        let text = if file == "known-divergences.toml" {
            text.lines()
                .map(|line| match line.strip_prefix("scenario = \"") {
                    Some(rest) => format!("scenario = \"{}_*\"\n", rest.trim_end_matches('"')),
                    None => format!("{line}\n"),
                })
                .collect()
        } else {
            text
        };
        std::fs::write(scenarios.join(file), text).unwrap();
    }
    for entry in walk(&repo().join("scenarios")) {
        let relative = entry.strip_prefix(repo().join("scenarios")).unwrap();
        if relative.components().count() < 2 || entry.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let stem = relative.with_extension("");
        let snapshot = repo().join("snapshots").join(stem.with_extension("snap"));
        for n in 0..copies {
            let id = format!("{}_{n:02}", stem.display());
            let to = scenarios.join(format!("{id}.toml"));
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&entry, &to).unwrap();
            let to = dir.path().join("snapshots").join(format!("{id}.snap"));
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&snapshot, &to).unwrap();
        }
    }
    dir
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn load(root: &Path) -> Vec<Scenario> {
    scenario::load_all(&[root.join("scenarios")], &[]).expect("the suite loads")
}

fn offline() {
    println!(
        "offline: djc run --offline (report included), median of {} runs",
        runs()
    );
    println!(
        "  {:>6} {:>9} {:>7} {:>9} {:>12} {:>10}",
        "copies", "scenarios", "steps", "wall", "steps/s", "peak"
    );
    for copies in [1, COPIES] {
        let dir = copy_suite(copies);
        let scenarios = load(dir.path());
        let steps: usize = scenarios.iter().map(|s| s.steps.len()).sum();
        let report = dir.path().join("report.json");
        let args = [
            "run",
            "--offline",
            "--django-version",
            "5.2",
            "--server",
            "gunicorn",
            "--report",
            report.to_str().unwrap(),
        ];
        let measured: Vec<(Duration, i64)> =
            (0..runs()).map(|_| timed_djc(&args, dir.path())).collect();
        let wall = median(measured.iter().map(|(d, _)| d.as_secs_f64()).collect());
        let peak = measured.iter().map(|(_, kib)| *kib).max().unwrap();
        println!(
            "  {copies:>5}x {:>9} {steps:>7} {:>8.3}s {:>12.0} {:>7.1} MiB",
            scenarios.len(),
            wall,
            steps as f64 / wall,
            mib(peak)
        );
    }
}

async fn start(targets: &Targets, profiles: &Profiles, scenarios: &[Scenario]) {
    let mut starting = tokio::task::JoinSet::new();
    let mut needed: Vec<&str> = scenarios.iter().map(|s| s.profile.as_str()).collect();
    needed.sort_unstable();
    needed.dedup();
    for target in [&targets.django, &targets.rust].into_iter().flatten() {
        for name in &needed {
            let target = target.clone();
            let profile = profiles.get(name).unwrap().clone();
            starting
                .spawn(async move { target.instance(Cell::REFERENCE, &profile).await.map(|_| ()) });
        }
    }
    for started in starting.join_all().await {
        started.expect("an app instance starts");
    }
}

/// Every scenario's requests sent to Django alone by the harness's client, `JOBS` scenarios at
/// a time as `djc run` does.
async fn replay_at_django(runner: &Arc<Runner>, targets: &Targets, scenarios: &[Scenario]) {
    let mut running = tokio::task::JoinSet::new();
    for scenario in scenarios {
        while running.len() >= JOBS {
            running.join_next().await.unwrap().unwrap();
        }
        let (runner, targets, scenario) = (runner.clone(), targets.clone(), scenario.clone());
        running.spawn(async move {
            let namespace = format!("bench-{}", scenario.id);
            runner
                .run(
                    &scenario,
                    Cell::REFERENCE,
                    TargetKind::Django,
                    &targets,
                    &namespace,
                )
                .await
                .map(|_| ())
                .unwrap_or_else(|e| panic!("{}: {e}", scenario.id));
        });
    }
    running.join_all().await;
}

fn django_local(logs: &Path) -> Result<Arc<dyn Target>, String> {
    DjangoLocal::prepare(
        DjangoVersion::V5_2,
        repo().join("django_reference"),
        logs.to_owned(),
        &Progress::hidden(),
    )
    .map(|django| Arc::new(django) as Arc<dyn Target>)
    .map_err(|e| e.to_string())
}

fn live() {
    let logs = tempfile::tempdir().unwrap();
    if let Err(why) = django_local(logs.path()) {
        println!("live: skipped: no local Django: {why}");
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let scenarios = load(repo());
    let steps: usize = scenarios.iter().map(|s| s.steps.len()).sum();
    let roots = [repo().join("scenarios")];
    let profiles = Profiles::load(&roots).unwrap();
    println!(
        "live: {} scenarios, {steps} requests to each app, local Django, median of {} runs",
        scenarios.len(),
        runs()
    );

    // Run phase: the instances already up.
    let (replay, compared) = runtime.block_on(async {
        let targets = Targets {
            django: Some(django_local(logs.path()).unwrap()),
            rust: Some(Arc::new(RustTarget::default())),
        };
        start(&targets, &profiles, &scenarios).await;
        let runner = Arc::new(Runner::new(profiles.clone()));
        let django_only = Targets {
            django: targets.django.clone(),
            rust: None,
        };
        replay_at_django(&runner, &django_only, &scenarios).await; // warm-up
        let mut replay = Vec::new();
        let mut compared = Vec::new();
        for _ in 0..runs() {
            let started = Instant::now();
            replay_at_django(&runner, &django_only, &scenarios).await;
            replay.push(started.elapsed().as_secs_f64());
            let suite = Arc::new(Suite {
                runner: Runner::new(profiles.clone()),
                cells: vec![Cell::REFERENCE],
                targets: targets.clone(),
                ledger: Ledger::load(&roots).unwrap(),
                snapshots: SnapshotStore::new(repo().join("snapshots")),
                mode: Mode::Live,
                jobs: JOBS,
                fail_fast: false,
            });
            let started = Instant::now();
            let result = suite::run(suite, scenarios.clone(), |_| {}).await;
            compared.push(started.elapsed().as_secs_f64());
            assert_eq!(result.count(Status::Error), 0, "live scenarios errored");
        }
        targets.shutdown().await;
        (median(replay), median(compared))
    });
    println!("  run phase (apps already started):");
    println!("    requests sent to Django alone      {replay:>7.3}s");
    println!(
        "    suite::run, both apps, compared    {compared:>7.3}s  ({:.2}x Django alone)",
        compared / replay
    );

    // Whole process: start, run, stop.
    let alone: Vec<f64> = (0..runs())
        .map(|_| {
            runtime.block_on(async {
                let started = Instant::now();
                let django_only = Targets {
                    django: Some(django_local(logs.path()).unwrap()),
                    rust: None,
                };
                start(&django_only, &profiles, &scenarios).await;
                let runner = Arc::new(Runner::new(profiles.clone()));
                replay_at_django(&runner, &django_only, &scenarios).await;
                django_only.shutdown().await;
                started.elapsed().as_secs_f64()
            })
        })
        .collect();
    let measured: Vec<(Duration, i64)> = (0..runs())
        .map(|_| {
            timed_djc(
                &[
                    "run",
                    "--django",
                    "local",
                    "--django-version",
                    "5.2",
                    "--server",
                    "gunicorn",
                ],
                repo(),
            )
        })
        .collect();
    let alone = median(alone);
    let whole = median(measured.iter().map(|(d, _)| d.as_secs_f64()).collect());
    let peak = measured.iter().map(|(_, kib)| *kib).max().unwrap();
    println!("  whole process (start every profile, run, stop):");
    println!("    Django alone                       {alone:>7.3}s");
    println!(
        "    djc run --django local             {whole:>7.3}s  ({:.2}x Django alone), peak {:.1} MiB",
        whole / alone,
        mib(peak)
    );
}

fn main() {
    // `cargo bench` passes `--bench`; this benchmark takes no arguments of its own.
    offline();
    live();
}
