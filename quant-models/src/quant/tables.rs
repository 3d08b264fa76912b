//! Lookup tables fixed at quantization time: tabulated activations and the softmax exponential.

use super::ir::{signed_range, EXP_FRAC_BITS};
use crate::graph::ActFn;

/// `table[t - lo] = clamp(round(f(t · 2^-in_frac) · 2^out_frac))` for `t` in `domain`.
pub fn activation_table(f: ActFn, domain: (i64, i64), in_frac: i32, out_frac: i32, out_bits: u32) -> Vec<i64> {
    let (lo, hi) = signed_range(out_bits);
    (domain.0..=domain.1)
        .map(|t| {
            let y = f.eval(t as f64 * (-(in_frac as f64)).exp2()) * (out_frac as f64).exp2();
            (y.round() as i64).clamp(lo, hi)
        })
        .collect()
}

/// `table[k] = round(exp(-k · 2^-in_frac) · 2^EXP_FRAC_BITS)` for `k` from 0 up to the first zero
/// (or `max_k`): every larger difference maps to the last entry.
pub fn exp_table(in_frac: i32, max_k: i64) -> Vec<i64> {
    let mut table = Vec::new();
    for k in 0..=max_k {
        let v = ((-(k as f64) * (-(in_frac as f64)).exp2()).exp() * (EXP_FRAC_BITS as f64).exp2()).round() as i64;
        table.push(v);
        if v == 0 {
            break;
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_table_is_centered_and_clamped() {
        let t = activation_table(ActFn::Sigmoid, (-512, 511), 6, 6, 8);
        assert_eq!(t.len(), 1024);
        assert_eq!(t[512], 32); // sigmoid(0) = 0.5 at 2^-6
        assert_eq!(*t.last().unwrap(), 64);
        assert_eq!(t[0], 0);
    }

    #[test]
    fn exp_table_starts_at_one_and_ends_at_zero() {
        let t = exp_table(4, 1 << 12);
        assert_eq!(t[0], 1 << EXP_FRAC_BITS);
        assert_eq!(*t.last().unwrap(), 0);
        assert!(t.windows(2).all(|w| w[0] >= w[1]));
    }
}
