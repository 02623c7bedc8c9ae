"""Input hygiene: NFKC, zero-width characters removed, white space stripped, a UTF-8 cap."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from hf_pipeline.runtime import (
    DISAMBIGUATE,
    FLAG_EMPTY,
    FLAG_TRUNCATED,
    MAX_INPUT_BYTES,
    IntentClassifier,
    Prediction,
    clean,
)
from hf_pipeline.runtime.hygiene import cap_utf8

# Written out rather than imported, so that dropping one from the module fails here.
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u180e", "\u00ad"]


@pytest.fixture(scope="module")
def classifier(tiny_release_dir: Path) -> IntentClassifier:
    return IntentClassifier.from_dir(tiny_release_dir)


def test_cap_is_the_runtime_s_4096_bytes() -> None:
    assert MAX_INPUT_BYTES == 4096


@pytest.mark.parametrize(("raw", "expected"), [
    ("ｗｈｏ　ｃａｌｌｓ　ｍａｉｎ", "who calls main"),  # full-width letters and space
    ("ﬁnd callers of ﬂush", "find callers of flush"),  # ligatures
    ("graph of x² in ℌtml", "graph of x2 in Html"),  # superscript, letterlike symbol
    ("Ａｕｔｈ：：ｌｏｇｉｎ", "Auth::login"),
])
def test_nfkc(raw: str, expected: str) -> None:
    assert clean(raw).text == expected
    assert clean(raw).truncated is False


@pytest.mark.parametrize("char", ZERO_WIDTH)
def test_zero_width_characters_are_removed(char: str) -> None:
    assert clean(f"who{char}calls log{char}in").text == "whocalls login"
    assert clean(f"{char}who calls main{char}").text == "who calls main"


def test_surrounding_white_space_is_stripped_inner_kept() -> None:
    assert clean("  \t who  calls\tmain \n").text == "who  calls\tmain"


@pytest.mark.parametrize("raw", ["", " ", "\t\n  \r\n", "\u3000", "\u200b", "\u200b \ufeff"])
def test_nothing_left_is_empty(raw: str) -> None:
    result = clean(raw)
    assert result.text == "" and result.empty and not result.truncated


def test_at_the_cap_nothing_is_cut() -> None:
    text = "a" * MAX_INPUT_BYTES
    assert clean(text).text == text and not clean(text).truncated
    result = clean(text + "b")
    assert result.text == text and result.truncated


@pytest.mark.parametrize("char", ["é", "€", "😀"])  # 2, 3 and 4 bytes of UTF-8
@pytest.mark.parametrize("offset", [0, 1, 2, 3])
def test_the_cut_is_on_a_character_boundary(char: str, offset: int) -> None:
    width = len(char.encode("utf-8"))
    text = "a" * offset + char * 3000
    result = clean(text)
    whole = (MAX_INPUT_BYTES - offset) // width  # characters that fit entirely
    assert result.truncated
    assert result.text == "a" * offset + char * whole
    assert MAX_INPUT_BYTES - width < len(result.text.encode("utf-8")) <= MAX_INPUT_BYTES


def test_cap_utf8_alone() -> None:
    assert cap_utf8("aéb", 2) == ("a", True)
    assert cap_utf8("aéb", 3) == ("aé", True)
    assert cap_utf8("aéb", 4) == ("aéb", False)
    assert clean("abcdef", max_bytes=3).text == "abc"


def test_nfkc_expansion_is_capped_again() -> None:
    raw = "㍿" * 1000  # 3000 bytes: under the cap; NFKC makes it 株式会社 x 1000, 12000 bytes
    expanded = unicodedata.normalize("NFKC", raw)
    assert len(raw.encode("utf-8")) < MAX_INPUT_BYTES < len(expanded.encode("utf-8"))
    result = clean(raw)
    assert result.truncated
    assert result.text == expanded[:MAX_INPUT_BYTES // 3]  # 3-byte characters, cut between
    assert len(result.text.encode("utf-8")) == 4095


def test_the_cap_applies_before_nfkc_too() -> None:
    # 5000 full-width letters (15000 bytes) are cut to 1365 before NFKC folds them to ASCII.
    result = clean("ａ" * 5000)
    assert result.text == "a" * 1365 and result.truncated


def test_white_space_over_the_cap_is_empty_and_truncated() -> None:
    result = clean(" " * 5000)
    assert result.empty and result.truncated


# --- what the classifier makes of it -------------------------------------------------------

def test_nfkc_reaches_the_model(classifier: IntentClassifier) -> None:
    # Without NFKC the tokenizer would see only unknown words.
    assert classifier.model.tokenizer.encode("ｗｈｏ ｃａｌｌｓ").tokens == [
        "[CLS]", "[UNK]", "[UNK]", "[SEP]"]
    assert classifier.predict(["ｗｈｏ ｃａｌｌｓ ｍａｉｎ"]) == classifier.predict(
        ["who calls main"])
    assert classifier.predict(["ﬁnd callers of ﬂush"]) == classifier.predict(
        ["find callers of flush"])


def test_a_zero_width_space_joins_the_words(classifier: IntentClassifier) -> None:
    assert classifier.predict(["who\u200bcalls login"]) == classifier.predict(
        ["whocalls login"])


@pytest.mark.parametrize("raw", ["", "   ", "\n\t", "\u200b\u200d"])
def test_empty_input_is_ambiguous_and_flagged(classifier: IntentClassifier, raw: str) -> None:
    assert classifier.predict([raw]) == [
        Prediction("Ambiguous", 0.0, {}, DISAMBIGUATE, (FLAG_EMPTY,))]


def test_long_input_is_truncated_and_flagged(classifier: IntentClassifier) -> None:
    [prediction] = classifier.predict(["who calls main " + "é" * 4000])
    assert prediction.flags == (FLAG_TRUNCATED,)
    assert len(prediction.probabilities) == 8 and prediction.confidence > 0
    [blank] = classifier.predict([" " * 5000])
    assert blank.flags == (FLAG_EMPTY, FLAG_TRUNCATED) and blank.confidence == 0.0


def test_a_lone_surrogate_becomes_the_replacement_character() -> None:
    cleaned = clean("who calls \ud83d main")
    assert "\ud83d" not in cleaned.text and "\ufffd" in cleaned.text
    assert cleaned.text.encode("utf-8")  # encodable now
    assert clean("ok \U0001f600").text == "ok \U0001f600"  # a real pair is untouched
