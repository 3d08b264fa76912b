//! The CPU MSM backends against an independent implementation of BN254: arkworks'
//! `ark-bn254` with its own field arithmetic and Pippenger. The bases and scalars are the
//! same points and numbers, moved across by their canonical byte encodings.

use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{BigInteger, PrimeField as _};
use halo2_proofs::halo2curves::bn256::{Fr, G1Affine, G1};
use halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_proofs::halo2curves::group::{Curve, Group};
use halo2_proofs::halo2curves::CurveAffine;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use zkinfer_prover::{Basis, CpuMsm, MsmBackend, SmallScalarMsm};

fn to_ark_scalar(s: &Fr) -> ark_bn254::Fr {
    ark_bn254::Fr::from_le_bytes_mod_order(s.to_repr().as_ref())
}

fn to_ark_point(p: &G1Affine) -> ark_bn254::G1Affine {
    let c = p.coordinates().expect("test bases are never the identity");
    let x = ark_bn254::Fq::from_le_bytes_mod_order(c.x().to_repr().as_ref());
    let y = ark_bn254::Fq::from_le_bytes_mod_order(c.y().to_repr().as_ref());
    let point = ark_bn254::G1Affine::new_unchecked(x, y);
    assert!(point.is_on_curve() && point.is_in_correct_subgroup_assuming_on_curve());
    point
}

/// Affine coordinates as canonical little-endian bytes, `None` for the identity.
fn halo2_xy(p: &G1) -> Option<(Vec<u8>, Vec<u8>)> {
    if bool::from(p.is_identity()) {
        return None;
    }
    let c: Option<halo2_proofs::halo2curves::Coordinates<G1Affine>> = p.to_affine().coordinates().into();
    c.map(|c| (c.x().to_repr().as_ref().to_vec(), c.y().to_repr().as_ref().to_vec()))
}

fn ark_xy(p: &ark_bn254::G1Projective) -> Option<(Vec<u8>, Vec<u8>)> {
    let a = p.into_affine();
    a.xy().map(|(x, y)| (x.into_bigint().to_bytes_le(), y.into_bigint().to_bytes_le()))
}

fn random_bases(n: usize, rng: &mut ChaCha20Rng) -> Vec<G1Affine> {
    let points: Vec<G1> = (0..n).map(|_| G1::random(&mut *rng)).collect();
    let mut affine = vec![G1Affine::default(); n];
    G1::batch_normalize(&points, &mut affine);
    affine
}

#[test]
fn cpu_backends_equal_arkworks_on_adversarial_and_random_scalars() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let bases = random_bases(4096, &mut rng);
    let ark_bases: Vec<ark_bn254::G1Affine> = bases.iter().map(to_ark_point).collect();
    for n in [1, 2, 3, 100, 1000, 4096] {
        let kinds: Vec<(&str, Vec<Fr>)> = vec![
            ("0", vec![Fr::ZERO; n]),
            ("1", vec![Fr::ONE; n]),
            ("-1 = p - 1", vec![-Fr::ONE; n]),
            ("all equal", vec![Fr::from(1_234_567); n]),
            ("8-bit signed", (0..n).map(|_| Fr::from(rng.next_u64() % 256) - Fr::from(128)).collect()),
            ("32-bit signed", (0..n).map(|_| Fr::from(rng.next_u64() >> 32) - Fr::from(1 << 31)).collect()),
            (
                "64-bit edges",
                (0..n).map(|i| if i % 2 == 0 { Fr::from(u64::MAX) } else { -Fr::from(u64::MAX) }).collect(),
            ),
            ("full width", (0..n).map(|_| Fr::random(&mut rng)).collect()),
            (
                "small with wide tail",
                (0..n).map(|i| if i + 3 >= n { Fr::random(&mut rng) } else { Fr::from(i as u64 % 300) }).collect(),
            ),
        ];
        for (what, scalars) in kinds {
            let ark_scalars: Vec<ark_bn254::Fr> = scalars.iter().map(to_ark_scalar).collect();
            let expected = ark_bn254::G1Projective::msm(&ark_bases[..n], &ark_scalars).expect("equal lengths");
            let expected = ark_xy(&expected);
            let small = SmallScalarMsm::default().msm(&scalars, &bases[..n], Basis::Lagrange);
            let stock = CpuMsm.msm(&scalars, &bases[..n], Basis::Lagrange);
            assert_eq!(halo2_xy(&small), expected, "small-scalar MSM, {what}, n = {n}");
            assert_eq!(halo2_xy(&stock), expected, "stock MSM, {what}, n = {n}");
        }
    }
}

#[test]
fn a_wrong_scalar_changes_the_arkworks_result() {
    // The comparison above can fail: one scalar off by one moves the arkworks sum.
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let bases = random_bases(64, &mut rng);
    let ark_bases: Vec<ark_bn254::G1Affine> = bases.iter().map(to_ark_point).collect();
    let scalars: Vec<Fr> = (0..64).map(|_| Fr::random(&mut rng)).collect();
    let mut off: Vec<ark_bn254::Fr> = scalars.iter().map(to_ark_scalar).collect();
    off[17] += ark_bn254::Fr::from(1u64);
    let ark = ark_bn254::G1Projective::msm(&ark_bases, &off).expect("equal lengths");
    assert_ne!(halo2_xy(&SmallScalarMsm::default().msm(&scalars, &bases, Basis::Lagrange)), ark_xy(&ark));
}
