"""The fused fp32 graphs: onnxruntime's BERT fusions, and a last layer that computes [CLS] only.

The graph rewrites, in memory: each starts from the TorchScript graph of
``hf_pipeline.export.trace`` (the one tracer), and ``onnx_export`` writes the result.

Why not the dynamo graph: onnxruntime's transformer optimizer recognises BERT's attention and
embedding subgraphs only in the TorchScript exporter's form; on the dynamo graph it fuses
BiasGelu and SkipLayerNorm and leaves ~190 nodes. On the TorchScript graph (eager attention)
it fuses everything into ~50 com.microsoft nodes (EmbedLayerNormalization, Attention,
SkipLayerNormalization, BiasGelu), which every standard onnxruntime build runs, including
the library the Rust runtime loads. The attention mask is passed to Attention raw (2-D), so
the graph is exact for any padding, not only right padding.

Removing work a query does not need: the classifier reads only the pooler, and the pooler
reads only row 0 ([CLS]) of the last layer. Attention still needs every row's keys and
values, but the last layer's attention output projection, both of its LayerNorms and its
feed-forward block are row-wise, so they can run on row 0 alone. Exact for padded batches
too: row 0 is [CLS] in every row of a right-padded batch, and the pooler takes row 0 in any
case.

Portable LayerNorms (``portable_layer_norms``): the residual LayerNorms are written as
Sum -> MeanVarianceNormalization -> Mul(gamma) -> Add(beta) instead of SkipLayerNormalization.
Two reasons, both measured (README, "INT8 presets"):
- the same logits on every onnxruntime: SkipLayerNormalization and LayerNormalization
  changed their arithmetic between 1.22 (what sqry-nl loads) and 1.32 (about 1 ulp), and
  dynamic INT8 turns an ulp into a different activation scale, then into logits up to 0.57
  apart; MeanVarianceNormalization, Sum, Mul and Add compute bit-identical results in both,
  and so does every other op of the graph;
- speed: onnxruntime 1.32's SkipLayerNormalization costs ~1.3 us per 384-wide row, 4x 1.22's,
  and its optimizer fuses Add -> LayerNormalization back into it; nothing fuses Sum or
  MeanVarianceNormalization. Under 1.22 the four ops cost what the fused one did.
MeanVarianceNormalization's epsilon is onnxruntime's 1e-9 instead of BERT's 1e-12: far below
float32 resolution for hidden states of unit scale (parity with PyTorch: ~5e-6). Each
LayerNorm's shift (the Add of beta) then moves into the biases of what reads it (the next
Attention or feed-forward MatMul, the next residual sum, the pooler), one node fewer per
LayerNorm: under 1.22 the portable graph then runs as fast as the fused one.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hf_pipeline.errors import CheckFailedError
from hf_pipeline.export.trace import trace

if TYPE_CHECKING:
    import numpy as np
    import onnx
    import torch
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

PRODUCER = "hf-pipeline (torch.onnx TorchScript + onnxruntime BERT fusion)"
CLS_SLICE_NAMES = ("cls_only_attention", "cls_only_residual")
MS_DOMAIN = "com.microsoft"


class FusionError(CheckFailedError, ValueError):
    """onnxruntime's optimizer did not fuse the graph as expected: the faster presets need it."""


def expected_fusions(num_layers: int) -> dict[str, int]:
    """The fused op counts a BERT encoder of ``num_layers`` layers must reach."""
    return {"EmbedLayerNormalization": 1, "Attention": num_layers,
            "SkipLayerNormalization": 2 * num_layers, "BiasGelu": num_layers}


def fused_graph(model: torch.nn.Module, tokenizer: Tokenizer, *, opset: int, cls_only: bool,
                portable_norms: bool = False) -> onnx.ModelProto:
    """``model`` traced by the TorchScript exporter and fused by onnxruntime's BERT optimizer;
    optionally its last layer cut to [CLS] and its residual LayerNorms in portable ops."""
    traced = trace(model, tokenizer, opset=opset, exporter="torchscript")
    fused, counts = _fuse(traced, num_heads=int(model.config.num_attention_heads),
                          hidden_size=int(model.config.hidden_size))
    check_fusions(counts, num_layers=int(model.config.num_hidden_layers))
    if cls_only:
        cls_only_last_layer(fused)
    if portable_norms:
        portable_layer_norms(fused)
    fused.producer_name = PRODUCER
    return fused


