"""The fused fp32 graphs: onnxruntime's BERT fusions happened, and the [CLS]-only last layer
computes the same logits as the full graph for single queries and for padded batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from hf_pipeline.export.config import ExportConfig
from hf_pipeline.export.graphs import (
    CLS_SLICE_NAMES,
    PRODUCER,
    FusionError,
    cls_only_last_layer,
    fold_layer_norm_shifts,
    fused_graph,
    portable_layer_norms,
)
from hf_pipeline.export.onnx_export import (
    PARITY_QUERIES,
    _torch_logits,
    export_graph,
    load_torch_model,
)
from hf_pipeline.export.stage import FP32_FILE
from hf_pipeline.runtime.onnx import encode, load_tokenizer, make_session

LAYERS = 2


@pytest.fixture(scope="module")
def uncut_graph(sensitive_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fused graph without the [CLS] cut, to compare the cut one against."""
    path = tmp_path_factory.mktemp("fused") / "fused.onnx"
    model = fused_graph(load_torch_model(sensitive_model_dir), load_tokenizer(sensitive_model_dir),
                        opset=ExportConfig().opset, cls_only=False)
    ops = {n.op_type for n in model.graph.node}
    assert "SkipLayerNormalization" in ops and "Slice" not in ops and "Sum" not in ops
    assert model.producer_name == PRODUCER
    path.write_bytes(model.SerializeToString())
    return path


def _left_padded(feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {name: np.zeros_like(array) for name, array in feeds.items()}
    for row, mask in enumerate(feeds["attention_mask"]):
        n = int(mask.sum())
        for name, array in feeds.items():
            out[name][row, -n:] = array[row, :n]
    return out


def test_default_graph_is_fused_cut_and_portable(export_dir: Path) -> None:
    model = onnx.load(str(export_dir / FP32_FILE))
    ops = [n.op_type for n in model.graph.node]
    # Every residual LayerNorm is Sum -> MeanVarianceNormalization -> Mul -> Add, with the
    # output projection's bias in its own Add (onnxruntime folds it into the INT8 MatMul).
    # Each shift (Add beta) is folded into the biases of its readers: the only Adds left are
    # the output projections' biases.
    assert {op: ops.count(op) for op in ("EmbedLayerNormalization", "Attention",
                                         "SkipLayerNormalization", "LayerNormalization",
                                         "Sum", "MeanVarianceNormalization", "Mul", "Add",
                                         "BiasGelu")} == {
        "EmbedLayerNormalization": 1, "Attention": LAYERS, "SkipLayerNormalization": 0,
        "LayerNormalization": 0, "Sum": 2 * LAYERS, "MeanVarianceNormalization": 2 * LAYERS,
        "Mul": 2 * LAYERS, "Add": 2 * LAYERS, "BiasGelu": LAYERS}
    normalize = [n for n in model.graph.node if n.op_type == "MeanVarianceNormalization"]
    assert all(list(n.attribute[0].ints) == [2] for n in normalize)  # over hidden only
    assert len(ops) <= 8 + 15 * LAYERS  # 6 layers: ~100, against ~240 in the dynamo graph
    assert {n.name for n in model.graph.node if n.op_type == "Slice"} == set(CLS_SLICE_NAMES)
    assert {o.domain for o in model.opset_import} >= {"", "com.microsoft"}
    assert model.producer_name == PRODUCER
    # The raw 2-D mask goes into every Attention (exact for any padding).
    masks = {n.input[3] for n in model.graph.node if n.op_type == "Attention"}
    assert len(masks) == 1


@pytest.mark.parametrize("padding", ["right", "left"])
def test_cls_cut_is_exact_for_single_queries_and_padded_batches(
        export_dir: Path, uncut_graph: Path, sensitive_model_dir: Path, padding: str) -> None:
    # The default graph is cut and has portable LayerNorms; uncut_graph has neither.
    tokenizer = load_tokenizer(sensitive_model_dir)
    cut, full = make_session(export_dir / FP32_FILE), make_session(uncut_graph)
    batch = encode(tokenizer, list(PARITY_QUERIES))
    cases = [encode(tokenizer, [q]) for q in PARITY_QUERIES[:4]]
    cases.append(batch if padding == "right" else _left_padded(batch))
    for feeds in cases:
        a, b = cut.run(["logits"], feeds)[0], full.run(["logits"], feeds)[0]
        assert np.abs(a - b).max() <= 1e-5
    # And both equal PyTorch, left padding included (the mask is not assumed to be a prefix).
    torch_logits = _torch_logits(load_torch_model(sensitive_model_dir), cases[-1])
    assert np.abs(cut.run(["logits"], cases[-1])[0] - torch_logits).max() <= 1e-4


def test_a_graph_the_optimizer_cannot_fuse_is_refused(sensitive_model_dir: Path,
                                                      tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from hf_pipeline.export import graphs

    real = graphs._fuse

    def fuse_without_attention(traced, *, num_heads, hidden_size):  # type: ignore[no-untyped-def]
        model, counts = real(traced, num_heads=num_heads, hidden_size=hidden_size)
        return model, {**counts, "Attention": 0}

    monkeypatch.setattr(graphs, "_fuse", fuse_without_attention)
    with pytest.raises(FusionError, match=r"did not fuse the exported graph as expected "
                                          r"\(Attention: 0 of 2\)\. Fix: export with "
                                          r"--attention eager"):
        export_graph(load_torch_model(sensitive_model_dir), load_tokenizer(sensitive_model_dir),
                     tmp_path / "m.onnx", opset=ExportConfig().opset, graph="bert_fused_cls")
    assert list(tmp_path.iterdir()) == []


def test_cls_cut_refuses_an_unexpected_layer() -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, "s", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, "s", 4])
    nodes = [helper.make_node("Attention", ["x", "w", "b"], ["a"], domain="com.microsoft",
                              num_heads=1),
             helper.make_node("Relu", ["a"], ["y"])]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y]))
    with pytest.raises(FusionError, match="does not feed one output-projection MatMul"):
        cls_only_last_layer(model)


