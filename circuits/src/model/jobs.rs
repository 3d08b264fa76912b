//! The work of each node in chip terms: pooling windows, reduction groups, dot-product jobs,
//! and the lanes they are spread over.

use std::ops::Range;

use halo2_proofs::plonk::Error;
use zkinfer_quant_models::kernels::reduce_groups;
use zkinfer_quant_models::quant::{QOp, QuantModel};
use zkinfer_quant_models::window::Window2d;

use crate::chips::conv::{conv_jobs, conv_jobs_shape};
use crate::chips::dense::{DenseShape, DotJob};

/// The taps inside the input of each pooling window, as input element indices.
pub(super) fn pool_windows(input: &[usize], output: &[usize], window: &Window2d) -> Vec<Vec<usize>> {
    let (c, h, w, oh, ow) = (input[1], input[2], input[3], output[2], output[3]);
    let mut out = Vec::with_capacity(c * oh * ow);
    for ch in 0..c {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut taps = Vec::new();
                for ky in 0..window.kernel[0] {
                    for kx in 0..window.kernel[1] {
                        if let Some((iy, ix)) = window.input_at(oy, ox, ky, kx, h, w) {
                            taps.push((ch * h + iy) * w + ix);
                        }
                    }
                }
                out.push(taps);
            }
        }
    }
    out
}

/// The element indices of each softmax group along `axis`, in row-major order of the others.
pub(super) fn axis_groups(shape: &[usize], axis: usize) -> Vec<Vec<usize>> {
    let n = shape.get(axis).copied().unwrap_or(1);
    let inner: usize = shape.iter().skip(axis + 1).product();
    let outer: usize = shape.iter().take(axis).product();
    (0..outer).flat_map(|o| (0..inner).map(move |i| (0..n).map(|k| (o * n + k) * inner + i).collect())).collect()
}

/// The divisor of an average-pool window: the kernel area, or the taps inside the input.
pub(super) fn avg_divisor<T>(taps: &[T], window: &Window2d, count_include_pad: bool) -> usize {
    if count_include_pad {
        window.kernel[0] * window.kernel[1]
    } else {
        taps.len()
    }
}

/// `0..n` cut into at most `parts` contiguous pieces of near-equal size.
pub(super) fn chunks(n: usize, parts: usize) -> impl Iterator<Item = Range<usize>> {
    let size = n.div_ceil(parts.max(1)).max(1);
    (0..n).step_by(size).map(move |s| s..(s + size).min(n))
}

/// Row cursors of a chip's lanes; work goes to the lowest lane.
#[derive(Clone, Debug)]
pub(super) struct Lanes(Vec<usize>);

impl Lanes {
    pub(super) fn new(n: usize) -> Self {
        Lanes(vec![0; n])
    }

    /// Reserves `rows` on the least-used lane: `(lane, first row)`.
    pub(super) fn place(&mut self, rows: usize) -> Result<(usize, usize), Error> {
        let (lane, &start) = self.0.iter().enumerate().min_by_key(|(_, &h)| h).ok_or(Error::Synthesis)?;
        self.0[lane] += rows;
        Ok((lane, start))
    }

    pub(super) fn height(&self) -> usize {
        self.0.iter().copied().max().unwrap_or(0)
    }
}

/// Elementwise `out[i] = bias[i] + Σ_j weights[j][i] · x_j[i]` over `inputs` operands (each
/// `n` long, concatenated in `x`), `group` elements per job so one packed row serves several.
pub(super) fn elementwise_jobs(x: &[i64], n: usize, weights: &[&[i64]], bias: &[i64], group: usize) -> Vec<DotJob> {
    let operands = weights.len();
    chunks(n, n.div_ceil(group.max(1)))
        .map(|c| {
            let g = c.len();
            let taps: Vec<usize> = (0..operands).flat_map(|j| c.clone().map(move |i| j * n + i)).collect();
            // Output `o` reads tap `j·g + o` with its operand's weight; every other tap weighs 0.
            let weight = (0..g)
                .flat_map(|o| (0..operands * g).map(move |t| (o, t)))
                .map(|(o, t)| if t % g == o { weights[t / g][c.start + o] } else { 0 })
                .collect();
            DotJob {
                values: taps.iter().map(|&t| x[t]).collect(),
                taps: taps.into_iter().map(Some).collect(),
                weight,
                bias: bias[c.clone()].to_vec(),
                outputs: c.collect(),
            }
        })
        .collect()
}

/// One plain sum per group of input elements (reductions, average-pool windows before their
/// division): weights 1, no bias.
pub(super) fn sum_jobs(groups: Vec<Vec<usize>>, x: &[i64]) -> Vec<DotJob> {
    groups
        .into_iter()
        .enumerate()
        .map(|(o, taps)| DotJob {
            values: taps.iter().map(|&i| x[i]).collect(),
            weight: vec![1; taps.len()],
            taps: taps.into_iter().map(Some).collect(),
            bias: vec![0],
            outputs: vec![o],
        })
        .collect()
}

/// The dot-product jobs of a node (dense blocks of outputs split across lanes, convolution
/// pixels, average-pool windows, elementwise affine maps and sums), reading input values from
/// `x`: the node's inputs concatenated.
pub(super) fn dot_jobs(
    model: &QuantModel,
    node: &zkinfer_quant_models::quant::QNode,
    x: &[i64],
    lanes: usize,
    packing: DenseShape,
) -> Vec<DotJob> {
    let (input, output) = (&model.tensors[node.inputs[0]].shape, &model.tensors[node.output].shape);
    let n = model.tensors[node.output].len();
    match &node.op {
        QOp::Affine { mul, add } => elementwise_jobs(x, n, &[mul], add, packing.width.min(packing.outputs)),
        QOp::Add { a_mult, b_mult } => {
            let (a, b) = (vec![*a_mult; n], vec![*b_mult; n]);
            elementwise_jobs(x, n, &[&a, &b], &vec![0; n], (packing.width / 2).max(1).min(packing.outputs))
        }
        QOp::Dense { weight, bias, inputs, outputs, .. } => {
            let (n, m) = (*inputs, *outputs);
            let mut jobs = Vec::new();
            for (b, row) in x.chunks(n).enumerate() {
                for outs in chunks(m, lanes) {
                    jobs.push(DotJob {
                        taps: (b * n..(b + 1) * n).map(Some).collect(),
                        values: row.to_vec(),
                        weight: weight[outs.start * n..outs.end * n].to_vec(),
                        bias: bias[outs.clone()].to_vec(),
                        outputs: outs.map(|o| b * m + o).collect(),
                    });
                }
            }
            jobs
        }
        QOp::Conv { weight, bias, window, group, .. } => {
            conv_jobs(&conv_jobs_shape(input, output, *group, window), window, weight, bias, x)
        }
        QOp::ReduceSum { axes } => sum_jobs(reduce_groups(input, axes), x),
        QOp::AvgPool { window, .. } => sum_jobs(pool_windows(input, output, window), x),
        _ => Vec::new(),
    }
}
