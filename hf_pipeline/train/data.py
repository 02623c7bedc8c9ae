"""Training data: load through ``hf_pipeline.data_sources``, tokenize once, batch by length.

With ``real_data``, the ``train`` rows of a reviewed requests dataset join the training split,
repeated (``mix_real_requests``; the weighting is documented in train/config.py).

Tokenization pads nothing: ``DataCollatorWithPadding`` pads each batch to its own longest
row (dynamic padding), and the length-grouped sampler puts rows of similar length in the
same batch, so almost no compute is spent on padding.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch.utils.data import DataLoader, Sampler

from hf_pipeline.data_sources import (
    CALIBRATION_SET_PATH,
    DEV_SET_PATH,
    load_dev_set,
    load_splits,
)
from hf_pipeline.io import sha256_text
from hf_pipeline.train.config import DEV_SET_NONE, DEV_SET_PACKAGED, TrainConfig

if TYPE_CHECKING:
    from accelerate import Accelerator
    from datasets import Dataset
    from transformers import PreTrainedTokenizerBase

log = logging.getLogger(__name__)

MODEL_COLUMNS = ("input_ids", "attention_mask", "token_type_ids", "labels")
# As transformers' LengthGroupedSampler: sort by length inside windows of 50 batches, so
# batches stay random across the epoch yet rows inside one batch have similar lengths.
MEGABATCH_MULT = 50


@dataclass(frozen=True)
class TrainingData:
    """Raw splits (train/validation/test), the human dev set (or None), and provenance."""

    splits: Any  # datasets.DatasetDict
    dev: Dataset | None
    provenance: dict[str, Any]


def load_training_data(cfg: TrainConfig) -> TrainingData:
    """The data ``cfg`` names, validated by ``data_sources`` (clear errors for bad inputs)."""
    loaded = load_splits(cfg.data, revision=cfg.revision)
    if cfg.dev_set == DEV_SET_NONE:
        dev = None
    else:
        dev = load_dev_set(None if cfg.dev_set == DEV_SET_PACKAGED else cfg.dev_set)
    provenance = dict(loaded.provenance)
    if dev is not None:
        provenance["dev_set"] = {"path": cfg.dev_set, "samples": len(dev)}
    splits = loaded.dataset
    if cfg.real_data is not None:
        from datasets import DatasetDict

        from hf_pipeline.feedback.requests import load_requests

        requests = load_requests(cfg.real_data)
        excluded = held_out_texts(cfg, splits, dev)
        train, provenance["real_data"] = mix_real_requests(
            splits["train"], requests, excluded, repeat=cfg.real_data_repeat,
            max_share=cfg.real_data_max_share)
        provenance["real_data"] = {"spec": cfg.real_data, **provenance["real_data"]}
        splits = DatasetDict({**splits, "train": train})
    return TrainingData(splits, dev, provenance)


def held_out_texts(cfg: TrainConfig, splits: Any, dev: Dataset | None) -> dict[str, list[str]]:
    """The texts no real request may share with the training data: the human dev set (the
    packaged one and ``cfg.dev_set``), the human calibration set, validation and test."""
    sets: dict[str, list[str]] = {"dev set": [], "calibration set": []}
    if dev is not None:
        sets["dev set"] += list(dev["text"])
    if cfg.dev_set != DEV_SET_PACKAGED:  # the packaged dev set stays independent regardless
        sets["dev set"] += list(load_dev_set(DEV_SET_PATH)["text"])
    if CALIBRATION_SET_PATH.is_file():
        sets["calibration set"] = list(load_dev_set(CALIBRATION_SET_PATH)["text"])
    for name in ("validation", "test"):
        sets[f"{name} split"] = list(splits[name]["text"])
    return sets


def real_data_repeat(real_rows: int, template_rows: int, *, repeat: int,
                     max_share: float) -> int:
    """``repeat``, lowered (not below 1) so real rows are at most ``max_share`` of all rows."""
    if real_rows == 0:
        return repeat
    most = int(max_share / (1 - max_share) * template_rows // real_rows)
    return max(1, min(repeat, most))


def mix_real_requests(train: Dataset, requests: Any, excluded: dict[str, list[str]], *,
                      repeat: int, max_share: float) -> tuple[Dataset, dict[str, Any]]:
    """``train`` (text and label only) followed by each usable ``train`` row of ``requests``
    (a RequestsSet) ``repeat`` times; and what was used, for the provenance. A request whose
    ``request_key`` is in one of ``excluded``'s sets is dropped with a warning."""
    from datasets import Dataset, Features, Value, concatenate_datasets

    from hf_pipeline.feedback.requests import request_key

    texts, labels = requests.split("train")
    held = {name: {request_key(t) for t in rows} for name, rows in excluded.items()}
    dropped = {name: 0 for name in held}
    kept: list[tuple[str, int]] = []
    for text, label in zip(texts, labels, strict=True):
        hit = next((name for name, keys in held.items() if request_key(text) in keys), None)
        if hit is None:
            kept.append((text, label))
            continue
        dropped[hit] += 1
        log.warning("--real-data: dropped the request %r: its text is in the %s, which must "
                    "stay out of training (review the requests dataset again).", text[:80], hit)
    if not texts:
        log.warning("--real-data: %s has no 'train' rows; training on the templates only.",
                    requests.provenance.get("source"))
    k = real_data_repeat(len(kept), len(train), repeat=repeat, max_share=max_share)
    if k < repeat:
        log.warning("--real-data: %d real rows x %d would exceed %.0f%% of the training rows; "
                    "each is repeated %d times instead.", len(kept), repeat, 100 * max_share, k)
    base = train.select_columns(["text", "label"])
    features = Features({"text": Value("string"), "label": base.features["label"]})
    rows = [row for row in kept for _ in range(k)]
    real = Dataset.from_dict({"text": [t for t, _ in rows], "label": [lab for _, lab in rows]},
                             features=features)
    mixed = concatenate_datasets([base, real]) if len(real) else base
    info = {**dict(requests.provenance), "train_rows": len(texts),
            "dropped": {name: n for name, n in dropped.items() if n},
            "rows_used": len(kept), "repeat": k, "repeat_requested": repeat,
            "training_rows": len(rows), "template_rows": len(train),
            "share": round(len(rows) / max(len(mixed), 1), 4)}
    log.info("--real-data: %d of %d real train rows used, each %d times: %d of %d training "
             "rows (%.1f%%)", len(kept), len(texts), k, len(rows), len(mixed),
             100 * info["share"])
    return mixed, info


