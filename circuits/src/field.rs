//! Signed integers as BN254 scalars: negative values are `p - |v|`, so small signed witnesses
//! stay small in magnitude on either side of zero.

use halo2_proofs::halo2curves::bn256::Fr;

/// The field element of a signed integer.
pub fn fe(v: i64) -> Fr {
    let m = Fr::from(v.unsigned_abs());
    if v < 0 {
        -m
    } else {
        m
    }
}

/// The field element of a signed 128-bit integer (products of accumulators and multipliers).
pub fn fe128(v: i128) -> Fr {
    let lo = Fr::from((v.unsigned_abs() & u64::MAX as u128) as u64);
    let hi = Fr::from((v.unsigned_abs() >> 64) as u64);
    let m = hi * Fr::from(1u64 << 32).square() + lo;
    if v < 0 {
        -m
    } else {
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_proofs::halo2curves::ff::Field;

    #[test]
    fn signed_values_round_trip_through_the_field() {
        assert_eq!(fe(-5) + fe(5), Fr::ZERO);
        assert_eq!(fe(7) * fe(-3), fe(-21));
        assert_eq!(fe128(-(1i128 << 70)) + fe128(1i128 << 70), Fr::ZERO);
        assert_eq!(fe128(1i128 << 64), Fr::from(u64::MAX) + Fr::ONE);
    }
}
