//! Typed errors of the model pipeline: every failure on user data (a model file, an input, a
//! calibration set) ends here with a message that names the offending thing.

use thiserror::Error;

/// Why importing, quantizing or running a model failed.
#[derive(Debug, Error)]
pub enum ModelError {
    /// The ONNX bytes could not be parsed or analysed (malformed, truncated, inconsistent).
    #[error("malformed ONNX model: {0}")]
    MalformedOnnx(String),
    /// The graph uses an operator zkinfer cannot quantize and prove.
    #[error("unsupported op `{op}` at node `{node}` (supported ops and their forms: docs/ops.md)")]
    UnsupportedOp { op: String, node: String },
    /// Every node of a graph whose op zkinfer does not translate, found before any other work
    /// (so `inspect` and `quantize` name the same ones): `(op, node)` pairs.
    #[error("unsupported ops: {} (supported ops and their forms: docs/ops.md)", .0.iter().map(|(op, node)| format!("`{op}` at node `{node}`")).collect::<Vec<_>>().join(", "))]
    UnsupportedOps(Vec<(String, String)>),
    /// A supported op used with attributes or operand kinds outside what zkinfer implements.
    #[error("node `{node}` ({op}): {reason}")]
    UnsupportedUse { node: String, op: String, reason: String },
    /// A model input of an integer or boolean type: its arithmetic (wrap-around, truncating
    /// division) is not the real-valued arithmetic a quantized model approximates.
    #[error("input `{name}` has element type {dtype}: zkinfer proves real-valued models, so model inputs must be floating point")]
    NonFloatInput { name: String, dtype: String },
    /// The imported float graph disagrees with tract's own run of the file: an op form the
    /// importer gets wrong, refused rather than quantized.
    #[error("import check failed: {0}; please report this model")]
    ImportMismatch(String),
    /// tract, the float reference every import is checked against, cannot run the model.
    #[error("the float reference (tract) cannot run this model, so its import cannot be checked: {0}")]
    ReferenceFailed(String),
    /// A tensor's shape could not be determined statically.
    #[error("shape of tensor `{0}` is not static after setting the batch axis")]
    DynamicShape(String),
    /// A batch size was asked of a model whose input has another fixed first dimension.
    #[error("input `{input}` has a fixed batch size of {size}, so it cannot take {batch} samples: export the model with a dynamic batch axis (torch.onnx.export(..., dynamic_axes={{name: {{0: \"batch\"}}}}))")]
    FixedBatch { input: String, size: usize, batch: usize },
    /// A tensor with a zero-size dimension: nothing to compute, and no circuit to prove it.
    #[error("tensor `{tensor}` has shape {shape:?}, with a zero-size dimension")]
    EmptyTensor { tensor: String, shape: Vec<usize> },
    /// An input or calibration sample does not match the model.
    #[error("input `{name}`: {reason}")]
    BadInput { name: String, reason: String },
    /// Calibration needs at least one sample.
    #[error("calibration set is empty: give at least one sample input")]
    EmptyCalibration,
    /// A value the model would compute does not fit the integer widths zkinfer proves.
    #[error("tensor `{tensor}`: {reason}")]
    OutOfRange { tensor: String, reason: String },
    /// A file in one of zkinfer's own formats (`.zkq`, input JSON, `.npy`) is unreadable.
    #[error("{what}: {reason}")]
    Format { what: String, reason: String },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// Result alias of the model pipeline.
pub type Result<T> = std::result::Result<T, ModelError>;

impl ModelError {
    pub(crate) fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        ModelError::Io { path: path.as_ref().display().to_string(), source }
    }

    pub(crate) fn format(what: impl Into<String>, reason: impl ToString) -> Self {
        ModelError::Format { what: what.into(), reason: reason.to_string() }
    }

    pub(crate) fn bad_input(name: impl Into<String>, reason: impl Into<String>) -> Self {
        ModelError::BadInput { name: name.into(), reason: reason.into() }
    }
}
