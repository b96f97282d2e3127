//! Golden snapshots: Django's records, one per scenario at `snapshots/<topic>/<name>.snap`, in
//! insta's file format so that `cargo insta review` and `cargo insta accept` work on them. Only
//! `djc record` writes them, from Django runs. djc renders the format itself and writes each file
//! whole or not at all (insta's assertion macro rewrites a file in place); insta reads them back.

use std::path::{Path, PathBuf};

use insta::internals::Content;
use serde_json::{Value, json};

use super::files::{self, MAX_SNAPSHOT_BYTES};
use super::scenario::Scenario;
use super::targets::Provenance;

/// What the snapshot file holds below its header.
pub fn golden_value(scenario: &Scenario, steps: &[Value]) -> Value {
    json!({ "scenario": scenario.id, "profile": scenario.profile, "steps": steps })
}

/// The header's `source`: the file that writes snapshots, as insta names the code behind one.
const SOURCE: &str = "src/harness/snapshot.rs";

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
        read_golden(&path)
            .map_err(|e| format!("{}: {e} (re-record it with `djc record`)", path.display()))
    }

    /// Writes Django's record: over the accepted snapshot with `accept`, else as a pending
    /// `.snap.new` beside it when it differs (insta's review flow). A stale pending file goes.
    pub fn write(
        &self,
        scenario: &Scenario,
        steps: &[Value],
        provenance: &Provenance,
        accept: bool,
    ) -> Result<Written, String> {
        let target = self.path(&scenario.id);
        let pending = target.with_extension("snap.new");
        let unchanged = read_golden(&target).ok().flatten().is_some_and(|golden| {
            golden.steps.as_slice() == steps && golden.provenance == *provenance
        });
        let written = if unchanged {
            Written::Unchanged
        } else {
            let text = render(scenario, steps, provenance);
            let (path, written) = if accept {
                (&target, Written::Accepted)
            } else {
                (&pending, Written::Pending(pending.clone()))
            };
            files::write_whole(path, text.as_bytes()).map_err(|e| e.to_string())?;
            written
        };
        if written != Written::Pending(pending.clone()) {
            match std::fs::remove_file(&pending) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(format!("cannot remove {}: {e}", pending.display()));
                }
                _ => {}
            }
        }
        Ok(written)
    }
}

/// Reads a snapshot file with insta, checked first to be a regular file of bounded size.
fn read_golden(path: &Path) -> Result<Option<Golden>, String> {
    match files::check_readable(path, MAX_SNAPSHOT_BYTES) {
        Err(files::ReadError::NotFound) => return Ok(None),
        Err(e) => return Err(e.to_string()),
        Ok(_) => {}
    }
    let snapshot = insta::Snapshot::from_file(path).map_err(|e| e.to_string())?;
    let body = snapshot
        .contents()
        .as_text()
        .ok_or("not a text snapshot")?
        .to_string();
    let value: Value =
        serde_json::from_str(&body).map_err(|e| format!("the snapshot body is not JSON: {e}"))?;
    let steps = match value {
        Value::Object(mut golden) => match golden.swap_remove("steps") {
            Some(Value::Array(steps)) => Some(steps),
            _ => None,
        },
        _ => None,
    }
    .ok_or("the snapshot has no steps")?;
    let info = snapshot.metadata().private_info();
    let field = |name: &str| info.and_then(|info| map_str(info, name));
    Ok(Some(Golden {
        steps,
        provenance: Provenance {
            django_version: field("django_version")
                .ok_or("the snapshot header has no info.django_version")?,
            python_version: field("python_version"),
        },
    }))
}

/// The string at `key` of an insta map, if there is one.
fn map_str(content: &Content, key: &str) -> Option<String> {
    let Content::Map(entries) = content.resolve_inner() else {
        return None;
    };
    entries
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .and_then(|(_, value)| value.resolve_inner().as_str().map(str::to_owned))
}

