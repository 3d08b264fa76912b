#!/usr/bin/env python3
"""zkinfer and EZKL 23.0.5 side by side on the same ONNX files and inputs, in one run.

Each tool sets up once per model; then the proofs alternate (zkinfer, EZKL, zkinfer, ...)
so that a noisy machine slows both alike, and the medians are compared. zkinfer is timed as
whole processes (`zkinfer compile`, `zkinfer prove`, `zkinfer verify`); EZKL as its Python
calls, each step in its own process so that every peak RSS is that step's own.

    python3 benches/ezkl/side_by_side.py --models digits-mlp,digits-cnn --repeat 3

Needs network access once to install EZKL into WORK/venv. Not part of CI: the H=1024 MLP
alone takes EZKL minutes and ~10 GiB.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ["digits-mlp", "digits-cnn", "fashion-cnn", "lenet5"]
DEFAULT_MODELS = SHIPPED + ["mlp-16", "mlp-64", "mlp-256", "mlp-1024"]
EZKL_VERSION = "23.0.5"


def model_files(name, work):
    """(model.onnx, input.json, calibration.json) of a shipped or synthetic model."""
    if name in SHIPPED:
        d = ROOT / "quant-models" / "models" / name
    elif name.startswith("mlp-"):
        d = work / "models" / name
        if not (d / "model.onnx").exists():
            hidden = name.split("-")[1]
            subprocess.run([str(zkinfer_bin()), "synth", "mlp", "--hidden", hidden, "-o", str(d)], check=True,
                           stdout=subprocess.DEVNULL)
    else:
        sys.exit(f"unknown model {name}: use {', '.join(DEFAULT_MODELS)} or mlp-H")
    return d / "model.onnx", d / "input.json", d / "calibration.json"


def zkinfer_bin():
    return ROOT / "target" / "release" / "zkinfer"


def ensure_tools(work):
    if not zkinfer_bin().exists():
        subprocess.run(["cargo", "build", "--release", "-p", "zkinfer"], cwd=ROOT, check=True)
    venv = work / "venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"ezkl=={EZKL_VERSION}", "onnx==1.22.0"], check=True)
    return python


# ---- EZKL steps, each run in its own child process (`--ezkl-step`) ----

def ezkl_step(step, onnx_file, data, out):
    import ezkl

    out = Path(out)
    p = {k: str(out / k) for k in ["settings.json", "model.compiled", "kzg.srs", "vk.key", "pk.key",
                                   "witness.json", "proof.json"]}
    t = time.perf_counter()
    if step == "batch1":
        # EZKL cannot resolve an unnamed batch dimension: both tools get a copy with batch 1.
        import onnx

        model = onnx.load(onnx_file)
        for value in list(model.graph.input) + list(model.graph.output):
            dims = value.type.tensor_type.shape.dim
            if dims and not dims[0].HasField("dim_value"):
                dims[0].dim_value = 1
        # EZKL also wants the attributes ONNX lets default (strides, pads, dilations) spelled out.
        weights = {t.name: t for t in model.graph.initializer}
        for node in model.graph.node:
            if node.op_type not in ("Conv", "MaxPool", "AveragePool"):
                continue
            attrs = {a.name: a for a in node.attribute}
            if "kernel_shape" in attrs:
                rank = len(attrs["kernel_shape"].ints)
            else:
                rank = len(weights[node.input[1]].dims) - 2
            for name, value in [("strides", [1] * rank), ("pads", [0] * 2 * rank), ("dilations", [1] * rank)]:
                if name not in attrs and not (name == "dilations" and node.op_type == "AveragePool"):
                    node.attribute.append(onnx.helper.make_attribute(name, value))
        onnx.save(model, str(out / "model.onnx"))
        result = {"onnx": str(out / "model.onnx"), "from": onnx_file}
    elif step == "setup":
        args = ezkl.PyRunArgs()
        # The same guarantees as zkinfer's default: public input and output, weights fixed in the key.
        args.input_visibility = "public"
        args.output_visibility = "public"
        args.param_visibility = "fixed"
        assert ezkl.gen_settings(onnx_file, p["settings.json"], py_run_args=args)
        assert ezkl.calibrate_settings(data, onnx_file, p["settings.json"], "resources")
        assert ezkl.compile_circuit(onnx_file, p["model.compiled"], p["settings.json"])
        logrows = json.load(open(p["settings.json"]))["run_args"]["logrows"]
        ezkl.gen_srs(p["kzg.srs"], logrows)
        t_setup = time.perf_counter()
        assert ezkl.setup(p["model.compiled"], p["vk.key"], p["pk.key"], p["kzg.srs"])
        result = {"prepare_s": t_setup - t, "setup_s": time.perf_counter() - t_setup, "logrows": logrows}
    elif step == "prove":
        ezkl.gen_witness(data, p["model.compiled"], p["witness.json"])
        t_prove = time.perf_counter()
        ezkl.prove(p["witness.json"], p["model.compiled"], p["pk.key"], p["proof.json"], p["kzg.srs"])
        proof = json.load(open(p["proof.json"]))
        raw = proof.get("proof")
        size = len(raw) if isinstance(raw, list) else len(bytes.fromhex(proof["hex_proof"].removeprefix("0x")))
        result = {"witness_s": t_prove - t, "prove_s": time.perf_counter() - t_prove, "proof_bytes": size}
    elif step == "verify":
        assert ezkl.verify(p["proof.json"], p["settings.json"], p["vk.key"], p["kzg.srs"])
        result = {"verify_s": time.perf_counter() - t}
    else:
        sys.exit(f"unknown step {step}")
    print("RESULT " + json.dumps(result))


def child(cmd):
    """Runs a child; returns (wall seconds, its own peak RSS in MiB, stdout then stderr). Its
    stderr goes to a file (a full pipe would stall it) and is shown if it fails."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        err.seek(0)
        log = err.read()
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"{' '.join(map(str, cmd))} failed ({status}):\n{log[-3000:]}")
    return wall, usage.ru_maxrss / 1024.0, out + log


