"""The eight intents, in the order the sqry-nl runtime hard-codes (logit index -> label).

This is the only place the list is spelled out; everything else imports it.
"""

from __future__ import annotations

INTENTS: tuple[str, ...] = (
    "SymbolQuery",
    "TextSearch",
    "TracePath",
    "FindCallers",
    "FindCallees",
    "Visualize",
    "IndexStatus",
    "Ambiguous",
)

NUM_INTENTS = len(INTENTS)
ID2LABEL: dict[int, str] = dict(enumerate(INTENTS))
LABEL2ID: dict[str, int] = {label: i for i, label in ID2LABEL.items()}
AMBIGUOUS = "Ambiguous"


def intent_id(label: str, *, where: str = "intent") -> int:
    """Index of ``label`` in the runtime's order; a clear error for anything else."""
    from hf_pipeline.errors import InvalidValueError

    try:
        return LABEL2ID[label]
    except KeyError:
        raise InvalidValueError(
            where, label, f"one of {', '.join(INTENTS)} (case-sensitive)"
        ) from None
