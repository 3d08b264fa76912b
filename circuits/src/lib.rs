//! halo2 chips per operation and the circuit built from a quantized model.
//!
//! Reads only `zkinfer_quant_models::QuantModel` and its integer trace (never ONNX) and does no
//! I/O. Chips follow the halo2 pattern: a config with its columns and constraints, an `assign`
//! that lays out a witness computed from the trace, and MockProver tests that show honest
//! assignments pass and tampered ones fail.

pub mod chips;
pub mod field;
pub mod model;
pub mod planner;
pub mod table;
