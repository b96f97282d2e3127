//! A Django that is already running (`--django-url`). It was started with one settings profile,
//! which this target takes to be `default`.

use url::Url;

use super::{BoxFuture, Instance, Target, TargetError, TargetKind, health_check};
use crate::harness::profile::{DEFAULT_PROFILE, Profile};

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
            if profile.name != DEFAULT_PROFILE {
                return Err(TargetError(format!(
                    "profile {:?} needs its own Django instance, and --django-url serves one (taken as `default`); \
                     run without --django-url to let djc start one per profile",
                    profile.name
                )));
            }
            self.instance
                .get_or_init(|| health_check(&self.base_url, TargetKind::Django))
                .await
                .clone()
        })
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}
