"""Early writeback: windows go to the disk while the upload goes on."""

from __future__ import annotations

import os

import pytest

from glance_store.drivers import writeback
from glance_store.drivers.writeback import Writeback

pytestmark = pytest.mark.skipif(not writeback.supported(),
                                reason="sync_file_range is Linux only")

WRITE, WAIT_ALL = 2, 1 | 2 | 4


@pytest.fixture
def calls(monkeypatch):
    """Record the calls while still making them, on the real file."""
    seen = []
    real = writeback._sync_file_range

    def recording(fd, offset, count, flags):
        seen.append((offset, count, flags))
        return real(fd, offset, count, flags)

    monkeypatch.setattr(writeback, "_sync_file_range", recording)
    return seen


def write(fd, tracker, sizes):
    for size in sizes:
        os.write(fd, b"x" * size)
        tracker.wrote(size)


def test_each_full_window_is_started_and_the_one_before_waited_for(
        tmp_path, calls):
    fd = os.open(tmp_path / "image", os.O_WRONLY | os.O_CREAT)
    try:
        write(fd, Writeback(fd, window=4096), [3000, 3000, 3000, 2000, 5000])
    finally:
        os.close(fd)

    assert calls == [
        (0, 6000, WRITE),
        (6000, 5000, WRITE), (0, 6000, WAIT_ALL),
        (11000, 5000, WRITE), (6000, 5000, WAIT_ALL),
    ]
    assert os.path.getsize(tmp_path / "image") == 16000


def test_less_than_a_window_is_left_to_the_final_fsync(tmp_path, calls):
    fd = os.open(tmp_path / "image", os.O_WRONLY | os.O_CREAT)
    try:
        write(fd, Writeback(fd, window=1 << 20), [4096] * 10)
    finally:
        os.close(fd)

    assert calls == []


def test_a_descriptor_that_cannot_do_it_turns_it_off_quietly(calls):
    read_end, write_end = os.pipe()
    try:
        tracker = Writeback(write_end, window=16)
        write(write_end, tracker, [32, 32, 32])
    finally:
        os.close(read_end)
        os.close(write_end)

    # The pipe refused the first call (ESPIPE); no later call was made.
    assert calls == [(0, 32, WRITE)]
