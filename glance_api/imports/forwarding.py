"""Sending a glance-direct import to the api node that staged its data.

Each api node stages into its own directory unless the operator shares one.
A stage records the node's ``worker_self_reference_url`` on the image
(``os_glance_stage_host``, reserved: no caller can set it); an import request
the load balancer sends to another node is passed on to that one, with the
caller's own headers (its token is checked again there), and its answer
comes back unchanged. This is Glance's behaviour for the same option.
"""

from __future__ import annotations

import json

import flask
import urllib3

from glance_api.exceptions import Conflict
from glance_api.exceptions import ServiceUnavailable

# Marks a forwarded request, so that two nodes that disagree about their
# own URLs cannot pass one import back and forth.
FORWARDED = "X-Glance-Stage-Forwarded"
TIMEOUT = urllib3.Timeout(connect=5.0, read=60.0)
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te",
                         "trailer", "upgrade", "proxy-authorization",
                         "proxy-authenticate", "host", "content-length"})
_POOL = urllib3.PoolManager(timeout=TIMEOUT, retries=False)


def forward_import(stage_host: str, image_id: str, body: object) -> flask.Response:
    """POST this request's import (``body``, as parsed here) to ``stage_host``;
    its answer, as it came."""
    request = flask.request
    if request.headers.get(FORWARDED):
        raise Conflict("The staged data of image %s is not on this node (%s), "
                       "where it was sent." % (image_id, stage_host))
    if not stage_host.lower().startswith(("http://", "https://")):
        raise Conflict("Image %s was staged on a node without a usable URL."
                       % image_id)
    headers = {name: value for name, value in request.headers.items()
               if name.lower() not in _HOP_BY_HOP}
    headers[FORWARDED] = "1"
    url = "%s/v2/images/%s/import" % (stage_host.rstrip("/"), image_id)
    try:
        answer = _POOL.request("POST", url, body=json.dumps(body).encode(),
                               headers=headers)
    except urllib3.exceptions.HTTPError as exc:
        raise ServiceUnavailable("The api node that staged image %s (%s) cannot be "
                                 "reached: %s" % (image_id, stage_host, exc)) from exc
    kept = {name: value for name, value in answer.headers.items()
            if name.lower() in ("content-type", "x-openstack-request-id")}
    return flask.Response(answer.data, status=answer.status, headers=kept)
