"""INT8 presets: which ops each one quantizes, with which scales, and that the result runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from fixtures.tiny_export import texts_and_labels

from hf_pipeline.errors import DataFileError, InvalidValueError
from hf_pipeline.export.config import ExportConfig
from hf_pipeline.export.graphs import residual_writers
from hf_pipeline.export.onnx_export import export_graph, load_torch_model
from hf_pipeline.export.presets import DEFAULT_PRESET, PRESETS, REFERENCE_PRESET
from hf_pipeline.export.quantize import calibration_feeds, quantize
from hf_pipeline.export.stage import FP32_FILE
from hf_pipeline.model_folder.int8 import quantization_summary
from hf_pipeline.runtime.onnx import OnnxClassifier, load_tokenizer

# The tiny model (2 layers): on the dynamo and TorchScript graphs, 2 x (Q, K, V, attention
# output, FFN in, FFN out) + pooler + classifier; on the fused graph Q, K, V are inside
# Attention.
WEIGHT_MATMULS = 2 * 6 + 2
FUSED_MATMULS = 2 * 3 + 2
LAYERS = 2
EMBEDDING_TABLES = 3  # word, position, token type


@pytest.fixture(scope="module")
def fp32_graphs(sensitive_model_dir: Path, export_dir: Path,
                tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The export's fp32 file is the default preset's graph; the others are exported here."""
    out = tmp_path_factory.mktemp("graphs")
    model = load_torch_model(sensitive_model_dir)
    tokenizer = load_tokenizer(sensitive_model_dir)
    graphs = {PRESETS[DEFAULT_PRESET].graph: export_dir / FP32_FILE}
    for graph in {p.graph for p in PRESETS.values()} - set(graphs):
        graphs[graph] = export_graph(model, tokenizer, out / f"{graph}.onnx",
                                     opset=ExportConfig().opset, graph=graph)
    return graphs


