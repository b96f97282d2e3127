//! Golden snapshots: Django's records, in insta's file format so that `cargo insta review` and
//! `cargo insta accept` work on them. Only `djc record` writes them, from Django runs. djc renders
//! the format itself and writes each file whole or not at all (insta's assertion macro rewrites a
//! file in place); insta reads them back.
//!
//! Each cell of the matrix has its own truth, but most behaviour is the same in every cell, so
//! a record is stored once: `snapshots/<topic>/<name>.snap` holds the record of the reference
//! cell (5.2/gunicorn) and of every cell whose record is the same, listed in its header
//! (`info.cells`, with the Django and Python each was recorded on); cells whose record differs
//! have a file beside it: one for a whole Django version or server when its cells agree
//! (`name@6.1.snap`, `name@uvicorn.snap`), else one per cell (`name@6.1-uvicorn.snap`). So a
//! reviewer sees where cells differ by the files that exist, and diffs them like any file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use insta::internals::Content;
use serde_json::{Value, json};

use super::cell::Cell;
use super::files::{self, MAX_SNAPSHOT_BYTES};
use super::scenario::Scenario;
use super::targets::Provenance;

/// What the snapshot file holds below its header.
pub fn golden_value(scenario: &Scenario, steps: &[Value]) -> Value {
    json!({ "scenario": scenario.id, "profile": scenario.profile, "steps": steps })
}

/// The header's `source`: the file that writes snapshots, as insta names the code behind one.
const SOURCE: &str = "src/harness/snapshot.rs";

/// An accepted record of one cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Golden {
    pub steps: Vec<Value>,
    pub provenance: Provenance,
}

/// One snapshot file: a record and the cells it is the truth of.
#[derive(Debug, Clone, PartialEq)]
struct SnapshotFile {
    steps: Vec<Value>,
    cells: BTreeMap<Cell, Provenance>,
}

/// How recording a cell of a scenario left its snapshot.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    Unchanged,
    /// A new or changed record waits for review at this path.
    Pending(PathBuf),
    /// Written over the accepted snapshot (`djc record --accept`), or stored in another file
    /// without change (it is already reviewed).
    Accepted,
}

/// A cell's new record, to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CellRecord {
    pub cell: Cell,
    pub steps: Vec<Value>,
    pub provenance: Provenance,
}

pub struct SnapshotStore {
    dir: PathBuf,
}

impl SnapshotStore {
    pub fn new(dir: PathBuf) -> SnapshotStore {
        SnapshotStore { dir }
    }

