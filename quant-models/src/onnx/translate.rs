//! Translation of one ONNX node into float graph ops. Shape-only ops become `Rewire` maps;
//! constant operands become weights, biases or affine constants.

use tract_onnx::pb::NodeProto;

use super::import::{node_name, Ctx, Val};
use super::{attrs, computed, movement, normalization, windowed};
use crate::error::{ModelError, Result};
use crate::graph::{ActFn, FloatOp, TensorId};

pub(super) fn unsupported(node: &NodeProto, reason: impl Into<String>) -> ModelError {
    ModelError::UnsupportedUse { node: node_name(node), op: node.op_type.clone(), reason: reason.into() }
}

pub(super) fn tensor(node: &NodeProto, v: Val, what: &str) -> Result<TensorId> {
    match v {
        Val::Tensor(t) => Ok(t),
        Val::Const { .. } => {
            Err(unsupported(node, format!("{what} must be computed from the model input, not a constant")))
        }
    }
}

pub(super) fn constant(node: &NodeProto, v: Val, what: &str) -> Result<(Vec<usize>, Vec<f64>)> {
    match v {
        Val::Const { shape, data } => Ok((shape, data)),
        Val::Tensor(_) => {
            Err(unsupported(node, format!("{what} must be a constant (an initializer or folded subgraph)")))
        }
    }
}

/// Translates one node (not part of a folded constant or a recognised pattern).
pub(super) fn translate(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    match node.op_type.as_str() {
        "Gemm" => gemm(ctx, node),
        "MatMul" => matmul(ctx, node),
        "Conv" => windowed::conv(ctx, node),
        "Relu" => activation(ctx, node, ActFn::Relu),
        "LeakyRelu" => activation(ctx, node, ActFn::LeakyRelu { alpha: attrs::float(node, "alpha", 0.01) }),
        "Sigmoid" => activation(ctx, node, ActFn::Sigmoid),
        "Tanh" => activation(ctx, node, ActFn::Tanh),
        "Abs" => activation(ctx, node, ActFn::Abs),
        "Elu" => activation(ctx, node, ActFn::Elu { alpha: attrs::float(node, "alpha", 1.0) }),
        "Selu" => {
            let alpha = attrs::float(node, "alpha", 1.673_263_192_176_818_8);
            activation(ctx, node, ActFn::Selu { alpha, gamma: attrs::float(node, "gamma", 1.050_701_022_148_132_3) })
        }
        "Softplus" => activation(ctx, node, ActFn::Softplus),
        "Softsign" => activation(ctx, node, ActFn::Softsign),
        "HardSigmoid" => {
            let alpha = attrs::float(node, "alpha", 0.2);
            activation(ctx, node, ActFn::HardSigmoid { alpha, beta: attrs::float(node, "beta", 0.5) })
        }
        "HardSwish" => activation(ctx, node, ActFn::HardSwish),
        "Exp" => activation(ctx, node, ActFn::Exp),
        // Outside the GELU pattern (which `gelu.rs` rewrites first), Erf is one more table.
        "Erf" => activation(ctx, node, ActFn::Erf),
        "Clip" => clip(ctx, node),
        "Gelu" => {
            let tanh_approx = attrs::string(node, "approximate", "none")? == "tanh";
            activation(ctx, node, ActFn::Gelu { tanh_approx })
        }
        "MaxPool" | "AveragePool" | "GlobalAveragePool" => windowed::pool(ctx, node),
        "BatchNormalization" => batch_norm(ctx, node),
        "Add" | "Sub" | "Mul" | "Div" => binary(ctx, node),
        "Neg" => neg(ctx, node),
        "Sum" => computed::sum(ctx, node),
        "Less" | "Greater" => computed::compare(ctx, node),
        "Where" => computed::select(ctx, node),
        "Max" | "Min" => computed::extremum(ctx, node),
        "Gather" => movement::gather(ctx, node),
        "Softmax" => softmax(ctx, node),
        "ReduceSum" | "ReduceMean" | "ReduceMax" => computed::reduce(ctx, node),
        "LayerNormalization" => normalization::layer_norm(ctx, node),
        "InstanceNormalization" => normalization::instance_norm(ctx, node),
        "LogSoftmax" => normalization::log_softmax(ctx, node),
        "PRelu" => computed::prelu(ctx, node),
        "Split" => movement::split(ctx, node),
        "Tile" => movement::tile(ctx, node),
        "Reciprocal" => activation(ctx, node, ActFn::Reciprocal),
        "Pow" => computed::pow(ctx, node),
        "Cast" | "CastLike" => cast(ctx, node),
        "Sqrt" => match ctx.val(node, 0)? {
            Val::Const { .. } => fold_unary(ctx, node, f64::sqrt),
            Val::Tensor(_) => activation(ctx, node, ActFn::Sqrt),
        },
        "Reshape" | "Flatten" | "Squeeze" | "Unsqueeze" | "Identity" | "Dropout" => reshape(ctx, node),
        "Transpose" => transpose(ctx, node),
        "Concat" => concat(ctx, node),
        "Slice" => slice(ctx, node),
        "Pad" => pad(ctx, node),
        other => Err(ModelError::UnsupportedOp { op: other.to_string(), node: node_name(node) }),
    }
}

