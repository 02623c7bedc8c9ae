"""How much should a reviewed real request weigh in training? ``train --real-data`` repeats
each one k times; this measures k on the VALIDATION split only (never the dev set, never test).

Real requests are phrasings no training template had. The stand-in: the generated validation
split, whose template lines training never saw, cut by template into two halves.

- A ("real"): ``--real-rows`` rows of half A's templates become a requests.jsonl (split
  ``train``), as `feedback publish` would write it; the other rows of those templates (no
  text shared) are ``real-like``: how well the model now handles what people type.
- B (``unseen``): the other templates, never trained on in any variant: generalisation to
  phrasings nobody sent yet must not drop. Training picks its best epoch on B.

For each k in ``--repeats`` (0 = templates only) and each seed, the real ``train`` loop runs
(``TrainConfig(real_data=..., real_data_repeat=k)``), then both sets are scored::

    python bench/real_data_weighting.py --output runs/real_weighting            # tiny model
    python bench/real_data_weighting.py --output runs/rw --base-model MINILM_DIR \\
        --samples-per-intent 1000 --real-rows 200 --learning-rate 1e-4 --seeds 1,2,3

The default (a tiny random BERT, hidden 32, on 200 samples per intent) is near chance on
2 CPU cores and cannot choose k. MiniLM at a small scale on the same 2 cores (about 4-5
minutes a run; 2026-12-07)::

    python bench/real_data_weighting.py --output /tmp/rw --base-model MINILM_DIR \
        --samples-per-intent 300 --real-rows 80 --epochs 3 --learning-rate 1e-4 --seeds 1

    k real share  real-like acc  unseen acc    mean
    0       0.0%         88.52%      79.66%  84.09%
    1       3.1%         81.97%      79.66%  80.81%
    4      11.3%         91.80%      81.36%  86.58%
   16      33.7%         90.16%      91.53%  90.84%

(61 real-like and 118 unseen rows, one seed.) The full-scale line above, with three seeds,
is the one to move the default with.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path
from typing import Any


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--output", type=Path, required=True, help="data, runs and results.json")
    p.add_argument("--base-model", help="model folder or Hub id (default: a tiny random BERT "
                   "with the MiniLM tokenizer, as the tests build)")
    p.add_argument("--samples-per-intent", type=int, default=200)
    p.add_argument("--real-rows", type=int, default=80, help="real requests in the stand-in")
    p.add_argument("--repeats", default="0,1,4,16", help="values of k to compare")
    p.add_argument("--seeds", default="1,2", help="training seeds per k")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--cpu", action="store_true", help="train on CPU even with a GPU")
    return p.parse_args(argv)


def half_of(template_id: str) -> str:
    return "A" if hashlib.sha256(template_id.encode()).digest()[0] % 2 == 0 else "B"


def build_data(args: argparse.Namespace) -> tuple[Path, Path, dict[str, Any]]:
    """The training folder (train; validation = B; test = real-like) and requests.jsonl."""
    from datasets import DatasetDict

    from hf_pipeline.data_sources import load_splits
    from hf_pipeline.feedback.requests import request_key
    from hf_pipeline.generate import GenerateConfig, generate
    from hf_pipeline.intents import INTENTS

    out = args.output / "data"
    if not (out / "generated" / "dataset.json").is_file():
        generate(GenerateConfig(output=out / "generated", allow_small=True, seed=7,
                                samples_per_intent=args.samples_per_intent))
    splits = load_splits(out / "generated").dataset
    validation = splits["validation"]
    halves = [half_of(t) for t in validation["template_id"]]
    a_rows = [i for i, h in enumerate(halves) if h == "A"]
    b_rows = [i for i, h in enumerate(halves) if h == "B"]
    chosen = sorted(random.Random(0).sample(a_rows, min(args.real_rows, len(a_rows) // 2)))
    real_keys = {request_key(validation[i]["text"]) for i in chosen}
    rest = [i for i in a_rows if i not in set(chosen)
            and request_key(validation[i]["text"]) not in real_keys]
    DatasetDict({"train": splits["train"], "validation": validation.select(b_rows),
                 "test": validation.select(rest)}).save_to_disk(str(out / "mixed" / "dataset_dict"))
    requests = out / "requests.jsonl"
    requests.write_text("".join(json.dumps({"text": validation[i]["text"], "intent":
                                            INTENTS[validation[i]["label"]], "split": "train"})
                                + "\n" for i in chosen), encoding="utf-8")
    sizes = {"train": len(splits["train"]), "real": len(chosen), "real_like": len(rest),
             "unseen": len(b_rows)}
    return out / "mixed", requests, sizes


def base_model(args: argparse.Namespace) -> str:
    if args.base_model:
        return args.base_model
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from fixtures.tiny_model import build_tiny_classifier

    folder = args.output / "tiny_model"
    if not (folder / "config.json").is_file():
        build_tiny_classifier(folder)
    return str(folder)


def run_one(args: argparse.Namespace, data: Path, requests: Path, base: str, k: int,
            seed: int) -> dict[str, Any]:
    from hf_pipeline.train.config import TrainConfig
    from hf_pipeline.train.loop import train

    out = args.output / "runs" / f"k{k}-seed{seed}"
    metrics_file = out / "eval_metrics.json"
    if not metrics_file.is_file():  # an interrupted bench resumes
        import shutil

        shutil.rmtree(out, ignore_errors=True)
        start = time.perf_counter()
        # dev_set none: the human dev set takes no part in choosing (nor in training).
        train(TrainConfig(data=str(data), output_dir=out, base_model=base, dev_set="none",
                          real_data=str(requests) if k else None, real_data_repeat=max(k, 1),
                          real_data_max_share=0.99, num_epochs=args.epochs, seed=seed,
                          learning_rate=args.learning_rate, batch_size=args.batch_size,
                          cpu=args.cpu, logging_steps=10_000))
        print(f"  k={k} seed={seed}: trained in {time.perf_counter() - start:.0f}s",
              file=sys.stderr, flush=True)
    metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
    return {"k": k, "seed": seed, "real_like": metrics["test"]["accuracy"],
            "unseen": metrics["validation"]["accuracy"],
            "real_like_macro_f1": metrics["test"]["macro_f1"],
            "unseen_macro_f1": metrics["validation"]["macro_f1"]}


def main(argv: list[str] | None = None) -> int:
    from hf_pipeline.io import atomic_write_json

    args = parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    data, requests, sizes = build_data(args)
    base = base_model(args)
    print(f"data: {sizes['train']} template rows; {sizes['real']} real (A), "
          f"{sizes['real_like']} real-like rows of the same templates, {sizes['unseen']} "
          "unseen-template rows (B)", flush=True)
    results = [run_one(args, data, requests, base, k, seed)
               for k in map(int, args.repeats.split(",")) for seed in map(int,
                                                                           args.seeds.split(","))]
    print(f"{'k':>3} {'real share':>10} {'real-like acc':>14} {'unseen acc':>11} {'mean':>7}")
    table = []
    for k in sorted({r["k"] for r in results}):
        runs = [r for r in results if r["k"] == k]
        real_like = sum(r["real_like"] for r in runs) / len(runs)
        unseen = sum(r["unseen"] for r in runs) / len(runs)
        share = k * sizes["real"] / (sizes["train"] + k * sizes["real"])
        table.append({"k": k, "share": share, "real_like": real_like, "unseen": unseen,
                      "runs": runs})
        print(f"{k:>3} {share:>10.1%} {real_like:>14.2%} {unseen:>11.2%} "
              f"{(real_like + unseen) / 2:>7.2%}")
    atomic_write_json(args.output / "results.json", {"args": {k: str(v) for k, v in
                                                              vars(args).items()},
                                                     "sizes": sizes, "table": table})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
