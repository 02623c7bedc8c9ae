"""Input hygiene, as the sqry-nl runtime applies it before tokenizing a query.

NFKC folds compatibility forms (full-width letters, ligatures, superscripts) into what the
tokenizer saw in training; zero-width characters, invisible but able to split a word into
unknown pieces, are removed; the input is capped at MAX_INPUT_BYTES of UTF-8, cut on a
character boundary, so one huge paste costs no more than a normal query.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

MAX_INPUT_BYTES = 4096

# Zero-width space / non-joiner / joiner, word joiner, BOM (zero-width no-break space),
# Mongolian vowel separator, soft hyphen: all invisible in a terminal.
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u180e\u00ad"
_DELETE = str.maketrans("", "", ZERO_WIDTH)


@dataclass(frozen=True)
class CleanText:
    """The text the model sees, and whether cleaning had to cut it."""

    text: str
    truncated: bool

    @property
    def empty(self) -> bool:
        return not self.text


def cap_utf8(text: str, max_bytes: int = MAX_INPUT_BYTES) -> tuple[str, bool]:
    """``text`` cut to at most ``max_bytes`` of UTF-8, never inside a character."""
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text, False
    # errors="ignore" drops the partial character left at the cut.
    return data[:max_bytes].decode("utf-8", errors="ignore"), True


def clean(text: str, *, max_bytes: int = MAX_INPUT_BYTES) -> CleanText:
    """NFKC, zero-width characters removed, surrounding white space stripped, capped.

    The cap is applied before normalising (bounding the work on a huge input) and again
    after, because NFKC can lengthen text (one ligature becomes several letters).
    """
    # A lone surrogate (valid in a JSON string, not in UTF-8) becomes U+FFFD, as the
    # runtime's Rust strings cannot hold one.
    text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    capped, cut_before = cap_utf8(text, max_bytes)
    normalized = unicodedata.normalize("NFKC", capped).translate(_DELETE).strip()
    result, cut_after = cap_utf8(normalized, max_bytes)
    return CleanText(result, cut_before or cut_after)
