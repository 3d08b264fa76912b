//! `zkinfer bench`: setup, prove and verify cost of the shipped models and a 1.13 M-parameter
//! MLP, each in its own process so that its peak RSS is its own.

use std::process::Command;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use zkinfer_circuits::planner::Objective;
use zkinfer_prover::ProveOptions;
use zkinfer_quant_models::compile::pack_samples;
use zkinfer_quant_models::onnx::{synth_inputs, synth_onnx, SynthSpec, TractModel};
use zkinfer_quant_models::QuantConfig;
use zkinfer_verifier::{verify_with, Policy, VerifierKey};

use crate::progress::Terminal;
use crate::shipped::{example, names, Example};
use zkinfer_pipeline::{compile, prove_input, Calibration, Loaded, Source, Target};

/// The synthetic MLP of the design notes: 64 → 1024 → 1024 → 10.
const BIG_MLP: &str = "mlp-64-1024-1024-10";

/// The synthetic model a name describes: `mlp-IN-H-…-H-CLASSES` (equal hidden widths),
/// `cnn-SIZE-C0-C1-…-CLASSES` (image side, channels per block) or `attn-SEQ-WIDTH` (one
/// self-attention head).
pub fn synthetic(name: &str) -> Option<SynthSpec> {
    let (family, rest) = name.split_once('-')?;
    let n: Vec<usize> = rest.split('-').map(str::parse).collect::<Result<_, _>>().ok()?;
    if n.contains(&0) {
        return None;
    }
    let (&last, middle) = n.split_last()?;
    match family {
        "mlp" if n.len() >= 3 && middle[1..].iter().all(|&h| h == middle[1]) => {
            Some(SynthSpec::Mlp { inputs: middle[0], hidden: middle[1], depth: middle.len() - 1, classes: last })
        }
        "cnn" if n.len() >= 3 => {
            Some(SynthSpec::Cnn { size: middle[0], channels: middle[1..].to_vec(), classes: last })
        }
        "attn" if n.len() == 2 => Some(SynthSpec::Attention { seq: n[0], width: n[1] }),
        _ => None,
    }
}

/// The name `synthetic` reads back as `spec`.
pub fn synthetic_name(spec: &SynthSpec) -> String {
    let parts: Vec<usize> = match spec {
        SynthSpec::Mlp { inputs, hidden, depth, classes } => {
            [*inputs].into_iter().chain(std::iter::repeat_n(*hidden, *depth)).chain([*classes]).collect()
        }
        SynthSpec::Cnn { size, channels, classes } => {
            [*size].into_iter().chain(channels.clone()).chain([*classes]).collect()
        }
        SynthSpec::Attention { seq, width } => vec![*seq, *width],
    };
    let family = match spec {
        SynthSpec::Mlp { .. } => "mlp",
        SynthSpec::Cnn { .. } => "cnn",
        SynthSpec::Attention { .. } => "attn",
    };
    let numbers: Vec<String> = parts.iter().map(ToString::to_string).collect();
    format!("{family}-{}", numbers.join("-"))
}

fn one() -> usize {
    1
}

/// One model's measurements.
#[derive(Debug, Serialize, Deserialize)]
pub struct BenchRow {
    pub model: String,
    /// Samples per proof.
    #[serde(default = "one")]
    pub batch: usize,
    pub parameters: usize,
    pub k: u32,
    pub rows: usize,
    pub advice: usize,
    pub fixed: usize,
    pub lookups: usize,
    pub setup_s: f64,
    /// Median over the repeats.
    pub prove_s: f64,
    /// Median of `prove`'s check of its own proof (not included in `prove_s`).
    #[serde(default)]
    pub self_check_ms: f64,
    pub verify_ms: f64,
    pub proof_bytes: usize,
    pub pk_bytes: usize,
    pub peak_rss_mib: Option<f64>,
    pub macs: usize,
    pub nonlinear_elements: usize,
    /// Median of plain f32 inference through tract, the same input.
    pub float_infer_ms: f64,
}