/// The snapshot file as insta writes it: a YAML header, then the value as insta's pretty JSON.
fn render(scenario: &Scenario, steps: &[Value], provenance: &Provenance) -> String {
    let python = provenance
        .python_version
        .as_deref()
        .map_or("~".to_owned(), yaml_scalar);
    let mut text = format!(
        "---\nsource: {}\ndescription: {}\ninfo:\n  django_version: {}\n  python_version: {python}\n\
         input_file: {}\n---\n",
        yaml_scalar(SOURCE),
        yaml_scalar(&scenario.description),
        yaml_scalar(&provenance.django_version),
        yaml_scalar(&scenario.file.to_string_lossy()),
    );
    write_json(&mut text, &golden_value(scenario, steps), 0);
    text.push('\n');
    text
}

/// A YAML string as insta's emitter writes one: plain where YAML reads it back as the same
/// string, else double-quoted with JSON's escapes.
fn yaml_scalar(text: &str) -> String {
    let reserved = [
        "yes", "Yes", "YES", "no", "No", "NO", "True", "TRUE", "true", "False", "FALSE", "false",
        "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL", "~",
    ];
    let quoted = text.is_empty()
        || text.starts_with(' ')
        || text.ends_with(' ')
        || text.starts_with(['&', '*', '?', '|', '-', '<', '>', '=', '!', '%', '@', '.'])
        || text.contains(|c: char| {
            matches!(c, ':' | '{' | '}' | '[' | ']' | ',' | '#' | '`' | '"' | '\'' | '\\'
                | '\0'..='\x06' | '\t' | '\n' | '\r' | '\x0e'..='\x1a' | '\x1c'..='\x1f')
        })
        || reserved.contains(&text)
        || text.starts_with("0x")
        || text.parse::<i64>().is_ok()
        || text.parse::<f64>().is_ok();
    if !quoted {
        return text.to_owned();
    }
    let mut out = String::new();
    push_quoted(&mut out, text, true);
    out
}

/// insta's pretty JSON: two-space indents, `": "`, whole floats with `.0`.
fn write_json(out: &mut String, value: &Value, depth: usize) {
    let indent = |out: &mut String, depth: usize| out.push_str(&"  ".repeat(depth));
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (_, Some(u), _) => out.push_str(&u.to_string()),
            (_, _, Some(f)) if f.is_finite() => {
                let text = f.to_string();
                out.push_str(&text);
                if !text.contains('.') {
                    out.push_str(".0");
                }
            }
            _ => out.push_str("null"),
        },
        Value::String(s) => write_json_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                out.push_str(if index == 0 { "\n" } else { ",\n" });
                indent(out, depth + 1);
                write_json(out, item, depth + 1);
            }
            if !items.is_empty() {
                out.push('\n');
                indent(out, depth);
            }
            out.push(']');
        }
        Value::Object(fields) => {
            out.push('{');
            for (index, (key, item)) in fields.iter().enumerate() {
                out.push_str(if index == 0 { "\n" } else { ",\n" });
                indent(out, depth + 1);
                write_json_string(out, key);
                out.push_str(": ");
                write_json(out, item, depth + 1);
            }
            if !fields.is_empty() {
                out.push('\n');
                indent(out, depth);
            }
            out.push('}');
        }
    }
}

fn write_json_string(out: &mut String, text: &str) {
    push_quoted(out, text, false);
}

