#!/usr/bin/env bash
# Fuzzes every target for SECONDS (default 120) each, from seeds made of the shipped models:
#   rustup toolchain install nightly && cargo install cargo-fuzz && fuzz/run.sh 120
# Crashes land in fuzz/artifacts/<target>/; after fixing one, copy it to
# fuzz/regressions/<target>/ so that CI replays it (prover/tests/corrupt_files.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-120}
seeds=fuzz/target/seeds
M=quant-models/models/digits-mlp
mkdir -p "$seeds"
cargo run --release --quiet -- srs insecure-test --k 8 -o "$seeds/k8.srs" >/dev/null
cargo run --release --quiet -- compile $M/model.onnx --calibration $M/calibration.json --srs "$seeds/k8.srs" \
    -o "$seeds/mlp" 2>/dev/null >/dev/null
cargo run --release --quiet -- prove "$seeds/mlp" --input $M/input.json --allow-saturation -o "$seeds/bundle.json" 2>/dev/null
seed() { mkdir -p "fuzz/corpus/$1"; cp "${@:2}" "fuzz/corpus/$1/"; }
mkdir -p fuzz/corpus/onnx_import
for m in quant-models/models/*; do cp "$m/model.onnx" "fuzz/corpus/onnx_import/$(basename "$m").onnx"; done
seed zkq "$seeds/mlp/model.zkq"
seed verifier_key "$seeds/mlp/vk"
seed prover_key "$seeds/mlp/pk"
seed bundle "$seeds/bundle.json"
seed input_json $M/input.json
seed setup "$seeds/k8.srs"
cp quant-models/models/digits-cnn/input.json fuzz/corpus/input_json/cnn-input.json
for target in onnx_import zkq verifier_key prover_key bundle input_json setup; do
    echo "== $target: ${seconds}s"
    (cd fuzz && cargo +nightly fuzz run -O "$target" -- -max_total_time="$seconds" -rss_limit_mb=4096 2>&1 |
        grep -E "^#[0-9]+ *DONE|Done [0-9]+ runs|SUMMARY|panicked|ERROR" || true)
done
