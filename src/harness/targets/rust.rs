//! The Rust reference app, served in process on 127.0.0.1 with a random port.

use tokio::task::JoinHandle;

use super::instances::Instances;
use super::{BoxFuture, Instance, Target, TargetError, TargetKind, health_check, instance_key};
use crate::harness::cell::Cell;
use crate::harness::profile::Profile;
use crate::reference::Settings;

#[derive(Default)]
pub struct RustTarget {
    instances: Instances<JoinHandle<()>>,
}

impl Target for RustTarget {
    fn kind(&self) -> TargetKind {
        TargetKind::Rust
    }

    fn describe(&self) -> String {
        "rust (in process)".to_owned()
    }

    fn instance<'a>(
        &'a self,
        cell: Cell,
        profile: &'a Profile,
    ) -> BoxFuture<'a, Result<Instance, TargetError>> {
        Box::pin(async move {
            let (instance, _server) = self
                .instances
                .get_or_start(&instance_key(cell, profile), || start(cell, profile))
                .await?;
            Ok(instance)
        })
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            for server in self.instances.take_all() {
                server.abort();
            }
        })
    }
}

/// The app emulating `cell`, with `profile`'s settings on that Django's defaults.
async fn start(cell: Cell, profile: &Profile) -> Result<(Instance, JoinHandle<()>), TargetError> {
    let settings = Settings::with_overrides_for(
        cell.django,
        &serde_json::Value::Object(profile.settings.clone()),
    )
    .map_err(|e| {
        TargetError(format!(
            "the Rust app cannot run profile {:?}: {e}",
            profile.name
        ))
    })?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| TargetError(format!("cannot listen on 127.0.0.1: {e}")))?;
    let address = listener
        .local_addr()
        .map_err(|e| TargetError(e.to_string()))?;
    let server = tokio::spawn(crate::app::serve(listener, settings, cell.server));
    let base_url =
        url::Url::parse(&format!("http://{address}/")).expect("a socket address makes a URL");
    match health_check(&base_url, TargetKind::Rust, cell).await {
        Ok(instance) => Ok((instance, server)),
        Err(error) => {
            server.abort();
            Err(error)
        }
    }
}
