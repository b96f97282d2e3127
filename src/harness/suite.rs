//! A run over many scenarios in the cells of the matrix: each scenario's Django record in a cell
//! (live, or that cell's snapshot offline) is compared with the Rust app's emulating that cell, differences are explained by the ledger or reported, and live
//! Django is checked against its snapshot (drift). Scenarios run in parallel; a fault in one is
//! that scenario's error, never the run's.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;

use super::cell::Cell;
use super::diff::{Difference, diff_transcripts};
use super::ledger::{DivergenceClass, Ledger};
use super::normalize::suggest_pattern;
use super::panics::{Panic, catch_panic};
use super::runner::{Runner, Targets};
use super::scenario::Scenario;
use super::snapshot::{CellRecord, SnapshotStore, Written};
use super::targets::{Provenance, TargetKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Django runs now, beside the Rust app.
    Live,
    /// Django's side comes from the snapshots; no Python needed.
    Offline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    Diverged,
    /// Every difference is explained by the ledger.
    Known,
    /// Live Django and the Rust app agree, but Django's record was never accepted as a
    /// snapshot: not a pass until it is recorded and reviewed.
    Unrecorded,
    Error,
}

/// A difference between Django and Rust, with the ledger entry that explains it, if any.
#[derive(Debug, Clone, Serialize)]
pub struct Divergence {
    #[serde(flatten)]
    pub difference: Difference,
    pub known: Option<Known>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Known {
    pub class: DivergenceClass,
    pub reason: String,
    pub entry: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub id: String,
    /// The Django version and server it ran in (`django_version`, `server` in the report).
    #[serde(flatten)]
    pub cell: Cell,
    pub topic: String,
    pub tags: Vec<String>,
    pub profile: String,
    pub status: Status,
    /// Seconds the scenario took, both sides.
    pub duration_s: f64,
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub divergences: Vec<Divergence>,
    /// Live Django against its snapshot; empty offline.
    pub drift: Vec<Difference>,
    /// Whether an accepted snapshot exists.
    pub recorded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub django: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rust: Option<Vec<Value>>,
}

/// A ledger entry that explained nothing in the scenarios it names.
#[derive(Debug, Clone, Serialize)]
pub struct StaleEntry {
    pub entry: String,
    pub scenario: String,
    pub why: String,
}

impl Outcome {
    /// Whether this scenario fails the run.
    pub fn failed(&self) -> bool {
        matches!(
            self.status,
            Status::Diverged | Status::Error | Status::Unrecorded
        ) || !self.drift.is_empty()
    }
}

pub struct Suite {
    pub runner: Runner,
    /// Every scenario runs in each of these cells.
    pub cells: Vec<Cell>,
    pub targets: Targets,
    pub ledger: Ledger,
    pub snapshots: SnapshotStore,
    pub mode: Mode,
    pub jobs: usize,
    /// Start no more scenarios once one fails.
    pub fail_fast: bool,
}

#[derive(Debug, Clone)]
pub struct RunResult {
    /// Where Django's side came from in each cell: the live instance, or the snapshots offline.
    pub provenance: BTreeMap<Cell, Provenance>,
    pub mode: Mode,
    /// Every scenario that ran in each cell, in the order given (a scenario's cells together),
    /// without its records (they were handed to the caller one by one and are not kept: memory
    /// stays flat however large the suite).
    pub outcomes: Vec<Outcome>,
    /// Scenario runs (a scenario in a cell) not started because `fail_fast` stopped the run.
    pub not_run: usize,
    pub stale_ledger_entries: Vec<StaleEntry>,
    /// Seconds from the first scenario's start to the last one's end.
    pub duration_s: f64,
}

impl RunResult {
    pub fn count(&self, status: Status) -> usize {
        self.outcomes.iter().filter(|o| o.status == status).count()
    }

    pub fn drifted(&self) -> usize {
        self.outcomes.iter().filter(|o| !o.drift.is_empty()).count()
    }

