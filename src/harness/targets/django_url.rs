//! A Django that is already running (`--django-url`). It runs one settings profile: it serves
//! the scenarios of every profile whose settings are the ones its health check reports.

use url::Url;

use super::{BoxFuture, Instance, Target, TargetError, TargetKind, health_check};
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
        profile: &'a Profile,
    ) -> BoxFuture<'a, Result<Instance, TargetError>> {
        Box::pin(async move {
            let instance = self
                .instance
                .get_or_init(|| health_check(&self.base_url, TargetKind::Django))
                .await
                .clone()?;
            let expected =
                Settings::with_overrides(&serde_json::Value::Object(profile.settings.clone()))
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