/// `text` double-quoted with JSON's escapes; insta's YAML emitter also escapes DEL.
fn push_quoted(out: &mut String, text: &str, escape_del: bool) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x08' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\x0c' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\0'..='\x1f' => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\x7f' if escape_del => out.push_str("\\u007f"),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn every_committed_snapshot_renders_back_byte_for_byte() {
        // The committed snapshots were written by insta itself: rendering what they hold must
        // give the same bytes, or djc's files would differ from insta's.
        let roots = [repo().join("scenarios")];
        let store = SnapshotStore::new(repo().join("snapshots"));
        let scenarios = crate::harness::scenario::load_all(&roots, &[]).unwrap();
        assert!(scenarios.len() > 50);
        for mut scenario in scenarios {
            let path = store.path(&scenario.id);
            let golden = store.read(&scenario.id).unwrap().expect("recorded");
            // Snapshots name their scenario file relative to the project.
            scenario.file = scenario.file.strip_prefix(repo()).unwrap().to_owned();
            let rendered = render(&scenario, &golden.steps, &golden.provenance);
            assert_eq!(
                rendered,
                std::fs::read_to_string(&path).unwrap(),
                "{}",
                path.display()
            );
        }
    }

    #[test]
    fn insta_reads_what_djc_writes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cookies/odd.toml");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(
            &file,
            "description = \"yes: a \\\"quoted\\\" line\\nand a second, with \\u0001\"\n\
             [[step]]\npath = \"/\"\n",
        )
        .unwrap();
        let scenario = crate::harness::scenario::load(dir.path(), &file).unwrap();
        let steps = vec![json!({"age": 1e20, "n": -3, "s": "\u{7f}é\"\\\n", "x": []})];
        let provenance = Provenance {
            django_version: "5.2".into(),
            python_version: None,
        };
        let store = SnapshotStore::new(dir.path().join("snapshots"));
        assert_eq!(
            store.write(&scenario, &steps, &provenance, true),
            Ok(Written::Accepted)
        );
        let path = store.path("cookies/odd");
        let snapshot = insta::Snapshot::from_file(&path).unwrap();
        assert_eq!(
            snapshot.metadata().description(),
            Some(scenario.description.as_str())
        );
        assert_eq!(
            snapshot.metadata().input_file(),
            Some(file.to_str().unwrap())
        );
        let golden = store.read("cookies/odd").unwrap().unwrap();
        assert_eq!(
            (golden.steps, golden.provenance),
            (steps.clone(), provenance.clone())
        );
        assert_eq!(
            store.write(&scenario, &steps, &provenance, false),
            Ok(Written::Unchanged)
        );
    }

    #[test]
    fn a_change_waits_for_review_and_acceptance_clears_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cookies/a.toml");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "[[step]]\npath = \"/\"\n").unwrap();
        let scenario = crate::harness::scenario::load(dir.path(), &file).unwrap();
        let store = SnapshotStore::new(dir.path().join("snapshots"));
        let provenance = Provenance {
            django_version: "5.2".into(),
            python_version: Some("3.11.2".into()),
        };
        let (first, second) = (vec![json!({"status": 200})], vec![json!({"status": 500})]);
        store.write(&scenario, &first, &provenance, true).unwrap();
        let pending = store.path("cookies/a").with_extension("snap.new");
        assert_eq!(
            store.write(&scenario, &second, &provenance, false),
            Ok(Written::Pending(pending.clone()))
        );
        assert_eq!(store.read("cookies/a").unwrap().unwrap().steps, first);
        assert!(pending.exists());
        store.write(&scenario, &second, &provenance, true).unwrap();
        assert!(!pending.exists(), "accepting removes the pending file");
        assert_eq!(store.read("cookies/a").unwrap().unwrap().steps, second);
    }

    #[test]
    fn a_failed_write_names_the_real_cause() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cookies/a.toml");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "[[step]]\npath = \"/\"\n").unwrap();
        let scenario = crate::harness::scenario::load(dir.path(), &file).unwrap();
        // A file where the snapshots' topic folder should be.
        std::fs::create_dir_all(dir.path().join("snapshots")).unwrap();
        std::fs::write(dir.path().join("snapshots/cookies"), "in the way").unwrap();
        let store = SnapshotStore::new(dir.path().join("snapshots"));
        let provenance = Provenance::default();
        let error = store
            .write(&scenario, &[json!({})], &provenance, true)
            .unwrap_err();
        assert!(error.contains("snapshots/cookies/a.snap"), "{error}");
        assert!(!error.contains("INSTA"), "{error}");
    }
}
