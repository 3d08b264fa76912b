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

/// File names inside a compiled-model folder.
pub const MODEL: &str = "model.zkq";
pub const PK: &str = "pk";
pub const VK: &str = "vk";
pub const SRS: &str = "srs.params";
/// Window tables of the SRS for the CPU prover's full-width MSMs (an accelerator only).
pub const MSM_TABLES: &str = "msm-tables";
/// The key's polynomials on the extended coset, so that `prove` need not compute them
/// (an accelerator only).
pub const KEY_COSETS: &str = "key-cosets";
pub const CARD: &str = "model-card.json";

/// Paths inside a compiled-model folder.
pub struct ModelDir(pub PathBuf);

impl ModelDir {
    pub fn model(&self) -> PathBuf {
        self.0.join(MODEL)
    }
    pub fn pk(&self) -> PathBuf {
        self.0.join(PK)
    }
    pub fn srs(&self) -> PathBuf {
        self.0.join(SRS)
    }
    pub fn msm_tables(&self) -> PathBuf {
        self.0.join(MSM_TABLES)
    }
    pub fn key_cosets(&self) -> PathBuf {
        self.0.join(KEY_COSETS)
    }
}

/// Fills a staging folder beside `dir` with `fill`, then puts it in `dir`'s place. An existing
/// `dir` is replaced only if it is empty or a compiled folder (it holds a manifest or a model
/// card): `-o` naming a folder of other files is refused rather than emptied.
pub fn replace_dir(dir: &Path, fill: impl FnOnce(&Path) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow::anyhow!("{}: not a folder name", dir.display()))?;
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if dir.exists() {
        let is_compiled = dir.join(crate::manifest::MANIFEST).exists() || dir.join(CARD).exists();
        let is_empty = std::fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(false);
        anyhow::ensure!(
            dir.is_dir() && (is_compiled || is_empty),
            "{} exists and is not a compiled model folder; choose another output folder",
            dir.display()
        );
    }
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    // Staging folders an interrupted compile left behind.
    let stale = format!(".{name}.partial-");
    for entry in std::fs::read_dir(parent).into_iter().flatten().flatten() {
        if entry.file_name().to_str().is_some_and(|n| n.starts_with(&stale)) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let staging = parent.join(format!("{stale}{}", std::process::id()));
    std::fs::create_dir(&staging).with_context(|| format!("creating {}", staging.display()))?;
    if let Err(e) = fill(&staging) {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    let had_old = dir.exists();
    if had_old {
        std::fs::rename(dir, &old).with_context(|| format!("moving the earlier {} aside", dir.display()))?;
    }
    if let Err(e) = std::fs::rename(&staging, dir) {
        if had_old {
            let _ = std::fs::rename(&old, dir);
        }
        return Err(e).with_context(|| format!("moving the new folder to {}", dir.display()));
    }
    if had_old {
        std::fs::remove_dir_all(&old).with_context(|| format!("removing the earlier folder {}", old.display()))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` so that an earlier file there is kept whole if the write fails.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_replacing(path, bytes).with_context(|| format!("writing {}", path.display()))
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
    /// `insecure-test` (anyone can forge proofs), `ceremony` (a published one zkinfer knows) or
    /// `file` (any other setup), judged from the SRS id.
    pub kind: String,
    /// Hex SHA-256 of the verifier's SRS points (part of the model id).
    pub id: String,
    /// The published ceremony, when `kind` is `ceremony`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceremony: Option<String>,
    /// The file `compile --srs` read, when it read one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SrsSource>,
}

/// The setup file a model was compiled from, so that anyone can fetch the same file and compare.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SrsSource {
    /// `ptau` or `halo2-params`.
    pub format: String,
    /// BLAKE2b-512 of the file (hex), the hash ceremonies publish.
    pub blake2b: String,
    /// The file held `2^file_power` powers.
    pub file_power: u32,
}

/// Quantization quality measured on the calibration set at compile time.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CardAccuracy {
    pub samples: usize,
    pub argmax_agreement: f64,
    pub float_top1: Option<f64>,
    pub quant_top1: Option<f64>,
}

/// One model input's ranges: what calibration saw, and what the circuit accepts (beyond it,
/// `prove` refuses the input as saturated).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InputRange {
    pub name: String,
    /// Largest magnitude in the calibration set.
    pub calibrated_max_abs: f64,
    /// Smallest and largest float the input's integers stand for.
    pub provable: (f64, f64),
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
    pub input_ranges: Vec<InputRange>,
    /// Headroom kept above the calibrated ranges (a fraction).
    pub headroom: f64,
    pub accuracy: CardAccuracy,
    pub pk_bytes: usize,
    pub vk_bytes: usize,
}
