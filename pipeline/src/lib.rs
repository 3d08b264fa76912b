//! The provider's pipeline, shared by the `zkinfer` command line and the provider node:
//! compile an ONNX model into a folder (quantized model, keys, SRS, model card, manifest), load
//! such a folder once, and prove inputs against it.
//!
//! Nothing here prints: progress and warnings go to an [`Observer`] (a terminal's spinner, a
//! service's log), and failures are [`PipelineError`]s naming the file or step.

mod card;
mod compile;
mod error;
mod folder;
mod load;
mod manifest;
mod observer;

pub use card::{CardAccuracy, Columns, InputRange, ModelCard, SrsInfo, SrsSource};
pub use compile::{compile, Artifacts, Calibration, Source, Target};
pub use error::PipelineError;
pub use folder::{map, read, replace_dir, write_atomic, ModelDir, CARD, KEY_COSETS, MODEL, MSM_TABLES, PK, SRS, VK};
pub use load::{load, prove_input, Loaded};
pub use manifest::{Checked, Manifest, MANIFEST};
pub use observer::{Observer, Silent};
