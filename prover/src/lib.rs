//! The provider's side: SRS handling, keys (generated once per model, cached on disk), and
//! proofs of the integer inference trace packed into verifiable bundles. KZG over BN254 with
//! SHPLONK multi-opening and a Blake2b transcript; proofs verify with halo2-axiom's stock
//! verifier (`zkinfer_verifier::verify` wraps it).

mod engine;
mod error;
mod keys;
mod msm;
mod proof;
mod ptau;
mod scheme;
mod setup_import;
mod spec;
mod srs;

pub use engine::{create_proof, CosetsError, KeyCosets};
pub use error::ProofError;
pub use keys::{circuit_k, setup, ProverKey, PK_VERSION};
pub use msm::{
    Basis, CpuMsm, Device, GpuMsm, MsmBackend, MsmTables, SelectedMsm, SmallScalarMsm, TableError, WindowTable,
};
pub use proof::{prove, prove_with, ProveOptions, ProveTimings};
pub use ptau::{is_ptau, read_ptau, PtauPowers};
pub use scheme::RoutedParams;
pub use setup_import::{check_powers, import_setup, ImportedSetup, SetupFormat};
pub use spec::circuit_spec;
pub use srs::{insecure_test_srs, read_srs, write_srs, INSECURE_SRS_SEED};
