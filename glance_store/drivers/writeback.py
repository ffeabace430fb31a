"""Start writing a file's pages to disk while the rest is still arriving.

Written pages stay dirty in the page cache until the kernel's thresholds
are reached; on a machine with much memory that is gigabytes, so the whole
image would reach the disk only in the final fsync, after the upload, and
the upload would take network time plus disk time. Linux's
``sync_file_range`` lets the writer hand each finished window to the disk
at once and wait for the window before it, so the disk works while the
network does and at most two windows are dirty at a time.

Elsewhere, or where libc lacks the call, ``Writeback`` does nothing and the
final fsync does all the work, as before.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

WINDOW = 16 * 1024 * 1024
"""Bytes handed to the disk at a time."""

_WAIT_BEFORE, _WRITE, _WAIT_AFTER = 1, 2, 4


def _load_sync_file_range():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        call = libc.sync_file_range
    except (OSError, AttributeError):
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64,
                     ctypes.c_uint]
    call.restype = ctypes.c_int
    return call


_sync_file_range = _load_sync_file_range()


class Writeback:
    """Tracks what was written to ``fd``; call ``wrote(n)`` after each write.

    Errors are not reported here: a failed writeback surfaces in the
    caller's fsync, which decides whether the file is kept.
    """

    def __init__(self, fd: int, window: int = WINDOW) -> None:
        self._fd = fd
        self._window = window
        self._written = 0
        self._started = 0
        self._previous: tuple[int, int] | None = None
        self._enabled = _sync_file_range is not None

    def wrote(self, count: int) -> None:
        """Account ``count`` more bytes; start a window once one is full."""
        self._written += count
        if not self._enabled or self._written - self._started < self._window:
            return
        window = (self._started, self._written - self._started)
        if _sync_file_range(self._fd, *window, _WRITE) != 0:
            # EINVAL/ESPIPE on files that cannot do it (some FUSE or
            # network file systems): fall back to the final fsync alone.
            self._enabled = False
            return
        if self._previous is not None:
            # Waiting here keeps dirty pages to two windows and paces the
            # writer to the disk rather than to memory.
            _sync_file_range(self._fd, *self._previous,
                             _WAIT_BEFORE | _WRITE | _WAIT_AFTER)
        self._previous = window
        self._started = self._written


def supported() -> bool:
    """Whether this platform can start writeback early."""
    return _sync_file_range is not None

