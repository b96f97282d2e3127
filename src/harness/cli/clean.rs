//! `djc clean`: removes what djc made on this machine: its containers and networks (but those of
//! a djc still running), its images, the Python environments it built, and `.djc/`.

use std::path::Path;
use std::process::ExitCode;

use super::{Exit, STATE_DIR};
use crate::harness::targets::{self, cache_dir};

pub async fn clean() -> Result<ExitCode, Exit> {
    let mut removed = Vec::new();
    match targets::images::engine_client().await {
        Some(docker) => {
            removed.extend(targets::remove_finished_runs(&docker).await);
            removed.extend(targets::images::remove_all(&docker).await);
        }
        None => println!("no Docker engine answers: no container or image to remove"),
    }
    for folder in [cache_dir(), Path::new(STATE_DIR).to_owned()] {
        if folder.exists() {
            std::fs::remove_dir_all(&folder)
                .map_err(|e| Exit::Failed(format!("cannot remove {}: {e}", folder.display())))?;
            removed.push(folder.display().to_string());
        }
    }
    if removed.is_empty() {
        println!("nothing to remove");
    }
    for what in removed {
        println!("removed {what}");
    }
    Ok(ExitCode::SUCCESS)
}