    /// The file shared by the cells whose records agree.
    pub fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.snap"))
    }

    /// The file of a cell whose record differs from the shared one.
    pub fn cell_path(&self, id: &str, cell: Cell) -> PathBuf {
        self.tagged_path(id, &cell.file_tag())
    }

    fn tagged_path(&self, id: &str, tag: &str) -> PathBuf {
        self.dir.join(format!("{id}@{tag}.snap"))
    }

    /// Every file that may hold `cell`'s record, the most specific first: its own, its Django
    /// version's, its server's, the shared one.
    fn paths_of(&self, id: &str, cell: Cell) -> [PathBuf; 4] {
        [
            self.cell_path(id, cell),
            self.tagged_path(id, cell.django.as_str()),
            self.tagged_path(id, cell.server.as_str()),
            self.path(id),
        ]
    }

    /// Every file of scenario `id`.
    fn all_paths(&self, id: &str) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = Cell::all()
            .into_iter()
            .flat_map(|cell| self.paths_of(id, cell))
            .collect();
        paths.sort();
        paths.dedup();
        paths
    }

    /// The accepted record of scenario `id` in `cell`, if that cell was recorded: from the most
    /// specific file whose header lists the cell.
    pub fn read(&self, id: &str, cell: Cell) -> Result<Option<Golden>, String> {
        for path in self.paths_of(id, cell) {
            if let Some(file) = self.read_file(&path)?
                && let Some(provenance) = file.cells.get(&cell)
            {
                return Ok(Some(Golden {
                    steps: file.steps,
                    provenance: provenance.clone(),
                }));
            }
        }
        Ok(None)
    }

    /// Where the cells in `group`, which share a record that is not the shared file's, keep
    /// it: one file when they are a whole Django version or a whole server, else one each.
    fn group_paths(&self, id: &str, group: &[Cell]) -> Vec<(PathBuf, Vec<Cell>)> {
        let all = Cell::all();
        let whole = |keep: &dyn Fn(&Cell) -> bool| {
            let members: Vec<Cell> = all.iter().copied().filter(|c| keep(c)).collect();
            members.len() > 1 && members == group
        };
        if let Some(first) = group.first() {
            if whole(&|c: &Cell| c.django == first.django) {
                return vec![(self.tagged_path(id, first.django.as_str()), group.to_vec())];
            }
            if whole(&|c: &Cell| c.server == first.server) {
                return vec![(self.tagged_path(id, first.server.as_str()), group.to_vec())];
            }
        }
        group
            .iter()
            .map(|&cell| (self.cell_path(id, cell), vec![cell]))
            .collect()
    }

    fn read_file(&self, path: &Path) -> Result<Option<SnapshotFile>, String> {
        read_snapshot(path)
            .map_err(|e| format!("{}: {e} (re-record it with `djc record`)", path.display()))
    }

    /// Stores the new records of some cells of `scenario`, beside what the other cells have:
    /// the shared file takes the reference cell's record (or, without it, the first cell's) and
    /// every cell that agrees with it; each other cell gets its own file, and a cell's own file
    /// goes once it agrees. A file whose record some of its cells did not have accepted waits for
    /// review as `.snap.new` (insta's flow) unless `accept`; a file whose record each of its
    /// cells already had is written at once.
    pub fn write(
        &self,
        scenario: &Scenario,
        records: &[CellRecord],
        accept: bool,
    ) -> Result<Vec<(Cell, Written)>, String> {
        let id = &scenario.id;
        let shared_path = self.path(id);
        // A file that cannot be read is what re-recording mends: it counts as absent.
        let mut files: BTreeMap<PathBuf, SnapshotFile> = BTreeMap::new();
        for path in self.all_paths(id) {
            if let Ok(Some(file)) = read_snapshot(&path) {
                files.insert(path, file);
            }
        }
        // Each cell's accepted truth, from the most specific file that lists it, as `read` does.
        let mut accepted: BTreeMap<Cell, (Vec<Value>, Provenance)> = BTreeMap::new();
        for cell in Cell::all() {
            let found = self.paths_of(id, cell).into_iter().find_map(|path| {
                let file = files.get(&path)?;
                Some((file.steps.clone(), file.cells.get(&cell)?.clone()))
            });
            if let Some(truth) = found {
                accepted.insert(cell, truth);
            }
        }
        let mut truth = accepted.clone();
        for record in records {
            truth.insert(
                record.cell,
                (record.steps.clone(), record.provenance.clone()),
            );
        }
        let Some(shared_steps) = truth
            .get(&Cell::REFERENCE)
            .or_else(|| truth.values().next())
            .map(|(steps, _)| steps.clone())
        else {
            return Ok(Vec::new());
        };
        // Cells grouped by record, the shared record's group first.
        let mut groups: Vec<(Vec<Value>, Vec<Cell>)> = vec![(shared_steps, Vec::new())];
        for (cell, (steps, _)) in &truth {
            match groups
                .iter_mut()
                .find(|(group_steps, _)| group_steps == steps)
            {
                Some((_, cells)) => cells.push(*cell),
                None => groups.push((steps.clone(), vec![*cell])),
            }
        }
        let mut layout: BTreeMap<PathBuf, SnapshotFile> = BTreeMap::new();
        for (index, (steps, cells)) in groups.into_iter().enumerate() {
            let placed = if index == 0 {
                vec![(shared_path.clone(), cells)]
            } else {
                self.group_paths(id, &cells)
            };
            for (path, cells) in placed {
                let cells = cells
                    .into_iter()
                    .map(|cell| (cell, truth[&cell].1.clone()))
                    .collect();
                layout.insert(
                    path,
                    SnapshotFile {
                        steps: steps.clone(),
                        cells,
                    },
                );
            }
        }
        let mut pending_files = BTreeMap::new();
        for (path, file) in &layout {
            if files.get(path) == Some(file) {
                continue;
            }
            // Already reviewed: the record this file holds now, or every one of its cells had.
            let reviewed = files.get(path).is_some_and(|old| old.steps == file.steps)
                || file.cells.keys().all(|cell| {
                    accepted
                        .get(cell)
                        .is_some_and(|(steps, _)| *steps == file.steps)
                });
            let text = render(scenario, &file.steps, &file.cells);
            let pending = path.with_extension("snap.new");
            if accept || reviewed {
                files::write_whole(path, text.as_bytes()).map_err(|e| e.to_string())?;
                remove_if_there(&pending)?;
            } else {
                files::write_whole(&pending, text.as_bytes()).map_err(|e| e.to_string())?;
                pending_files.insert(path.clone(), pending);
            }
        }
        for path in files.keys() {
            if !layout.contains_key(path) {
                remove_if_there(path)?;
                remove_if_there(&path.with_extension("snap.new"))?;
            }
        }
        for path in layout.keys() {
            if files.get(path) == layout.get(path) {
                remove_if_there(&path.with_extension("snap.new"))?;
            }
        }
        Ok(records
            .iter()
            .map(|record| {
                let before = accepted.get(&record.cell);
                let now = (record.steps.clone(), record.provenance.clone());
                let written = if before == Some(&now) {
                    Written::Unchanged
                } else {
                    let home = layout
                        .iter()
                        .find(|(_, file)| file.cells.contains_key(&record.cell))
                        .map(|(path, _)| path);
                    match home.and_then(|path| pending_files.get(path)) {
                        Some(pending) => Written::Pending(pending.clone()),
                        None => Written::Accepted,
                    }
                };
                (record.cell, written)
            })
            .collect())
    }
}

