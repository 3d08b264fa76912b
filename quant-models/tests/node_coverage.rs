//! How much of ONNX the import covers: every backend node test of the target ops (shipped in
//! the `onnx` Python package, version 1.22.0), including the `_expanded` function bodies and the
//! non-float32 cases, is compiled the way `zkinfer compile` does it and run through the integer
//! inference. Each case ends in one of:
//!
//! - **pass**: the integer output is within `0.02·max(1, max|y|) + 0.02` of ONNX's;
//! - **refused**: an error names the reason (unsupported op or form, precision lost on the
//!   calibration set, a value that would saturate);
//! - **n/a**: refused because the case has no meaning for a quantized prover: integer-typed
//!   model inputs (wrap-around integer arithmetic) and empty tensors; or not run, because its
//!   data is not finite float32 data (old exports saved uninitialised memory);
//! - **wrong**: an out-of-tolerance answer with no error. There must be none.
//!
//! The test prints the table per op and fails when a case is wrong, when anything panics, or
//! when fewer cases pass than the floor below (raise it as coverage grows).
//!
//! Operands are split as an exporter would: weights, shapes, axes, indices and bounds are
//! frozen into initializers; the data operands (both sides of Add/Sub/Mul/MatMul, every Concat
//! input) stay model inputs.

#[path = "support/node_tests.rs"]
mod node_tests;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use prost::Message;
use tract_onnx::pb::ModelProto;
use zkinfer_quant_models::compile::compile_onnx;
use zkinfer_quant_models::infer::run_float_inputs;
use zkinfer_quant_models::quant::QuantConfig;
use zkinfer_quant_models::report::{precision_loss, tensor_report};
use zkinfer_quant_models::ModelError;

use node_tests::{load_case_at, node_test_dir, Case, FLOAT};

/// The ops the coverage target names.
const TARGET_OPS: &[&str] = &[
    "Gemm",
    "MatMul",
    "Conv",
    "Relu",
    "LeakyRelu",
    "Sigmoid",
    "Tanh",
    "Gelu",
    "Softmax",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "Add",
    "Mul",
    "Sub",
    "Reshape",
    "Flatten",
    "Transpose",
    "Concat",
    "BatchNormalization",
    "LayerNormalization",
    "Clip",
    "Erf",
    "Exp",
    "ReduceMean",
    "ReduceSum",
    "Pad",
    "Slice",
    "Gather",
    "Squeeze",
    "Unsqueeze",
];

/// Ops whose every input is data (computed by the model), not a weight or a shape.
const DATA_OPERANDS: &[&str] = &["Add", "Sub", "Mul", "MatMul", "Concat"];

/// Cases that must pass: the coverage reached so far.
const PASS_FLOOR: usize = 262;

/// The relative precision `compile --tolerance` is held to on the calibration set.
const COMPILE_TOLERANCE: f64 = 0.02;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Pass,
    /// Passes with the wider [`MORE_BITS`] after a precision refusal at the defaults.
    PassMoreBits,
    Refused(String),
    /// Refused as meaningless for a quantized prover (see the module documentation).
    NotApplicable(String),
    /// Refused for an integer-typed model input: meaningless for the node tests' integer
    /// arithmetic, a missing feature for the PyTorch cases' token ids.
    IntegerInput(String),
    Wrong(String),
    Panic(String),
}

/// The op a node-test folder tests: the only node of the folder's model (of its un-expanded
/// twin for an `_expanded` folder).
fn op_of(folder: &str) -> Option<String> {
    let base = folder.trim_end_matches("_ver18").trim_end_matches("_expanded");
    let bytes = std::fs::read(node_test_dir().join(base).join("model.onnx")).ok()?;
    let model = ModelProto::decode(&bytes[..]).ok()?;
    match &model.graph?.node[..] {
        [only] => Some(only.op_type.clone()),
        _ => None,
    }
}

/// A deterministic perturbation of `x` (±10 % of its spread), for calibration samples other
/// than the test input.
fn perturbed(x: &[f64], seed: u64) -> Vec<f64> {
    let spread = x.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-3);
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    x.iter()
        .map(|v| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let u = (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
            v + 0.1 * spread * u
        })
        .collect()
}

