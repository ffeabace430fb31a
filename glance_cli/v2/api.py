"""Calls of the Images API v2, one method per endpoint the commands use."""

from __future__ import annotations

import contextlib
import json
from typing import Any
from typing import Iterable
from typing import Iterator

import requests

from glance_cli.errors import CommandError
from glance_cli.errors import NotFound
from glance_cli.ids import is_uuid
from glance_cli.transport import Transport
from glance_cli.transport import json_object
from glance_cli.transport import path_segment

OCTET = "application/octet-stream"
JSON = {"Content-Type": "application/json"}
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
# glanceclient 4's page size for image-list.
DEFAULT_PAGE_SIZE = 200


class ImagesV2:
    """The v2 image, member, import, store and task endpoints over one ``Transport``."""

    def __init__(self, transport: Transport):
        self.transport = transport

    # -- images ---------------------------------------------------------------

    def get(self, image_id: str) -> dict[str, Any]:
        """``GET /v2/images/<id>``."""
        return json_object(self._call("GET", _image(image_id)))

    def find(self, name_or_id: str) -> dict[str, Any]:
        """The one image with this id or, failing that, this name."""
        if is_uuid(name_or_id):
            try:
                return self.get(name_or_id)
            except NotFound:
                pass
        return self._by_name(name_or_id)

    def resolve(self, name_or_id: str) -> str:
        """An image id: a UUID as given (no request), a name looked up."""
        return name_or_id if is_uuid(name_or_id) else self._by_name(name_or_id)["id"]

    def _by_name(self, name: str) -> dict[str, Any]:
        # "eq:" keeps a name with a colon from reading as a filter operator.
        params = [("name", "eq:" + name), ("visibility", "all"), ("member_status", "all")]
        matches = json_object(self._call("GET", "/v2/images", params=params)).get("images") or []
        if not matches:
            raise CommandError("No image with a name or ID of '%s' exists." % name)
        if len(matches) > 1:
            raise CommandError("Multiple images are named '%s'; use an ID: %s"
                               % (name, ", ".join(m["id"] for m in matches)))
        return matches[0]

    def list(self, params: Iterable[tuple[str, Any]], page_size: int = DEFAULT_PAGE_SIZE,
             limit: int | None = None) -> Iterator[dict[str, Any]]:
        """Images matching ``params``, page by page while the server says ``next``."""
        base = list(params)
        marker = None
        left = limit
        while left is None or left > 0:
            size = page_size if left is None else min(page_size, left)
            query = [("limit", size), *base] + ([("marker", marker)] if marker else [])
            body = json_object(self._call("GET", "/v2/images", params=query))
            page = body.get("images") or []
            yield from page[:left] if left is not None else page
            if left is not None:
                left -= len(page)
            if not page or not body.get("next"):
                return
            marker = page[-1]["id"]

    def create(self, fields: dict[str, Any]) -> dict[str, Any]:
        """``POST /v2/images``: a queued image record."""
        return json_object(self._call("POST", "/v2/images", headers=JSON, data=json.dumps(fields)))

    def update(self, image_id: str, operations: list[dict[str, Any]]) -> dict[str, Any]:
        """``PATCH /v2/images/<id>`` with JSON-Patch ``operations``."""
        return json_object(self._call("PATCH", _image(image_id), headers=PATCH,
                                data=json.dumps(operations)))

    def delete(self, image_id: str) -> None:
        """``DELETE /v2/images/<id>``."""
        self._call("DELETE", _image(image_id)).close()

    def upload(self, image_id: str, body: Iterable[bytes], size: int | None = None,
               store: str | None = None) -> None:
        """``PUT /v2/images/<id>/file``: the image's data, streamed."""
        headers = _data_headers(size)
        if store:
            headers["X-Image-Meta-Store"] = store
        self._call("PUT", _image(image_id) + "/file", headers=headers, data=body).close()

    def stage(self, image_id: str, body: Iterable[bytes], size: int | None = None) -> None:
        """``PUT /v2/images/<id>/stage``: data kept aside for a glance-direct import."""
        self._call("PUT", _image(image_id) + "/stage", headers=_data_headers(size),
                   data=body).close()

    @contextlib.contextmanager
    def download(self, image_id: str) -> Iterator[requests.Response]:
        """The streaming ``GET /v2/images/<id>/file`` response, closed on exit."""
        resp = self._call("GET", _image(image_id) + "/file", stream=True)
        try:
            yield resp
        finally:
            resp.close()

    def action(self, image_id: str, name: str) -> None:
        """``POST /v2/images/<id>/actions/<name>`` (deactivate, reactivate)."""
        self._call("POST", "%s/actions/%s" % (_image(image_id), name),
                   headers={"Content-Length": "0"}).close()

    def add_tag(self, image_id: str, tag: str) -> None:
        """``PUT /v2/images/<id>/tags/<tag>``."""
        self._call("PUT", "%s/tags/%s" % (_image(image_id), path_segment(tag)),
                   headers={"Content-Length": "0"}).close()

    def remove_tag(self, image_id: str, tag: str) -> None:
        """``DELETE /v2/images/<id>/tags/<tag>``."""
        self._call("DELETE", "%s/tags/%s" % (_image(image_id), path_segment(tag))).close()

    # -- members --------------------------------------------------------------

    def members(self, image_id: str) -> list[dict[str, Any]]:
        """``GET /v2/images/<id>/members``."""
        return json_object(self._call("GET", _image(image_id) + "/members")).get("members") or []

    def member(self, image_id: str, member: str) -> dict[str, Any]:
        """``GET /v2/images/<id>/members/<member>``."""
        return json_object(self._call("GET", _member(image_id, member)))

    def add_member(self, image_id: str, member: str) -> dict[str, Any]:
        """``POST /v2/images/<id>/members``: share the image (status pending)."""
        return json_object(self._call("POST", _image(image_id) + "/members", headers=JSON,
                                data=json.dumps({"member": member})))

    def set_member_status(self, image_id: str, member: str, status: str) -> dict[str, Any]:
        """``PUT /v2/images/<id>/members/<member>``: accept, reject or leave pending."""
        return json_object(self._call("PUT", _member(image_id, member), headers=JSON,
                                data=json.dumps({"status": status})))

    def remove_member(self, image_id: str, member: str) -> None:
        """``DELETE /v2/images/<id>/members/<member>``."""
        self._call("DELETE", _member(image_id, member)).close()

    # -- import, stores, tasks ------------------------------------------------

    def import_info(self) -> dict[str, Any]:
        """``GET /v2/info/import``: the enabled import methods."""
        return json_object(self._call("GET", "/v2/info/import"))

    def import_methods(self) -> list[str]:
        """The names of the import methods the server has enabled."""
        methods = self.import_info().get("import-methods") or {}
        return list(methods.get("value") or []) if isinstance(methods, dict) else []

    def stores_info(self, detail: bool = False) -> list[dict[str, Any]]:
        """``GET /v2/info/stores[/detail]``: the stores a user may pick."""
        path = "/v2/info/stores/detail" if detail else "/v2/info/stores"
        return json_object(self._call("GET", path)).get("stores") or []

    def start_import(self, image_id: str, body: dict[str, Any],
                     store: str | None = None) -> None:
        """``POST /v2/images/<id>/import``: start an import task (202)."""
        headers = dict(JSON)
        if store:
            headers["X-Image-Meta-Store"] = store
        self._call("POST", _image(image_id) + "/import", headers=headers,
                   data=json.dumps(body)).close()

    def delete_from_store(self, store: str, image_id: str) -> None:
        """``DELETE /v2/stores/<store>/<id>``: remove one store's copy of the data."""
        path = "/v2/stores/%s/%s" % (path_segment(store), path_segment(image_id))
        self._call("DELETE", path).close()

    def image_tasks(self, image_id: str) -> list[dict[str, Any]]:
        """``GET /v2/images/<id>/tasks``: the image's import tasks."""
        return json_object(self._call("GET", _image(image_id) + "/tasks")).get("tasks") or []

    def _call(self, method: str, path: str, *, headers: dict[str, str] | None = None,
              **kw: Any) -> requests.Response:
        # glanceclient sends octet-stream on every request without a body type.
        return self.transport.request(method, path, headers={"Content-Type": OCTET,
                                                             **(headers or {})}, **kw)


def _data_headers(size: int | None) -> dict[str, str]:
    headers = {"Content-Type": OCTET}
    if size is not None:
        headers["x-openstack-image-size"] = str(size)
    return headers


def _image(image_id: str) -> str:
    return "/v2/images/" + path_segment(image_id)


def _member(image_id: str, member: str) -> str:
    return "%s/members/%s" % (_image(image_id), path_segment(member))