/// Emits a recognised `0.5·x·(1+erf(x/√2))` subgraph as one GELU.
pub(super) fn emit_gelu(ctx: &mut Ctx, node: &NodeProto, x: &str, out: &str) -> Result<()> {
    let input = match ctx.env.get(x) {
        Some(Val::Tensor(t)) => *t,
        _ => return Err(unsupported(node, "GELU of a constant")),
    };
    let shape = ctx.shape(out)?;
    let id = ctx.graph.add_node(
        &format!("{}:gelu", node_name(node)),
        FloatOp::Activation(ActFn::Gelu { tanh_approx: false }),
        vec![input],
        out,
        shape,
    )?;
    ctx.env.insert(out.to_string(), Val::Tensor(id));
    Ok(())
}

fn activation(ctx: &mut Ctx, node: &NodeProto, f: ActFn) -> Result<()> {
    let x = tensor(node, ctx.val(node, 0)?, "the input")?;
    ctx.push(node, FloatOp::Activation(f), vec![x])?;
    Ok(())
}

fn clip(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let bound = |ix: usize, attr: &str, default: f64| -> Result<f64> {
        if ctx.opset < 11 {
            return Ok(attrs::float(node, attr, default));
        }
        match ctx.opt_val(node, ix)? {
            None => Ok(default),
            Some(v) => Ok(constant(node, v, attr)?.1.first().copied().unwrap_or(default)),
        }
    };
    let (min, max) = (bound(1, "min", f64::NEG_INFINITY)?, bound(2, "max", f64::INFINITY)?);
    let f = if min == 0.0 && max == f64::INFINITY { ActFn::Relu } else { ActFn::Clip { min, max } };
    activation(ctx, node, f)
}

/// `true` if `t` was produced by the last graph node, is read once, and is not a model output:
/// then a following constant op can be folded into that node.
fn foldable_into_last(ctx: &Ctx, node: &NodeProto, t: TensorId) -> bool {
    let name = &node.input[0];
    ctx.graph.nodes.last().is_some_and(|n| n.output == t)
        && ctx.consumers.get(name) == Some(&1)
        && !ctx.graph_outputs.contains(name)
}