impl BenchRow {
    /// Proving overhead: prove time ÷ plain inference time.
    pub fn overhead(&self) -> f64 {
        self.prove_s * 1e3 / self.float_infer_ms
    }
}

const RESULT_PREFIX: &str = "bench-result ";

/// A shipped model, or a synthetic one named as [`synthetic`] reads.
pub(super) fn case(name: &str) -> anyhow::Result<Example> {
    let Some(spec) = synthetic(name) else {
        return example(name);
    };
    let (onnx, shape) = synth_onnx(&spec, 1);
    let len = shape.iter().product();
    let samples = synth_inputs(len, 32, 1).into_iter().map(|x| vec![x]).collect();
    let input = synth_inputs(len, 1, 2);
    Ok(Example { name: name.to_string(), onnx, calibration: Calibration { samples, labels: Vec::new() }, input })
}

/// [`case`] for `batch` samples per proof: its input is the example input followed by
/// calibration samples, its calibration set packed.
pub(super) fn batched_case(name: &str, batch: usize) -> anyhow::Result<Example> {
    let mut ex = case(name)?;
    if batch > 1 {
        let samples: Vec<Vec<Vec<f64>>> =
            std::iter::once(ex.input.clone()).chain(ex.calibration.samples.iter().cloned()).take(batch).collect();
        ex.input = pack_samples(&samples, batch).swap_remove(0);
        ex.calibration = ex.calibration.packed(batch);
    }
    Ok(ex)
}

pub(super) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Peak resident memory of this process (Linux), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Measures one model, proving `batch` samples at once, in this process and prints the result
/// line the parent reads.
pub fn run_one(name: &str, repeat: usize, objective: Objective, batch: usize) -> anyhow::Result<()> {
    let ex = batched_case(name, batch)?;
    let source = Source { onnx: &ex.onnx, name: &ex.name, batch };
    let terminal = Terminal::default();
    let target = Target { config: QuantConfig::default(), public_input: true, objective, srs: None };
    let art = compile(source, &ex.calibration, target, &terminal)?;
    let stats = art.compiled.float.stats();
    let shapes: Vec<Vec<usize>> = art.key.spec().inputs.iter().map(|t| t.shape.clone()).collect();
    let tract = TractModel::load(&ex.onnx, &shapes)?;
    let float_infer_ms = median(
        (0..repeat.max(1) * 10)
            .map(|_| {
                let t = Instant::now();
                tract.run(&ex.input).map(|_| t.elapsed().as_secs_f64() * 1e3)
            })
            .collect::<Result<_, _>>()?,
    );
    let (card, setup_s, pk_bytes) = (art.card, art.keygen.as_secs_f64(), art.key.to_bytes().len());
    let key = VerifierKey::from_bytes(&art.key.verifier.to_bytes())?;
    let loaded = Loaded { compiled: art.compiled, key: art.key, params: art.params };
    let (mut proves, mut checks, mut verifies, mut proof_bytes) = (Vec::new(), Vec::new(), Vec::new(), 0);
    // Cost is what is measured: an input that saturates costs the same to prove.
    let options = ProveOptions { allow_saturation: true, self_check: true };
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        let (bundle, timings) = prove_input(&loaded, &ex.input, options, &terminal)?;
        proves.push((t.elapsed() - timings.self_check).as_secs_f64());
        checks.push(timings.self_check.as_secs_f64() * 1e3);
        let t = Instant::now();
        verify_with(&bundle, &key, &key.model_id(), Policy { allow_insecure_srs: true })?;
        verifies.push(t.elapsed().as_secs_f64() * 1e3);
        proof_bytes = bundle.proof.len();
    }
    let row = BenchRow {
        model: name.to_string(),
        batch,
        parameters: card.parameters,
        k: card.k,
        rows: card.rows,
        advice: card.columns.advice,
        fixed: card.columns.fixed,
        lookups: card.columns.lookups,
        setup_s,
        prove_s: median(proves),
        self_check_ms: median(checks),
        verify_ms: median(verifies),
        proof_bytes,
        pk_bytes,
        peak_rss_mib: peak_rss_mib(),
        macs: stats.macs,
        nonlinear_elements: stats.nonlinear_elements,
        float_infer_ms,
    };
    println!("{RESULT_PREFIX}{}", serde_json::to_string(&row)?);
    Ok(())
}

