//! Reports of a run: the JSON report (also kept as the last run for `djc diff`), JUnit XML, and
//! the terminal summary.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use console::style;
use serde_json::{Value, json};

use super::suite::{RunResult, Status};

pub fn json_report(result: &RunResult) -> Value {
    json!({
        "django_version": result.provenance.django_version,
        "python_version": result.provenance.python_version,
        "mode": result.mode,
        "summary": {
            "scenarios": result.outcomes.len(),
            "passed": result.count(Status::Passed),
            "diverged": result.count(Status::Diverged),
            "known": result.count(Status::Known),
            "errors": result.count(Status::Error),
            "drifted": result.drifted(),
            "stale_ledger_entries": result.stale_ledger_entries.len(),
        },
        "scenarios": result.outcomes,
        "stale_ledger_entries": result.stale_ledger_entries,
    })
}

pub fn junit_report(result: &RunResult) -> Result<String, String> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new("djc");
    let mut suites: BTreeMap<&str, TestSuite> = BTreeMap::new();
    for outcome in &result.outcomes {
        let status = match outcome.status {
            Status::Passed | Status::Known if outcome.drift.is_empty() => TestCaseStatus::success(),
            Status::Error => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                status.set_message(outcome.error.clone().unwrap_or_default());
                status
            }
            _ => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                let unexplained: Vec<String> = outcome
                    .divergences
                    .iter()
                    .filter(|d| d.known.is_none())
                    .map(|d| d.difference.to_string())
                    .collect();
                let drift: Vec<String> = outcome
                    .drift
                    .iter()
                    .map(|d| format!("Django drift: {d}"))
                    .collect();
                status.set_message(format!(
                    "{} unexplained differences",
                    unexplained.len() + drift.len()
                ));
                status.set_description([unexplained, drift].concat().join("\n"));
                status
            }
        };
        let mut case = TestCase::new(outcome.id.clone(), status);
        case.set_classname(outcome.topic.clone());
        suites
            .entry(&outcome.topic)
            .or_insert_with(|| TestSuite::new(outcome.topic.clone()))
            .add_test_case(case);
    }
    report.add_test_suites(suites.into_values());
    report.to_string().map_err(|e| e.to_string())
}

/// The per-topic table and what needs attention.
pub fn summary_text(result: &RunResult) -> String {
    let mut topics: BTreeMap<&str, [usize; 5]> = BTreeMap::new();
    for outcome in &result.outcomes {
        let row = topics.entry(&outcome.topic).or_default();
        row[0] += 1;
        let column = match outcome.status {
            Status::Passed => 1,
            Status::Diverged => 2,
            Status::Known => 3,
            Status::Error => 4,
        };
        row[column] += 1;
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<22}{:>10}{:>8}{:>10}{:>7}{:>8}",
        "topic", "scenarios", "passed", "diverged", "known", "errors"
    );
    let mut total = [0usize; 5];
    for (topic, row) in &topics {
        let _ = writeln!(
            out,
            "{topic:<22}{:>10}{:>8}{:>10}{:>7}{:>8}",
            row[0], row[1], row[2], row[3], row[4]
        );
        for (sum, value) in total.iter_mut().zip(row) {
            *sum += value;
        }
    }
    let _ = writeln!(
        out,
        "{:<22}{:>10}{:>8}{:>10}{:>7}{:>8}",
        "total", total[0], total[1], total[2], total[3], total[4]
    );
    // One fault (Django failing to start, say) often fails many scenarios: print it once.
    let mut errors: Vec<(&str, Vec<&str>)> = Vec::new();
    for outcome in result.outcomes.iter().filter(|o| o.status == Status::Error) {
        let error = outcome.error.as_deref().unwrap_or_default();
        match errors.iter_mut().find(|(text, _)| *text == error) {
            Some((_, ids)) => ids.push(&outcome.id),
            None => errors.push((error, vec![&outcome.id])),
        }
    }
    for (error, ids) in errors {
        let _ = writeln!(
            out,
            "\n{} {}\n  {}",
            style("error").red().bold(),
            name_some(&ids),
            error.replace('\n', "\n  ")
        );
    }
    for outcome in &result.outcomes {
        if outcome.status == Status::Diverged {
            let unexplained = outcome
                .divergences
                .iter()
                .filter(|d| d.known.is_none())
                .count();
            let _ = writeln!(
                out,
                "\n{} {}: {unexplained} unexplained differences (djc diff {})",
                style("diverged").red().bold(),
                outcome.id,
                outcome.id
            );
        }
        if !outcome.drift.is_empty() {
            let _ = writeln!(
                out,
                "\n{} {}: live Django differs from its snapshot in {} fields (re-record with `djc record --topic {}`)",
                style("drift").yellow().bold(),
                outcome.id,
                outcome.drift.len(),
                outcome.topic
            );
        }
        if !outcome.recorded && outcome.status != Status::Error {
            let _ = writeln!(
                out,
                "\n{} {}: no snapshot yet (djc record)",
                style("unrecorded").yellow(),
                outcome.id
            );
        }
    }
    for stale in &result.stale_ledger_entries {
        let _ = writeln!(
            out,
            "\n{} ledger entry {} ({}): {}",
            style("stale").red().bold(),
            stale.entry,
            stale.scenario,
            stale.why
        );
    }
    out
}

