"""The dataset card: YAML the Hub understands plus prose, from ``dataset_card/template.md``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hf_pipeline.assets import asset_dir
from hf_pipeline.intents import DESCRIPTIONS, INTENTS

if TYPE_CHECKING:
    from huggingface_hub import DatasetCard

    from hf_pipeline.publish.dataset import LocalDataset, PublishDatasetConfig


def card_template() -> Path:
    """``dataset_card/template.md`` (the repo's top level, shipped as an asset). Resolved when
    a card is rendered, never at import: ``hf-pipeline --help`` must not need the assets."""
    return asset_dir("dataset_card") / "template.md"


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
