"""Storage quota sizes and the upload's hold on them."""

from __future__ import annotations

import io

import pytest

from glance_api import errors, quota
from glance_api.registry import RegistryError
from glance_common.context import RequestContext

ALICE = RequestContext.build("alice", "tenant-a", ["member"])


@pytest.mark.parametrize("text, size", [
    ("0", 0), ("1024", 1024), ("10GB", 10 * 1024 ** 3), ("5 MB", 5 * 1024 ** 2),
    ("3kb", 3072), ("7B", 7), ("1TB", 1024 ** 4)])
def test_sizes_take_glance_units(text, size):
    assert quota.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "ten", "-5", "1.5GB", "10PB", "GB"])
def test_a_malformed_size_says_what_is_accepted(text):
    with pytest.raises(ValueError, match="e.g. 10GB"):
        quota.parse_size(text)


class Ledger:
    """A registry that holds bytes against one quota, as the real one does."""

    def __init__(self, room: int):
        self.room = room
        self.calls = []

    def reserve(self, ctx, image_id, at_least, wanted, quota_):
        self.calls.append((at_least, wanted))
        if at_least > self.room:
            raise RegistryError(413, "over quota")
        return min(wanted, self.room)


def test_a_stream_holds_ahead_in_steps_and_is_stopped_where_it_crosses_the_quota():
    ledger = Ledger(room=quota.STEP + 100)
    hold = quota.Reservation(ALICE, ledger, {"id": "i", "owner": "tenant-a"}, 10 ** 12)
    stream = quota.QuotaStream(io.BytesIO(b"x" * (quota.STEP + 200)), hold)
    assert len(stream.read(50)) == 50
    assert ledger.calls == [(50, 50 + quota.STEP)]
    assert hold.held == 50 + quota.STEP
    stream.read(quota.STEP)  # still within what is held: nothing asked
    assert len(ledger.calls) == 1
    with pytest.raises(errors.TooLarge):
        stream.read(100)  # past the held bytes, and past the room left
    assert ledger.calls[-1][0] == quota.STEP + 150


def test_without_a_project_nothing_is_asked():
    ledger = Ledger(room=0)
    hold = quota.Reservation(ALICE, ledger, {"id": "i", "owner": None}, 100)
    hold.ensure(10 ** 9)
    assert ledger.calls == []
