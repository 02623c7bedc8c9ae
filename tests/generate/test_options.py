"""Option phrases (depth, limit, language, path, output, format) as a construction."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from hf_pipeline.errors import DataFileError
from hf_pipeline.generate import GenerateConfig, GeneratedDataset, build_dataset
from hf_pipeline.generate.options import KIND_SLOT, add_option, load_options
from hf_pipeline.generate.sampling import OPTION_SOURCE, dedup_key
from hf_pipeline.generate.slots import SLOT_NAMES, SLOTS_FILE, load_vocabularies, make_filler
from hf_pipeline.generate.stats import format_stats
from hf_pipeline.generate.templates import OPTION_KINDS, load_template_file, load_templates
from hf_pipeline.intents import AMBIGUOUS, INTENTS


def _with_option(d: GeneratedDataset, intent: str) -> float:
    mine = [s for s in d.samples if s.intent == intent]
    return sum(s.source.endswith(OPTION_SOURCE) for s in mine) / len(mine)


def test_options_are_added_at_about_the_configured_rate_never_to_ambiguous(
        full_dataset: GeneratedDataset) -> None:
    assert _with_option(full_dataset, AMBIGUOUS) == 0
    for intent in INTENTS:
        if intent != AMBIGUOUS:
            # 0.25 of the draws; dedup favours the (more varied) option texts a little
            assert 0.18 < _with_option(full_dataset, intent) < 0.45, intent
    assert full_dataset.stats["with_option"][AMBIGUOUS] == 0
    assert full_dataset.metadata["config"]["option_ratio"] == 0.25
    assert full_dataset.metadata["options"]["kinds"][AMBIGUOUS] == []


def test_option_ratio_scales_and_zero_turns_it_off() -> None:
    small = {"samples_per_intent": 200, "allow_small": True, "augment_ratio": 0}
    none = build_dataset(GenerateConfig(**small, option_ratio=0))
    assert not any(s.source.endswith(OPTION_SOURCE) for s in none.samples)
    every = build_dataset(GenerateConfig(**small, option_ratio=1))
    assert _with_option(every, "FindCallers") > 0.9
    assert _with_option(every, AMBIGUOUS) == 0


def test_every_split_gets_options_from_its_own_phrasings(full_dataset: GeneratedDataset) -> None:
    per_split = Counter(s.split for s in full_dataset.samples if s.source.endswith(OPTION_SOURCE))
    assert all(per_split[split] > 0 for split in ("train", "validation", "test"))
    phrases = load_options()
    for kind in OPTION_KINDS:
        train = {p.text for p in phrases["train"][kind]["append"]}
        test = {p.text for p in phrases["test"][kind]["append"]}
        validation = {p.text for p in phrases["validation"][kind]["append"]}
        assert test and validation and not (train & test) and not (train & validation), kind


def test_only_declared_kinds_are_added_and_never_twice_the_same_slot() -> None:
    templates = load_templates(known_slots=SLOT_NAMES)
    assert all(not t.options for t in templates[AMBIGUOUS])
    assert set(templates["IndexStatus"][0].options) == {"output", "lang", "path"}
    assert "format" in templates["Visualize"][0].options
    assert "format" not in templates["FindCallers"][0].options  # "as mermaid" is a picture
    phrases = load_options()["train"]
    fill = make_filler(load_vocabularies()["train"])
    rng = random.Random(0)
    for _ in range(300):
        text, kind = add_option("who calls login", ["depth", "output"], phrases, rng, fill)
        assert kind in {"depth", "output"} and text != "who calls login"
        assert "who calls login" in text
    assert KIND_SLOT["output"] == "format"


def test_options_are_reproducible_by_seed() -> None:
    cfg = {"samples_per_intent": 100, "allow_small": True}
    a = build_dataset(GenerateConfig(**cfg, seed=5))
    b = build_dataset(GenerateConfig(**cfg, seed=5))
    c = build_dataset(GenerateConfig(**cfg, seed=6))
    texts = [s.text for s in a.samples if s.source.endswith(OPTION_SOURCE)]
    assert texts and texts == [s.text for s in b.samples if s.source.endswith(OPTION_SOURCE)]
    assert texts != [s.text for s in c.samples if s.source.endswith(OPTION_SOURCE)]


def test_unknown_option_kind_names_the_file_and_the_value(tmp_path: Path) -> None:
    path = tmp_path / "find_callers.yaml"
    path.write_text("intent: FindCallers\noptions: [depth, colour]\n"
                    "templates:\n  q:\n    - who calls {function}\n", encoding="utf-8")
    with pytest.raises(DataFileError) as e:
        load_template_file(path, known_slots=SLOT_NAMES)
    assert str(path) in str(e.value) and "'colour'" in str(e.value) and f"{path}:2:" in str(e.value)


def test_ambiguous_may_not_declare_options(tmp_path: Path) -> None:
    path = tmp_path / "ambiguous.yaml"
    path.write_text("intent: Ambiguous\noptions: [output]\ntemplates:\n  q:\n    - hello\n",
                    encoding="utf-8")
    with pytest.raises(DataFileError, match="Ambiguous takes no options"):
        load_template_file(path, known_slots=SLOT_NAMES)


def test_bad_option_phrase_section_names_the_file(tmp_path: Path) -> None:
    shipped = SLOTS_FILE.read_text(encoding="utf-8")
    lists = shipped[:shipped.index("\noptions:")]  # the open and closed sections
    path = tmp_path / "slots.yaml"
    path.write_text(shipped.replace("  depth:\n    append:", "  depth:\n    append: [a, b]\n"
                                    "    old_append:", 1), encoding="utf-8")
    with pytest.raises(DataFileError, match="unknown key 'old_append'") as e:
        load_options(path)
    assert str(path) in str(e.value)
    path.write_text(lists + "\noptions:\n  colour:\n    append: [a, b, c]\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="colour"):
        load_options(path)


def test_dev_set_texts_are_dropped_and_counted(tmp_path: Path) -> None:
    cfg = GenerateConfig(samples_per_intent=100, allow_small=True, seed=2)
    first = build_dataset(cfg, dev_set=tmp_path / "absent.jsonl")
    assert first.stats["dev_overlap_dropped"] == 0
    taken = [s for s in first.samples if s.split == "train"][:20]
    dev = tmp_path / "dev.jsonl"
    dev.write_text("".join(json.dumps({"text": f"  {s.text.upper()} ", "intent": s.intent}) + "\n"
                           for s in taken), encoding="utf-8")
    second = build_dataset(cfg, dev_set=dev)
    keys = {dedup_key(s.text) for s in second.samples}
    assert not keys & {dedup_key(s.text) for s in taken}
    assert second.stats["dev_overlap_dropped"] == 20
    assert second.stats["per_intent"] == first.stats["per_intent"]  # still balanced
    assert "dropped as dev-set overlap 20" in format_stats(second.stats)


def test_calibration_set_texts_are_dropped_and_counted_apart(tmp_path: Path) -> None:
    """A template sample equal to a calibration row is dropped like a dev row, and counted
    as calibration overlap; one in both sets counts once, as dev overlap."""
    cfg = GenerateConfig(samples_per_intent=100, allow_small=True, seed=3)
    absent = tmp_path / "absent.jsonl"
    first = build_dataset(cfg, dev_set=absent, calibration_set=absent)
    assert first.stats["calibration_overlap_dropped"] == 0
    taken = [s for s in first.samples if s.split == "validation"][:12]

    def write(path: Path, samples: list) -> Path:
        path.write_text("".join(json.dumps({"text": f"{s.text.title()}  ", "intent": s.intent})
                                + "\n" for s in samples), encoding="utf-8")
        return path

    calibration = write(tmp_path / "calibration.jsonl", taken)
    dev = write(tmp_path / "dev.jsonl", taken[:5])
    only_calibration = build_dataset(cfg, dev_set=absent, calibration_set=calibration)
    keys = {dedup_key(s.text) for s in only_calibration.samples}
    assert not keys & {dedup_key(s.text) for s in taken}
    assert only_calibration.stats["calibration_overlap_dropped"] == 12
    assert only_calibration.stats["dev_overlap_dropped"] == 0
    assert only_calibration.stats["per_intent"] == first.stats["per_intent"]
    assert "as calibration-set overlap 12" in format_stats(only_calibration.stats)
    both = build_dataset(cfg, dev_set=dev, calibration_set=calibration)
    assert (both.stats["dev_overlap_dropped"], both.stats["calibration_overlap_dropped"]) == (5, 7)


def test_shipped_dev_set_overlap_is_recorded(full_dataset: GeneratedDataset) -> None:
    assert isinstance(full_dataset.stats["dev_overlap_dropped"], int)
    assert isinstance(full_dataset.stats["calibration_overlap_dropped"], int)
