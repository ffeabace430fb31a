"""Waiting for something another process does, with a deadline instead of a guess."""

from __future__ import annotations

import time
from typing import Callable


def poll_until(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    """True as soon as ``predicate()`` holds; False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)  # polling interval, bounded by the deadline
    return predicate()
