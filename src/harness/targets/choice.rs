//! Which Django a run uses: one already running (`--django-url`), a local process, or
//! containers. `auto` takes the first that can actually work, fastest first: the local process
//! when a Python passes `check_python.py`, else containers (their images made ready first, by
//! pulling or by building the offline base image). It never takes one it has not made ready, and
//! when none can work, one error lists what was tried and how to fix it.
//!
//! Deciding happens in two halves: [`probe`] before the async runtime starts, because reaching
//! an older Docker engine means pointing testcontainers at djc's API proxy through
//! `DOCKER_HOST`, which may only be set while the process has one thread; then [`choose`] inside
//! the runtime.

use std::path::PathBuf;
use std::sync::Arc;

use super::docker_api::{self, ApiShim, Endpoint, Engine, SOCKET_PREFIX};
use super::{DjangoDocker, DjangoLocal, DjangoUrl, Target};
use crate::harness::progress::Progress;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DjangoChoice {
    Auto,
    Local,
    Docker,
}

/// What was learnt before the runtime started.
pub struct Probed {
    choice: DjangoChoice,
    url: Option<url::Url>,
    engine: Option<EngineAccess>,
}

/// How to reach the Docker engine, or why it cannot be reached.
enum EngineAccess {
    Direct,
    /// Through djc's proxy on this socket, for an older engine.
    Proxied {
        socket: PathBuf,
        engine: Endpoint,
        api_version: String,
    },
    Absent(String),
}

/// Looks at the Docker engine when the choice may use it. Call it while the process has one
/// thread: for an older engine it sets `DOCKER_HOST` to the proxy that [`choose`] will serve.
pub fn probe(choice: DjangoChoice, url: Option<url::Url>) -> Probed {
    let engine = match (&url, choice) {
        (Some(_), _) | (None, DjangoChoice::Local) => None,
        _ => Some(match docker_api::probe() {
            Engine::Absent(why) => EngineAccess::Absent(why),
            Engine::Current => EngineAccess::Direct,
            Engine::Older {
                endpoint,
                api_version,
            } => {
                let socket = std::env::temp_dir()
                    .join(format!("{SOCKET_PREFIX}{}.sock", std::process::id()));
                // SAFETY: the caller runs this before the runtime or any other thread exists.
                unsafe { std::env::set_var("DOCKER_HOST", format!("unix://{}", socket.display())) };
                EngineAccess::Proxied {
                    socket,
                    engine: endpoint,
                    api_version,
                }
            }
        }),
    };
    Probed {
        choice,
        url,
        engine,
    }
}

/// No Django can start: what was tried, and how to make one work.
#[derive(Debug, Clone, PartialEq)]
pub struct NothingWorks {
    pub choice: DjangoChoice,
    /// Each way tried (`a local process`, `containers`) and why it cannot work.
    pub tried: Vec<(DjangoChoice, String)>,
}

impl std::fmt::Display for NothingWorks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "no Django can start here. Tried:")?;
        for (way, why) in &self.tried {
            let what = match way {
                DjangoChoice::Local => "a local process",
                _ => "containers",
            };
            writeln!(f, "  - {what}: {}", why.replace('\n', "\n      "))?;
        }
        writeln!(f, "To fix it, any of:")?;
        for (way, _) in &self.tried {
            match way {
                DjangoChoice::Local => writeln!(
                    f,
                    "  - a current Python 3.11: `apt-get install python3.11 python3.11-venv` \
                     (Debian's 3.11.2-6+deb12u8 or later has the fix check_python.py looks \
                     for), or DJC_PYTHON=/path/to/python3.11"
                )?,
                _ => writeln!(
                    f,
                    "  - a Docker engine (`systemctl start docker`, or DOCKER_HOST): djc then \
                     makes the images it needs itself, pulling them or, as root, building them \
                     from Debian's packages"
                )?,
            }
        }
        if self.choice != DjangoChoice::Auto {
            writeln!(
                f,
                "  - `--django auto`, which tries a local process, then containers"
            )?;
        }
        write!(f, "  - a Django you run yourself: --django-url URL")
    }
}

/// The Django target: the first candidate of the choice that can be made ready.
pub async fn choose(
    probed: Probed,
    django_dir: PathBuf,
    log_dir: PathBuf,
    progress: &Progress,
) -> Result<Arc<dyn Target>, NothingWorks> {
    if let Some(url) = probed.url {
        return Ok(Arc::new(DjangoUrl::new(url)));
    }
    let candidates: &[DjangoChoice] = match probed.choice {
        DjangoChoice::Auto => &[DjangoChoice::Local, DjangoChoice::Docker],
        DjangoChoice::Local => &[DjangoChoice::Local],
        DjangoChoice::Docker => &[DjangoChoice::Docker],
    };
    let mut engine = probed.engine;
    let mut tried = Vec::new();
    for candidate in candidates {
        let made: Result<Arc<dyn Target>, String> = match candidate {
            DjangoChoice::Local => {
                let (dir, logs, progress) = (django_dir.clone(), log_dir.clone(), progress.clone());
                tokio::task::spawn_blocking(move || DjangoLocal::prepare(dir, logs, &progress))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|made| made.map_err(|e| e.0))
                    .map(|local| Arc::new(local) as Arc<dyn Target>)
            }
            DjangoChoice::Docker => match engine.take() {
                Some(EngineAccess::Absent(why)) => Err(why),
                None => Err("the Docker engine was not probed".into()),
                Some(EngineAccess::Direct) => DjangoDocker::prepare(&django_dir, None, progress)
                    .await
                    .map(|docker| Arc::new(docker) as Arc<dyn Target>)
                    .map_err(|e| e.0),
                Some(EngineAccess::Proxied {
                    socket,
                    engine,
                    api_version,
                }) => match ApiShim::start(&socket, engine, api_version) {
                    Err(e) => Err(format!("cannot listen on {}: {e}", socket.display())),
                    Ok(shim) => DjangoDocker::prepare(&django_dir, Some(shim), progress)
                        .await
                        .map(|docker| Arc::new(docker) as Arc<dyn Target>)
                        .map_err(|e| e.0),
                },
            },
            DjangoChoice::Auto => unreachable!("auto is a list of candidates"),
        };
        match made {
            Ok(target) => {
                progress.say(&format!("Django runs as {}", target.describe()));
                return Ok(target);
            }
            Err(why) => {
                if probed.choice == DjangoChoice::Auto {
                    let what = match candidate {
                        DjangoChoice::Local => "a local process",
                        _ => "containers",
                    };
                    progress.say(&format!("not as {what}: {}", first_line(&why)));
                }
                tried.push((*candidate, why));
            }
        }
    }
    Err(NothingWorks {
        choice: probed.choice,
        tried,
    })
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}
