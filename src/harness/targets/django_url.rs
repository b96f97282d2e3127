//! A Django that is already running (`--django-url`). It runs one cell and one settings profile:
//! it serves the scenarios of that cell and of every profile whose settings are the ones its
//! health check reports.

use url::Url;

use super::{BoxFuture, Instance, Target, TargetError, TargetKind, ask_health};
use crate::harness::cell::Cell;
use crate::harness::profile::Profile;
use crate::reference::Settings;

pub struct DjangoUrl {
    base_url: Url,
    instance: tokio::sync::OnceCell<Result<Instance, TargetError>>,
}

impl DjangoUrl {
    pub fn new(mut base_url: Url) -> DjangoUrl {
        if !base_url.path().ends_with('/') {
            let path = format!("{}/", base_url.path());
            base_url.set_path(&path);
        }
        DjangoUrl {
            base_url,
            instance: Default::default(),
        }
    }

    /// The URL the app is served at, ending in `/`.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }
}

impl Target for DjangoUrl {
    fn kind(&self) -> TargetKind {
        TargetKind::Django
    }

    fn describe(&self) -> String {
        format!("django (already running at {})", self.base_url)
    }

    fn instance<'a>(
        &'a self,
        cell: Cell,
        profile: &'a Profile,
    ) -> BoxFuture<'a, Result<Instance, TargetError>> {
        Box::pin(async move {
            let instance = self
                .instance
                .get_or_init(|| ask_health(&self.base_url, TargetKind::Django))
                .await
                .clone()?;
            if instance.cell != cell {
                return Err(TargetError(format!(
                    "the Django at {} runs the cell {} (Django {}), not {cell}: select its cell \
                     with --django-version {} --server {}",
                    self.base_url,
                    instance.cell,
                    instance.provenance.django_version,
                    instance.cell.django,
                    instance.cell.server
                )));
            }
            let expected = Settings::with_overrides_for(
                cell.django,
                &serde_json::Value::Object(profile.settings.clone()),
            )
            .map_err(|e| TargetError(format!("profile {:?}: {e}", profile.name)))?
            .to_json();
            if instance.settings != expected {
                return Err(TargetError(format!(
                    "the Django at {} runs the settings {}, and profile {:?} needs {}: start it with \
                     DJC_SETTINGS='{}', or select that profile's scenarios only (--profile)",
                    self.base_url,
                    instance.settings,
                    profile.name,
                    expected,
                    profile.settings_json()
                )));
            }
            Ok(instance)
        })
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}
