//! A panic while running one scenario is that scenario's error, with the panic's message and the
//! place it happened, never a disappearance from the run. [`catch_panic`] wraps a future; a panic
//! in any of its polls becomes `Err(Panic)`. The panic hook it installs records the place on the
//! panicking thread and keeps the message off stderr, because the report carries it.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Once;
use std::task::{Context, Poll};

/// A caught panic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panic {
    pub message: String,
    /// `file:line:column`, when the panic said where it came from.
    pub location: Option<String>,
}

impl fmt::Display for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(location) => write!(f, "panicked at {location}: {}", self.message),
            None => write!(f, "panicked: {}", self.message),
        }
    }
}

thread_local! {
    /// Whether this thread is polling a [`catch_panic`] future right now.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    /// Where the last caught panic on this thread happened.
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CATCHING.get() {
                LOCATION.set(info.location().map(ToString::to_string));
            } else {
                previous(info);
            }
        }));
    });
}

/// `future`, with a panic in any of its polls turned into `Err`.
pub fn catch_panic<F: Future>(future: F) -> CatchPanic<F> {
    install_hook();
    CatchPanic {
        inner: Box::pin(future),
    }
}

pub struct CatchPanic<F> {
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, Panic>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let outer = CATCHING.replace(true);
        let polled = catch_unwind(AssertUnwindSafe(|| self.inner.as_mut().poll(cx)));
        CATCHING.set(outer);
        match polled {
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(Panic {
                message: payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "(a panic without a message)".to_owned()),
                location: LOCATION.take(),
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_an_error_with_its_message_and_place() {
        let line = line!() + 3;
        let caught = catch_panic(async {
            tokio::task::yield_now().await;
            panic!("deliberate {}", 42);
        })
        .await;
        let panic = caught.unwrap_err();
        assert_eq!(panic.message, "deliberate 42");
        let location = panic.location.expect("the hook saw the place");
        assert!(
            location.starts_with(&format!("src/harness/panics.rs:{line}:")),
            "{location}"
        );
        assert_eq!(catch_panic(async { 7 }).await, Ok(7));
    }
}
