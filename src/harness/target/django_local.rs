//! Django as a local process: gunicorn (the WSGI server the container uses too) on a random
//! loopback port, one process per settings profile, in its own process group so that stopping it
//! (on exit, Ctrl-C or panic) stops its workers too.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{OnceCell, watch};

use super::instances::Instances;
use super::venv::PythonEnv;
use super::{BoxFuture, Instance, Target, TargetError, TargetKind, health_check};
use crate::harness::profile::Profile;

/// gunicorn prints this line (from `django_reference/gunicorn.conf.py`) once it listens.
const READY_PREFIX: &str = "djc: listening on ";
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_GRACE: Duration = Duration::from_secs(5);
const LOG_TAIL_LINES: usize = 30;

pub struct DjangoLocal {
    django_dir: PathBuf,
    log_dir: PathBuf,
    /// 0 for a random port.
    port: u16,
    env: OnceCell<Result<PythonEnv, TargetError>>,
    instances: Instances<DjangoProcess>,
}

impl DjangoLocal {
    /// `django_dir` holds the Django project; logs go to `log_dir/django-<profile>.log`.
    pub fn new(django_dir: PathBuf, log_dir: PathBuf) -> DjangoLocal {
        DjangoLocal {
            django_dir,
            log_dir,
            port: 0,
            env: OnceCell::new(),
            instances: Instances::default(),
        }
    }

    /// Listens on this loopback port instead of a random one (`djc serve django --port`).
    pub fn with_port(self, port: u16) -> DjangoLocal {
        DjangoLocal { port, ..self }
    }

    async fn python_env(&self) -> Result<PythonEnv, TargetError> {
        let dir = self.django_dir.clone();
        self.env
            .get_or_init(|| async move {
                tokio::task::spawn_blocking(move || PythonEnv::ensure(&dir))
                    .await
                    .unwrap_or_else(|e| {
                        Err(TargetError(format!(
                            "building the Django environment panicked: {e}"
                        )))
                    })
            })
            .await
            .clone()
    }

    async fn start(&self, profile: &Profile) -> Result<(Instance, DjangoProcess), TargetError> {
        let env = self.python_env().await?;
        std::fs::create_dir_all(&self.log_dir)
            .map_err(|e| TargetError(format!("cannot create {}: {e}", self.log_dir.display())))?;
        let log_path = self.log_dir.join(format!("django-{}.log", profile.name));
        let log_file = tokio::fs::File::create(&log_path)
            .await
            .map_err(|e| TargetError(format!("cannot create {}: {e}", log_path.display())))?;
        let mut child = Command::new(&env.python)
            .args([
                "-m",
                "gunicorn",
                "-c",
                "gunicorn.conf.py",
                "--bind",
                &format!("127.0.0.1:{}", self.port),
                "conformance.wsgi",
            ])
            .current_dir(&self.django_dir)
            .env("DJC_SETTINGS", profile.settings_json())
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| TargetError(format!("cannot start {}: {e}", env.python.display())))?;
        let process_group = child.id().map(|pid| pid as i32);
        let log = Log::start(log_file, &mut child);
        let process = DjangoProcess {
            child: Mutex::new(Some(child)),
            process_group,
        };
        let ready = wait_until_ready(&process, &log).await;
        let instance = match ready {
            Ok(url) => health_check(&url, TargetKind::Django).await,
            Err(error) => Err(error),
        };
        match instance {
            Ok(instance) => Ok((instance, process)),
            Err(error) => {
                process.stop().await;
                Err(TargetError(format!(
                    "Django (profile {:?}) did not start: {error}\nthe last lines of its log ({}):\n{}",
                    profile.name,
                    log_path.display(),
                    log.tail()
                )))
            }
        }
    }
}

impl Target for DjangoLocal {
    fn kind(&self) -> TargetKind {
        TargetKind::Django
    }

    fn describe(&self) -> String {
        match self.env.get() {
            Some(Ok(env)) => format!("django (local process, Python {})", env.python_version),
            _ => "django (local process)".to_owned(),
        }
    }

    fn instance<'a>(
        &'a self,
        profile: &'a Profile,
    ) -> BoxFuture<'a, Result<Instance, TargetError>> {
        Box::pin(
            self.instances
                .get_or_start(&profile.name, || self.start(profile)),
        )
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            for process in self.instances.take_all() {
                process.stop().await;
            }
        })
    }
}

