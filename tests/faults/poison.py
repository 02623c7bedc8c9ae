"""A training loss that turns non-finite on cue, for the divergence faults: imported by
test_divergence.py, and run by ``accelerate launch`` as the script of its two-process case
(``poison.py --rank R --after N TRAIN_ARGS...``: only process R is poisoned)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any


def poisoned_functional(*, after_calls: int, value: float) -> SimpleNamespace:
    """Stands in for ``torch.nn.functional`` in the training loop: ``cross_entropy`` is real
    for ``after_calls`` batches, then ``value``, still on the graph, so backward and the
    optimizer step run as they do when a run really diverges."""
    import torch.nn.functional as F

    calls = {"n": 0}

    def cross_entropy(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        loss = F.cross_entropy(*args, **kwargs)
        return loss if calls["n"] <= after_calls else loss * 0 + value

    return SimpleNamespace(cross_entropy=cross_entropy)


def main(argv: list[str]) -> int:
    from hf_pipeline.cli import main as cli_main
    from hf_pipeline.train import loop

    rank, after, rest = int(argv[2]), int(argv[4]), argv[5:]  # SCRIPT --rank R --after N ...
    # The launcher's RANK: asking Accelerate here would set its state up before train does.
    poisoned = int(os.environ["RANK"]) == rank
    if poisoned:
        loop.F = poisoned_functional(after_calls=after, value=float("nan"))
    code = cli_main(rest)
    if poisoned:  # the launcher stops the others once one exits: let them say what they saw
        time.sleep(3)
    return code


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout's package
    sys.exit(main(sys.argv))