/// Measures `name` at `batch` samples per proof in a child process of this executable, so that
/// its peak RSS is its own.
pub fn measure(name: &str, repeat: usize, objective: Objective, batch: usize) -> anyhow::Result<BenchRow> {
    let exe = std::env::current_exe()?;
    let optimize = if objective == Objective::ProofSize { "proof" } else { "prove" };
    let (repeat, batch) = (repeat.to_string(), batch.to_string());
    let out = Command::new(&exe)
        .args(["bench", "--only", name, "--repeat", &repeat, "--optimize", optimize, "--batch", &batch])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(line) = text.lines().find_map(|l| l.strip_prefix(RESULT_PREFIX)) else {
        anyhow::bail!("bench of {name} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    };
    Ok(serde_json::from_str(line)?)
}

/// Runs each model in a child process and prints the table; with `batch` above 1, each model
/// also proves `batch` samples at once, and a last table sets that against `batch` single proofs.
pub fn run(
    models: &[String],
    repeat: usize,
    objective: Objective,
    batch: usize,
    json: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let all: Vec<String> = names().map(String::from).chain([BIG_MLP.to_string()]).collect();
    let models = if models.is_empty() { &all[..] } else { models };
    println!(
        "{:<22} {:>9} {:>3} {:>7} {:>5} {:>5} {:>4} {:>8} {:>8} {:>8} {:>9} {:>7} {:>10} {:>8}",
        "model",
        "params",
        "k",
        "rows",
        "adv",
        "fix",
        "lkp",
        "setup s",
        "prove s",
        "check ms",
        "verify ms",
        "proof B",
        "pk B",
        "RSS MiB"
    );
    let mut rows = Vec::new();
    let batches = if batch > 1 { vec![1, batch] } else { vec![1] };
    for (m, &b) in models.iter().flat_map(|m| batches.iter().map(move |b| (m, b))) {
        let r = measure(m, repeat, objective, b)?;
        let label = if b > 1 { format!("{m} ×{b}") } else { m.clone() };
        println!(
            "{:<22} {:>9} {:>3} {:>7} {:>5} {:>5} {:>4} {:>8.2} {:>8.3} {:>8.1} {:>9.1} {:>7} {:>10} {:>8.0}",
            label,
            r.parameters,
            r.k,
            r.rows,
            r.advice,
            r.fixed,
            r.lookups,
            r.setup_s,
            r.prove_s,
            r.self_check_ms,
            r.verify_ms,
            r.proof_bytes,
            r.pk_bytes,
            r.peak_rss_mib.unwrap_or(f64::NAN)
        );
        rows.push(r);
    }
    if batch > 1 {
        println!("\n{:<22} {:>14} {:>16} {:>7}", "model", "one proof s", "N single s", "ratio");
        for pair in rows.chunks(2) {
            if let [single, batched] = pair {
                let singles = single.prove_s * batched.batch as f64;
                println!(
                    "{:<22} {:>14.3} {:>16.3} {:>7.2}",
                    format!("{} ×{}", single.model, batched.batch),
                    batched.prove_s,
                    singles,
                    batched.prove_s / singles
                );
            }
        }
    }
    if let Some(path) = json {
        zkinfer_pipeline::write_atomic(path, serde_json::to_string_pretty(&rows)?.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_names_round_trip_and_reject_nonsense() {
        for name in ["mlp-64-1024-1024-10", "mlp-8-3-2", "cnn-16-1-8-8-10", "cnn-28-1-4-10"] {
            let spec = synthetic(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(synthetic_name(&spec), name);
        }
        for name in
            ["mlp-64-10", "mlp-64-32-16-10", "mlp-0-4-4-10", "cnn-16-10", "rnn-1-2-3", "mlp", "mlp-a-b-c", "digits-cnn"]
        {
            assert!(synthetic(name).is_none(), "{name}");
        }
    }
}
