//! Prometheus metrics: queue depth and jobs by state (read from the database at scrape time,
//! so they are the same on every node sharing it), and this node's proving-time histogram and
//! finished-job counters.

use prometheus::{Encoder, Histogram, HistogramOpts, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};
use zkinfer_client::api::JobState;

/// This node's metrics.
pub struct Metrics {
    registry: Registry,
    jobs: IntGaugeVec,
    prove_seconds: Histogram,
    queue_seconds: Histogram,
    finished: IntCounterVec,
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let jobs = IntGaugeVec::new(Opts::new("zkinfer_jobs", "Jobs in the database by state"), &["state"])?;
        let buckets = vec![0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];
        let prove_seconds = Histogram::with_opts(
            HistogramOpts::new("zkinfer_prove_seconds", "Time to prove one job on this node").buckets(buckets.clone()),
        )?;
        let queue_seconds = Histogram::with_opts(
            HistogramOpts::new("zkinfer_queue_seconds", "Time from acceptance to the start of the proof")
                .buckets(buckets),
        )?;
        let finished = IntCounterVec::new(
            Opts::new("zkinfer_jobs_finished_total", "Jobs this node finished, by outcome"),
            &["outcome"],
        )?;
        registry.register(Box::new(jobs.clone()))?;
        registry.register(Box::new(prove_seconds.clone()))?;
        registry.register(Box::new(queue_seconds.clone()))?;
        registry.register(Box::new(finished.clone()))?;
        Ok(Metrics { registry, jobs, prove_seconds, queue_seconds, finished })
    }

    /// Records a finished proof attempt.
    pub fn finished(&self, outcome: &str, queue_s: f64, prove_s: f64) {
        self.finished.with_label_values(&[outcome]).inc();
        self.queue_seconds.observe(queue_s);
        self.prove_seconds.observe(prove_s);
    }

    /// The text exposition, with the job counts `counts` from the database.
    pub fn render(&self, counts: &[(JobState, i64)]) -> String {
        for state in [JobState::Queued, JobState::Running, JobState::Done, JobState::Failed, JobState::Cancelled] {
            let n = counts.iter().find(|(s, _)| *s == state).map_or(0, |(_, n)| *n);
            self.jobs.with_label_values(&[state.as_str()]).set(n);
        }
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for the text format.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        let depth = counts.iter().find(|(s, _)| *s == JobState::Queued).map_or(0, |(_, n)| *n);
        let mut text = String::from_utf8_lossy(&out).into_owned();
        text.push_str(&format!(
            "# HELP zkinfer_queue_depth Jobs waiting for a worker\n# TYPE zkinfer_queue_depth gauge\nzkinfer_queue_depth {depth}\n"
        ));
        text
    }
}
