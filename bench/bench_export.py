"""Every INT8 preset against the reference recipe and fp32, all measured in one process.

From a trained model folder: exports each fp32 graph the presets need (dynamo, TorchScript,
BERT-fused, BERT-fused with a [CLS]-only last layer; each parity-checked against PyTorch),
quantizes every preset (static ones calibrate on the train split of --data), then measures,
for each model: file size; single-query latency as the runtime calls it (one query, unpadded,
batch 1, one thread) with tokenization and for the model alone; batch-64 throughput; accuracy
on the template test split and the human dev set (drop in points against fp32); fidelity to
fp32 on the validation split (argmax agreement and mean KL, steadier than accuracy drops of
a few rows). Ratios are against fp32 and against the reference pipeline's recipe, both
measured in the same run: ``matmul_torchscript`` ("x ref": the graph of its exporter,
optimum, which is torch.onnx's TorchScript exporter; then dynamic INT8 of the MatMuls,
per-channel) and, beside it, the same quantization of the dynamo graph (``matmul``, "x dyn"),
which onnxruntime 1.32 runs slower.

Timing alternates the models in small rounds: each round runs every model on the same 8
queries, one model after the other, in an order shuffled each round (seeded), so that no
model always follows the same one (fp32 evicts everything from the caches); p50/p99 pool all
rounds. "cold p50" is the first query of each model's turn, right after another model ran.
An absolute time holds for this machine only; the ratios are the result. With --runtime-ort
the model-alone timing is repeated under the onnxruntime sqry-nl loads (1.22, in a cached
virtualenv), alternated the same way, and each model's logits there are compared with ours
on the dev set's queries (max |difference|; the goal is 1e-4).

    python bench/bench_export.py out/train/final --data out/data
    python bench/bench_export.py out/train/final --data out/data --rounds 400 --runtime-ort \\
        --json runs/export.json
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hf_pipeline.export.config import ExportConfig
from hf_pipeline.export.presets import DEFAULT_PRESET, PRESETS, REFERENCE_PRESET
from hf_pipeline.io import atomic_write_json

FP32 = "fp32"
# The reference's quantization on the dynamo graph: the ratios before the reference row
# followed the reference's exporter.
DYNAMO_REFERENCE = "matmul"
GOALS = {"p50_vs_reference": 0.75, "drop_points": 0.5, "size_mb": 24.0, "runtime_atol": 1e-4}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model_dir", type=Path, help="trained model folder (final/ of train)")
    p.add_argument("--data", required=True,
                   help="dataset: test split for accuracy, train split for calibration")
    p.add_argument("--presets", nargs="+", choices=list(PRESETS), default=list(PRESETS),
                   help="presets to measure (both references are always included)")
    p.add_argument("--rounds", type=int, default=200, help="timing rounds (x 8 queries)")
    p.add_argument("--batch-runs", type=int, default=10, help="timed batches per model")
    p.add_argument("--runtime-ort", action="store_true",
                   help="also time the models under onnxruntime 1.22 (cached virtualenv)")
    p.add_argument("--json", type=Path, help="also write the results to this file")
    return p.parse_args(argv)


def build_models(model_dir: Path, presets: list[str], work: Path, data: str,
                 ) -> tuple[dict[str, Path], dict[str, float]]:
    """fp32 (dynamo) and every preset's INT8 file; plus each fp32 graph's parity max |diff|."""
    from hf_pipeline.export.onnx_export import (
        check_graph,
        check_parity,
        export_graph,
        load_torch_model,
    )
    from hf_pipeline.export.quantize import calibration_feeds, quantize
    from hf_pipeline.runtime.onnx import load_tokenizer

    cfg = ExportConfig()
    model = load_torch_model(model_dir, attention=cfg.attention)
    tokenizer = load_tokenizer(model_dir)
    graphs: dict[str, Path] = {}
    parity: dict[str, float] = {}
    for graph in dict.fromkeys(["dynamo"] + [PRESETS[p].graph for p in presets]):
        path = export_graph(model, tokenizer, work / f"{graph}.fp32.onnx", opset=cfg.opset,
                            graph=graph)
        check_graph(path)
        parity[graph] = check_parity(path, model, tokenizer, atol=cfg.parity_atol).max_abs_diff
        graphs[graph] = path
    calibration = None
    if any(PRESETS[p].static for p in presets):
        calibration = calibration_feeds(_train_texts(data), tokenizer,
                                        samples=cfg.calibration_samples)
    paths = {FP32: graphs["dynamo"]}
    for name in presets:
        paths[name] = quantize(graphs[PRESETS[name].graph], work / f"{name}.onnx", preset=name,
                               calibration=calibration if PRESETS[name].static else None)
    return paths, parity


def _train_texts(data: str) -> list[str]:
    from hf_pipeline.data_sources import load_eval_sets

    sets, _ = load_eval_sets(data, splits=("train",), with_dev=False)
    return list(sets["train"][0])


def time_single_queries(paths: dict[str, Path], tokenizer: Any, rounds: int
                        ) -> dict[str, dict[str, list[float]]]:
    """Per model: seconds with tokenization, model alone, and the first query of each turn."""
    from hf_pipeline.export.inspect import BENCH_QUERIES
    from hf_pipeline.runtime.onnx import encode, make_session

    sessions = {name: make_session(path, threads=1) for name, path in paths.items()}
    for session in sessions.values():  # warm-up
        for query in BENCH_QUERIES:
            session.run(["logits"], encode(tokenizer, [query]))
    names = list(sessions)
    out: dict[str, dict[str, list[float]]] = {n: {"tok": [], "model": [], "cold": []}
                                              for n in names}
    clock = time.perf_counter
    shuffle = random.Random(0).shuffle
    for _ in range(rounds):
        shuffle(names)
        for name in names:
            session, times = sessions[name], out[name]
            for i, query in enumerate(BENCH_QUERIES):
                t0 = clock()
                feeds = encode(tokenizer, [query])
                t1 = clock()
                session.run(["logits"], feeds)
                t2 = clock()
                times["tok"].append(t2 - t0)
                times["model"].append(t2 - t1)
                if i == 0:
                    times["cold"].append(t2 - t0)
    return out


def time_batches(paths: dict[str, Path], tokenizer: Any, runs: int, size: int = 64
                 ) -> dict[str, float]:
    """Samples per second at batch ``size`` (one thread), models alternated run by run."""
    import numpy as np

    from hf_pipeline.export.inspect import BENCH_QUERIES
    from hf_pipeline.runtime.onnx import encode, make_session

    batch = encode(tokenizer, [BENCH_QUERIES[i % len(BENCH_QUERIES)] for i in range(size)])
    sessions = {name: make_session(path, threads=1) for name, path in paths.items()}
    seconds: dict[str, list[float]] = {name: [] for name in sessions}
    for session in sessions.values():
        session.run(["logits"], batch)
    names = list(sessions)
    shuffle = random.Random(0).shuffle
    for _ in range(runs):
        shuffle(names)
        for name in names:
            session = sessions[name]
            start = time.perf_counter()
            session.run(["logits"], batch)
            seconds[name].append(time.perf_counter() - start)
    return {name: size / float(np.median(s)) for name, s in seconds.items()}


def accuracies(paths: dict[str, Path], tokenizer: Any, data: str
               ) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Per model: accuracy on the test split and the dev set; and its fidelity to fp32 on the
    validation split (argmax agreement, mean KL(fp32 || model)), finer than accuracy drops
    of a few rows."""
    import numpy as np

    from hf_pipeline.data_sources import load_eval_sets
    from hf_pipeline.runtime.classifier import softmax
    from hf_pipeline.runtime.onnx import OnnxClassifier

    sets, _ = load_eval_sets(data, splits=("test", "validation"))
    held_out = sets.pop("validation")[0]
    acc: dict[str, dict[str, float]] = {}
    probs: dict[str, np.ndarray] = {}
    for name, path in paths.items():
        model = OnnxClassifier(path, tokenizer=tokenizer, threads=0)
        acc[name] = {s: float((model.predict(texts, batch_size=64) == np.asarray(labels)).mean())
                     for s, (texts, labels) in sets.items()}
        probs[name] = softmax(model.logits(held_out, batch_size=64))
    ref = probs[FP32]
    fidelity = {name: {
        "agreement": float((p.argmax(1) == ref.argmax(1)).mean()),
        "kl": float((ref * (np.log(np.maximum(ref, 1e-12)) - np.log(np.maximum(p, 1e-12))))
                    .sum(1).mean())} for name, p in probs.items()}
    return acc, fidelity


