//! The pinned Python environment for a local Django release: a Python that release runs on (and
//! that passes `check_python.py`), and a venv built once from `requirements-<release>.txt`,
//! cached under a key of the interpreter and the pins, so it is reused while neither changes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use super::TargetError;
use super::logged::run_logged;
use crate::harness::progress::{Phase, Progress};
use crate::reference::DjangoVersion;

/// The pinned requirements of `version`'s venv and image, in the Django project.
pub fn requirements_file(version: DjangoVersion) -> String {
    format!("requirements-{version}.txt")
}

/// The Python minor versions `version` runs on here, preferred first: 5.2's snapshots come from
/// Debian bookworm's 3.11; Django 6.1 needs 3.12 or newer (Debian trixie has 3.13).
pub fn python_minors(version: DjangoVersion) -> &'static [&'static str] {
    match version {
        DjangoVersion::V5_2 => &["3.11"],
        DjangoVersion::V6_1 => &["3.13", "3.12"],
    }
}

/// The environment variable that names the interpreter for `version`: `DJC_PYTHON_5_2`.
pub fn python_variable(version: DjangoVersion) -> String {
    format!("DJC_PYTHON_{}", version.as_str().replace('.', "_"))
}

/// Where venvs are cached: `$DJC_CACHE_DIR`, else `$XDG_CACHE_HOME/django-conformance`, else
/// `~/.cache/django-conformance`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DJC_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("django-conformance")
}

/// A ready venv with Django and gunicorn installed.
#[derive(Debug, Clone, PartialEq)]
pub struct PythonEnv {
    /// The venv's interpreter.
    pub python: PathBuf,
    /// The interpreter's full version, e.g. `3.11.7`.
    pub python_version: String,
}

/// An interpreter fit for the local Django: the pinned minor version, and it passes
/// `check_python.py`.
#[derive(Debug, Clone, PartialEq)]
pub struct Python {
    pub path: PathBuf,
    /// Its full version, e.g. `3.11.2`.
    pub version: String,
}

