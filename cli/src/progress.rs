//! One line per step with its time; a spinner while a step runs (steps can take seconds and
//! halo2 reports no progress of its own).

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Runs `f` under a spinner labelled `what` and prints `what` with the elapsed time when done,
/// on stderr (stdout is for results: a bundle written with `-o -`, JSON).
pub fn step<T>(what: &str, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<(T, Duration)> {
    let bar = ProgressBar::new_spinner().with_message(what.to_string());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
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
