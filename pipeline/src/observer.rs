//! Where the pipeline's progress and warnings go: the command line shows a spinner and a line
//! per step, the node logs them.

use std::time::{Duration, Instant};

use crate::PipelineError;

/// Receives the pipeline's progress. Every method has a default that ignores it.
pub trait Observer: Sync {
    /// A step that may take seconds begins.
    fn started(&self, _step: &str) {}
    /// The step ended after `took`, with its error when it failed.
    fn finished(&self, _step: &str, _took: Duration, _failed: Option<&PipelineError>) {}
    /// Something the user should know that does not stop the work (an accelerator file not
    /// used, a test setup, a calibration warning).
    fn warning(&self, _message: &str) {}
    /// A fact about how the work runs (which MSM backend was picked).
    fn note(&self, _message: &str) {}
}

/// Ignores everything (tests, benchmarks).
pub struct Silent;

impl Observer for Silent {}

/// Runs `f` as the step `what`, telling `observer`; returns its result and its time.
pub(crate) fn step<T>(
    observer: &dyn Observer,
    what: &str,
    f: impl FnOnce() -> Result<T, PipelineError>,
) -> Result<(T, Duration), PipelineError> {
    observer.started(what);
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    observer.finished(what, took, out.as_ref().err());
    Ok((out?, took))
}
