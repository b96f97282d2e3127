//! `djc serve`: one app on a port, for poking with curl, until a signal ends it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::ValueEnum;

use super::{Exit, STATE_DIR, Started};
use crate::harness::cell::Cell;
use crate::harness::profile::Profiles;
use crate::harness::progress::Progress;
use crate::harness::targets::DjangoLocal;

#[derive(Clone, Copy, ValueEnum)]
pub enum App {
    Rust,
    Django,
}

pub async fn serve(
    app: App,
    port: u16,
    profile_name: &str,
    scenarios: &[PathBuf],
    django_dir: PathBuf,
    cell: Cell,
    started: &Started,
) -> Result<ExitCode, Exit> {
    let profiles = Profiles::load(scenarios).map_err(|e| Exit::BadInput(e.to_string()))?;
    let profile = profiles
        .get(profile_name)
        .ok_or_else(|| Exit::BadInput(format!("unknown profile {profile_name:?}")))?
        .clone();
    match app {
        App::Rust => {
            let settings = crate::reference::Settings::with_overrides_for(
                cell.django,
                &serde_json::Value::Object(profile.settings.clone()),
            )
            .map_err(|e| Exit::BadInput(e.to_string()))?;
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .map_err(|e| Exit::Failed(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
            println!(
                "rust app emulating {cell} (profile {profile_name}) on http://127.0.0.1:{port}/ — \
                 Ctrl-C stops it"
            );
            crate::app::serve(listener, settings, cell.server).await;
        }
        App::Django => {
            let log_dir = Path::new(STATE_DIR).join("logs");
            let progress = Progress::stderr();
            let local = tokio::task::spawn_blocking(move || {
                DjangoLocal::prepare(cell.django, django_dir, log_dir, &progress)
            })
            .await
            .map_err(|e| Exit::Failed(e.to_string()))?
            .map_err(|e| Exit::Setup(e.to_string()))?;
            let target = started.add(Arc::new(local.with_port(port)));
            let instance = target
                .instance(cell, &profile)
                .await
                .map_err(|e| Exit::Setup(e.to_string()))?;
            println!(
                "django {} under {} (profile {profile_name}) on {} — Ctrl-C stops it",
                instance.provenance.django_version, cell.server, instance.base_url
            );
            std::future::pending::<()>().await;
        }
    }
    Ok(ExitCode::SUCCESS)
}
