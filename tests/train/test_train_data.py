"""Batching: length-grouped, reproducible per (seed, epoch), every row once per epoch."""

from __future__ import annotations

import random
from pathlib import Path

from hf_pipeline.train.data import LengthGroupedBatchSampler, LengthSortedBatchSampler, tokenize

_rng = random.Random(0)
LENGTHS = [_rng.randint(3, 60) for _ in range(1000)]


def padded_tokens(batches: list[list[int]]) -> int:
    return sum(len(b) * max(LENGTHS[i] for i in b) for b in batches)


def test_every_row_once_per_epoch_and_only_the_last_batch_short() -> None:
    sampler = LengthGroupedBatchSampler(LENGTHS, batch_size=32, seed=1)
    batches = sampler.batches()
    assert sorted(i for b in batches for i in b) == list(range(1000))
    assert len(batches) == len(sampler) == 32
    assert [len(b) for b in batches[:-1]] == [32] * 31 and len(batches[-1]) == 1000 - 31 * 32


def test_order_depends_only_on_seed_and_epoch() -> None:
    a = LengthGroupedBatchSampler(LENGTHS, batch_size=32, seed=1)
    b = LengthGroupedBatchSampler(LENGTHS, batch_size=32, seed=1)
    assert a.batches() == b.batches()
    b.set_epoch(1)
    assert a.batches() != b.batches()
    a.set_epoch(1)
    assert a.batches() == b.batches()


def test_grouping_by_length_cuts_padding() -> None:
    grouped = LengthGroupedBatchSampler(LENGTHS, batch_size=32, seed=1).batches()
    plain = LengthGroupedBatchSampler(LENGTHS, batch_size=32, seed=1,
                                      group_by_length=False).batches()
    assert padded_tokens(grouped) < 0.75 * padded_tokens(plain)


def test_eval_batches_cover_every_row_in_length_order() -> None:
    batches = list(LengthSortedBatchSampler(LENGTHS, batch_size=64))
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(1000))
    assert [LENGTHS[i] for i in flat] == sorted(LENGTHS)


def test_tokenize_keeps_ids_and_labels_only_unpadded_and_truncated(
        tiny_model_dir: Path, tmp_path: Path) -> None:
    from datasets import Dataset
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    ds = Dataset.from_dict({"text": ["who calls x", "a " * 300], "label": [3, 7],
                            "id": ["a", "b"]})
    out = tokenize(ds, tok, max_length=16, cache_dir=tmp_path)
    assert set(out.column_names) == {"input_ids", "attention_mask", "token_type_ids", "labels"}
    assert out["labels"] == [3, 7]
    assert len(out[0]["input_ids"]) < 16 and len(out[1]["input_ids"]) == 16
    again = tokenize(ds, tok, max_length=16, cache_dir=tmp_path)  # same content: cache hit
    assert again.cache_files == out.cache_files and len(list(tmp_path.iterdir())) == 1