@pytest.fixture(scope="module")
def quantized(fp32_graphs: dict[str, Path], export_dir: Path,
              tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("quantized")
    texts, _ = texts_and_labels()
    feeds = calibration_feeds(texts, load_tokenizer(export_dir), samples=len(texts))
    return {name: quantize(fp32_graphs[spec.graph], out / f"{name}.onnx", preset=name,
                           calibration=feeds if spec.static else None)
            for name, spec in PRESETS.items()}


def test_fp32_graphs_have_the_expected_weights(fp32_graphs: dict[str, Path]) -> None:
    for graph in ("dynamo", "torchscript"):  # the tracers' graphs, unfused
        traced = quantization_summary(fp32_graphs[graph])
        assert traced["fp32_weight_matmuls"] == WEIGHT_MATMULS, graph
        assert traced["fp32_gathers"] == EMBEDDING_TABLES, graph
        assert traced["int8_matmuls"] == traced["int8_gathers"] == 0, graph
        assert traced["fp32_attention"] == 0, graph
    for graph in ("bert_fused", "bert_fused_cls", "bert_portable_cls"):
        fused = quantization_summary(fp32_graphs[graph])
        assert fused["fp32_weight_matmuls"] == FUSED_MATMULS
        assert fused["fp32_attention"] == LAYERS
        assert fused["op_counts"]["EmbedLayerNormalization"] == 1  # holds the 3 tables
        assert fused["int8_matmuls"] == fused["int8_attention"] == 0


@pytest.mark.parametrize("preset", ["matmul", "matmul_torchscript"])
def test_matmul_presets_quantize_matmuls_only(quantized: dict[str, Path], preset: str) -> None:
    summary = quantization_summary(quantized[preset])
    assert summary["int8_matmuls"] == WEIGHT_MATMULS and summary["fp32_weight_matmuls"] == 0
    assert summary["int8_gathers"] == 0 and summary["fp32_gathers"] == EMBEDDING_TABLES


def test_the_reference_preset_is_the_reference_pipelines_recipe() -> None:
    spec = PRESETS[REFERENCE_PRESET]
    assert (spec.graph, spec.mode, spec.op_types, spec.per_channel) == (
        "torchscript", "dynamic", ("MatMul",), True)


def test_matmul_gather_preset_also_quantizes_embeddings(quantized: dict[str, Path]) -> None:
    summary = quantization_summary(quantized["matmul_gather"])
    assert summary["int8_matmuls"] == WEIGHT_MATMULS
    assert summary["int8_gathers"] == EMBEDDING_TABLES
    assert summary["fp32_gathers"] == 0
    assert summary["op_counts"]["DequantizeLinear"] == EMBEDDING_TABLES


@pytest.mark.parametrize("preset", ["fused", "fused_cls_pc", "fused_cls", "portable_pc",
                                    "portable_mixed", "portable_pt"])
def test_fused_presets_quantize_every_weight(quantized: dict[str, Path], preset: str) -> None:
    summary = quantization_summary(quantized[preset])
    assert summary["int8_matmuls"] == FUSED_MATMULS
    assert summary["int8_attention"] == LAYERS
    assert summary["int8_embed_layernorms"] == 1
    assert summary["fp32_weight_matmuls"] == summary["fp32_attention"] == 0


def test_residual_writers_are_the_output_projections(fp32_graphs: dict[str, Path]) -> None:
    # Two per layer (attention output, feed-forward output), whatever form the sum takes:
    # SkipLayerNormalization, Sum (portable) or Add -> LayerNormalization (dynamo). Not on the
    # unfused TorchScript graph of this tiny model: its all-zero biases are deduplicated into
    # Identity nodes, which hide that they are constants (no preset reads it that way).
    for graph, path in fp32_graphs.items():
        if graph == "torchscript":
            continue
        writers = residual_writers(onnx.load(str(path)))
        assert len(writers) == 2 * LAYERS, graph
        if graph != "dynamo":  # the dynamo exporter names nodes node_MatMul_<n>
            assert all(w.endswith("output/dense/MatMul") for w in writers), writers


@pytest.mark.parametrize(("preset", "writers", "readers", "attention"), [
    ("fused", True, True, True), ("fused_cls_pc", True, True, True),
    ("fused_cls", False, False, True), ("portable_pc", True, True, True),
    ("portable_mixed", True, False, False), ("portable_pt", False, False, False)])
def test_scales_follow_the_preset(fp32_graphs: dict[str, Path], quantized: dict[str, Path],
                                  preset: str, writers: bool, readers: bool,
                                  attention: bool) -> None:
    """Per-channel or not, per group: the MatMuls that write into the residual stream, those
    that only read from it (feed-forward input), the Attention QKV weights, and the pooler
    and classifier (per-channel with the writers)."""
    spec = PRESETS[preset]
    writer_names = set(residual_writers(onnx.load(str(fp32_graphs[spec.graph]))))
    graph = onnx.load(str(quantized[preset])).graph
    sizes = {i.name: int(np.prod(i.dims)) for i in graph.initializer}
    # MatMulInteger(a, b, a_zero_point, b_zero_point); QAttention's weight_zero_point is input 7.
    groups: dict[str, list[bool]] = {"writers": [], "readers": [], "heads": []}
    for node in graph.node:
        if node.op_type == "MatMulInteger":
            source = node.name.removesuffix("_quant")
            group = ("writers" if source in writer_names else
                     "heads" if "Gemm" in source else "readers")
            groups[group].append(sizes[node.input[3]] > 1)
    assert {g: len(v) for g, v in groups.items()} == {"writers": 2 * LAYERS,
                                                      "readers": LAYERS, "heads": 2}
    assert set(groups["writers"]) == set(groups["heads"]) == {writers}
    assert set(groups["readers"]) == {readers}
    qkv = [sizes[n.input[7]] for n in graph.node if n.op_type == "QAttention"]
    assert len(qkv) == LAYERS and {n > 1 for n in qkv} == {attention}


@pytest.mark.parametrize(("preset", "activation_type"),
                         [("fused_cls_static", onnx.TensorProto.UINT8),
                          ("fused_cls_static_s8", onnx.TensorProto.INT8)])
def test_static_presets_fix_the_matmul_input_ranges(quantized: dict[str, Path], preset: str,
                                                    activation_type: int) -> None:
    summary = quantization_summary(quantized[preset])
    # QDQ: each weight MatMul reads DequantizeLinear of int8 weights and of its input, which
    # is quantized with a calibrated, constant scale; pooler and classifier (Gemm) stay fp32.
    assert summary["int8_matmuls"] == 2 * 3
    assert summary["fp32_weight_matmuls"] == 2
    graph = onnx.load(str(quantized[preset])).graph
    constants = {i.name: i for i in graph.initializer}
    inputs = [n for n in graph.node if n.op_type == "QuantizeLinear"]
    assert len(inputs) == 2 * 3
    assert all(n.input[1] in constants for n in inputs)  # a fixed scale, not a dynamic one
    assert {constants[n.input[2]].data_type for n in inputs} == {activation_type}
    assert summary["int8_attention"] == LAYERS  # QDQ has no Attention: it stays dynamic


def test_static_preset_needs_calibration(export_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidValueError, match="training texts for the static preset"):
        quantize(export_dir / FP32_FILE, tmp_path / "q.onnx", preset="fused_cls_static")
    assert list(tmp_path.iterdir()) == []


def test_embedding_quantization_shrinks_the_file(fp32_graphs: dict[str, Path],
                                                 quantized: dict[str, Path]) -> None:
    fp32 = fp32_graphs["dynamo"].stat().st_size
    matmul = quantized["matmul"].stat().st_size
    # The tiny model is mostly its 30522 x 32 word-embedding table: int8 is ~1/4 of it.
    for preset, spec in PRESETS.items():
        if "Gather" in spec.op_types:
            assert quantized[preset].stat().st_size < 0.4 * matmul, preset
    assert matmul < fp32


@pytest.mark.parametrize("preset", list(PRESETS))
def test_quantized_model_runs_and_stays_close(fp32_graphs: dict[str, Path],
                                              quantized: dict[str, Path], export_dir: Path,
                                              preset: str) -> None:
    texts = ["who calls parse_config", "is the index fresh", "hmm"]
    fp32 = OnnxClassifier(fp32_graphs["dynamo"], tokenizer=export_dir).logits(texts)
    int8 = OnnxClassifier(quantized[preset], tokenizer=export_dir).logits(texts)
    assert int8.shape == (3, 8) and int8.dtype == np.float32
    assert np.abs(int8 - fp32).max() < 0.25 * np.abs(fp32).max()


def test_unknown_preset(export_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidValueError, match="preset: got 'fp16'"):
        quantize(export_dir / FP32_FILE, tmp_path / "q.onnx", preset="fp16")


def test_missing_input(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no fp32 ONNX model to quantize"):
        quantize(tmp_path / "none.onnx", tmp_path / "q.onnx", preset="matmul")
    assert list(tmp_path.iterdir()) == []
