//! What djc is doing, as it does it: setup phases that may take a while (building the Python
//! environment or an image, starting Django) and then the scenarios. On a terminal they are
//! spinners and a bar; elsewhere (CI logs) one line when a phase starts and one when a long one
//! ends.

use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where progress goes. Cheap to clone: clones draw on the same display.
#[derive(Clone)]
pub struct Progress {
    /// `None`: not a terminal, so plain lines.
    display: Option<MultiProgress>,
    quiet: bool,
}

impl Progress {
    /// On stderr: drawn when it is a terminal, plain lines otherwise.
    pub fn stderr() -> Progress {
        use std::io::IsTerminal;
        let display = std::io::stderr()
            .is_terminal()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Progress {
            display,
            quiet: false,
        }
    }

    /// Nothing shown (tests, and commands whose output is their result).
    pub fn hidden() -> Progress {
        Progress {
            display: None,
            quiet: true,
        }
    }

    /// A setup step; it ends with [`Phase::done`], or silently when dropped.
    pub fn phase(&self, text: impl Into<String>) -> Phase {
        let text = text.into();
        let spinner = match &self.display {
            Some(display) => {
                let spinner = display.add(ProgressBar::new_spinner());
                spinner.set_style(
                    ProgressStyle::with_template("{spinner} {prefix} {wide_msg:.dim}")
                        .expect("a valid template"),
                );
                spinner.set_prefix(text.clone());
                spinner.enable_steady_tick(Duration::from_millis(120));
                Some(spinner)
            }
            None => {
                if !self.quiet {
                    eprintln!("djc: {text}");
                }
                None
            }
        };
        Phase {
            spinner,
            text,
            started: Instant::now(),
            quiet: self.quiet,
        }
    }

    /// The bar of the scenarios.
    pub fn bar(&self, len: usize) -> ProgressBar {
        let Some(display) = &self.display else {
            return ProgressBar::hidden();
        };
        let bar = display.add(ProgressBar::new(len as u64));
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").expect("a valid template"),
        );
        bar
    }

    /// A line for the user, above any spinner or bar.
    pub fn say(&self, line: &str) {
        match &self.display {
            Some(display) => {
                let _ = display.println(format!("djc: {line}"));
            }
            None if !self.quiet => eprintln!("djc: {line}"),
            None => {}
        }
    }
}

/// One setup step in progress.
pub struct Phase {
    spinner: Option<ProgressBar>,
    text: String,
    started: Instant,
    quiet: bool,
}

impl Phase {
    /// The latest line of the step's own output, shown beside it on a terminal.
    pub fn detail(&self, line: &str) {
        if let Some(spinner) = &self.spinner {
            spinner.set_message(line.trim().to_owned());
        }
    }

    /// The step is over; a step that took a while says how long.
    pub fn done(self) {
        let took = self.started.elapsed();
        let line = format!("{} ({:.0} s)", self.text, took.as_secs_f64());
        if let Some(spinner) = &self.spinner {
            spinner
                .set_style(ProgressStyle::with_template("✓ {prefix}").expect("a valid template"));
            spinner.set_prefix(line);
            spinner.finish();
        } else if !self.quiet && took >= Duration::from_secs(1) {
            eprintln!("djc: done: {line}");
        }
    }
}

impl Drop for Phase {
    fn drop(&mut self) {
        if let Some(spinner) = &self.spinner
            && !spinner.is_finished()
        {
            spinner.finish_and_clear();
        }
    }
}
