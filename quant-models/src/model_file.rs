//! The `.zkq` file: a quantized model plus the float graph it came from (the float reference
//! for error reports), behind a magic number and a format version.

use std::path::Path;

use bincode::Options;
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use crate::graph::FloatGraph;
use crate::quant::QuantModel;

const MAGIC: &[u8; 4] = b"ZKQM";
/// Upper bound of what parsing a `.zkq` may allocate (a length field in a damaged file must not
/// make it reserve terabytes).
const MAX_ZKQ_BYTES: u64 = 4 << 30;
/// Bumped whenever the serialized layout or the integer semantics change.
pub const ZKQ_VERSION: u32 = 1;

/// What `zkinfer quantize` writes and every later stage reads.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CompiledModel {
    pub quant: QuantModel,
    pub float: FloatGraph,
    /// What looked wrong with the calibration set at compile time (shown to the model owner,
    /// not stored).
    #[serde(skip)]
    pub calibration_warnings: Vec<String>,
}

impl CompiledModel {
    /// Serializes with header.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&ZKQ_VERSION.to_le_bytes());
        bincode::serialize_into(&mut out, self).map_err(|e| ModelError::format("zkq", e))?;
        Ok(out)
    }

    /// Parses bytes written by [`CompiledModel::to_bytes`], rejecting other files and versions.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < 8 || &bytes[..4] != MAGIC {
            return Err(ModelError::format("zkq", "not a zkinfer quantized model (bad magic)"));
        }
        let version = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        if version != ZKQ_VERSION {
            return Err(ModelError::format("zkq", format!("format version {version}, this build reads {ZKQ_VERSION}")));
        }
        let model: CompiledModel = bincode::DefaultOptions::new()
            .with_fixint_encoding()
            .allow_trailing_bytes()
            .with_limit(MAX_ZKQ_BYTES)
            .deserialize(&bytes[8..])
            .map_err(|e| ModelError::format("zkq", format!("corrupt model: {e}")))?;
        model.quant.validate()?;
        model.float.validate()?;
        Ok(model)
    }

    /// Writes the file; an existing file is never half-overwritten.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::file_write::write_replacing(path, &self.to_bytes()?).map_err(|e| ModelError::io(path, e))
    }

    /// Reads a `.zkq` file.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
        Self::from_bytes(&bytes).map_err(|e| match e {
            ModelError::Format { reason, .. } => ModelError::Format { what: path.display().to_string(), reason },
            other => other,
        })
    }
}
