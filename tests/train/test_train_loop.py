"""``train(cfg)`` end to end on the tiny model: outputs, resume, early stopping, bad inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hf_pipeline.errors import ConfigError, DataFileError
from hf_pipeline.intents import INTENTS
from hf_pipeline.train import loop
from hf_pipeline.train.config import TrainConfig
from hf_pipeline.train.loop import keep_epoch

from .tiny_data import split_rows, write_dataset_dict


def run_train(out: Path, **kwargs: Any) -> Path:
    return loop.train(TrainConfig(output_dir=out, **kwargs))


def read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def weights(model_dir: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(model_dir / "model.safetensors"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, tiny_data: Path, tiny_dev_set: Path,
            tiny_model_dir: Path) -> Path:
    """One full run shared by the read-only tests below (4 epochs, learns a little)."""
    return run_train(tmp_path_factory.mktemp("run") / "out", data=str(tiny_data),
                     dev_set=str(tiny_dev_set), base_model=str(tiny_model_dir), num_epochs=4,
                     batch_size=8, learning_rate=5e-3, cpu=True, logging_steps=2)


def test_run_writes_the_output_folder(trained: Path) -> None:
    final = trained / "final"
    for name in ("model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json"):
        assert (final / name).is_file(), name
    config = read(final / "config.json")
    assert [config["id2label"][str(i)] for i in range(len(INTENTS))] == list(INTENTS)
    assert config["label2id"] == {label: i for i, label in enumerate(INTENTS)}
    assert read(final / "tokenizer_config.json")["model_max_length"] == 128
    assert not (trained / "best").exists()  # moved to final/, not duplicated
    assert not list(trained.glob(".*tmp")) and not list(trained.glob(".*old"))


def test_training_metrics_record_every_epoch(trained: Path) -> None:
    metrics = read(trained / "training_metrics.json")
    epochs = metrics["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3, 4]
    assert [e["global_step"] for e in epochs] == [8, 16, 24, 32]  # 64 samples / batch 8
    assert all(e["train_samples"] == 64 for e in epochs)
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"]  # it learns
    assert epochs[-1]["learning_rate"] == pytest.approx(0.0)  # linear decay to 0
    for e in epochs:
        assert set(e) >= {"validation", "dev", "train_samples_per_second"}
        assert e["validation"]["num_samples"] == 16 and e["dev"]["num_samples"] == 16
    top, kept = None, None  # replay the rule: the last epoch keep_epoch kept
    for e in epochs:
        if keep_epoch(e["validation"]["macro_f1"], top, 16, 1.0):
            kept = e
        top = max(top or 0.0, e["validation"]["macro_f1"])
    assert metrics["best_epoch"] == kept["epoch"]
    assert metrics["best_validation_macro_f1"] == kept["validation"]["macro_f1"]
    assert metrics["top_validation_macro_f1"] == top
    assert metrics["samples_per_process"] == [4 * 64] and metrics["num_processes"] == 1
    assert metrics["stopped_early"] is False


def test_eval_metrics_are_those_of_the_best_epoch(trained: Path) -> None:
    history = read(trained / "training_metrics.json")
    final = read(trained / "eval_metrics.json")
    best = history["epochs"][history["best_epoch"] - 1]
    assert final["best_epoch"] == history["best_epoch"]
    assert set(final) >= {"validation", "test", "dev"}
    # final/ is the best epoch's model: re-evaluating it gives that epoch's numbers.
    assert final["validation"] == best["validation"] and final["dev"] == best["dev"]
    test = final["test"]
    assert test["num_samples"] == 16
    assert sum(map(sum, test["confusion_matrix"])) == 16
    assert list(test["per_intent_f1"]) == list(INTENTS)


def test_run_info_records_config_versions_and_provenance(trained: Path, tiny_data: Path) -> None:
    info = read(trained / "run_info.json")
    assert info["config"]["num_epochs"] == 4 and info["config"]["learning_rate"] == 5e-3
    assert info["versions"]["torch"] and info["versions"]["accelerate"]
    assert info["data"]["source"] == str(tiny_data.resolve())
    assert info["samples"] == {"train": 64, "validation": 16, "test": 16, "dev": 16}
    assert info["hardware"]["num_processes"] == 1


def test_a_second_fresh_run_into_the_same_folder_is_refused(trained: Path,
                                                             train_kwargs: dict) -> None:
    with pytest.raises(ConfigError, match=r"already holds a training run.*--resume"):
        run_train(trained, **train_kwargs)


@pytest.mark.parametrize(("accumulation", "crash_at"), [(1, 6), (2, 11)])
def test_resume_ends_where_the_uninterrupted_run_ends(
        tmp_path: Path, train_kwargs: dict, monkeypatch: pytest.MonkeyPatch,
        accumulation: int, crash_at: int) -> None:
    """Killed after a mid-epoch (or epoch-end) checkpoint plus some lost steps, then resumed."""
    kwargs = {**train_kwargs, "checkpointing_steps": 3, "gradient_accumulation_steps": accumulation}
    whole = run_train(tmp_path / "whole", **kwargs)

    real_step, calls = loop.training_step, {"n": 0}

    def crashing_step(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == crash_at:
            raise KeyboardInterrupt
        return real_step(*args)

    monkeypatch.setattr(loop, "training_step", crashing_step)
    with pytest.raises(KeyboardInterrupt):
        run_train(tmp_path / "resumed", **kwargs)
    assert not (tmp_path / "resumed" / "final").exists()
    monkeypatch.setattr(loop, "training_step", real_step)
    resumed = run_train(tmp_path / "resumed", resume=True, **kwargs)

    w1, w2 = weights(whole / "final"), weights(resumed / "final")
    assert w1.keys() == w2.keys()
    for key in w1:
        assert (w1[key] - w2[key]).abs().max().item() <= 1e-6, key
    h1, h2 = read(whole / "training_metrics.json"), read(resumed / "training_metrics.json")
    for e1, e2 in zip(h1["epochs"], h2["epochs"], strict=True):
        assert e2["train_loss"] == pytest.approx(e1["train_loss"], abs=1e-6)
        assert e2["validation"] == e1["validation"] and e2["dev"] == e1["dev"]
        assert e2["global_step"] == e1["global_step"]
    assert read(resumed / "eval_metrics.json")["test"] == read(whole / "eval_metrics.json")["test"]


def test_resume_on_changed_data_at_the_same_path_is_refused(
        tmp_path: Path, train_kwargs: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """Epoch 1 on one dataset, epoch 2 on another, recorded as the second: refused."""
    from .tiny_data import write_dataset_dict

    data = write_dataset_dict(tmp_path / "data")
    kwargs = {**train_kwargs, "data": str(data), "num_epochs": 2}
    real_step, calls = loop.training_step, {"n": 0}

    def crashing_step(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 10:  # after the epoch-1 checkpoint
            raise KeyboardInterrupt
        return real_step(*args)

    monkeypatch.setattr(loop, "training_step", crashing_step)
    with pytest.raises(KeyboardInterrupt):
        run_train(tmp_path / "out", **kwargs)
    monkeypatch.setattr(loop, "training_step", real_step)
    write_dataset_dict(tmp_path / "data", per_intent={"train": 9, "validation": 2, "test": 2})
    with pytest.raises(ConfigError, match=r"the data differs .*content sha256 [0-9a-f]{16} "
                       r"then, [0-9a-f]{16} now"):
        run_train(tmp_path / "out", resume=True, **kwargs)


def test_resume_with_other_hyperparameters_is_refused(tmp_path: Path, train_kwargs: dict) -> None:
    out = run_train(tmp_path / "out", **{**train_kwargs, "num_epochs": 1})
    with pytest.raises(ConfigError, match=r"learning_rate: 0\.001 -> 0\.002"):
        run_train(out, **{**train_kwargs, "num_epochs": 1, "learning_rate": 2e-3, "resume": True})


def test_early_stopping_stops_after_patience(tmp_path: Path, train_kwargs: dict) -> None:
    # lr 0: nothing changes, so validation macro-F1 never improves after epoch 1.
    out = run_train(tmp_path / "out", **{**train_kwargs, "num_epochs": 5, "learning_rate": 1e-12,
                                         "early_stopping_patience": 2})
    metrics = read(out / "training_metrics.json")
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2, 3]
    # the same score at epoch 3 is within noise of the top one: the later model is kept
    assert metrics["stopped_early"] is True and metrics["best_epoch"] == 3


@pytest.mark.parametrize(("score", "top", "samples", "tolerance", "kept"), [
    (0.90, None, 800, 1.0, True),  # the first epoch
    (0.9173, 0.9186, 800, 1.0, True),  # one row of 800 below the top: noise, keep the later
    (0.9071, 0.9186, 800, 1.0, False),  # 1.15 points below, more than one standard error
    (0.9071, 0.9186, 800, 2.0, True),
    (0.9173, 0.9186, 800, 0.0, False),  # 0: the top score's epoch, as before
    (0.9186, 0.9186, 800, 0.0, False),
    (0.95, 0.9186, 800, 0.0, True),
    (0.80, 0.90, 24, 1.0, False),  # a tiny validation split: 0.061 is one standard error
    (0.85, 0.90, 24, 1.0, True),
])
def test_a_later_epoch_is_kept_unless_the_top_score_beats_it_beyond_noise(
        score: float, top: float | None, samples: int, tolerance: float, kept: bool) -> None:
    assert keep_epoch(score, top, samples, tolerance) is kept


def test_bf16_mixed_precision_runs_on_cpu(tmp_path: Path, train_kwargs: dict) -> None:
    out = run_train(tmp_path / "out", **{**train_kwargs, "num_epochs": 1,
                                         "mixed_precision": "bf16", "dev_set": "none"})
    assert read(out / "run_info.json")["hardware"]["mixed_precision"] == "bf16"
    assert read(out / "final" / "config.json")["dtype"] == "float32"  # weights stay fp32


def test_tensorboard_tracker_writes_events(tmp_path: Path, train_kwargs: dict) -> None:
    pytest.importorskip("tensorboard")
    out = run_train(tmp_path / "out", **{**train_kwargs, "num_epochs": 1,
                                         "report_to": "tensorboard"})
    assert list((out / "logs").rglob("events.out.tfevents.*"))


# --- bad inputs: clear errors before any training ---------------------------------------

def _samples_json(path: Path, rows: list[dict]) -> Path:
    path.write_text(json.dumps({"metadata": {}, "samples": rows}), encoding="utf-8")
    return path


def test_missing_split(tmp_path: Path, train_kwargs: dict) -> None:
    data = write_dataset_dict(tmp_path / "data", per_intent={"train": 2, "validation": 1})
    with pytest.raises(DataFileError, match=r"missing split.*test"):
        run_train(tmp_path / "out", **{**train_kwargs, "data": str(data)})


def test_unknown_label(tmp_path: Path, train_kwargs: dict) -> None:
    rows = split_rows("train", 1) + split_rows("validation", 1) + split_rows("test", 1)
    rows[3]["intent"] = "FindUsages"
    data = _samples_json(tmp_path / "dataset.json", rows)
    with pytest.raises(DataFileError, match="'FindUsages', which is not an intent"):
        run_train(tmp_path / "out", **{**train_kwargs, "data": str(data)})


def test_label_order_mismatch(tmp_path: Path, train_kwargs: dict) -> None:
    data = write_dataset_dict(tmp_path / "data", names=sorted(INTENTS))
    with pytest.raises(DataFileError, match=r"the labels are .* the runtime.s order is"):
        run_train(tmp_path / "out", **{**train_kwargs, "data": str(data)})


def test_empty_dataset(tmp_path: Path, train_kwargs: dict) -> None:
    data = _samples_json(tmp_path / "dataset.json", [])
    with pytest.raises(DataFileError, match=r"missing split.*found none"):
        run_train(tmp_path / "out", **{**train_kwargs, "data": str(data)})


def test_empty_split(tmp_path: Path, train_kwargs: dict) -> None:
    data = write_dataset_dict(tmp_path / "data",
                              per_intent={"train": 0, "validation": 1, "test": 1})
    with pytest.raises(DataFileError, match="split 'train' is empty"):
        run_train(tmp_path / "out", **{**train_kwargs, "data": str(data)})


def test_missing_data_folder(tmp_path: Path, train_kwargs: dict) -> None:
    with pytest.raises(DataFileError, match="not a dataset"):
        (tmp_path / "nothing").mkdir()
        run_train(tmp_path / "out", **{**train_kwargs, "data": str(tmp_path / "nothing")})


def test_half_precision_base_model_trains_with_fp32_master_weights(
        tmp_path: Path, tiny_model_dir: Path) -> None:
    # transformers 5 loads checkpoints with dtype="auto": a bf16 base model on the Hub would
    # otherwise be fine-tuned in bf16, and mixed precision would have no fp32 master copy.
    import torch
    from transformers import AutoModelForSequenceClassification

    half = tmp_path / "bf16"
    AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, dtype=torch.bfloat16
                                                       ).save_pretrained(half)
    assert weights(half)["classifier.weight"].dtype == torch.bfloat16
    model = loop._load_model(str(half))
    assert {p.dtype for p in model.parameters()} == {torch.float32}
