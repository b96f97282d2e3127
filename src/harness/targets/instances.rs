//! One lazily started instance per cell and profile, shared by every scenario that needs it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::{Instance, TargetError};

type Cell<H> = Arc<OnceCell<Result<(Instance, Arc<H>), TargetError>>>;

/// Instances keyed by cell and profile ([`super::instance_key`]); `H` is whatever keeps an instance alive (a task, a process).
pub(crate) struct Instances<H> {
    cells: Mutex<HashMap<String, Cell<H>>>,
}

impl<H> Default for Instances<H> {
    fn default() -> Self {
        Instances {
            cells: Mutex::new(HashMap::new()),
        }
    }
}

impl<H: Send + Sync> Instances<H> {
    /// The instance for `key` and what keeps it alive, starting it with `start` if no one has
    /// yet. A failed start is remembered, so every scenario of that cell and profile reports the
    /// same error without retrying.
    pub async fn get_or_start<F, Fut>(
        &self,
        key: &str,
        start: F,
    ) -> Result<(Instance, Arc<H>), TargetError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(Instance, H), TargetError>>,
    {
        let cell = self
            .cells
            .lock()
            .expect("instances lock")
            .entry(key.to_owned())
            .or_default()
            .clone();
        let started = cell
            .get_or_init(|| async {
                start()
                    .await
                    .map(|(instance, handle)| (instance, Arc::new(handle)))
            })
            .await;
        started
            .as_ref()
            .map(|(instance, handle)| (instance.clone(), handle.clone()))
            .map_err(Clone::clone)
    }

    /// The handle of `key`'s instance, if it has started.
    pub fn get(&self, key: &str) -> Option<Arc<H>> {
        let cell = self.cells.lock().expect("instances lock").get(key)?.clone();
        match cell.get() {
            Some(Ok((_, handle))) => Some(handle.clone()),
            _ => None,
        }
    }

    /// Every started handle, leaving them in place.
    pub fn started(&self) -> Vec<Arc<H>> {
        let cells: Vec<_> = self
            .cells
            .lock()
            .expect("instances lock")
            .values()
            .cloned()
            .collect();
        handles(&cells)
    }

    /// Every started handle, leaving the set empty. The handles may still be shared (a
    /// scenario cut off by Ctrl-C can hold one), so stopping goes through `&H`.
    pub fn take_all(&self) -> Vec<Arc<H>> {
        let cells: Vec<_> = self
            .cells
            .lock()
            .expect("instances lock")
            .drain()
            .map(|(_, cell)| cell)
            .collect();
        handles(&cells)
    }
}

/// The handles of the cells whose start succeeded.
fn handles<H>(cells: &[Cell<H>]) -> Vec<Arc<H>> {
    cells
        .iter()
        .filter_map(|cell| match cell.get() {
            Some(Ok((_, handle))) => Some(handle.clone()),
            _ => None,
        })
        .collect()
}