/// The widths a user tries after a precision refusal (the error names these flags).
const MORE_BITS: QuantConfig = QuantConfig { weight_bits: 12, activation_bits: 12, table_bits: 14, margin: 0.1 };

/// The case at the default widths, and again with [`MORE_BITS`] when only precision failed.
fn run_case(folder: &str, case: &Case) -> Outcome {
    // Some old exports were saved from uninitialised memory (values near 1e200, NaN results).
    let garbage = |v: &f64| !v.is_finite() || v.abs() > 1e30;
    if case.inputs.iter().flatten().any(garbage) || case.expected.iter().any(garbage) {
        return Outcome::NotApplicable("the test data is not finite float32 data".into());
    }
    match run_case_with(folder, case, QuantConfig::default()) {
        Outcome::Refused(why) if why.starts_with("precision") => match run_case_with(folder, case, MORE_BITS) {
            Outcome::Pass => Outcome::PassMoreBits,
            other => other,
        },
        other => other,
    }
}

fn run_case_with(folder: &str, case: &Case, config: QuantConfig) -> Outcome {
    let mut samples = vec![case.inputs.clone()];
    samples.extend((1..=3).map(|s| case.inputs.iter().map(|x| perturbed(x, s)).collect()));
    let compiled = match compile_onnx(&case.model, folder, &samples, config) {
        Ok(c) => c,
        Err(e @ ModelError::NonFloatInput { .. }) => return Outcome::IntegerInput(e.to_string()),
        Err(e @ ModelError::EmptyTensor { .. }) => return Outcome::NotApplicable(e.to_string()),
        Err(e) => return Outcome::Refused(e.to_string()),
    };
    match tensor_report(&compiled, &samples) {
        Err(e) => return Outcome::Refused(e.to_string()),
        Ok(reports) => {
            if let Some(loss) = precision_loss(&compiled, &reports, COMPILE_TOLERANCE) {
                return Outcome::Refused(format!("precision: {loss}"));
            }
        }
    }
    let model = &compiled.quant;
    let trace = match run_float_inputs(model, &case.inputs) {
        Ok(t) => t,
        Err(e) => return Outcome::Refused(e.to_string()),
    };
    if let Some(s) = trace.saturations.first() {
        return Outcome::Refused(format!("`{}` saturates: proving refuses it", s.tensor));
    }
    let ours = trace.dequantized_outputs(model).swap_remove(0);
    if ours.len() != case.expected.len() {
        return Outcome::Wrong(format!("{} outputs, ONNX has {}", ours.len(), case.expected.len()));
    }
    let max_abs = case.expected.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let worst = ours.iter().zip(&case.expected).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    let tolerance = 0.02 * max_abs.max(1.0) + 0.02;
    if worst <= tolerance {
        Outcome::Pass
    } else {
        Outcome::Wrong(format!("off by {worst:.4} > {tolerance:.4}"))
    }
}

fn load(folder: &str, op: &str) -> Case {
    let data = DATA_OPERANDS.contains(&op);
    load_case_at(&node_test_dir().join(folder), |k, dtype| k == 0 || (data && dtype == FLOAT))
}

/// Runs every case, a panic recorded as an outcome.
fn run_all(cases: Vec<(String, String)>, load: impl Fn(&str, &str) -> Case) -> Vec<(String, String, Outcome)> {
    // Silence the default hook while cases run.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcomes = cases
        .into_iter()
        .map(|(op, folder)| {
            let outcome =
                catch_unwind(AssertUnwindSafe(|| run_case(&folder, &load(&folder, &op)))).unwrap_or_else(|p| {
                    let msg = p.downcast_ref::<String>().cloned().or(p.downcast_ref::<&str>().map(|s| s.to_string()));
                    Outcome::Panic(msg.unwrap_or_default())
                });
            (op, folder, outcome)
        })
        .collect();
    std::panic::set_hook(hook);
    outcomes
}

#[test]
fn node_tests_of_the_target_ops() {
    let mut folders: Vec<(String, String)> = std::fs::read_dir(node_test_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| op_of(&f).filter(|op| TARGET_OPS.contains(&op.as_str())).map(|op| (op, f)))
        .collect();
    folders.sort();
    assert_eq!(folders.len(), 305, "the onnx 1.22.0 wheel has 305 cases of the target ops");
    let outcomes = run_all(folders, load);

    let (passed, wrong) = report(&outcomes);
    let names: Vec<&str> = wrong.iter().map(|w| w.1.as_str()).collect();
    assert!(wrong.is_empty(), "{} case(s) answered wrong or panicked: {names:?}", wrong.len());
    assert!(passed >= PASS_FLOOR, "{passed} cases pass, fewer than the floor {PASS_FLOOR}");
}

