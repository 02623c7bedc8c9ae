"""The one tracer: a PyTorch classifier -> an in-memory ONNX graph with the runtime's signature.

Every graph the export writes starts here: the classifier wrapped to the runtime's three int64
inputs and one ``logits`` output, traced on one example batch by one of torch.onnx's two
exporters, with dynamic ``batch`` and ``sequence`` axes.

- ``dynamo``: ``torch.onnx.export(dynamo=True)``, ~240 plain ONNX nodes.
- ``torchscript``: ``torch.onnx.export(dynamo=False)``, the exporter optimum uses (so the
  reference pipeline's graph), and the only one onnxruntime's BERT optimizer fuses
  (``hf_pipeline.export.graphs``).

Nothing here writes a file or rewrites a graph: ``onnx_export`` writes, ``graphs`` rewrites,
and both import this module, never each other's callers.
"""

from __future__ import annotations

import io
import warnings
from typing import TYPE_CHECKING

from hf_pipeline.contract import ONNX_INPUTS, ONNX_OUTPUT
from hf_pipeline.errors import InvalidValueError
from hf_pipeline.limits import MAX_BATCH_SIZE
from hf_pipeline.runtime.onnx import encode

if TYPE_CHECKING:
    import onnx
    import torch
    from tokenizers import Tokenizer

EXPORTERS: tuple[str, ...] = ("dynamo", "torchscript")
# The producer of a file written as traced (``onnx_export`` sets it). ``trace`` leaves torch's
# own ("pytorch"): onnxruntime's BERT optimizer checks it on what it fuses.
PRODUCERS = {"dynamo": "hf-pipeline (torch.onnx dynamo)",
             "torchscript": "hf-pipeline (torch.onnx TorchScript)"}
# Batch of 2 with >= 3 tokens, so neither dynamic axis is specialised to 0 or 1.
EXAMPLE_QUERIES: tuple[str, ...] = ("who calls parse_config", "show the index status")


def trace(model: torch.nn.Module, tokenizer: Tokenizer, *, opset: int,
          exporter: str) -> onnx.ModelProto:
    """``model``'s logits as an ONNX graph traced by ``exporter`` (one of ``EXPORTERS``):
    inputs ``ONNX_INPUTS`` (int64 ``[batch, sequence]``), output ``logits`` ``[batch, n]``."""
    import torch

    if exporter not in EXPORTERS:
        raise InvalidValueError("exporter", exporter, f"one of {', '.join(EXPORTERS)}")
    wrapped, args = logits_only(model), example_batch(tokenizer)
    with torch.no_grad():
        if exporter == "dynamo":
            proto = _dynamo(wrapped, args, opset=opset, max_positions=int(
                getattr(model.config, "max_position_embeddings", 512)))
        else:
            proto = _torchscript(wrapped, args, opset=opset)
    return proto


def logits_only(model: torch.nn.Module) -> torch.nn.Module:
    """Wrap the classifier so the graph has exactly the runtime's inputs and one output."""
    import torch

    class LogitsOnly(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor) -> torch.Tensor:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).logits

    return LogitsOnly(model).eval()


def example_batch(tokenizer: Tokenizer) -> tuple[torch.Tensor, ...]:
    """The traced inputs, in ``ONNX_INPUTS`` order, encoded as the runtime encodes them."""
    import torch

    feeds = encode(tokenizer, list(EXAMPLE_QUERIES))
    return tuple(torch.from_numpy(feeds[name]) for name in ONNX_INPUTS)


def _dynamo(wrapped: torch.nn.Module, args: tuple[torch.Tensor, ...], *, opset: int,
            max_positions: int) -> onnx.ModelProto:
    import torch

    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH_SIZE)
    sequence = torch.export.Dim("sequence", min=1, max=max_positions)
    shapes = {name: {0: batch, 1: sequence} for name in ONNX_INPUTS}
    program = torch.onnx.export(
        wrapped, args, None, input_names=list(ONNX_INPUTS), output_names=[ONNX_OUTPUT],
        opset_version=opset, dynamo=True, dynamic_shapes=shapes, external_data=False,
        verbose=False)
    return program.model_proto


def _torchscript(wrapped: torch.nn.Module, args: tuple[torch.Tensor, ...], *,
                 opset: int) -> onnx.ModelProto:
    import onnx
    import torch

    axes = {name: {0: "batch", 1: "sequence"} for name in ONNX_INPUTS}
    axes[ONNX_OUTPUT] = {0: "batch"}
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The legacy exporter warns that it is legacy, and the tracer about the mask code it
        # specialises; parity against PyTorch covers every shape the runtime sends.
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapped, args, buffer, input_names=list(ONNX_INPUTS),
                          output_names=[ONNX_OUTPUT], opset_version=opset, dynamo=False,
                          dynamic_axes=axes)
    return onnx.load_model_from_string(buffer.getvalue())
