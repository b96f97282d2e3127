//! Django in a container: once the images of a Django version are ready ([`super::images`]),
//! testcontainers starts its Django image per cell (the server) and settings profile, with Redis
//! and memcached on a private network. Everything is labelled with the run's id and the
//! process that owns it, and removed on exit, on a signal and on a panic (testcontainers removes
//! a container when it is dropped). What a killed djc could not remove, the next run does.

use std::sync::Arc;
use std::time::Duration;

use testcontainers::bollard::Docker;
use testcontainers::core::IntoContainerPort;
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

use super::docker_api::ApiShim;
use super::images::{Images, engine_client, ensure_django_image, ensure_images, split_image};
use super::instances::Instances;
use super::{BoxFuture, Instance, Target, TargetError, TargetKind, health_check, instance_key};
use crate::harness::cell::Cell;
use crate::harness::profile::Profile;
use crate::harness::progress::Progress;
use crate::reference::DjangoVersion;

/// The label on every container djc starts, valued with the run's id.
pub const RUN_LABEL: &str = "org.django-conformance.run";
/// The label naming the djc process that owns a container: `<boot id>/<pid>/<start time>`.
pub const OWNER_LABEL: &str = "org.django-conformance.owner";
const DJANGO_PORT: u16 = 8000;
const READY_LINE: &str = "djc: listening on";
const START_TIMEOUT: Duration = Duration::from_secs(90);

pub struct DjangoDocker {
    version: DjangoVersion,
    images: Images,
    /// The Django image, built already.
    django_image: String,
    run_id: String,
    owner: String,
    instances: Instances<Stack>,
    /// The API version proxy an older engine needs, alive as long as the containers are.
    _api: Option<Arc<ApiShim>>,
}

impl DjangoDocker {
    /// Makes ready what the containers need (images, once), removing first what killed runs
    /// left behind.
    pub async fn prepare(
        django_dir: &std::path::Path,
        version: DjangoVersion,
        api: Option<Arc<ApiShim>>,
        progress: &Progress,
    ) -> Result<DjangoDocker, TargetError> {
        sweep_dead_runs(progress).await;
        let images = ensure_images(django_dir, version, progress).await?;
        let django_image = ensure_django_image(django_dir, version, &images.base, progress).await?;
        Ok(DjangoDocker {
            version,
            images,
            django_image,
            run_id: run_id().to_owned(),
            owner: owner::this_process(),
            instances: Instances::default(),
            _api: api,
        })
    }

    async fn start(&self, cell: Cell, profile: &Profile) -> Result<(Instance, Stack), TargetError> {
        if cell.django != self.version {
            return Err(TargetError(format!(
                "these containers run Django {}, not {}",
                self.version, cell.django
            )));
        }
        let image = &self.django_image;
        let name = format!("Django {cell} (profile {:?}, container)", profile.name);
        let prefix = format!(
            "djc-{}-{}-{}",
            self.run_id,
            cell.file_tag().replace('.', ""),
            profile.name.replace('_', "-")
        );
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
        let (repository, tag) = split_image(image);
        let django = GenericImage::new(repository, tag)
            .with_exposed_port(DJANGO_PORT.tcp())
            .with_network(&network)
            .with_container_name(format!("{prefix}-django"))
            .with_label(RUN_LABEL, &self.run_id)
            .with_label(OWNER_LABEL, &self.owner)
            .with_env_var("DJC_SETTINGS", profile.settings_json())
            .with_env_var("DJC_SERVER", cell.server.as_str())
            .with_env_var("DJC_REDIS_URL", format!("redis://{prefix}-redis:6379/0"))
            .with_env_var(
                "DJC_MEMCACHED_LOCATION",
                format!("{prefix}-memcached:11211"),
            )
            .start()
            .await
            .map_err(|e| TargetError(format!("{name} did not start: {e}")))?;
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
                health_check(&base_url, TargetKind::Django, cell).await
            }
            (Err(error), _) | (_, Err(error)) => {
                Err(TargetError(format!("{name} did not start: {error}")))
            }
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

/// This djc run's id: one for the containers of every Django version it starts.
fn run_id() -> &'static str {
    static RUN_ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    RUN_ID.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        format!("{}-{nanos:08x}", std::process::id())
    })
}

/// Waits for the server's ready line; on failure the error carries the tail of the container's log.
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
/// them: the guarantee behind a signal, when a start may have been cut off half way. The engine
/// may still be creating a container whose request a signal cut off, so it looks again until
/// none is left (for a few seconds; the next run removes anything later).
async fn sweep(run_id: &str) {
    use testcontainers::bollard::query_parameters::ListContainersOptionsBuilder;
    let Some(docker) = engine_client().await else {
        return;
    };
    let labelled =
        std::collections::HashMap::from([("label", vec![format!("{RUN_LABEL}={run_id}")])]);
    for _ in 0..20 {
        remove_runs(&docker, &[run_id.to_owned()]).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
        let left = docker
            .list_containers(Some(
                ListContainersOptionsBuilder::new()
                    .all(true)
                    .filters(&labelled)
                    .build(),
            ))
            .await
            .unwrap_or_default();
        if left.is_empty() {
            remove_runs(&docker, &[run_id.to_owned()]).await;
            return;
        }
    }
}

/// Removes the containers and networks of runs whose djc process is gone (killed, say).
async fn sweep_dead_runs(progress: &Progress) {
    let Some(docker) = engine_client().await else {
        return;
    };
    let dead = dead_runs(&docker).await;
    if !dead.is_empty() {
        progress.say(&format!(
            "removing the containers of {} earlier run(s) whose djc is gone",
            dead.len()
        ));
        remove_runs(&docker, &dead).await;
    }
}

/// `djc clean`: removes the containers and networks of every run whose djc is gone, and says
/// which.
pub async fn remove_finished_runs(docker: &Docker) -> Vec<String> {
    let dead = dead_runs(docker).await;
    remove_runs(docker, &dead).await;
    dead.into_iter()
        .map(|run| format!("the containers and networks of run {run}"))
        .collect()
}

/// The ids of runs whose containers remain but whose djc process is gone.
async fn dead_runs(docker: &Docker) -> Vec<String> {
    use testcontainers::bollard::query_parameters::ListContainersOptionsBuilder;
    let ours = std::collections::HashMap::from([("label", vec![RUN_LABEL.to_owned()])]);
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
            let alive = labels.get(OWNER_LABEL).is_some_and(|o| owner::is_alive(o));
            (!alive).then(|| labels.get(RUN_LABEL).cloned())?
        })
        .collect();
    dead.sort();
    dead.dedup();
    dead
}

async fn remove_runs(docker: &Docker, run_ids: &[String]) {
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
        format!(
            "django {} (containers of {} on {})",
            self.version, self.django_image, self.images.base
        )
    }

    fn instance<'a>(
        &'a self,
        cell: Cell,
        profile: &'a Profile,
    ) -> BoxFuture<'a, Result<Instance, TargetError>> {
        Box::pin(async move {
            let (instance, _stack) = self
                .instances
                .get_or_start(&instance_key(cell, profile), || self.start(cell, profile))
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

    fn diagnose<'a>(&'a self, cell: Cell, profile: &'a Profile) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move {
            self.instances
                .get(&instance_key(cell, profile))?
                .diagnose(&profile.name)
                .await
        })
    }
}
