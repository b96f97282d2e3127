//! The images a containerised Django needs, made ready before Docker is chosen: the base the
//! Django image is built from, Redis and memcached. What the machine lacks is made: pulled when
//! a registry answers, else built from Debian's packages by the project's own script, once. The
//! Django image is built from `django_reference/` once per change of it, and older builds of it
//! are removed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use testcontainers::GenericBuildableImage;
use testcontainers::bollard::Docker;
use testcontainers::bollard::query_parameters::{
    CreateImageOptionsBuilder, ListImagesOptionsBuilder, RemoveImageOptionsBuilder,
};
use testcontainers::runners::AsyncBuilder;

use super::TargetError;
use super::logged::run_logged;
use crate::harness::progress::Progress;
use crate::reference::DjangoVersion;

/// The image `django_reference/build-offline-base.sh <version>` makes from Debian's packages:
/// bookworm (Python 3.11) for Django 5.2, trixie (Python 3.13) for 6.1. Each has Redis and
/// memcached too.
pub fn offline_base_image(version: DjangoVersion) -> String {
    let suite = match version {
        DjangoVersion::V5_2 => "bookworm",
        DjangoVersion::V6_1 => "trixie",
    };
    format!("django-conformance-base:{suite}")
}
/// The repository of the Django images djc builds, tagged with a digest of the project.
pub const DJANGO_IMAGE: &str = "django-conformance-django";
/// How many Django images of one Django version are kept: the newest, and the one before
/// (another checkout's).
const KEPT_DJANGO_IMAGES: usize = 2;

/// The images a run uses: the base the Django image is built from, and the two stores.
#[derive(Debug, Clone, PartialEq)]
pub struct Images {
    pub base: String,
    pub redis: String,
    pub memcached: String,
}

impl Images {
    fn all(image: &str) -> Images {
        Images {
            base: image.to_owned(),
            redis: image.to_owned(),
            memcached: image.to_owned(),
        }
    }

    /// The official images, which need a registry.
    fn official(version: DjangoVersion) -> Images {
        let python = match version {
            DjangoVersion::V5_2 => "3.11",
            DjangoVersion::V6_1 => "3.13",
        };
        Images {
            base: format!("python:{python}-slim"),
            redis: "redis:7.4-alpine".into(),
            memcached: "memcached:1.6-alpine".into(),
        }
    }

    fn names(&self) -> [&str; 3] {
        [&self.base, &self.redis, &self.memcached]
    }
}

/// A Docker API client at the engine's own version, for what testcontainers does not do.
pub(crate) async fn engine_client() -> Option<Docker> {
    let docker = Docker::connect_with_defaults().ok()?;
    docker.negotiate_version().await.ok()
}

async fn exists(docker: &Docker, image: &str) -> bool {
    docker.inspect_image(image).await.is_ok()
}

/// The variable that names the base image of Django `version`: `DJC_BASE_IMAGE_5_2`.
pub fn base_image_variable(version: DjangoVersion) -> String {
    format!("DJC_BASE_IMAGE_{}", version.as_str().replace('.', "_"))
}

/// Makes sure the images of Django `version` exist, and says which ones: its
/// `DJC_BASE_IMAGE_<version>`, `DJC_REDIS_IMAGE` and `DJC_MEMCACHED_IMAGE` when set; else its
/// offline base image for all three when it exists (it has Redis and memcached too; the wheels
/// of `version` are fetched first if this checkout lacks them); else the
/// official images, pulled if a registry answers; else the offline base image, built now with
/// `build-offline-base.sh`.
pub async fn ensure_images(
    django_dir: &Path,
    version: DjangoVersion,
    progress: &Progress,
) -> Result<Images, TargetError> {
    let docker = engine_client()
        .await
        .ok_or_else(|| TargetError("the Docker engine does not answer".into()))?;
    let chosen = |variable: &str| std::env::var(variable).ok();
    if let (Some(base), redis, memcached) = (
        chosen(&base_image_variable(version)),
        chosen("DJC_REDIS_IMAGE"),
        chosen("DJC_MEMCACHED_IMAGE"),
    ) {
        let fallback = Images::official(version);
        let images = Images {
            base,
            redis: redis.unwrap_or(fallback.redis),
            memcached: memcached.unwrap_or(fallback.memcached),
        };
        pull_missing(&docker, &images, progress).await?;
        return Ok(images);
    }
    let offline_image = offline_base_image(version);
    if exists(&docker, &offline_image).await {
        if !has_wheels(django_dir, version) {
            // The image came from another checkout: this one still needs the wheels the Django
            // image installs from, with no network inside the container. The script fetches
            // them and leaves the image as it is.
            run_offline_base_script(django_dir, version, OfflineStep::Wheels, progress)
                .await
                .map_err(|why| {
                    TargetError(format!(
                        "the wheels of Django {version} for {offline_image} could not be \
                         downloaded: {why}"
                    ))
                })?;
        }
        return Ok(Images::all(&offline_image));
    }
    let official = Images::official(version);
    let pulled = pull_missing(&docker, &official, progress).await;
    if pulled.is_ok() {
        return Ok(official);
    }
    let offline =
        run_offline_base_script(django_dir, version, OfflineStep::BaseImage, progress).await;
    match (pulled, offline) {
        (_, Ok(())) => Ok(Images::all(&offline_image)),
        (Err(pull), Err(build)) => Err(TargetError(format!(
            "the images Django needs are missing: pulling them failed ({pull}), and building the \
             offline base image failed: {build}"
        ))),
        (Ok(()), Err(_)) => unreachable!("a successful pull returned above"),
    }
}