def test_portable_norms_refuse_a_layer_norm_that_exposes_its_statistics() -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, "s", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, "s", 4])
    node = helper.make_node("SkipLayerNormalization", ["x", "x", "g", "b"], ["y", "mean"],
                            domain="com.microsoft", name="sln")
    model = helper.make_model(helper.make_graph([node], "g", [x], [y]))
    with pytest.raises(FusionError, match="sln exposes its mean/variance outputs"):
        portable_layer_norms(model)


def _shift_graph(extra_reader: bool) -> onnx.ModelProto:
    """x * gamma + beta (the shift, named like portable_layer_norms names it) read by a
    MatMul with a bias Add, and optionally by a Relu, which cannot absorb beta."""
    from onnx import numpy_helper

    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)
             for name, shape in (("gamma", (4,)), ("beta", (4,)), ("w", (4, 3)), ("b", (3,)))]
    nodes = [helper.make_node("Mul", ["x", "gamma"], ["scaled"], name="ln_gamma"),
             helper.make_node("Add", ["scaled", "beta"], ["y"], name="ln_beta"),
             helper.make_node("MatMul", ["y", "w"], ["mm"], name="mm"),
             helper.make_node("Add", ["mm", "b"], ["out"], name="bias")]
    outputs = [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, "s", 3])]
    if extra_reader:
        nodes.append(helper.make_node("Relu", ["y"], ["relu"], name="relu"))
        outputs.append(helper.make_tensor_value_info("relu", TensorProto.FLOAT, [1, "s", 4]))
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, "s", 4])
    model = helper.make_model(helper.make_graph(nodes, "g", [x], outputs, inits),
                              opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    return model


@pytest.mark.parametrize("extra_reader", [False, True])
def test_layer_norm_shift_folds_into_the_readers_biases(extra_reader: bool) -> None:
    import onnxruntime as ort

    model = _shift_graph(extra_reader)
    x = {"x": np.random.default_rng(1).standard_normal((1, 5, 4)).astype(np.float32)}

    def run(m: onnx.ModelProto) -> list[np.ndarray]:
        session = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        return session.run(None, x)

    before = run(model)
    folded = fold_layer_norm_shifts(model, ["ln_beta"])
    ops = [n.op_type for n in model.graph.node]
    if extra_reader:  # the Relu needs the shifted values: nothing moves
        assert folded == 0 and ops.count("Add") == 2
    else:
        assert folded == 1 and ops.count("Add") == 1
        assert "beta" not in {i.name for i in model.graph.initializer}
    for a, b in zip(before, run(model), strict=True):
        assert np.abs(a - b).max() <= 1e-5
