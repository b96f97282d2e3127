//! Files djc reads and writes. Reads are bounded: only regular files of a limited size, so a
//! scenario naming `/dev/zero` or a named pipe is refused rather than read forever. Writes are
//! whole or not at all: a temporary file beside the target, synced, then renamed over it, so a
//! full disk or a signal never leaves a cut file and an error leaves the previous one intact.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Scenario files, fragments, `profiles.toml` and the ledger: far above any real one.
pub const MAX_TOML_BYTES: u64 = 1024 * 1024;
/// A snapshot holds every step's record, bodies included.
pub const MAX_SNAPSHOT_BYTES: u64 = 64 * 1024 * 1024;

/// Why a file was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("it does not exist")]
    NotFound,
    #[error("it is not a regular file (a folder, device or pipe is never read)")]
    NotAFile,
    #[error("it is larger than {limit} bytes, the limit for this kind of file")]
    TooLarge { limit: u64 },
    #[error("it is not UTF-8 text")]
    NotText,
    #[error("{0}")]
    Io(String),
}

/// Whether `path` is a regular file of at most `limit` bytes: checked before opening, because
/// opening a named pipe would already block.
pub fn check_readable(path: &Path, limit: u64) -> Result<u64, ReadError> {
    let metadata = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ReadError::NotFound,
        _ => ReadError::Io(e.to_string()),
    })?;
    if !metadata.is_file() {
        return Err(ReadError::NotAFile);
    }
    if metadata.len() > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(metadata.len())
}

/// The text of the regular file at `path`, if it holds at most `limit` bytes.
pub fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    let length = check_readable(path, limit)?;
    let file = std::fs::File::open(path).map_err(|e| ReadError::Io(e.to_string()))?;
    let mut bytes = Vec::with_capacity(length as usize);
    // The file may grow between the check and the read: never take more than the limit.
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ReadError::Io(e.to_string()))?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    String::from_utf8(bytes).map_err(|_| ReadError::NotText)
}

/// A file that could not be written, and the real cause.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {cause}", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    pub cause: std::io::Error,
}

/// Writes `bytes` to `path` whole or not at all.
pub fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_whole_with(path, bytes, |file, bytes| file.write_all(bytes))
}

/// [`write_whole`] with the filling of the temporary file given, so tests can make it fail.
fn write_whole_with(
    path: &Path,
    bytes: &[u8],
    fill: impl FnOnce(&mut File, &[u8]) -> std::io::Result<()>,
) -> Result<(), WriteError> {
    let mut whole = WholeFile::create(path)?;
    let filled = whole
        .file
        .flush()
        .and_then(|()| fill(whole.file.get_mut(), bytes));
    filled.map_err(|cause| whole.failed(cause))?;
    whole.commit()
}

/// A file written in pieces that appears at its path only once [`WholeFile::commit`] succeeds;
/// until then it is a temporary file beside that path, removed if the writing stops.
pub struct WholeFile {
    path: PathBuf,
    temporary: PathBuf,
    file: BufWriter<File>,
    committed: bool,
}

impl WholeFile {
    pub fn create(path: &Path) -> Result<WholeFile, WriteError> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let failed = |cause| WriteError {
            path: path.to_owned(),
            cause,
        };
        let folder = folder_of(path);
        std::fs::create_dir_all(folder).map_err(failed)?;
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let temporary = folder.join(format!(
            ".{name}.{}-{}.tmp",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let file = File::create_new(&temporary).map_err(failed)?;
        Ok(WholeFile {
            path: path.to_owned(),
            temporary,
            file: BufWriter::new(file),
            committed: false,
        })
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        self.file
            .write_all(bytes)
            .map_err(|cause| self.failed(cause))
    }

    /// Puts the file in place: written out, synced, renamed over whatever was there.
    pub fn commit(mut self) -> Result<(), WriteError> {
        let written = self
            .file
            .flush()
            .and_then(|()| self.file.get_ref().sync_all())
            .and_then(|()| std::fs::rename(&self.temporary, &self.path));
        written.map_err(|cause| self.failed(cause))?;
        self.committed = true;
        // The rename itself reaches the disk with the folder's entry.
        if let Ok(folder) = File::open(folder_of(&self.path)) {
            let _ = folder.sync_all();
        }
        Ok(())
    }

    fn failed(&self, cause: std::io::Error) -> WriteError {
        WriteError {
            path: self.path.clone(),
            cause,
        }
    }
}

impl Drop for WholeFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
}

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_regular_files_within_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.toml");
        std::fs::write(&file, "x = 1\n").unwrap();
        assert_eq!(read_text(&file, 100).unwrap(), "x = 1\n");
        assert_eq!(read_text(&file, 3), Err(ReadError::TooLarge { limit: 3 }));
        assert_eq!(
            read_text(&dir.path().join("missing"), 3),
            Err(ReadError::NotFound)
        );
        std::fs::write(&file, b"\xff").unwrap();
        assert_eq!(read_text(&file, 3), Err(ReadError::NotText));
    }

    #[test]
    fn devices_pipes_and_folders_are_refused_without_reading() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_text(dir.path(), 100), Err(ReadError::NotAFile));
        assert_eq!(
            read_text(Path::new("/dev/zero"), MAX_TOML_BYTES),
            Err(ReadError::NotAFile)
        );
        let fifo = dir.path().join("pipe.toml");
        let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: mkfifo(3) with a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        assert_eq!(read_text(&fifo, 100), Err(ReadError::NotAFile));
    }

    #[test]
    fn a_write_that_fails_part_way_leaves_the_previous_file_intact() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.snap");
        std::fs::write(&file, "the accepted snapshot\n").unwrap();
        let new = vec![b'x'; 10_000];
        let error = write_whole_with(&file, &new, |file, bytes| {
            file.write_all(&bytes[..4096])?;
            Err(std::io::Error::from_raw_os_error(libc::ENOSPC))
        })
        .unwrap_err();
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "the accepted snapshot\n"
        );
        let message = error.to_string();
        assert!(message.contains("a.snap"), "{message}");
        assert!(message.contains("No space left on device"), "{message}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file is left behind");
        write_whole(&file, &new).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), new);
    }

    #[test]
    fn an_unwritable_folder_is_named_with_the_real_cause() {
        let dir = tempfile::tempdir().unwrap();
        let blocked = dir.path().join("blocked");
        std::fs::write(&blocked, "a file where a folder should be").unwrap();
        let error = write_whole(&blocked.join("x.snap"), b"x").unwrap_err();
        assert!(error.to_string().contains("blocked/x.snap"), "{error}");
        assert!(error.to_string().contains("File exists"), "{error}");
    }
}