fn gemm(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let mut x = tensor(node, ctx.val(node, 0)?, "Gemm's A")?;
    if let Val::Tensor(b) = ctx.val(node, 1)? {
        return computed::gemm_computed(ctx, node, x, b);
    }
    if attrs::int(node, "transA", 0) != 0 {
        let xs = ctx.graph.tensors[x].shape.clone();
        if xs.len() != 2 {
            return Err(unsupported(node, "transA = 1 needs a 2-D A"));
        }
        let name = format!("{}:a_t", node_name(node));
        x = ctx.graph.add_node(
            &name,
            FloatOp::Rewire { map: transpose_map(&xs, &[1, 0]) },
            vec![x],
            &name,
            vec![xs[1], xs[0]],
        )?;
    }
    let (bshape, b) = constant(node, ctx.val(node, 1)?, "Gemm's B")?;
    if bshape.len() != 2 {
        return Err(unsupported(node, "B must be 2-D"));
    }
    let alpha = attrs::float(node, "alpha", 1.0);
    let beta = attrs::float(node, "beta", 1.0);
    let trans_b = attrs::int(node, "transB", 0) != 0;
    let (outputs, inputs) = if trans_b { (bshape[0], bshape[1]) } else { (bshape[1], bshape[0]) };
    let weight: Vec<f64> = (0..outputs)
        .flat_map(|o| (0..inputs).map(move |i| (o, i)))
        .map(|(o, i)| alpha * if trans_b { b[o * inputs + i] } else { b[i * outputs + o] })
        .collect();
    let out_shape = ctx.shape(&node.output[0])?;
    let c = match ctx.opt_val(node, 2)? {
        None => vec![0.0; out_shape.iter().product()],
        Some(v) => {
            let (cshape, c) = constant(node, v, "Gemm's C")?;
            let full = broadcast(&c, &cshape, &out_shape)
                .ok_or_else(|| unsupported(node, "C does not broadcast to the output"))?;
            full.iter().map(|v| v * beta).collect::<Vec<f64>>()
        }
    };
    let row = c[..outputs].to_vec();
    if c.chunks(outputs).all(|r| r == row.as_slice()) {
        ctx.push(node, FloatOp::Dense { weight, bias: row, inputs, outputs }, vec![x])?;
        return Ok(());
    }
    // A C that differs between rows is no bias: add it after the product.
    let name = format!("{}:product", node_name(node));
    let dense = FloatOp::Dense { weight, bias: vec![0.0; outputs], inputs, outputs };
    let y = ctx.graph.add_node(&name, dense, vec![x], &name, out_shape.clone())?;
    ctx.push(node, FloatOp::Affine { mul: vec![1.0; c.len()], add: c }, vec![y])?;
    Ok(())
}

fn matmul(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let (a, b) = (ctx.val(node, 0)?, ctx.val(node, 1)?);
    match (a, b) {
        (Val::Tensor(x), Val::Const { shape, data }) if shape.len() == 2 => {
            let (inputs, outputs) = (shape[0], shape[1]);
            let weight = (0..outputs)
                .flat_map(|o| (0..inputs).map(move |i| (o, i)))
                .map(|(o, i)| data[i * outputs + o])
                .collect();
            ctx.push(node, FloatOp::Dense { weight, bias: vec![0.0; outputs], inputs, outputs }, vec![x])?;
            Ok(())
        }
        (Val::Const { shape, data }, Val::Tensor(x)) if shape.len() == 2 && ctx.graph.tensors[x].shape.len() == 2 => {
            // Y = W·X = (Xᵀ·Wᵀ)ᵀ: transpose X, dense with W, transpose back.
            let xs = ctx.graph.tensors[x].shape.clone();
            let name = node_name(node);
            let xt = ctx.graph.add_node(
                &format!("{name}:in_t"),
                FloatOp::Rewire { map: transpose_map(&xs, &[1, 0]) },
                vec![x],
                &format!("{name}:in_t"),
                vec![xs[1], xs[0]],
            )?;
            let (outputs, inputs) = (shape[0], shape[1]);
            let dense = FloatOp::Dense { weight: data, bias: vec![0.0; outputs], inputs, outputs };
            let y = ctx.graph.add_node(&name, dense, vec![xt], &format!("{name}:out_t"), vec![xs[1], outputs])?;
            ctx.push(node, FloatOp::Rewire { map: transpose_map(&[xs[1], outputs], &[1, 0]) }, vec![y])?;
            Ok(())
        }
        (Val::Tensor(a), Val::Tensor(b)) => computed::matmul(ctx, node, a, b),
        _ => Err(unsupported(node, "the constant operand must be 2-D")),
    }
}

fn batch_norm(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    // Training mode normalises with the batch's own statistics and updates running ones: a
    // different function from the inference-mode affine map proven here.
    if attrs::int(node, "training_mode", 0) != 0 || node.output.len() > 1 {
        return Err(unsupported(node, "training_mode = 1 (batch statistics); export the model in eval mode"));
    }
    let x = tensor(node, ctx.val(node, 0)?, "the input")?;
    let eps = attrs::float(node, "epsilon", 1e-5);
    let mut params = Vec::new();
    for (ix, what) in [(1, "scale"), (2, "bias"), (3, "mean"), (4, "var")] {
        params.push(constant(node, ctx.val(node, ix)?, what)?.1);
    }
    let c = params[0].len();
    if params.iter().any(|p| p.len() != c) {
        return Err(unsupported(node, "scale, bias, mean and var must have one value per channel"));
    }
    let mul: Vec<f64> = (0..c).map(|i| params[0][i] / (params[3][i] + eps).sqrt()).collect();
    let add: Vec<f64> = (0..c).map(|i| params[1][i] - params[2][i] * mul[i]).collect();
    per_channel_affine(ctx, node, x, &mul, &add)
}

