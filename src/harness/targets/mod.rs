//! Targets: running implementations of the contract. The runner treats every target alike; a
//! target starts one instance per cell and settings profile on first use and stops them all on
//! shutdown.

mod by_version;
pub mod choice;
mod django_docker;
mod django_local;
mod django_url;
pub mod docker_api;
pub mod images;
mod instances;
mod logged;
mod rust;
mod venv;

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};
use url::Url;

pub use by_version::ByVersion;
pub use django_docker::{DjangoDocker, RUN_LABEL, remove_finished_runs};
pub use django_local::DjangoLocal;
pub use django_url::DjangoUrl;
pub use images::{Images, offline_base_image};
pub use rust::RustTarget;
pub use venv::{Python, PythonEnv, cache_dir, find_python};

use super::cell::Cell;
use super::profile::Profile;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Which implementation a target runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Django,
    Rust,
}

impl std::fmt::Display for TargetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TargetKind::Django => "django",
            TargetKind::Rust => "rust",
        })
    }
}

/// Which Django, on which Python, produced a record: the Django version an instance runs (or,
/// for Rust, implements) and Django's Python, from the health check.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Provenance {
    pub django_version: String,
    pub python_version: Option<String>,
}

/// The key of one instance: a cell and a settings profile.
pub(crate) fn instance_key(cell: Cell, profile: &Profile) -> String {
    format!("{cell} {}", profile.name)
}

/// One running app instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub base_url: Url,
    /// The Django and server it runs (or, for Rust, emulates).
    pub cell: Cell,
    pub provenance: Provenance,
    /// The settings the instance runs with, as its health check reports them.
    pub settings: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct TargetError(pub String);

pub trait Target: Send + Sync {
    fn kind(&self) -> TargetKind;

    /// How this target runs, for messages: `django (local process, python3.11)`.
    fn describe(&self) -> String;

    /// The instance serving `profile` in `cell`, started on first use.
    fn instance<'a>(
        &'a self,
        cell: Cell,
        profile: &'a Profile,
    ) -> BoxFuture<'a, Result<Instance, TargetError>>;

    /// Stops every instance this target started.
    fn shutdown(&self) -> BoxFuture<'_, ()>;

    /// Why requests to `profile`'s instance might fail, if the target knows (it exited, say):
    /// asked when a request failed, so the error names the cause.
    fn diagnose<'a>(&'a self, _cell: Cell, _profile: &'a Profile) -> BoxFuture<'a, Option<String>> {
        Box::pin(async { None })
    }

    /// Ends every instance at once, without waiting (a second Ctrl-C). What cannot be ended
    /// without waiting is left for [`Target::shutdown`] or the next run.
    fn kill_now(&self) {}
}

/// Asks a freshly started instance who it is (`GET /__djc__/health`), and checks that it is
/// the implementation expected and serves `cell`.
pub(crate) async fn health_check(
    base_url: &Url,
    expected: TargetKind,
    cell: Cell,
) -> Result<Instance, TargetError> {
    let instance = ask_health(base_url, expected).await?;
    if instance.cell != cell {
        return Err(TargetError(format!(
            "{base_url} runs Django {} under {}, expected the cell {cell}",
            instance.cell.django, instance.cell.server
        )));
    }
    Ok(instance)
}

/// Asks an instance who it is (`GET /__djc__/health`): which implementation, which cell.
pub(crate) async fn ask_health(
    base_url: &Url,
    expected: TargetKind,
) -> Result<Instance, TargetError> {
    let url = base_url
        .join("__djc__/health")
        .expect("a fixed relative path joins");
    let failed = |why: String| TargetError(format!("health check of {url} failed: {why}"));
    let response = reqwest::get(url.clone())
        .await
        .map_err(|e| failed(e.to_string()))?;
    if !response.status().is_success() {
        return Err(failed(format!("status {}", response.status())));
    }
    let body: serde_json::Value = response.json().await.map_err(|e| failed(e.to_string()))?;
    let implementation = body["implementation"].as_str().unwrap_or_default();
    if implementation != expected.to_string() {
        return Err(failed(format!(
            "it says it is {implementation:?}, expected {expected}: is the URL right?"
        )));
    }
    let django_version = body["django_version"].as_str().unwrap_or("unknown");
    let server = body["server"].as_str().unwrap_or("unknown");
    let cell = Cell::parse(&format!("{django_version}/{server}")).ok_or_else(|| {
        failed(format!(
            "it runs Django {django_version} under {server}, which is no cell of djc's matrix \
             (Django {} under {})",
            crate::reference::DjangoVersion::ALL
                .map(|v| v.as_str())
                .join(" or "),
            crate::app::Server::ALL.map(|s| s.as_str()).join(" or ")
        ))
    })?;
    Ok(Instance {
        base_url: base_url.clone(),
        cell,
        provenance: Provenance {
            django_version: django_version.to_owned(),
            python_version: body["python_version"].as_str().map(str::to_owned),
        },
        settings: body["settings"].clone(),
    })
}
