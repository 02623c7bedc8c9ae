"""Tools on an ONNX file: ``verify`` (is it what the runtime loads?) and ``benchmark``."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hf_pipeline.contract import ONNX_OUTPUT
from hf_pipeline.errors import DataFileError
from hf_pipeline.export.config import BenchmarkConfig
from hf_pipeline.io import sha256_file

if TYPE_CHECKING:
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

# Queries as people type them to sqry: short, a few identifiers.
BENCH_QUERIES: tuple[str, ...] = (
    "who calls parse_config",
    "find all functions that call parse_config in src/server",
    "what does handle_request call",
    "show the call path from main to write_checkpoint",
    "search for TODO comments mentioning the tokenizer",
    "visualize the dependency graph of the auth module",
    "is the index up to date",
    "where is class HttpClient defined",
)


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str
    shape: list[str | int]


@dataclass(frozen=True)
class VerifyReport:
    path: str
    valid: bool
    problems: list[str]
    size_bytes: int
    sha256: str
    ir_version: int | None = None
    opsets: dict[str, int] = field(default_factory=dict)
    producer: str = ""
    inputs: list[TensorInfo] = field(default_factory=list)
    outputs: list[TensorInfo] = field(default_factory=list)
    quantization: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        def io(items: list[TensorInfo]) -> str:
            return ", ".join(f"{t.name} {t.dtype}{t.shape}" for t in items) or "-"

        lines = [f"file:      {self.path}",
                 f"valid:     {'yes' if self.valid else 'NO'}",
                 f"size:      {self.size_bytes / 1e6:.2f} MB ({self.size_bytes} bytes)",
                 f"sha256:    {self.sha256}"]
        if self.ir_version is not None:
            opsets = ", ".join(f"{d or 'ai.onnx'} {v}" for d, v in self.opsets.items())
            lines += [f"ir:        {self.ir_version}", f"opsets:    {opsets}",
                      f"producer:  {self.producer}", f"inputs:    {io(self.inputs)}",
                      f"outputs:   {io(self.outputs)}",
                      "quantized: " + ", ".join(f"{k} {v}" for k, v in self.quantization.items())]
        lines += [f"problem:   {p}" for p in self.problems]
        return "\n".join(lines)


def verify_onnx(path: str | Path) -> VerifyReport:
    """Check ``path`` with onnx.checker and against the runtime contract; never raises on a
    bad graph (the report says why), only on a missing file."""
    import onnx

    from hf_pipeline.export.onnx_export import ExportError, check_graph
    from hf_pipeline.model_folder.int8 import quantization_summary

    path = Path(path)
    if not path.is_file():
        raise DataFileError(path, "no such file.", fix="pass the path of an .onnx file.")
    base = {"path": str(path), "size_bytes": path.stat().st_size, "sha256": sha256_file(path)}
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # protobuf DecodeError and friends
        return VerifyReport(valid=False, problems=[f"not an ONNX model: {e}"], **base)
    problems = []
    try:
        check_graph(path)
    except ExportError as e:
        problems.append(str(e).removeprefix(f"{path}: "))
    summary = quantization_summary(path)
    summary.pop("op_counts")
    return VerifyReport(
        valid=not problems, problems=problems, ir_version=model.ir_version,
        opsets={o.domain: o.version for o in model.opset_import},
        producer=f"{model.producer_name} {model.producer_version}".strip(),
        inputs=[_tensor_info(v) for v in model.graph.input],
        outputs=[_tensor_info(v) for v in model.graph.output], quantization=summary, **base)


def _tensor_info(value: Any) -> TensorInfo:
    from onnx import helper

    tensor = value.type.tensor_type
    dtype = helper.tensor_dtype_to_np_dtype(tensor.elem_type).name if tensor.elem_type else "?"
    return TensorInfo(value.name, dtype,
                      [d.dim_param or d.dim_value for d in tensor.shape.dim])


@dataclass(frozen=True)
class Latency:
    threads: int
    tokenization: bool
    p50_ms: float
    p90_ms: float
    p99_ms: float


@dataclass(frozen=True)
class Throughput:
    threads: int
    batch_size: int
    samples_per_s: float


@dataclass(frozen=True)
class BenchReport:
    path: str
    size_bytes: int
    latency: list[Latency]
    throughput: list[Throughput]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def p50(self, *, threads: int, tokenization: bool) -> float:
        return next(r.p50_ms for r in self.latency
                    if r.threads == threads and r.tokenization == tokenization)

    def samples_per_s(self, *, threads: int) -> float:
        return next(t.samples_per_s for t in self.throughput if t.threads == threads)

    def table(self) -> str:
        lines = [f"{self.path} ({self.size_bytes / 1e6:.2f} MB)",
                 f"{'single query':<24} {'threads':>7} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}"]
        lines += [f"{'incl. tokenization' if r.tokenization else 'model only':<24} "
                  f"{r.threads:>7} {r.p50_ms:>8.3f} {r.p90_ms:>8.3f} {r.p99_ms:>8.3f}"
                  for r in self.latency]
        lines += [f"{'batch ' + str(t.batch_size) + ' throughput':<24} {t.threads:>7} "
                  f"{t.samples_per_s:>8.0f} samples/s" for t in self.throughput]
        return "\n".join(lines)


def benchmark(path: str | Path, *, tokenizer: str | Path | Tokenizer,
              cfg: BenchmarkConfig | None = None) -> BenchReport:
    """Single-query latency (with and without tokenization) and batch throughput."""
    from hf_pipeline.runtime.onnx import encode, load_tokenizer, make_session

    cfg = cfg or BenchmarkConfig()
    tok = load_tokenizer(tokenizer) if isinstance(tokenizer, (str, Path)) else tokenizer
    queries = list(cfg.queries or BENCH_QUERIES)
    encoded = [encode(tok, [q]) for q in queries]
    batch = encode(tok, [queries[i % len(queries)] for i in range(cfg.batch_size)])
    latency, throughput = [], []
    for threads in cfg.threads:
        session = make_session(path, threads=threads)

        def run(feeds: dict[str, Any], session: Any = session) -> None:
            session.run([ONNX_OUTPUT], feeds)

        latency.append(_latency(lambda i: run(encode(tok, [queries[i % len(queries)]])),
                                threads, True, cfg))
        latency.append(_latency(lambda i: run(encoded[i % len(encoded)]), threads, False, cfg))
        run(batch)
        start = time.perf_counter()
        for _ in range(cfg.batch_runs):
            run(batch)
        seconds = time.perf_counter() - start
        throughput.append(Throughput(threads, cfg.batch_size,
                                     cfg.batch_size * cfg.batch_runs / seconds))
    return BenchReport(str(path), Path(path).stat().st_size, latency, throughput)


def _latency(call: Callable[[int], None], threads: int, tokenization: bool,
             cfg: BenchmarkConfig) -> Latency:
    import numpy as np

    for i in range(cfg.warmup):
        call(i)
    times = np.empty(cfg.runs)
    for i in range(cfg.runs):
        start = time.perf_counter()
        call(i)
        times[i] = time.perf_counter() - start
    p50, p90, p99 = (float(np.percentile(times, q) * 1e3) for q in (50, 90, 99))
    return Latency(threads, tokenization, p50, p90, p99)
