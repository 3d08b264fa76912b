//! The MSM on a CUDA device: bases uploaded once per basis and kept resident, scalars sent as
//! signed magnitudes (a negative quantized value is a small magnitude with its base negated),
//! windows sized to the widest magnitude. Any device failure falls back to the CPU, once
//! reported, so a proof never fails because of the GPU.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use halo2_proofs::arithmetic::CurveAffine;
use halo2_proofs::halo2curves::bn256::{Fq, Fr, G1Affine, G1};
use halo2_proofs::halo2curves::ff::PrimeField;
use halo2_proofs::halo2curves::group::Group;
use rayon::prelude::*;
use zkinfer_gpu_kernels::{DeviceBases, Gpu, GpuError, JacobianLimbs};

use super::{repr_limbs, signed_magnitude, small_scalar_msm, Basis, MsmBackend};

/// `x` then `y` in canonical limbs; `(0, 0)` for the point at infinity.
pub fn affine_limbs(p: &G1Affine) -> [u64; 8] {
    let mut out = [0u64; 8];
    if let Some(c) = Option::<halo2_proofs::halo2curves::Coordinates<G1Affine>>::from(p.coordinates()) {
        out[..4].copy_from_slice(&repr_limbs(c.x().to_repr().as_ref()));
        out[4..].copy_from_slice(&repr_limbs(c.y().to_repr().as_ref()));
    }
    out
}

fn field(l: &[u64]) -> Fq {
    Fq::from_raw([l[0], l[1], l[2], l[3]])
}

/// The group element of a Jacobian point in canonical limbs.
pub fn from_jacobian(p: &JacobianLimbs) -> Option<G1> {
    let (x, y, z) = (field(&p[..4]), field(&p[4..8]), field(&p[8..]));
    let Some(z_inv) = Option::<Fq>::from(z.invert()) else {
        return Some(G1::identity());
    };
    let z2 = z_inv.square();
    let affine: Option<G1Affine> = G1Affine::from_xy(x * z2, y * z2 * z_inv).into();
    affine.map(G1::from)
}

/// A fingerprint of a basis prefix: its length and first and last points.
type Fingerprint = (usize, [u64; 8], [u64; 8]);

/// MSMs on the first CUDA device.
pub struct GpuMsm {
    gpu: Gpu,
    resident: Mutex<HashMap<Basis, (Fingerprint, Arc<DeviceBases>)>>,
    reported: AtomicBool,
}

impl std::fmt::Debug for GpuMsm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuMsm").field("gpu", &self.gpu).finish()
    }
}

impl GpuMsm {
    /// Opens the device, or says why it cannot.
    pub fn open() -> Result<Self, GpuError> {
        Ok(GpuMsm { gpu: Gpu::open()?, resident: Mutex::new(HashMap::new()), reported: AtomicBool::new(false) })
    }

    /// The device's name.
    pub fn device_name(&self) -> &str {
        self.gpu.name()
    }

    /// The resident copy of `bases` (uploaded when absent or different).
    fn bases(&self, bases: &[G1Affine], basis: Basis) -> Result<Arc<DeviceBases>, GpuError> {
        let first = bases.first().map(affine_limbs).unwrap_or_default();
        let last = bases.last().map(affine_limbs).unwrap_or_default();
        let mut resident = self.resident.lock().map_err(|_| GpuError::BadInput("poisoned basis cache".into()))?;
        if let Some(((len, f, l), on_device)) = resident.get(&basis) {
            // The same basis, or a prefix of it (a downsized SRS's monomial points).
            if *f == first && (bases.len() < *len || bases.len() == *len && *l == last) {
                return Ok(on_device.clone());
            }
        }
        let flat: Vec<u64> = bases.par_iter().flat_map_iter(affine_limbs).collect();
        let uploaded = Arc::new(self.gpu.upload_bases(&flat)?);
        resident.insert(basis, ((bases.len(), first, last), uploaded.clone()));
        Ok(uploaded)
    }

    /// The MSM on the device.
    pub fn try_msm(&self, scalars: &[Fr], bases: &[G1Affine], basis: Basis) -> Result<G1, GpuError> {
        let n = scalars.len().min(bases.len());
        let device_bases = self.bases(&bases[..n], basis)?;
        let signed: Vec<([u64; 4], u32)> = scalars[..n].par_iter().map(signed_magnitude).collect();
        let bits = signed
            .iter()
            .map(|(m, _)| m.iter().rposition(|&l| l != 0).map_or(0, |i| 64 * i as u32 + 64 - m[i].leading_zeros()))
            .max()
            .unwrap_or(0);
        let magnitudes: Vec<u64> = signed.iter().flat_map(|(m, _)| *m).collect();
        let signs: Vec<u32> = signed.iter().map(|&(_, s)| s).collect();
        let point = self.gpu.msm(&device_bases, &magnitudes, &signs, bits)?;
        from_jacobian(&point).ok_or_else(|| GpuError::BadInput("the device returned a point off the curve".into()))
    }
}

impl MsmBackend for Arc<GpuMsm> {
    fn name(&self) -> &'static str {
        "cuda"
    }

    fn msm(&self, scalars: &[Fr], bases: &[G1Affine], basis: Basis) -> G1 {
        self.try_msm(scalars, bases, basis).unwrap_or_else(|e| {
            if !self.reported.swap(true, Ordering::Relaxed) {
                eprintln!("GPU MSM failed ({e}); computing on the CPU");
            }
            small_scalar_msm(scalars, bases, None)
        })
    }
}

#[cfg(test)]
mod tests {
    use halo2_proofs::halo2curves::ff::Field;
    use halo2_proofs::halo2curves::group::Curve;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;

    #[test]
    fn limb_conversions_round_trip() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        for _ in 0..20 {
            let p = G1::random(&mut rng);
            let a = p.to_affine();
            let l = affine_limbs(&a);
            let mut jac = [0u64; 12];
            jac[..8].copy_from_slice(&l);
            jac[8] = 1;
            assert_eq!(from_jacobian(&jac), Some(p));
        }
        assert_eq!(affine_limbs(&G1::identity().to_affine()), [0; 8]);
        assert_eq!(from_jacobian(&[0; 12]), Some(G1::identity()));
        assert_eq!(signed_magnitude(&-Fr::from(5)), ([5, 0, 0, 0], 1));
        assert_eq!(signed_magnitude(&Fr::from(5)), ([5, 0, 0, 0], 0));
        assert_eq!(signed_magnitude(&Fr::ZERO), ([0; 4], 0));
    }
}
