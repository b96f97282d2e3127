//! Which Django a run uses: one already running (`--django-url`), a local process, or
//! containers, chosen for each Django version the run covers. `auto` takes the first that can
//! actually work, fastest first: the local process when a Python for that version passes
//! `check_python.py`, else containers (their images made ready first, by pulling or by building
//! the offline base image). It never takes one it has not made ready, and when none can work for
//! a version, one error lists what was tried and how to fix it.
//!
//! Deciding happens in two halves: [`probe`] before the async runtime starts, because reaching
//! an older Docker engine means pointing testcontainers at djc's API proxy through
//! `DOCKER_HOST`, which may only be set while the process has one thread; then [`choose`] inside
//! the runtime.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::docker_api::{self, ApiShim, Endpoint, Engine, SOCKET_PREFIX};
use super::venv::{python_minors, python_variable};
use super::{ByVersion, DjangoDocker, DjangoLocal, DjangoUrl, Target};
use crate::harness::progress::Progress;
use crate::reference::DjangoVersion;

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

/// No Django of a version can start: what was tried, and how to make one work.
#[derive(Debug, Clone, PartialEq)]
pub struct NothingWorks {
    pub version: DjangoVersion,
    /// The other versions the run covers, which it could run without this one.
    pub others: Vec<DjangoVersion>,
    pub choice: DjangoChoice,
    /// Each way tried (`a local process`, `containers`) and why it cannot work.
    pub tried: Vec<(DjangoChoice, String)>,
}

impl std::fmt::Display for NothingWorks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "no Django {} can start here. Tried:", self.version)?;
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
                DjangoChoice::Local => match self.version {
                    DjangoVersion::V5_2 => writeln!(
                        f,
                        "  - a current Python 3.11: `apt-get install python3.11 python3.11-venv` \
                         (Debian's 3.11.2-6+deb12u8 or later has the fix check_python.py looks \
                         for), or {}=/path/to/python3.11",
                        python_variable(self.version)
                    )?,
                    DjangoVersion::V6_1 => writeln!(
                        f,
                        "  - a Python {} with CPython's 2025 cookie fix (Debian trixie's python3.13 \
                         3.13.5-2+deb13u5 or later; bookworm has none), named by {}=/path/to/python",
                        python_minors(self.version).join(" or "),
                        python_variable(self.version)
                    )?,
                },
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
        if !self.others.is_empty() {
            let others: Vec<&str> = self.others.iter().map(|v| v.as_str()).collect();
            writeln!(
                f,
                "  - leave Django {} out of this run: --django-version {}",
                self.version,
                others.join(",")
            )?;
        }
        write!(f, "  - a Django you run yourself: --django-url URL")
    }
}

/// The Django target of a run over `versions`: for each, the first candidate of the choice that
/// can be made ready. The first version that nothing can start is the error.
pub async fn choose(
    probed: Probed,
    versions: &[DjangoVersion],
    django_dir: PathBuf,
    log_dir: PathBuf,
    progress: &Progress,
) -> Result<Arc<dyn Target>, NothingWorks> {
    if let Some(url) = probed.url {
        return Ok(Arc::new(DjangoUrl::new(url)));
    }
    let mut engine = SharedEngine::new(probed.engine);
    let mut targets = BTreeMap::new();
    for &version in versions {
        let target = choose_one(
            probed.choice,
            version,
            &mut engine,
            &django_dir,
            &log_dir,
            progress,
        )
        .await
        .map_err(|nothing| NothingWorks {
            others: versions.iter().copied().filter(|v| *v != version).collect(),
            ..nothing
        })?;
        targets.insert(version, target);
    }
    Ok(Arc::new(ByVersion::new(targets)))
}

/// The Docker engine as the run reaches it: the proxy, when one is needed, started once and
/// shared by every version's containers.
struct SharedEngine {
    access: Option<EngineAccess>,
    reached: Option<Result<Option<Arc<ApiShim>>, String>>,
}

impl SharedEngine {
    fn new(access: Option<EngineAccess>) -> SharedEngine {
        SharedEngine {
            access,
            reached: None,
        }
    }

    /// The proxy to pass to the containers (none for a current engine), or why the engine
    /// cannot be reached.
    fn reach(&mut self) -> Result<Option<Arc<ApiShim>>, String> {
        let access = self.access.take();
        self.reached
            .get_or_insert_with(|| match access {
                Some(EngineAccess::Absent(why)) => Err(why),
                None => Err("the Docker engine was not probed".into()),
                Some(EngineAccess::Direct) => Ok(None),
                Some(EngineAccess::Proxied {
                    socket,
                    engine,
                    api_version,
                }) => ApiShim::start(&socket, engine, api_version)
                    .map(|shim| Some(Arc::new(shim)))
                    .map_err(|e| format!("cannot listen on {}: {e}", socket.display())),
            })
            .clone()
    }
}

async fn choose_one(
    choice: DjangoChoice,
    version: DjangoVersion,
    engine: &mut SharedEngine,
    django_dir: &std::path::Path,
    log_dir: &std::path::Path,
    progress: &Progress,
) -> Result<Arc<dyn Target>, NothingWorks> {
    let candidates: &[DjangoChoice] = match choice {
        DjangoChoice::Auto => &[DjangoChoice::Local, DjangoChoice::Docker],
        DjangoChoice::Local => &[DjangoChoice::Local],
        DjangoChoice::Docker => &[DjangoChoice::Docker],
    };
    let mut tried = Vec::new();
    for candidate in candidates {
        let made: Result<Arc<dyn Target>, String> = match candidate {
            DjangoChoice::Local => {
                let (dir, logs, progress) =
                    (django_dir.to_owned(), log_dir.to_owned(), progress.clone());
                tokio::task::spawn_blocking(move || {
                    DjangoLocal::prepare(version, dir, logs, &progress)
                })
                .await
                .map_err(|e| e.to_string())
                .and_then(|made| made.map_err(|e| e.0))
                .map(|local| Arc::new(local) as Arc<dyn Target>)
            }
            DjangoChoice::Docker => match engine.reach() {
                Err(why) => Err(why),
                Ok(shim) => DjangoDocker::prepare(django_dir, version, shim, progress)
                    .await
                    .map(|docker| Arc::new(docker) as Arc<dyn Target>)
                    .map_err(|e| e.0),
            },
            DjangoChoice::Auto => unreachable!("auto is a list of candidates"),
        };
        match made {
            Ok(target) => {
                progress.say(&format!("Django {version} runs as {}", target.describe()));
                return Ok(target);
            }
            Err(why) => {
                if choice == DjangoChoice::Auto {
                    let what = match candidate {
                        DjangoChoice::Local => "a local process",
                        _ => "containers",
                    };
                    progress.say(&format!(
                        "Django {version} not as {what}: {}",
                        first_line(&why)
                    ));
                }
                tried.push((*candidate, why));
            }
        }
    }
    Err(NothingWorks {
        version,
        others: Vec::new(),
        choice,
        tried,
    })
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}
