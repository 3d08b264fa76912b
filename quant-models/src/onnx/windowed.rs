//! Windowed ops: Conv (1-D and 2-D) and pooling (1-D, 2-D and 3-D, `ceil_mode` included).
//!
//! Everything runs on the 2-D window of [`Window2d`]: a 1-D op is a 2-D one over an `[1, L]`
//! plane, and a 3-D pool is two 2-D pools, first over `(H, W)` of every depth slice, then over
//! the depth. Both stages are exact for a maximum; for a mean, each stage divides by its own
//! count and the counts multiply to the box's (one rounding per stage).

use tract_onnx::pb::NodeProto;

use super::attrs;
use super::computed::reshaped;
use super::import::{node_name, Ctx};
use super::translate::{constant, tensor, unsupported};
use crate::error::Result;
use crate::graph::{FloatOp, TensorId};
use crate::window::Window2d;

/// One spatial axis of a window, padding resolved (`auto_pad`, `ceil_mode`).
#[derive(Clone, Copy, Debug)]
struct Axis {
    kernel: usize,
    stride: usize,
    dilation: usize,
    begin: usize,
    end: usize,
}

impl Axis {
    /// The axis of a window that does nothing (kernel 1 over a size-1 axis).
    const UNIT: Axis = Axis { kernel: 1, stride: 1, dilation: 1, begin: 0, end: 0 };
}

/// The 2-D window of two axes.
fn window2d(h: Axis, w: Axis) -> Window2d {
    Window2d {
        kernel: [h.kernel, w.kernel],
        strides: [h.stride, w.stride],
        pads: [h.begin, w.begin, h.end, w.end],
        dilations: [h.dilation, w.dilation],
    }
}

/// Strides, dilations and pads of `node` for `kernel` over spatial `sizes`.
fn spatial_axes(node: &NodeProto, kernel: &[usize], sizes: &[usize]) -> Result<Vec<Axis>> {
    let r = kernel.len();
    let per_axis = |name: &str, default: usize| -> Result<Vec<usize>> {
        match attrs::ints(node, name) {
            None => Ok(vec![default; r]),
            Some(v) if v.len() == r && v.iter().all(|&x| x > 0) => Ok(v.iter().map(|&x| x as usize).collect()),
            Some(v) => Err(unsupported(node, format!("{name} {v:?}: need {r} positive values"))),
        }
    };
    let (strides, dilations) = (per_axis("strides", 1)?, per_axis("dilations", 1)?);
    let auto_pad = attrs::string(node, "auto_pad", "NOTSET")?;
    let mut axes = Vec::with_capacity(r);
    for i in 0..r {
        let (k, s, d, size) = (kernel[i], strides[i], dilations[i], sizes[i]);
        let span = (k - 1) * d + 1;
        let (begin, end) = match auto_pad.as_str() {
            "NOTSET" => match attrs::ints(node, "pads") {
                None => (0, 0),
                Some(p) if p.len() == 2 * r && p.iter().all(|&x| x >= 0) => (p[i] as usize, p[i + r] as usize),
                Some(p) => return Err(unsupported(node, format!("pads {p:?}: need {} non-negative values", 2 * r))),
            },
            "VALID" => (0, 0),
            "SAME_UPPER" | "SAME_LOWER" => {
                let total = ((size.div_ceil(s) - 1) * s + span).saturating_sub(size);
                if auto_pad == "SAME_UPPER" {
                    (total / 2, total - total / 2)
                } else {
                    (total - total / 2, total / 2)
                }
            }
            other => return Err(unsupported(node, format!("auto_pad {other}"))),
        };
        let mut axis = Axis { kernel: k, stride: s, dilation: d, begin, end };
        if attrs::int(node, "ceil_mode", 0) != 0 {
            let extra = ceil_extension(size, axis);
            // The extension is not padding to count: a partial window divides by fewer taps.
            if extra > 0 && attrs::int(node, "count_include_pad", 0) != 0 {
                return Err(unsupported(node, "ceil_mode = 1 with count_include_pad = 1 and a partial last window"));
            }
            axis.end += extra;
        }
        axes.push(axis);
    }
    Ok(axes)
}

/// Extra end padding that makes the floor output size equal `ceil_mode`'s: one more window
/// when a partial one remains, unless it would start past the input and its begin padding.
fn ceil_extension(size: usize, a: Axis) -> usize {
    let (padded, span) = (size + a.begin + a.end, (a.kernel - 1) * a.dilation + 1);
    if padded < span {
        return 0;
    }
    let mut out = (padded - span).div_ceil(a.stride) + 1;
    if (out - 1) * a.stride >= size + a.begin {
        out -= 1;
    }
    ((out - 1) * a.stride + span).saturating_sub(padded)
}

/// The input of a windowed op: `[1, C, spatial…]` with `rank` spatial axes (batch size 1).
fn input(ctx: &Ctx, node: &NodeProto, x: TensorId, ranks: &[usize]) -> Result<Vec<usize>> {
    let s = ctx.graph.tensors[x].shape.clone();
    if s.len() < 3 || !ranks.contains(&(s.len() - 2)) {
        return Err(unsupported(
            node,
            format!("input shape {s:?}: {} spatial axes are not supported", s.len().saturating_sub(2)),
        ));
    }
    if s[0] != 1 {
        return Err(unsupported(node, format!("input shape {s:?}: batch size {} (only 1 is supported)", s[0])));
    }
    Ok(s)
}

