"""What every catalog handler does first: who asks, the registry call, the
namespace the request is about (visible, and allowed by policy), the body."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any
from typing import Callable

import flask

from glance_api.exceptions import BadRequest
from glance_api.services import services
from glance_common.context import RequestContext


def route(bp: flask.Blueprint, rule: str, handler: Callable, method: str) -> None:
    """Mount ``handler`` for ``method`` on ``rule``, named after its module."""
    module = handler.__module__.rsplit(".", 1)[-1]
    bp.add_url_rule(rule, "%s_%s" % (module, handler.__name__), handler, methods=[method])


def ctx() -> RequestContext:
    """The request's context."""
    return flask.g.context


def registry(method: str, path: str, json_body: Any = None, params: Any = None) -> Any:
    """A call to the registry's /metadefs API for the current caller."""
    return services().registry.metadefs(ctx(), method, path, json=json_body,
                                        params=params)


def quote(name: str) -> str:
    """A name as one URL path segment."""
    return urllib.parse.quote(name, safe="")


def ns_path(namespace: str, *rest: str) -> str:
    """The registry path of a namespace, or of something below it."""
    return "/".join(["/namespaces", quote(namespace), *(quote(r) for r in rest)])


def enforce(rule: str, namespace: dict | None = None) -> None:
    """Raise Forbidden unless policy allows ``rule`` on ``namespace``."""
    services().policy.enforce(ctx(), rule, policy_target(namespace))


def policy_target(namespace: dict | None) -> dict:
    """A namespace as policy rules see it (``owner`` becomes ``project_id``)."""
    if namespace is None:
        return {}
    return {"namespace": namespace["namespace"], "visibility": namespace["visibility"],
            "protected": namespace["protected"], "owner": namespace.get("owner")}


def namespace(name: str, *rules: str) -> dict:
    """The namespace ``name`` as the registry has it (404 when invisible),
    after checking get_metadef_namespace and ``rules`` on it."""
    found = registry("GET", ns_path(name))
    for rule in ("get_metadef_namespace",) + rules:
        enforce(rule, found)
    return found


def body() -> Any:
    """The request's JSON body (400 when missing or not JSON)."""
    raw = flask.request.get_data(cache=True)
    if not raw.strip():
        raise BadRequest("A JSON body is required.")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:  # or nested deeper than Python's stack
        raise BadRequest("The body is not valid JSON: %s" % exc) from exc


def object_body(*read_only: str) -> dict:
    """A JSON object body without the read-only keys clients send back."""
    found = body()
    if not isinstance(found, dict):
        raise BadRequest("The body must be a JSON object.")
    drop = {"schema", "self", "created_at", "updated_at", *read_only}
    return {k: v for k, v in found.items() if k not in drop}


def created(document: dict, location: str | None = None):
    """A 201 answer, with Location when given."""
    headers = {"Location": flask.request.host_url.rstrip("/") + location} if location else {}
    return document, 201, headers
