//! Dot-product kernels: dense layers over the last axis and grouped, strided, dilated 2-D
//! convolution over `[C, H, W]` data.

use rayon::prelude::*;

use super::{Scalar, PARALLEL_MACS};
use crate::window::Window2d;

/// `y[r, o] = bias[o] + Σ_i w[o, i] · x[r, i]` for every row `r` of `x` (viewed as `[rows, inputs]`).
pub fn dense<T: Scalar>(x: &[T], weight: &[T], bias: &[T], inputs: usize, outputs: usize) -> Vec<T> {
    let rows = x.len() / inputs.max(1);
    let mut y = vec![T::default(); rows * outputs];
    let kernel = |(idx, out): (usize, &mut T)| {
        let (r, o) = (idx / outputs, idx % outputs);
        let row = &x[r * inputs..(r + 1) * inputs];
        let w = &weight[o * inputs..(o + 1) * inputs];
        *out = row.iter().zip(w).fold(bias[o], |acc, (&a, &b)| acc + a * b);
    };
    if rows * outputs * inputs >= PARALLEL_MACS {
        y.par_iter_mut().enumerate().for_each(kernel);
    } else {
        y.iter_mut().enumerate().for_each(kernel);
    }
    y
}

/// Shape of a 2-D convolution: input `[c_in, h, w]`, weight `[c_out, c_in / group, kh, kw]`.
#[derive(Clone, Copy, Debug)]
pub struct ConvShape {
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub group: usize,
    pub out_h: usize,
    pub out_w: usize,
}

/// Grouped convolution; output `[c_out, out_h, out_w]`.
pub fn conv2d<T: Scalar>(x: &[T], weight: &[T], bias: &[T], s: ConvShape, win: &Window2d) -> Vec<T> {
    let [kh, kw] = win.kernel;
    let cin_g = s.c_in / s.group;
    let cout_g = s.c_out / s.group;
    let plane = s.out_h * s.out_w;
    let mut y = vec![T::default(); s.c_out * plane];
    let kernel = |(co, out): (usize, &mut [T])| {
        let g = co / cout_g;
        for oy in 0..s.out_h {
            for ox in 0..s.out_w {
                let mut acc = bias[co];
                for ci in 0..cin_g {
                    let xc = &x[(g * cin_g + ci) * s.h * s.w..];
                    let wc = &weight[(co * cin_g + ci) * kh * kw..];
                    for ky in 0..kh {
                        for kx in 0..kw {
                            if let Some((iy, ix)) = win.input_at(oy, ox, ky, kx, s.h, s.w) {
                                acc = acc + xc[iy * s.w + ix] * wc[ky * kw + kx];
                            }
                        }
                    }
                }
                out[oy * s.out_w + ox] = acc;
            }
        }
    };
    if s.c_out * plane * cin_g * kh * kw >= PARALLEL_MACS {
        y.par_chunks_mut(plane.max(1)).enumerate().for_each(kernel);
    } else {
        y.chunks_mut(plane.max(1)).enumerate().for_each(kernel);
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_matches_hand_computation() {
        let y = dense(&[1i64, 2, 3, 4], &[1, 0, -1, 2], &[10, 20], 2, 2);
        assert_eq!(y, vec![11, 23, 13, 25]);
    }

    #[test]
    fn grouped_conv_keeps_channels_apart() {
        // Two channels, depthwise 1x1 kernels of 2 and -3.
        let x = [1i64, 2, 3, 4, 5, 6, 7, 8];
        let s = ConvShape { c_in: 2, h: 2, w: 2, c_out: 2, group: 2, out_h: 2, out_w: 2 };
        let y = conv2d(&x, &[2, -3], &[0, 1], s, &Window2d::new([1, 1]));
        assert_eq!(y, vec![2, 4, 6, 8, -14, -17, -20, -23]);
    }

    #[test]
    fn padded_conv_sums_inside_taps_only() {
        let x = [1i64; 9];
        let win = Window2d { kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1] };
        let s = ConvShape { c_in: 1, h: 3, w: 3, c_out: 1, group: 1, out_h: 3, out_w: 3 };
        let y = conv2d(&x, &[1; 9], &[0], s, &win);
        assert_eq!(y, vec![4, 6, 4, 6, 9, 6, 4, 6, 4]);
    }
}