/// Up to five ids, then how many more.
fn name_some(ids: &[&str]) -> String {
    const SHOWN: usize = 5;
    match ids.len() {
        n if n <= SHOWN => ids.join(", "),
        n => format!("{} and {} more", ids[..SHOWN].join(", "), n - SHOWN),
    }
}

/// `djc diff`: the field-level differences of the last run, step by step, coloured.
pub fn diff_text(report: &Value, only: Option<&str>) -> Result<String, String> {
    let scenarios = report["scenarios"]
        .as_array()
        .ok_or("the last-run report has no scenarios")?;
    let selected: Vec<&Value> = scenarios
        .iter()
        .filter(|s| match only {
            Some(id) => s["id"] == id,
            None => {
                !s["divergences"].as_array().is_none_or(Vec::is_empty)
                    || !s["drift"].as_array().is_none_or(Vec::is_empty)
            }
        })
        .collect();
    if let Some(id) = only
        && selected.is_empty()
    {
        return Err(format!("scenario {id} was not in the last run"));
    }
    let mut out = String::new();
    for scenario in selected {
        let _ = writeln!(
            out,
            "{} {} ({})",
            style("scenario").bold(),
            scenario["id"].as_str().unwrap_or_default(),
            scenario["status"].as_str().unwrap_or_default()
        );
        if let Some(error) = scenario["error"].as_str() {
            let _ = writeln!(out, "  {} {error}", style("error:").red());
        }
        write_differences(&mut out, scenario, "divergences", "django", "rust");
        write_differences(&mut out, scenario, "drift", "snapshot", "django");
        out.push('\n');
    }
    if out.is_empty() {
        out.push_str("no differences in the last run\n");
    }
    Ok(out)
}

fn write_differences(out: &mut String, scenario: &Value, field: &str, left: &str, right: &str) {
    let differences = scenario[field].as_array().cloned().unwrap_or_default();
    let steps = scenario["django"].as_array().cloned().unwrap_or_default();
    let mut current_step = 0;
    for difference in &differences {
        let step = difference["step"].as_u64().unwrap_or(0) as usize;
        if step != current_step {
            current_step = step;
            let record = steps.get(step.wrapping_sub(1));
            let name = record.and_then(|r| r["name"].as_str()).unwrap_or_default();
            let request = record
                .and_then(|r| r["request"].as_str())
                .unwrap_or_default();
            let label = if field == "drift" {
                " (Django drift)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  {} {step}{label}: {name} — {request}",
                style("step").cyan().bold()
            );
        }
        let path = difference["path"].as_str().unwrap_or_default();
        let order = if difference["key_order"] == true {
            " (key order)"
        } else {
            ""
        };
        let known = match difference["known"].as_object() {
            Some(known) => format!(
                " {}",
                style(format!(
                    "[known {}: {}]",
                    known["class"].as_str().unwrap_or_default(),
                    known["reason"].as_str().unwrap_or_default()
                ))
                .dim()
            ),
            None => String::new(),
        };
        let _ = writeln!(out, "    {}{order}{known}", style(path).bold());
        let (expected, actual) = (&difference["expected"], &difference["actual"]);
        if let (Some(e), Some(a)) = (expected.as_str(), actual.as_str()) {
            let _ = writeln!(out, "      {left:>8}: {}", inline_diff(e, a, false));
            let _ = writeln!(out, "      {right:>8}: {}", inline_diff(e, a, true));
        } else {
            let show = |v: &Value| {
                if v.is_null() {
                    "(absent)".to_owned()
                } else {
                    v.to_string()
                }
            };
            let _ = writeln!(out, "      {left:>8}: {}", style(show(expected)).red());
            let _ = writeln!(out, "      {right:>8}: {}", style(show(actual)).green());
        }
    }
}

/// One side of a character diff, with what the other side lacks highlighted.
fn inline_diff(expected: &str, actual: &str, actual_side: bool) -> String {
    let diff = similar::TextDiff::from_chars(expected, actual);
    let mut out = String::new();
    for change in diff.iter_all_changes() {
        // Escaped like a string literal, so spaces and control characters stay visible.
        let text = change.value().escape_debug().to_string();
        match (change.tag(), actual_side) {
            (similar::ChangeTag::Equal, _) => out.push_str(&text),
            (similar::ChangeTag::Delete, false) => {
                out.push_str(&style(&text).red().reverse().to_string())
            }
            (similar::ChangeTag::Insert, true) => {
                out.push_str(&style(&text).green().reverse().to_string())
            }
            _ => {}
        }
    }
    format!("\"{out}\"")
}
