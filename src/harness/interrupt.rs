//! Signals that end djc early: Ctrl-C (SIGINT), SIGTERM (a CI cancel, `timeout`) and SIGHUP (a
//! closed terminal). They are watched from start to exit, through every phase: starting Django,
//! running scenarios, writing, and stopping what djc started. Once djc handles a signal the
//! system no longer ends the process for it, so a phase that did not watch would swallow it.

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// A signal djc stops for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Interrupt,
    Terminate,
    Hangup,
}

impl Stop {
    pub fn name(self) -> &'static str {
        match self {
            Stop::Interrupt => "SIGINT",
            Stop::Terminate => "SIGTERM",
            Stop::Hangup => "SIGHUP",
        }
    }

    /// 128 plus the signal's number, as a shell reports a command the signal ended.
    pub fn exit_code(self) -> u8 {
        let number = match self {
            Stop::Interrupt => libc::SIGINT,
            Stop::Terminate => libc::SIGTERM,
            Stop::Hangup => libc::SIGHUP,
        };
        128 + number as u8
    }
}

/// The signals received so far, in order.
#[derive(Clone)]
pub struct Interrupt {
    received: watch::Receiver<Vec<Stop>>,
}

impl Interrupt {
    /// Starts watching. Call it inside the runtime, before anything is started.
    pub fn listen() -> std::io::Result<Interrupt> {
        let mut streams = [
            (Stop::Interrupt, signal(SignalKind::interrupt())?),
            (Stop::Terminate, signal(SignalKind::terminate())?),
            (Stop::Hangup, signal(SignalKind::hangup())?),
        ];
        let (sender, received) = watch::channel(Vec::new());
        tokio::spawn(async move {
            loop {
                let [(_, interrupt), (_, terminate), (_, hangup)] = &mut streams;
                let stop = tokio::select! {
                    _ = interrupt.recv() => Stop::Interrupt,
                    _ = terminate.recv() => Stop::Terminate,
                    _ = hangup.recv() => Stop::Hangup,
                };
                sender.send_modify(|received| received.push(stop));
            }
        });
        Ok(Interrupt { received })
    }

    /// The `n`-th signal (counting from 1), once it has come.
    async fn nth(&self, n: usize) -> Stop {
        let mut received = self.received.clone();
        let seen = received
            .wait_for(|received| received.len() >= n)
            .await
            .expect("the watching task runs as long as the runtime");
        seen[n - 1]
    }

    /// The first signal received so far, if any.
    pub fn received(&self) -> Option<Stop> {
        self.received.borrow().first().copied()
    }

    /// The first signal: stop what runs, then stop every app djc started.
    pub async fn first(&self) -> Stop {
        self.nth(1).await
    }

    /// A second signal: stop at once, without waiting for apps to stop gracefully.
    pub async fn second(&self) -> Stop {
        self.nth(2).await
    }
}