def runtime_ort_timings(paths: dict[str, Path], tokenizer: Any, rounds: int
                        ) -> tuple[str, dict[str, list[float]]]:
    from hf_pipeline.export.compat import runtime_timings
    from hf_pipeline.export.inspect import BENCH_QUERIES
    from hf_pipeline.runtime.onnx import encode

    return runtime_timings(paths, [encode(tokenizer, [q]) for q in BENCH_QUERIES],
                           rounds=rounds)


def runtime_ort_logit_diffs(paths: dict[str, Path], tokenizer: Any) -> dict[str, float]:
    """Per model: max |logit difference| between the project's onnxruntime and the runtime's
    (1.22) over the dev set's queries, each sent alone as the runtime sends it."""
    import numpy as np

    from hf_pipeline.data_sources import load_eval_sets
    from hf_pipeline.export.compat import runtime_logits
    from hf_pipeline.runtime.onnx import encode, make_session

    sets, _ = load_eval_sets(None)
    feeds = [encode(tokenizer, [t]) for t in sets["dev"][0]]
    _, theirs = runtime_logits(paths, feeds)
    diffs = {}
    for name, path in paths.items():
        session = make_session(path, threads=1)
        diffs[name] = max(float(np.abs(session.run(["logits"], f)[0] - t).max())
                          for f, t in zip(feeds, theirs[name], strict=True))
    return diffs


