//! Ops between computed tensors: broadcasting, elementwise Add/Sub/Mul/Div and MatMul (and
//! Gemm) of two computed operands, reductions, comparisons and selection, PRelu. Broadcasting is a
//! `Rewire` (copy constraints, no rows); products are exact `Product` ops; a quotient is a
//! product with a tabulated reciprocal.

use tract_onnx::pb::NodeProto;

use super::attrs;
use super::import::{node_name, Ctx, Val};
use super::translate::{broadcast_index, const_ints, constant, tensor, transpose_map, unsupported};
use crate::error::Result;
use crate::graph::{ActFn, FloatOp, TensorId};
use crate::kernels::ProductShape;

/// `x` broadcast (numpy rules) to `shape`: itself when the shapes agree, else a `Rewire`.
pub(super) fn broadcast_to(
    ctx: &mut Ctx,
    node: &NodeProto,
    x: TensorId,
    shape: &[usize],
    tag: &str,
) -> Result<TensorId> {
    let from = ctx.graph.tensors[x].shape.clone();
    if from == shape {
        return Ok(x);
    }
    let index = broadcast_index(&from, shape)
        .ok_or_else(|| unsupported(node, format!("shape {from:?} does not broadcast to {shape:?}")))?;
    let map = index.into_iter().map(|e| Some((0, e as u32))).collect();
    internal(ctx, node, tag, FloatOp::Rewire { map }, vec![x], shape.to_vec())
}

/// Adds `op` as an internal node of `node` (named after it with `tag`), returning its output.
pub(super) fn internal(
    ctx: &mut Ctx,
    node: &NodeProto,
    tag: &str,
    op: FloatOp,
    inputs: Vec<TensorId>,
    shape: Vec<usize>,
) -> Result<TensorId> {
    let name = format!("{}:{tag}", node_name(node));
    ctx.graph.add_node(&name, op, inputs, &name, shape)
}

/// Add, Sub, Mul or Div of two computed tensors, with broadcasting.
pub(super) fn binary(ctx: &mut Ctx, node: &NodeProto, a: TensorId, b: TensorId) -> Result<()> {
    let out = ctx.shape(&node.output[0])?;
    let b = if node.op_type == "Div" {
        let shape = ctx.graph.tensors[b].shape.clone();
        internal(ctx, node, "reciprocal", FloatOp::Activation(ActFn::Reciprocal), vec![b], shape)?
    } else {
        b
    };
    let (a, b) = (broadcast_to(ctx, node, a, &out, "a")?, broadcast_to(ctx, node, b, &out, "b")?);
    let op = match node.op_type.as_str() {
        "Add" | "Sub" => FloatOp::Add { subtract: node.op_type == "Sub" },
        _ => FloatOp::Product(ProductShape::elementwise(out.iter().product())),
    };
    ctx.push(node, op, vec![a, b])?;
    Ok(())
}

/// MatMul of two computed tensors (numpy semantics: 1-D operands, broadcast batch axes).
pub(super) fn matmul(ctx: &mut Ctx, node: &NodeProto, a: TensorId, b: TensorId) -> Result<()> {
    let (mut sa, mut sb) = (ctx.graph.tensors[a].shape.clone(), ctx.graph.tensors[b].shape.clone());
    if sa.len() == 1 {
        sa.insert(0, 1);
    }
    if sb.len() == 1 {
        sb.push(1);
    }
    let (m, k, n) = (sa[sa.len() - 2], sa[sa.len() - 1], sb[sb.len() - 1]);
    if sb[sb.len() - 2] != k {
        return Err(unsupported(node, format!("inner dimensions differ: {sa:?} × {sb:?}")));
    }
    // The batch axes broadcast against each other.
    let (ba, bb) = (&sa[..sa.len() - 2], &sb[..sb.len() - 2]);
    let rank = ba.len().max(bb.len());
    let pad = |s: &[usize]| std::iter::repeat_n(1, rank - s.len()).chain(s.iter().copied()).collect::<Vec<_>>();
    let (pa, pb) = (pad(ba), pad(bb));
    let mut batch_shape = Vec::with_capacity(rank);
    for (&x, &y) in pa.iter().zip(&pb) {
        if x != y && x != 1 && y != 1 {
            return Err(unsupported(node, format!("batch axes do not broadcast: {sa:?} × {sb:?}")));
        }
        batch_shape.push(x.max(y));
    }
    let batch: usize = batch_shape.iter().product();
    let full = |tail: [usize; 2]| batch_shape.iter().copied().chain(tail).collect::<Vec<_>>();
    // Reshapes to the padded operand shapes are free: the element order is unchanged.
    let (a_shape, b_shape) = ([pa.clone(), vec![m, k]].concat(), [pb.clone(), vec![k, n]].concat());
    let a = reshaped(ctx, node, a, &a_shape, "a_view")?;
    let b = reshaped(ctx, node, b, &b_shape, "b_view")?;
    let a = broadcast_to(ctx, node, a, &full([m, k]), "a")?;
    let b = broadcast_to(ctx, node, b, &full([k, n]), "b")?;
    ctx.push(node, FloatOp::Product(ProductShape { batch, m, k, n }), vec![a, b])?;
    Ok(())
}

