//! Exact integer reference inference over a [`QuantModel`]: the single source of truth for the
//! values the prover commits to. Deterministic (integer arithmetic only) and rayon-parallel
//! inside the heavy kernels.

use crate::error::{ModelError, Result};
use crate::float_infer::{axis_split, conv_shape};
use crate::kernels;
use crate::quant::{Activation, QOp, QuantModel, EXP_FRAC_BITS};

/// Values that had to be clamped into their tensor's range, per tensor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Saturation {
    pub tensor: String,
    pub clamped: usize,
    pub total: usize,
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
        let mut clamped = 0;
        let q = data
            .iter()
            .map(|v| {
                let r = (v * scale).round();
                if r < lo as f64 || r > hi as f64 {
                    clamped += 1;
                }
                (r.clamp(lo as f64, hi as f64)) as i64
            })
            .collect();
        if clamped > 0 {
            saturations.push(Saturation { tensor: t.name.clone(), clamped, total: data.len() });
        }
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
                let (y, clamped) = requant(x, *mult, *shift, *domain, activation);
                if clamped > 0 {
                    saturations.push(Saturation { tensor: out_t.name.clone(), clamped, total: x.len() });
                }
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

/// Clamps that change the output are counted; clamping a ReLU's negative side or a bounded
/// function's flat tail is not a loss of information.
fn requant(x: &[i64], mult: i64, shift: u32, (lo, hi): (i64, i64), act: &Activation) -> (Vec<i64>, usize) {
    let half = if shift == 0 { 0 } else { 1i128 << (shift - 1) };
    let mut clamped = 0;
    let y = x
        .iter()
        .map(|&acc| {
            let t = ((acc as i128 * mult as i128 + half) >> shift) as i64;
            let c = t.clamp(lo, hi);
            let counts = match act {
                Activation::Relu => t > hi,
                Activation::Table { func, .. } => t != c && !func_saturates(*func),
                Activation::Identity => t != c,
            };
            clamped += usize::from(counts);
            match act {
                Activation::Identity => c,
                Activation::Relu => c.max(0),
                Activation::Table { values, .. } => values[(c - lo) as usize],
            }
        })
        .collect();
    (y, clamped)
}

fn func_saturates(f: crate::graph::ActFn) -> bool {
    use crate::graph::ActFn::*;
    matches!(f, Sigmoid | Tanh | Clip { .. })
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
        let (y, c) = requant(&[5, 6, -5, -6, 1000], 1, 2, (-128, 127), &Activation::Identity);
        // 5/4 = 1.25 → 1; 6/4 = 1.5 → 2; -5/4 = -1.25 → -1; -6/4 = -1.5 → -1 (half up); 250 → 127.
        assert_eq!(y, vec![1, 2, -1, -1, 127]);
        assert_eq!(c, 1);
        let (y, c) = requant(&[-1000, 3], 1, 0, (-128, 127), &Activation::Relu);
        assert_eq!((y, c), (vec![0, 3], 0));
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
