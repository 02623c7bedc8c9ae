"""What ``hf-pipeline run`` is asked to do: its own options and every stage's config.

A config file (``--config pipeline.yaml``) has one section per stage, each holding the
options of that stage's config class, plus ``pipeline`` for the run's own options::

    pipeline:  {hub: local, dataset_tag: v1.0.0, num_processes: 2}
    generate:  {samples_per_intent: 1000, seed: 1}          # GenerateConfig
    train:     {num_epochs: 8, mixed_precision: bf16}        # TrainConfig
    export:    {preset: matmul_gather, max_drop_points: 2}   # ExportConfig
    calibrate: {bins: 15}                                    # CalibrateConfig

Precedence: the class's default < the file < a command-line flag. An unknown section or key is
an error that names it, and so is a key the pipeline sets itself (where a stage reads its data
from and writes its output).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hf_pipeline import __version__
from hf_pipeline.calibrate.config import CalibrateConfig
from hf_pipeline.config import check_fields, option, read_config_file, resolve
from hf_pipeline.errors import DataFileError, InvalidValueError
from hf_pipeline.export.config import ExportConfig
from hf_pipeline.generate.config import GenerateConfig
from hf_pipeline.publish.versions import TAG_PATTERN
from hf_pipeline.repo_ids import check_namespace, check_repo_id
from hf_pipeline.train.config import TrainConfig, check_real_data_spec

LOCAL_HUB = "local"
# Placeholders until the Hub's namespace is known (repo ids depend on it).
PENDING_DATA = "pending/dataset"
# TrainConfig's --real-data options: in train's inputs only when real data is used.
REAL_DATA_OPTIONS = frozenset({"real_data", "real_data_repeat", "real_data_max_share"})


@dataclass(frozen=True)
class PipelineConfig:
    """The run's own options (section ``pipeline`` of the config file)."""

    output: Path = Path("out")
    # "local": the project's Hub server, started for the run over OUTPUT/hub; or a Hub URL.
    hub: str = LOCAL_HUB
    namespace: str | None = None  # default: the account the token belongs to (whoami)
    public: bool = False  # on a real Hub, repos are created private unless this is set
    num_processes: int = option(1, ge=1)  # > 1: `accelerate launch` with that many processes
    accelerate_config: Path | None = None  # an `accelerate config` file: launch with it
    dataset_repo: str = "sqry-nl-intents"
    dataset_tag: str = "v1.0.0"
    model_repo: str = "sqry-nl-intent-classifier"
    model_tag: str = f"v{__version__}"
    space_repo: str = "sqry-nl-intent-demo"
    # The Space's feedback control: its rows go to the dataset repo feedback_repo (default:
    # the Space's name + "-feedback"), committed every feedback_every_minutes.
    feedback: bool = False
    feedback_repo: str | None = None
    feedback_every_minutes: float = option(5.0, gt=0, le=24 * 60)
    # Reviewed real requests (a requests.jsonl, its folder, or NS/NAME@TAG on the run's Hub):
    # train mixes in their ``train`` rows, calibrate fits T on their ``calibration`` rows.
    real_data: str | None = None

    def __post_init__(self) -> None:
        check_fields(self)
        if self.real_data is not None:
            check_real_data_spec(self.real_data)
        if self.hub != LOCAL_HUB and not re.match(r"^https?://[^\s/]+", self.hub):
            raise InvalidValueError("hub", self.hub, f"'{LOCAL_HUB}' or a Hub URL such as "
                                    "https://huggingface.co")
        for name in ("dataset_repo", "model_repo", "space_repo"):
            check_repo_id(getattr(self, name), field=name, namespace=False)
        if self.namespace is not None:
            check_namespace(self.namespace)
        if self.feedback_repo is not None and not self.feedback:
            raise InvalidValueError("feedback_repo", self.feedback_repo, "unset while feedback "
                                    "is false", fix="set feedback: true (or --feedback) to "
                                    "turn the Space's feedback on, or drop feedback_repo.")
        if self.feedback:
            check_repo_id(self.feedback_name, field="feedback_repo", namespace=False)
        for name in ("dataset_tag", "model_tag"):
            if not TAG_PATTERN.match(getattr(self, name)):
                raise InvalidValueError(name, getattr(self, name), "a version tag like v1.0.0",
                                        fix="Each publish is a semantic-version tag.")

    @property
    def local(self) -> bool:
        return self.hub == LOCAL_HUB

    @property
    def model_version(self) -> str:
        """What version.txt says: the model tag without its 'v'."""
        return self.model_tag.removeprefix("v")

    @property
    def feedback_name(self) -> str:
        """The feedback dataset repo: ``feedback_repo``, else the Space's name + -feedback."""
        return self.feedback_repo or f"{self.space_repo}-feedback"

    def repo_id(self, name: str, namespace: str) -> str:
        """``name`` in ``namespace`` unless it names its own."""
        return name if "/" in name else f"{namespace}/{name}"


