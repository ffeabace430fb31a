"""Timestamps as the registry stores and sends them (naive UTC), for every daemon."""

from __future__ import annotations

import datetime

JSON_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


def utcnow() -> datetime.datetime:
    """The current UTC time without a zone (what the columns hold)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def to_json(value: datetime.datetime | None) -> str | None:
    """``YYYY-MM-DDTHH:MM:SS.ffffff``, or None."""
    return value.strftime(JSON_FORMAT) if value is not None else None


def parse_iso(text: str) -> datetime.datetime:
    """Parse an ISO 8601 time into naive UTC; ValueError when unparsable."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    value = datetime.datetime.fromisoformat(text)
    if value.tzinfo is not None:
        try:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC
            raise ValueError("%s is out of range in UTC" % text) from None
    return value
