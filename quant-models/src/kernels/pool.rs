//! Pooling kernels over `[C, H, W]` data. Average pooling is a sum here; the caller divides
//! (the float reference exactly, the integer inference with checked rounding).

use super::Scalar;
use crate::window::Window2d;

fn pool<T: Scalar>(x: &[T], c: usize, h: usize, w: usize, win: &Window2d, f: impl Fn(Option<T>, T) -> T) -> Vec<T> {
    let Some((oh, ow)) = win.output_hw(h, w) else {
        return Vec::new();
    };
    let mut y = Vec::with_capacity(c * oh * ow);
    for ch in 0..c {
        let xc = &x[ch * h * w..(ch + 1) * h * w];
        for oy in 0..oh {
            for ox in 0..ow {
                let mut acc = None;
                for ky in 0..win.kernel[0] {
                    for kx in 0..win.kernel[1] {
                        if let Some((iy, ix)) = win.input_at(oy, ox, ky, kx, h, w) {
                            acc = Some(f(acc, xc[iy * w + ix]));
                        }
                    }
                }
                y.push(acc.unwrap_or_default());
            }
        }
    }
    y
}

/// Maximum over each window; padding never wins.
pub fn max_pool<T: Scalar>(x: &[T], c: usize, h: usize, w: usize, win: &Window2d) -> Vec<T> {
    pool(x, c, h, w, win, |acc, v| match acc {
        Some(a) if a >= v => a,
        _ => v,
    })
}

/// Sum over each window (padding contributes zero).
pub fn sum_pool<T: Scalar>(x: &[T], c: usize, h: usize, w: usize, win: &Window2d) -> Vec<T> {
    pool(x, c, h, w, win, |acc, v| acc.unwrap_or_default() + v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_and_sum_over_2x2() {
        let x = [1i64, -2, 3, 4, 5, -6, 7, 8, -9, 10, 11, 12, 13, 14, 15, -16];
        let win = Window2d { kernel: [2, 2], strides: [2, 2], pads: [0; 4], dilations: [1, 1] };
        assert_eq!(max_pool(&x, 1, 4, 4, &win), vec![5, 8, 14, 15]);
        assert_eq!(sum_pool(&x, 1, 4, 4, &win), vec![-2, 22, 28, 22]);
    }

    #[test]
    fn max_pool_ignores_padding_for_negative_inputs() {
        let win = Window2d { kernel: [2, 2], strides: [1, 1], pads: [1, 1, 0, 0], dilations: [1, 1] };
        assert_eq!(max_pool(&[-5i64], 1, 1, 1, &win), vec![-5]);
    }
}
