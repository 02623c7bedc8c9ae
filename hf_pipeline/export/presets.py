"""The INT8 presets: which fp32 graph each one starts from and how it is quantized.

Pure data (no heavy imports), read by the config, the exporter, the quantizer and the bench.

Graphs (``hf_pipeline.export.graphs`` builds them; each is parity-checked against PyTorch):
- ``dynamo``: torch.onnx's dynamo exporter, ~240 plain ONNX nodes (the reference's graph).
- ``bert_fused``: the TorchScript exporter's graph run through onnxruntime's BERT optimizer:
  EmbedLayerNormalization, 6 x Attention, SkipLayerNormalization, BiasGelu (~50 nodes).
- ``bert_fused_cls``: the same, and the last layer computes its attention output and
  feed-forward for the [CLS] row only, the one row the pooler reads (exact for any batch).

Quantization (onnxruntime): ``dynamic`` quantizes activations at run time; ``static_*``
quantizes the MatMul inputs with ranges calibrated on training texts (QDQ format, U8S8 or
S8S8), and the fused Attention stays dynamic (QDQ has no Attention). Per-channel scales
are chosen separately for the Attention QKV weights and for the other MatMuls.
"""

from __future__ import annotations

from dataclasses import dataclass

GRAPHS: tuple[str, ...] = ("dynamo", "bert_fused", "bert_fused_cls")
QUANT_MODES: tuple[str, ...] = ("dynamic", "static_u8s8", "static_s8s8")


@dataclass(frozen=True)
class QuantPreset:
    name: str
    graph: str
    mode: str
    op_types: tuple[str, ...]  # onnxruntime op types quantized to int8
    per_channel: bool  # MatMul weights (and embeddings)
    attention_per_channel: bool  # the fused Attention's QKV weights
    description: str

    @property
    def static(self) -> bool:
        return self.mode != "dynamic"


_FUSED_OPS = ("MatMul", "Attention", "EmbedLayerNormalization", "Gather")

PRESETS: dict[str, QuantPreset] = {p.name: p for p in (
    QuantPreset("matmul", "dynamo", "dynamic", ("MatMul",), True, True,
                "reference recipe: MatMul weights only, per-channel, on the dynamo graph"),
    QuantPreset("matmul_gather", "dynamo", "dynamic", ("MatMul", "Gather"), True, True,
                "MatMul per-channel + embedding tables (Gather), dynamo graph"),
    QuantPreset("fused", "bert_fused", "dynamic", _FUSED_OPS, True, True,
                "BERT-fused graph, every weight int8 (QAttention, QEmbedLayerNorm), "
                "per-channel"),
    QuantPreset("fused_cls_pc", "bert_fused_cls", "dynamic", _FUSED_OPS, True, True,
                "fused graph, [CLS]-only last layer, per-channel everywhere"),
    QuantPreset("fused_cls", "bert_fused_cls", "dynamic", _FUSED_OPS, False, True,
                "fused graph, [CLS]-only last layer, per-tensor MatMuls, per-channel "
                "Attention"),
    QuantPreset("fused_cls_static", "bert_fused_cls", "static_u8s8", _FUSED_OPS, False, True,
                "fused_cls with static U8S8 MatMuls (QDQ, calibrated on training texts)"),
    QuantPreset("fused_cls_static_s8", "bert_fused_cls", "static_s8s8", _FUSED_OPS, False,
                True, "fused_cls with static S8S8 MatMuls (QDQ, calibrated on training "
                "texts)"),
)}
PRESET_NAMES: tuple[str, ...] = tuple(PRESETS)
DEFAULT_PRESET = "fused_cls_pc"
# The recipe every latency ratio is taken against (the reference scripts' choice).
REFERENCE_PRESET = "matmul"

assert all(p.graph in GRAPHS and p.mode in QUANT_MODES for p in PRESETS.values())
assert DEFAULT_PRESET in PRESETS and REFERENCE_PRESET in PRESETS