def summarize(paths: dict[str, Path], single: dict[str, dict[str, list[float]]],
              batch: dict[str, float], acc: dict[str, dict[str, float]],
              fidelity: dict[str, dict[str, float]], runtime: dict[str, list[float]] | None,
              runtime_diffs: dict[str, float] | None) -> dict[str, dict[str, Any]]:
    import numpy as np

    def ms(values: list[float], q: float) -> float:
        return float(np.percentile(values, q) * 1e3)

    rows: dict[str, dict[str, Any]] = {}
    for name, path in paths.items():
        times = single[name]
        rows[name] = {
            "size_mb": path.stat().st_size / 1e6,
            "p50_ms": ms(times["tok"], 50), "p99_ms": ms(times["tok"], 99),
            "model_p50_ms": ms(times["model"], 50), "model_p99_ms": ms(times["model"], 99),
            "cold_p50_ms": ms(times["cold"], 50), "batch64_per_s": batch[name],
            "accuracy": acc[name],
            "drop_points": {s: (acc[FP32][s] - a) * 100 for s, a in acc[name].items()},
            "fidelity": fidelity[name],
        }
        if runtime is not None and runtime_diffs is not None:
            rows[name]["runtime_ort_model_p50_ms"] = ms(runtime[name], 50)
            rows[name]["runtime_ort_max_logit_diff"] = runtime_diffs[name]
    ref, dyn, fp32 = rows[REFERENCE_PRESET], rows[DYNAMO_REFERENCE], rows[FP32]
    for row in rows.values():
        row["vs_reference"] = {k: row[k] / ref[k] for k in
                               ("p50_ms", "model_p50_ms", "cold_p50_ms", "batch64_per_s")}
        row["vs_dynamo_reference"] = {k: row[k] / dyn[k] for k in ("p50_ms", "model_p50_ms")}
        row["vs_fp32"] = {k: row[k] / fp32[k] for k in ("p50_ms", "batch64_per_s")}
        if runtime is not None:
            key = "runtime_ort_model_p50_ms"
            row["vs_reference"][key] = row[key] / ref[key]
    return rows


