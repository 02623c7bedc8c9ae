from __future__ import annotations

import math
import random
from collections import Counter
from pathlib import Path

import pytest

from hf_pipeline.errors import InvalidValueError
from hf_pipeline.generate import GenerateConfig, GeneratedDataset, build_dataset, generate
from hf_pipeline.generate.augment import AUGMENTATIONS, DROPPABLE, word_drop
from hf_pipeline.generate.outputs import verification_sample
from hf_pipeline.generate.sampling import OPTION_SOURCE, dedup_key, partition_templates
from hf_pipeline.generate.slots import OPEN_LISTS, SLOT_NAMES, load_vocabularies
from hf_pipeline.generate.stats import acceptance_problems
from hf_pipeline.generate.templates import load_templates
from hf_pipeline.intents import INTENTS


def test_default_set_is_balanced_split_and_accepted(full_dataset: GeneratedDataset) -> None:
    stats = full_dataset.stats
    assert stats["per_intent"] == dict.fromkeys(INTENTS, 1000)
    assert stats["per_split"]["train"] == dict.fromkeys(INTENTS, 800)
    assert stats["per_split"]["validation"] == stats["per_split"]["test"] == \
        dict.fromkeys(INTENTS, 100)
    assert acceptance_problems(stats) == []
    assert stats["per_group"]["border"] > 0 and stats["per_intent"]["Ambiguous"] == 1000


def test_no_text_in_two_splits_even_up_to_case(full_dataset: GeneratedDataset) -> None:
    keys = [dedup_key(s.text) for s in full_dataset.samples]
    assert len(keys) == len(set(keys)) == 8000


def test_test_and_validation_templates_are_held_out_of_training(
        full_dataset: GeneratedDataset) -> None:
    by_split: dict[str, set[str]] = {}
    for s in full_dataset.samples:
        by_split.setdefault(s.split, set()).add(s.template_id)
    assert not by_split["test"] & by_split["train"]
    assert not by_split["validation"] & by_split["train"]
    assert not by_split["validation"] & by_split["test"]


@pytest.mark.parametrize("fraction", [0.15, 0.3])
def test_every_template_group_keeps_lines_in_training(fraction: float) -> None:
    """Held out in proportion to each group's size: an equal number per group held out the
    whole of the small groups (issue 23), so their requests were never trained."""
    templates = load_templates(known_slots=SLOT_NAMES)
    for intent, lines in templates.items():
        parts = partition_templates(lines, fraction)
        k = max(2, round(len(lines) * fraction))
        assert len(parts["test"]) == len(parts["validation"]) == k, intent
        sizes = Counter(t.group for t in lines)
        for split in ("test", "validation"):
            held = Counter(t.group for t in parts[split])
            assert all(held[g] <= math.ceil(n * k / len(lines)) for g, n in sizes.items())
        trained = Counter(t.group for t in parts["train"])
        assert all(trained[g] >= 1 for g in sizes), (intent, trained)
        if fraction == 0.15:  # the default: most of every group is trained
            assert all(trained[g] >= 0.6 * n for g, n in sizes.items()), (intent, trained)


def test_open_slot_values_are_partitioned() -> None:
    v = load_vocabularies()
    for name in OPEN_LISTS:
        train, heldout = set(v["train"].lists[name]), set(v["heldout"].lists[name])
        assert heldout and not train & heldout, name
    assert v["train"].lists["lang"] == v["heldout"].lists["lang"]


def test_same_seed_same_samples_other_seed_other_samples() -> None:
    a = build_dataset(GenerateConfig(seed=7, samples_per_intent=200, allow_small=True))
    b = build_dataset(GenerateConfig(seed=7, samples_per_intent=200, allow_small=True))
    c = build_dataset(GenerateConfig(seed=8, samples_per_intent=200, allow_small=True))
    assert a.samples == b.samples and a.metadata == b.metadata
    assert [s.text for s in a.samples] != [s.text for s in c.samples]


