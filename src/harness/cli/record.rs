//! `djc record`: Django's records of the selected scenarios, written as snapshots pending review
//! (or accepted with `--accept`), each only when two Django runs agree.

use std::process::ExitCode;
use std::sync::Arc;

use super::run::start_instances;
use super::select::{self, Selection};
use super::{Exit, RecordArgs, Started, django_target};
use crate::harness::panics::catch_panic;
use crate::harness::progress::Progress;
use crate::harness::runner::{Runner, Targets};
use crate::harness::snapshot::{SnapshotStore, Written};
use crate::harness::suite::{self, Recorded};
use crate::harness::targets::choice::Probed;

pub async fn record(args: RecordArgs, probed: Probed, started: &Started) -> Result<ExitCode, Exit> {
    let common = args.common;
    let Selection {
        scenarios,
        profiles,
        ledger: _,
    } = select::load(&common.select)?;
    let progress = Progress::stderr();
    let cells = Arc::new(common.cells().await?);
    let django = django_target(&common, &cells, probed, started, &progress).await?;
    let targets = Targets {
        django: Some(django),
        rust: None,
    };
    let needed: Vec<String> = scenarios.iter().map(|s| s.profile.clone()).collect();
    start_instances(&targets, &profiles, &needed, &cells, &progress).await?;
    let runner = Arc::new(Runner::new(profiles));
    let snapshots = Arc::new(SnapshotStore::new(common.snapshots.clone()));
    let permits = Arc::new(tokio::sync::Semaphore::new(common.jobs.max(1)));
    let bar = progress.bar(scenarios.len());
    let mut tasks = tokio::task::JoinSet::new();
    for scenario in scenarios {
        let (runner, targets, snapshots, permits, cells) = (
            runner.clone(),
            targets.clone(),
            snapshots.clone(),
            permits.clone(),
            cells.clone(),
        );
        tasks.spawn(async move {
            let _permit = permits.acquire().await.expect("never closed");
            // A scenario's cells are recorded together: the cells that agree share one file.
            let recording = suite::record_one(
                &runner,
                &targets,
                &snapshots,
                &scenario,
                &cells,
                args.accept,
            );
            let recorded = catch_panic(recording).await.unwrap_or_else(|panic| {
                let fault = suite::djc_fault(&panic);
                cells
                    .iter()
                    .map(|&cell| (cell, Recorded::Error(fault.clone())))
                    .collect()
            });
            (scenario.id, recorded)
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        // Recording tasks catch their own panics and are never aborted.
        let (id, recorded) = joined.expect("a recording task ends with its result");
        bar.set_message(id.clone());
        bar.inc(1);
        results.extend(
            recorded
                .into_iter()
                .map(|(cell, recorded)| (format!("{id} [{cell}]"), recorded)),
        );
    }
    bar.finish_and_clear();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let (mut pending, mut failed) = (0, 0);
    for (id, recorded) in &results {
        match recorded {
            Recorded::Written(Written::Unchanged) => println!("{id}: unchanged"),
            Recorded::Written(Written::Accepted) => println!("{id}: written"),
            Recorded::Written(Written::Pending(path)) => {
                pending += 1;
                println!("{id}: new or changed, pending review at {}", path.display());
            }
            Recorded::Unstable(fields) => {
                failed += 1;
                println!(
                    "{id}: NOT recorded, Django is not stable across two runs:\n  {}",
                    fields.join("\n\n").replace('\n', "\n  ")
                );
            }
            Recorded::Error(error) => {
                failed += 1;
                println!("{id}: NOT recorded: {}", error.replace('\n', "\n  "));
            }
        }
    }
    if pending > 0 {
        println!("\n{pending} snapshot(s) pending: {}", how_to_review());
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// How to review pending snapshots here: with cargo-insta when it is installed, else how to get
/// it (or accept without review).
fn how_to_review() -> String {
    let installed = std::process::Command::new("cargo")
        .args(["insta", "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if installed {
        "review them with `cargo insta review` (or record with --accept)".to_owned()
    } else {
        "review them with `cargo insta review` once cargo-insta is installed \
         (`cargo install cargo-insta --locked`), or record with --accept to take them as they are"
            .to_owned()
    }
}
