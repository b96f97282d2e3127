//! The oracle matrix: a cell is one Django release under one server. Both change what a client
//! sees, so each cell has its own truth (its snapshots) and the Rust app emulates each.

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

pub use crate::app::Server;
pub use crate::reference::DjangoVersion;

/// One Django under one server: `5.2/gunicorn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cell {
    pub django: DjangoVersion,
    pub server: Server,
}

impl Cell {
    /// The cell whose record a snapshot file without a cell suffix holds when it can: today's
    /// baseline, Django 5.2 LTS under gunicorn.
    pub const REFERENCE: Cell = Cell {
        django: DjangoVersion::V5_2,
        server: Server::Gunicorn,
    };

    /// Every cell, in matrix order (version, then server).
    pub fn all() -> Vec<Cell> {
        matrix(&DjangoVersion::ALL, &Server::ALL)
    }

    /// `5.2-gunicorn`: the cell as part of a file name.
    pub fn file_tag(self) -> String {
        format!("{}-{}", self.django, self.server)
    }

    /// `5.2/gunicorn`, or a file tag, back to a cell.
    pub fn parse(text: &str) -> Option<Cell> {
        let (django, server) = text.split_once(['/', '-'])?;
        Some(Cell {
            django: DjangoVersion::parse(django)?,
            server: Server::parse(server)?,
        })
    }
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.django, self.server)
    }
}

/// As the report gives a result's cell: `{"django_version": "5.2", "server": "gunicorn"}`.
impl Serialize for Cell {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = serializer.serialize_struct("Cell", 2)?;
        fields.serialize_field("django_version", self.django.as_str())?;
        fields.serialize_field("server", self.server.as_str())?;
        fields.end()
    }
}

/// Every pairing of `versions` with `servers`, in matrix order, without repeats.
pub fn matrix(versions: &[DjangoVersion], servers: &[Server]) -> Vec<Cell> {
    let mut cells: Vec<Cell> = versions
        .iter()
        .flat_map(|&django| servers.iter().map(move |&server| Cell { django, server }))
        .collect();
    cells.sort();
    cells.dedup();
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_is_every_version_under_every_server_in_order() {
        let all: Vec<String> = Cell::all().iter().map(Cell::to_string).collect();
        assert_eq!(
            all,
            ["5.2/gunicorn", "5.2/uvicorn", "6.1/gunicorn", "6.1/uvicorn"]
        );
        assert_eq!(
            matrix(
                &[DjangoVersion::V6_1, DjangoVersion::V6_1],
                &[Server::Uvicorn]
            ),
            [Cell {
                django: DjangoVersion::V6_1,
                server: Server::Uvicorn
            }]
        );
    }

    #[test]
    fn cells_read_back_from_their_names_and_file_tags() {
        for cell in Cell::all() {
            assert_eq!(Cell::parse(&cell.to_string()), Some(cell));
            assert_eq!(Cell::parse(&cell.file_tag()), Some(cell));
        }
        assert_eq!(
            Cell::parse("6.1.3/uvicorn").unwrap().django,
            DjangoVersion::V6_1
        );
        for bad in ["5.2", "5.2/daphne", "7.0/gunicorn", ""] {
            assert_eq!(Cell::parse(bad), None, "{bad}");
        }
    }
}
