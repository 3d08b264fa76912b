//! `zkinfer srs`: write the insecure test SRS, or import a published ceremony's setup, both in
//! halo2's KZG params format for `compile --srs`.

use std::path::Path;

use zkinfer_prover::{import_setup, insecure_test_srs, write_srs};
use zkinfer_verifier::VerifierSrs;

use zkinfer_pipeline::{read, write_atomic};

use crate::progress::step;

/// Writes zkinfer's one test setup, whose secret is public.
pub fn insecure_test(k: u32, output: &Path) -> anyhow::Result<()> {
    anyhow::ensure!((1..=24).contains(&k), "--k {k}: choose 1..=24");
    let params = insecure_test_srs(k);
    write_atomic(output, &write_srs(&params))?;
    let id = VerifierSrs::from_params(&params).id_hex();
    println!(
        "wrote {} : INSECURE TEST SRS, k = {k} (its secret is public: anyone can forge proofs with it; `verify` refuses it without --allow-insecure-srs)",
        output.display()
    );
    println!("srs id {id}");
    Ok(())
}

/// Reads a `.ptau` or halo2 params file, checks it with pairings, and writes `2^k` points of it.
pub fn import(file: &Path, k: u32, output: &Path) -> anyhow::Result<()> {
    anyhow::ensure!((1..=28).contains(&k), "--k {k}: choose 1..=28");
    let bytes = read(file)?;
    let (imported, _) =
        step(&format!("read and check {} with pairings (k = {k})", file.display()), || Ok(import_setup(&bytes, k)?))?;
    write_atomic(output, &write_srs(&imported.params))?;
    println!(
        "wrote {} : k = {k}, cut from a {} file of 2^{} powers",
        output.display(),
        imported.format.name(),
        imported.file_power
    );
    println!("source blake2b {}", imported.blake2b);
    match imported.ceremony {
        Some(c) => println!("setup: {}", c.name),
        None => println!("setup: not a published ceremony zkinfer knows: buyers will see `unknown setup`"),
    }
    println!("srs id {}", VerifierSrs::from_params(&imported.params).id_hex());
    Ok(())
}
