//! The terminal's view of the pipeline: a spinner while a step runs (steps can take seconds
//! and halo2 reports no progress of its own), then one line per step with its time; warnings
//! and notes on stderr (stdout is for results: a bundle written with `-o -`, JSON).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use zkinfer_pipeline::{Observer, PipelineError};

/// Shows the pipeline's progress on stderr.
#[derive(Default)]
pub struct Terminal {
    spinner: Mutex<Option<ProgressBar>>,
}

impl Observer for Terminal {
    fn started(&self, step: &str) {
        if let Ok(mut slot) = self.spinner.lock() {
            *slot = Some(spinner(step));
        }
    }

    fn finished(&self, step: &str, took: Duration, failed: Option<&PipelineError>) {
        if let Some(bar) = self.spinner.lock().ok().and_then(|mut slot| slot.take()) {
            bar.finish_and_clear();
        }
        if failed.is_none() {
            eprintln!("{step:<52} {:>10}", human(took));
        }
    }

    fn warning(&self, message: &str) {
        eprintln!("warning: {message}");
    }

    fn note(&self, message: &str) {
        eprintln!("{message}");
    }
}

fn spinner(what: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(what.to_string());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Runs `f` as a step of the command itself (outside the pipeline), shown like the pipeline's.
pub fn step<T>(what: &str, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<(T, Duration)> {
    let bar = spinner(what);
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    bar.finish_and_clear();
    let out = out?;
    eprintln!("{what:<52} {:>10}", human(took));
    Ok((out, took))
}

/// `12.3 ms` / `4.56 s`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}
