//! Ops between computed tensors: broadcasting, elementwise Add/Sub/Mul/Div and MatMul of two
//! computed operands, reductions, and the layer norm built from them. Broadcasting is a
//! `Rewire` (copy constraints, no rows); products are exact `Product` ops; a quotient is a
//! product with a tabulated reciprocal.

use tract_onnx::pb::NodeProto;

use super::attrs;
use super::import::{node_name, Ctx, Val};
use super::translate::{broadcast_index, const_ints, constant, tensor, unsupported};
use crate::error::Result;
use crate::graph::{ActFn, FloatOp, TensorId};
use crate::kernels::ProductShape;

/// `x` broadcast (numpy rules) to `shape`: itself when the shapes agree, else a `Rewire`.
fn broadcast_to(ctx: &mut Ctx, node: &NodeProto, x: TensorId, shape: &[usize], tag: &str) -> Result<TensorId> {
    let from = ctx.graph.tensors[x].shape.clone();
    if from == shape {
        return Ok(x);
    }
    let index = broadcast_index(&from, shape)
        .ok_or_else(|| unsupported(node, format!("shape {from:?} does not broadcast to {shape:?}")))?;
    let map = index.into_iter().map(|e| Some((0, e as u32))).collect();
    let name = format!("{}:{tag}", node_name(node));
    ctx.graph.add_node(&name, FloatOp::Rewire { map }, vec![x], &name, shape.to_vec())
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
fn normalise_axes(node: &NodeProto, axes: &[i64], rank: usize) -> Result<Vec<usize>> {
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

/// LayerNormalization over the axes from `axis` on, built from exact ops: the mean, the
/// deviation `d = x − mean`, the exact sum of squares `Σ d·d` (one product per group, no
/// rounding before the sum) rescaled straight into a `1/√(Σ/n + ε)` table, the product
/// `d · 1/√(…)`, then the constant scale and bias. The optional Mean and InvStdDev outputs are
/// the intermediate tensors.
pub(super) fn layer_norm(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let x = tensor(node, ctx.val(node, 0)?, "the input")?;
    let shape = ctx.graph.tensors[x].shape.clone();
    let rank = shape.len();
    let axis = attrs::int(node, "axis", -1);
    let axis = normalise_axes(node, &[axis], rank)?[0];
    let axes: Vec<usize> = (axis..rank).collect();
    let n: usize = shape[axis..].iter().product();
    let stats_shape: Vec<usize> = shape.iter().enumerate().map(|(i, &d)| if i < axis { d } else { 1 }).collect();
    let scale = 1.0 / n as f64;
    let mean = internal(ctx, node, "mean", FloatOp::ReduceSum { axes, scale }, vec![x], stats_shape.clone())?;
    let mean_b = broadcast_to(ctx, node, mean, &shape, "mean_b")?;
    let d = internal(ctx, node, "deviation", FloatOp::Add { subtract: true }, vec![x, mean_b], shape.clone())?;
    let total: usize = shape.iter().product();
    // The reduced axes are the trailing ones: each group is `n` consecutive elements.
    let groups = ProductShape { batch: total / n, m: 1, k: n, n: 1 };
    let squares = internal(ctx, node, "sum_of_squares", FloatOp::Product(groups), vec![d, d], stats_shape.clone())?;
    let inv = ActFn::InvSqrt { divisor: n as f64, epsilon: attrs::float(node, "epsilon", 1e-5) };
    let inv_std = internal(ctx, node, "inv_std", FloatOp::Activation(inv), vec![squares], stats_shape)?;
    let inv_b = broadcast_to(ctx, node, inv_std, &shape, "inv_std_b")?;
    let product = FloatOp::Product(ProductShape::elementwise(total));
    let normalized = internal(ctx, node, "normalized", product, vec![d, inv_b], shape.clone())?;
    let operand = |ctx: &Ctx, ix: usize, what: &str, default: f64| -> Result<Vec<f64>> {
        match ctx.opt_val(node, ix)? {
            None => Ok(vec![default; total]),
            Some(v) => {
                let (s, data) = constant(node, v, what)?;
                let index = broadcast_index(&s, &shape)
                    .ok_or_else(|| unsupported(node, format!("{what} of shape {s:?} does not fit {shape:?}")))?;
                Ok(index.into_iter().map(|i| data[i]).collect())
            }
        }
    };
    let (mul, add) = (operand(ctx, 1, "the scale", 1.0)?, operand(ctx, 2, "the bias", 0.0)?);
    ctx.push(node, FloatOp::Affine { mul, add }, vec![normalized])?;
    for (ix, t) in [(1, mean), (2, inv_std)] {
        if let Some(name) = node.output.get(ix).filter(|o| !o.is_empty()) {
            ctx.env.insert(name.clone(), Val::Tensor(t));
        }
    }
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

/// Gather with constant indices: pure data movement (`Rewire`). Indices computed by the model
/// (an embedding lookup into a constant table) need a lookup argument, not a wiring.
pub(super) fn gather(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let x = match ctx.val(node, 0)? {
        Val::Tensor(t) => t,
        Val::Const { .. } => {
            return Err(unsupported(
                node,
                "a constant table indexed by computed indices (an embedding) is not supported yet",
            ))
        }
    };
    let (_, indices) = constant(node, ctx.val(node, 1)?, "the indices")?;
    let shape = ctx.graph.tensors[x].shape.clone();
    let axis = normalise_axes(node, &[attrs::int(node, "axis", 0)], shape.len())?[0];
    let dim = shape[axis] as i64;
    let mut picked = Vec::with_capacity(indices.len());
    for &i in &indices {
        let i = i as i64;
        let i = if i < 0 { i + dim } else { i };
        if !(0..dim).contains(&i) {
            return Err(unsupported(node, format!("index {i} out of range for axis {axis} of size {dim}")));
        }
        picked.push(i as usize);
    }
    let (outer, inner): (usize, usize) = (shape[..axis].iter().product(), shape[axis + 1..].iter().product());
    let mut map = Vec::with_capacity(outer * picked.len() * inner);
    for o in 0..outer {
        for &i in &picked {
            map.extend((0..inner).map(|e| Some((0, ((o * shape[axis] + i) * inner + e) as u32))));
        }
    }
    ctx.push(node, FloatOp::Rewire { map }, vec![x])?;
    Ok(())
}
