"""Compare-and-set updates from many threads at once: exactly one wins."""

from __future__ import annotations

import threading
from collections import Counter

from registry_support import ALICE

THREADS = 8


def test_concurrent_status_changes_from_the_same_state_let_one_win(app, create):
    for _ in range(3):
        image = create()
        barrier = threading.Barrier(THREADS)
        codes, failures = [], []

        def claim(n):
            client = app.test_client()
            barrier.wait()
            try:
                response = client.put(
                    "/images/" + image["id"], headers=ALICE,
                    json={"image": {"status": "saving", "name": "winner-%d" % n},
                          "from_state": "queued"})
                codes.append((response.status_code, n))
            except Exception as exc:  # surfaced below, never swallowed
                failures.append(exc)

        threads = [threading.Thread(target=claim, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not failures
        tally = Counter(code for code, _ in codes)
        assert tally == {200: 1, 409: THREADS - 1}, tally
        winner = next(n for code, n in codes if code == 200)
        shown = app.test_client().get("/images/" + image["id"],
                                      headers=ALICE).get_json()["image"]
        assert (shown["status"], shown["name"]) == ("saving", "winner-%d" % winner)
