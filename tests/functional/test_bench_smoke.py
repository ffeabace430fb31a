"""The benchmark keeps working: its smoke mode runs end to end.

Figures are not asserted (timing belongs to the benchmark, not the tests);
what is asserted is that every part ran and that nothing failed on the way.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@functools.cache
def _smoke_table() -> str:
    """The table of one ``bench/run.py --smoke`` run (shared by the tests)."""
    run = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "run.py"), "--smoke"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run.stdout[run.stdout.index("| measure |"):]


def test_the_benchmark_smoke_run_measures_every_part():
    table = _smoke_table()
    for row in ("ceiling: dd conv=fdatasync write", "upload 16 MiB, chunked",
                "download 16 MiB (Content-Length upload)",
                "8 concurrent downloads of one image, aggregate",
                "ceiling: one HTTP hop to a bare app under gunicorn",
                "create, 8 clients (80 images through the api)",
                "HEAD one image at 200 images, p50",
                "32 concurrent list clients at 200 images"):
        assert "\n| %s" % row in table, row
    assert "create errors" not in table
    assert "|   list errors | 0.0  |" in table
    assert "|   delete errors | 0.0  |" in table


def test_the_benchmark_smoke_run_measures_every_v2_part():
    """v2 beside v1: create, show, the list reads (their checks -- status,
    image count, next link, filter results -- run before timing, so a row
    only appears when its read worked) and the data path both ways."""
    table = _smoke_table()
    rows = ["v2 create, 8 clients, JSON (80 images through the api)"]
    for read in ("show one image", "first page", "deep marker page", "property filter",
                 "name=in: filter (2 names)"):
        rows += ["v2 %s at 200 images, p50" % read, "v2 %s at 200 images, p95" % read]
    for mode in ("Content-Length", "chunked"):
        rows += ["v2 upload 16 MiB, %s" % mode, "v2 download 16 MiB (%s upload)" % mode]
    for row in rows:
        assert "\n| %s |" % row in table, row
    assert "v2 create errors" not in table
