"""Where a typo changed a text: shared by the typo tests."""

from __future__ import annotations


def changed_region(before: str, after: str) -> tuple[int, int]:
    """[start, end) of ``before`` that differs from ``after`` (empty for an insertion)."""
    p = 0
    while p < min(len(before), len(after)) and before[p] == after[p]:
        p += 1
    q = 0
    while q < min(len(before), len(after)) - p and before[-1 - q] == after[-1 - q]:
        q += 1
    return p, len(before) - q
