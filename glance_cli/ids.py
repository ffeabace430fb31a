"""What an image id looks like to the command line."""

from __future__ import annotations

import uuid


def is_uuid(value: str) -> bool:
    """True when ``value`` is a UUID (any case, dashes optional), as image ids are."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