fn remove_if_there(path: &Path) -> Result<(), String> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(format!("cannot remove {}: {e}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Reads a snapshot file with insta, checked first to be a regular file of bounded size.
fn read_snapshot(path: &Path) -> Result<Option<SnapshotFile>, String> {
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
    let Some(Content::Map(entries)) = info.and_then(|info| map_get(info, "cells")) else {
        return Err("the snapshot header has no info.cells".into());
    };
    let mut cells = BTreeMap::new();
    for (name, recorded) in entries {
        let name = name.resolve_inner().as_str().unwrap_or_default();
        let cell = Cell::parse(name)
            .ok_or_else(|| format!("info.cells names {name:?}, which is no cell"))?;
        let field = |key: &str| {
            map_get(recorded, key)
                .and_then(|value| value.resolve_inner().as_str().map(str::to_owned))
        };
        cells.insert(
            cell,
            Provenance {
                django_version: field("django_version")
                    .ok_or_else(|| format!("info.cells.{name} has no django_version"))?,
                python_version: field("python_version"),
            },
        );
    }
    Ok(Some(SnapshotFile { steps, cells }))
}

/// The value at `key` of an insta map, if there is one.
fn map_get<'a>(content: &'a Content, key: &str) -> Option<&'a Content> {
    let Content::Map(entries) = content.resolve_inner() else {
        return None;
    };
    entries
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, value)| value.resolve_inner())
}

