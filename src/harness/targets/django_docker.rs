//! Django in a container: testcontainers builds the reference image from
//! `django_reference/Dockerfile` when it is missing, then starts it per settings profile with
//! Redis and memcached on a private network. Everything is labelled with the run's id and the
//! process that owns it, and removed on exit, on a signal and on a panic (testcontainers removes
//! a container when it is dropped). What a killed djc could not remove, the next run does.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use testcontainers::core::IntoContainerPort;
use testcontainers::runners::{AsyncBuilder, AsyncRunner};
use testcontainers::{ContainerAsync, GenericBuildableImage, GenericImage, ImageExt};
use tokio::sync::OnceCell;

use super::docker_api::ApiShim;
use super::instances::Instances;
use super::{BoxFuture, Instance, Target, TargetError, TargetKind, health_check};
use crate::harness::profile::Profile;

/// The image `django_reference/build-offline-base.sh` makes from Debian's packages.
pub const OFFLINE_BASE_IMAGE: &str = "django-conformance-base:bookworm";
/// The label on every container djc starts, valued with the run's id.
pub const RUN_LABEL: &str = "org.django-conformance.run";
/// The label naming the djc process that owns a container: `<boot id>/<pid>/<start time>`.
pub const OWNER_LABEL: &str = "org.django-conformance.owner";
const DJANGO_IMAGE: &str = "django-conformance-django";
const DJANGO_PORT: u16 = 8000;
const READY_LINE: &str = "djc: listening on";
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// The images a run uses: the base the Django image is built from, and the two stores.
#[derive(Debug, Clone, PartialEq)]
pub struct Images {
    pub base: String,
    pub redis: String,
    pub memcached: String,
}

impl Images {
    /// `DJC_BASE_IMAGE`, `DJC_REDIS_IMAGE`, `DJC_MEMCACHED_IMAGE` when set; otherwise the offline
    /// base image for all three when it exists (it has Redis and memcached too); otherwise the
    /// official images, which need a registry.
    pub async fn choose() -> Images {
        let offline = image_exists(OFFLINE_BASE_IMAGE).await;
        let pick = |variable: &str, official: &str| {
            std::env::var(variable).unwrap_or_else(|_| {
                if offline {
                    OFFLINE_BASE_IMAGE
                } else {
                    official
                }
                .to_owned()
            })
        };
        Images {
            base: pick("DJC_BASE_IMAGE", "python:3.11-slim"),
            redis: pick("DJC_REDIS_IMAGE", "redis:7.4-alpine"),
            memcached: pick("DJC_MEMCACHED_IMAGE", "memcached:1.6-alpine"),
        }
    }
}

/// A Docker API client at the engine's own version, for what testcontainers does not do.
async fn engine_client() -> Option<testcontainers::bollard::Docker> {
    let docker = testcontainers::bollard::Docker::connect_with_defaults().ok()?;
    docker.negotiate_version().await.ok()
}

async fn image_exists(image: &str) -> bool {
    match engine_client().await {
        Some(docker) => docker.inspect_image(image).await.is_ok(),
        None => false,
    }
}

fn split_image(image: &str) -> (&str, &str) {
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (image, "latest"),
    }
}

pub struct DjangoDocker {
    django_dir: PathBuf,
    images: Images,
    run_id: String,
    owner: String,
    image: OnceCell<Result<String, TargetError>>,
    instances: Instances<Stack>,
    /// The API version proxy an older engine needs, alive as long as the containers are.
    _api: Option<ApiShim>,
}

impl DjangoDocker {
    pub fn new(django_dir: PathBuf, images: Images, api: Option<ApiShim>) -> DjangoDocker {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let run_id = format!("{}-{nanos:08x}", std::process::id());
        DjangoDocker {
            django_dir,
            images,
            run_id,
            owner: owner::this_process(),
            image: OnceCell::new(),
            instances: Instances::default(),
            _api: api,
        }
    }

    /// The Django image's tag: a digest of the project and the base, so any change rebuilds it.
    /// Before the first container starts, the containers of runs whose djc is gone are removed.
    async fn django_image(&self) -> Result<String, TargetError> {
        self.image
            .get_or_init(|| async {
                sweep_dead_runs().await;
                let tag = context_digest(&self.django_dir, &self.images.base)
                    .map_err(|e| TargetError(format!("cannot read {}: {e}", self.django_dir.display())))?;
                // The built image is found again by its tag when each profile starts.
                let _built = GenericBuildableImage::new(DJANGO_IMAGE, &tag)
                    .with_dockerfile(self.django_dir.join("Dockerfile"))
                    .with_file(&self.django_dir, ".")
                    .build_image_with(
                        testcontainers::core::BuildImageOptions::new()
                            .with_skip_if_exists(true)
                            .with_build_arg("BASE_IMAGE", &self.images.base),
                    )
                    .await
                    .map_err(|e| {
                        TargetError(format!(
                            "building the Django image from {} on {} failed: {e}\n\
                             without an image registry, run django_reference/build-offline-base.sh first",
                            self.django_dir.display(),
                            self.images.base
                        ))
                    })?;
                Ok(format!("{DJANGO_IMAGE}:{tag}"))
            })
            .await
            .clone()
    }

