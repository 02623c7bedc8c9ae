"""Training-time typos: fresh per (seed, epoch, row), twins appended with their row's label,
and the consistency term that pulls a twin towards its row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from hf_pipeline.train.noise import TWIN_OF, TypoCollator, consistency_loss

TEXTS = ["who calls parse_config", "draw the call graph of main", "where is Config defined",
         "index status please"]


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


def features(tokenizer: Any) -> list[dict[str, Any]]:
    return [{**tokenizer(t), "labels": i, "text": t, "row": 10 + i} for i, t in enumerate(TEXTS)]


def collator(tokenizer: Any, epoch: list[int], **options: float) -> TypoCollator:
    from transformers import DataCollatorWithPadding

    pad = DataCollatorWithPadding(tokenizer, return_tensors="pt")
    return TypoCollator(pad, tokenizer, max_length=64, seed=1, epoch_of=lambda: epoch[0],
                        **{"typo_prob": 0.0, "typo_twins": 0.0, **options})


def decoded(tokenizer: Any, batch: dict[str, torch.Tensor]) -> list[str]:
    return tokenizer.batch_decode(batch["input_ids"], skip_special_tokens=True)


def clean(tokenizer: Any) -> list[str]:
    """The texts as the (uncased) tokenizer gives them back."""
    return [tokenizer.decode(tokenizer(t)["input_ids"], skip_special_tokens=True) for t in TEXTS]


def test_without_typos_the_batch_is_the_padded_rows(tokenizer: Any) -> None:
    batch = collator(tokenizer, [0])(features(tokenizer))
    assert decoded(tokenizer, batch) == clean(tokenizer) and TWIN_OF not in batch
    assert batch["labels"].tolist() == [0, 1, 2, 3]


def test_every_row_gets_a_typo_the_same_per_epoch_and_another_next_epoch(tokenizer: Any
                                                                         ) -> None:
    epoch = [0]
    collate = collator(tokenizer, epoch, typo_prob=1.0)
    first = decoded(tokenizer, collate(features(tokenizer)))
    assert all(a != b for a, b in zip(first, clean(tokenizer), strict=True))
    assert decoded(tokenizer, collate(features(tokenizer))) == first  # resume replays it
    epoch[0] = 1
    assert decoded(tokenizer, collate(features(tokenizer))) != first


def test_twins_follow_the_rows_with_their_labels(tokenizer: Any) -> None:
    batch = collator(tokenizer, [3], typo_twins=1.0)(features(tokenizer))
    texts = decoded(tokenizer, batch)
    assert texts[:4] == clean(tokenizer)
    assert batch[TWIN_OF].tolist() == [0, 1, 2, 3]
    assert batch["labels"].tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
    assert all(twin != row for twin, row in zip(texts[4:], clean(tokenizer), strict=True))


def test_consistency_is_zero_for_equal_twins_and_trains_only_the_twin() -> None:
    rows = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]])
    assert consistency_loss(torch.cat([rows, rows]), torch.tensor([0, 1])).item() == \
        pytest.approx(0.0, abs=1e-7)
    logits = torch.cat([rows, torch.tensor([[0.0, 2.0, 0.0]])]).requires_grad_()
    loss = consistency_loss(logits, torch.tensor([0]))
    loss.backward()
    assert loss.item() > 0.1
    assert torch.all(logits.grad[:2] == 0) and torch.any(logits.grad[2] != 0)
