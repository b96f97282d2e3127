//! The `djc` command line. Exit codes:
//!
//! * 0: nothing unexplained;
//! * 1: a divergence, an unrecorded scenario, drift, a stale ledger entry, a scenario error, or a
//!   report djc could not write;
//! * 2: bad input (a malformed scenario, a selection that matches nothing) or usage;
//! * 3: no Django could be started; the message lists what was tried and the fixes;
//! * 128 + the signal's number: a signal (Ctrl-C, SIGTERM, SIGHUP) ended it, after every app it
//!   started was stopped.

mod clean;
mod record;
mod run;
mod select;
mod serve;
mod show;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::cell::{Cell, DjangoVersion, Server, matrix};
use super::interrupt::{Interrupt, Stop};
use super::profile::DEFAULT_PROFILE;
use super::progress::Progress;
use super::targets::choice::{self, DjangoChoice, Probed};
use super::targets::{DjangoUrl, Target, TargetKind, ask_health};
use select::SelectArgs;

const STATE_DIR: &str = ".djc";
const LAST_RUN: &str = ".djc/last-run.json";

#[derive(Parser)]
#[command(
    name = "djc",
    version,
    about = "Run Django conformance scenarios against Django and the Rust reference app, and show every difference"
)]
struct Cli {
    /// Colour in the output: `auto` when it goes to a terminal (and NO_COLOR is unset).
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, global = true)]
    color: ColorArg,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
enum Command {
    /// Compare the Rust app with Django (live, or with the snapshots when --offline).
    Run(RunArgs),
    /// Record Django's observations as snapshots (pending review unless --accept).
    Record(RecordArgs),
    /// Show the field-level differences of the last run, step by step; exits 1 if there are any.
    Diff(show::DiffArgs),
    /// List the scenarios.
    List(SelectArgs),
    /// Write a new scenario file to start from: `djc new cookies/my_case`.
    New {
        /// `<topic>/<name>`
        id: String,
        #[arg(long, default_value = "scenarios")]
        scenarios: PathBuf,
    },
    /// Serve one app for poking with curl.
    Serve {
        app: serve::App,
        #[arg(long, default_value_t = 8000)]
        port: u16,
        #[arg(long, default_value = DEFAULT_PROFILE)]
        profile: String,
        #[arg(long = "scenarios", default_value = "scenarios")]
        scenarios: Vec<PathBuf>,
        #[arg(long, default_value = "django_reference")]
        django_dir: PathBuf,
        /// The Django version the app runs (or, for rust, emulates).
        #[arg(long = "django-version", value_enum, default_value = "5.2")]
        django_version: VersionArg,
        /// The server Django runs under (or, for rust, emulates).
        #[arg(long, value_enum, default_value = "gunicorn")]
        server: ServerArg,
    },
    /// Remove everything djc made: containers, networks, images, the Python environments and
    /// `.djc/`.
    Clean,
}

