//! Why a proof is rejected.

/// The reasons a buyer rejects a result, each distinct so that a client can act on it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Rejection {
    /// The key or the bundle belongs to another model than the one the buyer asked for.
    #[error("wrong model: expected {expected}, {what} is for {found}")]
    WrongModel { expected: String, found: String, what: &'static str },
    /// Bytes that do not parse as a bundle or key of this version.
    #[error("malformed {what}: {reason}")]
    Malformed { what: &'static str, reason: String },
    /// The claimed inputs/outputs do not fit the model (shape, range, scale, visibility).
    #[error("instance mismatch: {0}")]
    InstanceMismatch(String),
    /// The proof does not verify for these public values under this key.
    #[error("proof invalid: {0}")]
    ProofInvalid(String),
}

impl Rejection {
    pub(crate) fn malformed(what: &'static str, reason: impl std::fmt::Display) -> Self {
        Rejection::Malformed { what, reason: reason.to_string() }
    }
}