    /// Nothing unexplained: no divergence, no error, no unrecorded scenario, no drift, no stale
    /// ledger entry, and nothing left out.
    pub fn clean(&self) -> bool {
        !self.outcomes.iter().any(Outcome::failed)
            && self.stale_ledger_entries.is_empty()
            && self.not_run == 0
    }
}

/// Runs `scenarios`, `suite.jobs` at a time, handing each outcome to `each` in the order of
/// `scenarios` as soon as it and those before it are done, records included.
pub async fn run(
    suite: Arc<Suite>,
    scenarios: Vec<Scenario>,
    mut each: impl FnMut(&Outcome),
) -> RunResult {
    let started = Instant::now();
    let selected: Vec<(String, String)> = scenarios
        .iter()
        .map(|s| (s.id.clone(), s.topic.clone()))
        .collect();
    let cells = suite.cells.clone();
    let total = scenarios.len() * cells.len();
    let mut queue = scenarios
        .into_iter()
        .map(Arc::new)
        .flat_map(|scenario| cells.iter().map(move |&cell| (scenario.clone(), cell)))
        .enumerate();
    let mut tasks = tokio::task::JoinSet::new();
    let mut finished: BTreeMap<usize, Outcome> = BTreeMap::new();
    let mut outcomes = Vec::with_capacity(total);
    let mut provenance = BTreeMap::new();
    let mut stopping = false;
    loop {
        while !stopping && tasks.len() < suite.jobs.max(1) {
            let Some((index, (scenario, cell))) = queue.next() else {
                break;
            };
            let suite = suite.clone();
            tasks.spawn(async move {
                let started = Instant::now();
                let (mut outcome, provenance) =
                    match catch_panic(run_one(&suite, &scenario, cell)).await {
                        Ok(ran) => ran,
                        Err(panic) => (
                            Outcome::error(&scenario, cell, djc_fault(&panic)),
                            Provenance::default(),
                        ),
                    };
                outcome.duration_s = started.elapsed().as_secs_f64();
                (index, outcome, provenance)
            });
        }
        // Scenario tasks catch their own panics and are never aborted.
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let (index, outcome, version) = joined.expect("a scenario task ends with its outcome");
        if !version.django_version.is_empty() {
            provenance.entry(outcome.cell).or_insert(version);
        }
        stopping |= suite.fail_fast && outcome.failed();
        finished.insert(index, outcome);
        // Scenarios are started in order, so every index below the highest started one comes.
        while let Some(entry) = finished.first_entry() {
            if entry.key() != &outcomes.len() {
                break;
            }
            let mut outcome = entry.remove();
            each(&outcome);
            outcome.django = None;
            outcome.rust = None;
            outcomes.push(outcome);
        }
    }
    let stale_ledger_entries = if stopping {
        // Entries naming scenarios that did not run cannot be judged.
        Vec::new()
    } else {
        stale_entries(&suite.ledger, &selected, &outcomes)
    };
    RunResult {
        provenance,
        mode: suite.mode,
        not_run: total - outcomes.len(),
        outcomes,
        stale_ledger_entries,
        duration_s: started.elapsed().as_secs_f64(),
    }
}

static RUN_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A namespace no other run of this process or another shares.
pub fn namespace(scenario: &Scenario, cell: Cell, target: TargetKind) -> String {
    let n = RUN_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{}@{}-{target}-{}-{n}",
        scenario.id,
        cell.file_tag(),
        std::process::id()
    )
}

/// The error of a scenario during which djc itself panicked.
pub fn djc_fault(panic: &Panic) -> String {
    format!("djc failed on this scenario (a bug in djc, please report it): {panic}")
}

impl Outcome {
    /// Nothing known yet: an error until a comparison says otherwise.
    fn new(scenario: &Scenario, cell: Cell) -> Outcome {
        Outcome {
            id: scenario.id.clone(),
            cell,
            topic: scenario.topic.clone(),
            tags: scenario.tags.clone(),
            profile: scenario.profile.clone(),
            status: Status::Error,
            duration_s: 0.0,
            file: scenario.file.display().to_string(),
            error: None,
            divergences: Vec::new(),
            drift: Vec::new(),
            recorded: false,
            django: None,
            rust: None,
        }
    }

    /// A scenario that could not be compared in `cell`, and why.
    fn error(scenario: &Scenario, cell: Cell, error: String) -> Outcome {
        Outcome {
            error: Some(error),
            ..Outcome::new(scenario, cell)
        }
    }

    /// `cookies/a [5.2/gunicorn]`: the scenario and its cell, for people.
    pub fn name(&self) -> String {
        format!("{} [{}]", self.id, self.cell)
    }
}