def test_written_files_are_byte_identical_across_runs(tmp_path: Path) -> None:
    def run(out: Path) -> dict[str, bytes]:
        cfg = GenerateConfig(output=out, seed=3, samples_per_intent=100, allow_small=True,
                             verification_output=out / "verification.json")
        generate(cfg)
        return {str(p.relative_to(out)): p.read_bytes()
                for p in sorted(out.rglob("*")) if p.is_file()}

    out = tmp_path / "data"
    first = run(out)
    assert "dataset_dict/train/data-00000-of-00001.arrow" in first
    assert run(out) == first


def test_sources_are_template_or_a_listed_augmentation(full_dataset: GeneratedDataset) -> None:
    sources = Counter(s.source.removesuffix(OPTION_SOURCE) for s in full_dataset.samples)
    assert set(sources) <= {"template", *AUGMENTATIONS}
    augmented = sum(n for k, n in sources.items() if k != "template") / 8000
    assert 0.2 < augmented < 0.4  # default ratio 0.3, minus no-op draws
    assert sum(n for k, n in sources.items() if k.startswith("typo_")) > 800


def test_augment_ratio_zero_gives_only_template_text() -> None:
    d = build_dataset(GenerateConfig(samples_per_intent=50, allow_small=True, augment_ratio=0))
    assert {s.source.removesuffix(OPTION_SOURCE) for s in d.samples} == {"template"}


@pytest.mark.parametrize("name", ["typo_swap", "typo_drop", "typo_keyboard", "typo_double"])
def test_typos_change_one_word_by_one_edit(name: str) -> None:
    rng = random.Random(0)
    text = "show every caller of parse_config please"
    for _ in range(50):
        out = AUGMENTATIONS[name].apply(text, rng)
        changed = [(a, b) for a, b in zip(text.split(), out.split(), strict=True) if a != b]
        assert len(changed) <= 1
        if changed:
            a, b = changed[0]
            assert abs(len(a) - len(b)) <= 1


def test_word_drop_only_drops_filler_words() -> None:
    rng = random.Random(0)
    text = "show me all the callers of login"
    for _ in range(30):
        out = word_drop(text, rng).split()
        dropped = Counter(text.split()) - Counter(out)
        assert len(dropped) == 1 and next(iter(dropped)) in DROPPABLE


def test_verification_sample_is_stratified_ten_percent(full_dataset: GeneratedDataset) -> None:
    chosen = verification_sample(full_dataset.samples, fraction=0.1, seed=1)
    per = Counter((s.intent, s.split) for s in chosen)
    assert len(chosen) == 800
    assert all(per[(i, "train")] == 80 and per[(i, "test")] == 10 for i in INTENTS)


@pytest.mark.parametrize(("overrides", "field"), [
    ({"samples_per_intent": 999}, "samples_per_intent"),
    ({"augment_ratio": 1.5}, "augment_ratio"),
    ({"augmentations": ("typo_swap", "typo_teleport")}, "augmentations"),
    ({"test_fraction": 0.6}, "test_fraction"),
    ({"option_ratio": -0.1}, "option_ratio"),
    ({"option_ratio": 1.2}, "option_ratio"),
])
def test_bad_config_values_name_the_field(overrides: dict, field: str) -> None:
    with pytest.raises(InvalidValueError) as e:
        GenerateConfig(**overrides)
    assert e.value.field == field


def test_small_sets_need_explicit_permission() -> None:
    assert GenerateConfig(samples_per_intent=100, allow_small=True).split_counts() == \
        {"train": 80, "validation": 10, "test": 10}


def test_acceptance_flags_imbalance_and_missing_negatives(full_dataset: GeneratedDataset) -> None:
    stats = {**full_dataset.stats, "per_split": {
        **full_dataset.stats["per_split"],
        "train": {**full_dataset.stats["per_split"]["train"], "Ambiguous": 0}}}
    problems = acceptance_problems(stats)
    assert any("not balanced" in p for p in problems)
    assert any("no Ambiguous" in p for p in problems)
