//! Django as a local process: one Django release from its venv, under gunicorn (WSGI) or
//! uvicorn (ASGI) as the cell says, on a random loopback port, one process per cell and settings
//! profile, in its own process group so that stopping it
//! stops its workers too. It dies with djc (the parent-death signal) even when djc is killed, and
//! when it exits on its own during a run, djc says so and ends its workers: no orphan answers on.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{oneshot, watch};

use super::instances::Instances;
use super::venv::{PythonEnv, find_python};
use super::{BoxFuture, Instance, Target, TargetError, TargetKind, health_check, instance_key};
use crate::harness::cell::Cell;
use crate::harness::profile::Profile;
use crate::harness::progress::Progress;
use crate::reference::DjangoVersion;

/// Both servers print this line (`django_reference/serve.py`) once they listen.
const READY_PREFIX: &str = "djc: listening on ";
const START_TIMEOUT: Duration = Duration::from_secs(60);
const LOG_TAIL_LINES: usize = 30;

pub struct DjangoLocal {
    version: DjangoVersion,
    django_dir: PathBuf,
    log_dir: PathBuf,
    /// 0 for a random port.
    port: u16,
    env: PythonEnv,
    instances: Instances<DjangoProcess>,
}

impl DjangoLocal {
    /// `django_dir` holds the Django project, run from the venv `env` of Django `version`; logs
    /// go to `log_dir/django-<version>-<server>-<profile>.log`.
    pub fn new(
        version: DjangoVersion,
        django_dir: PathBuf,
        log_dir: PathBuf,
        env: PythonEnv,
    ) -> DjangoLocal {
        DjangoLocal {
            version,
            django_dir,
            log_dir,
            port: 0,
            env,
            instances: Instances::default(),
        }
    }

    /// Finds the Python and builds the venv (once) that a local Django needs: blocking.
    pub fn prepare(
        version: DjangoVersion,
        django_dir: PathBuf,
        log_dir: PathBuf,
        progress: &Progress,
    ) -> Result<DjangoLocal, TargetError> {
        let python = find_python(&django_dir, version)?;
        let env = PythonEnv::ensure(&django_dir, version, &python, progress)?;
        Ok(DjangoLocal::new(version, django_dir, log_dir, env))
    }

    /// Listens on this loopback port instead of a random one (`djc serve django --port`).
    pub fn with_port(self, port: u16) -> DjangoLocal {
        DjangoLocal { port, ..self }
    }

    async fn start(
        &self,
        cell: Cell,
        profile: &Profile,
    ) -> Result<(Instance, DjangoProcess), TargetError> {
        if cell.django != self.version {
            return Err(TargetError(format!(
                "this local Django is {}, not {}",
                self.version, cell.django
            )));
        }
        let env = &self.env;
        std::fs::create_dir_all(&self.log_dir)
            .map_err(|e| TargetError(format!("cannot create {}: {e}", self.log_dir.display())))?;
        let name = format!("Django {cell} (profile {:?})", profile.name);
        let log_path =
            self.log_dir
                .join(format!("django-{}-{}.log", cell.file_tag(), profile.name));
        let log_file = tokio::fs::File::create(&log_path)
            .await
            .map_err(|e| TargetError(format!("cannot create {}: {e}", log_path.display())))?;
        let mut command = Command::new(&env.python);
        command
            .args([
                "serve.py",
                "--server",
                cell.server.as_str(),
                "--bind",
                &format!("127.0.0.1:{}", self.port),
            ])
            .current_dir(&self.django_dir)
            .env("DJC_SETTINGS", profile.settings_json())
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        die_with_parent(command.as_std_mut());
        let mut child = command
            .spawn()
            .map_err(|e| TargetError(format!("cannot start {}: {e}", env.python.display())))?;
        let log = Log::start(log_file, &mut child);
        let process = DjangoProcess::watch(
            child,
            log.clone(),
            format!("{name} (log {})", log_path.display()),
        );
        let ready = wait_until_ready(&process, &log).await;
        let instance = match ready {
            Ok(url) => health_check(&url, TargetKind::Django, cell).await,
            Err(error) => Err(error),
        };
        match instance {
            Ok(instance) => {
                process.serving.store(true, Ordering::Relaxed);
                Ok((instance, process))
            }
            Err(error) => {
                process.stop().await;
                Err(TargetError(format!(
                    "{name} did not start: {error}\nthe last lines of its log ({}):\n{}",
                    log_path.display(),
                    log.tail()
                )))
            }
        }
    }
}

