//! The compiled folder's manifest: the SHA-256 of every file `compile` wrote, written last.
//!
//! A folder whose files do not all come from one `compile` (a key from another run, an SRS of
//! another size, a flipped byte) would give proofs nobody can verify, or wrong outputs. `prove`
//! checks the manifest before any work: a damaged core file stops it with the file's name; a
//! damaged accelerator (MSM tables, key cosets) is skipped with a warning.

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::folder::{map, read, write_atomic};
use crate::{Observer, PipelineError};

/// File name of the manifest inside a compiled folder.
pub const MANIFEST: &str = "manifest.json";
/// Files an accelerator only: proving goes on without them.
const ACCELERATORS: [&str; 2] = ["msm-tables", "key-cosets"];

/// File name → hex SHA-256, plus the model id the folder is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub model_id: String,
    pub files: BTreeMap<String, String>,
}

fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Manifest {
    /// An empty manifest for the folder of `model_id`.
    pub fn new(model_id: &str) -> Self {
        Manifest { model_id: model_id.to_string(), files: BTreeMap::new() }
    }

    /// Writes `bytes` as `dir/name` and records its digest.
    pub fn write_file(&mut self, dir: &Path, name: &str, bytes: &[u8]) -> Result<(), PipelineError> {
        write_atomic(&dir.join(name), bytes)?;
        self.files.insert(name.to_string(), digest(bytes));
        Ok(())
    }

    /// Writes the manifest itself into `dir` (last: it vouches for the files before it).
    pub fn write(&self, dir: &Path) -> Result<(), PipelineError> {
        let json = serde_json::to_string_pretty(self).map_err(|e| PipelineError::Folder(e.to_string()))?;
        write_atomic(&dir.join(MANIFEST), json.as_bytes())
    }

    /// Reads `dir`'s manifest and checks every file it lists against the bytes on disk.
    /// Returns the manifest and the accelerators that may be used (present and matching);
    /// an accelerator that does not match is reported to `observer` and left out.
    pub fn check(dir: &Path, observer: &dyn Observer) -> Result<Checked, PipelineError> {
        let path = dir.join(MANIFEST);
        if !path.exists() {
            return Err(PipelineError::Folder(format!(
                "{} has no {MANIFEST}: not a folder written by this version of `zkinfer compile`; compile the model again",
                dir.display()
            )));
        }
        let manifest: Manifest =
            serde_json::from_slice(&read(&path)?).map_err(|source| PipelineError::Json { path, source })?;
        let results: Vec<(String, Result<bool, PipelineError>)> = manifest
            .files
            .par_iter()
            .map(|(name, expected)| {
                let matches = map(&dir.join(name)).map(|bytes| digest(&bytes) == *expected);
                (name.clone(), matches)
            })
            .collect();
        let mut usable_accelerators = Vec::new();
        for (name, result) in results {
            let accelerator = ACCELERATORS.contains(&name.as_str());
            match (result, accelerator) {
                (Ok(true), true) => usable_accelerators.push(name),
                (Ok(true), false) => {}
                (Ok(false), true) | (Err(_), true) => observer.warning(&format!(
                    "{} does not match the manifest; proving without it",
                    dir.join(&name).display()
                )),
                (Ok(false), false) => {
                    return Err(PipelineError::Folder(format!(
                        "{} does not match the folder's manifest (damaged, or from another compile); compile the model again",
                        dir.join(&name).display()
                    )))
                }
                (Err(e), false) => return Err(e),
            }
        }
        Ok(Checked { manifest, usable_accelerators })
    }
}

/// A manifest whose core files matched.
pub struct Checked {
    pub manifest: Manifest,
    /// Accelerator files present and matching.
    pub usable_accelerators: Vec<String>,
}

impl Checked {
    /// Whether the accelerator `name` may be used.
    pub fn accelerator(&self, name: &str) -> bool {
        self.usable_accelerators.iter().any(|a| a == name)
    }
}