#[derive(Args, Clone)]
struct CommonArgs {
    #[command(flatten)]
    select: SelectArgs,
    /// Scenarios run at once.
    #[arg(long, default_value_t = default_jobs())]
    jobs: usize,
    #[arg(long, default_value = "snapshots")]
    snapshots: PathBuf,
    /// The Django project.
    #[arg(long, default_value = "django_reference")]
    django_dir: PathBuf,
    /// How to run Django: `local` (a process from a pinned venv), `docker` (containers), or
    /// `auto`: the first that can work, local first.
    #[arg(long, value_enum, default_value_t = DjangoArg::Auto)]
    django: DjangoArg,
    /// Use a Django that is already running instead of starting one (its cell only, unless
    /// --django-version or --server say otherwise).
    #[arg(long, conflicts_with = "django")]
    django_url: Option<url::Url>,
    /// The Django versions of the matrix to run: `5.2`, `6.1` or `all` (repeatable, or
    /// comma-separated) [default: all]
    #[arg(long = "django-version", value_enum, value_delimiter = ',')]
    django_version: Vec<VersionArg>,
    /// The servers of the matrix to run Django under: `gunicorn` (WSGI), `uvicorn` (ASGI) or
    /// `all` (repeatable, or comma-separated) [default: all]
    #[arg(long, value_enum, value_delimiter = ',')]
    server: Vec<ServerArg>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum VersionArg {
    #[value(name = "5.2")]
    V5_2,
    #[value(name = "6.1")]
    V6_1,
    All,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ServerArg {
    Gunicorn,
    Uvicorn,
    All,
}

impl VersionArg {
    fn versions(self) -> Vec<DjangoVersion> {
        match self {
            VersionArg::V5_2 => vec![DjangoVersion::V5_2],
            VersionArg::V6_1 => vec![DjangoVersion::V6_1],
            VersionArg::All => DjangoVersion::ALL.to_vec(),
        }
    }
}

impl ServerArg {
    fn servers(self) -> Vec<Server> {
        match self {
            ServerArg::Gunicorn => vec![Server::Gunicorn],
            ServerArg::Uvicorn => vec![Server::Uvicorn],
            ServerArg::All => Server::ALL.to_vec(),
        }
    }
}

impl CommonArgs {
    /// The cells the flags choose; `None` where a flag was not given.
    fn chosen_cells(&self) -> (Option<Vec<DjangoVersion>>, Option<Vec<Server>>) {
        let versions = (!self.django_version.is_empty()).then(|| {
            self.django_version
                .iter()
                .flat_map(|arg| arg.versions())
                .collect()
        });
        let servers = (!self.server.is_empty())
            .then(|| self.server.iter().flat_map(|arg| arg.servers()).collect());
        (versions, servers)
    }

    /// The cells of the run: every one the flags allow (all of them by default); for a Django
    /// that is already running, its own cell unless the flags say otherwise.
    async fn cells(&self) -> Result<Vec<Cell>, Exit> {
        let (versions, servers) = self.chosen_cells();
        if let (Some(url), None, None) = (&self.django_url, &versions, &servers) {
            let instance = ask_health(
                &DjangoUrl::new(url.clone()).base_url().clone(),
                TargetKind::Django,
            )
            .await
            .map_err(|e| Exit::Setup(e.to_string()))?;
            return Ok(vec![instance.cell]);
        }
        Ok(matrix(
            &versions.unwrap_or(DjangoVersion::ALL.to_vec()),
            &servers.unwrap_or(Server::ALL.to_vec()),
        ))
    }
}

/// `--django`, as clap reads it.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DjangoArg {
    Auto,
    Local,
    Docker,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Compare against the snapshots; no Python needed.
    #[arg(long, conflicts_with = "django_url")]
    offline: bool,
    /// Start no more scenarios once one fails.
    #[arg(long)]
    fail_fast: bool,
    /// Write the JSON report here too.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Write a JUnit XML report here.
    #[arg(long)]
    junit: Option<PathBuf>,
}

#[derive(Args)]
struct RecordArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Write over the accepted snapshots instead of leaving `.snap.new` files for review.
    #[arg(long)]
    accept: bool,
}

fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(2)
        .max(2)
}

