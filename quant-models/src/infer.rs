//! Exact integer reference inference over a [`QuantModel`]: the single source of truth for the
//! values the prover commits to. Deterministic (integer arithmetic only) and rayon-parallel
//! inside the heavy kernels.

use crate::error::{ModelError, Result};
use crate::float_infer::{axis_split, conv_shape};
use crate::kernels;
use crate::quant::{saturates, Activation, QOp, QuantModel, EXP_FRAC_BITS};

/// Values that had to be clamped into their tensor's range, per tensor: what a proof of this
/// run would attest differs from the unclamped computation, so `prove` refuses it by default.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Saturation {
    /// The tensor whose values were clamped (for a requantization, its output).
    pub tensor: String,
    pub clamped: usize,
    pub total: usize,
    /// The first clamped element: its flat index and its value before clamping (at the
    /// tensor's integer scale).
    pub first: (usize, i64),
    /// The range the values were clamped into.
    pub range: (i64, i64),
}

impl std::fmt::Display for Saturation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (i, v) = self.first;
        write!(
            f,
            "{} of {} values of `{}` outside the provable range [{}, {}] (first: element {i} = {v})",
            self.clamped, self.total, self.tensor, self.range.0, self.range.1
        )
    }
}

/// Every tensor's integer value after a run, plus the saturations that occurred.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// Indexed by tensor id of the model.
    pub values: Vec<Vec<i64>>,
    pub saturations: Vec<Saturation>,
}

impl Trace {
    /// The model outputs, dequantized.
    pub fn dequantized_outputs(&self, model: &QuantModel) -> Vec<Vec<f64>> {
        model
            .outputs
            .iter()
            .map(|&o| self.values[o].iter().map(|&q| model.tensors[o].dequantize(q)).collect())
            .collect()
    }
}

/// Quantizes float inputs (one flat vector per model input): round to the input scale and clamp,
/// counting clamped values. Rejects wrong lengths and non-finite values.
pub fn quantize_inputs(model: &QuantModel, inputs: &[Vec<f64>]) -> Result<(Vec<Vec<i64>>, Vec<Saturation>)> {
    if inputs.len() != model.inputs.len() {
        return Err(ModelError::bad_input(
            "inputs",
            format!("model has {} inputs, got {}", model.inputs.len(), inputs.len()),
        ));
    }
    let mut saturations = Vec::new();
    let mut out = Vec::with_capacity(inputs.len());
    for (&id, data) in model.inputs.iter().zip(inputs) {
        let t = &model.tensors[id];
        if data.len() != t.len() {
            return Err(ModelError::bad_input(
                &t.name,
                format!("expected {} values (shape {:?}), got {}", t.len(), t.shape, data.len()),
            ));
        }
        if let Some(bad) = data.iter().find(|v| !v.is_finite()) {
            return Err(ModelError::bad_input(&t.name, format!("non-finite value {bad}")));
        }
        let (lo, hi) = t.range();
        let scale = (t.frac_bits as f64).exp2();
        let mut counter = SaturationCounter::new(&t.name, data.len(), (lo, hi));
        let q = data
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let r = (v * scale).round();
                if r < lo as f64 || r > hi as f64 {
                    // Saturating float-to-int cast: the reported value is exact up to i64's range.
                    counter.count(i, r as i64);
                }
                (r.clamp(lo as f64, hi as f64)) as i64
            })
            .collect();
        saturations.extend(counter.finish());
        out.push(q);
    }
    Ok((out, saturations))
}

/// Runs the model on integer inputs (already at the input scales) and returns the full trace.
pub fn run(model: &QuantModel, inputs: Vec<Vec<i64>>) -> Result<Trace> {
    if inputs.len() != model.inputs.len() {
        return Err(ModelError::bad_input(
            "inputs",
            format!("model has {} inputs, got {}", model.inputs.len(), inputs.len()),
        ));
    }
    let mut values: Vec<Vec<i64>> = vec![Vec::new(); model.tensors.len()];
    for (&id, data) in model.inputs.iter().zip(inputs) {
        let t = &model.tensors[id];
        let (lo, hi) = t.range();
        if data.len() != t.len() {
            return Err(ModelError::bad_input(&t.name, format!("expected {} values, got {}", t.len(), data.len())));
        }
        if let Some(v) = data.iter().find(|v| **v < lo || **v > hi) {
            return Err(ModelError::bad_input(&t.name, format!("integer {v} outside [{lo}, {hi}]")));
        }
        values[id] = data;
    }
    let mut saturations = Vec::new();
    for node in &model.nodes {
        let x = &values[node.inputs[0]];
        let in_shape = &model.tensors[node.inputs[0]].shape;
        let out_t = &model.tensors[node.output];
        let y = match &node.op {
            QOp::Dense { weight, bias, inputs, outputs, .. } => kernels::dense(x, weight, bias, *inputs, *outputs),
            QOp::Conv { weight, bias, window, group, .. } => {
                kernels::conv2d(x, weight, bias, conv_shape(in_shape, &out_t.shape, *group), window)
            }
            QOp::Requant { mult, shift, domain, activation } => {
                let mut counter = SaturationCounter::new(&out_t.name, x.len(), *domain);
                let y = requant(x, *mult, *shift, *domain, activation, &mut counter);
                saturations.extend(counter.finish());
                y
            }
            QOp::Add { a_mult, b_mult } => {
                x.iter().zip(&values[node.inputs[1]]).map(|(a, b)| a * a_mult + b * b_mult).collect()
            }
            QOp::Affine { mul, add } => x.iter().zip(mul).zip(add).map(|((v, m), a)| v * m + a).collect(),
            QOp::MaxPool(win) => kernels::max_pool(x, in_shape[1], in_shape[2], in_shape[3], win),
            QOp::AvgPool { window, count_include_pad } => {
                let (h, w) = (in_shape[2], in_shape[3]);
                let (oh, ow) = (out_t.shape[2], out_t.shape[3]);
                let sums = kernels::sum_pool(x, in_shape[1], h, w, window);
                sums.iter()
                    .enumerate()
                    .map(|(i, &s)| {
                        let n = if *count_include_pad {
                            window.kernel[0] * window.kernel[1]
                        } else {
                            window.taps_inside((i / ow) % oh, i % ow, h, w)
                        } as i64;
                        (2 * s + n).div_euclid(2 * n)
                    })
                    .collect()
            }
            QOp::Product(p) => kernels::product(x, &values[node.inputs[1]], *p),
            QOp::ReduceSum { axes } => kernels::reduce_sum(x, in_shape, axes),
            QOp::ReduceMax { axes } => kernels::reduce_max(x, in_shape, axes),
            QOp::Softmax { axis, exp_table } => softmax(x, in_shape, *axis, exp_table, out_t.frac_bits),
            QOp::Rewire { map } => {
                map.iter().map(|m| m.map_or(0, |(k, e)| values[node.inputs[k as usize]][e as usize])).collect()
            }
        };
        values[node.output] = y;
    }
    Ok(Trace { values, saturations })
}

