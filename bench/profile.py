"""Where a server's time goes under load: py-spy samples the process while the load generator runs.

Used by ``python -m bench --profile`` (py-spy comes with the ``bench`` extra: ``pip install -e '.[bench]'``).
Samples are folded into inclusive and self percentages per function; line numbers and the site-packages
prefix are dropped so the same function adds up across call sites.
"""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.load import RequestSpec, run_load

_LINE = re.compile(r":\d+\)")
_SITE = re.compile(r"\(.*?(site-packages|lib/python3\.\d+)/")


def py_spy() -> str | None:
    """The py-spy executable: next to this Python (a venv's bin/) or on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def _name(frame: str) -> str:
    return _SITE.sub("(", _LINE.sub(")", frame))


def fold(raw: str, top: int = 25) -> dict:
    """Inclusive and self shares (percent of samples) of the ``top`` functions in py-spy's raw output."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_name(frame) for frame in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count

    def shares(counter: collections.Counter[str]) -> list[list]:
        return [[name, round(100 * n / total, 1)] for name, n in counter.most_common(top)] if total else []

    return {"samples": total, "inclusive": shares(inclusive), "self": shares(own)}


def profile_under_load(pid: int, request: RequestSpec, seconds: float, connections: int) -> dict:
    """Sample process ``pid`` for ``seconds`` while ``request`` is repeated against it."""
    executable = py_spy()
    if executable is None:
        return {"error": "py-spy is not installed (pip install -e '.[bench]')"}
    loader = threading.Thread(target=run_load, args=(request, seconds + 1.5, connections), daemon=True)
    loader.start()
    time.sleep(0.5)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "profile.txt"
        completed = subprocess.run(
            [executable, "record", "--rate", "1000", "--duration", str(max(1, round(seconds))), "--format", "raw",
             "--output", str(out), "--pid", str(pid), "--nonblocking"],
            capture_output=True, text=True, timeout=seconds + 60, check=False)
        loader.join(timeout=seconds + 30)
        if not out.exists():
            return {"error": (completed.stderr or completed.stdout).strip()[-500:]}
        return fold(out.read_text())
