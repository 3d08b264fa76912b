//! Windowed ops: Conv (1-D and 2-D) and pooling (1-D, 2-D and 3-D, `ceil_mode` included).
//!
//! Everything runs on the 2-D window of [`Window2d`]: a 1-D op is a 2-D one over an `[1, L]`
//! plane, and a 3-D pool is two 2-D pools, first over `(H, W)` of every depth slice, then over
//! the depth. Both stages are exact for a maximum; for a mean, each stage divides by its own
//! count and the counts multiply to the box's (one rounding per stage). A 3-D convolution is
//! one 2-D convolution per output depth slice, over the input slices its depth taps read
//! stacked as channels: one exact dot product per output, as in 2-D.

use tract_onnx::pb::NodeProto;

use super::attrs;
use super::computed::{internal, reshaped};
use super::import::{Ctx, Val};
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

/// The input shape of a windowed op: `[N, C, spatial…]` with an allowed number of spatial axes.
fn input(ctx: &Ctx, node: &NodeProto, x: TensorId, ranks: &[usize]) -> Result<Vec<usize>> {
    let s = ctx.graph.tensors[x].shape.clone();
    if s.len() < 3 || !ranks.contains(&(s.len() - 2)) {
        let spatial = s.len().saturating_sub(2);
        return Err(unsupported(node, format!("input shape {s:?}: {spatial} spatial axes are not supported")));
    }
    Ok(s)
}

/// The op applied to one sample (`[1, C, …]` in, `[1, C', …]` out), returning its output.
type Single<'a> = dyn Fn(&mut Ctx, TensorId, &[usize], &[usize], &str) -> Result<TensorId> + 'a;

/// Applies `single` to every sample of the batch, each viewed as `[1, C, …]`, and binds the
/// node's output to the results concatenated along the batch axis: one proof covers the
/// batch, at `N` times the rows of one sample.
fn per_sample(ctx: &mut Ctx, node: &NodeProto, x: TensorId, xs: &[usize], single: &Single) -> Result<()> {
    let out = ctx.shape(&node.output[0])?;
    let n = xs[0];
    let (sample_in, sample_out) = ([&[1], &xs[1..]].concat(), [&[1], &out[1..]].concat());
    let y = if n == 1 {
        single(ctx, x, &sample_in, &sample_out, "")?
    } else {
        let (in_len, out_len) = (sample_in.iter().product::<usize>(), sample_out.iter().product::<usize>());
        let mut parts = Vec::with_capacity(n);
        let mut created = Vec::with_capacity(n);
        for b in 0..n {
            let first = ctx.graph.tensors.len();
            let map = (0..in_len).map(|e| Some((0, (b * in_len + e) as u32))).collect();
            let xb = internal(ctx, node, &format!("sample{b}"), FloatOp::Rewire { map }, vec![x], sample_in.clone())?;
            parts.push(single(ctx, xb, &sample_in, &sample_out, &b.to_string())?);
            created.push(first..ctx.graph.tensors.len());
        }
        // The i-th tensor each sample's op made is the same intermediate: one range for all.
        let per = created[0].len();
        if created.iter().all(|r| r.len() == per) {
            let groups = (0..per).map(|i| created.iter().map(|r| r.start + i).collect());
            ctx.graph.shared_ranges.extend(groups);
        }
        let map = (0..n * out_len).map(|e| Some(((e / out_len) as u32, (e % out_len) as u32))).collect();
        internal(ctx, node, "batch", FloatOp::Rewire { map }, parts, out)?
    };
    ctx.graph.tensors[y].name = node.output[0].clone();
    ctx.env.insert(node.output[0].clone(), Val::Tensor(y));
    Ok(())
}

/// `op` (a 2-D windowed op) on one sample `x` seen as `[1, C, H, W]`: a 1-D sample is viewed
/// with `H = 1`.
fn planar(
    ctx: &mut Ctx,
    node: &NodeProto,
    x: TensorId,
    xs: &[usize],
    op: FloatOp,
    out: &[usize],
    tag: &str,
) -> Result<TensorId> {
    if xs.len() == 4 {
        return internal(ctx, node, &format!("op{tag}"), op, vec![x], out.to_vec());
    }
    let plane = reshaped(ctx, node, x, &[1, xs[1], 1, xs[2]], &format!("plane{tag}"))?;
    let y = internal(ctx, node, &format!("op{tag}"), op, vec![plane], vec![1, out[1], 1, out[2]])?;
    reshaped(ctx, node, y, out, &format!("line{tag}"))
}

/// Conv, 1-D (as 2-D over an `[1, L]` plane), 2-D or 3-D, any batch size.
pub(super) fn conv(ctx: &mut Ctx, node: &NodeProto) -> Result<()> {
    let x = tensor(node, ctx.val(node, 0)?, "the input")?;
    let xs = input(ctx, node, x, &[1, 2, 3])?;
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
        [h, w] | [_, h, w] => window2d(h, w),
        _ => return Err(unsupported(node, "only 1-D, 2-D and 3-D convolutions are supported")),
    };
    if let [d, _, _] = axes[..] {
        let kernel = Conv3d { weight, wshape, bias, window, group, depth: d };
        return per_sample(ctx, node, x, &xs, &|ctx, x, xs, out, tag| kernel.slices(ctx, node, x, xs, out, tag));
    }
    let op = FloatOp::Conv { weight, bias, window, group };
    per_sample(ctx, node, x, &xs, &|ctx, x, xs, out, tag| planar(ctx, node, x, xs, op.clone(), out, tag))
}

