"""The INT8 presets: which fp32 graph each one starts from and how it is quantized.

Pure data (no heavy imports), read by the config, the exporter, the quantizer and the bench.

Graphs (``hf_pipeline.export.trace`` traces them, ``hf_pipeline.export.graphs`` fuses the
``bert_*`` ones; each is parity-checked against PyTorch):
- ``dynamo``: torch.onnx's dynamo exporter, ~240 plain ONNX nodes.
- ``torchscript``: torch.onnx's TorchScript exporter, unfused: what optimum exports, so the
  reference pipeline's graph.
- ``bert_fused``: the TorchScript exporter's graph run through onnxruntime's BERT optimizer:
  EmbedLayerNormalization, 6 x Attention, SkipLayerNormalization, BiasGelu (~50 nodes).
- ``bert_fused_cls``: the same, and the last layer computes its attention output and
  feed-forward for the [CLS] row only, the one row the pooler reads (exact for any batch).
- ``bert_portable_cls``: ``bert_fused_cls`` with its residual LayerNorms written as
  Sum -> MeanVarianceNormalization -> Mul -> Add: bit-identical logits under onnxruntime
  1.22 (the runtime's) and 1.32, and none of 1.32's slow SkipLayerNormalization.

Quantization (onnxruntime): ``dynamic`` quantizes activations at run time; ``static_*``
quantizes the MatMul inputs with ranges calibrated on training texts (QDQ format, U8S8 or
S8S8), and the fused Attention stays dynamic (QDQ has no Attention). Weight scales are
chosen separately for the Attention QKV weights and for the other MatMuls, which are
``per_channel``, ``per_tensor``, or ``residual``: per-channel for the matrices that write
into the residual stream (attention and feed-forward output projections, embeddings) and
per-tensor for those that only read from it (feed-forward input). Per-tensor MatMuls run
faster (one scale: no per-column rescaling of the output); on the output projections they
cost 2-3x the fidelity to fp32 (KL, argmax agreement), on the feed-forward input nothing
measurable (README, "INT8 presets").
"""

from __future__ import annotations

from dataclasses import dataclass

GRAPHS: tuple[str, ...] = ("dynamo", "torchscript", "bert_fused", "bert_fused_cls",
                           "bert_portable_cls")
QUANT_MODES: tuple[str, ...] = ("dynamic", "static_u8s8", "static_s8s8")
MATMUL_SCALES: tuple[str, ...] = ("per_channel", "per_tensor", "residual")


@dataclass(frozen=True)
class QuantPreset:
    name: str
    graph: str
    mode: str
    op_types: tuple[str, ...]  # onnxruntime op types quantized to int8
    matmul_scales: str  # MatMul weights (and embeddings): one of MATMUL_SCALES
    attention_per_channel: bool  # the fused Attention's QKV weights
    description: str

    @property
    def static(self) -> bool:
        return self.mode != "dynamic"

    @property
    def per_channel(self) -> bool:
        """Per-channel scales for the MatMuls that write into the residual stream (and the
        embeddings): every preset but the per-tensor ones."""
        return self.matmul_scales != "per_tensor"


_FUSED_OPS = ("MatMul", "Attention", "EmbedLayerNormalization", "Gather")

PRESETS: dict[str, QuantPreset] = {p.name: p for p in (
    QuantPreset("matmul_torchscript", "torchscript", "dynamic", ("MatMul",), "per_channel",
                True, "the reference pipeline's recipe: its exporter's graph (TorchScript, as "
                "optimum exports), MatMul weights only, per-channel"),
    QuantPreset("matmul", "dynamo", "dynamic", ("MatMul",), "per_channel", True,
                "the reference's quantization on the dynamo graph: MatMul weights only, "
                "per-channel"),
    QuantPreset("matmul_gather", "dynamo", "dynamic", ("MatMul", "Gather"), "per_channel", True,
                "MatMul per-channel + embedding tables (Gather), dynamo graph"),
    QuantPreset("fused", "bert_fused", "dynamic", _FUSED_OPS, "per_channel", True,
                "BERT-fused graph, every weight int8 (QAttention, QEmbedLayerNorm), "
                "per-channel"),
    QuantPreset("fused_cls_pc", "bert_fused_cls", "dynamic", _FUSED_OPS, "per_channel", True,
                "fused graph, [CLS]-only last layer, per-channel everywhere"),
    QuantPreset("fused_cls", "bert_fused_cls", "dynamic", _FUSED_OPS, "per_tensor", True,
                "fused graph, [CLS]-only last layer, per-tensor MatMuls, per-channel "
                "Attention"),
    QuantPreset("fused_cls_static", "bert_fused_cls", "static_u8s8", _FUSED_OPS, "per_tensor",
                True, "fused_cls with static U8S8 MatMuls (QDQ, calibrated on training texts)"),
    QuantPreset("fused_cls_static_s8", "bert_fused_cls", "static_s8s8", _FUSED_OPS,
                "per_tensor", True, "fused_cls with static S8S8 MatMuls (QDQ, calibrated on "
                "training texts)"),
    QuantPreset("portable_pc", "bert_portable_cls", "dynamic", _FUSED_OPS, "per_channel", True,
                "portable LayerNorms, [CLS]-only last layer, per-channel everywhere"),
    QuantPreset("portable_mixed", "bert_portable_cls", "dynamic", _FUSED_OPS, "residual", False,
                "portable LayerNorms, [CLS]-only last layer; per-channel for the matrices "
                "that write into the residual stream, per-tensor for QKV and feed-forward "
                "input"),
    QuantPreset("portable_pt", "bert_portable_cls", "dynamic", _FUSED_OPS, "per_tensor", False,
                "portable LayerNorms, [CLS]-only last layer, per-tensor everywhere"),
)}
PRESET_NAMES: tuple[str, ...] = tuple(PRESETS)
DEFAULT_PRESET = "portable_pc"
# The recipe every latency ratio is taken against: the reference pipeline's export path
# (optimum, hence the TorchScript exporter) and its quantization (dynamic INT8 of the MatMuls,
# per-channel). ``matmul`` quantizes the same way from the dynamo graph, which onnxruntime 1.32
# runs slower (README, "Single-query latency").
REFERENCE_PRESET = "matmul_torchscript"

assert all(p.graph in GRAPHS and p.mode in QUANT_MODES and p.matmul_scales in MATMUL_SCALES
           for p in PRESETS.values())
assert DEFAULT_PRESET in PRESETS and REFERENCE_PRESET in PRESETS
