//! Reports people read: per-tensor calibration (range, scale, error against float) and model
//! accuracy over a labelled set (argmax agreement, top-1 float vs quantized, output error).

use rayon::prelude::*;
use serde::Serialize;

use crate::error::Result;
use crate::float_infer::run_float;
use crate::infer::run_float_inputs;
use crate::model_file::CompiledModel;

/// One quantized tensor's calibration outcome.
#[derive(Clone, Debug, Serialize)]
pub struct TensorReport {
    pub name: String,
    pub shape: Vec<usize>,
    pub float_max_abs: f64,
    pub frac_bits: i32,
    pub bits: u32,
    /// Largest |dequantized − float| over the samples.
    pub max_abs_error: f64,
}

/// Accuracy of the quantized model against the float model.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AccuracyReport {
    pub samples: usize,
    /// Fraction of samples whose argmax (first output) agrees between float and integer inference.
    pub argmax_agreement: f64,
    /// Top-1 accuracy against labels, when labels are given.
    pub float_top1: Option<f64>,
    pub quant_top1: Option<f64>,
    /// Over all output elements of all samples.
    pub max_abs_error: f64,
    pub mean_abs_error: f64,
    /// Samples in which some value saturated.
    pub saturated_samples: usize,
}

/// One sample's float and integer results.
struct SampleOutcome {
    float_class: usize,
    quant_class: usize,
    errors: Vec<f64>,
    saturated: bool,
}

fn argmax(v: &[f64]) -> usize {
    v.iter().enumerate().fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &x)| if x > bv { (i, x) } else { (bi, bv) }).0
}

/// Per-tensor ranges, scales and worst error over `samples` for every quantized tensor that has a
/// float twin of the same name.
pub fn tensor_report(model: &CompiledModel, samples: &[Vec<Vec<f64>>]) -> Result<Vec<TensorReport>> {
    let pairs: Vec<(usize, usize)> = model
        .quant
        .tensors
        .iter()
        .enumerate()
        .filter_map(|(qi, t)| model.float.tensors.iter().rposition(|f| f.name == t.name).map(|fi| (qi, fi)))
        .collect();
    let per_sample = samples.par_iter().map(|s| {
        let f = run_float(&model.float, s)?;
        let q = run_float_inputs(&model.quant, s)?;
        Ok(pairs
            .iter()
            .map(|&(qi, fi)| {
                let t = &model.quant.tensors[qi];
                let max = f[fi].iter().fold(0.0f64, |m, v| m.max(v.abs()));
                let err = q.values[qi].iter().zip(&f[fi]).fold(0.0f64, |m, (&a, b)| m.max((t.dequantize(a) - b).abs()));
                (max, err)
            })
            .collect::<Vec<_>>())
    });
    let stats = per_sample.try_reduce(
        || vec![(0.0, 0.0); pairs.len()],
        |a, b| Ok(a.iter().zip(&b).map(|(x, y)| (x.0.max(y.0), x.1.max(y.1))).collect()),
    )?;
    Ok(pairs
        .iter()
        .zip(stats)
        .map(|(&(qi, _), (float_max_abs, max_abs_error))| {
            let t = &model.quant.tensors[qi];
            TensorReport {
                name: t.name.clone(),
                shape: t.shape.clone(),
                float_max_abs,
                frac_bits: t.frac_bits,
                bits: t.bits,
                max_abs_error,
            }
        })
        .collect())
}

