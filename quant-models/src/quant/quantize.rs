//! Quantization: float graph + calibrated ranges → [`QuantModel`].
//!
//! Scales are powers of two. Each activation tensor gets the largest `frac_bits` that keeps its
//! calibrated maximum (plus margin) inside `activation_bits`; each weight tensor likewise inside
//! `weight_bits`. Every linear op's accumulator is followed by one `Requant` that also applies
//! the activation consuming it, when there is exactly one such consumer.

use super::calibrate::Ranges;
use super::ir::*;
use super::tables::{activation_table, exp_table};
use crate::error::{ModelError, Result};
use crate::graph::{ActFn, FloatGraph, FloatNode, FloatOp, TensorId};

/// Widest accumulator the integer inference (i64, with i128 rescaling) accepts.
const MAX_ACC_BITS: u32 = 62;

/// Quantizes `graph` with scales chosen from `ranges`.
pub fn quantize(graph: &FloatGraph, ranges: &Ranges, config: QuantConfig) -> Result<QuantModel> {
    for (what, bits) in [
        ("weight_bits", config.weight_bits),
        ("activation_bits", config.activation_bits),
        ("table_bits", config.table_bits),
    ] {
        if !(2..=24).contains(&bits) {
            return Err(ModelError::format("quantization config", format!("{what} = {bits} is outside 2..=24")));
        }
    }
    let mut q = Quantizer {
        graph,
        ranges,
        config,
        model: QuantModel {
            name: graph.name.clone(),
            config,
            tensors: vec![],
            inputs: vec![],
            outputs: vec![],
            nodes: vec![],
        },
        map: vec![None; graph.tensors.len()],
        fused: vec![false; graph.nodes.len()],
    };
    for &id in &graph.inputs {
        let t = q.activation_tensor(id, config.activation_bits);
        q.model.inputs.push(t);
    }
    for (index, node) in graph.nodes.iter().enumerate() {
        if !q.fused[index] {
            q.node(index, node)?;
        }
    }
    q.model.outputs = graph.outputs.iter().map(|&o| q.mapped(o)).collect::<Result<_>>()?;
    Ok(q.model)
}

struct Quantizer<'a> {
    graph: &'a FloatGraph,
    ranges: &'a Ranges,
    config: QuantConfig,
    model: QuantModel,
    map: Vec<Option<TensorId>>,
    fused: Vec<bool>,
}

/// Largest `frac_bits` with `max_abs · 2^frac ≤ 2^(bits-1) - 1`.
fn frac_bits_for(max_abs: f64, bits: u32) -> i32 {
    let limit = ((1i64 << (bits - 1)) - 1) as f64;
    if !(max_abs.is_finite() && max_abs > 0.0) {
        return bits as i32 - 2;
    }
    ((limit / max_abs).log2().floor() as i32).clamp(-32, 32)
}

/// The integer rescale `(mult, shift)` with `mult / 2^shift ≈ factor / 2^diff`: exact for a
/// power of two (`factor = 1`), else with a 15-bit multiplier (relative error below 2^-15).
fn rescale(diff: i32, factor: f64) -> Option<(i64, u32)> {
    if factor == 1.0 {
        return Some(if diff >= 0 { (1, diff as u32) } else { (1i64 << (-diff).min(61), 0) });
    }
    let m = factor * (-(diff as f64)).exp2();
    if !(m.is_finite() && m > 0.0) {
        return None;
    }
    let shift = (14 - m.log2().floor() as i32).clamp(0, 61) as u32;
    let mult = (m * (shift as f64).exp2()).round();
    (mult >= 1.0 && mult < (1u64 << 29) as f64).then_some((mult as i64, shift))
}

fn bits_for_bound(bound: i128) -> u32 {
    128 - bound.unsigned_abs().leading_zeros() + 1
}