/// The snapshot file as insta writes it: a YAML header, then the value as insta's pretty JSON.
fn render(scenario: &Scenario, steps: &[Value], cells: &BTreeMap<Cell, Provenance>) -> String {
    let mut text = format!(
        "---\nsource: {}\ndescription: {}\ninfo:\n  cells:\n",
        yaml_scalar(SOURCE),
        yaml_scalar(&scenario.description),
    );
    for (cell, provenance) in cells {
        let python = provenance
            .python_version
            .as_deref()
            .map_or("~".to_owned(), yaml_scalar);
        text.push_str(&format!(
            "    {}:\n      django_version: {}\n      python_version: {python}\n",
            yaml_scalar(&cell.to_string()),
            yaml_scalar(&provenance.django_version),
        ));
    }
    text.push_str(&format!(
        "input_file: {}\n---\n",
        yaml_scalar(&scenario.file.to_string_lossy())
    ));
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
    use crate::harness::cell::{DjangoVersion, Server};

    fn repo() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    const UVICORN_61: Cell = Cell {
        django: DjangoVersion::V6_1,
        server: Server::Uvicorn,
    };

    fn record(cell: Cell, steps: &[Value], django: &str) -> CellRecord {
        CellRecord {
            cell,
            steps: steps.to_vec(),
            provenance: Provenance {
                django_version: django.into(),
                python_version: Some("3.11.2".into()),
            },
        }
    }

    fn scenario(dir: &Path, name: &str, text: &str) -> Scenario {
        let file = dir.join(format!("cookies/{name}.toml"));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, text).unwrap();
        crate::harness::scenario::load(dir, &file).unwrap()
    }

    #[test]
    fn every_committed_snapshot_renders_back_byte_for_byte() {
        // What djc writes must read back as the same record, byte for byte: no field of the
        // format is lost on the way.
        let roots = [repo().join("scenarios")];
        let store = SnapshotStore::new(repo().join("snapshots"));
        let scenarios = crate::harness::scenario::load_all(&roots, &[]).unwrap();
        assert!(scenarios.len() > 50);
        let mut checked = 0;
        for mut scenario in scenarios {
            // Snapshots name their scenario file relative to the project.
            scenario.file = scenario.file.strip_prefix(repo()).unwrap().to_owned();
            for path in store.all_paths(&scenario.id) {
                let Some(file) = read_snapshot(&path).unwrap() else {
                    continue;
                };
                let rendered = render(&scenario, &file.steps, &file.cells);
                assert_eq!(
                    rendered,
                    std::fs::read_to_string(&path).unwrap(),
                    "{}",
                    path.display()
                );
                checked += 1;
            }
            assert!(
                store.read(&scenario.id, Cell::REFERENCE).unwrap().is_some(),
                "{} has a record of the reference cell",
                scenario.id
            );
        }
        assert!(checked > 50);
    }

    #[test]
    fn insta_reads_what_djc_writes() {
        let dir = tempfile::tempdir().unwrap();
        let scenario = scenario(
            dir.path(),
            "odd",
            "description = \"yes: a \\\"quoted\\\" line\\nand a second, with \\u0001\"\n\
             [[step]]\npath = \"/\"\n",
        );
        let steps = vec![json!({"age": 1e20, "n": -3, "s": "\u{7f}é\"\\\n", "x": []})];
        let store = SnapshotStore::new(dir.path().join("snapshots"));
        let first = record(Cell::REFERENCE, &steps, "5.2.19");
        assert_eq!(
            store.write(&scenario, std::slice::from_ref(&first), true),
            Ok(vec![(Cell::REFERENCE, Written::Accepted)])
        );
        let snapshot = insta::Snapshot::from_file(&store.path("cookies/odd")).unwrap();
        assert_eq!(
            snapshot.metadata().description(),
            Some(scenario.description.as_str())
        );
        assert_eq!(
            snapshot.metadata().input_file(),
            Some(scenario.file.to_str().unwrap())
        );
        let golden = store.read("cookies/odd", Cell::REFERENCE).unwrap().unwrap();
        assert_eq!(
            (golden.steps, golden.provenance),
            (steps, first.provenance.clone())
        );
        assert_eq!(store.read("cookies/odd", UVICORN_61).unwrap(), None);
        assert_eq!(
            store.write(&scenario, &[first], false),
            Ok(vec![(Cell::REFERENCE, Written::Unchanged)])
        );
    }

    #[test]
    fn cells_that_agree_share_one_file_and_a_cell_that_differs_gets_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let scenario = scenario(dir.path(), "a", "[[step]]\npath = \"/\"\n");
        let store = SnapshotStore::new(dir.path().join("snapshots"));
        let (same, other) = (vec![json!({"status": 200})], vec![json!({"status": 500})]);
        let records: Vec<CellRecord> = Cell::all()
            .into_iter()
            .map(|cell| {
                let steps = if cell == UVICORN_61 { &other } else { &same };
                record(cell, steps, cell.django.release())
            })
            .collect();
        store.write(&scenario, &records, true).unwrap();
        let own = store.cell_path("cookies/a", UVICORN_61);
        assert!(
            own.ends_with("cookies/a@6.1-uvicorn.snap"),
            "{}",
            own.display()
        );
        let shared = read_snapshot(&store.path("cookies/a")).unwrap().unwrap();
        assert_eq!(shared.cells.len(), 3, "three cells share the file");
        for cell in Cell::all() {
            let golden = store.read("cookies/a", cell).unwrap().unwrap();
            assert_eq!(
                golden.steps,
                if cell == UVICORN_61 {
                    other.clone()
                } else {
                    same.clone()
                }
            );
            assert_eq!(golden.provenance.django_version, cell.django.release());
        }
        // Once the cell agrees again, its own file goes and the shared one lists it.
        let agrees = record(UVICORN_61, &same, "6.1.3");
        assert_eq!(
            store.write(&scenario, &[agrees], false),
            Ok(vec![(UVICORN_61, Written::Accepted)]),
            "a record already reviewed for other cells needs no review"
        );
        assert!(!own.exists());
        let shared = read_snapshot(&store.path("cookies/a")).unwrap().unwrap();
        assert_eq!(shared.cells.len(), 4);
        // Both 6.1 cells differ alike: one file for the version; the same for a server.
        for (differ, file) in [
            (DjangoVersion::V6_1.as_str(), "cookies/a@6.1.snap"),
            (Server::Uvicorn.as_str(), "cookies/a@uvicorn.snap"),
        ] {
            let records: Vec<CellRecord> = Cell::all()
                .into_iter()
                .map(|cell| {
                    let differs = [cell.django.as_str(), cell.server.as_str()].contains(&differ);
                    record(cell, if differs { &other } else { &same }, "x")
                })
                .collect();
            store.write(&scenario, &records, true).unwrap();
            let names: Vec<String> = store
                .all_paths("cookies/a")
                .into_iter()
                .filter(|path| path.exists())
                .map(|path| {
                    path.strip_prefix(dir.path().join("snapshots"))
                        .unwrap()
                        .display()
                        .to_string()
                })
                .collect();
            assert_eq!(names, ["cookies/a.snap", file]);
            for cell in Cell::all() {
                let expected = if records.iter().any(|r| r.cell == cell && r.steps == other) {
                    &other
                } else {
                    &same
                };
                assert_eq!(
                    &store.read("cookies/a", cell).unwrap().unwrap().steps,
                    expected
                );
            }
        }
    }

    #[test]
    fn a_change_waits_for_review_and_acceptance_clears_it() {
        let dir = tempfile::tempdir().unwrap();
        let scenario = scenario(dir.path(), "a", "[[step]]\npath = \"/\"\n");
        let store = SnapshotStore::new(dir.path().join("snapshots"));
        let (first, second) = (vec![json!({"status": 200})], vec![json!({"status": 500})]);
        let both = |steps: &[Value]| {
            [Cell::REFERENCE, UVICORN_61].map(|cell| record(cell, steps, "5.2.19"))
        };
        store.write(&scenario, &both(&first), true).unwrap();
        let pending = store.path("cookies/a").with_extension("snap.new");
        let written = store.write(&scenario, &both(&second), false).unwrap();
        assert_eq!(
            written[0],
            (Cell::REFERENCE, Written::Pending(pending.clone()))
        );
        assert_eq!(
            store
                .read("cookies/a", Cell::REFERENCE)
                .unwrap()
                .unwrap()
                .steps,
            first
        );
        assert!(pending.exists());
        store.write(&scenario, &both(&second), true).unwrap();
        assert!(!pending.exists(), "accepting removes the pending file");
        assert_eq!(
            store.read("cookies/a", UVICORN_61).unwrap().unwrap().steps,
            second
        );
    }

    #[test]
    fn a_failed_write_names_the_real_cause() {
        let dir = tempfile::tempdir().unwrap();
        let scenario = scenario(dir.path(), "a", "[[step]]\npath = \"/\"\n");
        // A file where the snapshots' topic folder should be.
        std::fs::create_dir_all(dir.path().join("snapshots")).unwrap();
        std::fs::write(dir.path().join("snapshots/cookies"), "in the way").unwrap();
        let store = SnapshotStore::new(dir.path().join("snapshots"));
        let error = store
            .write(
                &scenario,
                &[record(Cell::REFERENCE, &[json!({})], "5.2.19")],
                true,
            )
            .unwrap_err();
        assert!(error.contains("snapshots/cookies/a.snap"), "{error}");
        assert!(!error.contains("INSTA"), "{error}");
    }
}
