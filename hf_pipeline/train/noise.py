"""Typos at training time: a fresh typo every epoch, and typo'd twins with a consistency term.

The generator's typo augmentation is static: a sample typo'd in ``dataset.json`` carries the
same typo in every epoch, and the other samples are always clean. Here the training batch
itself gets the typos, drawn again each epoch from the generator's own typo list (one typo in
any word, or in the word that carries the intent, half each; in a text with a word that
carries the call direction, half of the intent share goes to such a word, so "collers of X"
and "waht does X call" are trained too):

- ``typo_prob``: each row is replaced by a typo'd copy of its text with this probability, so
  over eight epochs a sample is seen with several different typos and clean most of the time.
- ``typo_twins``: this share of the rows also gets a typo'd twin, appended to the same batch
  with the same label; ``consistency_weight`` adds KL(row || twin) with the row's side held
  fixed (the row is clean unless ``typo_prob`` changed it too), which pulls a typo'd
  request's prediction towards the clean one's.

Every draw is a function of (seed, epoch, row), so ``--resume`` replays an epoch exactly.
The cost: re-tokenizing the changed rows (fast tokenizer, microseconds each) and, for twins,
``typo_twins`` more rows per batch.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from hf_pipeline.generate.augment import direction_word_spans, one_typo

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

TEXT, ROW = "text", "row"
TWIN_OF = "twin_of"


NOISE_TARGETS = ("any", "intent")
DIRECTION_SHARE = 0.5  # of the "intent" draws, in a text with a direction word


def typo_target(text: str, rng: random.Random) -> str:
    """Where this row's typo goes: any word or an intent word, half each; in a callers /
    callees request (a text with a word of DIRECTION_WORDS) half of the intent draws go to a
    direction word instead. Texts without one keep the any / intent mix exactly."""
    target = rng.choice(NOISE_TARGETS)
    if target == "intent" and direction_word_spans(text) and rng.random() < DIRECTION_SHARE:
        return "direction"
    return target


class TypoCollator:
    """Wraps a padding collator: rows arrive tokenized, with their text and row number."""

    def __init__(self, pad: Any, tokenizer: PreTrainedTokenizerBase, *, max_length: int,
                 seed: int, typo_prob: float, typo_twins: float, epoch_of: Any) -> None:
        self.pad = pad
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.seed = seed
        self.typo_prob = typo_prob
        self.typo_twins = typo_twins
        self.epoch_of = epoch_of  # () -> the current epoch (the sampler's)

    def _typo(self, text: str, rng: random.Random) -> str:
        return one_typo(text, rng, typo_target(text, rng))

    def _row(self, text: str, label: int) -> dict[str, Any]:
        enc = self.tokenizer(text, truncation=True, max_length=self.max_length)
        return {**enc, "labels": label}

    def __call__(self, features: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        epoch = self.epoch_of()
        rows, twins, twin_of = [], [], []
        for i, f in enumerate(features):
            row = {k: v for k, v in f.items() if k not in (TEXT, ROW)}
            text = f[TEXT]
            rng = random.Random(f"{self.seed}:{epoch}:{f[ROW]}")
            if rng.random() < self.typo_prob:
                typo = self._typo(text, rng)
                if typo != text:
                    row, text = self._row(typo, f["labels"]), typo
            rows.append(row)
            if self.typo_twins and rng.random() < self.typo_twins:
                twin = self._typo(text, rng)
                if twin != text:
                    twins.append(self._row(twin, f["labels"]))
                    twin_of.append(i)
        batch = self.pad(rows + twins)
        if twin_of:
            batch[TWIN_OF] = torch.tensor(twin_of, dtype=torch.long)
        return batch


def consistency_loss(logits: torch.Tensor, twin_of: torch.Tensor) -> torch.Tensor:
    """KL(p_row || p_twin), batch mean, the row's side detached; twins are the last rows."""
    import torch.nn.functional as F

    n = twin_of.numel()
    clean = F.softmax(logits[twin_of].detach(), dim=-1)
    return F.kl_div(F.log_softmax(logits[-n:], dim=-1), clean, reduction="batchmean")
