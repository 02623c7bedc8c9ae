"""Run ONNX models under whatever onnxruntime the interpreter has; needs only numpy.

Executed by path inside another virtualenv (``hf_pipeline.export.compat``), so it imports
nothing from hf_pipeline. Usage: ``python ort_probe.py REQUEST.json RESULT.json``, where the
request names an ``.npz`` of feeds (``{i}/{input}`` arrays) and the models, and asks for
``logits`` (saved to an ``.npz``: ``{model}/{i}``) or ``timing`` (single queries, one thread,
the models alternated in shuffled rounds over the same feeds, as the bench does). Optional
``options``: per model, session settings on top of the runtime's (``level``: a
GraphOptimizationLevel name, ``config``: session config entries, ``attributes``:
SessionOptions attributes), so that one file can be timed under several settings.
"""

from __future__ import annotations

import json
import random
import sys
import time
from typing import Any


def _session(ort: Any, path: str, spec: dict[str, Any] | None = None) -> Any:
    spec = spec or {}
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel,
                                               spec.get("level", "ORT_ENABLE_ALL"))
    options.log_severity_level = 3
    for key, value in spec.get("config", {}).items():
        options.add_session_config_entry(key, value)
    for key, value in spec.get("attributes", {}).items():
        setattr(options, key, value)
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def main(request_path: str, result_path: str) -> int:
    import numpy as np
    import onnxruntime as ort

    with open(request_path, encoding="utf-8") as f:
        request = json.load(f)
    data = np.load(request["feeds"])
    count = len({key.split("/")[0] for key in data.files})
    feeds = [{key.split("/")[1]: data[key] for key in data.files if key.split("/")[0] == str(i)}
             for i in range(count)]
    specs = request.get("options", {})
    sessions = {name: _session(ort, path, specs.get(name))
                for name, path in request["models"].items()}
    result: dict = {"onnxruntime": ort.__version__}
    if request["action"] == "logits":
        out = {}
        for name, session in sessions.items():
            names = [i.name for i in session.get_inputs()]
            for i, feed in enumerate(feeds):
                out[f"{name}/{i}"] = session.run(["logits"], {k: feed[k] for k in names})[0]
        np.savez(request["output"], **out)
    else:
        names = list(sessions)
        times: dict[str, list[float]] = {name: [] for name in names}
        for name in names:  # warm-up
            for feed in feeds:
                sessions[name].run(["logits"], feed)
        shuffle = random.Random(0).shuffle  # as the bench: no model always follows the same one
        for _ in range(int(request["rounds"])):
            shuffle(names)
            for name in names:
                session = sessions[name]
                for feed in feeds:
                    start = time.perf_counter()
                    session.run(["logits"], feed)
                    times[name].append(time.perf_counter() - start)
        result["seconds"] = times
    with open(result_path, "w", encoding="utf-8") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
