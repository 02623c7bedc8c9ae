"""Cause: a dataset folder the card cannot describe (issue 24).

The dataset card is rendered from ``dataset.json``'s metadata and ``stats.json``; what the
template reads is declared once (``CARD_METADATA``, ``CARD_STATS`` in
``hf_pipeline/publish/card.py``) and checked before anything is pushed. Each case breaks one
input (a file missing, of the wrong kind, not UTF-8, not JSON, a key missing or of the wrong
type at any depth) and goes through both doors, ``dataset publish`` and the deprecated
``publish-dataset``; no Hub is reachable, so a case that got past the checks would fail on
the network instead. Each checks the exit code (2), no traceback, and the file and key named.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from faults.refusal import assert_refused, write
from hf_pipeline.generate import GenerateConfig, generate

NOT_UTF8 = b"\xff\xfe stats \xc3\x28"


@dataclass(frozen=True)
class Broken:
    name: str
    file: str  # "stats.json" or "dataset.json"
    change: Callable[[Any], Any]  # the file's JSON -> what is written (bytes: raw; None: removed)
    says: str


def _set(path: str, value: Any) -> Callable[[Any], Any]:
    """Set (or with ``...``, delete) the value at dotted ``path``."""
    def change(data: Any) -> Any:
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[key]
        if value is ...:
            del node[last]
        else:
            node[last] = value
        return data
    return change


BROKEN = (
    Broken("stats.json missing", "stats.json", lambda d: None, "is missing"),
    Broken("stats.json a list", "stats.json", lambda d: [d], "expected a JSON object, found list"),
    Broken("stats.json not UTF-8", "stats.json", lambda d: NOT_UTF8, "not UTF-8 text"),
    Broken("stats.json not JSON", "stats.json", lambda d: b"{per_split: 1", "not valid JSON"),
    Broken("per_split a list", "stats.json", _set("per_split", [1, 2]),
           "per_split: expected a mapping, found a list"),
    Broken("a split's counts a string", "stats.json", _set("per_split.train", "800"),
           "per_split.train: expected a mapping, found a string"),
    Broken("a count a string", "stats.json", _set("per_source.template", "12"),
           "per_source.template: expected an integer, found a string"),
    Broken("unique_ratio null", "stats.json", _set("unique_ratio", None),
           "unique_ratio: expected a number, found null"),
    Broken("templates missing", "stats.json", _set("templates", ...), "templates: missing"),
    Broken("dev_overlap_dropped a list", "stats.json", _set("dev_overlap_dropped", [1]),
           "dev_overlap_dropped: expected an integer, found a list"),
    Broken("dataset.json missing", "dataset.json", lambda d: None, "is missing"),
    Broken("dataset.json not UTF-8", "dataset.json", lambda d: NOT_UTF8, "not UTF-8 text"),
    Broken("dataset.json a list", "dataset.json", lambda d: [d], "expected a JSON object"),
    Broken("metadata missing", "dataset.json", _set("metadata", ...), "metadata: missing"),
    Broken("metadata a list", "dataset.json", _set("metadata", [1]),
           "metadata: expected a mapping, found a list"),
    Broken("a split size a string", "dataset.json", _set("metadata.splits.train", "16"),
           "metadata.splits.train: expected an integer, found a string"),
    Broken("augmentation names a list", "dataset.json", _set("metadata.augmentation.names", []),
           "metadata.augmentation.names: expected a mapping, found a list"),
    Broken("a hash a number", "dataset.json", _set("metadata.templates_sha256", 5),
           "metadata.templates_sha256: expected a string, found an integer"),
    Broken("verification incomplete", "dataset.json", _set("metadata.verification",
                                                           {"checked": 3}),
           "metadata.verification.incorrect: missing"),
)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(GenerateConfig(output=tmp_path_factory.mktemp("gen") / "data",
                                   samples_per_intent=20, allow_small=True,
                                   write_dataset_dict=False))


def _break(generated: Path, tmp: Path, broken: Broken) -> tuple[Path, Path]:
    folder = Path(shutil.copytree(generated, tmp / "data"))
    path = folder / broken.file
    data = broken.change(json.loads(path.read_text(encoding="utf-8")))
    if data is None:
        path.unlink()
    else:
        write(path, data if isinstance(data, bytes) else json.dumps(data))
    return folder, path


DOORS = {"dataset publish": ["dataset", "publish"], "publish-dataset": ["publish-dataset"]}
CASES = [(door, broken) for door in DOORS for broken in BROKEN]


@pytest.mark.parametrize(("door", "broken"), CASES, ids=[f"{d}:{b.name}" for d, b in CASES])
def test_a_folder_the_card_cannot_describe_is_refused_before_any_push(
        door: str, broken: Broken, generated: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("HF_TOKEN", "hf_unused")
    folder, path = _break(generated, tmp_path, broken)
    assert_refused([*DOORS[door], folder, "--repo-id", "me/intents", "--tag", "v1.0.0"],
                   capsys, names=[str(path), broken.says])


def _minimal(spec: Any, *, optional: bool) -> Any:
    """The smallest value ``spec`` admits; with ``optional``, optional keys too."""
    from hf_pipeline.publish.card import NUMBER, Each

    if isinstance(spec, Each):
        return {"x": _minimal(spec.spec, optional=optional)}
    if isinstance(spec, dict):
        return {k.rstrip("?"): _minimal(v, optional=optional) for k, v in spec.items()
                if optional or not k.endswith("?")}
    return {str: "abcdef0123456789abcdef", int: 1, NUMBER: 0.5}[spec]


@pytest.mark.parametrize("optional", [True, False], ids=["every key", "required keys only"])
def test_the_card_reads_only_what_it_declares(optional: bool, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Inputs that pass the check always render: with every declared key the template renders
    even when an undeclared read would be an error (StrictUndefined)."""
    import jinja2

    from hf_pipeline.publish.card import CARD_METADATA, CARD_STATS, render_dataset_card
    from hf_pipeline.publish.dataset import LocalDataset, PublishDatasetConfig

    if optional:
        strict = jinja2.Environment(undefined=jinja2.StrictUndefined)
        monkeypatch.setattr(jinja2, "Template", strict.from_string)
    local = LocalDataset(dataset={"train": [1, 2]}, verification=None,
                         metadata=_minimal(CARD_METADATA, optional=optional),
                         stats=_minimal(CARD_STATS, optional=optional), content_sha256="c" * 64)
    cfg = PublishDatasetConfig(data_dir=tmp_path, repo_id="me/intents", tag="v1.0.0")
    card = render_dataset_card(cfg, local, pushed={})
    assert "me/intents" in str(card)
