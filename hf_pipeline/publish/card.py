"""The dataset card: YAML the Hub understands plus prose, from ``dataset_card/template.md``.

The template reads the dataset's metadata (``dataset.json``) and ``stats.json``; what it
reads is declared here (``CARD_METADATA``, ``CARD_STATS``) and checked by
``check_card_inputs`` before anything is pushed, so a folder the card cannot describe is
refused with the file and the key, never half-published.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hf_pipeline.assets import asset_dir
from hf_pipeline.errors import DataFileError
from hf_pipeline.intents import DESCRIPTIONS, INTENTS

if TYPE_CHECKING:
    from huggingface_hub import DatasetCard

    from hf_pipeline.publish.dataset import LocalDataset, PublishDatasetConfig


def card_template() -> Path:
    """``dataset_card/template.md`` (the repo's top level, shipped as an asset). Resolved when
    a card is rendered, never at import: ``hf-pipeline --help`` must not need the assets."""
    return asset_dir("dataset_card") / "template.md"


@dataclass(frozen=True)
class Each:
    """A mapping of any keys, each value as ``spec``."""

    spec: Any


NUMBER = (int, float)
# What the card template reads: key -> a type, a dict (a mapping with those keys) or Each.
# A key ending in "?" may be absent or null.
CARD_METADATA: dict[str, Any] = {
    "generator": str, "generator_version": str, "seed": int, "samples_per_intent": int,
    "splits": {"train": int, "validation": int, "test": int},
    "templates_sha256": str, "slots_sha256": str,
    "augmentation": {"ratio": NUMBER, "names": Each(str)},
    "options?": {"ratio": NUMBER},
    "verification?": {"checked": int, "incorrect": int, "accuracy": NUMBER,
                      "fraction_of_dataset": NUMBER},
}
CARD_STATS: dict[str, Any] = {
    "per_split": Each(Each(int)), "per_source": Each(int), "per_group": Each(int),
    "templates": Each(int), "unique_ratio": NUMBER, "mean_words": NUMBER,
    "dev_overlap_dropped?": int,
}
_WORDS = {str: "a string", int: "an integer", NUMBER: "a number", dict: "a mapping",
          list: "a list", type(None): "null", bool: "true/false", float: "a number"}


def _kind(value: Any) -> str:
    return _WORDS.get(type(value), type(value).__name__)


def _expected(spec: Any) -> str:
    return "a mapping" if isinstance(spec, dict | Each) else _WORDS[spec]


def _problem(value: Any, spec: Any, where: str) -> str | None:
    """What is wrong with ``value`` (at key path ``where``) against ``spec``, or None."""
    at = f"{where}: " if where else ""
    if not isinstance(spec, dict | Each):
        if isinstance(value, bool) or not isinstance(value, spec):
            return f"{at}expected {_expected(spec)}, found {_kind(value)}"
        return None
    if not isinstance(value, dict):
        return f"{at}expected a mapping, found {_kind(value)}"
    items = ([(k, spec.spec, False) for k in value] if isinstance(spec, Each) else
             [(k.rstrip("?"), sub, k.endswith("?")) for k, sub in spec.items()])
    for key, sub, optional in items:
        inner = f"{where}.{key}" if where else str(key)
        if optional and value.get(key) is None:
            continue
        if key not in value:
            return f"{inner}: missing"
        problem = _problem(value[key], sub, inner)
        if problem:
            return problem
    return None


def check_card_inputs(*, document: dict[str, Any], stats: Any, dataset_json: Path,
                      stats_json: Path) -> None:
    """``document`` (dataset.json) and ``stats`` (stats.json) hold what the card reads;
    a DataFileError naming the file and the key otherwise."""
    fix = "regenerate the folder with `hf-pipeline generate --output DIR`."
    for path, problem in ((dataset_json, _problem(document, {"metadata": CARD_METADATA}, "")),
                          (stats_json, _problem(stats, CARD_STATS, ""))):
        if problem:
            raise DataFileError(path, f"{problem}; the dataset card needs it.", fix=fix)


def size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                        (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "n>1M"


def render_dataset_card(cfg: PublishDatasetConfig, local: LocalDataset, *,
                        pushed: dict[str, Any]) -> DatasetCard:
    """``pushed`` is the card data ``push_to_hub`` wrote (configs, dataset_info): kept."""
    from huggingface_hub import DatasetCard, DatasetCardData

    total = sum(len(split) for split in local.dataset.values())
    data = DatasetCardData(
        pretty_name=cfg.pretty_name, language=["en"], license="mit",
        task_categories=["text-classification"], task_ids=["intent-classification"],
        size_categories=[size_category(total)], multilinguality=["monolingual"],
        annotations_creators=["machine-generated"], language_creators=["machine-generated"],
        source_datasets=["original"], tags=["code-search", "sqry", "intent-classification",
                                            "synthetic", "template-generated"],
        configs=pushed.get("configs"), dataset_info=pushed.get("dataset_info"),
    )
    templates = local.stats.get("templates", {})
    return DatasetCard.from_template(
        data, template_path=str(cfg.card_template), pretty_name=cfg.pretty_name,
        repo_id=cfg.repo_id, tag=cfg.tag, meta=local.metadata, stats=local.stats,
        templates_total=sum(templates.values()),
        group_count=len(local.stats.get("per_group", {})),
        verification=local.metadata.get("verification"),
        content_sha256=local.content_sha256,
        intents=[{"id": i, "label": label, "meaning": DESCRIPTIONS[label]}
                 for i, label in enumerate(INTENTS)],
    )