/// Pulls the images of `images` the engine does not have.
async fn pull_missing(
    docker: &Docker,
    images: &Images,
    progress: &Progress,
) -> Result<(), TargetError> {
    let mut missing = Vec::new();
    for image in images.names() {
        if !exists(docker, image).await && !missing.contains(&image) {
            missing.push(image);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let phase = progress.phase(format!("pulling {}", missing.join(", ")));
    for image in missing {
        let (repository, tag) = split_image(image);
        let options = CreateImageOptionsBuilder::new()
            .from_image(repository)
            .tag(tag)
            .build();
        let mut pulling = docker.create_image(Some(options), None, None);
        while let Some(step) = pulling.next().await {
            let step = step.map_err(|e| TargetError(format!("pulling {image}: {e}")))?;
            if let Some(status) = step.status {
                phase.detail(&format!("{image}: {status}"));
            }
        }
    }
    phase.done();
    Ok(())
}

/// Whether `django_dir` holds the wheels of `version` that `build-offline-base.sh` downloads.
fn has_wheels(django_dir: &Path, version: DjangoVersion) -> bool {
    std::fs::read_dir(django_dir.join("wheels").join(version.as_str()))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .any(|entry| entry.path().extension().is_some_and(|ext| ext == "whl"))
        })
        .unwrap_or(false)
}

/// What `build-offline-base.sh` is run for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OfflineStep {
    /// The base image (debootstrap from the host's Debian mirror, then `docker import`: root,
    /// about a minute, once), and the wheels.
    BaseImage,
    /// Only the wheels: the image exists already, and the script leaves it alone.
    Wheels,
}

/// Runs `build-offline-base.sh <version>` of `django_dir`.
async fn run_offline_base_script(
    django_dir: &Path,
    version: DjangoVersion,
    step: OfflineStep,
    progress: &Progress,
) -> Result<(), String> {
    // SAFETY: geteuid(2) has no preconditions.
    if step == OfflineStep::BaseImage && unsafe { libc::geteuid() } != 0 {
        return Err("building it needs root (debootstrap); run \
                    django_reference/build-offline-base.sh as root once"
            .into());
    }
    let script = django_dir.join("build-offline-base.sh");
    let log = std::env::temp_dir().join(format!(
        "djc-offline-base-{version}-{}.log",
        std::process::id()
    ));
    let phase = progress.phase(match step {
        OfflineStep::BaseImage => format!(
            "building the offline base image of Django {version} from Debian's packages (once, \
             about a minute)"
        ),
        OfflineStep::Wheels => {
            format!("downloading the wheels of Django {version} for its image (once per checkout)")
        }
    });
    let built = tokio::task::spawn_blocking(move || {
        let mut command = std::process::Command::new("bash");
        command.arg(&script).arg(version.as_str());
        super::django_local::die_with_parent(&mut command);
        run_logged(&mut command, &phase, &log).map(|()| phase)
    })
    .await
    .map_err(|e| e.to_string())??;
    built.done();
    Ok(())
}

