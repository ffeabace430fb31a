"""Rows for RELIABILITY.rst, written by the campaign's tests as they run.

A test calls ``record(table, case, **fields)`` once per case it checked;
when ``GLANCE_RELIABILITY_RESULTS`` names a file (the campaign command sets
it) the row is appended there as one JSON line, and ``bench/reliability.py``
renders every table from those lines. Outside the campaign nothing is
written: the assertions are the test, the row is its figure.
"""

from __future__ import annotations

import json
import os

RESULTS_ENV = "GLANCE_RELIABILITY_RESULTS"
CAMPAIGN_ENV = "GLANCE_CAMPAIGN"


def full() -> bool:
    """True in the long campaign (``GLANCE_CAMPAIGN=full``), False in the default run."""
    return os.environ.get(CAMPAIGN_ENV) == "full"


def record(table: str, case: str, **fields) -> dict:
    """Append one row of ``table``; fields keep their order as columns."""
    row = {"table": table, "case": case, **fields}
    path = os.environ.get(RESULTS_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(row, default=str) + "\n")
    return row
