//! The `djc` command line. Exit codes: 0 nothing unexplained diverged, 1 a divergence, drift,
//! stale ledger entry or scenario error, 2 bad input or usage, 128 + the signal's number when a
//! signal (Ctrl-C, SIGTERM, SIGHUP) ended it, after stopping every app it started.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::files;
use super::interrupt::{Interrupt, Stop};
use super::ledger::Ledger;
use super::panics::catch_panic;
use super::profile::{DEFAULT_PROFILE, Profiles};
use super::report;
use super::runner::{Runner, Targets};
use super::scenario::{self, Scenario};
use super::snapshot::{SnapshotStore, Written};
use super::suite::{self, Mode, Recorded, Suite};
use super::targets::choice::{self, DjangoChoice, DjangoPlan};
use super::targets::{DjangoLocal, RustTarget, Target};

const STATE_DIR: &str = ".djc";
const LAST_RUN: &str = ".djc/last-run.json";

#[derive(Parser)]
#[command(
    name = "djc",
    version,
    about = "Run Django conformance scenarios against Django and the Rust reference app, and show every difference"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compare the Rust app with Django (live, or with the snapshots when --offline).
    Run(RunArgs),
    /// Record Django's observations as snapshots (pending review unless --accept).
    Record(RecordArgs),
    /// Show the field-level differences of the last run, step by step.
    Diff {
        /// One scenario id (default: every scenario with differences).
        scenario: Option<String>,
        /// The report to read.
        #[arg(long, default_value = LAST_RUN)]
        report: PathBuf,
    },
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
        app: App,
        #[arg(long, default_value_t = 8000)]
        port: u16,
        #[arg(long, default_value = DEFAULT_PROFILE)]
        profile: String,
        #[arg(long = "scenarios", default_value = "scenarios")]
        scenarios: Vec<PathBuf>,
        #[arg(long, default_value = "django_reference")]
        django_dir: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum App {
    Rust,
    Django,
}

#[derive(Args, Clone)]
struct SelectArgs {
    /// A scenarios folder (repeatable).
    #[arg(long = "scenarios", default_value = "scenarios")]
    scenarios: Vec<PathBuf>,
    /// Only these topics (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',')]
    topic: Vec<String>,
    /// Only the scenarios of these settings profiles (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',')]
    profile: Vec<String>,
}

#[derive(Args, Clone)]
struct CommonArgs {
    #[command(flatten)]
    select: SelectArgs,
    /// Scenarios run at once.
    #[arg(long, default_value_t = default_jobs())]
    jobs: usize,
    /// Write the JSON report here too.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Write a JUnit XML report here.
    #[arg(long)]
    junit: Option<PathBuf>,
    #[arg(long, default_value = "snapshots")]
    snapshots: PathBuf,
    /// The Django project to run locally.
    #[arg(long, default_value = "django_reference")]
    django_dir: PathBuf,
    /// How to run Django: `docker` (a container), `local` (a process from a pinned venv), or
    /// `auto`: docker when an engine answers, local otherwise.
    #[arg(long, value_enum, default_value_t = DjangoArg::Auto)]
    django: DjangoArg,
    /// Use a Django that is already running instead of starting one.
    #[arg(long, conflicts_with = "django")]
    django_url: Option<url::Url>,
}

/// `--django`, as clap reads it.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DjangoArg {
    Auto,
    Local,
    Docker,
}

