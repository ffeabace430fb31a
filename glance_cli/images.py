"""Calls of the Images API v1, one method per endpoint the v1 commands use."""

from __future__ import annotations

import contextlib
import json
from typing import Any
from typing import Iterable
from typing import Iterator

import requests

from glance_cli import metadata
from glance_cli.errors import CommandError
from glance_cli.errors import NotFound
from glance_cli.ids import is_uuid
from glance_cli.transport import Transport
from glance_cli.transport import json_object
from glance_cli.transport import path_segment

OCTET = {"Content-Type": "application/octet-stream"}
JSON = {"Content-Type": "application/json"}
DEFAULT_PAGE_SIZE = 20


class ImagesAPI:
    """The v1 image and member endpoints over one ``Transport``."""

    def __init__(self, transport: Transport):
        self.transport = transport

    def head(self, image_id: str) -> dict[str, Any]:
        """The image's metadata from ``HEAD /v1/images/<id>``."""
        resp = self.transport.request("HEAD", _image_path(image_id), headers=OCTET)
        return metadata.from_headers(resp.headers)

    def find(self, name_or_id: str) -> dict[str, Any]:
        """The one image with this id or, failing that, this name."""
        # v1 ids were once integers; the server still takes such an id.
        if name_or_id.isdigit() or is_uuid(name_or_id):
            try:
                return self.head(name_or_id)
            except NotFound:
                pass
        params = [("name", name_or_id), ("is_public", "None")]
        resp = self.transport.request("GET", "/v1/images/detail", params=params,
                                      headers=OCTET)
        matches = json_object(resp).get("images", [])
        if not matches:
            raise CommandError("No image with a name or ID of '%s' exists." % name_or_id)
        if len(matches) > 1:
            raise CommandError("Multiple images are named '%s'; use an ID: %s"
                               % (name_or_id, ", ".join(m["id"] for m in matches)))
        # HEAD again so that a name shows exactly what its id would.
        return self.head(matches[0]["id"])

    def list(self, filters: Iterable[tuple[str, Any]], page_size: int = DEFAULT_PAGE_SIZE,
             sort_key: str = "name", sort_dir: str = "asc") -> Iterator[dict[str, Any]]:
        """Every image matching ``filters``, page by page until a short page."""
        base = [("limit", page_size), ("sort_key", sort_key), ("sort_dir", sort_dir)]
        base += list(filters)
        marker = None
        while True:
            params = base + ([("marker", marker)] if marker else [])
            resp = self.transport.request("GET", "/v1/images/detail", params=params,
                                          headers=OCTET)
            page = json_object(resp).get("images", [])
            yield from page
            if len(page) < page_size or not page:
                return
            marker = page[-1]["id"]

    def create(self, headers: dict[str, str], body: Iterable[bytes] | None = None
               ) -> dict[str, Any]:
        """``POST /v1/images``: reserve, register a location, or upload ``body``."""
        resp = self.transport.request("POST", "/v1/images", headers={**OCTET, **headers},
                                      data=body)
        return json_object(resp)["image"]

    def update(self, image_id: str, headers: dict[str, str], purge_props: bool,
               body: Iterable[bytes] | None = None) -> dict[str, Any]:
        """``PUT /v1/images/<id>``: change metadata, upload to a queued image."""
        headers = {**OCTET, **headers,
                   "x-glance-registry-purge-props": "true" if purge_props else "false"}
        resp = self.transport.request("PUT", _image_path(image_id), headers=headers,
                                      data=body)
        return json_object(resp)["image"]

    def delete(self, image_id: str) -> None:
        """``DELETE /v1/images/<id>``."""
        self.transport.request("DELETE", _image_path(image_id), headers=OCTET).close()

    @contextlib.contextmanager
    def download(self, image_id: str) -> Iterator[requests.Response]:
        """The streaming ``GET /v1/images/<id>`` response, closed on exit."""
        resp = self.transport.request("GET", _image_path(image_id), headers=OCTET,
                                      stream=True)
        try:
            yield resp
        finally:
            resp.close()

    def members(self, image_id: str) -> list[dict[str, Any]]:
        """The image's members: ``[{"member_id", "can_share"}]``."""
        resp = self.transport.request("GET", _image_path(image_id) + "/members")
        return json_object(resp).get("members", [])

    def shared_images(self, tenant: str) -> list[dict[str, Any]]:
        """The tenant's memberships: ``[{"image_id", "can_share"}]``."""
        resp = self.transport.request("GET", "/v1/shared-images/" + path_segment(tenant))
        return json_object(resp).get("shared_images", [])

    def add_member(self, image_id: str, tenant: str, can_share: bool) -> None:
        """Add ``tenant`` as a member of the image, or set its ``can_share``."""
        body = json.dumps({"member": {"can_share": can_share}})
        self.transport.request("PUT", _member_path(image_id, tenant), headers=JSON,
                               data=body).close()

    def remove_member(self, image_id: str, tenant: str) -> None:
        """Remove ``tenant`` from the image's members."""
        self.transport.request("DELETE", _member_path(image_id, tenant),
                               headers=OCTET).close()


def _image_path(image_id: str) -> str:
    return "/v1/images/" + path_segment(image_id)


def _member_path(image_id: str, tenant: str) -> str:
    return "%s/members/%s" % (_image_path(image_id), path_segment(tenant))
