//! The known-divergence ledger (`<scenarios>/known-divergences.toml`): differences between Django
//! and the Rust app that are known, each with a class and a reason. An entry that no longer
//! matches anything fails the run, so the ledger cannot rot.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::cell::Cell;
use super::diff::Difference;
use super::path::FieldGlob;
use super::scenario::{IdGlob, LEDGER_FILE, Origin, ScenarioError, line_of, parse_toml, read};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DivergenceClass {
    /// The Rust app is wrong and should be fixed.
    Bug,
    /// The Rust app differs on purpose.
    Intentional,
    /// The Rust app does not implement this yet.
    Unimplemented,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LedgerFile {
    #[serde(default, rename = "divergence")]
    entries: Vec<Spanned<EntryFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryFile {
    scenario: String,
    /// Only these cells (`5.2/uvicorn`); every cell when absent.
    #[serde(default)]
    cells: Option<Vec<String>>,
    step: Option<usize>,
    field: String,
    class: DivergenceClass,
    reason: String,
}

#[derive(Debug, Clone)]
pub struct Entry {
    /// A scenario id; `*` matches within one path segment (`cookies/*`).
    pub scenario: String,
    scenario_pattern: IdGlob,
    /// The cells it applies to; `None` for every cell.
    pub cells: Option<Vec<Cell>>,
    pub step: Option<usize>,
    pub field: FieldGlob,
    pub class: DivergenceClass,
    pub reason: String,
    pub origin: Origin,
}

impl Entry {
    pub fn covers_scenario(&self, id: &str) -> bool {
        self.scenario_pattern.matches(id)
    }

    /// Whether it is about scenario `id` in `cell`.
    pub fn covers(&self, id: &str, cell: Cell) -> bool {
        self.covers_scenario(id)
            && self
                .cells
                .as_ref()
                .is_none_or(|cells| cells.contains(&cell))
    }

    pub fn explains(&self, id: &str, cell: Cell, difference: &Difference) -> bool {
        self.covers(id, cell)
            && self.step.is_none_or(|s| s == difference.step)
            && self.field.matches(&difference.path)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Ledger {
    pub entries: Vec<Entry>,
}

impl Ledger {
    pub fn load(roots: &[PathBuf]) -> Result<Ledger, ScenarioError> {
        let mut entries = Vec::new();
        for root in roots {
            let file = root.join(LEDGER_FILE);
            if file.exists() {
                entries.extend(load_file(&file)?);
            }
        }
        Ok(Ledger { entries })
    }

    /// The first entry that explains `difference` in scenario `id` in `cell`.
    pub fn explain(&self, id: &str, cell: Cell, difference: &Difference) -> Option<usize> {
        self.entries
            .iter()
            .position(|entry| entry.explains(id, cell, difference))
    }
}

fn load_file(file: &Path) -> Result<Vec<Entry>, ScenarioError> {
    let source = read(file)?;
    let parsed: LedgerFile = parse_toml(file, &source)?;
    parsed
        .entries
        .into_iter()
        .map(|spanned| {
            let origin = Origin {
                file: file.to_owned(),
                line: line_of(&source, spanned.span().start),
            };
            let entry = spanned.into_inner();
            let fail = |message: String| ScenarioError {
                file: file.to_owned(),
                line: Some(origin.line),
                message,
            };
            if entry.reason.trim().is_empty() {
                return Err(fail("a ledger entry needs a reason".to_owned()));
            }
            let field = FieldGlob::parse(&entry.field).map_err(|e| fail(e.to_string()))?;
            let cells = entry
                .cells
                .map(|names| {
                    names
                        .iter()
                        .map(|name| {
                            Cell::parse(name).ok_or_else(|| {
                                fail(format!(
                                    "cells: {name:?} is no cell (cells are written like {})",
                                    Cell::all()
                                        .iter()
                                        .map(|c| format!("\"{c}\""))
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ))
                            })
                        })
                        .collect::<Result<Vec<Cell>, ScenarioError>>()
                })
                .transpose()?;
            Ok(Entry {
                scenario_pattern: IdGlob::new(&entry.scenario),
                cells,
                scenario: entry.scenario,
                step: entry.step,
                field,
                class: entry.class,
                reason: entry.reason,
                origin,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::path::FieldPath;

    fn ledger(text: &str) -> Result<Ledger, ScenarioError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LEDGER_FILE), text).unwrap();
        Ledger::load(&[dir.path().to_owned()])
    }

    fn difference(step: usize, path: &str) -> Difference {
        let glob_path = FieldGlob::parse(path).unwrap();
        let segments = path
            .split('.')
            .map(|k| crate::harness::path::Segment::Key(k.to_owned()))
            .collect();
        let path = FieldPath(segments);
        assert!(glob_path.matches(&path));
        Difference {
            step,
            path,
            key_order: false,
            expected: None,
            actual: None,
        }
    }

    #[test]
    fn entries_match_scenario_step_and_field() {
        let ledger = ledger("[[divergence]]\nscenario = \"cookies/*\"\nstep = 2\nfield = \"body.**\"\nclass = \"bug\"\nreason = \"r\"\n").unwrap();
        let cell = Cell::REFERENCE;
        assert_eq!(
            ledger.explain("cookies/a", cell, &difference(2, "body.x")),
            Some(0)
        );
        assert_eq!(
            ledger.explain("cookies/a", cell, &difference(1, "body.x")),
            None
        );
        assert_eq!(
            ledger.explain("cookies/a", cell, &difference(2, "status")),
            None
        );
        assert_eq!(
            ledger.explain("sessions/a", cell, &difference(2, "body.x")),
            None
        );
        assert_eq!(ledger.entries[0].origin.line, 1);
    }

    #[test]
    fn an_entry_with_cells_explains_only_those() {
        let entries = ledger("[[divergence]]\nscenario = \"cookies/a\"\ncells = [\"5.2/uvicorn\", \"6.1/uvicorn\"]\nfield = \"status\"\nclass = \"unimplemented\"\nreason = \"r\"\n").unwrap();
        for cell in Cell::all() {
            let explained = entries.explain("cookies/a", cell, &difference(1, "status"));
            assert_eq!(
                explained.is_some(),
                cell.server == crate::harness::cell::Server::Uvicorn,
                "{cell}"
            );
        }
        let err = ledger("[[divergence]]\nscenario = \"a/b\"\ncells = [\"5.2\"]\nfield = \"status\"\nclass = \"bug\"\nreason = \"r\"\n").unwrap_err();
        assert!(err.message.contains("\"5.2\" is no cell"), "{err}");
        assert!(err.message.contains("\"6.1/uvicorn\""), "{err}");
    }

    #[test]
    fn bad_entries_name_their_line() {
        let err = ledger("[[divergence]]\nscenario = \"a/b\"\nfield = \"status\"\nclass = \"wrong\"\nreason = \"r\"\n").unwrap_err();
        assert_eq!(err.line, Some(4), "{err}");
        let err = ledger("[[divergence]]\nscenario = \"a/b\"\nfield = \"status\"\nclass = \"bug\"\nreason = \"\"\n").unwrap_err();
        assert!(err.message.contains("reason"));
    }
}