def check_fusions(counts: dict[str, int], *, num_layers: int) -> None:
    """Raise FusionError naming every fused op whose count is not the expected one."""
    expected = expected_fusions(num_layers)
    missing = {op: (counts.get(op, 0), n) for op, n in expected.items() if counts.get(op, 0) != n}
    if missing:
        raise FusionError(
            "onnxruntime's BERT optimizer did not fuse the exported graph as expected ("
            + ", ".join(f"{op}: {got} of {want}" for op, (got, want) in missing.items())
            + "). Fix: export with --attention eager, or pick a preset on the dynamo graph "
            "(--preset matmul_gather).")


def _fuse(traced: onnx.ModelProto, *, num_heads: int, hidden_size: int
          ) -> tuple[onnx.ModelProto, dict[str, int]]:
    """onnxruntime's BERT fusions on ``traced`` (changed in place); the fused op counts."""
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import AttentionMaskFormat, FusionOptions

    options = FusionOptions("bert")
    # Raw 2-D mask into Attention: correct for any padding (mask_index assumes right padding).
    options.attention_mask_format = AttentionMaskFormat.AttentionMask
    # opt_level 0: only the Python fusions; onnxruntime applies its own at load time, so the
    # file stays free of hardware-specific rewrites.
    optimized = optimizer.optimize_model(traced, model_type="bert", num_heads=num_heads,
                                         hidden_size=hidden_size, opt_level=0,
                                         optimization_options=options, use_gpu=False)
    counts = {op: n for op, n in optimized.get_fused_operator_statistics().items() if n}
    optimized.topological_sort()
    model = optimized.model
    if not any(o.domain == MS_DOMAIN for o in model.opset_import):
        model.opset_import.add(domain=MS_DOMAIN, version=1)
    return model, counts


def cls_only_last_layer(model: onnx.ModelProto) -> None:
    """Make the last encoder layer compute everything after its Attention for row 0 only:
    slice the Attention output and the residual to ``[batch, 1, hidden]`` (in place)."""
    import numpy as np
    from onnx import helper, numpy_helper

    graph = model.graph
    attention = [n for n in graph.node if n.op_type == "Attention"][-1]
    layer_input, attention_out = attention.input[0], attention.output[0]
    consumers = [n for n in graph.node if attention_out in n.input]
    if len(consumers) != 1 or consumers[0].op_type != "MatMul":
        raise FusionError("the last Attention does not feed one output-projection MatMul; "
                          "cannot cut the last layer to [CLS].")
    projection = consumers[0]
    norms = [n for n in graph.node if projection.output[0] in n.input]
    if (len(norms) != 1 or norms[0].op_type != "SkipLayerNormalization"
            or layer_input not in norms[0].input):
        raise FusionError("the last attention block is not MatMul -> SkipLayerNormalization "
                          "with the layer input as residual; cannot cut it to [CLS].")
    graph.initializer.extend(numpy_helper.from_array(np.array([v], np.int64), name)
                             for name, v in (("cls_start", 0), ("cls_end", 1), ("cls_axis", 1)))
    bounds = ["cls_start", "cls_end", "cls_axis"]
    attention_row, residual_row = (f"{name}_output" for name in CLS_SLICE_NAMES)
    slices = [helper.make_node("Slice", [attention_out, *bounds], [attention_row],
                               name=CLS_SLICE_NAMES[0]),
              helper.make_node("Slice", [layer_input, *bounds], [residual_row],
                               name=CLS_SLICE_NAMES[1])]
    projection.input[list(projection.input).index(attention_out)] = attention_row
    norm = norms[0]
    norm.input[list(norm.input).index(layer_input)] = residual_row
    nodes = list(graph.node)
    at = nodes.index(projection)
    nodes[at:at] = slices
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.value_info[:]  # shapes after the cut changed; onnxruntime re-infers them


def portable_layer_norms(model: onnx.ModelProto) -> int:
    """Rewrite every SkipLayerNormalization(x, skip, gamma, beta[, bias]) as
    [Add(x, bias) ->] Sum(., skip) -> MeanVarianceNormalization -> Mul(gamma) -> Add(beta),
    in place, then fold each Add(beta) into the biases of its readers where they allow it
    (``fold_layer_norm_shifts``); return how many were rewritten. Why: the module docstring."""
    from onnx import helper

    graph = model.graph
    rewritten, nodes, shifts = 0, [], []
    for node in graph.node:
        if node.op_type != "SkipLayerNormalization":
            nodes.append(node)
            continue
        if len(node.output) > 1 and any(node.output[1:]):
            raise FusionError(f"{node.name} exposes its mean/variance outputs; cannot rewrite it.")
        x, skip, gamma, beta = node.input[:4]
        bias = node.input[4] if len(node.input) > 4 else ""
        name = node.name or f"SkipLayerNorm_{rewritten}"
        if bias:
            nodes.append(helper.make_node("Add", [x, bias], [f"{name}_biased"],
                                          name=f"{name}_bias"))
            x = f"{name}_biased"
        shift = helper.make_node("Add", [f"{name}_scaled", beta], [node.output[0]],
                                 name=f"{name}_beta")
        nodes += [
            helper.make_node("Sum", [x, skip], [f"{name}_residual"], name=f"{name}_residual"),
            # axes=[2]: hidden states are [batch, sequence, hidden]; normalise over hidden.
            helper.make_node("MeanVarianceNormalization", [f"{name}_residual"],
                             [f"{name}_normalized"], name=f"{name}_normalize", axes=[2]),
            helper.make_node("Mul", [f"{name}_normalized", gamma], [f"{name}_scaled"],
                             name=f"{name}_gamma"),
            shift,
        ]
        shifts.append(shift)
        rewritten += 1
    del graph.node[:]
    graph.node.extend(nodes)
    fold_layer_norm_shifts(model, [s.name for s in shifts])
    return rewritten