/// `x` viewed with `shape` (same element count and order).
pub(super) fn reshaped(ctx: &mut Ctx, node: &NodeProto, x: TensorId, shape: &[usize], tag: &str) -> Result<TensorId> {
    if ctx.graph.tensors[x].shape == shape {
        return Ok(x);
    }
    let map = (0..ctx.graph.tensors[x].len() as u32).map(|e| Some((0, e))).collect();
    internal(ctx, node, tag, FloatOp::Rewire { map }, vec![x], shape.to_vec())
}

/// Axes normalised to `0..rank`, sorted, distinct.
pub(super) fn normalise_axes(node: &NodeProto, axes: &[i64], rank: usize) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let a = if a < 0 { a + rank as i64 } else { a };
        if !(0..rank as i64).contains(&a) {
            return Err(unsupported(node, format!("axis {a} out of range for rank {rank}")));
        }
        out.push(a as usize);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// ReduceSum, ReduceMean and ReduceMax: the axes from the attribute (older opsets) or the second input;
/// no axes reduce everything unless `noop_with_empty_axes` is set.
pub(super) fn reduce(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let x = tensor(node, ctx.val(node, 0)?, "the input")?;
    let shape = ctx.graph.tensors[x].shape.clone();
    let from_input = (node.op_type == "ReduceSum" && ctx.opset >= 13) || ctx.opset >= 18;
    if attrs::int(node, "select_last_index", 0) != 0 {
        return Err(unsupported(node, "select_last_index"));
    }
    let axes = if from_input { const_ints(ctx, node, 1, "axes")? } else { attrs::ints(node, "axes") };
    let axes = match axes.filter(|a| !a.is_empty()) {
        Some(a) => normalise_axes(node, &a, shape.len())?,
        None if attrs::int(node, "noop_with_empty_axes", 0) != 0 => {
            ctx.env.insert(node.output[0].clone(), Val::Tensor(x));
            return Ok(());
        }
        None => (0..shape.len()).collect(),
    };
    if node.op_type == "ReduceMax" {
        ctx.push(node, FloatOp::ReduceMax { axes }, vec![x])?;
        return Ok(());
    }
    let n: usize = axes.iter().map(|&a| shape[a]).product();
    let scale = if node.op_type == "ReduceMean" { 1.0 / n as f64 } else { 1.0 };
    ctx.push(node, FloatOp::ReduceSum { axes, scale }, vec![x])?;
    Ok(())
}

/// `x^p` for a constant `p`: a table (its domain is the input's own width).
pub(super) fn pow(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let x = tensor(node, ctx.val(node, 0)?, "the base")?;
    let (_, p) = constant(node, ctx.val(node, 1)?, "the exponent")?;
    let &[exponent] = &p[..] else {
        return Err(unsupported(node, "the exponent must be one constant"));
    };
    ctx.push(node, FloatOp::Activation(ActFn::Pow { exponent }), vec![x])?;
    Ok(())
}