fn quantize_values(values: &[f64], frac: i32, bits: Option<u32>) -> Vec<i64> {
    let scale = (frac as f64).exp2();
    values
        .iter()
        .map(|v| {
            let q = (v * scale).round() as i64;
            bits.map_or(q, |b| {
                let (lo, hi) = signed_range(b);
                q.clamp(lo, hi)
            })
        })
        .collect()
}

impl Quantizer<'_> {
    fn mapped(&self, float: TensorId) -> Result<TensorId> {
        self.map[float].ok_or_else(|| ModelError::OutOfRange {
            tensor: self.graph.tensors[float].name.clone(),
            reason: "used before it is produced".into(),
        })
    }

    fn push_tensor(&mut self, name: String, shape: Vec<usize>, frac_bits: i32, bits: u32) -> TensorId {
        self.model.tensors.push(QTensor { name, shape, frac_bits, bits });
        self.model.tensors.len() - 1
    }

    /// Adds the quantized twin of float tensor `id` with a scale from its calibrated range.
    fn activation_tensor(&mut self, id: TensorId, bits: u32) -> TensorId {
        let info = &self.graph.tensors[id];
        let frac = frac_bits_for(self.ranges.max_abs[id] * (1.0 + self.config.margin), bits);
        let t = self.push_tensor(info.name.clone(), info.shape.clone(), frac, bits);
        self.map[id] = Some(t);
        t
    }

    fn emit(&mut self, name: &str, op: QOp, inputs: Vec<TensorId>, output: TensorId) {
        self.model.nodes.push(QNode { name: name.to_string(), op, inputs, output });
    }

    /// The activation that alone consumes `float_out`, if any: it is fused into the requant.
    fn fusable_activation(&self, index: usize, float_out: TensorId) -> Option<(usize, ActFn)> {
        if self.graph.outputs.contains(&float_out) {
            return None;
        }
        let mut consumers =
            self.graph.nodes.iter().enumerate().skip(index + 1).filter(|(_, n)| n.inputs.contains(&float_out));
        let (ci, consumer) = consumers.next()?;
        match (consumers.next(), &consumer.op) {
            (None, FloatOp::Activation(f)) => Some((ci, *f)),
            _ => None,
        }
    }

    fn accumulator(&mut self, node: &FloatNode, frac: i32, bound: i128) -> Result<TensorId> {
        let bits = bits_for_bound(bound);
        if bits > MAX_ACC_BITS {
            return Err(ModelError::OutOfRange {
                tensor: node.name.clone(),
                reason: format!(
                    "accumulator needs {bits} bits (limit {MAX_ACC_BITS}); use fewer weight or activation bits"
                ),
            });
        }
        let shape = self.graph.tensors[node.output].shape.clone();
        Ok(self.push_tensor(format!("{}:acc", node.name), shape, frac, bits))
    }

    /// Emits the requant of accumulator `acc` into float tensor `node.output`, fused with the
    /// activation that consumes it when there is one.
    /// `factor` is a real rescale on top of the scales (a mean's `1/n`).
    fn requant(&mut self, index: usize, node: &FloatNode, acc: TensorId, factor: f64) -> Result<()> {
        let (target, act) = match self.fusable_activation(index, node.output) {
            Some((ci, f)) => {
                self.fused[ci] = true;
                (self.graph.nodes[ci].output, Some(f))
            }
            None => (node.output, None),
        };
        self.requant_into(&node.name, acc, node.output, target, act, factor)
    }

    /// `pre` is the float tensor before the activation (whose range sets a table's domain scale).
    fn requant_into(
        &mut self,
        name: &str,
        acc: TensorId,
        pre: TensorId,
        target: TensorId,
        act: Option<ActFn>,
        factor: f64,
    ) -> Result<()> {
        let ab = self.config.activation_bits;
        let out = self.activation_tensor(target, ab);
        let out_frac = self.model.tensors[out].frac_bits;
        let (dom_frac, domain, activation) = match act {
            None => (out_frac, signed_range(ab), Activation::Identity),
            Some(ActFn::Relu) => (out_frac, signed_range(ab), Activation::Relu),
            Some(f) => {
                let tb = self.config.table_bits;
                let frac = frac_bits_for(self.ranges.max_abs[pre] * (1.0 + self.config.margin), tb);
                let domain = signed_range(tb);
                (frac, domain, Activation::Table { func: f, values: activation_table(f, domain, frac, out_frac, ab) })
            }
        };
        let acc_t = &self.model.tensors[acc];
        let (mult, shift) = rescale(acc_t.frac_bits - dom_frac, factor).ok_or_else(|| ModelError::OutOfRange {
            tensor: name.to_string(),
            reason: format!("rescale by {factor} · 2^{} has no integer form", dom_frac - acc_t.frac_bits),
        })?;
        if bits_for_bound((1i128 << (acc_t.bits - 1)) * mult as i128) > MAX_ACC_BITS {
            return Err(ModelError::OutOfRange {
                tensor: name.to_string(),
                reason: format!("rescale by {mult} overflows"),
            });
        }
        self.emit(name, QOp::Requant { mult, shift, domain, activation }, vec![acc], out);
        Ok(())
    }

    fn weights(&self, values: &[f64]) -> (i32, Vec<i64>) {
        let max = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let frac = frac_bits_for(max, self.config.weight_bits);
        (frac, quantize_values(values, frac, Some(self.config.weight_bits)))
    }

    fn node(&mut self, index: usize, node: &FloatNode) -> Result<()> {
        let x = self.mapped(node.inputs[0])?;
        let (x_frac, x_bits) = (self.model.tensors[x].frac_bits, self.model.tensors[x].bits);
        let x_max = 1i128 << (x_bits - 1);
        match &node.op {
            FloatOp::Dense { weight, bias, inputs, outputs } => {
                let (inputs, outputs, wb) = (*inputs, *outputs, self.config.weight_bits);
                self.linear(index, node, x, weight, bias, |weight, bias, weight_frac_bits| QOp::Dense {
                    weight,
                    bias,
                    inputs,
                    outputs,
                    weight_frac_bits,
                    weight_bits: wb,
                })
            }
            FloatOp::Conv { weight, bias, window, group } => {
                let (window, group, wb) = (*window, *group, self.config.weight_bits);
                self.linear(index, node, x, weight, bias, |weight, bias, weight_frac_bits| QOp::Conv {
                    weight,
                    bias,
                    window,
                    group,
                    weight_frac_bits,
                    weight_bits: wb,
                })
            }
            FloatOp::Add { subtract } => {
                let b = self.mapped(node.inputs[1])?;
                let (b_frac, b_bits) = (self.model.tensors[b].frac_bits, self.model.tensors[b].bits);
                let frac = x_frac.max(b_frac);
                let a_mult = 1i64 << (frac - x_frac);
                let b_mult = (1i64 << (frac - b_frac)) * if *subtract { -1 } else { 1 };
                let bound = x_max * a_mult as i128 + (1i128 << (b_bits - 1)) * b_mult.abs() as i128;
                let acc = self.accumulator(node, frac, bound)?;
                self.emit(&node.name, QOp::Add { a_mult, b_mult }, vec![x, b], acc);
                self.requant(index, node, acc, 1.0)
            }
            FloatOp::Affine { mul, add } => {
                let (mf, qm) = self.weights(mul);
                let qa = quantize_values(add, x_frac + mf, None);
                let bound =
                    qm.iter().zip(&qa).map(|(m, a)| m.abs() as i128 * x_max + a.abs() as i128).max().unwrap_or(0);
                let acc = self.accumulator(node, x_frac + mf, bound)?;
                self.emit(&node.name, QOp::Affine { mul: qm, add: qa }, vec![x], acc);
                self.requant(index, node, acc, 1.0)
            }
            FloatOp::Activation(ActFn::Relu) => {
                // ReLU of an activation keeps its scale: no table needed.
                let op = QOp::Requant { mult: 1, shift: 0, domain: signed_range(x_bits), activation: Activation::Relu };
                self.same_scale(node, op, vec![x])
            }
            FloatOp::Activation(f) => {
                // An activation not fused into a requant (its input is already an activation).
                let ab = self.config.activation_bits;
                let out = self.activation_tensor(node.output, ab);
                let out_frac = self.model.tensors[out].frac_bits;
                let domain = signed_range(x_bits);
                let activation =
                    Activation::Table { func: *f, values: activation_table(*f, domain, x_frac, out_frac, ab) };
                self.emit(&node.name, QOp::Requant { mult: 1, shift: 0, domain, activation }, vec![x], out);
                Ok(())
            }
            FloatOp::MaxPool(window) => self.same_scale(node, QOp::MaxPool(*window), vec![x]),
            FloatOp::ReduceMax { axes } => self.same_scale(node, QOp::ReduceMax { axes: axes.clone() }, vec![x]),
            FloatOp::AvgPool { window, count_include_pad } => {
                self.same_scale(node, QOp::AvgPool { window: *window, count_include_pad: *count_include_pad }, vec![x])
            }
            FloatOp::Softmax { axis } => {
                let ab = self.config.activation_bits;
                let exp_table = exp_table(x_frac, (1i64 << x_bits) - 1);
                let info = &self.graph.tensors[node.output];
                let out = self.push_tensor(info.name.clone(), info.shape.clone(), ab as i32 - 2, ab);
                self.map[node.output] = Some(out);
                self.emit(&node.name, QOp::Softmax { axis: *axis, exp_table }, vec![x], out);
                Ok(())
            }
            FloatOp::Product(p) => {
                let c = self.mapped(node.inputs[1])?;
                let (c_frac, c_bits) = (self.model.tensors[c].frac_bits, self.model.tensors[c].bits);
                let bound = (p.k as i128) * x_max * (1i128 << (c_bits - 1));
                let acc = self.accumulator(node, x_frac + c_frac, bound)?;
                self.emit(&node.name, QOp::Product(*p), vec![x, c], acc);
                self.requant(index, node, acc, 1.0)
            }
            FloatOp::ReduceSum { axes, scale } => {
                let n = self.graph.tensors[node.inputs[0]].len() / self.graph.tensors[node.output].len().max(1);
                let acc = self.accumulator(node, x_frac, n as i128 * x_max)?;
                self.emit(&node.name, QOp::ReduceSum { axes: axes.clone() }, vec![x], acc);
                self.requant(index, node, acc, *scale)
            }
            FloatOp::Rewire { map } => {
                let ins = node.inputs.iter().map(|&i| self.mapped(i)).collect::<Result<Vec<_>>>()?;
                let frac = ins.iter().map(|&i| self.model.tensors[i].frac_bits).min().unwrap_or(0);
                let bits = ins.iter().map(|&i| self.model.tensors[i].bits).max().unwrap_or(self.config.activation_bits);
                let mut aligned = Vec::with_capacity(ins.len());
                for (k, &i) in ins.iter().enumerate() {
                    let t = self.model.tensors[i].clone();
                    if t.frac_bits == frac {
                        aligned.push(i);
                        continue;
                    }
                    // Bring a finer input to the common (coarser) scale.
                    let out = self.push_tensor(format!("{}:align{k}", node.name), t.shape.clone(), frac, t.bits);
                    let shift = (t.frac_bits - frac) as u32;
                    let op =
                        QOp::Requant { mult: 1, shift, domain: signed_range(t.bits), activation: Activation::Identity };
                    self.emit(&format!("{}:align{k}", node.name), op, vec![i], out);
                    aligned.push(out);
                }
                let info = &self.graph.tensors[node.output];
                let out = self.push_tensor(info.name.clone(), info.shape.clone(), frac, bits);
                self.map[node.output] = Some(out);
                self.emit(&node.name, QOp::Rewire { map: map.clone() }, aligned, out);
                Ok(())
            }
        }
    }

    /// A dot-product op (dense or convolution): quantize weights and bias, bound the accumulator
    /// from the actual weights (`|bias| + Σ|w| · max|x|` per output), then requantize.
    fn linear(
        &mut self,
        index: usize,
        node: &FloatNode,
        x: TensorId,
        weight: &[f64],
        bias: &[f64],
        make_op: impl FnOnce(Vec<i64>, Vec<i64>, i32) -> QOp,
    ) -> Result<()> {
        let (x_frac, x_bits) = (self.model.tensors[x].frac_bits, self.model.tensors[x].bits);
        let (wf, qw) = self.weights(weight);
        let qb = quantize_values(bias, x_frac + wf, None);
        let per_out = qw.len() / qb.len().max(1);
        let bound = qw
            .chunks(per_out.max(1))
            .zip(&qb)
            .map(|(row, b)| {
                let weight_sum: i128 = row.iter().map(|w| w.unsigned_abs() as i128).sum();
                b.unsigned_abs() as i128 + (weight_sum << (x_bits - 1))
            })
            .max()
            .unwrap_or(0);
        let acc = self.accumulator(node, x_frac + wf, bound)?;
        self.emit(&node.name, make_op(qw, qb, wf), vec![x], acc);
        self.requant(index, node, acc, 1.0)
    }

    /// Ops whose output keeps the input's scale and width (pools).
    fn same_scale(&mut self, node: &FloatNode, op: QOp, inputs: Vec<TensorId>) -> Result<()> {
        let x = &self.model.tensors[inputs[0]];
        let (frac, bits) = (x.frac_bits, x.bits);
        let info = &self.graph.tensors[node.output];
        let out = self.push_tensor(info.name.clone(), info.shape.clone(), frac, bits);
        self.map[node.output] = Some(out);
        self.emit(&node.name, op, inputs, out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accumulator_width_is_bounded_by_actual_weights() {
        let mut g = FloatGraph::default();
        let x = g.add_tensor("x", vec![1, 2]);
        g.inputs.push(x);
        let dense = FloatOp::Dense { weight: vec![1.0, -0.5], bias: vec![0.25], inputs: 2, outputs: 1 };
        let y = g.add_node("fc", dense, vec![x], "y", vec![1, 1]).unwrap();
        g.outputs.push(y);
        let ranges = Ranges { max_abs: vec![1.0, 1.5], samples: 1 };
        let config = QuantConfig { margin: 0.0, ..QuantConfig::default() };
        let m = quantize(&g, &ranges, config).unwrap();
        // x: frac 6, |x| ≤ 128; w = [64, -32] at frac 6; bias 0.25 at frac 12 = 1024.
        let QOp::Dense { weight, bias, .. } = &m.nodes[0].op else { panic!("{:?}", m.nodes[0].op) };
        assert_eq!((weight.as_slice(), bias.as_slice()), (&[64, -32][..], &[1024][..]));
        // |acc| ≤ 1024 + 96 · 128 = 13312 < 2^14: 15 signed bits.
        let acc = &m.tensors[m.nodes[0].output];
        assert_eq!((acc.frac_bits, acc.bits), (12, 15));
        assert!(matches!(m.nodes[1].op, QOp::Requant { shift: 6, .. }), "{:?}", m.nodes[1].op);
    }

    #[test]
    fn frac_bits_keep_the_maximum_in_range() {
        assert_eq!(frac_bits_for(1.0, 8), 6); // 64 ≤ 127 < 128
        assert_eq!(frac_bits_for(0.9, 8), 7);
        assert_eq!(frac_bits_for(100.0, 8), 0);
        assert_eq!(frac_bits_for(300.0, 8), -2);
        assert_eq!(bits_for_bound(127), 8);
        assert_eq!(bits_for_bound(128), 9);
    }
}
