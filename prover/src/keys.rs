//! Key generation and the proving-key file.
//!
//! File layout: magic `ZKPK`, a little-endian `u16` format version, the SHA-256 of the rest
//! (halo2's key reader trusts its bytes, so corruption is caught here, before parsing), a
//! little-endian `u64` length and the bincode circuit spec, the verifier's SRS points, then the
//! halo2 proving key in raw (uncompressed, fast to load) form.

use std::sync::{Arc, OnceLock};

use bincode::Options;
use halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_proofs::plonk::{keygen_pk, keygen_vk, ProvingKey};
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use sha2::{Digest, Sha256};
use zkinfer_circuits::model::{LayoutParams, ModelCircuit};
use zkinfer_quant_models::QuantModel;
use zkinfer_verifier::{CircuitSpec, VerifierKey, VerifierSrs};

use crate::engine::{CosetsError, KeyCosets};
use crate::error::ProofError;
use crate::msm::MsmBackend;
use crate::scheme::RoutedParams;
use crate::spec::circuit_spec;

const MAGIC: &[u8; 4] = b"ZKPK";
/// Version of the proving-key file format.
pub const PK_VERSION: u16 = 3;

/// A model's proving key with the verifier key derived from it.
pub struct ProverKey {
    pub pk: ProvingKey<G1Affine>,
    pub verifier: VerifierKey,
    /// The key's polynomials on the extended coset, computed at the first proof and reused.
    cosets: OnceLock<KeyCosets>,
}

/// The `k` (log2 of the rows) of `model`'s circuit with `layout`: the SRS must hold `2^k` points.
pub fn circuit_k(model: Arc<QuantModel>, layout: LayoutParams) -> Result<u32, ProofError> {
    Ok(ModelCircuit::for_keygen(model, layout)?.min_k())
}

/// Plans the circuit of `model` with `layout` at the smallest `k` that holds it and generates
/// its keys, committing through `backend`. `srs` may be larger than needed (it is downsized).
/// Returns the keys and the parameters the prover uses with them.
pub fn setup<M: MsmBackend + Default + 'static>(
    srs: &ParamsKZG<Bn256>,
    backend: M,
    model: Arc<QuantModel>,
    layout: LayoutParams,
) -> Result<(ProverKey, RoutedParams<M>), ProofError> {
    let circuit = ModelCircuit::for_keygen(model.clone(), layout)?;
    let k = circuit.min_k();
    if srs.k() < k {
        return Err(ProofError::Srs(format!("has 2^{} points, the circuit needs 2^{k}", srs.k())));
    }
    let mut srs = srs.clone();
    if srs.k() > k {
        srs.downsize(k);
    }
    let params = RoutedParams::new(srs, backend);
    let vk = keygen_vk(&params, &circuit).map_err(ProofError::Keygen)?;
    let pk = keygen_pk(&params, vk, &circuit).map_err(ProofError::Keygen)?;
    let spec = circuit_spec(&model, layout, k);
    let verifier = VerifierKey::new(spec, VerifierSrs::from_params(params.inner()), pk.get_vk().clone())?;
    Ok((ProverKey { pk, verifier, cosets: OnceLock::new() }, params))
}

fn codec() -> impl Options {
    bincode::DefaultOptions::new().with_fixint_encoding()
}

impl ProverKey {
    /// The circuit's spec (layout, `k`, public tensors).
    pub fn spec(&self) -> &CircuitSpec {
        &self.verifier.spec
    }

    /// The key's fixed polynomials on the extended coset (computed on first use).
    pub fn cosets(&self) -> &KeyCosets {
        self.cosets.get_or_init(|| KeyCosets::new(&self.pk))
    }

    /// The stored form of [`ProverKey::cosets`], for a later process to load instead of
    /// computing; `None` above [`KeyCosets::MAX_STORED_BYTES`].
    pub fn cosets_file(&self) -> Option<Vec<u8>> {
        (KeyCosets::stored_size(&self.pk) <= KeyCosets::MAX_STORED_BYTES)
            .then(|| self.cosets().to_bytes(&self.verifier.model_id().0))
    }

    /// Uses cosets stored by [`ProverKey::cosets_file`] (of this key only) instead of computing
    /// them at the first proof.
    pub fn attach_cosets(&self, bytes: &[u8]) -> Result<(), CosetsError> {
        let cosets = KeyCosets::from_bytes(bytes, &self.pk, &self.verifier.model_id().0)?;
        // Already computed cosets are the same values.
        let _ = self.cosets.set(cosets);
        Ok(())
    }

    /// The proving-key file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = codec().serialize(&(&self.verifier.spec, &self.verifier.srs)).unwrap_or_default();
        let mut body = (header.len() as u64).to_le_bytes().to_vec();
        body.extend(header);
        body.extend(self.pk.to_bytes(SerdeFormat::RawBytes));
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&PK_VERSION.to_le_bytes());
        out.extend_from_slice(&Sha256::digest(&body));
        out.extend(body);
        out
    }

    /// Reads a proving-key file written by [`ProverKey::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProofError> {
        let bad = |m: String| ProofError::KeyFile(m);
        let rest = bytes.strip_prefix(MAGIC).ok_or_else(|| bad("not a zkinfer proving key (bad magic)".into()))?;
        let (version, rest) = rest.split_first_chunk::<2>().ok_or_else(|| bad("truncated header".into()))?;
        let version = u16::from_le_bytes(*version);
        if version != PK_VERSION {
            return Err(bad(format!("format version {version}, this prover reads {PK_VERSION}; run `compile` again")));
        }
        let (digest, body) = rest.split_first_chunk::<32>().ok_or_else(|| bad("truncated header".into()))?;
        if Sha256::digest(body)[..] != digest[..] {
            return Err(bad("checksum mismatch: the file is corrupt or truncated".into()));
        }
        let (len, body) = body.split_first_chunk::<8>().ok_or_else(|| bad("truncated header".into()))?;
        let len = usize::try_from(u64::from_le_bytes(*len)).unwrap_or(usize::MAX);
        if len > body.len() {
            return Err(bad("truncated header".into()));
        }
        let (header, pk_bytes) = body.split_at(len);
        let (spec, srs): (CircuitSpec, VerifierSrs) =
            codec().deserialize(header).map_err(|e| bad(format!("header: {e}")))?;
        spec.check(pk_bytes).map_err(|e| bad(format!("header: {e}")))?;
        // halo2's reader asserts (panics) on a field element out of range; the checksum stops
        // accidents, not a crafted file, so its panics are caught and reported as errors.
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ProvingKey::<G1Affine>::read::<_, ModelCircuit>(&mut &pk_bytes[..], SerdeFormat::RawBytes, spec.layout)
        }));
        let pk = read
            .map_err(|_| bad("halo2 proving key: invalid contents (a value out of its field)".into()))?
            .map_err(|e| bad(format!("halo2 proving key: {e}")))?;
        let verifier = VerifierKey::new(spec, srs, pk.get_vk().clone())?;
        Ok(ProverKey { pk, verifier, cosets: OnceLock::new() })
    }
}