# (node, input index, new value): one bias that absorbs a LayerNorm's shift.
BiasUpdate = tuple["onnx.NodeProto", int, "np.ndarray"]


def fold_layer_norm_shifts(model: onnx.ModelProto, shifts: list[str]) -> int:
    """Remove each Add(scaled, beta) named in ``shifts`` (a LayerNorm's shift) by moving beta
    into the biases of everything that reads its output y, where every reader allows it
    (``_READERS``: Attention, MatMul -> bias, the next residual Sum, the [CLS] Slice/Gather
    -> pooler Gemm). Exact in real arithmetic (new biases computed in float64); one node
    fewer per LayerNorm. The readers' input loses the shift, which moves what dynamic INT8
    quantizes: fidelity to fp32 measured the same (README). In place; returns how many were
    folded."""
    index = _FoldIndex(model.graph)
    folded = 0
    for shift in [n for n in model.graph.node if n.name in set(shifts)]:
        updates = _shift_updates(index, shift)
        if updates is not None:
            _move_shift(index, shift, updates)
            folded += 1
    _drop_unused_initializers(model.graph)
    return folded


class _FoldIndex:
    """Lookups over the graph, built once before any fold: producers, consumers, constants."""

    def __init__(self, graph: onnx.GraphProto) -> None:
        self.graph = graph
        self.initializers = {i.name: i for i in graph.initializer}
        self.producers = {out: node for node in graph.node for out in node.output}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for node in graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.outputs = {o.name for o in graph.output}

    def value(self, name: str) -> np.ndarray:
        import numpy as np
        from onnx import numpy_helper

        return numpy_helper.to_array(self.initializers[name]).astype(np.float64)

    def constant_input(self, node: onnx.NodeProto) -> int | None:
        """The index of ``node``'s one constant input; None if it has none or several."""
        found = [i for i, name in enumerate(node.input) if name in self.initializers]
        return found[0] if len(found) == 1 else None

    def add_constant(self, base: str, value: np.ndarray) -> str:
        """Add ``value`` as a float32 initializer named after ``base``; return its name."""
        import numpy as np
        from onnx import numpy_helper

        name = f"{base}_shifted"
        while name in self.initializers:
            name += "_"
        self.initializers[name] = numpy_helper.from_array(value.astype(np.float32), name)
        self.graph.initializer.append(self.initializers[name])
        return name


def _shift_updates(index: _FoldIndex, shift: onnx.NodeProto) -> list[BiasUpdate] | None:
    """The bias updates that absorb ``shift``'s beta for all of its readers; None: some
    reader cannot (or y is a graph output, or beta is not a constant)."""
    beta_name, y = shift.input[1], shift.output[0]
    readers = index.consumers.get(y, [])
    if y in index.outputs or not readers or beta_name not in index.initializers:
        return None
    beta = index.value(beta_name)
    plans = [_reader_updates(index, reader, y, beta) for reader in readers]
    if any(plan is None for plan in plans):
        return None
    return [update for plan in plans if plan for update in plan]


def _move_shift(index: _FoldIndex, shift: onnx.NodeProto, updates: list[BiasUpdate]) -> None:
    """Write the new biases, point the readers at the unshifted values, drop the Add."""
    scaled, y = shift.input[0], shift.output[0]
    for node, at, bias in updates:
        node.input[at] = index.add_constant(node.input[at], bias)
    for reader in index.consumers[y]:
        reader.input[:] = [scaled if name == y else name for name in reader.input]
    index.graph.node.remove(shift)


def _drop_unused_initializers(graph: onnx.GraphProto) -> None:
    used = {name for node in graph.node for name in node.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)


def _reader_updates(index: _FoldIndex, reader: onnx.NodeProto, src: str, beta: np.ndarray
                    ) -> list[BiasUpdate] | None:
    """The bias updates that absorb beta for this reader of ``src``; None: cannot."""
    absorb = _READERS.get(reader.op_type)
    return absorb(index, reader, src, beta) if absorb else None


