"""api/memory.py: memory freed by a burst of work goes back to the system (the soak's RSS
rose and fell by ~150 MB with what came last)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

BURST = r"""
import re, threading
from pathlib import Path
from api import memory

def rss_mb():
    return int(re.search(r"VmRSS:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) / 1024

assert memory.limit_arenas(2)
def burst():
    # 150 MB in 1 KB blocks (above pymalloc's 512 bytes: malloc's own), with a little kept
    # at the end so the heap cannot simply shrink from the top.
    blocks = [bytearray(1024) for _ in range(150_000)]
    keep.append(blocks[-1])
    del blocks
keep = []
t = threading.Thread(target=burst); t.start(); t.join()
before = rss_mb()
trimmed = memory.trim()
after = rss_mb()
print(f"{before:.0f} {after:.0f} {trimmed}")
"""


def test_memory_freed_by_a_burst_goes_back_to_the_system() -> None:
    out = subprocess.run([sys.executable, "-c", BURST], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, env={"PYTHONPATH": str(ROOT)})  # fmt: skip
    assert out.returncode == 0, out.stderr
    before, after, trimmed = out.stdout.split()
    assert trimmed == "True"
    assert float(before) - float(after) > 100, out.stdout  # most of the 150 MB given back
