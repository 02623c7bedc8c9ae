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

# What each intent means (../shared/docs/intents.md), for cards and the demo.
DESCRIPTIONS: dict[str, str] = {
    "SymbolQuery": "definitions of symbols by name, kind, language, path, visibility or a "
                   "predicate (unused, implements X, async...)",
    "TextSearch": "literal text in file contents: strings, comments, log messages, TODOs, "
                  "secrets, regexes",
    "TracePath": "a route between two points: path from A to B, call chain between them",
    "FindCallers": "incoming edges: who calls / uses / references X",
    "FindCallees": "outgoing edges: what X calls / uses / depends on",
    "Visualize": "a picture: graph, diagram or chart of a relation, in a format",
    "IndexStatus": "the state of sqry's own index: status, freshness, counts",
    "Ambiguous": "nothing sqry can act on: greetings, vague words, gibberish, no target, "
                 "requests that are not code search",
}
