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
    /// The key was made with a setup whose secret is public: anyone can forge its proofs.
    #[error("insecure setup: the model was compiled with zkinfer's public test SRS, so anyone can forge its proofs (allow it only for testing)")]
    InsecureSetup,
    /// The proven input is not the input the buyer sent.
    #[error("input mismatch: {0}")]
    InputMismatch(String),
}

impl Rejection {
    pub(crate) fn malformed(what: &'static str, reason: impl std::fmt::Display) -> Self {
        Rejection::Malformed { what, reason: reason.to_string() }
    }

    /// The process exit code `zkinfer verify` uses for this rejection (1 is other errors, such as
    /// an unreadable file, and 2 a usage error).
    pub fn exit_code(&self) -> u8 {
        match self {
            Rejection::WrongModel { .. } => 3,
            Rejection::Malformed { .. } => 4,
            Rejection::InstanceMismatch(_) => 5,
            Rejection::ProofInvalid(_) => 6,
            Rejection::InsecureSetup => 7,
            Rejection::InputMismatch(_) => 8,
        }
    }

    /// A stable name of the rejection class, for programs reading `verify --json`.
    pub fn class(&self) -> &'static str {
        match self {
            Rejection::WrongModel { .. } => "wrong-model",
            Rejection::Malformed { .. } => "malformed",
            Rejection::InstanceMismatch(_) => "instance-mismatch",
            Rejection::ProofInvalid(_) => "proof-invalid",
            Rejection::InsecureSetup => "insecure-setup",
            Rejection::InputMismatch(_) => "input-mismatch",
        }
    }
}
