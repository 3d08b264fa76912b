//! A powers-of-tau ceremony run by the snarkjs CLI (new, contribute, prepare phase2) imports; a
//! model compiled on it proves and verifies; the same file with one point changed is refused.
//!
//! Needs `snarkjs` on PATH (`npm install -g snarkjs@0.7.5`), or its path in `SNARKJS`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;

/// The ceremony's power: the digits MLP needs 2^7 rows.
const POWER: u32 = 8;

fn snarkjs(args: &[&str]) {
    let program = std::env::var("SNARKJS").unwrap_or_else(|_| "snarkjs".into());
    let out = Command::new(&program).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run `{program}` ({e}): install it with `npm install -g snarkjs@0.7.5` or set SNARKJS")
    });
    assert!(out.status.success(), "snarkjs {args:?}: {}", String::from_utf8_lossy(&out.stdout));
}

/// A prepared phase-1 file of a two-step ceremony (a contribution over `new`), made once per
/// target folder.
fn snarkjs_ptau() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("snarkjs-ceremony");
    let done = dir.join(format!("pot{POWER}_final.ptau"));
    if done.exists() {
        return done;
    }
    std::fs::create_dir_all(&dir).unwrap();
    let step = |name: &str| dir.join(format!("pot{POWER}_{name}.ptau")).to_str().unwrap().to_string();
    let (new, contributed, partial) = (step("0000"), step("0001"), step("final.partial"));
    snarkjs(&["powersoftau", "new", "bn128", &POWER.to_string(), &new]);
    snarkjs(&["powersoftau", "contribute", &new, &contributed, "--name=zkinfer test", "-e=entropy thrown away"]);
    snarkjs(&["powersoftau", "prepare", "phase2", &contributed, &partial]);
    std::fs::rename(&partial, &done).unwrap();
    done
}

/// Byte offset of `[τ^i]₁` in a `.ptau`: the τ·G1 section's body plus 64 bytes a point.
fn tau_g1_offset(ptau: &[u8], i: usize) -> usize {
    let u32_at = |at: usize| u32::from_le_bytes(ptau[at..at + 4].try_into().unwrap());
    let mut at = 12;
    for _ in 0..u32_at(8) {
        let size = u64::from_le_bytes(ptau[at + 4..at + 12].try_into().unwrap()) as usize;
        if u32_at(at) == 2 {
            return at + 12 + 64 * i;
        }
        at += 12 + size;
    }
    panic!("no τ·G1 section")
}

#[test]
fn a_snarkjs_ceremony_imports_and_a_model_compiled_on_it_proves_and_verifies() {
    let ptau = snarkjs_ptau();
    let (dir, tmp) = (model_dir(), temp_dir("snarkjs"));

    let params = tmp.join("pot.params");
    let out = zkinfer(&["srs", "import", s(&ptau), "--k", "7", "-o", s(&params)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let expected_hash = blake2b_simd::blake2b(&std::fs::read(&ptau).unwrap()).to_hex().to_string();
    assert!(stdout(&out).contains(&format!("source blake2b {expected_hash}")), "{}", stdout(&out));
    assert!(stdout(&out).contains("not a published ceremony"), "{}", stdout(&out));

    // `compile --srs` takes the .ptau itself and records where the setup came from.
    let compiled = tmp.join("compiled");
    let out = compile(&dir, Some(&ptau), &compiled, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(compiled.join("model-card.json")).unwrap()).unwrap();
    assert_eq!(card["srs"]["kind"], "file");
    assert_eq!(card["srs"]["source"]["format"], "ptau");
    assert_eq!(card["srs"]["source"]["blake2b"], expected_hash.as_str());
    assert_eq!(card["srs"]["source"]["file_power"], POWER);
    let proof = tmp.join("proof.json");
    let out = zkinfer(&["prove", s(&compiled), "--input", s(&dir.join("input.json")), "-o", s(&proof)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (vk, card_path) = (compiled.join("vk"), compiled.join("model-card.json"));
    let out = zkinfer(&["verify", s(&proof), "--vk", s(&vk), "--model-card", s(&card_path)]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains(&format!("setup: unknown setup {}", card["srs"]["id"].as_str().unwrap())));
    // The imported params file is the same setup: same SRS id.
    let again = tmp.join("again");
    let out = compile(&dir, Some(&params), &again, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let card2: serde_json::Value =
        serde_json::from_slice(&std::fs::read(again.join("model-card.json")).unwrap()).unwrap();
    assert_eq!(card2["srs"]["id"], card["srs"]["id"]);

    // One point replaced by another valid point (τ^4·G1 where τ^3·G1 was): refused by the
    // pairing check, by `srs import` and by `compile`, and nothing is written.
    let mut bytes = std::fs::read(&ptau).unwrap();
    let (at3, at4) = (tau_g1_offset(&bytes, 3), tau_g1_offset(&bytes, 4));
    bytes.copy_within(at4..at4 + 64, at3);
    let changed = tmp.join("changed.ptau");
    std::fs::write(&changed, &bytes).unwrap();
    let refused = tmp.join("refused.params");
    let out = zkinfer(&["srs", "import", s(&changed), "--k", "7", "-o", s(&refused)]);
    assert!(!out.status.success() && stderr(&out).contains("pairing check failed"), "{}", stderr(&out));
    assert!(!refused.exists());
    let out = compile(&dir, Some(&changed), &tmp.join("refused"), &[]);
    assert!(!out.status.success() && stderr(&out).contains("pairing check failed"), "{}", stderr(&out));
    assert!(!tmp.join("refused").exists());
}
