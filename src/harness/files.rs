//! Files djc reads and writes. Reads are bounded: only regular files of a limited size, so a
//! scenario naming `/dev/zero` or a named pipe is refused rather than read forever.

use std::io::Read;
use std::path::Path;

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

/// The text of the regular file at `path`, if it holds at most `limit` bytes.
pub fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    let metadata = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ReadError::NotFound,
        _ => ReadError::Io(e.to_string()),
    })?;
    // Checked before opening: opening a named pipe would already block.
    if !metadata.is_file() {
        return Err(ReadError::NotAFile);
    }
    if metadata.len() > limit {
        return Err(ReadError::TooLarge { limit });
    }
    let file = std::fs::File::open(path).map_err(|e| ReadError::Io(e.to_string()))?;
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    // The file may grow between the check and the read: never take more than the limit.
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ReadError::Io(e.to_string()))?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    String::from_utf8(bytes).map_err(|_| ReadError::NotText)
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
}
