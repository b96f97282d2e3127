//! Which scenarios a command works on: by id or glob, topic, tag, profile, or what failed in the
//! last run. A name that matches nothing is an error that suggests the nearest one.

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::Args;

use super::{Exit, LAST_RUN};
use crate::harness::ledger::Ledger;
use crate::harness::profile::Profiles;
use crate::harness::scenario::{self, IdGlob, Scenario};

#[derive(Args, Clone)]
pub struct SelectArgs {
    /// Scenario ids or globs, `*` within a segment: `cookies/max_age*`, `cookies/*` (default:
    /// every scenario).
    pub patterns: Vec<String>,
    /// A scenarios folder (repeatable).
    #[arg(long = "scenarios", default_value = "scenarios")]
    pub scenarios: Vec<PathBuf>,
    /// Only these topics (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub topic: Vec<String>,
    /// Only scenarios with one of these tags (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub tag: Vec<String>,
    /// Only the scenarios of these settings profiles (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub profile: Vec<String>,
    /// Only the scenarios that failed in the last run (`.djc/last-run.json`).
    #[arg(long)]
    pub failed: bool,
}

/// The selected scenarios, with the profiles and ledger of their folders.
pub struct Selection {
    pub scenarios: Vec<Scenario>,
    pub profiles: Profiles,
    pub ledger: Ledger,
}

pub fn load(select: &SelectArgs) -> Result<Selection, Exit> {
    let all = scenario::load_all(&select.scenarios, &[]).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        Exit::BadInput(format!(
            "{} malformed scenario file(s):\n{}",
            errors.len(),
            lines.join("\n")
        ))
    })?;
    let profiles = Profiles::load(&select.scenarios).map_err(|e| Exit::BadInput(e.to_string()))?;
    for scenario in &all {
        if profiles.get(&scenario.profile).is_none() {
            return Err(Exit::BadInput(format!(
                "{}: unknown profile {:?} (declare it in profiles.toml)",
                scenario.file.display(),
                scenario.profile
            )));
        }
    }
    let all_ids: Vec<String> = all.iter().map(|s| s.id.clone()).collect();
    let scenarios = choose(all, select, &profiles)?;
    let mut ledger = Ledger::load(&select.scenarios).map_err(|e| Exit::BadInput(e.to_string()))?;
    // An entry about scenarios that exist but were not selected cannot be judged by this run;
    // one naming no scenario at all stays, to be reported stale.
    ledger.entries.retain(|entry| {
        scenarios.iter().any(|s| entry.covers_scenario(&s.id))
            || !all_ids.iter().any(|id| entry.covers_scenario(id))
    });
    Ok(Selection {
        scenarios,
        profiles,
        ledger,
    })
}

/// `all` narrowed by the selection; each name given must match something.
fn choose(
    all: Vec<Scenario>,
    select: &SelectArgs,
    profiles: &Profiles,
) -> Result<Vec<Scenario>, Exit> {
    let topics: BTreeSet<&str> = all.iter().map(|s| s.topic.as_str()).collect();
    let tags: BTreeSet<&str> = all
        .iter()
        .flat_map(|s| &s.tags)
        .map(String::as_str)
        .collect();
    let ids: Vec<&str> = all.iter().map(|s| s.id.as_str()).collect();
    let known = |kind: &str, given: &[String], names: &[&str]| -> Result<(), Exit> {
        match given.iter().find(|name| !names.contains(&name.as_str())) {
            Some(unknown) => Err(Exit::BadInput(format!(
                "no {kind} {unknown:?}{}",
                suggestion(unknown, names)
            ))),
            None => Ok(()),
        }
    };
    known(
        "topic",
        &select.topic,
        &topics.iter().copied().collect::<Vec<_>>(),
    )?;
    known(
        "tag",
        &select.tag,
        &tags.iter().copied().collect::<Vec<_>>(),
    )?;
    known(
        "profile",
        &select.profile,
        &profiles.names().collect::<Vec<_>>(),
    )?;
    let globs: Vec<IdGlob> = select.patterns.iter().map(|p| IdGlob::new(p)).collect();
    if let Some(glob) = globs.iter().find(|g| !ids.iter().any(|id| g.matches(id))) {
        return Err(Exit::BadInput(format!(
            "no scenario matches {:?}{}",
            glob.as_str(),
            suggestion(glob.as_str(), &ids)
        )));
    }
    let failed = if select.failed {
        Some(failed_last_time()?)
    } else {
        None
    };
    let chosen: Vec<Scenario> = all
        .into_iter()
        .filter(|s| globs.is_empty() || globs.iter().any(|g| g.matches(&s.id)))
        .filter(|s| select.topic.is_empty() || select.topic.contains(&s.topic))
        .filter(|s| select.tag.is_empty() || s.tags.iter().any(|t| select.tag.contains(t)))
        .filter(|s| select.profile.is_empty() || select.profile.contains(&s.profile))
        .filter(|s| failed.as_ref().is_none_or(|failed| failed.contains(&s.id)))
        .collect();
    if chosen.is_empty() {
        let why = if select.failed {
            "nothing failed in the last run"
        } else {
            "the filters together match nothing"
        };
        return Err(Exit::BadInput(format!(
            "no scenarios selected in {:?}: {why}",
            select.scenarios
        )));
    }
    Ok(chosen)
}

/// The ids the last run reported as failed (diverged, errors, unrecorded, drift).
fn failed_last_time() -> Result<BTreeSet<String>, Exit> {
    let text = std::fs::read_to_string(LAST_RUN).map_err(|e| {
        Exit::BadInput(format!(
            "--failed needs the last run's report, {LAST_RUN}: {e} (run `djc run` first)"
        ))
    })?;
    let report: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Exit::BadInput(format!("{LAST_RUN} is not a djc report: {e}")))?;
    Ok(report["scenarios"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| {
            matches!(
                s["status"].as_str(),
                Some("diverged" | "error" | "unrecorded")
            ) || s["drift"].as_array().is_some_and(|d| !d.is_empty())
        })
        .filter_map(|s| s["id"].as_str().map(str::to_owned))
        .collect())
}

/// `; did you mean "…"?` with the nearest of `names`, when one is near enough.
pub fn suggestion(given: &str, names: &[&str]) -> String {
    let nearest = names
        .iter()
        .map(|name| (strsim::jaro_winkler(given, name), *name))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match nearest {
        Some((score, name)) if score > 0.8 => format!("; did you mean {name:?}?"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_suggests_the_nearest_name() {
        let names = ["cookies/max_age_sets_expires", "cookies/value_empty_quoted"];
        assert_eq!(
            suggestion("cookies/max_age_set_expires", &names),
            "; did you mean \"cookies/max_age_sets_expires\"?"
        );
        assert_eq!(
            suggestion("cokies", &["cookies", "sessions"]),
            "; did you mean \"cookies\"?"
        );
        assert_eq!(suggestion("zzz", &names), "");
    }
}
