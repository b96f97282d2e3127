//! `djc run`: the selected scenarios on the Rust app, compared with live Django or with the
//! snapshots, and the reports.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use super::select::{self, Selection};
use super::{Exit, LAST_RUN, RunArgs, Started, django_target};
use crate::harness::cell::Cell;
use crate::harness::files;
use crate::harness::progress::Progress;
use crate::harness::report::{self, JsonReport};
use crate::harness::runner::{Runner, Targets};
use crate::harness::snapshot::SnapshotStore;
use crate::harness::suite::{self, Mode, Status, Suite};
use crate::harness::targets::choice::Probed;
use crate::harness::targets::{RustTarget, Target};

pub async fn run(
    args: RunArgs,
    probed: Option<Probed>,
    started: &Started,
) -> Result<ExitCode, Exit> {
    let RunArgs {
        common,
        offline,
        fail_fast,
        report,
        junit,
    } = args;
    let Selection {
        scenarios,
        profiles,
        ledger,
    } = select::load(&common.select)?;
    let progress = Progress::stderr();
    let mode = if offline { Mode::Offline } else { Mode::Live };
    let cells = common.cells().await?;
    let django = match probed {
        Some(probed) => Some(django_target(&common, &cells, probed, started, &progress).await?),
        None => None,
    };
    let targets = Targets {
        django,
        rust: Some(started.add(Arc::new(RustTarget::default()))),
    };
    let needed: Vec<String> = scenarios.iter().map(|s| s.profile.clone()).collect();
    start_instances(&targets, &profiles, &needed, &cells, &progress).await?;
    let suite = Arc::new(Suite {
        runner: Runner::new(profiles),
        cells,
        targets: targets.clone(),
        ledger,
        snapshots: SnapshotStore::new(common.snapshots.clone()),
        mode,
        jobs: common.jobs,
        fail_fast,
    });
    let paths: Vec<PathBuf> = [Some(PathBuf::from(LAST_RUN)), report]
        .into_iter()
        .flatten()
        .collect();
    // A report that cannot be written does not stop the run: its error comes after the summary.
    let mut json = JsonReport::create(&paths, mode).map_err(|e| e.to_string());
    let mut write_error = None;
    let bar = progress.bar(scenarios.len() * suite.cells.len());
    let result = suite::run(suite, scenarios, |outcome| {
        bar.set_message(outcome.name());
        bar.inc(1);
        if let Ok(report) = &mut json
            && let Err(e) = report.scenario(outcome)
        {
            json = Err(e.to_string());
        }
    })
    .await;
    bar.finish_and_clear();
    let compared = result
        .outcomes
        .iter()
        .filter(|o| o.status != Status::Error)
        .count();
    if let Some(django) = &targets.django
        && compared > 0
    {
        println!(
            "compared {} with rust (in process): {compared} scenario run(s)",
            django.describe()
        );
    }
    print!("{}", report::summary_text(&result));
    match json {
        Ok(report) => {
            if let Err(e) = report.finish(&result) {
                write_error = Some(e.to_string());
            }
        }
        Err(e) => write_error = Some(e),
    }
    if let Some(path) = &junit {
        let written = report::junit_report(&result)
            .and_then(|xml| files::write_whole(path, xml.as_bytes()).map_err(|e| e.to_string()));
        if let Err(e) = written {
            write_error.get_or_insert(e);
        }
    }
    if let Some(error) = write_error {
        return Err(Exit::Failed(error));
    }
    Ok(if result.clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Starts every instance the selected scenarios need, every target, cell and profile at once, so
/// that no scenario waits on a start and a start that fails is said once.
pub async fn start_instances(
    targets: &Targets,
    profiles: &crate::harness::profile::Profiles,
    needed: &[String],
    cells: &[Cell],
    progress: &Progress,
) -> Result<(), Exit> {
    let mut names: Vec<&String> = needed.iter().collect();
    names.sort();
    names.dedup();
    let chosen: Vec<Arc<dyn Target>> = [&targets.django, &targets.rust]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    let phase = progress.phase(format!(
        "starting {} for {} settings profile(s) in {} cell(s)",
        chosen
            .iter()
            .map(|t| t.kind().to_string())
            .collect::<Vec<_>>()
            .join(" and "),
        names.len(),
        cells.len()
    ));
    let mut starting = tokio::task::JoinSet::new();
    for target in &chosen {
        for name in &names {
            for &cell in cells {
                let profile = profiles
                    .get(name)
                    .expect("the selection checked every profile")
                    .clone();
                let target = target.clone();
                starting.spawn(async move { target.instance(cell, &profile).await });
            }
        }
    }
    let mut failures: Vec<String> = starting
        .join_all()
        .await
        .into_iter()
        .filter_map(Result::err)
        .map(|e| e.0)
        .collect();
    if failures.is_empty() {
        phase.done();
        return Ok(());
    }
    failures.sort();
    failures.dedup();
    // Instances of several cells usually fail for one cause: say it once, in full, and name the
    // others by their first line.
    let others: Vec<String> = failures[1..]
        .iter()
        .map(|failure| format!("also: {}", failure.lines().next().unwrap_or_default()))
        .collect();
    Err(Exit::Setup(
        std::iter::once(failures[0].clone())
            .chain(others)
            .collect::<Vec<_>>()
            .join("\n"),
    ))
}
