"""fp32 export: the runtime's signature, a valid graph, logit parity, and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from hf_pipeline.contract import ONNX_INPUTS
from hf_pipeline.errors import DataFileError
from hf_pipeline.export.config import ExportConfig
from hf_pipeline.export.onnx_export import (
    PARITY_QUERIES,
    ExportError,
    ParityError,
    check_graph,
    check_parity,
    export_onnx,
    load_torch_model,
    parity_batches,
)
from hf_pipeline.export.stage import FP32_FILE, REPORT_FILE
from hf_pipeline.runtime.onnx import encode, load_tokenizer


def _dims(value: onnx.ValueInfoProto) -> list[str | int]:
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def test_graph_has_the_runtime_signature(export_dir: Path) -> None:
    model = onnx.load(str(export_dir / FP32_FILE))
    assert [i.name for i in model.graph.input] == list(ONNX_INPUTS)
    for value in model.graph.input:
        assert value.type.tensor_type.elem_type == onnx.TensorProto.INT64
        assert _dims(value) == ["batch", "sequence"]
    [out] = model.graph.output
    assert out.name == "logits"
    assert out.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert _dims(out) == ["batch", 8]
    assert {o.domain: o.version for o in model.opset_import}[""] >= 17


def test_parity_report_covers_single_unpadded_and_batches(export_dir: Path) -> None:
    report = json.loads((export_dir / REPORT_FILE).read_text())["parity"]
    cases = {c["label"]: c for c in report["cases"]}
    assert report["passed"] and report["max_abs_diff"] <= report["atol"] == 1e-4
    assert all(cases[f"single[{i}]"]["batch_size"] == 1 for i in range(len(PARITY_QUERIES)))
    # batch 1 is unpadded: its length is the query's own token count.
    assert cases["single[1]"]["sequence_length"] == 10  # [CLS] who calls parse _ con ##fi ##g [SEP]
    assert {c["batch_size"] for c in report["cases"]} >= {1, 2, 4, 8}
    assert max(c["sequence_length"] for c in report["cases"]) == 128  # the truncation limit


def _corrupted_copy(src: Path, dst: Path, initializer: str, row: int | None) -> Path:
    """Perturb an initializer (one row, or all of it): a valid graph with wrong numbers. The
    perturbation varies along the row, since LayerNorm would cancel a constant shift."""
    model = onnx.load(str(src))
    for init in model.graph.initializer:
        if init.name.endswith(initializer):
            array = numpy_helper.to_array(init).copy()
            delta = np.linspace(-1.0, 1.0, array.shape[-1], dtype=array.dtype)
            if row is None:
                array += delta
            else:
                array[row] += delta
            init.CopyFrom(numpy_helper.from_array(array, init.name))
            break
    else:
        raise AssertionError(f"no initializer {initializer}")
    onnx.save(model, str(dst))
    return dst


def test_logits_depend_on_the_input(sensitive_model_dir: Path, export_dir: Path) -> None:
    """Parity means something only if the logits move with the input."""
    from hf_pipeline.runtime.onnx import OnnxClassifier

    logits = OnnxClassifier(export_dir / FP32_FILE, tokenizer=export_dir).logits(
        list(PARITY_QUERIES))
    assert np.ptp(logits, axis=0).min() > 0.1


@pytest.mark.parametrize(("initializer", "token", "query"), [
    ("word_embeddings.weight", "hmm", "hmm"),  # one token of one short query
    ("position_embeddings.weight", None, PARITY_QUERIES[-1]),  # row 100: the long query only
])
def test_corrupted_graph_fails_parity_listing_every_failing_input(
        export_dir: Path, sensitive_model_dir: Path, tmp_path: Path, initializer: str,
        token: str | None, query: str) -> None:
    model = load_torch_model(sensitive_model_dir)
    tokenizer = load_tokenizer(sensitive_model_dir)
    row = tokenizer.token_to_id(token) if token else 100
    bad = _corrupted_copy(export_dir / FP32_FILE, tmp_path / "bad.onnx", initializer, row)
    with pytest.raises(ParityError) as info:
        check_parity(bad, model, tokenizer, atol=1e-4)
    expected = {label for label, texts in parity_batches(PARITY_QUERIES) if query in texts}
    failed = {c.label for c in info.value.report.failures()}
    assert failed == expected
    assert len(expected) == 5  # the query alone, and each padded batch (all hold it)
    message = str(info.value)
    assert f"on {len(expected)} of {len(info.value.report.cases)} inputs" in message
    for label in expected:
        assert f"  {label} (batch" in message
    assert message.count("max |diff|") == len(expected)


def test_corrupted_head_fails_every_input(export_dir: Path, sensitive_model_dir: Path,
                                          tmp_path: Path) -> None:
    bad = _corrupted_copy(export_dir / FP32_FILE, tmp_path / "bad.onnx", "classifier.weight",
                          row=None)
    with pytest.raises(ParityError) as info:
        check_parity(bad, load_torch_model(sensitive_model_dir),
                     load_tokenizer(sensitive_model_dir), atol=1e-4)
    report = info.value.report
    assert not report.passed and len(report.failures()) == len(report.cases)
    assert min(c.max_abs_diff for c in report.cases) > 1e-2


def test_parity_failure_removes_the_file(sensitive_model_dir: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A numerically wrong export is never left behind as if it were fine."""
    from hf_pipeline.export import onnx_export

    real = onnx_export.export_graph

    def export_then_corrupt(model, tokenizer, out_path, *, opset, graph):  # type: ignore[no-untyped-def]
        real(model, tokenizer, out_path, opset=opset, graph=graph)
        return _corrupted_copy(Path(out_path), Path(out_path), "classifier.weight", None)

    monkeypatch.setattr(onnx_export, "export_graph", export_then_corrupt)
    with pytest.raises(ParityError):
        export_onnx(sensitive_model_dir, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_export_onnx_writes_a_checked_file(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = export_onnx(tiny_model_dir, tmp_path / "m.onnx", cfg=ExportConfig(opset=17))
    check_graph(out)  # raises on a problem
    model = onnx.load(str(out))
    assert {o.domain: o.version for o in model.opset_import}[""] == 17


def test_check_graph_rejects_a_renamed_output(export_dir: Path, tmp_path: Path) -> None:
    model = onnx.load(str(export_dir / FP32_FILE))
    model.graph.output[0].name = "scores"
    for node in model.graph.node:
        node.output[:] = ["scores" if o == "logits" else o for o in node.output]
    onnx.save(model, str(tmp_path / "renamed.onnx"))
    with pytest.raises(ExportError, match=r"outputs are \['scores'\], expected \['logits'\]"):
        check_graph(tmp_path / "renamed.onnx")


def test_missing_model_folder(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no trained model folder here"):
        export_onnx(tmp_path / "nope", tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def _model_copy(tiny_model_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))


def test_wrong_label_count(tiny_model_dir: Path, tmp_path: Path) -> None:
    model_dir = _model_copy(tiny_model_dir, tmp_path)
    config = json.loads((model_dir / "config.json").read_text())
    config["id2label"] = {"0": "a", "1": "b", "2": "c"}
    (model_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(DataFileError, match="the model has 3 labels, the runtime needs 8"):
        export_onnx(model_dir, tmp_path / "m.onnx")


def test_wrong_label_order(tiny_model_dir: Path, tmp_path: Path) -> None:
    model_dir = _model_copy(tiny_model_dir, tmp_path)
    config = json.loads((model_dir / "config.json").read_text())
    config["id2label"]["0"], config["id2label"]["7"] = "Ambiguous", "SymbolQuery"
    (model_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(DataFileError, match=r"the labels are .* the runtime.s order is"):
        export_onnx(model_dir, tmp_path / "m.onnx")


def test_unreadable_config(tiny_model_dir: Path, tmp_path: Path) -> None:
    model_dir = _model_copy(tiny_model_dir, tmp_path)
    (model_dir / "config.json").write_text("{not json")
    with pytest.raises(DataFileError, match=r"config\.json:1: not valid JSON"):
        export_onnx(model_dir, tmp_path / "m.onnx")


def test_unreadable_weights(tiny_model_dir: Path, tmp_path: Path) -> None:
    model_dir = _model_copy(tiny_model_dir, tmp_path)
    (model_dir / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(DataFileError, match=r"model\.safetensors: cannot be loaded \(Safetensor"
                       r"Error: .*\): "
                       "damaged, or not what `hf-pipeline train`"):
        export_onnx(model_dir, tmp_path / "m.onnx")


def test_onnx_logits_equal_torch_on_a_fresh_query(export_dir: Path,
                                                  sensitive_model_dir: Path) -> None:
    import torch

    from hf_pipeline.runtime.onnx import OnnxClassifier

    texts = ["show me who calls tokenize", "x"]
    onnx_logits = OnnxClassifier(export_dir / FP32_FILE, tokenizer=export_dir).logits(texts)
    model = load_torch_model(sensitive_model_dir)
    feeds = encode(load_tokenizer(sensitive_model_dir), texts)
    with torch.no_grad():
        ref = model(**{k: torch.from_numpy(v) for k, v in feeds.items()}).logits.numpy()
    np.testing.assert_allclose(onnx_logits, ref, atol=1e-4)
