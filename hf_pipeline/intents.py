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


def check_label_order(labels: object, *, where: object, field: str, fix: str) -> None:
    """The one check that ``labels`` (a list, or an index -> label mapping with int or str
    keys) is the runtime's eight intents in the runtime's order: the sqry-nl runtime maps
    logit index -> intent by a fixed table, so any other order silently mislabels."""
    from hf_pipeline.errors import DataFileError

    if isinstance(labels, dict):
        found = [labels.get(i, labels.get(str(i))) for i in range(len(labels))]
    elif isinstance(labels, (list, tuple)):
        found = list(labels)
    else:
        raise DataFileError(str(where), f"{field}: the labels are a {type(labels).__name__}, "
                            "expected a list or an index -> label object.", fix=fix)
    if found != list(INTENTS):
        raise DataFileError(str(where), f"{field}: the labels are {found}, the runtime's order "
                            f"is {list(INTENTS)}.", fix=fix)


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