/// Builds the Django image from `django_dir` on `base` unless this version of the project was
/// built already, and removes older builds beyond the newest few. Its name and tag.
pub async fn ensure_django_image(
    django_dir: &Path,
    version: DjangoVersion,
    base: &str,
    progress: &Progress,
) -> Result<String, TargetError> {
    let digest = context_digest(django_dir, &format!("{base} {version}"))
        .map_err(|e| TargetError(format!("cannot read {}: {e}", django_dir.display())))?;
    let tag = format!("{version}-{digest}");
    let image = format!("{DJANGO_IMAGE}:{tag}");
    let docker = engine_client()
        .await
        .ok_or_else(|| TargetError("the Docker engine does not answer".into()))?;
    if exists(&docker, &image).await {
        return Ok(image);
    }
    let phase = progress.phase(format!(
        "building the Django {version} image {image} (once per change of {})",
        django_dir.display()
    ));
    // The built image is found again by its tag when each profile starts.
    let _built = GenericBuildableImage::new(DJANGO_IMAGE, &tag)
        .with_dockerfile(django_dir.join("Dockerfile"))
        .with_file(django_dir, ".")
        .build_image_with(
            testcontainers::core::BuildImageOptions::new()
                .with_skip_if_exists(true)
                .with_build_arg("BASE_IMAGE", base)
                .with_build_arg("DJANGO_VERSION", version.as_str()),
        )
        .await
        .map_err(|e| {
            TargetError(format!(
                "building the Django image from {} on {base} failed: {e}",
                django_dir.display()
            ))
        })?;
    phase.done();
    remove_older_django_images(&docker, version, &image).await;
    Ok(image)
}

/// Keeps the newest few Django images of `version` (tagged `<version>-…`, the one just built
/// among them); an image a running container still uses stays.
async fn remove_older_django_images(docker: &Docker, version: DjangoVersion, keep: &str) {
    let filters = HashMap::from([("reference", vec![DJANGO_IMAGE.to_owned()])]);
    let Ok(mut images) = docker
        .list_images(Some(
            ListImagesOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
    else {
        return;
    };
    images.sort_by_key(|image| std::cmp::Reverse(image.created));
    let of_version = format!("{DJANGO_IMAGE}:{version}-");
    images.retain(|image| {
        image
            .repo_tags
            .iter()
            .any(|name| name.starts_with(&of_version))
    });
    let mut others_kept = 0;
    for image in images {
        if image.repo_tags.iter().any(|name| name == keep) {
            continue;
        }
        if others_kept < KEPT_DJANGO_IMAGES - 1 {
            others_kept += 1;
            continue;
        }
        for name in &image.repo_tags {
            let _ = docker
                .remove_image(name, Some(RemoveImageOptionsBuilder::new().build()), None)
                .await;
        }
    }
}

/// Every image djc made: the Django images and the offline base images.
pub async fn remove_all(docker: &Docker) -> Vec<String> {
    let mut removed = Vec::new();
    let filters = HashMap::from([("reference", vec![DJANGO_IMAGE.to_owned()])]);
    let listed = docker
        .list_images(Some(
            ListImagesOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
        .unwrap_or_default();
    let names = listed
        .into_iter()
        .flat_map(|image| image.repo_tags)
        .chain(DjangoVersion::ALL.map(offline_base_image));
    for name in names {
        let options = RemoveImageOptionsBuilder::new().force(true).build();
        if docker
            .remove_image(&name, Some(options), None)
            .await
            .is_ok()
        {
            removed.push(name);
        }
    }
    removed
}

pub(crate) fn split_image(image: &str) -> (&str, &str) {
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (image, "latest"),
    }
}

/// A digest of every file under `dir` (names and contents, in a stable order) and of `base`.
fn context_digest(dir: &Path, base: &str) -> std::io::Result<String> {
    let mut files = Vec::new();
    collect_files(dir, dir, &mut files)?;
    files.sort();
    let mut hasher = Sha256::new();
    hasher.update(base.as_bytes());
    for relative in files {
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update(std::fs::read(dir.join(&relative))?);
    }
    Ok(hasher
        .finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.file_name().is_some_and(|n| n == "__pycache__") {
            continue;
        }
        if path.is_dir() {
            collect_files(root, &path, out)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            out.push(relative.to_owned());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_split_at_the_tag() {
        assert_eq!(
            split_image("django-conformance-base:bookworm"),
            ("django-conformance-base", "bookworm")
        );
        assert_eq!(split_image("redis"), ("redis", "latest"));
        assert_eq!(
            split_image("localhost:5000/redis"),
            ("localhost:5000/redis", "latest")
        );
    }

    #[test]
    fn the_context_digest_follows_files_and_base() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.py"), "1").unwrap();
        let first = context_digest(dir.path(), "base").unwrap();
        assert_eq!(first, context_digest(dir.path(), "base").unwrap());
        assert_ne!(first, context_digest(dir.path(), "other").unwrap());
        std::fs::write(dir.path().join("a.py"), "2").unwrap();
        assert_ne!(first, context_digest(dir.path(), "base").unwrap());
    }
}
