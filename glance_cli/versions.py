"""Which Images API version a command speaks.

As glanceclient 4 chooses: ``--os-image-api-version`` (or
OS_IMAGE_API_VERSION) first, then a /v1 or /v2 suffix of ``--os-image-url``,
then the server's ``GET /versions``: v2 when it lists any v2.x, else v1 (a
classic server, or one whose /versions is missing or broken).
"""

from __future__ import annotations

import argparse
import re

from glance_cli.errors import HTTPError
from glance_cli.transport import Transport

_URL_VERSION = re.compile(r"/v([12])(\.\d+)?/?$")


def requested(args: argparse.Namespace) -> str | None:
    """The version the command line asks for, or None to ask the server."""
    if args.os_image_api_version:
        return args.os_image_api_version
    match = _URL_VERSION.search(args.os_image_url or "")
    return match.group(1) if match else None


def discover(transport: Transport) -> str:
    """"2" when the server's versions document lists a v2.x, else "1"."""
    try:
        resp = transport.request("GET", "/versions")
    except HTTPError:
        return "1"
    try:
        entries = resp.json().get("versions") or []
        ids = [str(entry.get("id", "")) for entry in entries]
    except (ValueError, AttributeError, TypeError):
        return "1"
    return "2" if any(vid.startswith("v2") for vid in ids) else "1"
