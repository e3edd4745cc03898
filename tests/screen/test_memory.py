"""Memory stays bounded: a screen in its own process, its RSS (with its workers) sampled from /proc."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from calcinosis.synth import generate_export

LIMIT_MIB = 1024


def _tree_rss_kib(pid: int) -> int:
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        for task in Path(f"/proc/{p}").glob("task/*/children"):
            try:
                todo.extend(int(c) for c in task.read_text().split())
            except OSError:
                pass
    return total


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc to sample RSS")
def test_peak_rss_stays_under_1_gib_when_screening_a_larger_export(tmp_path: Path) -> None:
    export = tmp_path / "export"
    generate_export(export, 1500, seed=21)
    size_mib = sum(p.stat().st_size for p in export.glob("*.ndjson")) / 2**20
    # A small engine budget and two worker processes: the whole process tree must stay under the bound.
    cmd = [sys.executable, "-m", "calcinosis", "screen", str(export), "--out", str(tmp_path / "out")]
    cmd += ["--memory-mb", "128", "--workers", "2", "--as-of", "2026-01-15"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_kib(proc.pid))
        time.sleep(0.05)
    out, err = proc.communicate()
    assert proc.returncode in (0, 1), err
    assert size_mib > 8
    assert peak > 0
    assert peak / 1024 <= LIMIT_MIB, f"peak RSS {peak / 1024:.0f} MiB"
    assert "peak memory" in out
