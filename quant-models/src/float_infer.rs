//! Float reference inference over a [`FloatGraph`], in f64. Calibration uses it to measure the
//! range of every tensor; tests use it to check the importer against ONNX's own outputs.

use crate::error::{ModelError, Result};
use crate::graph::{FloatGraph, FloatOp};
use crate::kernels::{self, linear::ConvShape};

/// Runs the graph and returns the value of every tensor (indexed by tensor id).
pub fn run_float(graph: &FloatGraph, inputs: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
    if inputs.len() != graph.inputs.len() {
        return Err(ModelError::bad_input(
            "inputs",
            format!("model has {} inputs, got {}", graph.inputs.len(), inputs.len()),
        ));
    }
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); graph.tensors.len()];
    for (&id, data) in graph.inputs.iter().zip(inputs) {
        let info = &graph.tensors[id];
        if data.len() != info.len() {
            return Err(ModelError::bad_input(
                &info.name,
                format!("expected {} values (shape {:?}), got {}", info.len(), info.shape, data.len()),
            ));
        }
        if let Some(bad) = data.iter().find(|v| !v.is_finite()) {
            return Err(ModelError::bad_input(&info.name, format!("non-finite value {bad}")));
        }
        values[id] = data.clone();
    }
    for node in &graph.nodes {
        let x = &values[node.inputs[0]];
        let in_shape = &graph.tensors[node.inputs[0]].shape;
        let out_shape = &graph.tensors[node.output].shape;
        let y = match &node.op {
            FloatOp::Dense { weight, bias, inputs, outputs } => kernels::dense(x, weight, bias, *inputs, *outputs),
            FloatOp::Conv { weight, bias, window, group } => {
                kernels::conv2d(x, weight, bias, conv_shape(in_shape, out_shape, *group), window)
            }
            FloatOp::Activation(f) => x.iter().map(|&v| f.eval(v)).collect(),
            FloatOp::MaxPool(win) => kernels::max_pool(x, in_shape[1], in_shape[2], in_shape[3], win),
            FloatOp::AvgPool { window, count_include_pad } => {
                let (h, w) = (in_shape[2], in_shape[3]);
                let sums = kernels::sum_pool(x, in_shape[1], h, w, window);
                let (oh, ow) = (out_shape[2], out_shape[3]);
                sums.iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let count = if *count_include_pad {
                            window.kernel[0] * window.kernel[1]
                        } else {
                            window.taps_inside((i / ow) % oh, i % ow, h, w)
                        };
                        s / count as f64
                    })
                    .collect()
            }
            FloatOp::Add { subtract } => {
                let b = &values[node.inputs[1]];
                let sign = if *subtract { -1.0 } else { 1.0 };
                x.iter().zip(b).map(|(a, b)| a + sign * b).collect()
            }
            FloatOp::Affine { mul, add } => x.iter().zip(mul).zip(add).map(|((v, m), a)| v * m + a).collect(),
            FloatOp::Softmax { axis } => softmax(x, in_shape, *axis),
            FloatOp::Product(p) => kernels::product(x, &values[node.inputs[1]], *p),
            FloatOp::ReduceMax { axes } => kernels::reduce_max(x, in_shape, axes),
            FloatOp::ReduceSum { axes, scale } => {
                kernels::reduce_sum(x, in_shape, axes).into_iter().map(|s| s * scale).collect()
            }
            FloatOp::Rewire { map } => {
                map.iter().map(|m| m.map_or(0.0, |(k, e)| values[node.inputs[k as usize]][e as usize])).collect()
            }
        };
        values[node.output] = y;
    }
    Ok(values)
}

/// The convolution shape of a `[1, C, H, W] → [1, C', H', W']` node.
pub(crate) fn conv_shape(input: &[usize], output: &[usize], group: usize) -> ConvShape {
    ConvShape { c_in: input[1], h: input[2], w: input[3], c_out: output[1], group, out_h: output[2], out_w: output[3] }
}

/// Splits a shape around `axis` into (outer, axis length, inner) strides.
pub(crate) fn axis_split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (shape[..axis].iter().product(), shape[axis], shape[axis + 1..].iter().product())
}

fn softmax(x: &[f64], shape: &[usize], axis: usize) -> Vec<f64> {
    let (outer, n, inner) = axis_split(shape, axis);
    let mut y = vec![0.0; x.len()];
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| o * n * inner + k * inner + i;
            let max = (0..n).map(|k| x[at(k)]).fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = (0..n).map(|k| (x[at(k)] - max).exp()).sum();
            for k in 0..n {
                y[at(k)] = (x[at(k)] - max).exp() / sum;
            }
        }
    }
    y
}
