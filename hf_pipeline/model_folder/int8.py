"""Is a graph INT8: what its quantization covers, and the one check that a folder ships INT8."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from hf_pipeline.errors import DataFileError, artifact_errors
from hf_pipeline.model_folder.layout import ONNX_WRITTEN_BY, REEXPORT


def load_graph(path: str | Path) -> Any:
    """The graph of the ONNX file ``path``; a damaged file is a DataFileError naming it."""
    import onnx

    with artifact_errors(path, written_by=ONNX_WRITTEN_BY, fix=REEXPORT):
        graph = onnx.load(str(path), load_external_data=False).graph
        if not graph.node:  # an empty file parses as an empty model
            raise ValueError("the file holds no graph")
    return graph


def op_counts(path: str | Path) -> Counter[str]:
    """How many nodes of each op type the graph has."""
    return Counter(node.op_type for node in load_graph(path).node)


def quantization_summary(path: str | Path) -> dict[str, Any]:
    """What is quantized: int8 weight MatMuls (dynamic, or QDQ: a DequantizeLinear of an int8
    initializer feeding a MatMul), fused int8 Attention, int8 embeddings, and what stays fp32."""
    from onnx import TensorProto

    graph = load_graph(path)
    dtypes = {init.name: init.data_type for init in graph.initializer}
    int8 = {TensorProto.INT8, TensorProto.UINT8}
    float_weights = {name for name, dtype in dtypes.items() if dtype == TensorProto.FLOAT}
    int8_dequantized = {n.output[0] for n in graph.node
                        if n.op_type == "DequantizeLinear" and dtypes.get(n.input[0]) in int8}
    counts = Counter(node.op_type for node in graph.node)
    return {
        "int8_matmuls": counts["MatMulInteger"] + counts["DynamicQuantizeMatMul"]
        + counts["MatMulIntegerToFloat"]
        + sum(1 for n in graph.node if n.op_type == "MatMul" and n.input[1] in int8_dequantized),
        "int8_attention": counts["QAttention"],
        "int8_gathers": sum(1 for n in graph.node
                            if n.op_type == "Gather" and dtypes.get(n.input[0]) in int8),
        "int8_embed_layernorms": counts["QEmbedLayerNormalization"],
        "fp32_gathers": sum(1 for n in graph.node
                            if n.op_type == "Gather" and n.input[0] in float_weights),
        "fp32_weight_matmuls": sum(1 for n in graph.node if n.op_type in ("MatMul", "Gemm")
                                   and any(i in float_weights for i in n.input[1:2])),
        "fp32_attention": sum(1 for n in graph.node if n.op_type == "Attention"
                              and any(i in float_weights for i in n.input[1:2])),
        "op_counts": dict(sorted(counts.items())),
    }


def check_int8(onnx_path: str | Path) -> None:
    """The model folder ships the INT8 graph: at least one int8 MatMul (or fused int8
    Attention, whose QKV projection is one)."""
    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise DataFileError(onnx_path, "no ONNX model here.",
                            fix="run `hf-pipeline export model --model MODEL_DIR --output DIR` "
                            "first.")
    summary = quantization_summary(onnx_path)
    if summary["int8_matmuls"] + summary["int8_attention"] == 0:
        raise DataFileError(onnx_path, "this model is not quantized (no int8 MatMul); the "
                            "model folder ships the INT8 graph, and calibration must see its "
                            "logits.", fix="use model.int8.onnx of the export folder.")
