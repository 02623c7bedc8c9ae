"""The hand-written dev and calibration sets are well formed: they parse, carry known labels,
have enough rows and no duplicates, and share no text."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from hf_pipeline.data_sources import CALIBRATION_SET_PATH, DEV_SET_PATH, load_dev_set
from hf_pipeline.intents import AMBIGUOUS, INTENTS

DEVSET = DEV_SET_PATH
MIN_PER_INTENT = 25
MIN_TOTAL = 200
MIN_CALIBRATION = 300


def _read(path: Path) -> list[dict[str, str]]:
    parsed = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError as err:
            pytest.fail(f"{path}:{number} is not JSON ({err}): {line!r}")
    return parsed


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return _read(DEVSET)


@pytest.fixture(scope="module")
def calibration() -> list[dict[str, str]]:
    return _read(CALIBRATION_SET_PATH)


def test_every_row_has_text_and_known_intent(rows: list[dict[str, str]]) -> None:
    bad = [
        row
        for row in rows
        if not isinstance(row.get("text"), str)
        or not row["text"].strip()
        or row.get("intent") not in INTENTS
        or not set(row) <= {"text", "intent", "note", "category"}
    ]
    assert bad == []


def test_enough_rows_per_intent_and_in_total(rows: list[dict[str, str]]) -> None:
    counts = Counter(row["intent"] for row in rows)
    short = {intent: counts[intent] for intent in INTENTS if counts[intent] < MIN_PER_INTENT}
    assert short == {}
    assert len(rows) >= MIN_TOTAL


def test_no_duplicate_texts(rows: list[dict[str, str]]) -> None:
    normalized = Counter(" ".join(row["text"].lower().split()) for row in rows)
    assert [text for text, n in normalized.items() if n > 1] == []


CATEGORIES = {"modifier", "direction", "literal", "intent_typo", "terse_visual", "lure",
              # issue 23
              "everyday_target", "search_identifier", "relation_verb", "direction_typo"}


def test_added_rows_name_a_known_category_and_follow_the_original_rows(
        rows: list[dict[str, str]]) -> None:
    """Rows added for issues 14 and 23 carry their category and come after the original 354, so the
    original figures stay comparable (bench/robustness_table.py reports both)."""
    categories = [row.get("category") for row in rows]
    assert set(categories) - {None} <= CATEGORIES
    first_added = categories.index(next(c for c in categories if c is not None))
    assert first_added == 354
    assert all(c is not None for c in categories[first_added:])


def test_direction_typo_rows_say_typo(rows: list[dict[str, str]]) -> None:
    assert [r["text"] for r in rows if r.get("category") == "direction_typo"
            and "typo" not in r.get("note", "")] == []


def test_calibration_set_rows_have_text_and_known_intent(
        calibration: list[dict[str, str]]) -> None:
    bad = [
        row
        for row in calibration
        if not isinstance(row.get("text"), str)
        or not row["text"].strip()
        or row.get("intent") not in INTENTS
        or not set(row) <= {"text", "intent", "note"}
    ]
    assert bad == []
    assert len(load_dev_set(CALIBRATION_SET_PATH)) == len(calibration)  # the loader reads it


def test_calibration_set_is_large_and_covers_every_intent(
        calibration: list[dict[str, str]]) -> None:
    counts = Counter(row["intent"] for row in calibration)
    assert len(calibration) >= MIN_CALIBRATION
    short = {i: counts[i] for i in INTENTS if i != AMBIGUOUS and counts[i] < MIN_PER_INTENT}
    assert short == {}
    assert counts[AMBIGUOUS] >= MIN_PER_INTENT


def test_calibration_set_has_no_duplicates_and_shares_no_text_with_the_dev_set(
        rows: list[dict[str, str]], calibration: list[dict[str, str]]) -> None:
    keys = Counter(_key(row["text"]) for row in calibration)
    assert [text for text, n in keys.items() if n > 1] == []
    assert sorted(set(keys) & {_key(row["text"]) for row in rows}) == []