# Stage section -> (config class, the fields the pipeline sets itself).
SECTIONS: dict[str, tuple[type, frozenset[str]]] = {
    "pipeline": (PipelineConfig, frozenset()),
    "generate": (GenerateConfig, frozenset({"output", "verification_output"})),
    "train": (TrainConfig, frozenset({"data", "revision", "output_dir", "resume",
                                      "real_data"})),
    "export": (ExportConfig, frozenset()),
    "calibrate": (CalibrateConfig, frozenset({"data", "revision", "report_dir", "real_data"})),
}


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs, resolved and checked before anything starts."""

    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        data=PENDING_DATA, output_dir=Path("out/train")))
    export: ExportConfig = field(default_factory=ExportConfig)
    calibrate: CalibrateConfig = field(default_factory=lambda: CalibrateConfig(
        data=PENDING_DATA))


def check_sections(path: str | Path) -> None:
    """Every section of the file is a stage's, and no key is one the pipeline sets."""
    data = read_config_file(path)
    unknown = sorted(str(k) for k in set(data) - set(SECTIONS))
    if unknown:
        raise DataFileError(path, f"unknown section(s) {', '.join(unknown)}.",
                            fix=f"use only: {', '.join(SECTIONS)}.")
    for section, (_, owned) in SECTIONS.items():
        values = data.get(section) or {}
        taken = sorted(set(values) & owned) if isinstance(values, dict) else []
        if taken:
            raise DataFileError(path, f"section {section!r}: {', '.join(taken)} "
                                "set by the pipeline itself (each stage reads what the one "
                                "before it wrote).", fix=f"remove {', '.join(taken)}; set "
                                "where everything goes with the pipeline's output option.")


def load_run_config(config_file: str | Path | None = None,
                    overrides: dict[str, dict[str, Any]] | None = None) -> RunConfig:
    """Defaults < ``config_file`` < ``overrides`` (section -> {field: value}; None values
    are ignored), every value checked by its config class."""
    overrides = overrides or {}
    unknown = sorted(set(overrides) - set(SECTIONS))
    if unknown:
        raise InvalidValueError("section", ", ".join(unknown), f"one of {', '.join(SECTIONS)}")
    if config_file is not None:
        check_sections(config_file)

    def build(section: str, fixed: dict[str, Any]) -> Any:
        cls = SECTIONS[section][0]
        return resolve(cls, config_file=config_file, section=section,
                       overrides={**overrides.get(section, {}), **fixed})

    pipeline = build("pipeline", {})
    out = pipeline.output
    generate = build("generate", {"output": out / "data",
                                  "verification_output": out / "data" / "verification.json"})
    train = build("train", {"data": PENDING_DATA, "output_dir": out / "train"})
    return RunConfig(pipeline=pipeline, generate=generate, train=train,
                     export=build("export", {}),
                     calibrate=build("calibrate", {"data": PENDING_DATA}))


def stage_options(cfg: Any, *, drop: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    """A config as the JSON a stage's fingerprint holds (paths as strings, tuples as lists)."""
    out = {}
    for f in dataclasses.fields(cfg):
        if f.name in drop:
            continue
        value = getattr(cfg, f.name)
        out[f.name] = str(value) if isinstance(value, Path) else (
            list(value) if isinstance(value, tuple) else value)
    return out


def real_data_input(spec: str | None) -> dict[str, Any] | None:
    """``--real-data`` as a stage input: the spec, and a local file's hash (the same path may
    hold other rows later; a Hub tag never moves)."""
    from hf_pipeline.feedback.requests import REQUESTS_FILE
    from hf_pipeline.io import sha256_file
    from hf_pipeline.repo_ids import is_hub_spec

    if spec is None or is_hub_spec(spec):
        return None if spec is None else {"spec": spec}
    path = Path(spec) / REQUESTS_FILE if Path(spec).is_dir() else Path(spec)
    return {"spec": spec, "sha256": sha256_file(path) if path.is_file() else None}
