//! Golden snapshots: Django's records, one insta snapshot per scenario at
//! `snapshots/<topic>/<name>.snap`. Only `djc record` writes them, from Django runs; a change is
//! written as a pending `.snap.new` for `cargo insta review`, never over the accepted file.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::scenario::Scenario;
use super::target::Provenance;

/// What the snapshot file holds below its header.
pub fn golden_value(scenario: &Scenario, steps: &[Value]) -> Value {
    json!({ "scenario": scenario.id, "profile": scenario.profile, "steps": steps })
}

/// An accepted snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Golden {
    pub steps: Vec<Value>,
    pub provenance: Provenance,
}

/// How recording a scenario left its snapshot.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    Unchanged,
    /// A new or changed record waits for review at this path.
    Pending(PathBuf),
    /// Written over the accepted snapshot (`djc record --accept`).
    Accepted,
}

pub struct SnapshotStore {
    dir: PathBuf,
}

impl SnapshotStore {
    pub fn new(dir: PathBuf) -> SnapshotStore {
        SnapshotStore { dir }
    }

    pub fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.snap"))
    }

    /// The accepted snapshot of scenario `id`, if it was recorded.
    pub fn read(&self, id: &str) -> Result<Option<Golden>, String> {
        let path = self.path(id);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        parse_snapshot(&text)
            .map(Some)
            .map_err(|e| format!("{}: {e} (re-record it with `djc record`)", path.display()))
    }

    /// Writes Django's record through insta. `accept` writes the `.snap` itself; otherwise a
    /// difference becomes a pending `.snap.new` (insta's own review flow).
    pub fn write(
        &self,
        scenario: &Scenario,
        steps: &[Value],
        provenance: &Provenance,
        accept: bool,
    ) -> Result<Written, String> {
        let target = self.path(&scenario.id);
        let dir = target
            .parent()
            .expect("a snapshot path has a folder")
            .to_owned();
        let name = target
            .file_stem()
            .expect("a snapshot path has a name")
            .to_string_lossy()
            .into_owned();
        let pending = target.with_extension("snap.new");
        let before = std::fs::read_to_string(&target).ok();
        let value = golden_value(scenario, steps);
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(absolute(&dir));
        settings.set_prepend_module_to_snapshot(false);
        settings.set_input_file(&scenario.file);
        settings.set_omit_expression(true);
        settings.set_description(scenario.description.clone());
        settings.set_info(provenance);
        let _ = std::fs::remove_file(&pending);
        // insta panics on a mismatch after writing the pending file: that is the expected path.
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            settings.bind(|| insta::assert_json_snapshot!(name.as_str(), value))
        }));
        let after = std::fs::read_to_string(&target).ok();
        if pending.exists() {
            Ok(Written::Pending(pending))
        } else if after != before && accept {
            Ok(Written::Accepted)
        } else if outcome.is_ok() && after.is_some() {
            Ok(Written::Unchanged)
        } else {
            Err(format!(
                "insta wrote neither {} nor {}: is INSTA_UPDATE=no set?",
                target.display(),
                pending.display()
            ))
        }
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// Splits an insta snapshot into its header's provenance and the JSON record.
fn parse_snapshot(text: &str) -> Result<Golden, String> {
    let mut sections = text.splitn(3, "---\n");
    let (Some(""), Some(header), Some(body)) = (sections.next(), sections.next(), sections.next())
    else {
        return Err("not an insta snapshot (no `---` header)".to_owned());
    };
    let field = |name: &str| {
        header
            .lines()
            .find_map(|line| line.trim().strip_prefix(name)?.strip_prefix(':'))
            .map(|v| v.trim().trim_matches('"').to_owned())
    };
    let django_version =
        field("django_version").ok_or("the snapshot header has no django_version")?;
    let python_version = field("python_version").filter(|v| v != "~" && v != "null");
    let value: Value =
        serde_json::from_str(body).map_err(|e| format!("the snapshot body is not JSON: {e}"))?;
    let steps = value["steps"]
        .as_array()
        .cloned()
        .ok_or("the snapshot has no steps")?;
    Ok(Golden {
        steps,
        provenance: Provenance {
            django_version,
            python_version,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_insta_snapshot() {
        let text = "---\nsource: scenarios/cookies/a.toml\ninfo:\n  django_version: 5.2.19\n---\n{\n  \"scenario\": \"cookies/a\",\n  \"steps\": [\n    {\"status\": 200}\n  ]\n}\n";
        let golden = parse_snapshot(text).unwrap();
        assert_eq!(golden.provenance.django_version, "5.2.19");
        assert_eq!(golden.provenance.python_version, None);
        assert_eq!(golden.steps, vec![json!({"status": 200})]);
        assert!(
            parse_snapshot("{}")
                .unwrap_err()
                .contains("not an insta snapshot")
        );
    }
}
