//! Reports of a run: the JSON report (also kept as the last run for `djc diff`), written as the
//! scenarios finish so that memory stays flat; JUnit XML; and the terminal summary.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use console::style;
use serde_json::{Value, json};

use super::cell::Cell;
use super::diff::Difference;
use super::files::{WholeFile, WriteError};
use super::suite::{Mode, Outcome, RunResult, Status};

/// The JSON report's layout version: it grows when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 2;

/// The JSON report, written to one or more files as the run goes: each appears at its path,
/// whole, when [`JsonReport::finish`] succeeds.
pub struct JsonReport {
    files: Vec<WholeFile>,
    scenarios: usize,
}

impl JsonReport {
    /// Starts the report in each of `paths`: what ran, when, in which mode.
    pub fn create(paths: &[PathBuf], mode: Mode) -> Result<JsonReport, WriteError> {
        let started_at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let head = format!(
            "{{\n  \"schema_version\": {SCHEMA_VERSION},\n  \"djc_version\": {},\n  \
             \"started_at\": {},\n  \"mode\": {},\n  \"scenarios\": [",
            json!(env!("CARGO_PKG_VERSION")),
            json!(started_at),
            json!(mode),
        );
        let mut files = Vec::new();
        for path in paths {
            let mut file = WholeFile::create(path)?;
            file.write(head.as_bytes())?;
            files.push(file);
        }
        Ok(JsonReport {
            files,
            scenarios: 0,
        })
    }

    /// Adds one scenario's outcome, records included.
    pub fn scenario(&mut self, outcome: &Outcome) -> Result<(), WriteError> {
        let separator = if self.scenarios == 0 {
            "\n    "
        } else {
            ",\n    "
        };
        let entry = serde_json::to_string(outcome).expect("an outcome serialises");
        self.scenarios += 1;
        for file in &mut self.files {
            file.write(separator.as_bytes())?;
            file.write(entry.as_bytes())?;
        }
        Ok(())
    }

    /// Ends the report with the summary and puts every file in place.
    pub fn finish(self, result: &RunResult) -> Result<(), WriteError> {
        let cells: serde_json::Map<String, Value> = result
            .provenance
            .iter()
            .map(|(cell, provenance)| (cell.to_string(), json!(provenance)))
            .collect();
        let tail = format!(
            "\n  ],\n  \"cells\": {},\n  \"duration_s\": {},\n  \
             \"summary\": {},\n  \"stale_ledger_entries\": {}\n}}\n",
            Value::Object(cells),
            json!(result.duration_s),
            summary_json(result),
            json!(result.stale_ledger_entries),
        );
        for mut file in self.files {
            file.write(tail.as_bytes())?;
            file.commit()?;
        }
        Ok(())
    }
}

fn summary_json(result: &RunResult) -> Value {
    let mut by_topic_and_cell: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    for ((topic, cell), (agree, total)) in compliance(result) {
        by_topic_and_cell
            .entry(topic.to_owned())
            .or_default()
            .insert(
                cell.to_string(),
                json!({"agree": agree, "scenarios": total}),
            );
    }
    json!({
        "scenarios": result.outcomes.len() + result.not_run,
        "passed": result.count(Status::Passed),
        "diverged": result.count(Status::Diverged),
        "known": result.count(Status::Known),
        "unrecorded": result.count(Status::Unrecorded),
        "errors": result.count(Status::Error),
        "not_run": result.not_run,
        "drifted": result.drifted(),
        "stale_ledger_entries": result.stale_ledger_entries.len(),
        "by_topic_and_cell": by_topic_and_cell,
    })
}

/// For each topic and cell: how many scenarios the Rust app agrees with Django on (passed, or
/// differing only as the ledger explains), and how many ran.
fn compliance(result: &RunResult) -> BTreeMap<(&str, Cell), (usize, usize)> {
    let mut table: BTreeMap<(&str, Cell), (usize, usize)> = BTreeMap::new();
    for outcome in &result.outcomes {
        let (agree, total) = table.entry((&outcome.topic, outcome.cell)).or_default();
        *total += 1;
        if matches!(outcome.status, Status::Passed | Status::Known) && outcome.drift.is_empty() {
            *agree += 1;
        }
    }
    table
}

