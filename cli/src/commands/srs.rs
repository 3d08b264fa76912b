//! `zkinfer srs`: write an insecure test SRS in halo2's KZG params format.

use std::path::Path;

use zkinfer_prover::{insecure_test_srs, write_srs};
use zkinfer_verifier::VerifierSrs;

use crate::model_dir::write_atomic;

pub fn run(k: u32, insecure_test: bool, output: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        insecure_test,
        "zkinfer only generates test setups, and only with --insecure-test; for real use pass a published universal setup (halo2 KZG params) to `compile --srs`"
    );
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