def _into_attention(index: _FoldIndex, reader: onnx.NodeProto, src: str, beta: np.ndarray
                    ) -> list[BiasUpdate] | None:
    """Attention(y, W, b): b + beta @ W."""
    if reader.input[0] != src:
        return None
    return [(reader, 2, index.value(reader.input[2]) + beta @ index.value(reader.input[1]))]


def _into_matmul_bias(index: _FoldIndex, reader: onnx.NodeProto, src: str, beta: np.ndarray
                      ) -> list[BiasUpdate] | None:
    """MatMul(y, W) -> BiasGelu or Add with a constant bias b: b + beta @ W."""
    if reader.input[0] != src or reader.input[1] not in index.initializers:
        return None
    after = index.consumers.get(reader.output[0], [])
    if len(after) != 1 or after[0].op_type not in ("BiasGelu", "Add"):
        return None
    at = index.constant_input(after[0])
    if at is None:
        return None
    return [(after[0], at,
             index.value(after[0].input[at]) + beta @ index.value(reader.input[1]))]


def _into_residual_sum(index: _FoldIndex, reader: onnx.NodeProto, src: str, beta: np.ndarray
                       ) -> list[BiasUpdate] | None:
    """Sum(x_biased, y), the next residual sum: the bias Add that makes x_biased (read by
    this Sum only) gets b + beta."""
    if len(reader.input) != 2:
        return None
    other = index.producers.get(reader.input[1] if reader.input[0] == src else reader.input[0])
    if (other is None or other.op_type != "Add"
            or len(index.consumers.get(other.output[0], [])) != 1):
        return None
    at = index.constant_input(other)
    if at is None:
        return None
    return [(other, at, index.value(other.input[at]) + beta)]


def _through_row_select(index: _FoldIndex, reader: onnx.NodeProto, src: str, beta: np.ndarray
                        ) -> list[BiasUpdate] | None:
    """A Slice or Gather of sequence rows (the [CLS] cut, the pooler's [CLS]) keeps each
    row's features in place: beta passes through to what reads the selected rows."""
    if reader.input[0] != src:
        return None
    axis = next((a.i for a in reader.attribute if a.name in ("axis", "axes")), 0)
    if reader.op_type == "Gather" and axis in (-1, 2):
        return None  # a gather over the hidden features would reorder beta
    if reader.op_type == "Slice" and (
            len(reader.input) < 4 or reader.input[3] not in index.initializers
            or index.value(reader.input[3]).tolist() != [1]):
        return None  # only the [CLS] cut's slice over the sequence
    updates: list[BiasUpdate] = []
    for after in index.consumers.get(reader.output[0], []):
        more = _reader_updates(index, after, reader.output[0], beta)
        if more is None:
            return None
        updates += more
    return updates


def _into_gemm(index: _FoldIndex, reader: onnx.NodeProto, src: str, beta: np.ndarray
               ) -> list[BiasUpdate] | None:
    """Gemm(y_rows, W, b), the pooler: b + beta @ W (W^T with transB)."""
    if reader.input[0] != src or len(reader.input) != 3:
        return None
    weight = index.value(reader.input[1])
    if any(a.name == "transB" and a.i for a in reader.attribute):
        weight = weight.T
    return [(reader, 2, index.value(reader.input[2]) + beta @ weight)]


_READERS = {"Attention": _into_attention, "MatMul": _into_matmul_bias,
            "Sum": _into_residual_sum, "Slice": _through_row_select,
            "Gather": _through_row_select, "Gemm": _into_gemm}


def residual_writers(model: onnx.ModelProto) -> list[str]:
    """Names of the weight MatMuls whose output is added into the residual stream (the
    attention and feed-forward output projections): directly, or after a bias Add, into a
    SkipLayerNormalization or a Sum/Add of two activations. The others (feed-forward input)
    only read from it."""
    graph = model.graph
    constants = {i.name for i in graph.initializer}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def is_residual_sum(node: onnx.NodeProto) -> bool:
        if node.op_type == "SkipLayerNormalization":
            return True
        return node.op_type in ("Sum", "Add") and not any(i in constants for i in node.input)

    writers = []
    for node in graph.node:
        if node.op_type != "MatMul" or node.input[1] not in constants:
            continue
        reached = consumers.get(node.output[0], [])
        if len(reached) == 1 and reached[0].op_type == "Add" and any(
                i in constants for i in reached[0].input):  # the bias
            reached = consumers.get(reached[0].output[0], [])
        if any(is_residual_sum(n) for n in reached):
            writers.append(node.name)
    return writers