async fn wait_until_ready(process: &DjangoProcess, log: &Log) -> Result<url::Url, TargetError> {
    let mut ready = log.ready.clone();
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    loop {
        if let Some(url) = ready.borrow_and_update().clone() {
            return url::Url::parse(&format!("{}/", url.trim_end_matches('/'))).map_err(|e| {
                TargetError(format!(
                    "gunicorn printed an address that is not a URL ({url}): {e}"
                ))
            });
        }
        if let Some(status) = process.exit_status() {
            return Err(TargetError(format!("the process exited ({status})")));
        }
        tokio::select! {
            _ = ready.changed() => {}
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = tokio::time::sleep_until(deadline) => {
                return Err(TargetError(format!("it printed no {READY_PREFIX:?} line within {}s", START_TIMEOUT.as_secs())));
            }
        }
    }
}

/// The process's output: appended to a log file, its last lines kept for error messages, and
/// watched for the ready line.
#[derive(Clone)]
struct Log {
    tail: Arc<Mutex<VecDeque<String>>>,
    ready: watch::Receiver<Option<String>>,
}

impl Log {
    /// Takes the child's output. Synchronous, so nothing can cancel a start between spawning
    /// the process and owning it.
    fn start(file: tokio::fs::File, child: &mut Child) -> Log {
        let file = Arc::new(tokio::sync::Mutex::new(file));
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let (ready_tx, ready) = watch::channel(None);
        let ready_tx = Arc::new(ready_tx);
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(pump(stdout, file.clone(), tail.clone(), ready_tx.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(pump(stderr, file, tail.clone(), ready_tx));
        }
        Log { tail, ready }
    }

    fn tail(&self) -> String {
        let lines = self.tail.lock().expect("log tail lock");
        lines
            .iter()
            .map(|line| format!("  | {line}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

async fn pump(
    stream: impl AsyncRead + Unpin,
    file: Arc<tokio::sync::Mutex<tokio::fs::File>>,
    tail: Arc<Mutex<VecDeque<String>>>,
    ready: Arc<watch::Sender<Option<String>>>,
) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let _ = file
            .lock()
            .await
            .write_all(format!("{line}\n").as_bytes())
            .await;
        if let Some(url) = line.strip_prefix(READY_PREFIX) {
            ready.send_replace(Some(url.trim().to_owned()));
        }
        let mut tail = tail.lock().expect("log tail lock");
        tail.push_back(line);
        if tail.len() > LOG_TAIL_LINES {
            tail.pop_front();
        }
    }
}

/// The last `count` lines of `text`, indented for an error message.
pub(crate) fn tail_lines(text: &str, count: usize) -> String {
    let lines: Vec<_> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..]
        .iter()
        .map(|l| format!("  | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A running gunicorn and its workers.
struct DjangoProcess {
    child: Mutex<Option<Child>>,
    process_group: Option<i32>,
}

impl DjangoProcess {
    fn exit_status(&self) -> Option<std::process::ExitStatus> {
        self.child
            .lock()
            .expect("child lock")
            .as_mut()?
            .try_wait()
            .ok()
            .flatten()
    }

    /// SIGTERM to the whole group (gunicorn stops its workers), then SIGKILL if it lingers.
    async fn stop(&self) {
        let Some(mut child) = self.child.lock().expect("child lock").take() else {
            return;
        };
        signal_group(self.process_group, libc::SIGTERM);
        if tokio::time::timeout(STOP_GRACE, child.wait())
            .await
            .is_err()
        {
            signal_group(self.process_group, libc::SIGKILL);
            let _ = child.wait().await;
        }
        // Workers that outlived their master would keep the port: make sure the group is gone.
        signal_group(self.process_group, libc::SIGKILL);
    }
}

impl Drop for DjangoProcess {
    fn drop(&mut self) {
        // Reached without `stop` only on a panic or an abandoned run: never leave Django behind.
        if self
            .child
            .get_mut()
            .map(|child| child.is_some())
            .unwrap_or(true)
        {
            signal_group(self.process_group, libc::SIGKILL);
        }
    }
}

fn signal_group(process_group: Option<i32>, signal: libc::c_int) {
    if let Some(group) = process_group {
        // SAFETY: kill(2) with a negative pid signals that process group; it touches no memory.
        unsafe {
            libc::kill(-group, signal);
        }
    }
}