/// The compliance table: a row per topic, a column per cell, `agree/ran` in each.
fn compliance_text(result: &RunResult) -> String {
    let table = compliance(result);
    let mut cells: Vec<Cell> = table.keys().map(|(_, cell)| *cell).collect();
    cells.sort();
    cells.dedup();
    let mut topics: Vec<&str> = table.keys().map(|(topic, _)| *topic).collect();
    topics.dedup();
    let mut out = String::new();
    let _ = write!(out, "{:<22}", "Rust agrees, by cell");
    for cell in &cells {
        let _ = write!(out, "{:>15}", cell.to_string());
    }
    out.push('\n');
    for topic in topics {
        let _ = write!(out, "{topic:<22}");
        for cell in &cells {
            let entry = match table.get(&(topic, *cell)) {
                Some((agree, total)) => {
                    let text = format!("{agree}/{total}");
                    let padded = format!("{text:>15}");
                    if agree == total {
                        padded
                    } else {
                        style(padded).red().to_string()
                    }
                }
                None => format!("{:>15}", "-"),
            };
            out.push_str(&entry);
        }
        out.push('\n');
    }
    out
}

/// The differences of a divergence or of drift, each saying which side is which.
fn describe_all<'a>(
    differences: impl Iterator<Item = &'a Difference>,
    left: &str,
    right: &str,
) -> Vec<String> {
    differences
        .map(|d| {
            let show = |v: &Option<Value>| {
                v.as_ref()
                    .map_or_else(|| "(absent)".to_owned(), Value::to_string)
            };
            let order = if d.key_order { " (key order)" } else { "" };
            format!(
                "step {} {}{order}: {left} {}, {right} {}",
                d.step,
                d.path,
                show(&d.expected),
                show(&d.actual)
            )
        })
        .collect()
}

pub fn junit_report(result: &RunResult) -> Result<String, String> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new("djc");
    report.set_time(Duration::from_secs_f64(result.duration_s));
    let mut suites: BTreeMap<&str, TestSuite> = BTreeMap::new();
    for outcome in &result.outcomes {
        let status = match outcome.status {
            Status::Error => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                status.set_message(outcome.error.clone().unwrap_or_default());
                status
            }
            _ if !outcome.failed() => TestCaseStatus::success(),
            Status::Unrecorded => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message("no snapshot: record it with `djc record` and review it");
                status
            }
            _ => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                let unexplained = describe_all(
                    outcome
                        .divergences
                        .iter()
                        .filter(|d| d.known.is_none())
                        .map(|d| &d.difference),
                    "django",
                    "rust",
                );
                let drift = describe_all(outcome.drift.iter(), "snapshot", "live django");
                status.set_message(format!(
                    "{} unexplained differences",
                    unexplained.len() + drift.len()
                ));
                status.set_description([unexplained, drift].concat().join("\n"));
                status
            }
        };
        let mut case = TestCase::new(outcome.name(), status);
        case.set_classname(outcome.topic.clone());
        case.set_time(Duration::from_secs_f64(outcome.duration_s));
        suites
            .entry(&outcome.topic)
            .or_insert_with(|| TestSuite::new(outcome.topic.clone()))
            .add_test_case(case);
    }
    report.add_test_suites(suites.into_values());
    report.to_string().map_err(|e| e.to_string())
}

