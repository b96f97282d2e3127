//! `djc diff`, `djc list` and `djc new`: reading the last run, the scenarios, and starting one.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::select::{self, SelectArgs, suggestion};
use super::{Exit, LAST_RUN, write_file};
use crate::harness::report;
use crate::harness::scenario::IdGlob;

#[derive(Args)]
pub struct DiffArgs {
    /// Scenario ids or globs (default: every scenario with differences).
    patterns: Vec<String>,
    /// Only scenarios with one of these tags (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',')]
    tag: Vec<String>,
    /// The report to read.
    #[arg(long, default_value = LAST_RUN)]
    report: PathBuf,
}

pub fn diff(args: &DiffArgs) -> Result<ExitCode, Exit> {
    let text = std::fs::read_to_string(&args.report).map_err(|e| {
        Exit::BadInput(format!(
            "cannot read {}: {e} (run `djc run` first)",
            args.report.display()
        ))
    })?;
    let report: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Exit::BadInput(format!(
            "{} is not a djc report: {e}",
            args.report.display()
        ))
    })?;
    let scenarios: Vec<&serde_json::Value> = report["scenarios"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let ids: Vec<&str> = scenarios.iter().filter_map(|s| s["id"].as_str()).collect();
    let globs: Vec<IdGlob> = args.patterns.iter().map(|p| IdGlob::new(p)).collect();
    if let Some(glob) = globs.iter().find(|g| !ids.iter().any(|id| g.matches(id))) {
        return Err(Exit::BadInput(format!(
            "no scenario of the last run matches {:?}{}",
            glob.as_str(),
            suggestion(glob.as_str(), &ids)
        )));
    }
    let tagged = |s: &serde_json::Value| {
        s["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| args.tag.iter().any(|wanted| t == wanted.as_str()))
    };
    let chosen: Option<Vec<String>> = (!globs.is_empty() || !args.tag.is_empty()).then(|| {
        scenarios
            .iter()
            .filter(|s| {
                let id = s["id"].as_str().unwrap_or_default();
                (globs.is_empty() || globs.iter().any(|g| g.matches(id)))
                    && (args.tag.is_empty() || tagged(s))
            })
            .filter_map(|s| s["id"].as_str().map(str::to_owned))
            .collect()
    });
    let (text, differences) =
        report::diff_text(&report, chosen.as_deref()).map_err(Exit::BadInput)?;
    print!("{text}");
    Ok(if differences {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn list(select: &SelectArgs) -> Result<ExitCode, Exit> {
    for scenario in select::load(select)?.scenarios {
        let tags = if scenario.tags.is_empty() {
            String::new()
        } else {
            format!(" [{}]", scenario.tags.join(", "))
        };
        println!("{}{tags}  {}", scenario.id, scenario.description);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn new_scenario(id: &str, root: &Path) -> Result<ExitCode, Exit> {
    let valid = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    let parts: Vec<&str> = id.split('/').collect();
    if parts.len() != 2 || !parts.iter().all(|p| valid(p)) || parts[1].starts_with('_') {
        return Err(Exit::BadInput(format!(
            "{id:?} is not <topic>/<name> (letters, digits, `_`, `-`)"
        )));
    }
    let path = root.join(format!("{id}.toml"));
    if path.exists() {
        return Err(Exit::BadInput(format!("{} already exists", path.display())));
    }
    let template = format!(
        "description = \"TODO: the Django behaviour this checks\"\ntags = []\n\n\
         # Each [[step]] is one request; see django_reference/CONTRACT.md for the endpoints.\n\
         [[step]]\nname = \"set a cookie\"\nmethod = \"POST\"\npath = \"/{topic}/set\"\n\
         json = {{ ops = [{{ op = \"set_cookie\", key = \"example\", value = \"1\" }}] }}\n\n\
         [[step]]\nname = \"read it back\"\npath = \"/{topic}/read\"\n",
        topic = parts[0]
    );
    write_file(&path, &template)?;
    println!(
        "wrote {}: edit it, then `djc record {id}` and review the snapshot",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}