/// Prints each refusal and the table per op; returns the passes and the wrong answers.
fn report(outcomes: &[(String, String, Outcome)]) -> (usize, Vec<&(String, String, Outcome)>) {
    // Per op: pass, pass with more bits, refused, not applicable, wrong.
    let mut table: BTreeMap<&str, [usize; 5]> = BTreeMap::new();
    for (op, folder, outcome) in outcomes {
        let row = table.entry(op.as_str()).or_default();
        match outcome {
            Outcome::Pass => row[0] += 1,
            Outcome::PassMoreBits => {
                row[1] += 1;
                println!("12 bits  {folder}");
            }
            Outcome::Refused(why) => {
                row[2] += 1;
                println!("refused  {folder}: {why}");
            }
            Outcome::NotApplicable(why) | Outcome::IntegerInput(why) => {
                row[3] += 1;
                println!("n/a      {folder}: {why}");
            }
            Outcome::Wrong(why) | Outcome::Panic(why) => {
                row[4] += 1;
                println!("WRONG    {folder}: {outcome:?} {why}");
            }
        }
    }
    println!("\n| op | pass | pass at 12 bits | refused | n/a | wrong | cases |\n|---|---|---|---|---|---|---|");
    for (op, row) in &table {
        let [pass, more, refused, na, wrong] = row;
        println!("| {op} | {pass} | {more} | {refused} | {na} | {wrong} | {} |", row.iter().sum::<usize>());
    }
    let passed = table.values().map(|r| r[0] + r[1]).sum::<usize>();
    let applicable = outcomes.len() - table.values().map(|r| r[3]).sum::<usize>();
    println!("\n{passed} of {applicable} applicable cases pass ({:.1} %)", 100.0 * passed as f64 / applicable as f64);
    let wrong: Vec<_> =
        outcomes.iter().filter(|(_, _, o)| matches!(o, Outcome::Wrong(_) | Outcome::Panic(_))).collect();
    println!("\n{passed} of {} cases pass", outcomes.len());
    (passed, wrong)
}

/// The exports of PyTorch modules and operators shipped beside the node tests, every input a
/// model input, all but the two MaxPool cases too large for a test (`MaxPool3d_stride*`).
#[test]
fn pytorch_converted_and_operator_cases() {
    let data = node_test_dir().parent().map(Path::to_path_buf).unwrap_or_default();
    let mut cases = Vec::new();
    for set in ["pytorch-converted", "pytorch-operator"] {
        for entry in std::fs::read_dir(data.join(set)).unwrap() {
            let folder = entry.unwrap().file_name().into_string().unwrap();
            if !HUGE.contains(&folder.as_str()) {
                cases.push((set.to_string(), folder));
            }
        }
    }
    cases.sort();
    assert_eq!(cases.len(), 115, "the onnx 1.22.0 wheel has 117 such cases");
    let mut outcomes = run_all(cases, |folder, set| load_case_at(&data.join(set).join(folder), |_, _| true));
    // Here integer inputs are token ids and indices (Embedding), which a prover should take:
    // refused for now, not meaningless.
    for (_, _, outcome) in &mut outcomes {
        if let Outcome::IntegerInput(why) = outcome {
            *outcome = Outcome::Refused(std::mem::take(why));
        }
    }
    let (passed, wrong) = report(&outcomes);
    let names: Vec<&str> = wrong.iter().map(|w| w.1.as_str()).collect();
    assert!(wrong.is_empty(), "{} case(s) answered wrong or panicked: {names:?}", wrong.len());
    assert!(passed >= PYTORCH_PASS_FLOOR, "{passed} cases pass, fewer than the floor {PYTORCH_PASS_FLOOR}");
}

/// The two MaxPool cases the coverage target leaves out.
const HUGE: &[&str] = &["test_MaxPool3d_stride", "test_MaxPool3d_stride_padding"];

/// PyTorch cases that must pass.
const PYTORCH_PASS_FLOOR: usize = 100;
