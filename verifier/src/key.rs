//! The verifier key file: what a buyer downloads once per model.
//!
//! Layout: magic `ZKVK`, a little-endian `u16` format version, then a bincode record of the
//! circuit spec, the verifier's SRS points and the halo2 verifying key (compressed points,
//! checked on read). Its model id is computed from those three parts, never stored, so a key
//! cannot claim an identity it does not have.

use bincode::Options;
use halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_proofs::plonk::VerifyingKey;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use serde::{Deserialize, Serialize};
use zkinfer_circuits::model::{LayoutParams, ModelCircuit};

use crate::error::Rejection;
use crate::model_id::ModelId;
use crate::srs::VerifierSrs;

const MAGIC: &[u8; 4] = b"ZKVK";
/// Version of the verifier key file format.
/// 2: layouts gained the softmax chip and the zero cell.
/// 3: model inputs range-checked; ReLU inputs below the activation range proven.
pub const KEY_VERSION: u16 = 3;
/// The largest circuit (`2^k` rows) a key may declare; bounds what parsing allocates.
const MAX_K: u32 = 26;
/// Upper bound of a key file's size.
const MAX_KEY_BYTES: u64 = 256 << 20;

/// A tensor that crosses the proof boundary (a model input or output).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoTensor {
    pub name: String,
    pub shape: Vec<usize>,
    /// The tensor holds `value · 2^-frac_bits`.
    pub frac_bits: i32,
    /// Every value lies in `[-2^(bits-1), 2^(bits-1))`; the circuit range-checks inputs and
    /// bounds outputs to it.
    pub bits: u32,
}

impl IoTensor {
    /// Elements in the tensor.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True for a tensor with a zero dimension.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The float each integer stands for: `2^-frac_bits`.
    pub fn scale(&self) -> f64 {
        (-self.frac_bits as f64).exp2()
    }
}

/// How to read a model's public values and rebuild its constraint system: everything the
/// verifier needs besides the halo2 key. Hashed into the model id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitSpec {
    /// The circuit has `2^k` rows.
    pub k: u32,
    pub layout: LayoutParams,
    pub inputs: Vec<IoTensor>,
    pub outputs: Vec<IoTensor>,
}

impl CircuitSpec {
    /// Checks a spec read from a key file, and the halo2 key that follows it, before anything
    /// is allocated from them: a hostile file could otherwise ask `configure` or halo2's reader
    /// for any amount of memory. Returns the reason a spec is refused.
    pub fn check(&self, halo2_key: &[u8]) -> Result<(), String> {
        self.layout.check().map_err(|e| e.to_string())?;
        if self.k > MAX_K {
            return Err(format!("k = {} exceeds the supported {MAX_K}", self.k));
        }
        if let Some(t) =
            self.inputs.iter().chain(&self.outputs).find(|t| !(1..=63).contains(&t.bits) || t.frac_bits.abs() > 64)
        {
            return Err(format!("tensor `{}` declares {} bits at 2^-{}", t.name, t.bits, t.frac_bits));
        }
        // halo2's reader allocates `2^k` per selector from the key's own k: check it first.
        match halo2_key.get(..5) {
            Some([2, k @ ..]) if u32::from_le_bytes([k[0], k[1], k[2], k[3]]) == self.k => Ok(()),
            _ => Err(format!("halo2 key header does not declare k = {}", self.k)),
        }
    }

    /// Canonical bytes (hashed into the model id).
    pub fn to_bytes(&self) -> Vec<u8> {
        codec().serialize(self).unwrap_or_default()
    }
}

#[derive(Serialize, Deserialize)]
struct KeyRecord {
    spec: CircuitSpec,
    srs: VerifierSrs,
    vk: Vec<u8>,
}

fn codec() -> impl Options {
    bincode::DefaultOptions::new().with_fixint_encoding().with_limit(MAX_KEY_BYTES)
}

/// A parsed verifier key: spec, verifier parameters and the halo2 verifying key.
#[derive(Clone, Debug)]
pub struct VerifierKey {
    pub spec: CircuitSpec,
    pub srs: VerifierSrs,
    pub vk: VerifyingKey<G1Affine>,
    pub(crate) params: ParamsKZG<Bn256>,
    model_id: ModelId,
}

impl VerifierKey {
    /// Assembles a key from its parts (the prover's side, after keygen).
    pub fn new(spec: CircuitSpec, srs: VerifierSrs, vk: VerifyingKey<G1Affine>) -> Result<Self, Rejection> {
        let (model_id, params) = Self::checked(&spec, &srs, &vk.to_bytes(SerdeFormat::Processed))?;
        Ok(VerifierKey { spec, srs, vk, params, model_id })
    }

    /// The key file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let record =
            KeyRecord { spec: self.spec.clone(), srs: self.srs.clone(), vk: self.vk.to_bytes(SerdeFormat::Processed) };
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&KEY_VERSION.to_le_bytes());
        out.extend(codec().serialize(&record).unwrap_or_default());
        out
    }

    /// Parses a key file, checking every point, and computes its model id.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Rejection> {
        let body = bytes
            .strip_prefix(MAGIC)
            .ok_or_else(|| Rejection::malformed("verifier key", "not a zkinfer verifier key (bad magic)"))?;
        let (version, body) =
            body.split_first_chunk::<2>().ok_or_else(|| Rejection::malformed("verifier key", "truncated header"))?;
        let version = u16::from_le_bytes(*version);
        if version != KEY_VERSION {
            return Err(Rejection::malformed(
                "verifier key",
                format!("format version {version}, this verifier reads {KEY_VERSION}"),
            ));
        }
        let record: KeyRecord = codec().deserialize(body).map_err(|e| Rejection::malformed("verifier key", e))?;
        Self::from_parts(record)
    }

    fn from_parts(record: KeyRecord) -> Result<Self, Rejection> {
        let KeyRecord { spec, srs, vk } = record;
        let (model_id, params) = Self::checked(&spec, &srs, &vk)?;
        let bad = |reason: String| Rejection::malformed("verifier key", reason);
        let mut reader = &vk[..];
        let parsed =
            VerifyingKey::<G1Affine>::read::<_, ModelCircuit>(&mut reader, SerdeFormat::Processed, spec.layout)
                .map_err(|e| bad(format!("halo2 verifying key: {e}")))?;
        if parsed.fixed_commitments().len() != parsed.cs().num_fixed_columns() {
            return Err(bad("the verifying key does not match its layout's fixed columns".into()));
        }
        if !reader.is_empty() {
            return Err(bad(format!("{} trailing bytes after the verifying key", reader.len())));
        }
        Ok(VerifierKey { spec, srs, vk: parsed, params, model_id })
    }

    /// Checks the spec and the halo2 key's header before anything is allocated from them, and
    /// derives the model id and the verifier parameters.
    fn checked(spec: &CircuitSpec, srs: &VerifierSrs, vk: &[u8]) -> Result<(ModelId, ParamsKZG<Bn256>), Rejection> {
        spec.check(vk).map_err(|reason| Rejection::malformed("verifier key", reason))?;
        Ok((ModelId::compute(vk, &spec.to_bytes(), &srs.id()), srs.params(spec.k)?))
    }

    /// The model id this key stands for.
    pub fn model_id(&self) -> ModelId {
        self.model_id
    }
}