/// `y[c] = x[c] · mul[c] + add[c]` over channel axis 1: folded into the producing Conv/Dense
/// when possible, else an `Affine` op.
fn per_channel_affine(ctx: &mut Ctx, node: &NodeProto, x: TensorId, mul: &[f64], add: &[f64]) -> Result<()> {
    let xs = ctx.graph.tensors[x].shape.clone();
    let c = mul.len();
    if xs.len() < 2 || xs[1] != c {
        return Err(unsupported(node, format!("per-channel constants of length {c} do not fit input {xs:?}")));
    }
    if foldable_into_last(ctx, node, x) {
        let last = ctx.graph.nodes.len() - 1;
        if let FloatOp::Conv { weight, bias, .. } | FloatOp::Dense { weight, bias, .. } = &mut ctx.graph.nodes[last].op
        {
            if bias.len() == c {
                let per = weight.len() / c;
                for o in 0..c {
                    weight[o * per..(o + 1) * per].iter_mut().for_each(|w| *w *= mul[o]);
                    bias[o] = bias[o] * mul[o] + add[o];
                }
                ctx.env.insert(node.output[0].clone(), Val::Tensor(x));
                ctx.graph.tensors[x].name = node.output[0].clone();
                return Ok(());
            }
        }
    }
    let inner: usize = xs[2..].iter().product();
    let per_channel =
        |v: &[f64]| -> Vec<f64> { (0..xs[0] * c).flat_map(|i| std::iter::repeat_n(v[i % c], inner)).collect() };
    let (mul_full, add_full) = (per_channel(mul), per_channel(add));
    ctx.push(node, FloatOp::Affine { mul: mul_full, add: add_full }, vec![x])?;
    Ok(())
}

/// Numpy broadcasting of `data` (shape `from`) to shape `to`.
fn broadcast(data: &[f64], from: &[usize], to: &[usize]) -> Option<Vec<f64>> {
    Some(broadcast_index(from, to)?.into_iter().map(|i| data[i]).collect())
}

/// Numpy broadcasting as an index map: for each element of shape `to`, the element of shape
/// `from` it repeats.
pub(super) fn broadcast_index(from: &[usize], to: &[usize]) -> Option<Vec<usize>> {
    if from.len() > to.len() {
        return None;
    }
    let lead = to.len() - from.len();
    for (i, &d) in from.iter().enumerate() {
        if d != 1 && d != to[lead + i] {
            return None;
        }
    }
    let n: usize = to.iter().product();
    let mut out = Vec::with_capacity(n);
    for flat in 0..n {
        let (mut rem, mut src, mut stride) = (flat, 0, 1);
        for axis in (0..to.len()).rev() {
            let coord = rem % to[axis];
            rem /= to[axis];
            if axis >= lead {
                let d = from[axis - lead];
                src += if d == 1 { 0 } else { coord * stride };
                stride *= d;
            }
        }
        out.push(src);
    }
    Some(out)
}

fn binary(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let out_shape = ctx.shape(&node.output[0])?;
    let op = node.op_type.as_str();
    match (ctx.val(node, 0)?, ctx.val(node, 1)?) {
        (Val::Tensor(a), Val::Tensor(b)) => computed::binary(ctx, node, a, b),
        (Val::Tensor(x), Val::Const { shape, data }) | (Val::Const { shape, data }, Val::Tensor(x)) => {
            let x_first = matches!(ctx.val(node, 0)?, Val::Tensor(_));
            if ctx.graph.tensors[x].shape != out_shape {
                return Err(unsupported(node, "the constant may not enlarge the computed operand by broadcasting"));
            }
            let c =
                broadcast(&data, &shape, &out_shape).ok_or_else(|| unsupported(node, "constant does not broadcast"))?;
            let n = c.len();
            let (mul, add): (Vec<f64>, Vec<f64>) = match (op, x_first) {
                ("Add", _) => (vec![1.0; n], c),
                ("Sub", true) => (vec![1.0; n], c.iter().map(|v| -v).collect()),
                ("Sub", false) => (vec![-1.0; n], c),
                ("Mul", _) => (c, vec![0.0; n]),
                ("Div", true) => {
                    if c.contains(&0.0) {
                        return Err(unsupported(node, "division by zero"));
                    }
                    (c.iter().map(|v| 1.0 / v).collect(), vec![0.0; n])
                }
                _ => return Err(unsupported(node, "division of a constant by a computed tensor is not supported")),
            };
            // A bias add right after a dense layer folds into its bias.
            if op != "Mul" && op != "Div" && mul.iter().all(|&m| m == 1.0) && foldable_into_last(ctx, node, x) {
                let last = ctx.graph.nodes.len() - 1;
                if let FloatOp::Dense { bias, outputs, .. } = &mut ctx.graph.nodes[last].op {
                    let row = &add[..*outputs];
                    if add.chunks(*outputs).all(|r| r == row) {
                        bias.iter_mut().zip(row).for_each(|(b, a)| *b += a);
                        ctx.env.insert(node.output[0].clone(), Val::Tensor(x));
                        ctx.graph.tensors[x].name = node.output[0].clone();
                        return Ok(());
                    }
                }
            }
            ctx.push(node, FloatOp::Affine { mul, add }, vec![x])?;
            Ok(())
        }
        (Val::Const { .. }, Val::Const { .. }) => Err(unsupported(node, "constant expression was not folded")),
    }
}