def content_sha256(named: dict[str, Dataset]) -> str:
    """One hash of every split's texts and labels: what a resumed run must train on again."""
    import hashlib

    h = hashlib.sha256()
    for name in sorted(named):
        h.update(f"\x1c{name}\x1d".encode())
        h.update("\x1e".join(list(named[name]["text"])).encode("utf-8", "surrogatepass"))
        h.update(("\x1d" + ",".join(map(str, named[name]["label"]))).encode())
    return h.hexdigest()


def _cache_key(dataset: Dataset, tokenizer: PreTrainedTokenizerBase, max_length: int) -> str:
    """Content hash: the same texts, labels, tokenizer and limit reuse the same cache file."""
    texts = "\x1e".join(list(dataset["text"]))
    labels = ",".join(map(str, dataset["label"]))
    ident = f"{type(tokenizer).__name__}|{len(tokenizer)}|{tokenizer.name_or_path}|{max_length}"
    return sha256_text(f"{ident}\x1d{texts}\x1d{labels}")[:16]


def tokenize(dataset: Dataset, tokenizer: PreTrainedTokenizerBase, *, max_length: int,
             cache_dir: Path | None = None) -> Dataset:
    """Token ids and ``labels`` only, unpadded; cached under ``cache_dir`` when given."""

    def encode(batch: dict[str, Any]) -> dict[str, Any]:
        # datasets hands out lazy column objects; the fast tokenizer wants a real list.
        enc = tokenizer(list(batch["text"]), truncation=True, max_length=max_length)
        enc["labels"] = list(batch["label"])
        return dict(enc)

    # A content key instead of datasets' default fingerprint, which pickles the tokenizer
    # inside ``encode`` (over a second for MiniLM's).
    key = _cache_key(dataset, tokenizer, max_length)
    cache_file = None
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        cache_file = str(cache_dir / f"tok-{key}.arrow")
    return dataset.map(encode, batched=True, remove_columns=dataset.column_names,
                       cache_file_name=cache_file, new_fingerprint=key, desc="Tokenizing")


