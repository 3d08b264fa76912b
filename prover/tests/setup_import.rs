//! Importing universal setups: `.ptau` files and halo2 params, each checked with pairings.
//!
//! The `.ptau` files here are written by a small writer that follows snarkjs's layout; the
//! end-to-end test with a ceremony made by the snarkjs CLI itself is in the CLI's tests.

use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine, G2Affine};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::halo2curves::group::Curve;
use halo2_proofs::halo2curves::serde::SerdeObject;
use halo2_proofs::poly::commitment::{Params, ParamsProver};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rand_core::{RngCore, SeedableRng};
use zkinfer_prover::{import_setup, write_srs, SetupFormat};
use zkinfer_verifier::VerifierSrs;

const FQ_MODULUS_LE: [u8; 32] = {
    // 0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47, little-endian.
    let be = *b"\x30\x64\x4e\x72\xe1\x31\xa0\x29\xb8\x50\x45\xb6\x81\x81\x58\x5d\x97\x81\x6a\x91\x68\x71\xca\x8d\x3c\x20\x8c\x16\xd8\x7c\xfd\x47";
    let mut le = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        le[i] = be[31 - i];
        i += 1;
    }
    le
};

fn section(out: &mut Vec<u8>, id: u32, body: &[u8]) {
    out.extend(id.to_le_bytes());
    out.extend((body.len() as u64).to_le_bytes());
    out.extend(body);
}

/// A `.ptau` of `2^power` powers of `tau`, laid out as snarkjs writes them (header, τ·G1, τ·G2;
/// the other sections are not read).
fn ptau(power: u32, tau: Fr) -> Vec<u8> {
    let n = 1usize << power;
    let mut header = 32u32.to_le_bytes().to_vec();
    header.extend(FQ_MODULUS_LE);
    header.extend(power.to_le_bytes());
    header.extend(power.to_le_bytes());
    let (mut g1, mut g2) = (Vec::new(), Vec::new());
    let mut t = Fr::ONE;
    for i in 0..2 * n - 1 {
        g1.extend((G1Affine::generator() * t).to_affine().to_raw_bytes());
        if i < n {
            g2.extend((G2Affine::generator() * t).to_affine().to_raw_bytes());
        }
        t *= tau;
    }
    let mut out = b"ptau".to_vec();
    out.extend(1u32.to_le_bytes());
    out.extend(3u32.to_le_bytes());
    section(&mut out, 1, &header);
    section(&mut out, 2, &g1);
    section(&mut out, 3, &g2);
    out
}

/// Offset of the `i`-th τ·G1 point in a file from [`ptau`].
fn g1_offset(i: usize) -> usize {
    4 + 4 + 4 + (12 + 44) + 12 + i * 64
}

fn tau() -> Fr {
    Fr::random(rand_chacha::ChaCha20Rng::seed_from_u64(7))
}

#[test]
fn a_ptau_imports_as_the_powers_of_its_tau_at_the_requested_size() {
    let bytes = ptau(5, tau());
    let imported = import_setup(&bytes, 4).unwrap();
    assert_eq!((imported.format, imported.file_power, imported.params.k()), (SetupFormat::Ptau, 5, 4));
    assert_eq!(imported.params.get_g().len(), 16);
    assert_eq!(imported.params.get_g()[3], (G1Affine::generator() * tau().pow_vartime([3])).to_affine());
    assert_eq!(imported.params.s_g2(), (G2Affine::generator() * tau()).to_affine());
    assert_eq!(imported.blake2b, blake2b_simd::blake2b(&bytes).to_hex().to_string());
    assert!(imported.ceremony.is_none());
    // Same τ at every size: one SRS id.
    let other = import_setup(&ptau(4, tau()), 3).unwrap();
    assert_eq!(VerifierSrs::from_params(&other.params).id(), VerifierSrs::from_params(&imported.params).id());
}