/// `y = −x`: an `Affine` with multiplier −1.
fn neg(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let x = tensor(node, ctx.val(node, 0)?, "the input")?;
    let n = ctx.graph.tensors[x].shape.iter().product();
    ctx.push(node, FloatOp::Affine { mul: vec![-1.0; n], add: vec![0.0; n] }, vec![x])?;
    Ok(())
}

fn softmax(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let x = tensor(node, ctx.val(node, 0)?, "the input")?;
    let rank = ctx.graph.tensors[x].shape.len() as i64;
    let default = if ctx.opset >= 13 { -1 } else { 1 };
    let axis = attrs::int(node, "axis", default);
    let axis = if axis < 0 { axis + rank } else { axis };
    if !(0..rank).contains(&axis) {
        return Err(unsupported(node, format!("axis {axis} out of range for rank {rank}")));
    }
    if ctx.opset < 13 && axis != rank - 1 {
        return Err(unsupported(node, "opset < 13 softmax over several axes is not supported"));
    }
    ctx.push(node, FloatOp::Softmax { axis: axis as usize }, vec![x])?;
    Ok(())
}

fn reshape(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let x = tensor(node, ctx.val(node, 0)?, "the input")?;
    let n = ctx.graph.tensors[x].len();
    if ctx.shape(&node.output[0])?.iter().product::<usize>() != n {
        return Err(unsupported(node, "element count changes"));
    }
    let map = (0..n as u32).map(|e| Some((0, e))).collect();
    ctx.push(node, FloatOp::Rewire { map }, vec![x])?;
    Ok(())
}

/// Casts are value-preserving here (everything is float until quantization): a cast of a
/// constant stays that constant, a cast of a computed tensor is the tensor itself.
fn cast(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let v = ctx.val(node, 0)?;
    if let Val::Const { .. } = v {
        ctx.env.insert(node.output[0].clone(), v);
        return Ok(());
    }
    reshape(ctx, node)
}

/// Folds an elementwise function of a constant that tract left unfolded (a constant behind a
/// `CastLike` of a computed tensor, as in ONNX function expansions).
fn fold_unary(ctx: &mut Ctx, node: &NodeProto, f: fn(f64) -> f64) -> Result<()> {
    let (shape, data) = constant(node, ctx.val(node, 0)?, "the operand")?;
    ctx.env.insert(node.output[0].clone(), Val::Const { shape, data: data.into_iter().map(f).collect() });
    Ok(())
}

fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// For each output element of an axis permutation, the input element it reads.
pub(super) fn transpose_map(shape: &[usize], perm: &[usize]) -> Vec<Option<(u32, u32)>> {
    let in_strides = strides(shape);
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let n: usize = shape.iter().product();
    (0..n)
        .map(|flat| {
            let (mut rem, mut src) = (flat, 0);
            for axis in (0..out_shape.len()).rev() {
                src += (rem % out_shape[axis]) * in_strides[perm[axis]];
                rem /= out_shape[axis];
            }
            Some((0, src as u32))
        })
        .collect()
}

