"""Fixtures of the reliability campaign's fault matrix (tests/reliability only)."""

from __future__ import annotations

import threading

import pytest

from tests.pairs import database as migrated_database
from tests.reliability import rig as rigs


@pytest.fixture(scope="module")
def fault_rig(tmp_path_factory):
    """``fault_rig(request, database, store)``: the rig of that combination,
    started on first use and kept for the module, so each pair starts once.

    Module scope: the pairs stop before the session's PostgreSQL databases
    are dropped under them.
    """
    started: dict[tuple[str, str], rigs.Rig] = {}

    def get(request, database: str, store: str) -> rigs.Rig:
        key = (database, store)
        if key not in started:
            # Asked through the test's request: only combinations a run
            # uses need PostgreSQL or the Swift cluster.
            swift = request.getfixturevalue("swift_cluster") if store == "swift" else None
            url = migrated_database(request, tmp_path_factory, database)
            base = tmp_path_factory.mktemp("faults-%s-%s" % key)
            started[key] = rigs.start(base, url, database, store, swift)
        return started[key]

    try:
        yield get
    finally:
        # Side by side: each pair takes a second or more to stop gracefully.
        stopping = [threading.Thread(target=each.stop) for each in started.values()]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()
