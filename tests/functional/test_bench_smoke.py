"""The benchmark keeps working: its smoke mode runs end to end.

Figures are not asserted (timing belongs to the benchmark, not the tests);
what is asserted is that every part ran and that nothing failed on the way.
"""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_the_benchmark_smoke_run_measures_every_part():
    run = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "run.py"), "--smoke"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    table = run.stdout[run.stdout.index("| measure |"):]
    for row in ("ceiling: dd conv=fdatasync write", "upload 16 MiB, chunked",
                "download 16 MiB (Content-Length upload)",
                "8 concurrent downloads of one image, aggregate",
                "ceiling: one HTTP hop to a bare app under gunicorn",
                "create, 8 clients (200 images through the api)",
                "HEAD one image at 200 images, p50",
                "32 concurrent list clients at 200 images"):
        assert "\n| %s" % row in table, row
    assert "| create errors |" not in table
    assert "|   list errors | 0.0  |" in table
    assert "|   delete errors | 0.0  |" in table