fn transpose(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let x = tensor(node, ctx.val(node, 0)?, "the input")?;
    let shape = ctx.graph.tensors[x].shape.clone();
    let perm: Vec<usize> = attrs::ints(node, "perm")
        .map_or_else(|| (0..shape.len()).rev().collect(), |p| p.iter().map(|&v| v as usize).collect());
    let mut sorted = perm.clone();
    sorted.sort_unstable();
    if sorted != (0..shape.len()).collect::<Vec<_>>() {
        return Err(unsupported(node, format!("perm {perm:?} is not a permutation")));
    }
    ctx.push(node, FloatOp::Rewire { map: transpose_map(&shape, &perm) }, vec![x])?;
    Ok(())
}

fn concat(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let out_shape = ctx.shape(&node.output[0])?;
    let rank = out_shape.len() as i64;
    let axis = attrs::int(node, "axis", 0);
    let axis = (if axis < 0 { axis + rank } else { axis }) as usize;
    let mut ids = Vec::new();
    for ix in 0..node.input.len() {
        ids.push(tensor(node, ctx.val(node, ix)?, "every concatenated input")?);
    }
    let outer: usize = out_shape[..axis].iter().product();
    let inner: usize = out_shape[axis + 1..].iter().product();
    let mut map = Vec::with_capacity(out_shape.iter().product());
    for o in 0..outer {
        for (k, &id) in ids.iter().enumerate() {
            let len = ctx.graph.tensors[id].shape[axis] * inner;
            map.extend((0..len).map(|e| Some((k as u32, (o * len + e) as u32))));
        }
    }
    ctx.push(node, FloatOp::Rewire { map }, ids)?;
    Ok(())
}

pub(super) fn const_ints(ctx: &Ctx, node: &NodeProto, ix: usize, attr: &str) -> Result<Option<Vec<i64>>> {
    if ctx.opset < 10 || (node.op_type == "Pad" && ctx.opset < 11) {
        return Ok(attrs::ints(node, attr));
    }
    match ctx.opt_val(node, ix)? {
        None => Ok(None),
        Some(v) => Ok(Some(constant(node, v, attr)?.1.iter().map(|&f| f as i64).collect())),
    }
}

fn slice(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let x = tensor(node, ctx.val(node, 0)?, "the input")?;
    let shape = ctx.graph.tensors[x].shape.clone();
    let rank = shape.len();
    let starts = const_ints(ctx, node, 1, "starts")?.unwrap_or_default();
    let ends = const_ints(ctx, node, 2, "ends")?.unwrap_or_default();
    let axes = const_ints(ctx, node, 3, "axes")?.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = const_ints(ctx, node, 4, "steps")?.unwrap_or_else(|| vec![1; starts.len()]);
    // Per axis: the input indices kept.
    let mut kept: Vec<Vec<usize>> = shape.iter().map(|&d| (0..d).collect()).collect();
    for (k, &axis) in axes.iter().enumerate() {
        let axis = if axis < 0 { axis + rank as i64 } else { axis } as usize;
        let (dim, step) = (*shape.get(axis).ok_or_else(|| unsupported(node, "axis out of range"))? as i64, steps[k]);
        if step == 0 {
            return Err(unsupported(node, "step 0"));
        }
        let norm = |v: i64, lo: i64, hi: i64| (if v < 0 { v + dim } else { v }).clamp(lo, hi);
        let idx: Vec<usize> = if step > 0 {
            let (s, e) = (norm(starts[k], 0, dim), norm(ends[k], 0, dim));
            (s..e).step_by(step as usize).map(|v| v as usize).collect()
        } else {
            let (s, e) = (norm(starts[k], -1, dim - 1), norm(ends[k], -1, dim - 1));
            let mut v = Vec::new();
            let mut i = s;
            while i > e {
                v.push(i as usize);
                i += step;
            }
            v
        };
        kept[axis] = idx;
    }
    let in_strides = strides(&shape);
    let out_shape: Vec<usize> = kept.iter().map(Vec::len).collect();
    let n: usize = out_shape.iter().product();
    let map = (0..n)
        .map(|flat| {
            let (mut rem, mut src) = (flat, 0);
            for axis in (0..rank).rev() {
                src += kept[axis][rem % out_shape[axis]] * in_strides[axis];
                rem /= out_shape[axis];
            }
            Some((0, src as u32))
        })
        .collect();
    ctx.push(node, FloatOp::Rewire { map }, vec![x])?;
    Ok(())
}

