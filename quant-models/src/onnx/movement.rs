//! Data movement driven by constants: Gather with constant indices, Split and Tile. Each is a
//! `Rewire` (copy constraints, no rows).

use tract_onnx::pb::NodeProto;

use super::attrs;
use super::computed::normalise_axes;
use super::import::{node_name, Ctx, Val};
use super::translate::{const_ints, constant, tensor, unsupported};
use crate::error::Result;
use crate::graph::FloatOp;

/// Gather with constant indices over a computed tensor. Indices computed by the model (an
/// embedding lookup into a constant table) need a lookup argument, not a wiring.
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

/// Split along an axis into the outputs' sizes (from the `split` input or attribute, or equal
/// parts).
pub(super) fn split(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let x = tensor(node, ctx.val(node, 0)?, "the input")?;
    let shape = ctx.graph.tensors[x].shape.clone();
    let axis = normalise_axes(node, &[attrs::int(node, "axis", 0)], shape.len())?[0];
    let given = if ctx.opset >= 13 { const_ints(ctx, node, 1, "split")? } else { attrs::ints(node, "split") };
    let parts = node.output.len();
    let sizes: Vec<usize> = match given {
        Some(s) => s.iter().map(|&v| v.max(0) as usize).collect(),
        None => {
            let each = shape[axis].div_ceil(parts.max(1));
            (0..parts).map(|p| each.min(shape[axis].saturating_sub(p * each))).collect()
        }
    };
    if sizes.len() != parts || sizes.iter().sum::<usize>() != shape[axis] {
        return Err(unsupported(node, format!("split sizes {sizes:?} do not cover axis {axis} of {shape:?}")));
    }
    let (outer, inner): (usize, usize) = (shape[..axis].iter().product(), shape[axis + 1..].iter().product());
    let mut start = 0;
    for (output, &size) in node.output.iter().zip(&sizes) {
        let mut map = Vec::with_capacity(outer * size * inner);
        for o in 0..outer {
            map.extend((0..size * inner).map(|e| Some((0, ((o * shape[axis] + start) * inner + e) as u32))));
        }
        start += size;
        if output.is_empty() {
            continue;
        }
        let out_shape = ctx.shape(output)?;
        let name = format!("{}:{output}", node_name(node));
        let y = ctx.graph.add_node(&name, FloatOp::Rewire { map }, vec![x], output, out_shape)?;
        ctx.env.insert(output.clone(), Val::Tensor(y));
    }
    Ok(())
}

/// Tile by constant repeats.
pub(super) fn tile(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let x = tensor(node, ctx.val(node, 0)?, "the input")?;
    let shape = ctx.graph.tensors[x].shape.clone();
    let repeats: Vec<i64> = constant(node, ctx.val(node, 1)?, "repeats")?.1.iter().map(|&r| r as i64).collect();
    if repeats.len() != shape.len() || repeats.iter().any(|&r| r < 1) {
        return Err(unsupported(node, format!("repeats {repeats:?} for shape {shape:?}")));
    }
    let out: Vec<usize> = shape.iter().zip(&repeats).map(|(&d, &r)| d * r as usize).collect();
    let n: usize = out.iter().product();
    let map = (0..n)
        .map(|flat| {
            let (mut rem, mut src, mut stride) = (flat, 0, 1);
            for axis in (0..out.len()).rev() {
                src += (rem % out[axis]) % shape[axis] * stride;
                rem /= out[axis];
                stride *= shape[axis];
            }
            Some((0, src as u32))
        })
        .collect();
    ctx.push(node, FloatOp::Rewire { map }, vec![x])?;
    Ok(())
}
