//! The proof bundle a provider attaches to a result.
//!
//! Two encodings of one record: JSON for people (top-level `version`, `model_id`, `inputs` when
//! the input is public, `outputs`, and `proof` as hex) and binary for size (magic `ZKPB`, a
//! little-endian `u16` version, bincode). [`ProofBundle::from_bytes`] reads either, and refuses
//! fields it does not know (a field a verifier ignores could mislead the buyer who reads it).

use bincode::Options;
use serde::{Deserialize, Serialize};

use crate::error::Rejection;

/// Version of the bundle format.
/// 2: `clamped`, unknown fields refused, the binary header's version checked.
pub const BUNDLE_VERSION: u32 = 2;
const MAGIC: &[u8; 4] = b"ZKPB";
/// Upper bound of a bundle's size: far above any proof of a supported circuit.
const MAX_BUNDLE_BYTES: u64 = 512 << 20;

/// One public tensor: its integers (what the circuit sees) and the floats they stand for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorValues {
    pub name: String,
    pub shape: Vec<usize>,
    /// Each integer stands for `value · scale` (a power of two).
    pub scale: f64,
    pub values: Vec<i64>,
    /// `values · scale`, for readers; checked against `values` by the verifier.
    pub floats: Vec<f64>,
}

/// A tensor whose values the provider clamped into range before proving (`prove
/// --allow-saturation`): the proof attests the clamped computation, not the unclamped one.
/// Only the provider can know this for a hidden input; a buyer who sent a public input checks it
/// with [`crate::check_input`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClampedTensor {
    pub tensor: String,
    pub clamped: usize,
    pub total: usize,
}

/// A proven inference result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofBundle {
    pub version: u32,
    /// Hex of the [`crate::ModelId`] the provider claims to have run.
    pub model_id: String,
    /// The model inputs; absent when the model was compiled with a private input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Vec<TensorValues>>,
    pub outputs: Vec<TensorValues>,
    /// Tensors clamped before proving; empty for an exact result.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clamped: Vec<ClampedTensor>,
    /// The halo2 proof (SHPLONK, Blake2b transcript).
    #[serde(with = "hex_bytes")]
    pub proof: Vec<u8>,
}

/// The binary form's record: every field in order (bincode cannot skip absent ones as JSON does).
type BinaryFields = (u32, String, Option<Vec<TensorValues>>, Vec<TensorValues>, Vec<ClampedTensor>, Vec<u8>);

fn codec() -> impl Options {
    bincode::DefaultOptions::new().with_fixint_encoding().with_limit(MAX_BUNDLE_BYTES)
}

impl ProofBundle {
    fn fields(&self) -> BinaryFields {
        let (inputs, outputs) = (self.inputs.clone(), self.outputs.clone());
        (self.version, self.model_id.clone(), inputs, outputs, self.clamped.clone(), self.proof.clone())
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The compact binary form.
    pub fn to_binary(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&(self.version as u16).to_le_bytes());
        out.extend(codec().serialize(&self.fields()).unwrap_or_default());
        out
    }

    /// Parses a bundle in either form (binary when it starts with the magic, JSON otherwise).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Rejection> {
        let bundle: ProofBundle = match bytes.strip_prefix(MAGIC) {
            Some(body) => {
                let (header, body) =
                    body.split_first_chunk::<2>().ok_or_else(|| Rejection::malformed("bundle", "truncated header"))?;
                let header = u16::from_le_bytes(*header);
                if u32::from(header) != BUNDLE_VERSION {
                    return Err(Rejection::malformed(
                        "bundle",
                        format!("binary version {header}, this verifier reads {BUNDLE_VERSION}"),
                    ));
                }
                let fields: BinaryFields = codec().deserialize(body).map_err(|e| Rejection::malformed("bundle", e))?;
                let (version, model_id, inputs, outputs, clamped, proof) = fields;
                ProofBundle { version, model_id, inputs, outputs, clamped, proof }
            }
            None => serde_json::from_slice(bytes).map_err(|e| Rejection::malformed("bundle", e))?,
        };
        if bundle.version != BUNDLE_VERSION {
            return Err(Rejection::malformed(
                "bundle",
                format!("version {}, this verifier reads {BUNDLE_VERSION}", bundle.version),
            ));
        }
        Ok(bundle)
    }
}

/// The proof as a hex string in JSON.
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        hex::decode(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> ProofBundle {
        let t = TensorValues {
            name: "y".into(),
            shape: vec![2],
            scale: 0.25,
            values: vec![4, -1],
            floats: vec![1.0, -0.25],
        };
        ProofBundle {
            version: BUNDLE_VERSION,
            model_id: "ab".repeat(32),
            inputs: None,
            outputs: vec![t],
            clamped: Vec::new(),
            proof: vec![1, 2, 255],
        }
    }

    #[test]
    fn both_encodings_round_trip() {
        let b = bundle();
        assert_eq!(ProofBundle::from_bytes(b.to_json().as_bytes()).unwrap(), b);
        assert_eq!(ProofBundle::from_bytes(&b.to_binary()).unwrap(), b);
        let json: serde_json::Value = serde_json::from_str(&b.to_json()).unwrap();
        assert_eq!(json["proof"], "0102ff");
        assert!(json.get("inputs").is_none());
    }

    #[test]
    fn garbage_and_other_versions_are_malformed() {
        let mut b = bundle();
        b.version = 9;
        for bytes in [b.to_json().into_bytes(), b"{".to_vec(), b"ZKPB".to_vec(), bundle().to_binary()[..20].to_vec()] {
            assert!(matches!(ProofBundle::from_bytes(&bytes), Err(Rejection::Malformed { what: "bundle", .. })));
        }
    }

    #[test]
    fn unknown_fields_and_another_binary_header_are_refused() {
        let mut json: serde_json::Value = serde_json::from_str(&bundle().to_json()).unwrap();
        json["verified"] = serde_json::Value::Bool(true);
        let err = ProofBundle::from_bytes(json.to_string().as_bytes()).unwrap_err();
        assert!(err.to_string().contains("unknown field `verified`"), "{err}");
        let mut json: serde_json::Value = serde_json::from_str(&bundle().to_json()).unwrap();
        json["outputs"][0]["note"] = serde_json::Value::Bool(true);
        assert!(ProofBundle::from_bytes(json.to_string().as_bytes()).is_err());
        let mut binary = bundle().to_binary();
        binary[4] = 1;
        let err = ProofBundle::from_bytes(&binary).unwrap_err();
        assert!(err.to_string().contains("binary version 1"), "{err}");
    }

    #[test]
    fn mutated_bundles_parse_or_fail_but_never_panic() {
        let (json, binary) = (bundle().to_json().into_bytes(), bundle().to_binary());
        let mut state = 0x5eed_u64;
        let mut next = move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as usize
        };
        for i in 0..600 {
            let mut b = if i % 2 == 0 { json.clone() } else { binary.clone() };
            match next() % 3 {
                0 => {
                    let at = next() % b.len();
                    b[at] ^= 1 << (next() % 8);
                }
                1 => b.truncate(next() % b.len()),
                _ => {
                    let at = next() % b.len();
                    b.splice(at..at, (0..8).map(|_| next() as u8));
                }
            }
            let _ = ProofBundle::from_bytes(&b);
        }
    }
}