/// `y = x_0 + x_1 + …` with numpy broadcasting: a chain of `Add`s over the computed summands,
/// the constant ones folded into one `Affine` addend at the end.
pub(super) fn sum(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let out = ctx.shape(&node.output[0])?;
    let total: usize = out.iter().product();
    let (mut tensors, mut addend) = (Vec::new(), vec![0.0; total]);
    for ix in 0..node.input.len() {
        match ctx.val(node, ix)? {
            Val::Tensor(t) => tensors.push(broadcast_to(ctx, node, t, &out, &format!("summand{ix}"))?),
            Val::Const { shape, data } => {
                let index = broadcast_index(&shape, &out)
                    .ok_or_else(|| unsupported(node, format!("summand {ix} does not broadcast to {out:?}")))?;
                addend.iter_mut().zip(index).for_each(|(a, i)| *a += data[i]);
            }
        }
    }
    let Some((&first, rest)) = tensors.split_first() else {
        return Err(unsupported(node, "every summand is a constant"));
    };
    let constant = addend.iter().any(|&a| a != 0.0);
    let mut acc = first;
    for (i, &t) in rest.iter().enumerate() {
        if i + 1 == rest.len() && !constant {
            ctx.push(node, FloatOp::Add { subtract: false }, vec![acc, t])?;
            return Ok(());
        }
        acc = internal(ctx, node, &format!("partial{i}"), FloatOp::Add { subtract: false }, vec![acc, t], out.clone())?;
    }
    if constant || tensors.len() == 1 {
        ctx.push(node, FloatOp::Affine { mul: vec![1.0; total], add: addend }, vec![acc])?;
    }
    Ok(())
}

/// A computed tensor or a constant, broadcast to `shape`.
enum Operand {
    Tensor(TensorId),
    Const(Vec<f64>),
}

fn operand(ctx: &mut Ctx, node: &NodeProto, ix: usize, shape: &[usize]) -> Result<Operand> {
    match ctx.val(node, ix)? {
        Val::Tensor(t) => Ok(Operand::Tensor(broadcast_to(ctx, node, t, shape, &format!("operand{ix}"))?)),
        Val::Const { shape: s, data } => {
            let index = broadcast_index(&s, shape)
                .ok_or_else(|| unsupported(node, format!("operand {ix} of shape {s:?} does not fit {shape:?}")))?;
            Ok(Operand::Const(index.into_iter().map(|i| data[i]).collect()))
        }
    }
}

/// Less and Greater: `1` where the comparison holds, else `0`, as a step table of the
/// difference (of a computed tensor and a constant, or of two computed tensors).
pub(super) fn compare(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let out = ctx.shape(&node.output[0])?;
    let less = node.op_type == "Less";
    let (a, b) = (operand(ctx, node, 0, &out)?, operand(ctx, node, 1, &out)?);
    // `a < b` is `a − b < 0`; `a > b` is `a − b > 0`.
    let (x, threshold, below) = match (a, b) {
        (Operand::Tensor(a), Operand::Tensor(b)) => {
            (internal(ctx, node, "difference", FloatOp::Add { subtract: true }, vec![a, b], out.clone())?, 0.0, less)
        }
        (Operand::Tensor(a), Operand::Const(c)) => (a, uniform(node, &c)?, less),
        (Operand::Const(c), Operand::Tensor(b)) => (b, uniform(node, &c)?, !less),
        (Operand::Const(_), Operand::Const(_)) => return Err(unsupported(node, "constant comparison was not folded")),
    };
    ctx.push(node, FloatOp::Activation(ActFn::Step { threshold, below }), vec![x])?;
    Ok(())
}

/// The one value of a constant that must be the same everywhere (a table has one threshold).
fn uniform(node: &NodeProto, c: &[f64]) -> Result<f64> {
    match c.first() {
        Some(&v) if c.iter().all(|&x| x == v) => Ok(v),
        _ => Err(unsupported(node, "comparison with a constant that varies by element")),
    }
}

