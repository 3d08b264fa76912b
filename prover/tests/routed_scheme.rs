//! The MSM-routing commitment scheme changes who computes commitments, never what: its
//! commitments and keys equal stock KZG's. (Whole proofs cannot be compared byte for byte:
//! halo2-axiom draws the vanishing argument's random polynomial from `thread_rng`, not from the
//! caller's RNG. That routed proofs pass the stock verifier is shown by `bundles.rs`.)

use std::path::Path;
use std::sync::Arc;

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{keygen_pk, keygen_vk};
use halo2_proofs::poly::commitment::{Blind, Params, ParamsProver};
use halo2_proofs::poly::EvaluationDomain;
use halo2_proofs::SerdeFormat;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use zkinfer_circuits::model::ModelCircuit;
use zkinfer_circuits::planner::plan;
use zkinfer_prover::{circuit_k, insecure_test_srs, setup, CpuMsm, MsmBackend, RoutedParams, SmallScalarMsm};
use zkinfer_quant_models::compile::compile_onnx_file;
use zkinfer_quant_models::io::read_calibration;
use zkinfer_quant_models::QuantConfig;

#[test]
fn routed_commitments_equal_stock_kzg() {
    commitments_equal_stock_kzg(CpuMsm, false);
    commitments_equal_stock_kzg(SmallScalarMsm::default(), false);
    commitments_equal_stock_kzg(SmallScalarMsm::default(), true);
}

fn commitments_equal_stock_kzg<M: MsmBackend + Default + 'static>(backend: M, window_tables: bool) {
    let k = 6;
    let srs = insecure_test_srs(k);
    let mut routed = RoutedParams::new(srs.clone(), backend);
    if window_tables {
        assert!(routed.build_msm_tables().is_some());
    }
    let domain = EvaluationDomain::<Fr>::new(1, k);
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut lagrange = domain.empty_lagrange();
    let mut coeff = domain.empty_coeff();
    for (l, c) in lagrange.iter_mut().zip(coeff.iter_mut()) {
        *l = Fr::random(&mut rng);
        *c = Fr::random(&mut rng);
    }
    let blind = Blind::default();
    assert_eq!(routed.commit_lagrange(&lagrange, blind), srs.commit_lagrange(&lagrange, blind));
    assert_eq!(routed.commit(&coeff, blind), srs.commit(&coeff, blind));
    // Downsizing keeps the two in step.
    let (mut small_routed, mut small) = (routed.clone(), srs.clone());
    small_routed.downsize(5);
    small.downsize(5);
    let half = EvaluationDomain::<Fr>::new(1, 5);
    let mut values = half.empty_lagrange();
    values.iter_mut().enumerate().for_each(|(i, v)| *v = Fr::from(i as u64) - Fr::from(9));
    assert_eq!(small_routed.commit_lagrange(&values, blind), small.commit_lagrange(&values, blind));
    // Full-width values too: tables of the taller domain hold other Lagrange points.
    values.iter_mut().for_each(|v| *v = Fr::random(&mut rng));
    assert_eq!(small_routed.commit_lagrange(&values, blind), small.commit_lagrange(&values, blind));
}

#[test]
fn routed_keygen_equals_stock_keygen() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../quant-models/models/digits-mlp");
    let samples = read_calibration(&dir.join("calibration.json")).unwrap();
    let model = Arc::new(compile_onnx_file(&dir.join("model.onnx"), &samples, QuantConfig::default()).unwrap().quant);
    let layout = plan(&model, true).unwrap().0;
    let srs = insecure_test_srs(circuit_k(model.clone(), layout).unwrap());
    let (key, _) = setup(&srs, SmallScalarMsm::default(), model.clone(), layout).unwrap();
    let circuit = ModelCircuit::for_keygen(model, layout).unwrap();
    let vk = keygen_vk(&srs, &circuit).unwrap();
    let pk = keygen_pk(&srs, vk, &circuit).unwrap();
    assert!(pk.get_vk().to_bytes(SerdeFormat::Processed) == key.pk.get_vk().to_bytes(SerdeFormat::Processed));
    assert!(pk.to_bytes(SerdeFormat::RawBytes) == key.pk.to_bytes(SerdeFormat::RawBytes));
}