async fn run_one(suite: &Suite, scenario: &Scenario, cell: Cell) -> (Outcome, Provenance) {
    let mut outcome = Outcome::new(scenario, cell);
    let mut golden = match suite.snapshots.read(&scenario.id, cell) {
        Ok(golden) => golden,
        Err(error) => {
            outcome.error = Some(error);
            return (outcome, Provenance::default());
        }
    };
    outcome.recorded = golden.is_some();
    let (django, provenance) = match suite.mode {
        Mode::Live => match suite
            .runner
            .run(
                scenario,
                cell,
                TargetKind::Django,
                &suite.targets,
                &namespace(scenario, cell, TargetKind::Django),
            )
            .await
        {
            Ok(transcript) => (transcript.steps, transcript.provenance),
            Err(error) => {
                outcome.error = Some(format!("on Django: {error}"));
                return (outcome, Provenance::default());
            }
        },
        Mode::Offline => match golden.take() {
            Some(golden) if !scenario.steps.iter().any(|s| s.target.is_some()) => {
                (golden.steps, golden.provenance)
            }
            Some(_) => {
                outcome.error = Some(
                    "this scenario pins steps to a target (handoff), which needs a live Django"
                        .to_owned(),
                );
                return (outcome, Provenance::default());
            }
            None => {
                outcome.error = Some(format!(
                    "no snapshot of the cell {cell} (neither {} nor {} holds it): record it with \
                     `djc record`",
                    suite.snapshots.path(&scenario.id).display(),
                    suite.snapshots.cell_path(&scenario.id, cell).display()
                ));
                return (outcome, Provenance::default());
            }
        },
    };
    if suite.mode == Mode::Live
        && let Some(golden) = &golden
    {
        outcome.drift = diff_transcripts(&golden.steps, &django);
    }
    let rust = match suite
        .runner
        .run(
            scenario,
            cell,
            TargetKind::Rust,
            &suite.targets,
            &namespace(scenario, cell, TargetKind::Rust),
        )
        .await
    {
        Ok(transcript) => transcript.steps,
        Err(error) => {
            outcome.error = Some(format!("on Rust: {error}"));
            outcome.django = Some(django);
            return (outcome, provenance);
        }
    };
    outcome.divergences = diff_transcripts(&django, &rust)
        .into_iter()
        .map(|difference| {
            let known = suite
                .ledger
                .explain(&scenario.id, cell, &difference)
                .map(|index| {
                    let entry = &suite.ledger.entries[index];
                    Known {
                        class: entry.class,
                        reason: entry.reason.clone(),
                        entry: entry.origin.to_string(),
                    }
                });
            Divergence { difference, known }
        })
        .collect();
    outcome.django = Some(django);
    outcome.rust = Some(rust);
    outcome.status = if outcome.divergences.iter().any(|d| d.known.is_none()) {
        Status::Diverged
    } else if !outcome.recorded {
        Status::Unrecorded
    } else if outcome.divergences.is_empty() {
        Status::Passed
    } else {
        Status::Known
    };
    (outcome, provenance)
}

/// Ledger entries that explain nothing: naming no scenario of a selected topic, or naming
/// scenarios that ran and showed no divergence the entry explains. `selected` holds each
/// selected scenario's id and topic.
fn stale_entries(
    ledger: &Ledger,
    selected: &[(String, String)],
    outcomes: &[Outcome],
) -> Vec<StaleEntry> {
    let selected_topics: Vec<&str> = selected.iter().map(|(_, topic)| topic.as_str()).collect();
    let mut stale = Vec::new();
    for entry in &ledger.entries {
        let entry_topic = entry.scenario.split('/').next().unwrap_or_default();
        let named: Vec<&Outcome> = outcomes
            .iter()
            .filter(|o| entry.covers(&o.id, o.cell))
            .collect();
        if named.is_empty() {
            // Its scenarios ran, but not in its cells: nothing to judge.
            let ran_elsewhere = outcomes.iter().any(|o| entry.covers_scenario(&o.id));
            if !ran_elsewhere
                && (selected_topics.contains(&entry_topic) || entry_topic.contains('*'))
            {
                stale.push(StaleEntry {
                    entry: entry.origin.to_string(),
                    scenario: entry.scenario.clone(),
                    why: "it names no scenario that exists".into(),
                });
            }
            continue;
        }
        // Scenarios that errored prove nothing either way.
        let compared: Vec<&&Outcome> = named.iter().filter(|o| o.status != Status::Error).collect();
        let used = compared.iter().any(|o| {
            o.divergences.iter().any(|d| {
                d.known
                    .as_ref()
                    .is_some_and(|k| k.entry == entry.origin.to_string())
            })
        });
        if !compared.is_empty() && !used {
            stale.push(StaleEntry {
                entry: entry.origin.to_string(),
                scenario: entry.scenario.clone(),
                why: "the divergence it lists no longer occurs: remove the entry".into(),
            });
        }
    }
    stale
}

