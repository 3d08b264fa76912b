//! Geometry of 2-D sliding windows (convolution and pooling), shared by the float and integer
//! kernels so both walk exactly the same input positions.

use serde::{Deserialize, Serialize};

/// A 2-D window over `[C, H, W]` data: kernel size, strides, zero padding and dilation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window2d {
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Step between neighbouring outputs, vertically and horizontally.
    pub strides: [usize; 2],
    /// Padding as ONNX orders it: top, left, bottom, right.
    pub pads: [usize; 4],
    /// Spacing between kernel taps.
    pub dilations: [usize; 2],
}

impl Window2d {
    /// A dense window with unit stride and dilation and no padding.
    pub fn new(kernel: [usize; 2]) -> Self {
        Window2d { kernel, strides: [1, 1], pads: [0; 4], dilations: [1, 1] }
    }

    /// Output height and width for an `h × w` input, or `None` when the window does not fit.
    pub fn output_hw(&self, h: usize, w: usize) -> Option<(usize, usize)> {
        let dim = |size: usize, pad: usize, k: usize, d: usize, s: usize| {
            let span = d * (k.checked_sub(1)?) + 1;
            let padded = size + pad;
            if s == 0 || padded < span {
                return None;
            }
            Some((padded - span) / s + 1)
        };
        Some((
            dim(h, self.pads[0] + self.pads[2], self.kernel[0], self.dilations[0], self.strides[0])?,
            dim(w, self.pads[1] + self.pads[3], self.kernel[1], self.dilations[1], self.strides[1])?,
        ))
    }

    /// Input position read by output `(oy, ox)` at kernel tap `(ky, kx)`; `None` inside padding.
    #[inline]
    pub fn input_at(&self, oy: usize, ox: usize, ky: usize, kx: usize, h: usize, w: usize) -> Option<(usize, usize)> {
        let y = (oy * self.strides[0] + ky * self.dilations[0]).checked_sub(self.pads[0])?;
        let x = (ox * self.strides[1] + kx * self.dilations[1]).checked_sub(self.pads[1])?;
        (y < h && x < w).then_some((y, x))
    }

    /// Number of taps of output `(oy, ox)` that fall inside the input (the divisor of an
    /// average pool that excludes padding).
    pub fn taps_inside(&self, oy: usize, ox: usize, h: usize, w: usize) -> usize {
        let mut n = 0;
        for ky in 0..self.kernel[0] {
            for kx in 0..self.kernel[1] {
                n += usize::from(self.input_at(oy, ox, ky, kx, h, w).is_some());
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_size_follows_onnx_formula() {
        let w = Window2d { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1] };
        assert_eq!(w.output_hw(7, 5), Some((4, 3)));
        let d = Window2d { kernel: [3, 3], strides: [1, 1], pads: [0; 4], dilations: [2, 2] };
        assert_eq!(d.output_hw(7, 7), Some((3, 3)));
        assert_eq!(Window2d::new([5, 5]).output_hw(3, 3), None);
    }

    #[test]
    fn padding_taps_are_skipped() {
        let w = Window2d { kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1] };
        assert_eq!(w.input_at(0, 0, 0, 0, 4, 4), None);
        assert_eq!(w.input_at(0, 0, 1, 1, 4, 4), Some((0, 0)));
        assert_eq!(w.taps_inside(0, 0, 4, 4), 4);
        assert_eq!(w.taps_inside(1, 1, 4, 4), 9);
    }
}
