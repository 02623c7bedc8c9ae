"""Ctrl-C, whenever it comes: the command stops, cleans up, says "interrupted", and the
process dies by SIGINT (a shell shows 130 and a script that ran it stops too).

Two causes made this depend on timing: Python drops an interrupt that lands in a finalizer
(the run then trained and published as if nothing had happened), and CPython 3.11 dies by
SIGINT after a handled interrupt only when it had passed through code run by ``exec``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from hf_pipeline.cli import resend_lost_interrupts


class RaisesWhenCollected:
    def __del__(self) -> None:
        raise KeyboardInterrupt  # where Ctrl-C lands when the collector runs a finalizer


def test_an_interrupt_that_lands_in_a_finalizer_is_raised_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", resend_lost_interrupts(seen.append))
    obj = RaisesWhenCollected()
    with pytest.raises(KeyboardInterrupt):
        del obj  # Python itself would print "Exception ignored" and go on
        for _ in range(500):  # 5 s of ordinary code
            time.sleep(0.01)
    assert seen == []

    class Other:
        def __del__(self) -> None:
            raise ValueError("not an interrupt")
    other = Other()
    del other  # any other unraisable goes to the hook as before
    assert [type(s.exc_value) for s in seen] == [ValueError]


def test_ctrl_c_ends_in_interrupted_and_death_by_sigint(tmp_path: Path) -> None:
    from verify.test_verify import SAMPLES, _sample, _verdicts, _write

    vfile = _write(tmp_path / "verification.json", [_sample(*s) for s in SAMPLES],
                   dataset_samples=40)
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        # `review` reads its answers from a pipe that stays open: it waits until interrupted.
        process = subprocess.Popen([sys.executable, "-m", "hf_pipeline", "review", str(vfile)],
                                   stdin=subprocess.PIPE, stdout=stdout, stderr=stderr,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        process.stdin.write(b"y\n")  # one answer; then it waits for the next
        process.stdin.flush()
        deadline = time.monotonic() + 60
        while "1/6" not in out.read_text(errors="replace"):
            assert process.poll() is None and time.monotonic() < deadline, err.read_text()
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == -signal.SIGINT
    finally:
        process.kill()
        process.wait()
    assert "interrupted; every answer so far is saved" in err.read_text()
    assert "Traceback" not in err.read_text()
    assert _verdicts(vfile)[0] == ("correct", None)  # and the answer given is saved
