//! Reader for snarkjs's powers-of-tau files (`.ptau`), the format the Perpetual Powers of Tau and
//! Hermez ceremonies publish.
//!
//! Layout: `"ptau"`, version (u32 = 1), section count (u32), then sections of (id u32, size u64,
//! bytes). Section 1 is the header (field size, base-field modulus, power, ceremony power),
//! section 2 holds `[τ^i]₁` for `i < 2·2^power − 1`, section 3 holds `[τ^i]₂` for `i < 2^power`.
//! Points are affine, coordinates little-endian in Montgomery form: exactly halo2curves' raw
//! encoding, so each point is read (and checked to lie on its curve) by `from_raw_bytes`.

use halo2_proofs::halo2curves::bn256::{Fq, G1Affine, G2Affine};
use halo2_proofs::halo2curves::ff::PrimeField;
use halo2_proofs::halo2curves::serde::SerdeObject;
use rayon::prelude::*;

use crate::error::ProofError;

const G1_BYTES: usize = 64;
const G2_BYTES: usize = 128;
const HEADER: u32 = 1;
const TAU_G1: u32 = 2;
const TAU_G2: u32 = 3;

/// What zkinfer needs of a `.ptau` file: the first `2^k` powers in G1 and `[1]₂`, `[τ]₂`.
#[derive(Debug)]
pub struct PtauPowers {
    /// The file holds `2^power` powers.
    pub power: u32,
    /// `[τ^i]₁` for `i < 2^k`.
    pub g: Vec<G1Affine>,
    /// `[1]₂`.
    pub g2: G2Affine,
    /// `[τ]₂`.
    pub s_g2: G2Affine,
}

/// True when `bytes` starts like a `.ptau` file.
pub fn is_ptau(bytes: &[u8]) -> bool {
    bytes.starts_with(b"ptau")
}

fn bad(reason: impl std::fmt::Display) -> ProofError {
    ProofError::Srs(format!("ptau: {reason}"))
}

/// Reads the powers a circuit of size `2^k` needs, checking the file's structure, its curve
/// (BN254) and that every point read lies on its curve. The pairing checks that the points are
/// powers of one `τ` are [`crate::check_powers`]'s.
pub fn read_ptau(bytes: &[u8], k: u32) -> Result<PtauPowers, ProofError> {
    let sections = sections(bytes)?;
    let section = |id: u32, name: &str| {
        sections.iter().find(|(i, _)| *i == id).map(|(_, s)| *s).ok_or_else(|| bad(format!("no {name} section")))
    };
    let header = section(HEADER, "header")?;
    let power = read_header(header)?;
    if k > power {
        return Err(bad(format!("has 2^{power} powers, the circuit needs 2^{k}")));
    }
    let (tau_g1, tau_g2) = (section(TAU_G1, "τ·G1")?, section(TAU_G2, "τ·G2")?);
    let n = 1usize << power;
    if tau_g1.len() != (2 * n - 1) * G1_BYTES || tau_g2.len() != n * G2_BYTES {
        return Err(bad(format!(
            "power {power} but the point sections have {} and {} bytes",
            tau_g1.len(),
            tau_g2.len()
        )));
    }
    let g: Option<Vec<G1Affine>> =
        tau_g1[..(1usize << k) * G1_BYTES].par_chunks_exact(G1_BYTES).map(G1Affine::from_raw_bytes).collect();
    let g = g.ok_or_else(|| bad("a τ·G1 point is not on the curve"))?;
    let g2_point = |i: usize| {
        G2Affine::from_raw_bytes(&tau_g2[i * G2_BYTES..(i + 1) * G2_BYTES])
            .ok_or_else(|| bad(format!("τ^{i}·G2 is not on the curve")))
    };
    Ok(PtauPowers { power, g, g2: g2_point(0)?, s_g2: g2_point(1)? })
}

/// `(id, bytes)` of each section, bounds-checked.
fn sections(bytes: &[u8]) -> Result<Vec<(u32, &[u8])>, ProofError> {
    let mut rest = bytes.strip_prefix(b"ptau").ok_or_else(|| bad("no \"ptau\" magic"))?;
    let version = take_u32(&mut rest)?;
    if version != 1 {
        return Err(bad(format!("version {version}; zkinfer reads version 1")));
    }
    let count = take_u32(&mut rest)?;
    let mut sections = Vec::new();
    for _ in 0..count {
        let id = take_u32(&mut rest)?;
        let size = take_u64(&mut rest)?;
        let size = usize::try_from(size)
            .ok()
            .filter(|&s| s <= rest.len())
            .ok_or_else(|| bad(format!("section {id} declares {size} bytes, {} are left (truncated?)", rest.len())))?;
        if sections.iter().any(|(i, _)| *i == id) {
            return Err(bad(format!("section {id} appears twice")));
        }
        let (body, after) = rest.split_at(size);
        sections.push((id, body));
        rest = after;
    }
    if !rest.is_empty() {
        return Err(bad(format!("{} bytes after the last section", rest.len())));
    }
    Ok(sections)
}

/// The file's power, after checking the header names BN254's base field.
fn read_header(mut header: &[u8]) -> Result<u32, ProofError> {
    let n8 = take_u32(&mut header)?;
    if n8 != 32 {
        return Err(bad(format!("{n8}-byte field elements; BN254 has 32")));
    }
    let modulus = header.get(..32).ok_or_else(|| bad("header truncated"))?;
    if !modulus.iter().rev().map(|b| format!("{b:02x}")).collect::<String>().eq(Fq::MODULUS.trim_start_matches("0x")) {
        return Err(bad("the curve is not BN254 (bn128)"));
    }
    header = &header[32..];
    let power = take_u32(&mut header)?;
    let _ceremony_power = take_u32(&mut header)?;
    if !header.is_empty() || !(1..=28).contains(&power) {
        return Err(bad(format!("unexpected header (power {power})")));
    }
    Ok(power)
}

fn take_u32(bytes: &mut &[u8]) -> Result<u32, ProofError> {
    let (head, rest) = bytes.split_first_chunk::<4>().ok_or_else(|| bad("truncated"))?;
    *bytes = rest;
    Ok(u32::from_le_bytes(*head))
}

fn take_u64(bytes: &mut &[u8]) -> Result<u64, ProofError> {
    let (head, rest) = bytes.split_first_chunk::<8>().ok_or_else(|| bad("truncated"))?;
    *bytes = rest;
    Ok(u64::from_le_bytes(*head))
}