#[test]
fn a_ptau_with_one_changed_point_is_refused() {
    let bytes = ptau(5, tau());
    // A valid curve point, but not τ^5·G1: only the pairing check can see it.
    let mut swapped = bytes.clone();
    swapped.copy_within(g1_offset(6)..g1_offset(7), g1_offset(5));
    let err = import_setup(&swapped, 5).unwrap_err().to_string();
    assert!(err.contains("pairing check failed"), "{err}");
    // The last power the circuit uses is checked too (its successor is in the file).
    let mut last = bytes.clone();
    last.copy_within(g1_offset(0)..g1_offset(1), g1_offset(31));
    assert!(import_setup(&last, 5).unwrap_err().to_string().contains("pairing check failed"));
    // A point off the curve.
    let mut off = bytes.clone();
    off[g1_offset(2) + 3] ^= 1;
    assert!(import_setup(&off, 5).unwrap_err().to_string().contains("not on the curve"));
    // A different τ in G2 than in G1.
    let mut other_g2 = bytes.clone();
    let g2_at = g1_offset(2 * 32 - 1) + 12 + 128;
    let wrong = (G2Affine::generator() * (tau() + Fr::ONE)).to_affine().to_raw_bytes();
    other_g2[g2_at..g2_at + 128].copy_from_slice(&wrong);
    assert!(import_setup(&other_g2, 5).unwrap_err().to_string().contains("pairing check failed"));
}

#[test]
fn malformed_ptau_files_are_reported() {
    let bytes = ptau(4, tau());
    let mut wrong_curve = bytes.clone();
    wrong_curve[4 + 4 + 4 + 12 + 4] ^= 1;
    let mut long = bytes.clone();
    long.push(0);
    for (bad, what) in [
        (bytes[..bytes.len() - 1].to_vec(), "truncated"),
        (b"ptau".to_vec(), "truncated"),
        (wrong_curve, "not BN254"),
        (long, "after the last section"),
    ] {
        let err = import_setup(&bad, 3).unwrap_err().to_string();
        assert!(err.contains(what), "{what}: {err}");
    }
    assert!(import_setup(&bytes, 5).unwrap_err().to_string().contains("the circuit needs 2^5"));
}

#[test]
fn halo2_params_import_and_a_changed_point_is_refused() {
    let params = ParamsKZG::<Bn256>::setup(5, rand_chacha::ChaCha20Rng::seed_from_u64(9));
    let bytes = write_srs(&params);
    let imported = import_setup(&bytes, 4).unwrap();
    assert_eq!(imported.format, SetupFormat::Halo2Params);
    assert_eq!(VerifierSrs::from_params(&imported.params), VerifierSrs::from_params(&params));
    // At the file's own size its Lagrange points are kept, after a check.
    let same = import_setup(&bytes, 5).unwrap();
    assert_eq!(VerifierSrs::from_params(&same.params), VerifierSrs::from_params(&params));
    let mut lagrange = bytes.clone();
    let at = 4 + 32 * 64 + 7 * 64;
    lagrange.copy_within(at + 64..at + 128, at);
    let err = import_setup(&lagrange, 5).unwrap_err().to_string();
    assert!(err.contains("Lagrange points"), "{err}");
    // g_i sits at 4 + 64·i; put g_3 where g_2 was.
    let mut swapped = bytes.clone();
    swapped.copy_within(4 + 3 * 64..4 + 4 * 64, 4 + 2 * 64);
    assert!(import_setup(&swapped, 4).unwrap_err().to_string().contains("pairing check failed"));
}

#[test]
fn damaged_setup_files_are_refused_never_a_panic() {
    let (ptau, params) =
        (ptau(4, tau()), write_srs(&ParamsKZG::<Bn256>::setup(4, rand_chacha::ChaCha20Rng::seed_from_u64(3))));
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
    for original in [ptau, params] {
        let mut refused = 0;
        for _ in 0..200 {
            let mut b = original.clone();
            let at = (rng.next_u64() as usize) % b.len();
            match rng.next_u64() % 3 {
                0 => b[at] ^= 1 << (rng.next_u64() % 8),
                1 => b.truncate(at),
                _ => b[at..(at + 8).min(original.len())].fill(0xff),
            }
            refused += usize::from(import_setup(&b, 3).is_err());
        }
        // Flips inside the unread sections or past the 2^3 points used may leave a valid setup.
        assert!(refused > 50, "{refused} of 200 refused");
    }
}