    async fn start(&self, profile: &Profile) -> Result<(Instance, Stack), TargetError> {
        let image = self.django_image().await?;
        let prefix = format!("djc-{}-{}", self.run_id, profile.name.replace('_', "-"));
        let network = prefix.clone();
        let store = |image: &str, name: &str| {
            let (repository, tag) = split_image(image);
            GenericImage::new(repository, tag)
                .with_network(&network)
                .with_container_name(format!("{prefix}-{name}"))
                .with_label(RUN_LABEL, &self.run_id)
                .with_label(OWNER_LABEL, &self.owner)
        };
        let redis = store(&self.images.redis, "redis")
            .with_cmd([
                "redis-server",
                "--bind",
                "0.0.0.0",
                "--protected-mode",
                "no",
                "--save",
                "",
            ])
            .start()
            .await
            .map_err(|e| {
                TargetError(format!("Redis ({}) did not start: {e}", self.images.redis))
            })?;
        let memcached = store(&self.images.memcached, "memcached")
            .with_cmd([
                "memcached",
                "--user=nobody",
                "--listen=0.0.0.0",
                "--port=11211",
            ])
            .start()
            .await
            .map_err(|e| {
                TargetError(format!(
                    "memcached ({}) did not start: {e}",
                    self.images.memcached
                ))
            })?;
        let (repository, tag) = split_image(&image);
        let django = GenericImage::new(repository, tag)
            .with_exposed_port(DJANGO_PORT.tcp())
            .with_network(&network)
            .with_container_name(format!("{prefix}-django"))
            .with_label(RUN_LABEL, &self.run_id)
            .with_label(OWNER_LABEL, &self.owner)
            .with_env_var("DJC_SETTINGS", profile.settings_json())
            .with_env_var("DJC_REDIS_URL", format!("redis://{prefix}-redis:6379/0"))
            .with_env_var(
                "DJC_MEMCACHED_LOCATION",
                format!("{prefix}-memcached:11211"),
            )
            .start()
            .await
            .map_err(|e| {
                TargetError(format!(
                    "the Django container (profile {:?}) did not start: {e}",
                    profile.name
                ))
            })?;
        let ready = wait_until_ready(&django).await;
        let port = django
            .get_host_port_ipv4(DJANGO_PORT)
            .await
            .map_err(|e| TargetError(e.to_string()));
        let stack = Stack::new(vec![django, redis, memcached]);
        let checked = match (ready, port) {
            (Ok(()), Ok(port)) => {
                let base_url =
                    url::Url::parse(&format!("http://127.0.0.1:{port}/")).expect("a loopback URL");
                health_check(&base_url, TargetKind::Django).await
            }
            (Err(error), _) | (_, Err(error)) => Err(TargetError(format!(
                "Django (profile {:?}, container) did not start: {error}",
                profile.name
            ))),
        };
        match checked {
            Ok(instance) => Ok((instance, stack)),
            Err(error) => {
                stack.remove().await;
                Err(error)
            }
        }
    }
}

/// Waits for gunicorn's ready line; on failure the error carries the tail of the container's log.
async fn wait_until_ready(django: &ContainerAsync<GenericImage>) -> Result<(), TargetError> {
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    loop {
        let log =
            String::from_utf8_lossy(&django.stderr_to_vec().await.unwrap_or_default()).into_owned();
        if log.contains(READY_LINE) {
            return Ok(());
        }
        let why = if !django.is_running().await.unwrap_or(false) {
            "the container exited".to_owned()
        } else if tokio::time::Instant::now() > deadline {
            format!(
                "it printed no {READY_LINE:?} line within {}s",
                START_TIMEOUT.as_secs()
            )
        } else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        return Err(TargetError(format!(
            "{why}; the last lines of its log:\n{}",
            super::django_local::tail_lines(&log, 30)
        )));
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
        hasher.update(relative.as_bytes());
        hasher.update(std::fs::read(dir.join(&relative))?);
    }
    Ok(hasher
        .finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.file_name().is_some_and(|n| n == "__pycache__") {
            continue;
        }
        if path.is_dir() {
            collect_files(root, &path, out)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            out.push(relative.to_string_lossy().into_owned());
        }
    }
    Ok(())
}

/// The containers of one profile; their network goes with the last of them.
struct Stack {
    containers: tokio::sync::Mutex<Vec<ContainerAsync<GenericImage>>>,
}

impl Stack {
    fn new(containers: Vec<ContainerAsync<GenericImage>>) -> Stack {
        Stack {
            containers: tokio::sync::Mutex::new(containers),
        }
    }

    async fn remove(&self) {
        let containers = std::mem::take(&mut *self.containers.lock().await);
        for container in containers {
            let _ = container.rm().await;
        }
    }

