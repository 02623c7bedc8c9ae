"""Turn templates and slot values into balanced, deduplicated samples per split.

Option phrases (options.py) are added to a share of samples before augmentation; their
phrasings are split like template lines. A text whose key is in ``exclude`` (the human dev
set) is never emitted: it is dropped and counted.

Held-out design: each intent's template lines are split (stratified by style group, by a
stable hash, independent of the seed) into train / validation / test groups, and open slot
vocabularies are split into train / held-out values; validation and test draw only held-out
templates and values. No text (compared as the uncased tokenizer sees it) is in two splits.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from hf_pipeline.contract import SPLITS
from hf_pipeline.data_sources import dedup_key
from hf_pipeline.errors import PipelineError
from hf_pipeline.generate.augment import AUGMENTATIONS
from hf_pipeline.generate.config import GenerateConfig
from hf_pipeline.generate.options import KIND_SLOT, OptionPhrases, add_option
from hf_pipeline.generate.slots import Vocabulary, make_filler, stable_rank
from hf_pipeline.generate.templates import Template, tidy
from hf_pipeline.intents import AMBIGUOUS, INTENTS

# Give up on an (intent, split) after this many candidates per requested sample.
MAX_ATTEMPTS_PER_SAMPLE = 40


@dataclass(frozen=True)
class Sample:
    id: str
    text: str
    intent: str
    source: str
    split: str
    template_id: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


class NotEnoughVarietyError(PipelineError, ValueError):
    """The templates cannot produce the requested number of distinct texts."""


def partition_templates(templates: Sequence[Template], fraction: float
                        ) -> dict[str, list[Template]]:
    """Split one intent's templates into train / validation / test, stratified by group:
    each held-out split takes ``fraction`` of every group's lines, rounded (largest remainder,
    so the totals are exact), and every group keeps at least one line in training (with the
    default 0.15, at least 60% of its lines). An equal number per group, as before, held out
    whole small groups: six of six "search for X's definition" lines and seven of seven
    "chart our revenue" lines never reached training."""
    by_group: dict[str, list[Template]] = defaultdict(list)
    for t in templates:
        by_group[t.group].append(t)
    for group in by_group.values():
        group.sort(key=lambda t: stable_rank(t.intent, t.text))
    total = len(templates)
    k = max(2, round(total * fraction))
    if total < 3 * k:
        raise NotEnoughVarietyError(
            f"intent {templates[0].intent} has {total} templates; at least {3 * k} are "
            "needed to hold some out for validation and test. Fix: add templates.")
    take = _held_out_per_group({g: len(lines) for g, lines in by_group.items()}, k)
    if sum(take.values()) < k:
        raise NotEnoughVarietyError(
            f"intent {templates[0].intent}: its groups are too small to hold out {k} "
            "templates for each of validation and test and keep one of every group in "
            "training. Fix: add templates to its groups.")
    out: dict[str, list[Template]] = {"test": [], "validation": [], "train": []}
    for g in sorted(by_group):
        lines, n = by_group[g], take[g]
        out["test"] += lines[:n]
        out["validation"] += lines[n:2 * n]
        out["train"] += lines[2 * n:]
    return out


def _held_out_per_group(sizes: dict[str, int], k: int) -> dict[str, int]:
    """How many lines each group gives to each held-out split: its share of ``k``, rounded
    by largest remainder (ties by name), never more than rounded up, and never so many that
    the group has no line left for training."""
    total = sum(sizes.values())
    share = {g: n * k / total for g, n in sizes.items()}
    cap = {g: min(math.ceil(share[g]), (n - 1) // 2) for g, n in sizes.items()}
    take = {g: min(int(share[g]), cap[g]) for g in sizes}
    while sum(take.values()) < k:
        open_groups = [g for g in sizes if take[g] < cap[g]]
        if not open_groups:
            break
        take[min(open_groups, key=lambda g: (take[g] - share[g], g))] += 1
    return take


OPTION_SOURCE = "+option"


def generate_samples(cfg: GenerateConfig, templates: dict[str, list[Template]],
                     vocabularies: dict[str, Vocabulary], options: OptionPhrases | None = None,
                     *, exclude: frozenset[str] = frozenset(),
                     dropped: list[str] | None = None) -> list[Sample]:
    """All samples, test then validation then train, so held-out splits are never starved.

    ``exclude``: dedup keys that must not be generated (the dev set); each one hit is
    appended (its generated text) to ``dropped`` once."""
    counts = cfg.split_counts()
    partitions = {i: partition_templates(templates[i], cfg.heldout_template_fraction)
                  for i in INTENTS}
    fillers = {"train": make_filler(vocabularies["train"]),
               "heldout": make_filler(vocabularies["heldout"])}
    augmentations = [AUGMENTATIONS[name] for name in cfg.augmentations]
    seen: set[str] = set()
    samples: list[Sample] = []
    drops = dropped if dropped is not None else []
    for split in ("test", "validation", "train"):
        fill = fillers["train" if split == "train" else "heldout"]
        split_samples: list[Sample] = []
        for intent in INTENTS:
            rng = random.Random(stable_rank(cfg.seed, intent, split))
            adder = _OptionAdder(options[split], cfg.option_ratio, fill) \
                if options is not None and cfg.option_ratio > 0 else None
            split_samples += _draw(partitions[intent][split], counts[split], split, rng, fill,
                                   cfg.augment_ratio, augmentations, seen, adder, exclude, drops)
        random.Random(stable_rank(cfg.seed, "order", split)).shuffle(split_samples)
        samples += [Sample(f"{split}-{n:06d}", s.text, s.intent, s.source, split, s.template_id)
                    for n, s in enumerate(split_samples, start=1)]
    order = {name: i for i, name in enumerate(SPLITS)}
    return sorted(samples, key=lambda s: order[s.split])


@dataclass(frozen=True)
class _OptionAdder:
    phrases: dict
    ratio: float
    fill: object

    def __call__(self, template: Template, text: str, rng: random.Random) -> tuple[str, str]:
        """(text, kind added or "")."""
        if template.intent == AMBIGUOUS or not template.options:
            return text, ""
        kinds = [k for k in template.options if KIND_SLOT[k] not in template.slots]
        if not kinds or rng.random() >= self.ratio:
            return text, ""
        return add_option(text, kinds, self.phrases, rng, self.fill)


def _draw(pool: Sequence[Template], count: int, split: str, rng: random.Random, fill,
          ratio: float, augmentations: Sequence, seen: set[str], add_option=None,
          exclude: frozenset[str] = frozenset(), dropped: list[str] | None = None
          ) -> list[Sample]:
    """``count`` unique samples, cycling through ``pool`` so every template is used evenly."""
    weights = [a.weight for a in augmentations]
    out: list[Sample] = []
    order: list[Template] = []
    attempts = 0
    while len(out) < count:
        attempts += 1
        if attempts > count * MAX_ATTEMPTS_PER_SAMPLE:
            raise NotEnoughVarietyError(
                f"intent {pool[0].intent}, split {split}: only {len(out)} distinct texts out of "
                f"{count} requested from {len(pool)} templates. Fix: add templates or slot "
                "values, raise --augment-ratio, or lower --samples-per-intent.")
        if not order:
            order = list(pool)
            rng.shuffle(order)
        template = order.pop()
        text, source = template.expand(rng, fill), "template"
        kind = ""
        if add_option is not None:
            text, kind = add_option(template, text, rng)
        if augmentations and rng.random() < ratio:
            aug = rng.choices(augmentations, weights=weights)[0]
            changed = tidy(aug.apply(text, rng))
            if changed and changed != text:
                text, source = changed, aug.name
        key = dedup_key(text)
        if not key or key in seen:
            continue
        seen.add(key)
        if key in exclude:
            if dropped is not None:
                dropped.append(text)
            continue
        if kind:
            source += OPTION_SOURCE
        out.append(Sample("", text, template.intent, source, split, template.template_id))
    return out