/// A failure that decides the exit code.
enum Exit {
    /// Exit 2.
    BadInput(String),
    /// Exit 1.
    Failed(String),
    /// Exit 3: no Django could be started.
    Setup(String),
    Interrupted(Stop),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.color {
        ColorArg::Auto => {}
        ColorArg::Always | ColorArg::Never => {
            let on = cli.color == ColorArg::Always;
            console::set_colors_enabled(on);
            console::set_colors_enabled_stderr(on);
        }
    }
    let probed = match &cli.command {
        Command::Run(args) if !args.offline => Some(probe(&args.common)),
        Command::Record(args) => Some(probe(&args.common)),
        _ => None,
    };
    // Offline, the harness and the in-process Rust app trade a message per request: on one thread
    // that is a function call, across a work-stealing pool a wake-up of another thread (an
    // offline run on two threads took half as long again). Everything else keeps the pool:
    // serving others' requests is what threads are for, and testcontainers' blocking clean-up
    // in `Drop` needs a multi-threaded runtime to hand its other tasks to.
    let single_thread = match &cli.command {
        Command::Run(args) => args.offline,
        Command::Diff(_) | Command::List(_) | Command::New { .. } => true,
        Command::Record(_) | Command::Serve { .. } | Command::Clean => false,
    };
    let mut runtime = if single_thread {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = runtime
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    let code = runtime.block_on(run_command(cli, probed));
    // Stop stray reader tasks of child processes without waiting for their pipes.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}

fn probe(common: &CommonArgs) -> Probed {
    let choice = match common.django {
        DjangoArg::Auto => DjangoChoice::Auto,
        DjangoArg::Local => DjangoChoice::Local,
        DjangoArg::Docker => DjangoChoice::Docker,
    };
    choice::probe(choice, common.django_url.clone())
}

/// Runs the command, watching for signals throughout, and stops every app it started whatever
/// happened: a first signal ends the command and stops them; a second stops them at once.
async fn run_command(cli: Cli, probed: Option<Probed>) -> ExitCode {
    let interrupt = match Interrupt::listen() {
        Ok(interrupt) => interrupt,
        Err(e) => {
            eprintln!("djc: cannot watch for signals: {e}");
            return ExitCode::from(1);
        }
    };
    // `djc serve` runs until a signal: that is how it ends, not a failure.
    let serving = matches!(cli.command, Command::Serve { .. });
    let started = Started::default();
    let result = tokio::select! {
        result = dispatch(cli, probed, &started) => result,
        stop = interrupt.first() => Err(Exit::Interrupted(stop)),
    };
    if let Err(Exit::Interrupted(stop)) = &result
        && !serving
    {
        eprintln!(
            "djc: {}: stopping every app djc started (a second signal stops them at once)",
            stop.name()
        );
    }
    tokio::select! {
        () = started.stop() => {}
        stop = interrupt.second() => {
            started.kill_now();
            eprintln!("djc: {}: stopped every local Django at once", stop.name());
            return ExitCode::from(stop.exit_code());
        }
    }
    let code = match result {
        Ok(code) => code,
        Err(Exit::BadInput(message)) => {
            eprintln!("djc: {message}");
            ExitCode::from(2)
        }
        Err(Exit::Failed(message)) => {
            eprintln!("djc: {message}");
            ExitCode::from(1)
        }
        Err(Exit::Setup(message)) => {
            eprintln!("djc: {message}");
            ExitCode::from(3)
        }
        Err(Exit::Interrupted(_)) => ExitCode::SUCCESS,
    };
    // A signal that came while the apps were being stopped still counts: it was asked for.
    match interrupt.received() {
        Some(stop) if !serving => {
            eprintln!(
                "djc: interrupted by {}: every app djc started has been stopped",
                stop.name()
            );
            ExitCode::from(stop.exit_code())
        }
        _ => code,
    }
}

/// Every target a command started, stopped together when it ends.
#[derive(Default)]
struct Started(std::sync::Mutex<Vec<Arc<dyn Target>>>);

impl Started {
    fn add(&self, target: Arc<dyn Target>) -> Arc<dyn Target> {
        self.0.lock().expect("started lock").push(target.clone());
        target
    }

    fn all(&self) -> Vec<Arc<dyn Target>> {
        self.0.lock().expect("started lock").clone()
    }

    async fn stop(&self) {
        let mut stopping = tokio::task::JoinSet::new();
        for target in self.all() {
            stopping.spawn(async move { target.shutdown().await });
        }
        stopping.join_all().await;
    }

    fn kill_now(&self) {
        for target in self.all() {
            target.kill_now();
        }
    }
}

async fn dispatch(cli: Cli, probed: Option<Probed>, started: &Started) -> Result<ExitCode, Exit> {
    match cli.command {
        Command::Run(args) => run::run(args, probed, started).await,
        Command::Record(args) => {
            record::record(args, probed.expect("record probes its Django"), started).await
        }
        Command::Diff(args) => show::diff(&args),
        Command::List(select) => show::list(&select),
        Command::New { id, scenarios } => show::new_scenario(&id, &scenarios),
        Command::Serve {
            app,
            port,
            profile,
            scenarios,
            django_dir,
            django_version,
            server,
        } => {
            let cell = match (
                django_version.versions().as_slice(),
                server.servers().as_slice(),
            ) {
                (&[django], &[server]) => Cell { django, server },
                _ => {
                    return Err(Exit::BadInput(
                        "djc serve runs one cell: give one --django-version and one --server"
                            .into(),
                    ));
                }
            };
            serve::serve(app, port, &profile, &scenarios, django_dir, cell, started).await
        }
        Command::Clean => clean::clean().await,
    }
}

/// The Django target `probed` leads to for the versions of `cells`, made ready and registered to
/// be stopped when the command ends. When none can be made ready, the setup error says what was
/// tried.
async fn django_target(
    common: &CommonArgs,
    cells: &[Cell],
    probed: Probed,
    started: &Started,
    progress: &Progress,
) -> Result<Arc<dyn Target>, Exit> {
    let log_dir = Path::new(STATE_DIR).join("logs");
    let mut versions: Vec<DjangoVersion> = cells.iter().map(|cell| cell.django).collect();
    versions.dedup();
    let target = choice::choose(
        probed,
        &versions,
        common.django_dir.clone(),
        log_dir,
        progress,
    )
    .await
    .map_err(|nothing| Exit::Setup(nothing.to_string()))?;
    Ok(started.add(target))
}

/// Writes a report or a new scenario whole or not at all.
fn write_file(path: &Path, text: &str) -> Result<(), Exit> {
    super::files::write_whole(path, text.as_bytes()).map_err(|e| Exit::Failed(e.to_string()))
}