impl PythonEnv {
    /// The venv for `python` and the pins of `django_dir`, built if it is not cached yet.
    /// Blocking: building takes a while the first time, shown as a phase of `progress`.
    pub fn ensure(
        django_dir: &Path,
        version: DjangoVersion,
        python: &Python,
        progress: &Progress,
    ) -> Result<PythonEnv, TargetError> {
        let requirements = django_dir.join(requirements_file(version));
        let pins = std::fs::read(&requirements).map_err(|e| {
            TargetError(format!(
                "cannot read {}: {e} (is --django-dir right?)",
                requirements.display()
            ))
        })?;
        let key = hex_prefix(&Sha256::digest(
            [pins.as_slice(), python.path.as_os_str().as_encoded_bytes()].concat(),
        ));
        let venvs = cache_dir().join("venvs");
        let venv = venvs.join(format!("django{version}-py{}-{key}", python.version));
        std::fs::create_dir_all(&venvs)
            .map_err(|e| TargetError(format!("cannot create {}: {e}", venvs.display())))?;
        let _lock = FileLock::acquire(&venvs.join(".lock"))?;
        if !venv.exists() {
            let phase = progress.phase(format!(
                "building the Django {version} environment (once, in {}, Python {})",
                venv.display(),
                python.version
            ));
            // Built aside and renamed into place: a build cut off by a signal leaves only its
            // own folder, never a half-built venv at the final path.
            let aside = venv.with_file_name(format!(
                "{}.building-{}",
                file_name(&venv),
                std::process::id()
            ));
            let log = venv.with_file_name(format!("{}.build.log", file_name(&venv)));
            build(&python.path, &aside, &requirements, &log, &phase)?;
            std::fs::rename(&aside, &venv).map_err(|e| {
                TargetError(format!(
                    "cannot move {} to {}: {e}",
                    aside.display(),
                    venv.display()
                ))
            })?;
            phase.done();
        }
        Ok(PythonEnv {
            python: venv.join("bin").join("python"),
            python_version: python.version.clone(),
        })
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

fn hex_prefix(digest: &[u8]) -> String {
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

fn python_version_of(command: &Path) -> Option<String> {
    let output = Command::new(command)
        .args(["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The interpreter for a local Django `version`: `$DJC_PYTHON_<version>` (`DJC_PYTHON_5_2`), else
/// the first of `/usr/bin/python<v>` (the distribution's build, which security fixes reach) and
/// `python<v>` on the PATH, for each minor version `v` it runs on, that passes `check_python.py`.
/// The error names each interpreter passed over and why.
pub fn find_python(django_dir: &Path, version: DjangoVersion) -> Result<Python, TargetError> {
    let minors = python_minors(version);
    let variable = python_variable(version);
    let candidates: Vec<PathBuf> = match std::env::var_os(&variable) {
        Some(explicit) => vec![PathBuf::from(explicit)],
        None => minors
            .iter()
            .flat_map(|minor| {
                [
                    PathBuf::from(format!("/usr/bin/python{minor}")),
                    PathBuf::from(format!("python{minor}")),
                ]
            })
            .collect(),
    };
    let mut refused = Vec::new();
    for candidate in candidates {
        match check_candidate(&candidate, django_dir, minors) {
            Ok(version) => {
                return Ok(Python {
                    path: candidate,
                    version,
                });
            }
            Err(why) => refused.push(format!("{}: {why}", candidate.display())),
        }
    }
    Err(TargetError(format!(
        "no Python fit for a local Django {version} (Python {} that passes \
         check_python.py; {variable} names one):\n  {}",
        minors.join(" or "),
        refused.join("\n  ")
    )))
}

fn check_candidate(python: &Path, django_dir: &Path, minors: &[&str]) -> Result<String, String> {
    let version = python_version_of(python).ok_or("not found, or does not run")?;
    if !minors
        .iter()
        .any(|minor| version.starts_with(&format!("{minor}.")))
    {
        return Err(format!("is Python {version}"));
    }
    let check = Command::new(python)
        .arg(django_dir.join("check_python.py"))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if !check.status.success() {
        return Err(String::from_utf8_lossy(&check.stdout).trim().to_owned());
    }
    Ok(version)
}

/// A venv at `venv` (a fresh path) with the pinned requirements. The venv runs its Python with
/// `-m`, never its scripts (whose `#!` lines name this path), so it can be moved afterwards.
fn build(
    interpreter: &Path,
    venv: &Path,
    requirements: &Path,
    log_path: &Path,
    phase: &Phase,
) -> Result<(), TargetError> {
    let venv_python = venv.join("bin").join("python");
    let steps: [(&Path, Vec<&std::ffi::OsStr>); 2] = [
        (
            interpreter,
            vec!["-m".as_ref(), "venv".as_ref(), venv.as_os_str()],
        ),
        (
            &venv_python,
            vec![
                "-m".as_ref(),
                "pip".as_ref(),
                "install".as_ref(),
                "--no-input".as_ref(),
                "-r".as_ref(),
                requirements.as_os_str(),
            ],
        ),
    ];
    for (program, args) in steps {
        let mut command = Command::new(program);
        command
            .args(&args)
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1");
        // This thread waits for the build, so pip ends with djc, not after it.
        super::django_local::die_with_parent(&mut command);
        run_logged(&mut command, phase, log_path).map_err(|why| {
            TargetError(format!(
                "building the Django environment failed ({} {}): {why}",
                program.display(),
                args.iter()
                    .map(|a| a.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" "),
            ))
        })?;
    }
    Ok(())
}

/// An exclusive `flock` on a file, so two djc processes never build the same venv at once.
struct FileLock(std::fs::File);

impl FileLock {
    fn acquire(path: &Path) -> Result<FileLock, TargetError> {
        let file = std::fs::File::create(path)
            .map_err(|e| TargetError(format!("cannot create {}: {e}", path.display())))?;
        file.lock()
            .map_err(|e| TargetError(format!("cannot lock {}: {e}", path.display())))?;
        Ok(FileLock(file))
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}