fn plan_django(common: &CommonArgs) -> DjangoPlan {
    let choice = match common.django {
        DjangoArg::Auto => DjangoChoice::Auto,
        DjangoArg::Local => DjangoChoice::Local,
        DjangoArg::Docker => DjangoChoice::Docker,
    };
    choice::plan(choice, common.django_url.clone())
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Compare against the snapshots; no Python needed.
    #[arg(long, conflicts_with = "django_url")]
    offline: bool,
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
    BadInput(String),
    Failed(String),
    Interrupted(Stop),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let plan = match &cli.command {
        Command::Run(args) if !args.offline => Some(plan_django(&args.common)),
        Command::Record(args) => Some(plan_django(&args.common)),
        _ => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    let code = runtime.block_on(run_command(cli, plan));
    // Stop stray reader tasks of child processes without waiting for their pipes.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}

/// Runs the command, watching for signals throughout, and stops every app it started whatever
/// happened: a first signal ends the command and stops them; a second stops them at once.
async fn run_command(cli: Cli, plan: Option<DjangoPlan>) -> ExitCode {
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
        result = dispatch(cli, plan, &started) => result,
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

async fn dispatch(cli: Cli, plan: Option<DjangoPlan>, started: &Started) -> Result<ExitCode, Exit> {
    match cli.command {
        Command::Run(args) => run(args, plan, started).await,
        Command::Record(args) => {
            record(args, plan.expect("record plans its Django"), started).await
        }
        Command::Diff { scenario, report } => diff(scenario.as_deref(), &report),
        Command::List(select) => list(&select),
        Command::New { id, scenarios } => new_scenario(&id, &scenarios),
        Command::Serve {
            app,
            port,
            profile,
            scenarios,
            django_dir,
        } => serve(app, port, &profile, &scenarios, django_dir, started).await,
    }
}

fn load(select: &SelectArgs) -> Result<(Vec<Scenario>, Profiles, Ledger), Exit> {
    let scenarios = scenario::load_all(&select.scenarios, &select.topic).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        Exit::BadInput(format!(
            "{} malformed scenario file(s):\n{}",
            errors.len(),
            lines.join("\n")
        ))
    })?;
    let mut scenarios = scenarios;
    if !select.profile.is_empty() {
        scenarios.retain(|scenario| select.profile.contains(&scenario.profile));
    }
    if scenarios.is_empty() {
        return Err(Exit::BadInput(format!(
            "no scenarios selected in {:?} (topics {:?}, profiles {:?})",
            select.scenarios, select.topic, select.profile
        )));
    }
    let profiles = Profiles::load(&select.scenarios).map_err(|e| Exit::BadInput(e.to_string()))?;
    for scenario in &scenarios {
        if profiles.get(&scenario.profile).is_none() {
            return Err(Exit::BadInput(format!(
                "{}: unknown profile {:?} (declare it in profiles.toml)",
                scenario.file.display(),
                scenario.profile
            )));
        }
    }
    let ledger = Ledger::load(&select.scenarios).map_err(|e| Exit::BadInput(e.to_string()))?;
    Ok((scenarios, profiles, ledger))
}

/// The Django target of `plan`, registered to be stopped when the command ends.
async fn django_target(
    common: &CommonArgs,
    plan: DjangoPlan,
    started: &Started,
) -> Result<Arc<dyn Target>, Exit> {
    let log_dir = Path::new(STATE_DIR).join("logs");
    let target = plan
        .start(common.django_dir.clone(), log_dir)
        .await
        .map_err(|e| Exit::Failed(e.to_string()))?;
    Ok(started.add(target))
}

async fn run(args: RunArgs, plan: Option<DjangoPlan>, started: &Started) -> Result<ExitCode, Exit> {
    let common = args.common;
    let (scenarios, profiles, ledger) = load(&common.select)?;
    let mode = if args.offline {
        Mode::Offline
    } else {
        Mode::Live
    };
    let django = match plan {
        Some(plan) => Some(django_target(&common, plan, started).await?),
        None => None,
    };
    let targets = Targets {
        django,
        rust: Some(started.add(Arc::new(RustTarget::default()))),
    };
    let suite = Arc::new(Suite {
        runner: Runner::new(profiles),
        targets: targets.clone(),
        ledger,
        snapshots: SnapshotStore::new(common.snapshots.clone()),
        mode,
        jobs: common.jobs,
    });
    let bar = progress_bar(scenarios.len());
    let ticker = bar.clone();
    let result = suite::run(suite, scenarios, move |outcome| {
        ticker.set_message(outcome.id.clone());
        ticker.inc(1);
    })
    .await;
    bar.finish_and_clear();
    if let Some(django) = &targets.django {
        println!("compared {} with rust (in process)", django.describe());
    }
    // The summary comes first: a report that cannot be written must not hide the result.
    print!("{}", report::summary_text(&result));
    let json = report::json_report(&result);
    let text = serde_json::to_string_pretty(&json).expect("a report serialises");
    for path in [Some(PathBuf::from(LAST_RUN)), common.report.clone()]
        .into_iter()
        .flatten()
    {
        write_file(&path, &text)?;
    }
    if let Some(path) = &common.junit {
        write_file(path, &report::junit_report(&result).map_err(Exit::Failed)?)?;
    }
    Ok(if result.clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn progress_bar(len: usize) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .expect("a valid template"),
    );
    bar
}

/// Writes a report or a new scenario whole or not at all.
fn write_file(path: &Path, text: &str) -> Result<(), Exit> {
    files::write_whole(path, text.as_bytes()).map_err(|e| Exit::Failed(e.to_string()))
}

async fn record(args: RecordArgs, plan: DjangoPlan, started: &Started) -> Result<ExitCode, Exit> {
    let common = args.common;
    let (scenarios, profiles, _ledger) = load(&common.select)?;
    let django = django_target(&common, plan, started).await?;
    let targets = Targets {
        django: Some(django),
        rust: None,
    };
    let runner = Arc::new(Runner::new(profiles));
    let snapshots = Arc::new(SnapshotStore::new(common.snapshots.clone()));
    let permits = Arc::new(tokio::sync::Semaphore::new(common.jobs.max(1)));
    let work = async {
        let mut tasks = tokio::task::JoinSet::new();
        for scenario in scenarios {
            let (runner, targets, snapshots, permits) = (
                runner.clone(),
                targets.clone(),
                snapshots.clone(),
                permits.clone(),
            );
            tasks.spawn(async move {
                let _permit = permits.acquire().await.expect("never closed");
                let recording =
                    suite::record_one(&runner, &targets, &snapshots, &scenario, args.accept);
                let recorded = catch_panic(recording)
                    .await
                    .unwrap_or_else(|panic| Recorded::Error(suite::djc_fault(&panic)));
                (scenario.id, recorded)
            });
        }
        let mut results = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            results
                .push(joined.map_err(|e| Exit::Failed(format!("a recording task failed: {e}")))?);
        }
        results.sort_by(|a, b| a.0.cmp(&b.0));
        Ok::<_, Exit>(results)
    };
    let results = work.await?;
    let (mut pending, mut failed) = (0, 0);
    for (id, recorded) in &results {
        match recorded {
            Recorded::Written(Written::Unchanged) => println!("{id}: unchanged"),
            Recorded::Written(Written::Accepted) => println!("{id}: written"),
            Recorded::Written(Written::Pending(path)) => {
                pending += 1;
                println!("{id}: new or changed, pending review at {}", path.display());
            }
            Recorded::Unstable(fields) => {
                failed += 1;
                println!(
                    "{id}: NOT recorded, Django is not stable across two runs:\n  {}",
                    fields.join("\n\n").replace('\n', "\n  ")
                );
            }
            Recorded::Error(error) => {
                failed += 1;
                println!("{id}: NOT recorded: {}", error.replace('\n', "\n  "));
            }
        }
    }
    if pending > 0 {
        println!(
            "\n{pending} snapshot(s) pending: review them with `cargo insta review` (or record with --accept)"
        );
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn diff(scenario: Option<&str>, report_path: &Path) -> Result<ExitCode, Exit> {
    let text = std::fs::read_to_string(report_path).map_err(|e| {
        Exit::BadInput(format!(
            "cannot read {}: {e} (run `djc run` first)",
            report_path.display()
        ))
    })?;
    let report: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Exit::BadInput(format!(
            "{} is not a djc report: {e}",
            report_path.display()
        ))
    })?;
    print!(
        "{}",
        report::diff_text(&report, scenario).map_err(Exit::BadInput)?
    );
    Ok(ExitCode::SUCCESS)
}