    /// Why the Django container no longer answers, if it has exited.
    async fn diagnose(&self, profile: &str) -> Option<String> {
        let containers = self.containers.lock().await;
        let django = containers.first()?;
        if django.is_running().await.unwrap_or(true) {
            return None;
        }
        let log =
            String::from_utf8_lossy(&django.stderr_to_vec().await.unwrap_or_default()).into_owned();
        Some(format!(
            "the Django container (profile {profile:?}) exited during the run; the last lines of \
             its log:\n{}",
            super::django_local::tail_lines(&log, 30)
        ))
    }
}

/// Removes every container labelled with `run_id` and every network named for it, whoever holds
/// them: the guarantee behind a signal, when a start may have been cut off half way.
async fn sweep(run_id: &str) {
    let Some(docker) = engine_client().await else {
        return;
    };
    remove_runs(&docker, &[run_id.to_owned()]).await;
}

/// Removes the containers and networks of runs whose djc process is gone (killed, say).
async fn sweep_dead_runs() {
    use testcontainers::bollard::query_parameters::ListContainersOptionsBuilder;
    let Some(docker) = engine_client().await else {
        return;
    };
    let ours = std::collections::HashMap::from([("label", vec![OWNER_LABEL.to_owned()])]);
    let listed = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&ours)
                .build(),
        ))
        .await
        .unwrap_or_default();
    let mut dead: Vec<String> = listed
        .iter()
        .filter_map(|container| {
            let labels = container.labels.as_ref()?;
            let owner = labels.get(OWNER_LABEL)?;
            (!owner::is_alive(owner)).then(|| labels.get(RUN_LABEL).cloned())?
        })
        .collect();
    dead.sort();
    dead.dedup();
    if !dead.is_empty() {
        eprintln!(
            "djc: removing the containers of {} earlier run(s) whose djc is gone",
            dead.len()
        );
        remove_runs(&docker, &dead).await;
    }
}

async fn remove_runs(docker: &testcontainers::bollard::Docker, run_ids: &[String]) {
    use testcontainers::bollard::query_parameters::{
        ListContainersOptionsBuilder, ListNetworksOptionsBuilder, RemoveContainerOptionsBuilder,
    };
    for run_id in run_ids {
        let labelled =
            std::collections::HashMap::from([("label", vec![format!("{RUN_LABEL}={run_id}")])]);
        let listed = docker
            .list_containers(Some(
                ListContainersOptionsBuilder::new()
                    .all(true)
                    .filters(&labelled)
                    .build(),
            ))
            .await;
        for container in listed.unwrap_or_default() {
            if let Some(id) = container.id {
                let force = RemoveContainerOptionsBuilder::new()
                    .force(true)
                    .v(true)
                    .build();
                let _ = docker.remove_container(&id, Some(force)).await;
            }
        }
        let named = std::collections::HashMap::from([("name", vec![format!("djc-{run_id}-")])]);
        let networks = docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::new().filters(&named).build(),
            ))
            .await;
        for network in networks.unwrap_or_default() {
            if let Some(id) = network.id {
                let _ = docker.remove_network(&id).await;
            }
        }
    }
}

/// Who owns a container: the djc process that started it, named so that a reused process id
/// or a reboot is not mistaken for it.
mod owner {
    fn boot_id() -> String {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|id| id.trim().to_owned())
            .unwrap_or_default()
    }

    /// The process's start time in clock ticks since boot (field 22 of `/proc/<pid>/stat`).
    fn start_time(pid: &str) -> Option<String> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the command name, which is in parentheses and may hold spaces.
        let (_, rest) = stat.rsplit_once(')')?;
        rest.split_whitespace().nth(19).map(str::to_owned)
    }

    /// `<boot id>/<pid>/<start time>` of this process.
    pub fn this_process() -> String {
        let pid = std::process::id().to_string();
        let start = start_time(&pid).unwrap_or_default();
        format!("{}/{pid}/{start}", boot_id())
    }

    /// Whether the process an owner label names still runs.
    pub fn is_alive(owner: &str) -> bool {
        let mut parts = owner.splitn(3, '/');
        let (Some(boot), Some(pid), Some(start)) = (parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        boot == boot_id() && start_time(pid).as_deref() == Some(start)
    }
}

impl Target for DjangoDocker {
    fn kind(&self) -> TargetKind {
        TargetKind::Django
    }

    fn describe(&self) -> String {
        format!("django (container on {})", self.images.base)
    }

    fn instance<'a>(
        &'a self,
        profile: &'a Profile,
    ) -> BoxFuture<'a, Result<Instance, TargetError>> {
        Box::pin(async move {
            let (instance, _stack) = self
                .instances
                .get_or_start(&profile.name, || self.start(profile))
                .await?;
            Ok(instance)
        })
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let mut removing = tokio::task::JoinSet::new();
            for stack in self.instances.take_all() {
                removing.spawn(async move { stack.remove().await });
            }
            removing.join_all().await;
            sweep(&self.run_id).await;
        })
    }

    fn diagnose<'a>(&'a self, profile: &'a Profile) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move {
            self.instances
                .get(&profile.name)?
                .diagnose(&profile.name)
                .await
        })
    }
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
