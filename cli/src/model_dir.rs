//! The compiled-model folder: `model.zkq`, `pk`, `vk`, `srs.params`, `model-card.json` and,
//! for small models, `msm-tables` and `key-cosets`.
//! Files are written whole to a temporary name and renamed, so an interrupted write never leaves
//! a half file under a real name.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use zkinfer_circuits::model::LayoutParams;
use zkinfer_quant_models::file_write::write_replacing;
use zkinfer_verifier::IoTensor;

/// Paths inside a compiled-model folder.
pub struct ModelDir(pub PathBuf);

impl ModelDir {
    pub fn model(&self) -> PathBuf {
        self.0.join("model.zkq")
    }
    pub fn pk(&self) -> PathBuf {
        self.0.join("pk")
    }
    pub fn vk(&self) -> PathBuf {
        self.0.join("vk")
    }
    pub fn srs(&self) -> PathBuf {
        self.0.join("srs.params")
    }
    /// Window tables of the SRS for the CPU prover's full-width MSMs (an accelerator only).
    pub fn msm_tables(&self) -> PathBuf {
        self.0.join("msm-tables")
    }
    /// The key's polynomials on the extended coset, so that `prove` need not compute them
    /// (an accelerator only).
    pub fn key_cosets(&self) -> PathBuf {
        self.0.join("key-cosets")
    }
    pub fn card(&self) -> PathBuf {
        self.0.join("model-card.json")
    }
}

/// Writes `bytes` to `path` so that an earlier file there is kept whole if the write fails.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_replacing(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Removes a file that may not exist.
pub fn remove_if_present(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Reads a file, naming it in the error.
pub fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// Maps a compiled folder's large file into memory instead of copying it: the pages come
/// straight from the page cache, where a copy would first fault in and zero as many fresh
/// pages (a tenth of a small model's `prove`).
pub fn map(path: &Path) -> anyhow::Result<memmap2::Mmap> {
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    // SAFETY: a mapping is undefined behaviour if the file changes while mapped. zkinfer never
    // changes a compiled folder's file in place: `write_atomic` writes a new file and renames
    // it over the old one, which leaves the mapped (old) file's pages as they were.
    unsafe { memmap2::Mmap::map(&file) }.with_context(|| format!("mapping {}", path.display()))
}

/// Column counts of the circuit (each committed column costs prove time and proof bytes).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Columns {
    pub advice: usize,
    pub fixed: usize,
    pub lookups: usize,
    pub instance: usize,
}

/// Where the SRS came from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SrsInfo {
    /// `insecure-test` (anyone can forge proofs) or `file`.
    pub kind: String,
    /// Hex SHA-256 of the verifier's SRS points (part of the model id).
    pub id: String,
}

/// Quantization quality measured on the calibration set at compile time.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CardAccuracy {
    pub samples: usize,
    pub argmax_agreement: f64,
    pub float_top1: Option<f64>,
    pub quant_top1: Option<f64>,
}

/// What a model owner publishes beside the verifier key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelCard {
    pub model_id: String,
    pub model: String,
    pub srs: SrsInfo,
    pub k: u32,
    pub rows: usize,
    pub columns: Columns,
    pub layout: LayoutParams,
    pub ops: std::collections::BTreeMap<String, usize>,
    pub parameters: usize,
    pub macs: usize,
    pub inputs: Vec<IoTensor>,
    pub outputs: Vec<IoTensor>,
    pub accuracy: CardAccuracy,
    pub pk_bytes: usize,
    pub vk_bytes: usize,
}
