//! The Django of a run that covers several Django versions: each version may run another way
//! (5.2 as a local process, 6.1 in containers where no Python 3.12 is at hand), so each cell's
//! requests go to the target of its version.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{BoxFuture, Instance, Target, TargetError, TargetKind};
use crate::harness::cell::Cell;
use crate::harness::profile::Profile;
use crate::reference::DjangoVersion;

pub struct ByVersion(BTreeMap<DjangoVersion, Arc<dyn Target>>);

impl ByVersion {
    pub fn new(targets: BTreeMap<DjangoVersion, Arc<dyn Target>>) -> ByVersion {
        ByVersion(targets)
    }

    fn of(&self, cell: Cell) -> Result<&Arc<dyn Target>, TargetError> {
        self.0.get(&cell.django).ok_or_else(|| {
            TargetError(format!(
                "this run started no Django {} (select it with --django-version)",
                cell.django
            ))
        })
    }
}

impl Target for ByVersion {
    fn kind(&self) -> TargetKind {
        TargetKind::Django
    }

    fn describe(&self) -> String {
        self.0
            .values()
            .map(|target| target.describe())
            .collect::<Vec<_>>()
            .join(" and ")
    }

    fn instance<'a>(
        &'a self,
        cell: Cell,
        profile: &'a Profile,
    ) -> BoxFuture<'a, Result<Instance, TargetError>> {
        Box::pin(async move { self.of(cell)?.instance(cell, profile).await })
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let mut stopping = tokio::task::JoinSet::new();
            for target in self.0.values() {
                let target = target.clone();
                stopping.spawn(async move { target.shutdown().await });
            }
            stopping.join_all().await;
        })
    }

    fn diagnose<'a>(&'a self, cell: Cell, profile: &'a Profile) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move { self.of(cell).ok()?.diagnose(cell, profile).await })
    }

    fn kill_now(&self) {
        for target in self.0.values() {
            target.kill_now();
        }
    }
}
