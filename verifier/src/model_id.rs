//! The model's public identity.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// `SHA-256("zkinfer/model-id/v1" ‖ vk ‖ spec ‖ srs id)`, each part length-prefixed. The vk
/// commits to the weights (fixed columns) and the circuit's shape, the spec to how public values
/// are read (shapes, scales, visibility, layout), the SRS id to the setup the key was made with:
/// two results with the same id come from the same model under the same trust assumptions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ModelId(pub [u8; 32]);

impl ModelId {
    /// The id of a verifying key (halo2 bytes), its spec (canonical bytes) and SRS id.
    pub fn compute(vk: &[u8], spec: &[u8], srs_id: &[u8; 32]) -> Self {
        let mut h = Sha256::new();
        h.update(b"zkinfer/model-id/v1");
        for part in [vk, spec, &srs_id[..]] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
        ModelId(h.finalize().into())
    }
}

impl fmt::Display for ModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl FromStr for ModelId {
    type Err = String;

    /// Parses the 64 hex digits that [`fmt::Display`] writes.
    fn from_str(s: &str) -> Result<Self, String> {
        let bytes = hex::decode(s.trim()).map_err(|e| format!("model id `{s}` is not hex: {e}"))?;
        let bytes: [u8; 32] =
            bytes.try_into().map_err(|b: Vec<u8>| format!("model id has {} bytes, expected 32", b.len()))?;
        Ok(ModelId(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_round_trips_and_parts_are_separated() {
        let id = ModelId::compute(b"vk", b"spec", &[7; 32]);
        assert_eq!(id.to_string().parse::<ModelId>().unwrap(), id);
        // Moving a byte between parts changes the id (length prefixes).
        assert_ne!(id, ModelId::compute(b"vks", b"pec", &[7; 32]));
        assert!("abc".parse::<ModelId>().is_err());
        assert!("zz".repeat(32).parse::<ModelId>().is_err());
    }
}