/// Conv, 1-D (as 2-D over an `[1, L]` plane) or 2-D.
pub(super) fn conv(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let x = tensor(node, ctx.val(node, 0)?, "the input")?;
    let xs = input(ctx, node, x, &[1, 2])?;
    let (wshape, weight) = constant(node, ctx.val(node, 1)?, "the weight")?;
    if wshape.len() != xs.len() {
        return Err(unsupported(node, format!("weight {wshape:?} does not fit input {xs:?}")));
    }
    let group = attrs::int(node, "group", 1).max(1) as usize;
    if xs[1] != wshape[1] * group || wshape[0] % group != 0 {
        return Err(unsupported(node, format!("weight {wshape:?} does not fit input {xs:?} with group {group}")));
    }
    let bias = match ctx.opt_val(node, 2)? {
        None => vec![0.0; wshape[0]],
        Some(v) => constant(node, v, "the bias")?.1,
    };
    let axes = spatial_axes(node, &wshape[2..], &xs[2..])?;
    let window = match axes[..] {
        [l] => window2d(Axis::UNIT, l),
        [h, w] => window2d(h, w),
        _ => return Err(unsupported(node, "only 1-D and 2-D convolutions are supported")),
    };
    let op = FloatOp::Conv { weight, bias, window, group };
    planar(ctx, node, x, &xs, op)
}

/// `op` (a 2-D windowed op) on `x` seen as `[1, C, H, W]`: a 1-D input is viewed as `H = 1`.
fn planar(ctx: &mut Ctx, node: &NodeProto, x: TensorId, xs: &[usize], op: FloatOp) -> Result<()> {
    if xs.len() == 4 {
        ctx.push(node, op, vec![x])?;
        return Ok(());
    }
    let out = ctx.shape(&node.output[0])?;
    let plane = reshaped(ctx, node, x, &[1, xs[1], 1, xs[2]], "plane")?;
    let name = format!("{}:planar", node_name(node));
    let y = ctx.graph.add_node(&name, op, vec![plane], &name, vec![1, out[1], 1, out[2]])?;
    let map = (0..out.iter().product::<usize>() as u32).map(|e| Some((0, e))).collect();
    ctx.push(node, FloatOp::Rewire { map }, vec![y])?;
    Ok(())
}

/// MaxPool, AveragePool and GlobalAveragePool over 1, 2 or 3 spatial axes.
pub(super) fn pool(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let x = tensor(node, ctx.val(node, 0)?, "the input")?;
    let xs = input(ctx, node, x, &[1, 2, 3])?;
    if node.output.iter().skip(1).any(|o| !o.is_empty()) {
        return Err(unsupported(node, "the Indices output is not supported"));
    }
    let count_include_pad = attrs::int(node, "count_include_pad", 0) != 0;
    let axes = if node.op_type == "GlobalAveragePool" {
        xs[2..].iter().map(|&k| Axis { kernel: k, ..Axis::UNIT }).collect()
    } else {
        let k = attrs::ints(node, "kernel_shape").unwrap_or_default();
        if k.len() != xs.len() - 2 || k.iter().any(|&v| v <= 0) {
            return Err(unsupported(node, format!("kernel_shape {k:?} does not fit input {xs:?}")));
        }
        let kernel: Vec<usize> = k.iter().map(|&v| v as usize).collect();
        spatial_axes(node, &kernel, &xs[2..])?
    };
    let make = |window: Window2d| match node.op_type.as_str() {
        "MaxPool" => FloatOp::MaxPool(window),
        _ => FloatOp::AvgPool { window, count_include_pad: count_include_pad || node.op_type == "GlobalAveragePool" },
    };
    match axes[..] {
        [l] => planar(ctx, node, x, &xs, make(window2d(Axis::UNIT, l))),
        [h, w] => planar(ctx, node, x, &xs, make(window2d(h, w))),
        [d, h, w] => {
            // Over (H, W) of each depth slice, then over the depth of each (H', W') position.
            let out = ctx.shape(&node.output[0])?;
            let (c, depth) = (xs[1], xs[2]);
            let (od, oh, ow) = (out[2], out[3], out[4]);
            let slices = reshaped(ctx, node, x, &[1, c * depth, xs[3], xs[4]], "slices")?;
            let name = format!("{}:hw", node_name(node));
            let hw =
                ctx.graph.add_node(&name, make(window2d(h, w)), vec![slices], &name, vec![1, c * depth, oh, ow])?;
            let columns = reshaped(ctx, node, hw, &[1, c, depth, oh * ow], "columns")?;
            let name = format!("{}:depth", node_name(node));
            let y = ctx.graph.add_node(
                &name,
                make(window2d(d, Axis::UNIT)),
                vec![columns],
                &name,
                vec![1, c, od, oh * ow],
            )?;
            let map = (0..out.iter().product::<usize>() as u32).map(|e| Some((0, e))).collect();
            ctx.push(node, FloatOp::Rewire { map }, vec![y])?;
            Ok(())
        }
        _ => Err(unsupported(node, "pooling over more than 3 axes is not supported")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceil_mode_adds_the_last_partial_window() {
        let a = |kernel, stride| Axis { kernel, stride, ..Axis::UNIT };
        // 4 inputs, kernel 3, stride 2: floor gives 1 window, ceil 2 (one extra pad).
        assert_eq!(ceil_extension(4, a(3, 2)), 1);
        // Exact fit: nothing to add.
        assert_eq!(ceil_extension(5, a(3, 2)), 0);
        // A window that would start beyond the input is not added.
        assert_eq!(ceil_extension(3, Axis { begin: 1, end: 1, ..a(2, 3) }), 0);
    }
}