/// Float vs quantized accuracy over samples (labels optional: empty means unlabelled).
pub fn accuracy(model: &CompiledModel, samples: &[Vec<Vec<f64>>], labels: &[usize]) -> Result<AccuracyReport> {
    // A batched model (`--batch N`) answers N samples per run: one row of its output each.
    let out_shape = &model.float.tensors[model.float.outputs[0]].shape;
    let per_run = if out_shape.len() >= 2 { out_shape[0].max(1) } else { 1 };
    let runs = samples
        .par_iter()
        .map(|s| {
            let f = run_float(&model.float, s)?;
            let float_out = &f[model.float.outputs[0]];
            let trace = run_float_inputs(&model.quant, s)?;
            let quant_out = trace.dequantized_outputs(&model.quant).swap_remove(0);
            let row = float_out.len() / per_run;
            let saturated = !trace.saturations.is_empty();
            Ok(float_out
                .chunks(row.max(1))
                .zip(quant_out.chunks(row.max(1)))
                .map(|(f, q)| SampleOutcome {
                    float_class: argmax(f),
                    quant_class: argmax(q),
                    errors: f.iter().zip(q).map(|(a, b)| (a - b).abs()).collect(),
                    saturated,
                })
                .collect::<Vec<_>>())
        })
        .collect::<Result<Vec<_>>>()?;
    let rows: Vec<SampleOutcome> = runs.into_iter().flatten().collect();
    let n = rows.len().max(1) as f64;
    let all_errs: Vec<f64> = rows.iter().flat_map(|r| r.errors.iter().copied()).collect();
    let labelled = rows.len().min(labels.len()).max(1) as f64;
    let top1 = |pick: fn(&SampleOutcome) -> usize| {
        (!labels.is_empty()).then(|| rows.iter().zip(labels).filter(|(r, &l)| pick(r) == l).count() as f64 / labelled)
    };
    Ok(AccuracyReport {
        samples: rows.len(),
        argmax_agreement: rows.iter().filter(|r| r.float_class == r.quant_class).count() as f64 / n,
        float_top1: top1(|r| r.float_class),
        quant_top1: top1(|r| r.quant_class),
        max_abs_error: all_errs.iter().fold(0.0, |m: f64, &e| m.max(e)),
        mean_abs_error: all_errs.iter().sum::<f64>() / all_errs.len().max(1) as f64,
        saturated_samples: rows.iter().filter(|r| r.saturated).count(),
    })
}

/// Where the integer model strays from the float model by more than a tolerance.
#[derive(Clone, Debug, PartialEq)]
pub struct PrecisionLoss {
    /// The model output over the tolerance, its worst error and its largest float magnitude.
    pub output: String,
    pub worst: f64,
    pub output_max_abs: f64,
    /// The first tensor (in computation order) already over the tolerance: where the precision
    /// was lost, and the flag that gives it more.
    pub first_tensor: String,
    pub fix: &'static str,
}

impl std::fmt::Display for PrecisionLoss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "output `{}` is off by up to {:.4} (its values reach {:.4}) on the calibration set; precision is first lost at `{}`: try {}",
            self.output, self.worst, self.output_max_abs, self.first_tensor, self.fix
        )
    }
}

/// Whether `error` is within `tolerance` of a tensor whose values reach `max_abs`:
/// `error ≤ tolerance · max(1, max_abs)`.
pub fn within(error: f64, max_abs: f64, tolerance: f64) -> bool {
    error <= tolerance * max_abs.max(1.0)
}

/// The first output whose worst error over the samples exceeds `tolerance` (relative, see
/// [`within`]), traced back to the tensor where the error first appears.
pub fn precision_loss(model: &CompiledModel, reports: &[TensorReport], tolerance: f64) -> Option<PrecisionLoss> {
    let report_of = |name: &str| reports.iter().find(|r| r.name == name);
    let output = model
        .quant
        .outputs
        .iter()
        .map(|&t| &model.quant.tensors[t].name)
        .find_map(|name| report_of(name).filter(|r| !within(r.max_abs_error, r.float_max_abs, tolerance)))?;
    let first = reports.iter().find(|r| !within(r.max_abs_error, r.float_max_abs, tolerance)).unwrap_or(output);
    let tabulated = model.quant.nodes.iter().any(|n| {
        model.quant.tensors[n.output].name == first.name
            && matches!(&n.op, crate::quant::QOp::Requant { activation: crate::quant::Activation::Table { .. }, .. })
    });
    Some(PrecisionLoss {
        output: output.name.clone(),
        worst: output.max_abs_error,
        output_max_abs: output.float_max_abs,
        first_tensor: first.name.clone(),
        fix: if tabulated { "--table-bits (a finer table domain)" } else { "--activation-bits or --weight-bits" },
    })
}
