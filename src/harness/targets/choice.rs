//! Which Django a run uses: one already running, a local process, or containers (`auto`: the
//! containers when a Docker engine answers). Deciding happens in two halves: [`plan`] before the
//! async runtime starts, because reaching an older Docker engine means pointing testcontainers at
//! djc's API proxy through `DOCKER_HOST`, which may only be set while the process has one
//! thread; then [`DjangoPlan::start`] inside the runtime.

use std::path::PathBuf;
use std::sync::Arc;

use super::docker_api::{self, ApiShim, Endpoint, Engine};
use super::{DjangoDocker, DjangoLocal, DjangoUrl, Images, Target, TargetError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DjangoChoice {
    Auto,
    Local,
    Docker,
}

pub enum DjangoPlan {
    Url(url::Url),
    Local,
    Docker(Option<ShimPlan>),
    NoEngine(String),
}

pub struct ShimPlan {
    socket: PathBuf,
    engine: Endpoint,
    api_version: String,
}

/// Decides how Django runs. Call it while the process has one thread: for an older engine it
/// sets `DOCKER_HOST` to the proxy that [`DjangoPlan::start`] will serve.
pub fn plan(choice: DjangoChoice, url: Option<url::Url>) -> DjangoPlan {
    if let Some(url) = url {
        return DjangoPlan::Url(url);
    }
    if choice == DjangoChoice::Local {
        return DjangoPlan::Local;
    }
    match docker_api::probe() {
        Engine::Absent(why) if choice == DjangoChoice::Auto => {
            eprintln!("djc: {why}: Django runs as a local process");
            DjangoPlan::Local
        }
        Engine::Absent(why) => DjangoPlan::NoEngine(why),
        Engine::Current => DjangoPlan::Docker(None),
        Engine::Older {
            endpoint,
            api_version,
        } => {
            let proxy = std::env::temp_dir().join(format!(
                "{}{}.sock",
                docker_api::SOCKET_PREFIX,
                std::process::id()
            ));
            // SAFETY: the caller runs this before the runtime or any other thread exists.
            unsafe { std::env::set_var("DOCKER_HOST", format!("unix://{}", proxy.display())) };
            DjangoPlan::Docker(Some(ShimPlan {
                socket: proxy,
                engine: endpoint,
                api_version,
            }))
        }
    }
}

impl DjangoPlan {
    /// The target the plan asks for. `django_dir` is the Django project; a local process logs
    /// into `log_dir`.
    pub async fn start(
        self,
        django_dir: PathBuf,
        log_dir: PathBuf,
    ) -> Result<Arc<dyn Target>, TargetError> {
        Ok(match self {
            DjangoPlan::Url(url) => Arc::new(DjangoUrl::new(url)),
            DjangoPlan::Local => Arc::new(DjangoLocal::new(django_dir, log_dir)),
            DjangoPlan::NoEngine(why) => {
                return Err(TargetError(format!(
                    "--django docker: {why}; start a Docker engine, or run with --django local"
                )));
            }
            DjangoPlan::Docker(shim) => {
                let shim = match shim {
                    Some(plan) => Some(
                        ApiShim::start(&plan.socket, plan.engine, plan.api_version).map_err(
                            |e| {
                                TargetError(format!(
                                    "cannot listen on {}: {e}",
                                    plan.socket.display()
                                ))
                            },
                        )?,
                    ),
                    None => None,
                };
                let target = DjangoDocker::new(django_dir, Images::choose().await, shim);
                eprintln!("djc: Django runs in containers ({})", target.describe());
                Arc::new(target)
            }
        })
    }
}