/// The input index that padded position `c` (relative to the input's start) repeats, or
/// `None` for a constant.
fn padded_source(mode: &str, c: i64, size: i64) -> Option<i64> {
    if (0..size).contains(&c) {
        return Some(c);
    }
    match mode {
        "edge" => Some(c.clamp(0, size - 1)),
        // Mirrored without repeating the edge; the padding is checked to be under the size.
        "reflect" => Some(if c < 0 { -c } else { 2 * (size - 1) - c }),
        "wrap" => Some(c.rem_euclid(size)),
        _ => None,
    }
}

fn pad(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let x = tensor(node, ctx.val(node, 0)?, "the input")?;
    let mode = attrs::string(node, "mode", "constant")?;
    if !["constant", "edge", "reflect", "wrap"].contains(&mode.as_str()) {
        return Err(unsupported(node, format!("mode {mode}")));
    }
    let value = if ctx.opset < 11 {
        attrs::float(node, "value", 0.0)
    } else {
        ctx.opt_val(node, 2)?
            .map(|v| constant(node, v, "constant_value"))
            .transpose()?
            .and_then(|c| c.1.first().copied())
            .unwrap_or(0.0)
    };
    let shape = ctx.graph.tensors[x].shape.clone();
    let rank = shape.len();
    let given = const_ints(ctx, node, 1, "pads")?.unwrap_or_default();
    // With the axes input, `pads` lists the begins then the ends of those axes only.
    let axes: Vec<i64> = match const_ints(ctx, node, 3, "axes")? {
        Some(axes) => axes.iter().map(|&a| if a < 0 { a + rank as i64 } else { a }).collect(),
        None => (0..rank as i64).collect(),
    };
    if given.len() != 2 * axes.len()
        || given.iter().any(|&p| p < 0)
        || axes.iter().any(|&a| !(0..rank as i64).contains(&a))
    {
        return Err(unsupported(
            node,
            format!("pads {given:?} for axes {axes:?}: need two non-negative values per axis"),
        ));
    }
    let mut pads = vec![0i64; 2 * rank];
    for (k, &a) in axes.iter().enumerate() {
        pads[a as usize] = given[k];
        pads[a as usize + rank] = given[k + axes.len()];
    }
    if mode == "reflect" && (0..rank).any(|a| pads[a].max(pads[a + rank]) >= shape[a] as i64) {
        return Err(unsupported(node, "reflect padding as wide as the input"));
    }
    let out_shape: Vec<usize> = (0..rank).map(|a| shape[a] + (pads[a] + pads[a + rank]) as usize).collect();
    let in_strides = strides(&shape);
    let n: usize = out_shape.iter().product();
    let map = (0..n)
        .map(|flat| {
            let (mut rem, mut src) = (flat, 0usize);
            for axis in (0..rank).rev() {
                let c = (rem % out_shape[axis]) as i64 - pads[axis];
                rem /= out_shape[axis];
                src += padded_source(&mode, c, shape[axis] as i64)? as usize * in_strides[axis];
            }
            Some((0, src as u32))
        })
        .collect::<Vec<_>>();
    if value == 0.0 {
        ctx.push(node, FloatOp::Rewire { map }, vec![x])?;
        return Ok(());
    }
    // A non-zero constant: zero padding, then that constant added where the padding is.
    let add = map.iter().map(|m| if m.is_none() { value } else { 0.0 }).collect();
    let name = format!("{}:zero_padded", node_name(node));
    let padded = ctx.graph.add_node(&name, FloatOp::Rewire { map }, vec![x], &name, out_shape)?;
    ctx.push(node, FloatOp::Affine { mul: vec![1.0; n], add }, vec![padded])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_follows_numpy() {
        assert_eq!(broadcast(&[1.0, 2.0], &[2], &[2, 2]).unwrap(), vec![1.0, 2.0, 1.0, 2.0]);
        assert_eq!(broadcast(&[1.0, 2.0], &[2, 1], &[2, 2]).unwrap(), vec![1.0, 1.0, 2.0, 2.0]);
        assert!(broadcast(&[1.0, 2.0, 3.0], &[3], &[2, 2]).is_none());
    }

    #[test]
    fn transpose_map_swaps_axes() {
        let m = transpose_map(&[2, 3], &[1, 0]);
        let src: Vec<u32> = m.iter().map(|e| e.unwrap().1).collect();
        assert_eq!(src, vec![0, 3, 1, 4, 2, 5]);
    }
}