def tokenize_all(accelerator: Accelerator, named: dict[str, Dataset],
                 tokenizer: PreTrainedTokenizerBase, *, max_length: int,
                 cache_dir: Path) -> dict[str, Dataset]:
    """Tokenize each dataset; the main process writes the cache, the others then read it."""
    with accelerator.main_process_first():
        return {name: tokenize(ds, tokenizer, max_length=max_length, cache_dir=cache_dir)
                for name, ds in named.items()}


def lengths_of(dataset: Dataset) -> list[int]:
    return [len(ids) for ids in dataset["input_ids"]]


class LengthGroupedBatchSampler(Sampler[list[int]]):
    """Random batches of rows of similar length; the order depends only on (seed, epoch).

    Being a pure function of (seed, epoch) is what lets ``--resume`` replay an epoch exactly.
    """

    def __init__(self, lengths: Sequence[int], *, batch_size: int, seed: int,
                 group_by_length: bool = True) -> None:
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.drop_last = False
        self.seed = seed
        self.group_by_length = group_by_length
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)

    def batches(self) -> list[list[int]]:
        gen = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(self.lengths), generator=gen).tolist()
        if self.group_by_length:
            window = self.batch_size * MEGABATCH_MULT
            order = [i for start in range(0, len(order), window)
                     for i in sorted(order[start:start + window], key=self.lengths.__getitem__,
                                     reverse=True)]
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        # Shuffle whole batches so long and short batches alternate over the epoch, keeping
        # the one short (last) batch last so every other batch stays full.
        full, tail = (batches[:-1], batches[-1:]) if len(batches[-1]) < self.batch_size \
            else (batches, [])
        perm = torch.randperm(len(full), generator=gen).tolist()
        return [full[i] for i in perm] + tail

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches())


class LengthSortedBatchSampler(Sampler[list[int]]):
    """Evaluation batches in length order: the least padding; order does not affect metrics."""

    def __init__(self, lengths: Sequence[int], *, batch_size: int) -> None:
        order = sorted(range(len(lengths)), key=lengths.__getitem__)
        self.batch_size = batch_size
        self.drop_last = False
        self._batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]

    def __len__(self) -> int:
        return len(self._batches)

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._batches)


def collator(tokenizer: PreTrainedTokenizerBase, *, pad_to_multiple_of: int | None) -> Any:
    from transformers import DataCollatorWithPadding

    return DataCollatorWithPadding(tokenizer, pad_to_multiple_of=pad_to_multiple_of,
                                   return_tensors="pt")


def _model_columns(dataset: Dataset, extra: Sequence[str] = ()) -> Dataset:
    keep = (*MODEL_COLUMNS, *extra)
    return dataset.select_columns([c for c in keep if c in dataset.column_names])


def with_texts(tokenized: Dataset, raw: Dataset) -> Dataset:
    """The tokenized rows plus their text and row number, for the typo collator."""
    from hf_pipeline.train.noise import ROW, TEXT

    return tokenized.add_column(TEXT, list(raw["text"])).add_column(ROW, list(range(len(raw))))


def _own_generator() -> torch.Generator:
    """Each new DataLoader iterator draws a seed from its generator, by default the global
    one, which dropout also uses: the extra draw of a resumed run's skipping loader would
    shift every dropout mask after a resume. Batch order comes from the samplers."""
    return torch.Generator().manual_seed(0)


def train_dataloader(dataset: Dataset, collate: Any, *, batch_size: int, seed: int,
                     group_by_length: bool, typos: dict[str, Any] | None = None) -> DataLoader:
    """Training batches; with ``typos`` (TypoCollator's options) rows also carry their text
    and row number, and the collator gives them fresh typos each epoch."""
    from hf_pipeline.train.noise import ROW, TEXT, TypoCollator

    sampler = LengthGroupedBatchSampler(lengths_of(dataset), batch_size=batch_size, seed=seed,
                                        group_by_length=group_by_length)
    extra: tuple[str, ...] = ()
    if typos:
        collate = TypoCollator(collate, seed=seed, epoch_of=lambda: sampler.epoch, **typos)
        extra = (TEXT, ROW)
    return DataLoader(_model_columns(dataset, extra), batch_sampler=sampler, collate_fn=collate,
                      generator=_own_generator())


def eval_dataloader(dataset: Dataset, collate: Any, *, batch_size: int) -> DataLoader:
    sampler = LengthSortedBatchSampler(lengths_of(dataset), batch_size=batch_size)
    return DataLoader(_model_columns(dataset), batch_sampler=sampler, collate_fn=collate,
                      generator=_own_generator())