/// A 3-D convolution: its weight `[C_out, C_in / group, kd, kh, kw]`, the `(H, W)` window and
/// the depth axis.
struct Conv3d {
    weight: Vec<f64>,
    wshape: Vec<usize>,
    bias: Vec<f64>,
    window: Window2d,
    group: usize,
    depth: Axis,
}

impl Conv3d {
    /// One sample: for each output depth `od`, the input slices at `od·s + t·d − pad` for every
    /// depth tap `t` (zero outside), stacked per group as channels `[t][c]`, go through a 2-D
    /// convolution whose weight is the matching `[C_out, kd · C_in / group, kh, kw]` reordering.
    fn slices(
        &self,
        ctx: &mut Ctx,
        node: &NodeProto,
        x: TensorId,
        xs: &[usize],
        out: &[usize],
        tag: &str,
    ) -> Result<TensorId> {
        let (depth, h, w) = (xs[2], xs[3], xs[4]);
        let (c_out, per_group, kd, kh, kw) =
            (self.wshape[0], self.wshape[1], self.wshape[2], self.wshape[3], self.wshape[4]);
        let (od_n, oh, ow) = (out[2], out[3], out[4]);
        let plane = kh * kw;
        // W'[o][(t·per_group + c)][plane] = W[o][c][t][plane].
        let mut weight = Vec::with_capacity(self.weight.len());
        for o in 0..c_out {
            for t in 0..kd {
                for c in 0..per_group {
                    let at = (((o * per_group + c) * kd) + t) * plane;
                    weight.extend_from_slice(&self.weight[at..at + plane]);
                }
            }
        }
        let op = FloatOp::Conv { weight, bias: self.bias.clone(), window: self.window, group: self.group };
        let groups = self.group;
        let mut parts = Vec::with_capacity(od_n);
        for od in 0..od_n {
            let mut map = Vec::with_capacity(groups * kd * per_group * h * w);
            for g in 0..groups {
                for t in 0..kd {
                    let z = (od * self.depth.stride + t * self.depth.dilation)
                        .checked_sub(self.depth.begin)
                        .filter(|&z| z < depth);
                    for c in 0..per_group {
                        let channel = g * per_group + c;
                        map.extend((0..h * w).map(|e| z.map(|z| (0, (((channel * depth) + z) * h * w + e) as u32))));
                    }
                }
            }
            let stacked_shape = vec![1, groups * kd * per_group, h, w];
            let stacked =
                internal(ctx, node, &format!("taps{tag}_{od}"), FloatOp::Rewire { map }, vec![x], stacked_shape)?;
            parts.push(internal(
                ctx,
                node,
                &format!("slice{tag}_{od}"),
                op.clone(),
                vec![stacked],
                vec![1, c_out, oh, ow],
            )?);
        }
        // out[o][od][p] = part od's [o][p].
        let map = (0..c_out * od_n * oh * ow)
            .map(|e| {
                let (o, od, p) = (e / (od_n * oh * ow), (e / (oh * ow)) % od_n, e % (oh * ow));
                Some((od as u32, (o * oh * ow + p) as u32))
            })
            .collect();
        internal(ctx, node, &format!("volume{tag}"), FloatOp::Rewire { map }, parts, out.to_vec())
    }
}

/// MaxPool, AveragePool and GlobalAveragePool over 1, 2 or 3 spatial axes, any batch size.
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
        [l] => {
            let op = make(window2d(Axis::UNIT, l));
            per_sample(ctx, node, x, &xs, &|ctx, x, xs, out, tag| planar(ctx, node, x, xs, op.clone(), out, tag))
        }
        [h, w] => {
            let op = make(window2d(h, w));
            per_sample(ctx, node, x, &xs, &|ctx, x, xs, out, tag| planar(ctx, node, x, xs, op.clone(), out, tag))
        }
        [d, h, w] => {
            // Over (H, W) of each depth slice, then over the depth of each (H', W') position.
            let (hw_op, depth_op) = (make(window2d(h, w)), make(window2d(d, Axis::UNIT)));
            per_sample(ctx, node, x, &xs, &|ctx, x, xs, out, tag| {
                let (c, depth, (od, oh, ow)) = (xs[1], xs[2], (out[2], out[3], out[4]));
                let slices = reshaped(ctx, node, x, &[1, c * depth, xs[3], xs[4]], &format!("slices{tag}"))?;
                let hw =
                    internal(ctx, node, &format!("hw{tag}"), hw_op.clone(), vec![slices], vec![1, c * depth, oh, ow])?;
                let columns = reshaped(ctx, node, hw, &[1, c, depth, oh * ow], &format!("columns{tag}"))?;
                let y = internal(
                    ctx,
                    node,
                    &format!("depth{tag}"),
                    depth_op.clone(),
                    vec![columns],
                    vec![1, c, od, oh * ow],
                )?;
                reshaped(ctx, node, y, out, &format!("volume{tag}"))
            })
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
