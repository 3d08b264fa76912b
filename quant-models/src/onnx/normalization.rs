//! Normalizations built from exact ops: LayerNormalization, InstanceNormalization and
//! LogSoftmax. The statistics are sums (exact), the only tables are `1/√…` and `ln`, and the
//! final scaling is one product.

use tract_onnx::pb::NodeProto;

use super::attrs;
use super::computed::{broadcast_to, internal, normalise_axes};
use super::import::{Ctx, Val};
use super::translate::{broadcast_index, constant, tensor, unsupported};
use crate::error::Result;
use crate::graph::{ActFn, FloatOp, TensorId};
use crate::kernels::ProductShape;

/// `(x − mean) / √(var + ε)` over the trailing axes from `axis` on: the mean, the deviation
/// `d`, the exact sum of squares `Σ d·d` per group (no rounding before the sum) rescaled
/// straight into a `1/√(Σ/n + ε)` table, then `d · 1/√…`. Returns the normalized tensor, the
/// mean and the inverse deviation (shapes keep the reduced axes as 1).
fn normalize(ctx: &mut Ctx, node: &NodeProto, x: TensorId, axis: usize) -> Result<(TensorId, TensorId, TensorId)> {
    let shape = ctx.graph.tensors[x].shape.clone();
    let axes: Vec<usize> = (axis..shape.len()).collect();
    let n: usize = shape[axis..].iter().product();
    let total: usize = shape.iter().product();
    let stats: Vec<usize> = shape.iter().enumerate().map(|(i, &d)| if i < axis { d } else { 1 }).collect();
    let mean = FloatOp::ReduceSum { axes, scale: 1.0 / n as f64 };
    let mean = internal(ctx, node, "mean", mean, vec![x], stats.clone())?;
    let mean_b = broadcast_to(ctx, node, mean, &shape, "mean_b")?;
    let d = internal(ctx, node, "deviation", FloatOp::Add { subtract: true }, vec![x, mean_b], shape.clone())?;
    // The reduced axes are the trailing ones: each group is `n` consecutive elements.
    let groups = ProductShape { batch: total / n, m: 1, k: n, n: 1 };
    let squares = internal(ctx, node, "sum_of_squares", FloatOp::Product(groups), vec![d, d], stats.clone())?;
    let inv = ActFn::InvSqrt { divisor: n as f64, epsilon: attrs::float(node, "epsilon", 1e-5) };
    let inv_std = internal(ctx, node, "inv_std", FloatOp::Activation(inv), vec![squares], stats)?;
    let inv_b = broadcast_to(ctx, node, inv_std, &shape, "inv_std_b")?;
    let product = FloatOp::Product(ProductShape::elementwise(total));
    let normalized = internal(ctx, node, "normalized", product, vec![d, inv_b], shape)?;
    Ok((normalized, mean, inv_std))
}

/// Constant input `ix` of `node` (or `default` everywhere), laid out over `shape` from
/// `from_shape`, the constant's shape as it broadcasts.
fn per_element(
    ctx: &Ctx,
    node: &NodeProto,
    ix: usize,
    what: &str,
    default: f64,
    shape: &[usize],
    as_shape: impl Fn(Vec<usize>) -> Vec<usize>,
) -> Result<Vec<f64>> {
    match ctx.opt_val(node, ix)? {
        None => Ok(vec![default; shape.iter().product()]),
        Some(v) => {
            let (s, data) = constant(node, v, what)?;
            let s = as_shape(s);
            let index = broadcast_index(&s, shape)
                .ok_or_else(|| unsupported(node, format!("{what} of shape {s:?} does not fit {shape:?}")))?;
            Ok(index.into_iter().map(|i| data[i]).collect())
        }
    }
}

/// LayerNormalization over the axes from `axis` on, with its optional Mean and InvStdDev
/// outputs.
pub(super) fn layer_norm(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let x = tensor(node, ctx.val(node, 0)?, "the input")?;
    let shape = ctx.graph.tensors[x].shape.clone();
    let axis = normalise_axes(node, &[attrs::int(node, "axis", -1)], shape.len())?[0];
    let (normalized, mean, inv_std) = normalize(ctx, node, x, axis)?;
    let mul = per_element(ctx, node, 1, "the scale", 1.0, &shape, |s| s)?;
    let add = per_element(ctx, node, 2, "the bias", 0.0, &shape, |s| s)?;
    ctx.push(node, FloatOp::Affine { mul, add }, vec![normalized])?;
    for (ix, t) in [(1, mean), (2, inv_std)] {
        if let Some(name) = node.output.get(ix).filter(|o| !o.is_empty()) {
            ctx.env.insert(name.clone(), Val::Tensor(t));
        }
    }
    Ok(())
}

/// InstanceNormalization: each channel of each sample normalized over its spatial axes, then
/// the per-channel scale and bias.
pub(super) fn instance_norm(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let x = tensor(node, ctx.val(node, 0)?, "the input")?;
    let shape = ctx.graph.tensors[x].shape.clone();
    if shape.len() < 3 {
        return Err(unsupported(node, format!("input shape {shape:?}: need [N, C, spatial…]")));
    }
    let (normalized, _, _) = normalize(ctx, node, x, 2)?;
    // A `[C]` constant laid along axis 1.
    let channel = |s: Vec<usize>| [s, vec![1; shape.len() - 2]].concat();
    let mul = per_element(ctx, node, 1, "the scale", 1.0, &shape, channel)?;
    let add = per_element(ctx, node, 2, "the bias", 0.0, &shape, channel)?;
    ctx.push(node, FloatOp::Affine { mul, add }, vec![normalized])?;
    Ok(())
}

/// LogSoftmax: `d = x − max`, then `d − ln Σ exp(d)` along the axis (the axes from `axis` on
/// before opset 13).
pub(super) fn log_softmax(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let x = tensor(node, ctx.val(node, 0)?, "the input")?;
    let shape = ctx.graph.tensors[x].shape.clone();
    let default = if ctx.opset >= 13 { -1 } else { 1 };
    let axis = normalise_axes(node, &[attrs::int(node, "axis", default)], shape.len())?[0];
    let axes: Vec<usize> = if ctx.opset >= 13 { vec![axis] } else { (axis..shape.len()).collect() };
    let stats: Vec<usize> = shape.iter().enumerate().map(|(i, &d)| if axes.contains(&i) { 1 } else { d }).collect();
    let max = internal(ctx, node, "max", FloatOp::ReduceMax { axes: axes.clone() }, vec![x], stats.clone())?;
    let max_b = broadcast_to(ctx, node, max, &shape, "max_b")?;
    let d = internal(ctx, node, "shifted", FloatOp::Add { subtract: true }, vec![x, max_b], shape.clone())?;
    let e = internal(ctx, node, "exp", FloatOp::Activation(ActFn::Exp), vec![d], shape.clone())?;
    let sum = internal(ctx, node, "sum", FloatOp::ReduceSum { axes, scale: 1.0 }, vec![e], stats.clone())?;
    let log = internal(ctx, node, "log_sum", FloatOp::Activation(ActFn::Ln), vec![sum], stats)?;
    let log_b = broadcast_to(ctx, node, log, &shape, "log_sum_b")?;
    ctx.push(node, FloatOp::Add { subtract: true }, vec![d, log_b])?;
    Ok(())
}