def print_table(rows: dict[str, dict[str, Any]], *, runtime_version: str | None,
                info: dict[str, Any]) -> None:
    sets = list(rows[FP32]["accuracy"])
    extra = f" {'1.22 mdl':>8} {'x ref':>5} {'1.22 dif':>8}" if runtime_version else ""
    print(f"single query: tokenize + infer, batch 1, 1 thread, onnxruntime {info['ort']}, "
          f"{info['rounds']} rounds x 8 queries; x ref = ratio to {REFERENCE_PRESET} "
          f"(the reference's recipe: TorchScript graph as optimum exports it, dynamic INT8 "
          f"MatMuls per channel), x dyn = ratio to {DYNAMO_REFERENCE} (the same on the dynamo "
          f"graph), x fp32 = ratio to fp32 (lower is faster; throughput: higher)")
    print(f"{'model':<24} {'MB':>5} {'p50':>6} {'p99':>6} {'model':>6} {'cold':>6} "
          f"{'b64/s':>6} | {'x ref':>5} {'mdl':>5} {'cold':>5} {'b64':>5} | {'x dyn':>5} "
          f"{'mdl':>5} | {'x fp32':>6} "
          f"{'b64':>5} |" + "".join(f" {s + ' acc':>9} {'drop':>5}" for s in sets)
          + f" {'agree':>6} {'KL':>7}" + extra)
    for name, r in rows.items():
        label = name + {REFERENCE_PRESET: " (ref)", DYNAMO_REFERENCE: " (dyn)"}.get(name, "") + \
            (" *" if name == DEFAULT_PRESET else "")
        ref, dyn, f32 = r["vs_reference"], r["vs_dynamo_reference"], r["vs_fp32"]
        accuracy = "".join(f" {r['accuracy'][s]:>9.2%} {r['drop_points'][s]:>+5.2f}"
                           for s in sets)
        accuracy += f" {r['fidelity']['agreement']:>6.2%} {r['fidelity']['kl']:>7.1e}"
        line = (f"{label:<24} {r['size_mb']:>5.1f} {r['p50_ms']:>6.3f} {r['p99_ms']:>6.3f} "
                f"{r['model_p50_ms']:>6.3f} {r['cold_p50_ms']:>6.3f} {r['batch64_per_s']:>6.0f}"
                f" | {ref['p50_ms']:>5.2f} {ref['model_p50_ms']:>5.2f} {ref['cold_p50_ms']:>5.2f}"
                f" {ref['batch64_per_s']:>5.2f} | {dyn['p50_ms']:>5.2f} {dyn['model_p50_ms']:>5.2f}"
                f" | {f32['p50_ms']:>6.3f} "
                f"{f32['batch64_per_s']:>5.2f} |{accuracy}")
        if runtime_version:
            line += (f" {r['runtime_ort_model_p50_ms']:>8.3f} "
                     f"{ref['runtime_ort_model_p50_ms']:>5.2f} "
                     f"{r['runtime_ort_max_logit_diff']:>8.1e}")
        print(line)
    print("ms: p50/p99 with tokenization, model = model alone p50, cold = first query of each "
          "turn p50; drop = fp32 minus INT8 accuracy, points; agree, KL = argmax agreement "
          "with fp32 and mean KL(fp32 || model) on the validation split" +
          (f"; 1.22 mdl = model alone p50 under onnxruntime {runtime_version}, 1.22 dif = "
           "max |logit diff| against it over the dev set's single queries"
           if runtime_version else ""))
    print("fp32 graphs vs PyTorch, max |logit diff|: " +
          ", ".join(f"{g} {d:.1e}" for g, d in info["parity"].items()))
    d = rows[DEFAULT_PRESET]
    checks = [
        (f"p50 <= {GOALS['p50_vs_reference']}x {REFERENCE_PRESET}",
         d["vs_reference"]["p50_ms"] <= GOALS["p50_vs_reference"],
         f"{d['vs_reference']['p50_ms']:.3f}x"),
        (f"p50 <= {GOALS['p50_vs_reference']}x {DYNAMO_REFERENCE} (dynamo graph)",
         d["vs_dynamo_reference"]["p50_ms"] <= GOALS["p50_vs_reference"],
         f"{d['vs_dynamo_reference']['p50_ms']:.3f}x"),
        (f"accuracy drop <= {GOALS['drop_points']} points (each set)",
         max(d["drop_points"].values()) <= GOALS["drop_points"],
         ", ".join(f"{s} {v:+.2f}" for s, v in d["drop_points"].items())),
        (f"size <= {GOALS['size_mb']:g} MB", d["size_mb"] <= GOALS["size_mb"],
         f"{d['size_mb']:.1f} MB"),
    ]
    if runtime_version:
        checks += [
            (f"model p50 under onnxruntime {runtime_version} <= "
             f"{GOALS['p50_vs_reference']}x {REFERENCE_PRESET}",
             d["vs_reference"]["runtime_ort_model_p50_ms"] <= GOALS["p50_vs_reference"],
             f"{d['vs_reference']['runtime_ort_model_p50_ms']:.3f}x"),
            (f"same logits under onnxruntime {runtime_version} (<= {GOALS['runtime_atol']:g})",
             d["runtime_ort_max_logit_diff"] <= GOALS["runtime_atol"],
             f"{d['runtime_ort_max_logit_diff']:.1e}"),
        ]
    for what, ok, value in checks:
        print(f"default preset {DEFAULT_PRESET}: {what}: {value} ({'met' if ok else 'MISSED'})")


def main(argv: list[str] | None = None) -> int:
    import onnxruntime

    from hf_pipeline.runtime.onnx import load_tokenizer

    args = parse_args(argv)
    presets = list(dict.fromkeys([REFERENCE_PRESET, DYNAMO_REFERENCE, *args.presets]))
    tokenizer = load_tokenizer(args.model_dir)
    runtime_version, runtime = None, None
    with tempfile.TemporaryDirectory(prefix="bench_export_") as tmp:
        paths, parity = build_models(args.model_dir, presets, Path(tmp), args.data)
        single = time_single_queries(paths, tokenizer, args.rounds)
        batch = time_batches(paths, tokenizer, args.batch_runs)
        acc, fidelity = accuracies(paths, tokenizer, args.data)
        runtime_diffs = None
        if args.runtime_ort:
            runtime_version, runtime = runtime_ort_timings(paths, tokenizer, args.rounds)
            runtime_diffs = runtime_ort_logit_diffs(paths, tokenizer)
        rows = summarize(paths, single, batch, acc, fidelity, runtime, runtime_diffs)
    info = {"ort": onnxruntime.__version__, "rounds": args.rounds, "parity": parity,
            "runtime_ort": runtime_version}
    print_table(rows, runtime_version=runtime_version, info=info)
    if args.json:
        atomic_write_json(args.json, {"info": info, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