/// `Where(cond, a, b) = b + cond · (a − b)` for a condition computed by Less or Greater (so
/// exactly 0 or 1): the selection is one exact product.
pub(super) fn select(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let out = ctx.shape(&node.output[0])?;
    let total: usize = out.iter().product();
    let cond = match ctx.val(node, 0)? {
        Val::Tensor(t) if produced_by_step(ctx, t) => broadcast_to(ctx, node, t, &out, "condition")?,
        _ => return Err(unsupported(node, "the condition must be computed by Less or Greater")),
    };
    let (a, b) = (operand(ctx, node, 1, &out)?, operand(ctx, node, 2, &out)?);
    let affine = |mul: Vec<f64>, add: Vec<f64>| FloatOp::Affine { mul, add };
    // `a − b`, unless both are constants (then the whole selection is an affine map of cond).
    let (diff, diff_inputs) = match (&a, &b) {
        (Operand::Tensor(a), Operand::Tensor(b)) => (FloatOp::Add { subtract: true }, vec![*a, *b]),
        (Operand::Const(a), Operand::Tensor(b)) => (affine(vec![-1.0; total], a.clone()), vec![*b]),
        (Operand::Tensor(a), Operand::Const(b)) => (affine(vec![1.0; total], b.iter().map(|v| -v).collect()), vec![*a]),
        (Operand::Const(a), Operand::Const(b)) => {
            let diff = a.iter().zip(b).map(|(a, b)| a - b).collect();
            ctx.push(node, affine(diff, b.clone()), vec![cond])?;
            return Ok(());
        }
    };
    let d = internal(ctx, node, "difference", diff, diff_inputs, out.clone())?;
    let product = FloatOp::Product(ProductShape::elementwise(total));
    let chosen = internal(ctx, node, "selected", product, vec![cond, d], out.clone())?;
    match b {
        Operand::Tensor(b) => ctx.push(node, FloatOp::Add { subtract: false }, vec![b, chosen])?,
        Operand::Const(b) => ctx.push(node, affine(vec![1.0; total], b), vec![chosen])?,
    };
    Ok(())
}

/// Whether `t` is the output of a step table (values exactly 0 and 1), through any rewiring.
fn produced_by_step(ctx: &Ctx, t: TensorId) -> bool {
    match ctx.graph.nodes.iter().find(|n| n.output == t) {
        Some(n) => match &n.op {
            FloatOp::Activation(ActFn::Step { .. }) => true,
            FloatOp::Rewire { .. } if n.inputs.len() == 1 => produced_by_step(ctx, n.inputs[0]),
            _ => false,
        },
        None => false,
    }
}

/// Max and Min of two operands: with a constant, a clip; of two computed tensors,
/// `max(a, b) = b + relu(a − b)` and `min(a, b) = a − relu(a − b)`.
pub(super) fn extremum(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    if node.input.len() != 2 {
        return Err(unsupported(node, "only two operands are supported"));
    }
    let out = ctx.shape(&node.output[0])?;
    let max = node.op_type == "Max";
    match (operand(ctx, node, 0, &out)?, operand(ctx, node, 1, &out)?) {
        (Operand::Tensor(x), Operand::Const(c)) | (Operand::Const(c), Operand::Tensor(x)) => {
            let c = uniform(node, &c)?;
            let f = match (max, c) {
                (true, 0.0) => ActFn::Relu,
                (true, _) => ActFn::Clip { min: c, max: f64::INFINITY },
                (false, _) => ActFn::Clip { min: f64::NEG_INFINITY, max: c },
            };
            ctx.push(node, FloatOp::Activation(f), vec![x])?;
        }
        (Operand::Tensor(a), Operand::Tensor(b)) => {
            let d = internal(ctx, node, "difference", FloatOp::Add { subtract: true }, vec![a, b], out.clone())?;
            let r = internal(ctx, node, "excess", FloatOp::Activation(ActFn::Relu), vec![d], out.clone())?;
            let (base, subtract) = if max { (b, false) } else { (a, true) };
            ctx.push(node, FloatOp::Add { subtract }, vec![base, r])?;
        }
        (Operand::Const(_), Operand::Const(_)) => return Err(unsupported(node, "constant expression was not folded")),
    }
    Ok(())
}