fn list(select: &SelectArgs) -> Result<ExitCode, Exit> {
    let (scenarios, _, _) = load(select)?;
    for scenario in scenarios {
        let tags = if scenario.tags.is_empty() {
            String::new()
        } else {
            format!(" [{}]", scenario.tags.join(", "))
        };
        println!("{}{tags}  {}", scenario.id, scenario.description);
    }
    Ok(ExitCode::SUCCESS)
}

fn new_scenario(id: &str, root: &Path) -> Result<ExitCode, Exit> {
    let valid = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    let parts: Vec<&str> = id.split('/').collect();
    if parts.len() != 2 || !parts.iter().all(|p| valid(p)) || parts[1].starts_with('_') {
        return Err(Exit::BadInput(format!(
            "{id:?} is not <topic>/<name> (letters, digits, `_`, `-`)"
        )));
    }
    let path = root.join(format!("{id}.toml"));
    if path.exists() {
        return Err(Exit::BadInput(format!("{} already exists", path.display())));
    }
    let template = format!(
        "description = \"TODO: the Django behaviour this checks\"\ntags = []\n\n\
         # Each [[step]] is one request; see django_reference/CONTRACT.md for the endpoints.\n\
         [[step]]\nname = \"set a cookie\"\nmethod = \"POST\"\npath = \"/{topic}/set\"\n\
         json = {{ ops = [{{ op = \"set_cookie\", key = \"example\", value = \"1\" }}] }}\n\n\
         [[step]]\nname = \"read it back\"\npath = \"/{topic}/read\"\n",
        topic = parts[0]
    );
    write_file(&path, &template)?;
    println!(
        "wrote {}: edit it, then `djc record --topic {}` and review the snapshot",
        path.display(),
        parts[0]
    );
    Ok(ExitCode::SUCCESS)
}

async fn serve(
    app: App,
    port: u16,
    profile_name: &str,
    scenarios: &[PathBuf],
    django_dir: PathBuf,
    started: &Started,
) -> Result<ExitCode, Exit> {
    let profiles = Profiles::load(scenarios).map_err(|e| Exit::BadInput(e.to_string()))?;
    let profile = profiles
        .get(profile_name)
        .ok_or_else(|| Exit::BadInput(format!("unknown profile {profile_name:?}")))?
        .clone();
    match app {
        App::Rust => {
            let settings = crate::reference::Settings::with_overrides(&serde_json::Value::Object(
                profile.settings.clone(),
            ))
            .map_err(|e| Exit::BadInput(e.to_string()))?;
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .map_err(|e| Exit::Failed(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
            println!(
                "rust app (profile {profile_name}) on http://127.0.0.1:{port}/ — Ctrl-C stops it"
            );
            crate::app::serve(listener, settings).await;
        }
        App::Django => {
            let target = started.add(Arc::new(
                DjangoLocal::new(django_dir, Path::new(STATE_DIR).join("logs")).with_port(port),
            ));
            let instance = target
                .instance(&profile)
                .await
                .map_err(|e| Exit::Failed(e.to_string()))?;
            println!(
                "django {} (profile {profile_name}) on {} — Ctrl-C stops it",
                instance.provenance.django_version, instance.base_url
            );
            std::future::pending::<()>().await;
        }
    }
    Ok(ExitCode::SUCCESS)
}
