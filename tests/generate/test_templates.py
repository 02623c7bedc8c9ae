from __future__ import annotations

import random
from pathlib import Path

import pytest

from hf_pipeline.errors import DataFileError
from hf_pipeline.generate.slots import SLOT_NAMES
from hf_pipeline.generate.templates import (
    Choice,
    Optional_,
    Slot,
    TemplateSyntaxError,
    load_template_file,
    load_templates,
    parse,
    tidy,
)
from hf_pipeline.intents import INTENTS


def test_parse_builds_the_expected_tree() -> None:
    tree = parse("(who|what) calls {function}[ now]", known_slots=SLOT_NAMES)
    assert tree == (Choice((("who",), ("what",))), " calls ", Slot("function"),
                    Optional_((" now",)))


def test_nested_groups_escapes_and_empty_alternatives() -> None:
    tree = parse(r"[all (the|)] \(x\) {kind}", known_slots=SLOT_NAMES)
    assert tree[0] == Optional_(("all ", Choice((("the",), ()))))
    assert tree[1] == " (x) "


@pytest.mark.parametrize(("text", "message"), [
    ("who calls {fnction}", "unknown slot {fnction}"),
    ("(who|what calls x", "never closed"),
    ("who) calls", "unmatched ')'"),
    ("[all the callers", "never closed"),
    ("(only one) option", "has one alternative"),
    ("{function", "never closed"),
])
def test_syntax_errors_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(TemplateSyntaxError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(text, known_slots=SLOT_NAMES)


def test_a_repeated_slot_gets_one_value_and_output_is_tidy() -> None:
    from itertools import count

    from hf_pipeline.generate.templates import Template

    tree = parse("callers of {function} (and|) [really] , then {function} ?",
                 known_slots=SLOT_NAMES)
    t = Template("FindCallers", "q", "x", tree, Path("f.yaml"), 1)
    for seed in range(20):
        counter = count()
        text = t.expand(random.Random(seed), lambda name, rng, c=counter: f"fn{next(c)}")
        assert "  " not in text and " ," not in text and " ?" not in text
        assert text.startswith("callers of fn0") and text.endswith("then fn0?")


def test_tidy_collapses_spaces_before_punctuation() -> None:
    assert tidy("  who  calls   x ?") == "who calls x?"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_slot_error_names_file_line_and_fix(tmp_path: Path) -> None:
    f = _write(tmp_path / "x.yaml", "intent: FindCallers\ntemplates:\n  question:\n"
               "    - who calls {function}\n    - who calls {funtion}\n")
    with pytest.raises(DataFileError) as e:
        load_template_file(f, known_slots=SLOT_NAMES)
    msg = str(e.value)
    assert f"{f}:5:" in msg and "unknown slot {funtion}" in msg and "Fix:" in msg


def test_malformed_yaml_reports_the_line(tmp_path: Path) -> None:
    f = _write(tmp_path / "x.yaml", "intent: FindCallers\ntemplates:\n  question:\n"
               "    - who calls {function}\n   - bad indent: here\n")
    with pytest.raises(DataFileError, match=rf"{tmp_path}/x.yaml:5: not valid YAML"):
        load_template_file(f, known_slots=SLOT_NAMES)


def test_unknown_intent_is_refused_with_the_valid_names(tmp_path: Path) -> None:
    f = _write(tmp_path / "x.yaml", "intent: FindCaller\ntemplates:\n  q: [a]\n")
    with pytest.raises(DataFileError, match=r"intent is 'FindCaller'.*use one of SymbolQuery"):
        load_template_file(f, known_slots=SLOT_NAMES)


def test_duplicates_and_unknown_keys_are_refused(tmp_path: Path) -> None:
    dup = _write(tmp_path / "d.yaml", "intent: Ambiguous\ntemplates:\n  g: [hello, hello]\n")
    with pytest.raises(DataFileError, match=r"duplicate template 'hello' \(first on line 3\)"):
        load_template_file(dup, known_slots=SLOT_NAMES)
    extra = _write(tmp_path / "e.yaml", "intent: Ambiguous\ntemplate: []\n")
    with pytest.raises(DataFileError, match="unknown key 'template'"):
        load_template_file(extra, known_slots=SLOT_NAMES)


def test_shipped_templates_cover_every_intent_with_variety() -> None:
    templates = load_templates(known_slots=SLOT_NAMES)
    assert list(templates) == list(INTENTS)
    for intent, ts in templates.items():
        assert len(ts) >= 80, intent
        groups = {t.group for t in ts}
        assert len(groups) >= 5, (intent, groups)
        assert "border" in groups, intent
    assert len(templates["Ambiguous"]) >= 150


def test_missing_intent_file_is_reported(templates_copy: Path) -> None:
    (templates_copy / "visualize.yaml").unlink()
    with pytest.raises(DataFileError, match="no templates for intent\\(s\\) Visualize"):
        load_templates(templates_copy, known_slots=SLOT_NAMES)