/// PRelu with a constant slope: a leaky ReLU table when the slope is one number, else
/// `(1 − slope)·relu(x) + slope·x` with per-element constants.
pub(super) fn prelu(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let x = tensor(node, ctx.val(node, 0)?, "the input")?;
    let shape = ctx.graph.tensors[x].shape.clone();
    let (slope_shape, slope) = constant(node, ctx.val(node, 1)?, "the slope")?;
    // Older exports give one slope per channel as a plain `[C]`: lay it along axis 1.
    let per_channel = slope_shape.len() == 1 && shape.len() > 2 && slope_shape[0] == shape[1] && shape[1] > 1;
    let slope_shape = if per_channel { [slope_shape, vec![1; shape.len() - 2]].concat() } else { slope_shape };
    let index = broadcast_index(&slope_shape, &shape)
        .ok_or_else(|| unsupported(node, format!("slope of shape {slope_shape:?} does not fit {shape:?}")))?;
    let slope: Vec<f64> = index.into_iter().map(|i| slope[i]).collect();
    if let Ok(alpha) = uniform(node, &slope) {
        ctx.push(node, FloatOp::Activation(ActFn::LeakyRelu { alpha }), vec![x])?;
        return Ok(());
    }
    let relu = internal(ctx, node, "relu", FloatOp::Activation(ActFn::Relu), vec![x], shape.clone())?;
    let zeros = vec![0.0; slope.len()];
    let positive = FloatOp::Affine { mul: slope.iter().map(|s| 1.0 - s).collect(), add: zeros.clone() };
    let a = internal(ctx, node, "positive", positive, vec![relu], shape.clone())?;
    let b = internal(ctx, node, "sloped", FloatOp::Affine { mul: slope, add: zeros }, vec![x], shape)?;
    ctx.push(node, FloatOp::Add { subtract: false }, vec![a, b])?;
    Ok(())
}

/// Gemm whose `B` is computed: `alpha · A′ · B′ + beta · C` with `A′`, `B′` optionally
/// transposed (a `Rewire`), the product exact.
pub(super) fn gemm_computed(ctx: &mut Ctx, node: &NodeProto, a: TensorId, b: TensorId) -> Result<()> {
    let oriented = |ctx: &mut Ctx, t: TensorId, attr: &str, tag: &str| -> Result<TensorId> {
        let s = ctx.graph.tensors[t].shape.clone();
        if s.len() != 2 {
            return Err(unsupported(node, format!("operand of shape {s:?}: Gemm needs 2-D operands")));
        }
        if attrs::int(node, attr, 0) == 0 {
            return Ok(t);
        }
        internal(ctx, node, tag, FloatOp::Rewire { map: transpose_map(&s, &[1, 0]) }, vec![t], vec![s[1], s[0]])
    };
    let (a, b) = (oriented(ctx, a, "transA", "a_t")?, oriented(ctx, b, "transB", "b_t")?);
    let (m, k, n) = (ctx.graph.tensors[a].shape[0], ctx.graph.tensors[a].shape[1], ctx.graph.tensors[b].shape[1]);
    if ctx.graph.tensors[b].shape[0] != k {
        return Err(unsupported(node, "inner dimensions differ"));
    }
    let out = vec![m, n];
    let product =
        internal(ctx, node, "product", FloatOp::Product(ProductShape { batch: 1, m, k, n }), vec![a, b], out.clone())?;
    let (alpha, beta) = (attrs::float(node, "alpha", 1.0), attrs::float(node, "beta", 1.0));
    let c = match ctx.opt_val(node, 2)? {
        None => vec![0.0; m * n],
        Some(Val::Const { shape, data }) => {
            let index = broadcast_index(&shape, &out).ok_or_else(|| unsupported(node, "C does not broadcast"))?;
            index.into_iter().map(|i| beta * data[i]).collect()
        }
        Some(Val::Tensor(c)) => {
            // A computed C: `alpha · product + beta · C`.
            let scaled = internal(
                ctx,
                node,
                "scaled",
                FloatOp::Affine { mul: vec![alpha; m * n], add: vec![0.0; m * n] },
                vec![product],
                out.clone(),
            )?;
            let c = broadcast_to(ctx, node, c, &out, "c")?;
            let c = if beta == 1.0 {
                c
            } else {
                internal(
                    ctx,
                    node,
                    "c_scaled",
                    FloatOp::Affine { mul: vec![beta; m * n], add: vec![0.0; m * n] },
                    vec![c],
                    out.clone(),
                )?
            };
            ctx.push(node, FloatOp::Add { subtract: false }, vec![scaled, c])?;
            return Ok(());
        }
    };
    ctx.push(node, FloatOp::Affine { mul: vec![alpha; m * n], add: c }, vec![product])?;
    Ok(())
}