/// The per-topic table, the time taken, and what needs attention.
pub fn summary_text(result: &RunResult) -> String {
    const COLUMNS: [Status; 5] = [
        Status::Passed,
        Status::Diverged,
        Status::Known,
        Status::Unrecorded,
        Status::Error,
    ];
    let mut topics: BTreeMap<&str, ([usize; 6], f64)> = BTreeMap::new();
    for outcome in &result.outcomes {
        let (row, seconds) = topics.entry(&outcome.topic).or_default();
        row[0] += 1;
        let column = COLUMNS
            .iter()
            .position(|s| *s == outcome.status)
            .unwrap_or(0);
        row[column + 1] += 1;
        *seconds += outcome.duration_s;
    }
    let mut out = String::new();
    let line = |out: &mut String, name: &str, row: &[usize; 6], time: String| {
        let _ = writeln!(
            out,
            "{name:<22}{:>10}{:>8}{:>10}{:>7}{:>12}{:>8}{time:>9}",
            row[0], row[1], row[2], row[3], row[4], row[5]
        );
    };
    let _ = writeln!(
        out,
        "{:<22}{:>10}{:>8}{:>10}{:>7}{:>12}{:>8}{:>9}",
        "topic", "scenarios", "passed", "diverged", "known", "unrecorded", "errors", "time"
    );
    let mut total = [0usize; 6];
    let mut total_seconds = 0.0;
    for (topic, (row, seconds)) in &topics {
        line(&mut out, topic, row, format!("{seconds:.2}s"));
        for (sum, value) in total.iter_mut().zip(row) {
            *sum += value;
        }
        total_seconds += seconds;
    }
    line(&mut out, "total", &total, format!("{total_seconds:.2}s"));
    out.push('\n');
    out.push_str(&compliance_text(result));
    let _ = writeln!(
        out,
        "ran in {:.2}s of wall time, scenarios in parallel",
        result.duration_s
    );
    let mut slowest: Vec<&Outcome> = result.outcomes.iter().collect();
    slowest.sort_by(|a, b| b.duration_s.total_cmp(&a.duration_s));
    if slowest.len() > 5 {
        let named: Vec<String> = slowest[..3]
            .iter()
            .map(|o| format!("{} {:.2}s", o.name(), o.duration_s))
            .collect();
        let _ = writeln!(out, "slowest: {}", named.join(", "));
    }
    if result.not_run > 0 {
        let _ = writeln!(
            out,
            "\n{} {} scenario(s) not run: --fail-fast stopped at the first failure",
            style("stopped").yellow().bold(),
            result.not_run
        );
    }
    // One fault often fails many scenarios: print it once.
    let mut errors: Vec<(&str, Vec<String>)> = Vec::new();
    for outcome in result.outcomes.iter().filter(|o| o.status == Status::Error) {
        let error = outcome.error.as_deref().unwrap_or_default();
        match errors.iter_mut().find(|(text, _)| *text == error) {
            Some((_, ids)) => ids.push(outcome.name()),
            None => errors.push((error, vec![outcome.name()])),
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
        let name = outcome.name();
        let in_cell = format!(
            "--django-version {} --server {}",
            outcome.cell.django, outcome.cell.server
        );
        if outcome.status == Status::Diverged {
            let unexplained = outcome
                .divergences
                .iter()
                .filter(|d| d.known.is_none())
                .count();
            let _ = writeln!(
                out,
                "\n{} {name}: {unexplained} unexplained differences (djc diff {})",
                style("diverged").red().bold(),
                outcome.id
            );
        }
        if !outcome.drift.is_empty() {
            let _ = writeln!(
                out,
                "\n{} {name}: live Django differs from its snapshot in {} fields (re-record with \
                 `djc record {} {in_cell}`)",
                style("drift").yellow().bold(),
                outcome.drift.len(),
                outcome.id
            );
        }
        if outcome.status == Status::Unrecorded {
            let _ = writeln!(
                out,
                "\n{} {name}: Django and Rust agree, but there is no snapshot to hold it: \
                 `djc record {} {in_cell}`, then review it",
                style("unrecorded").yellow().bold(),
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
fn name_some(ids: &[String]) -> String {
    const SHOWN: usize = 5;
    match ids.len() {
        n if n <= SHOWN => ids.join(", "),
        n => format!("{} and {} more", ids[..SHOWN].join(", "), n - SHOWN),
    }
}

/// `djc diff`: the field-level differences of the last run, step by step, coloured, and
/// whether there were any.
pub fn diff_text(report: &Value, only: Option<&[String]>) -> Result<(String, bool), String> {
    let scenarios = report["scenarios"]
        .as_array()
        .ok_or("the last-run report has no scenarios")?;
    let has_differences = |s: &Value| {
        !s["divergences"].as_array().is_none_or(Vec::is_empty)
            || !s["drift"].as_array().is_none_or(Vec::is_empty)
    };
    let selected: Vec<&Value> = scenarios
        .iter()
        .filter(|s| match only {
            None => has_differences(s),
            Some(ids) => ids.iter().any(|id| s["id"] == id.as_str()),
        })
        .collect();
    let mut out = String::new();
    let mut differences = false;
    for scenario in selected {
        differences |= has_differences(scenario);
        let _ = writeln!(
            out,
            "{} {} [{}/{}] ({})",
            style("scenario").bold(),
            scenario["id"].as_str().unwrap_or_default(),
            scenario["django_version"].as_str().unwrap_or_default(),
            scenario["server"].as_str().unwrap_or_default(),
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
    Ok((out, differences))
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
        // A missing field and a JSON null read differently: the report leaves a missing one out.
        let (expected, actual) = (difference.get("expected"), difference.get("actual"));
        if let (Some(Value::String(e)), Some(Value::String(a))) = (expected, actual) {
            let _ = writeln!(out, "      {left:>8}: {}", inline_diff(e, a, false));
            let _ = writeln!(out, "      {right:>8}: {}", inline_diff(e, a, true));
        } else {
            let show =
                |v: Option<&Value>| v.map_or_else(|| "(absent)".to_owned(), Value::to_string);
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
