"""The reliability campaign: faults, fuzzing, load and the security matrix
against real daemons, then RELIABILITY.rst rewritten from what they found.

    python bench/reliability.py             # the full campaign (about an hour)
    python bench/reliability.py --short     # what every CI run does, minutes
    tox -e reliability                      # the same as the first line

The cases are pytest tests (tests/reliability/, and the security and
OpenAPI tests under tests/functional/); each appends its figures as a row
(tests/reliability/report.py), and this script renders those rows as one
table per kind. The tests assert the targets (no orphaned bytes, no stuck
image, no unexplained 5xx, no cross-project access, no error under load),
so a failed target fails the command as well as showing in the table.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.reliability import report  # noqa: E402

TESTS = ["tests/reliability",
         "tests/functional/test_security_matrix.py",
         "tests/functional/test_address_refusals.py",
         "tests/functional/test_openapi.py"]
# Each kind of row, its heading and what its columns mean, in report order.
TABLES = {
    "faults": ("Fault matrix",
               "One row per fault, database, store and API. ``bytes_left``: bytes of "
               "the image left in any store after recovery; ``orphans``: what "
               "``glance-scrubber --orphans`` found; 5xx: answers the clients saw "
               "(a 503 while a dependency is down is the expected answer)."),
    "fuzzing": ("Fuzzing",
                "doc/openapi.yaml against the running service (schemathesis): server "
                "errors and answers that contradict the document."),
    "load": ("Load",
             "locust, headless, mixed requests; latencies in milliseconds."),
    "soak": ("Soak",
             "Moderate load for a long time: the daemons' resident memory at the "
             "start and at the end."),
    "security": ("Security matrix",
                 "Two projects and the admin, member and reader roles through a real "
                 "Keystone; hostile headers, tokens, ids and addresses."),
}
FULL_FUZZ_EXAMPLES = "100"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true",
                        help="only what the default test run does (minutes)")
    parser.add_argument("--output", default=str(REPO / "RELIABILITY.rst"),
                        help="where to write the report (default: %(default)s)")
    parser.add_argument("pytest_args", nargs="*", help="passed on to pytest (e.g. -k swift)")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="glance-reliability-"))
    results, junit = work / "rows.jsonl", work / "junit.xml"
    env = dict(os.environ, **{report.RESULTS_ENV: str(results)})
    if not args.short:
        env[report.CAMPAIGN_ENV] = "full"
        env.setdefault("GLANCE_FUZZ_EXAMPLES", FULL_FUZZ_EXAMPLES)
    started = time.monotonic()
    code = subprocess.call(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--junitxml", str(junit), *TESTS, *args.pytest_args], cwd=str(REPO), env=env)
    minutes = (time.monotonic() - started) / 60
    rows = _rows(results)
    text = render(rows, _outcome(junit), short=args.short, minutes=minutes)
    Path(args.output).write_text(text)
    print("wrote %s (%d rows), pytest exit code %d" % (args.output, len(rows), code))
    return code


def _rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _outcome(junit: Path) -> dict:
    """Counts of passed, failed and skipped tests, and the failed ones' names."""
    outcome = {"tests": 0, "failed": [], "skipped": 0}
    if not junit.exists():
        return outcome
    for case in ElementTree.parse(junit).iter("testcase"):
        outcome["tests"] += 1
        if case.find("failure") is not None or case.find("error") is not None:
            outcome["failed"].append("%s::%s" % (case.get("classname"), case.get("name")))
        elif case.find("skipped") is not None:
            outcome["skipped"] += 1
    return outcome


def render(rows: list[dict], outcome: dict, short: bool, minutes: float) -> str:
    """RELIABILITY.rst: how it was run, the verdict, then one table per kind of row."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=str(REPO),
                            capture_output=True, text=True).stdout.strip() or "unknown"
    failed = outcome["failed"]
    lines = [
        "Reliability campaign", "=" * len("Reliability campaign"), "",
        "Written by ``python bench/reliability.py%s`` (do not edit by hand)." % (
            " --short" if short else ""), "",
        "- When: %s, commit %s, %.0f minutes" % (
            datetime.date.today().isoformat(), commit, minutes),
        "- Machine: %d cores, Python %s, %s" % (
            os.cpu_count() or 0, platform.python_version(), platform.platform(terse=True)),
        "- Tests: %d run, %d failed, %d skipped" % (
            outcome["tests"], len(failed), outcome["skipped"]),
        "- Verdict: %s" % ("every target met" if not failed and outcome["tests"]
                           else "NOT MET, see the failed tests below"), ""]
    if failed:
        lines += ["Failed tests::", ""] + ["    " + name for name in failed] + [""]
    by_table = collections.defaultdict(list)
    for row in rows:
        by_table[row["table"]].append(row)
    for table in list(TABLES) + sorted(set(by_table) - set(TABLES)):
        if table not in by_table:
            continue
        title, about = TABLES.get(table, (table.capitalize(), ""))
        lines += [title, "-" * len(title), "", about, "", *_grid(by_table[table]), ""]
    return "\n".join(lines)


def _grid(rows: list[dict]) -> list[str]:
    """An RST grid table of ``rows``, columns in order of first appearance."""
    columns = []
    for row in rows:
        columns += [key for key in row if key != "table" and key not in columns]
    cells = [[_cell(row.get(column, "")) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells))
              for i, column in enumerate(columns)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(values):
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    out = [rule, line(columns), rule.replace("-", "=")]
    for values in cells:
        out += [line(values), rule]
    return out


def _cell(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "%.1f" % value
    return str(value).replace("\n", " ")


if __name__ == "__main__":
    sys.exit(main())
