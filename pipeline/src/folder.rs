//! The compiled-model folder: `model.zkq`, `pk`, `vk`, `srs.params`, `model-card.json` and,
//! for small models, `msm-tables` and `key-cosets`.
//! Files are written whole to a temporary name and renamed, so an interrupted write never leaves
//! a half file under a real name.

use std::path::{Path, PathBuf};

use zkinfer_quant_models::file_write::write_replacing;

use crate::PipelineError;

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
    /// The quantized model.
    pub fn model(&self) -> PathBuf {
        self.0.join(MODEL)
    }
    /// The proving key.
    pub fn pk(&self) -> PathBuf {
        self.0.join(PK)
    }
    /// The SRS the keys were made with.
    pub fn srs(&self) -> PathBuf {
        self.0.join(SRS)
    }
    /// The MSM window tables (an accelerator).
    pub fn msm_tables(&self) -> PathBuf {
        self.0.join(MSM_TABLES)
    }
    /// The key's coset values (an accelerator).
    pub fn key_cosets(&self) -> PathBuf {
        self.0.join(KEY_COSETS)
    }
    /// The model card.
    pub fn card(&self) -> PathBuf {
        self.0.join(CARD)
    }
}

/// Fills a staging folder beside `dir` with `fill`, then puts it in `dir`'s place. An existing
/// `dir` is replaced only if it is empty or a compiled folder (it holds a manifest or a model
/// card): `-o` naming a folder of other files is refused rather than emptied.
pub fn replace_dir(dir: &Path, fill: impl FnOnce(&Path) -> Result<(), PipelineError>) -> Result<(), PipelineError> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| PipelineError::Folder(format!("{}: not a folder name", dir.display())))?;
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if dir.exists() {
        let is_compiled = dir.join(crate::manifest::MANIFEST).exists() || dir.join(CARD).exists();
        let is_empty = std::fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(false);
        if !(dir.is_dir() && (is_compiled || is_empty)) {
            return Err(PipelineError::Folder(format!(
                "{} exists and is not a compiled model folder; choose another output folder",
                dir.display()
            )));
        }
    }
    std::fs::create_dir_all(parent).map_err(PipelineError::io("creating", parent))?;
    // Staging folders an interrupted compile left behind.
    let stale = format!(".{name}.partial-");
    for entry in std::fs::read_dir(parent).into_iter().flatten().flatten() {
        if entry.file_name().to_str().is_some_and(|n| n.starts_with(&stale)) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let staging = parent.join(format!("{stale}{}", std::process::id()));
    std::fs::create_dir(&staging).map_err(PipelineError::io("creating", &staging))?;
    if let Err(e) = fill(&staging) {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    let had_old = dir.exists();
    if had_old {
        std::fs::rename(dir, &old).map_err(PipelineError::io("moving aside the earlier", dir))?;
    }
    if let Err(e) = std::fs::rename(&staging, dir) {
        if had_old {
            let _ = std::fs::rename(&old, dir);
        }
        return Err(PipelineError::io("moving the new folder to", dir)(e));
    }
    if had_old {
        std::fs::remove_dir_all(&old).map_err(PipelineError::io("removing the earlier folder", &old))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` so that an earlier file there is kept whole if the write fails.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PipelineError> {
    write_replacing(path, bytes).map_err(PipelineError::io("writing", path))
}

/// Reads a file, naming it in the error.
pub fn read(path: &Path) -> Result<Vec<u8>, PipelineError> {
    std::fs::read(path).map_err(PipelineError::io("reading", path))
}

/// Maps a compiled folder's large file into memory instead of copying it: the pages come
/// straight from the page cache, where a copy would first fault in and zero as many fresh
/// pages (a tenth of a small model's `prove`).
pub fn map(path: &Path) -> Result<memmap2::Mmap, PipelineError> {
    let file = std::fs::File::open(path).map_err(PipelineError::io("reading", path))?;
    // SAFETY: a mapping is undefined behaviour if the file changes while mapped. zkinfer never
    // changes a compiled folder's file in place: `write_atomic` writes a new file and renames
    // it over the old one, which leaves the mapped (old) file's pages as they were.
    unsafe { memmap2::Mmap::map(&file) }.map_err(PipelineError::io("mapping", path))
}