/// Quantizes float inputs and runs the model; input saturations are reported in the trace.
pub fn run_float_inputs(model: &QuantModel, inputs: &[Vec<f64>]) -> Result<Trace> {
    let (q, mut input_saturations) = quantize_inputs(model, inputs)?;
    let mut trace = run(model, q)?;
    input_saturations.append(&mut trace.saturations);
    trace.saturations = input_saturations;
    Ok(trace)
}

/// Counts the saturated elements of one tensor and remembers the first.
struct SaturationCounter {
    report: Saturation,
}

impl SaturationCounter {
    fn new(tensor: &str, total: usize, range: (i64, i64)) -> Self {
        SaturationCounter { report: Saturation { tensor: tensor.to_string(), clamped: 0, total, first: (0, 0), range } }
    }

    fn count(&mut self, index: usize, value: i64) {
        if self.report.clamped == 0 {
            self.report.first = (index, value);
        }
        self.report.clamped += 1;
    }

    fn finish(self) -> Option<Saturation> {
        (self.report.clamped > 0).then_some(self.report)
    }
}

/// The requantization's output; every quotient that [`saturates`] is counted.
fn requant(
    x: &[i64],
    mult: i64,
    shift: u32,
    (lo, hi): (i64, i64),
    act: &Activation,
    counter: &mut SaturationCounter,
) -> Vec<i64> {
    let half = if shift == 0 { 0 } else { 1i128 << (shift - 1) };
    x.iter()
        .enumerate()
        .map(|(i, &acc)| {
            let t = ((acc as i128 * mult as i128 + half) >> shift) as i64;
            if saturates(t, (lo, hi), act) {
                counter.count(i, t);
            }
            let c = t.clamp(lo, hi);
            match act {
                Activation::Identity => c,
                Activation::Relu => c.max(0),
                Activation::Table { values, .. } => values[(c - lo) as usize],
            }
        })
        .collect()
}

fn softmax(x: &[i64], shape: &[usize], axis: usize, exp_table: &[i64], out_frac: i32) -> Vec<i64> {
    let (outer, n, inner) = axis_split(shape, axis);
    let last = exp_table.len() - 1;
    let one = 1i128 << out_frac.max(0);
    let mut y = vec![0; x.len()];
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| o * n * inner + k * inner + i;
            let max = (0..n).map(|k| x[at(k)]).max().unwrap_or(0);
            let e: Vec<i64> = (0..n).map(|k| exp_table[((max - x[at(k)]) as usize).min(last)]).collect();
            let s: i128 = e.iter().map(|&v| v as i128).sum();
            for k in 0..n {
                y[at(k)] = ((2 * e[k] as i128 * one + s).div_euclid(2 * s)) as i64;
            }
        }
    }
    debug_assert!(exp_table[0] == 1 << EXP_FRAC_BITS);
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requant_rounds_half_up_and_clamps() {
        let mut counter = SaturationCounter::new("y", 5, (-128, 127));
        let y = requant(&[5, 6, -5, -6, 1000], 1, 2, (-128, 127), &Activation::Identity, &mut counter);
        // 5/4 = 1.25 → 1; 6/4 = 1.5 → 2; -5/4 = -1.25 → -1; -6/4 = -1.5 → -1 (half up); 250 → 127.
        assert_eq!(y, vec![1, 2, -1, -1, 127]);
        let report = counter.finish().unwrap();
        assert_eq!((report.clamped, report.first), (1, (4, 250)));
        // A ReLU's input below the range is not a saturation: its output is exactly 0.
        let mut counter = SaturationCounter::new("y", 2, (-128, 127));
        let y = requant(&[-1000, 3], 1, 0, (-128, 127), &Activation::Relu, &mut counter);
        assert_eq!((y, counter.finish()), (vec![0, 3], None));
    }

    #[test]
    fn integer_softmax_sums_to_about_one() {
        let table = crate::quant::exp_table(4, 255);
        let y = softmax(&[16, 0, -16, 16], &[1, 4], 1, &table, 6);
        assert_eq!(y[0], y[3]);
        assert!(y[0] > y[1] && y[1] > y[2]);
        let total: i64 = y.iter().sum();
        assert!((total - 64).abs() <= 2, "{y:?}");
    }
}