/// How recording one scenario went.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    Written(Written),
    /// Two Django runs disagreed on fields no redaction covers.
    Unstable(Vec<String>),
    Error(String),
}

/// Runs Django twice in each of `cells` and stores the records of the cells where both runs
/// agree (one store for all of them, so that the cells that agree share a file). Each cell's
/// result, in the order of `cells`.
pub async fn record_one(
    runner: &Runner,
    targets: &Targets,
    snapshots: &SnapshotStore,
    scenario: &Scenario,
    cells: &[Cell],
    accept: bool,
) -> Vec<(Cell, Recorded)> {
    if scenario
        .steps
        .iter()
        .any(|s| s.target == Some(TargetKind::Rust))
    {
        let why = "a step always goes to rust, and a golden record comes from Django alone";
        return cells
            .iter()
            .map(|&cell| (cell, Recorded::Error(why.into())))
            .collect();
    }
    let mut results: Vec<(Cell, Option<Recorded>)> = Vec::new();
    let mut records = Vec::new();
    for &cell in cells {
        match record_cell(runner, targets, scenario, cell).await {
            Ok(record) => {
                records.push(record);
                results.push((cell, None));
            }
            Err(failed) => results.push((cell, Some(failed))),
        }
    }
    let written = snapshots.write(scenario, &records, accept);
    results
        .into_iter()
        .map(|(cell, failed)| {
            let recorded = failed.unwrap_or_else(|| match &written {
                Ok(written) => written
                    .iter()
                    .find(|(written_cell, _)| *written_cell == cell)
                    .map(|(_, written)| Recorded::Written(written.clone()))
                    .unwrap_or_else(|| Recorded::Error("the store did not say".into())),
                Err(error) => Recorded::Error(error.clone()),
            });
            (cell, recorded)
        })
        .collect()
}

/// Django's record of `scenario` in `cell`, when two runs agree.
async fn record_cell(
    runner: &Runner,
    targets: &Targets,
    scenario: &Scenario,
    cell: Cell,
) -> Result<CellRecord, Recorded> {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let namespace = namespace(scenario, cell, TargetKind::Django);
        match runner
            .run(scenario, cell, TargetKind::Django, targets, &namespace)
            .await
        {
            Ok(transcript) => runs.push(transcript),
            Err(error) => return Err(Recorded::Error(error)),
        }
    }
    let unstable = diff_transcripts(&runs[0].steps, &runs[1].steps);
    if !unstable.is_empty() {
        return Err(Recorded::Unstable(
            unstable.iter().map(suggest_redaction).collect(),
        ));
    }
    let first = runs.swap_remove(0);
    Ok(CellRecord {
        cell,
        steps: first.steps,
        provenance: first.provenance,
    })
}

fn suggest_redaction(difference: &Difference) -> String {
    let sample = difference
        .expected
        .as_ref()
        .and_then(Value::as_str)
        .unwrap_or_default();
    format!(
        "step {} field {} differs between two Django runs ({} vs {}); if it is random, add:\n\
         [[redact]]\nfield = \"{}\"\npattern = '{}'\nplaceholder = \"{}\"\nreason = \"<why this value changes>\"",
        difference.step,
        difference.path,
        difference
            .expected
            .as_ref()
            .map(Value::to_string)
            .unwrap_or_default(),
        difference
            .actual
            .as_ref()
            .map(Value::to_string)
            .unwrap_or_default(),
        difference.path.any_index_glob(),
        suggest_pattern(sample),
        difference
            .path
            .0
            .iter()
            .rev()
            .find_map(|s| match s {
                super::path::Segment::Key(k) => Some(k.replace('-', "_")),
                _ => None,
            })
            .unwrap_or_else(|| "value".into())
    )
}

