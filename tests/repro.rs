//! The inputs that once broke djc (tests/repro/README.md says what each showed), kept as
//! regression tests: refused with the file, line and limit, or run through without a panic.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use django_conformance::harness::cell::Cell;
use django_conformance::harness::profile::Profiles;
use django_conformance::harness::runner::{Runner, Targets};
use django_conformance::harness::scenario;
use django_conformance::harness::targets::{RustTarget, Target, TargetKind};
use support::{djc, repo, text};

fn repro(folder: &str) -> PathBuf {
    repo().join("tests/repro").join(folder)
}

#[test]
fn include_hazards_are_refused_with_the_file_line_and_limit() {
    for (folder, place, problem) in [
        (
            "t1",
            "t1/cookies/_a.toml:1:",
            "the includes form a cycle: _a.toml → _a.toml",
        ),
        (
            "fan6",
            "fan6/cookies/_f5.toml:17:",
            "more than 1000 includes (the limit)",
        ),
        (
            "zero",
            "zero/cookies/set_cookie_plain.toml:1:",
            "cannot include \"/dev/zero\": it is outside the scenarios folder",
        ),
    ] {
        let scenarios = repro("include-hazards").join(folder);
        let output = djc(
            &[
                "run",
                "--offline",
                "--scenarios",
                scenarios.to_str().unwrap(),
            ],
            &repo(),
        );
        assert_eq!(output.status.code(), Some(2), "{folder}: {}", text(&output));
        let message = text(&output);
        assert!(message.contains(place), "{folder}: {message}");
        assert!(message.contains(problem), "{folder}: {message}");
    }
}

#[test]
fn every_fuzzed_clock_beyond_year_9999_is_refused_by_name() {
    let scenarios = repro("scenario-panics/fuzzed");
    let output = djc(
        &["list", "--scenarios", scenarios.to_str().unwrap()],
        &repo(),
    );
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let message = text(&output);
    assert!(
        message.contains("22 malformed scenario file(s)"),
        "{message}"
    );
    let refused = message
        .lines()
        .filter(|line| line.contains("it must stay between 0 and 253402300799"))
        .count();
    assert_eq!(refused, 22, "{message}");
}

/// Runs every scenario below `folder` on the Rust app, with `mutate` applied to each, and
/// returns each run's error, if any. A panic in the harness fails the calling test.
fn run_on_rust(folder: &Path, mutate: impl Fn(&mut scenario::Scenario)) -> Vec<String> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut errors = Vec::new();
        let roots = [folder.to_owned()];
        let runner = Runner::new(Profiles::load(&roots).unwrap());
        let targets = Targets {
            django: None,
            rust: Some(Arc::new(RustTarget::default()) as Arc<dyn Target>),
        };
        for mut scenario in scenario::load_all(&roots, &[]).unwrap() {
            mutate(&mut scenario);
            for cell in Cell::all() {
                let ran = runner
                    .run(&scenario, cell, TargetKind::Rust, &targets, &scenario.id)
                    .await;
                errors.extend(ran.err());
            }
        }
        targets.shutdown().await;
        errors
    })
}

#[test]
fn what_once_panicked_the_harness_runs_through_on_the_rust_app() {
    for folder in ["year9999", "maxage_panic", "b62"] {
        let errors = run_on_rust(&repro("scenario-panics").join(folder), |_| {});
        assert_eq!(errors, Vec::<String>::new(), "{folder}");
    }
}

#[test]
fn clocks_the_loader_refuses_still_cannot_panic_the_harness() {
    // The values of the fuzzed files, set after loading, where the loader cannot refuse them.
    // The app may refuse such a clock (a contract error); the harness must not panic.
    let folder = repro("scenario-panics/year9999");
    for clock in [253_402_300_800.0, 9.223_372_036_854_776e18, 1e308, f64::NAN] {
        run_on_rust(&folder, |scenario| scenario.clock_start = clock);
        run_on_rust(&folder, |scenario| {
            for step in &mut scenario.steps {
                step.advance = clock;
            }
        });
    }
}
