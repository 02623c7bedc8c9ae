"""transformers' pipeline on a published model repo against the INT8 runtime, on the dev set.

The repo's ``model.safetensors`` are the fp32 weights the INT8 graph was exported from, so the
two differ only where quantization changes the top intent. This counts those rows and shows
each with both confidences (fp32 without temperature, INT8 with the folder's T), one query at a
time as sqry runs it.

    python bench/transformers_vs_int8.py local-user/sqry-nl-intent-classifier@v0.1.0 \\
        --local-hub out/hub
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from pathlib import Path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="model repo as namespace/name@revision")
    p.add_argument("--local-hub", type=Path, help="data folder of the local Hub to start "
                   "(default: the Hub of HF_ENDPOINT)")
    return p.parse_args(argv)


def compare(repo_id: str, revision: str) -> int:
    from transformers import pipeline

    from hf_pipeline.data_sources import load_dev_set
    from hf_pipeline.runtime import IntentClassifier

    dev = load_dev_set()
    texts = list(dev["text"])
    fp32 = pipeline("text-classification", model=repo_id, revision=revision, device="cpu")
    int8 = IntentClassifier.from_hub(repo_id, revision=revision)
    ours = int8.predict(texts)
    theirs = [fp32(text)[0] for text in texts]  # one query at a time, as sqry
    differ = [(t, a, b) for t, a, b in zip(texts, theirs, ours, strict=True)
              if a["label"] != b.intent]
    print(f"{repo_id}@{revision} (commit {int8.commit[:12]}), dev set: {len(texts)} queries")
    print(f"top intent differs between transformers (fp32) and the INT8 runtime on "
          f"{len(differ)} of {len(texts)} ({len(differ) / len(texts):.2%})")
    for text, a, b in differ:
        print(f"  {text!r}: fp32 {a['label']} {a['score']:.3f}, INT8 {b.intent} "
              f"{b.confidence:.3f}")
    return len(differ)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    repo_id, _, revision = args.model.partition("@")
    with contextlib.ExitStack() as stack:
        if args.local_hub:
            from hf_pipeline.hub.process import local_hub

            home = stack.enter_context(tempfile.TemporaryDirectory())
            stack.enter_context(local_hub(args.local_hub, hf_home=home,
                                          log_file=Path(home) / "hub.log"))
        compare(repo_id, revision or "main")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