/// The child gets SIGKILL when the thread that started it ends, so Django never outlives djc,
/// even when djc itself is killed. Children are started from the runtime's threads, which live
/// as long as djc does (never from a short-lived blocking thread).
pub(crate) fn die_with_parent(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the child between fork and exec and only makes two system
    // calls that are async-signal-safe.
    unsafe {
        let parent = libc::getpid();
        command.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            // The parent may have died before prctl: then nothing would send the signal.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

impl Target for DjangoLocal {
    fn kind(&self) -> TargetKind {
        TargetKind::Django
    }

    fn describe(&self) -> String {
        format!(
            "django {} (local process, Python {})",
            self.version, self.env.python_version
        )
    }

    fn instance<'a>(
        &'a self,
        cell: Cell,
        profile: &'a Profile,
    ) -> BoxFuture<'a, Result<Instance, TargetError>> {
        Box::pin(async move {
            let (instance, process) = self
                .instances
                .get_or_start(&instance_key(cell, profile), || self.start(cell, profile))
                .await?;
            match process.ended() {
                Some(why) => Err(TargetError(why)),
                None => Ok(instance),
            }
        })
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let mut stopping = tokio::task::JoinSet::new();
            for process in self.instances.take_all() {
                stopping.spawn(async move { process.stop().await });
            }
            stopping.join_all().await;
        })
    }

    fn diagnose<'a>(&'a self, cell: Cell, profile: &'a Profile) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move { self.instances.get(&instance_key(cell, profile))?.ended() })
    }

    fn kill_now(&self) {
        for process in self.instances.started() {
            signal_group(process.process_group, libc::SIGKILL);
        }
    }
}

async fn wait_until_ready(process: &DjangoProcess, log: &Log) -> Result<url::Url, TargetError> {
    let mut ready = log.ready.clone();
    let mut ended = process.ended.clone();
    let mut output_closed = false;
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    loop {
        if let Some(url) = ready.borrow_and_update().clone() {
            return url::Url::parse(&format!("{}/", url.trim_end_matches('/'))).map_err(|e| {
                TargetError(format!(
                    "gunicorn printed an address that is not a URL ({url}): {e}"
                ))
            });
        }
        if ended.borrow_and_update().is_some() {
            return Err(TargetError("the process exited".to_owned()));
        }
        tokio::select! {
            changed = ready.changed(), if !output_closed => output_closed = changed.is_err(),
            _ = ended.changed() => {}
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

    /// The tail once the process has exited: its last lines may still be on their way.
    async fn tail_after_exit(&self) -> String {
        // The pumps hold the sender; it closes when both pipes have reached their end.
        let mut ready = self.ready.clone();
        let closed = async { while ready.changed().await.is_ok() {} };
        let _ = tokio::time::timeout(Duration::from_secs(1), closed).await;
        self.tail()
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

/// A running gunicorn and its workers, watched by a task that owns the child: it reaps the
/// process when it exits on its own (and ends the group, so no worker answers on) or stops it
/// when asked.
struct DjangoProcess {
    process_group: Option<i32>,
    /// Set once it has started: an exit after that is news, said at once.
    serving: Arc<AtomicBool>,
    /// Why the process is no longer there, once it is not.
    ended: watch::Receiver<Option<String>>,
    stop: Mutex<Option<oneshot::Sender<()>>>,
}

impl DjangoProcess {
    /// Watches `child`; `name` says which Django it is, in messages.
    fn watch(mut child: Child, log: Log, name: String) -> DjangoProcess {
        let process_group = child.id().map(|pid| pid as i32);
        let (ended_tx, ended) = watch::channel(None);
        let (stop_tx, stop_rx) = oneshot::channel();
        let serving = Arc::new(AtomicBool::new(false));
        let started = serving.clone();
        tokio::spawn(async move {
            let why = tokio::select! {
                status = child.wait() => {
                    signal_group(process_group, libc::SIGKILL);
                    let why = format!(
                        "{name} exited during the run ({}); the last lines of its log:\n{}",
                        describe_exit(status),
                        log.tail_after_exit().await
                    );
                    // While it starts, the start's own error says it.
                    if started.load(Ordering::Relaxed) {
                        eprintln!("djc: {why}");
                    }
                    why
                }
                _ = stop_rx => {
                    kill_and_reap(&mut child, process_group).await;
                    format!("{name} was stopped")
                }
            };
            ended_tx.send_replace(Some(why));
        });
        DjangoProcess {
            process_group,
            serving,
            ended,
            stop: Mutex::new(Some(stop_tx)),
        }
    }

    fn ended(&self) -> Option<String> {
        self.ended.borrow().clone()
    }

    /// Stops the process (if it still runs) and returns once it is gone.
    async fn stop(&self) {
        if let Some(stop) = self.stop.lock().expect("stop lock").take() {
            let _ = stop.send(());
        }
        let mut ended = self.ended.clone();
        let _ = ended.wait_for(Option::is_some).await;
    }
}

fn describe_exit(status: std::io::Result<ExitStatus>) -> String {
    match status {
        Ok(status) => status.to_string(),
        Err(e) => format!("its status could not be read: {e}"),
    }
}

/// Ends Django at once. Once the run is over Django holds nothing a graceful stop would save
/// (every response is complete, the stores live outside it), and gunicorn's own shutdown costs
/// 0.4-0.6 s a process and now and then hangs until a timeout.
async fn kill_and_reap(child: &mut Child, process_group: Option<i32>) {
    // The whole group: workers that outlived their master would keep the port.
    signal_group(process_group, libc::SIGKILL);
    let _ = child.start_kill();
    let _ = child.wait().await;
}

impl Drop for DjangoProcess {
    fn drop(&mut self) {
        // Reached without `stop` only on a panic or an abandoned run: never leave Django behind.
        if self.ended.borrow().is_none() {
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
