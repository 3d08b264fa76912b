//! GPU MSM check and benchmark: the device's result must equal the CPU MSMs (stock and
//! small-scalar) on adversarial and random scalars for sizes 1 … 2^max; then medians of the
//! GPU and the CPU MSM side by side for each size and scalar width.
//!
//! `cargo run --release -p zkinfer-prover --example gpu_msm -- [max_log2=20] [bench_max_log2=22]`
//! Exits 0 with a line saying why when no CUDA device is usable; non-zero on any mismatch.

use std::sync::Arc;
use std::time::Instant;

use halo2_proofs::arithmetic::best_multiexp;
use halo2_proofs::halo2curves::bn256::{Fr, G1Affine, G1};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::halo2curves::group::{Curve, Group};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use rayon::prelude::*;
use zkinfer_prover::{Basis, GpuMsm, MsmBackend, SmallScalarMsm};

/// `n` distinct points: chunks of consecutive multiples of a random generator.
fn bases(n: usize) -> Vec<G1Affine> {
    let g = G1::random(ChaCha20Rng::seed_from_u64(1));
    let chunk = 1 << 12;
    let projective: Vec<G1> = (0..n.div_ceil(chunk))
        .into_par_iter()
        .flat_map_iter(|c| {
            let mut p = g * Fr::from((c * chunk + 1) as u64);
            (0..chunk).map(move |_| {
                let out = p;
                p += g;
                out
            })
        })
        .take_any(n)
        .collect();
    let mut affine = vec![G1Affine::default(); n];
    G1::batch_normalize(&projective, &mut affine);
    affine
}

fn scalars(kind: &str, n: usize, rng: &mut ChaCha20Rng) -> Vec<Fr> {
    let signed = |bits: u32, rng: &mut ChaCha20Rng| {
        let m = rng.next_u64() >> (64 - bits);
        if rng.next_u32() & 1 == 1 {
            -Fr::from(m)
        } else {
            Fr::from(m)
        }
    };
    (0..n)
        .map(|_| match kind {
            "zero" => Fr::ZERO,
            "one" => Fr::ONE,
            "minus-one" => -Fr::ONE,
            "all-equal" => Fr::from(0xdead_beef),
            "8-bit" => signed(8, rng),
            "16-bit" => signed(16, rng),
            "32-bit" => signed(32, rng),
            _ => Fr::random(&mut *rng),
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<u32> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (max_log, bench_log) = (args.first().copied().unwrap_or(20), args.get(1).copied().unwrap_or(22));
    let gpu = match GpuMsm::open() {
        Ok(g) => Arc::new(g),
        Err(e) => {
            println!("skipped: {e}");
            return;
        }
    };
    println!("device: {}; CPU threads: {}", gpu.device_name(), rayon::current_num_threads());
    let all = bases(1 << max_log.max(bench_log));
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let mut failures = 0;
    let kinds = ["zero", "one", "minus-one", "all-equal", "8-bit", "16-bit", "32-bit", "random"];
    let mut sizes: Vec<usize> = vec![1, 2, 3, 5, 100, 1000];
    sizes.extend((10..=max_log).step_by(2).map(|k| 1usize << k));
    for &n in &sizes {
        for kind in kinds {
            let s = scalars(kind, n, &mut rng);
            let got = gpu.try_msm(&s, &all[..n], Basis::Lagrange).map(|p| p.to_affine());
            let stock = best_multiexp(&s, &all[..n]).to_affine();
            let small = SmallScalarMsm::default().msm(&s, &all[..n], Basis::Lagrange).to_affine();
            let ok = matches!(&got, Ok(p) if *p == stock) && small == stock;
            if !ok {
                failures += 1;
                println!("MISMATCH n={n} {kind}: gpu {got:?} stock {stock:?}");
            }
        }
        println!("n = {n}: {} scalar kinds checked", kinds.len());
    }
    println!(
        "\n{:>6} {:>8} {:>12} {:>12} {:>12} {:>8}",
        "log2 n", "scalars", "gpu ms", "cpu ms", "cpu-small ms", "cpu/gpu"
    );
    for log in (16..=bench_log).step_by(2) {
        let n = 1usize << log;
        for kind in ["8-bit", "16-bit", "32-bit", "random"] {
            let s = scalars(kind, n, &mut rng);
            let time = |f: &dyn Fn() -> G1, runs: usize| {
                median(
                    (0..runs)
                        .map(|_| {
                            let t = Instant::now();
                            std::hint::black_box(f());
                            t.elapsed().as_secs_f64() * 1e3
                        })
                        .collect(),
                )
            };
            let gpu_ms = time(&|| gpu.msm(&s, &all[..n], Basis::Lagrange), 5);
            let cpu_runs = if log >= 22 { 1 } else { 3 };
            let cpu_ms = time(&|| best_multiexp(&s, &all[..n]), cpu_runs);
            let small_ms = time(&|| SmallScalarMsm::default().msm(&s, &all[..n], Basis::Lagrange), cpu_runs);
            println!("{log:>6} {kind:>8} {gpu_ms:>12.2} {cpu_ms:>12.1} {small_ms:>12.1} {:>8.1}", cpu_ms / gpu_ms);
        }
    }
    if failures > 0 {
        eprintln!("{failures} mismatches");
        std::process::exit(1);
    }
}