def result_of(out):
    line = next((l for l in out.splitlines() if l.startswith("RESULT ")), None)
    if line is None:
        sys.exit(f"an EZKL step printed no result:\n{out[-3000:]}")
    return json.loads(line[len("RESULT "):])


def bench_model(name, repeat, work, python):
    original, data, cal = model_files(name, work)
    zdir, edir = work / "zkinfer" / name, work / "ezkl" / name
    edir.mkdir(parents=True, exist_ok=True)
    _, _, out = child([str(python), __file__, "--ezkl-step", "batch1", str(original), str(data), str(edir)])
    onnx = result_of(out)["onnx"]
    zk = str(zkinfer_bin())
    print(f"{name}: setup", file=sys.stderr)
    z_setup, z_setup_rss, _ = child([zk, "compile", str(onnx), "--calibration", str(cal), "-o", str(zdir)])
    _, e_setup_rss, out = child([str(python), __file__, "--ezkl-step", "setup", str(onnx), str(data), str(edir)])
    e_setup = result_of(out)
    z_prove, e_prove, z_verify, e_verify, z_rss, e_rss = [], [], [], [], [], []
    for i in range(repeat):
        print(f"{name}: proof {i + 1}/{repeat}", file=sys.stderr)
        wall, rss, out = child([zk, "prove", str(zdir), "--input", str(data), "-o", str(zdir / "proof.json"),
                                    "--device", "cpu"])
        z_prove.append(wall)
        z_rss.append(rss)
        z_proof_bytes = int(next(l for l in out.splitlines() if l.startswith("proof ")).split()[1])
        # Compiled on the test setup (a benchmark times the work, not the ceremony), which
        # `verify` refuses by default.
        wall, _, _ = child([zk, "verify", str(zdir / "proof.json"), "--model-card", str(zdir / "model-card.json"),
                            "--vk", str(zdir / "vk"), "--allow-insecure-srs"])
        z_verify.append(wall)
        _, rss, out = child([str(python), __file__, "--ezkl-step", "prove", str(onnx), str(data), str(edir)])
        e = result_of(out)
        e_prove.append(e["prove_s"])
        e_rss.append(rss)
        _, _, out = child([str(python), __file__, "--ezkl-step", "verify", str(onnx), str(data), str(edir)])
        e_verify.append(result_of(out)["verify_s"])
    med = statistics.median
    return {
        "model": name,
        "zkinfer": {"setup_s": z_setup, "prove_s": med(z_prove), "verify_s": med(z_verify),
                    "proof_bytes": z_proof_bytes, "pk_bytes": (zdir / "pk").stat().st_size,
                    "peak_rss_mib": max(max(z_rss), z_setup_rss), "prove_runs": z_prove},
        "ezkl": {"setup_s": e_setup["setup_s"], "prepare_s": e_setup["prepare_s"], "logrows": e_setup["logrows"],
                 "prove_s": med(e_prove), "verify_s": med(e_verify), "proof_bytes": e["proof_bytes"],
                 "pk_bytes": (edir / "pk.key").stat().st_size, "peak_rss_mib": max(max(e_rss), e_setup_rss),
                 "prove_runs": e_prove},
    }


def print_table(rows):
    head = f"{'model':<12} {'tool':<8} {'setup s':>9} {'prove s':>9} {'verify ms':>10} {'proof B':>8} " \
           f"{'pk MiB':>8} {'RSS MiB':>8}"
    print(head)
    for r in rows:
        for tool in ["zkinfer", "ezkl"]:
            m = r[tool]
            print(f"{r['model']:<12} {tool:<8} {m['setup_s']:>9.2f} {m['prove_s']:>9.3f} {m['verify_s'] * 1e3:>10.1f} "
                  f"{m['proof_bytes']:>8} {m['pk_bytes'] / 2**20:>8.1f} {m['peak_rss_mib']:>8.0f}")
        z, e = r["zkinfer"], r["ezkl"]
        print(f"{r['model']:<12} {'ratio':<8} {e['setup_s'] / z['setup_s']:>8.1f}x {e['prove_s'] / z['prove_s']:>8.1f}x "
              f"{e['verify_s'] / z['verify_s']:>9.1f}x {e['proof_bytes'] / z['proof_bytes']:>7.2f}x "
              f"{e['pk_bytes'] / z['pk_bytes']:>7.1f}x {e['peak_rss_mib'] / z['peak_rss_mib']:>7.1f}x")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--ezkl-step":
        ezkl_step(*sys.argv[2:6])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--work", default=str(ROOT / "target" / "ezkl-side-by-side"))
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    python = ensure_tools(work)
    rows = []
    for name in args.models.split(","):
        try:
            rows.append(bench_model(name, args.repeat, work, python))
        except SystemExit as failure:
            print(f"{name}: skipped, a step failed: {failure}", file=sys.stderr)
            continue
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=2))
    print_table(rows)
    print("ratio = EZKL / zkinfer (above 1: zkinfer is better)")


if __name__ == "__main__":
    main()
