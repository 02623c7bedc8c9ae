"""``hf-pipeline predict`` on a terminal prints a small table; to a pipe or a file, or with
--json, the JSON lines scripts read (a real pseudo-terminal, a real pipe)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from hf_pipeline.runtime import IntentClassifier
from hf_pipeline.runtime.cli import format_table

QUERIES = ["who calls parse_config", ""]


def predict(release: Path, *extra: str, tty: bool) -> str:
    """stdout of `python -m hf_pipeline predict` on a pseudo-terminal or a pipe."""
    cmd = [sys.executable, "-m", "hf_pipeline", "predict", "--model", str(release), *QUERIES,
           *extra]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "120"}
    if not tty:
        return subprocess.run(cmd, capture_output=True, text=True, env=env, check=True,
                              timeout=120).stdout
    leader, follower = pty.openpty()
    process = subprocess.Popen(cmd, stdout=follower, stderr=subprocess.DEVNULL, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert process.wait(timeout=120) == 0
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def test_a_terminal_gets_a_table(tiny_release_dir: Path) -> None:
    expected = IntentClassifier.from_dir(tiny_release_dir).predict(QUERIES)
    out = predict(tiny_release_dir, tty=True)
    assert out == format_table(QUERIES, expected)
    header, rule, first, empty = out.splitlines()
    assert header.split() == ["query", "intent", "confidence", "tier"]
    assert set(rule.replace(" ", "")) == {"-"}
    assert first.split()[:4] == ["who", "calls", "parse_config", expected[0].intent]
    assert f"{expected[0].confidence:.3f}" in first  # 3 decimals, not 17
    assert empty.split() == ["(empty)", "Ambiguous", "0.000", "disambiguate", "(empty_input)"]


@pytest.mark.parametrize("tty", [False, True])
def test_json_lines_for_pipes_and_with_json(tiny_release_dir: Path, tty: bool) -> None:
    out = predict(tiny_release_dir, *(["--json"] if tty else []), tty=tty)
    rows = [json.loads(line) for line in out.splitlines()]
    expected = IntentClassifier.from_dir(tiny_release_dir).predict(QUERIES)
    assert [r["text"] for r in rows] == QUERIES
    assert [{k: r[k] for k in ("intent", "confidence", "probabilities", "tier", "flags")}
            for r in rows] == [p.to_dict() for p in expected]


def test_long_queries_are_cut_in_the_table_only() -> None:
    from hf_pipeline.runtime.classifier import Prediction

    text = "where is " + "very_long_identifier_" * 5 + "defined"
    line = format_table([text], [Prediction("SymbolQuery", 0.9, {}, "execute")]).splitlines()[2]
    assert line.startswith(text[:47] + "…  SymbolQuery")
