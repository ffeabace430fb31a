"""Tests that need a real service (PostgreSQL, Keystone, Swift...) skip when it
is missing on a developer's machine, but fail under CI, which must run them."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(message: str) -> NoReturn:
    """Skip the test (fail it when the CI variable is set) saying what is missing."""
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must run these tests)")
    pytest.skip(message)