/// Checks one scenario file offline in every cell: the Rust app against that cell's Django
/// snapshot, with the ledger of its scenarios folder. `Err` describes every unexplained
/// difference.
pub async fn check_offline(
    root: &std::path::Path,
    file: &std::path::Path,
    snapshots: &std::path::Path,
) -> Result<(), String> {
    let roots = [root.to_owned()];
    let scenario = super::scenario::load(root, file).map_err(|e| e.to_string())?;
    let profiles = super::profile::Profiles::load(&roots).map_err(|e| e.to_string())?;
    let mut ledger = Ledger::load(&roots).map_err(|e| e.to_string())?;
    // Only this scenario runs, so only the entries naming it can be judged.
    ledger
        .entries
        .retain(|entry| entry.covers_scenario(&scenario.id));
    let rust: Arc<dyn super::targets::Target> = Arc::new(super::targets::RustTarget::default());
    let targets = Targets {
        django: None,
        rust: Some(rust),
    };
    let suite = Arc::new(Suite {
        runner: Runner::new(profiles),
        cells: Cell::all(),
        targets: targets.clone(),
        ledger,
        snapshots: SnapshotStore::new(snapshots.to_owned()),
        mode: Mode::Offline,
        jobs: 1,
        fail_fast: false,
    });
    let result = run(suite, vec![scenario], |_| {}).await;
    targets.shutdown().await;
    let mut problems: Vec<String> = Vec::new();
    for outcome in &result.outcomes {
        let cell = outcome.cell;
        problems.extend(outcome.error.iter().map(|e| format!("[{cell}] {e}")));
        problems.extend(
            outcome
                .divergences
                .iter()
                .filter(|d| d.known.is_none())
                .map(|d| format!("[{cell}] {}", d.difference)),
        );
    }
    problems.extend(
        result
            .stale_ledger_entries
            .iter()
            .map(|s| format!("stale ledger entry {}: {}", s.entry, s.why)),
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}:\n{}",
            result.outcomes[0].id,
            problems.join("\n")
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use axum::routing::get;
    use serde_json::json;

    use super::*;
    use crate::harness::profile::{Profile, Profiles};
    use crate::harness::targets::{BoxFuture, Instance, Target, TargetError};

    /// A "Django" whose `/token` answer changes on every request.
    struct ChangingDjango {
        base_url: url::Url,
    }

    impl Target for ChangingDjango {
        fn kind(&self) -> TargetKind {
            TargetKind::Django
        }
        fn describe(&self) -> String {
            "a changing fake".into()
        }
        fn instance<'a>(
            &'a self,
            cell: Cell,
            _: &'a Profile,
        ) -> BoxFuture<'a, Result<Instance, TargetError>> {
            Box::pin(async move {
                Ok(Instance {
                    base_url: self.base_url.clone(),
                    cell,
                    provenance: Provenance {
                        django_version: "5.2.19".into(),
                        python_version: None,
                    },
                    settings: serde_json::Value::Null,
                })
            })
        }
        fn shutdown(&self) -> BoxFuture<'_, ()> {
            Box::pin(async {})
        }
    }

    async fn changing_django() -> Targets {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let app = axum::Router::new().route(
            "/token",
            get(|| async {
                axum::Json(
                    json!({"token": format!("t{:04}", COUNTER.fetch_add(1, Ordering::Relaxed))}),
                )
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url =
            url::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Targets {
            django: Some(Arc::new(ChangingDjango { base_url })),
            rust: None,
        }
    }

    fn scenario(dir: &std::path::Path, text: &str) -> Scenario {
        let file = dir.join("cookies/token.toml");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, text).unwrap();
        crate::harness::scenario::load(dir, &file).unwrap()
    }

    #[tokio::test]
    async fn record_refuses_a_field_that_changes_between_django_runs_and_names_the_redaction() {
        let dir = tempfile::tempdir().unwrap();
        let targets = changing_django().await;
        let runner = Runner::new(Profiles::load(&[]).unwrap());
        let snapshots = SnapshotStore::new(dir.path().join("snapshots"));
        let scenario = scenario(
            dir.path(),
            "[[step]]\npath = \"/token\"\nobserve = [\"status\", \"body\"]\n",
        );
        let recorded = record_one(
            &runner,
            &targets,
            &snapshots,
            &scenario,
            &[Cell::REFERENCE],
            false,
        )
        .await;
        let [(Cell::REFERENCE, Recorded::Unstable(fields))] = recorded.as_slice() else {
            panic!("recorded an unstable field: {recorded:?}");
        };
        assert_eq!(fields.len(), 1, "{fields:?}");
        assert!(
            fields[0].contains("step 1 field body.token"),
            "{}",
            fields[0]
        );
        assert!(
            fields[0].contains("[[redact]]\nfield = \"body.token\"\npattern = '[a-z0-9]{5}'"),
            "{}",
            fields[0]
        );
        assert!(
            !dir.path().join("snapshots").exists(),
            "nothing was written"
        );
    }

    #[tokio::test]
    async fn a_covering_redaction_makes_two_runs_agree_with_identity_placeholders() {
        let dir = tempfile::tempdir().unwrap();
        let targets = changing_django().await;
        let runner = Runner::new(Profiles::load(&[]).unwrap());
        let text = "[[redact]]\nfield = \"body.token\"\npattern = 't[0-9]{4}'\nplaceholder = \"token\"\nreason = \"counter\"\n\
                    [[step]]\npath = \"/token\"\nobserve = [\"body\"]\n[[step]]\npath = \"/token\"\nobserve = [\"body\"]\n";
        let scenario = scenario(dir.path(), text);
        let first = runner
            .run(
                &scenario,
                Cell::REFERENCE,
                TargetKind::Django,
                &targets,
                "a",
            )
            .await
            .unwrap();
        let second = runner
            .run(
                &scenario,
                Cell::REFERENCE,
                TargetKind::Django,
                &targets,
                "b",
            )
            .await
            .unwrap();
        assert_eq!(first, second);
        assert_eq!(first.steps[0]["body"]["token"], "<token#1>");
        assert_eq!(
            first.steps[1]["body"]["token"], "<token#2>",
            "a new value gets a new number"
        );
    }

    /// A Django that panics inside `instance`: a test-only stand-in for any bug in djc.
    struct PanickingDjango;

    impl Target for PanickingDjango {
        fn kind(&self) -> TargetKind {
            TargetKind::Django
        }
        fn describe(&self) -> String {
            "a panicking fake".into()
        }
        fn instance<'a>(
            &'a self,
            _: Cell,
            _: &'a Profile,
        ) -> BoxFuture<'a, Result<Instance, TargetError>> {
            Box::pin(async { panic!("deliberate panic for the test") })
        }
        fn shutdown(&self) -> BoxFuture<'_, ()> {
            Box::pin(async {})
        }
    }

    #[tokio::test]
    async fn a_scenario_that_panics_is_an_error_in_every_report_and_fails_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let scenario = scenario(dir.path(), "[[step]]\npath = \"/token\"\n");
        let suite = Arc::new(Suite {
            runner: Runner::new(Profiles::load(&[]).unwrap()),
            cells: vec![Cell::REFERENCE],
            targets: Targets {
                django: Some(Arc::new(PanickingDjango)),
                rust: None,
            },
            ledger: Ledger::load(&[]).unwrap(),
            snapshots: SnapshotStore::new(dir.path().join("snapshots")),
            mode: Mode::Live,
            jobs: 2,
            fail_fast: false,
        });
        let report_path = dir.path().join("report.json");
        let mut report = crate::harness::report::JsonReport::create(
            std::slice::from_ref(&report_path),
            Mode::Live,
        )
        .unwrap();
        let result = run(suite, vec![scenario], |outcome| {
            report.scenario(outcome).unwrap()
        })
        .await;
        report.finish(&result).unwrap();
        assert_eq!(result.outcomes.len(), 1, "the scenario is still there");
        let outcome = &result.outcomes[0];
        assert_eq!(outcome.status, Status::Error);
        let error = outcome.error.as_deref().unwrap();
        assert!(error.contains("deliberate panic for the test"), "{error}");
        assert!(
            error.contains("panicked at src/harness/suite.rs:"),
            "{error}"
        );
        assert!(!result.clean(), "a panic fails the run");
        let json: Value =
            serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
        assert_eq!(json["summary"]["errors"], 1);
        assert_eq!(json["scenarios"][0]["error"], error);
        let junit = crate::harness::report::junit_report(&result).unwrap();
        assert!(junit.contains("errors=\"1\""), "{junit}");
        assert!(junit.contains("deliberate panic for the test"), "{junit}");
        let summary = crate::harness::report::summary_text(&result);
        assert!(
            summary.contains("deliberate panic for the test"),
            "{summary}"
        );
    }
}
