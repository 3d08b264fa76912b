//! The CPU MSM (small-scalar Pippenger, and window tables for full-width scalars) against
//! halo2's stock MSM on quantized-width and full-width scalars.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use halo2_proofs::halo2curves::bn256::{Fr, G1Affine, G1};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::halo2curves::group::{Curve, Group};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use std::sync::Arc;

use zkinfer_prover::{Basis, CpuMsm, MsmBackend, MsmTables, SmallScalarMsm};

fn msm(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut group = c.benchmark_group("msm");
    group.sample_size(10);
    for log_n in [10, 14] {
        let n = 1usize << log_n;
        let points: Vec<G1> = (0..n).map(|_| G1::random(&mut rng)).collect();
        let mut bases = vec![G1Affine::default(); n];
        G1::batch_normalize(&points, &mut bases);
        let kinds: [(&str, Vec<Fr>); 2] = [
            ("8-bit signed", (0..n).map(|_| Fr::from(rng.next_u64() % 256) - Fr::from(128)).collect()),
            ("full width", (0..n).map(|_| Fr::random(&mut rng)).collect()),
        ];
        let tables = MsmTables::build(&bases, &bases).map(Arc::new).expect("2^14 points get tables");
        let tabled = SmallScalarMsm::default().with_tables(tables);
        for (kind, scalars) in &kinds {
            let id = format!("{kind}/2^{log_n}");
            group.bench_with_input(BenchmarkId::new("small-scalar", &id), scalars, |b, s| {
                b.iter(|| SmallScalarMsm::default().msm(s, &bases, Basis::Lagrange))
            });
            group.bench_with_input(BenchmarkId::new("small-scalar + tables", &id), scalars, |b, s| {
                b.iter(|| tabled.msm(s, &bases, Basis::Lagrange))
            });
            group.bench_with_input(BenchmarkId::new("stock", &id), scalars, |b, s| {
                b.iter(|| CpuMsm.msm(s, &bases, Basis::Lagrange))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, msm);
criterion_main!(benches);
