"""Handlers of image sharing: /v1/images/{id}/members and /v1/shared-images."""

from __future__ import annotations

import flask

from glance_api import image_rules
from glance_api import payloads
from glance_api import policy
from glance_api import registry_client
from glance_api.exceptions import BadRequest
from glance_api.exceptions import TooLarge
from glance_api.services import services
from glance_api.v1 import rules

bp = flask.Blueprint("v1_members", __name__)


def _ctx():
    return flask.g.context


def _sharable(image_id: str, *actions: str) -> list[dict]:
    """The image's members, once the caller is known to be allowed ``actions``."""
    registry = services().registry
    image = image_rules.get_visible(registry, _ctx(), image_id)
    current = registry.members(_ctx(), image_id)
    for action in actions:
        rules.check_sharable(_ctx(), services(), action, image, current)
    return current


def _json_body(key: str) -> dict | None:
    """The request's JSON object under ``key``; None when there is no body."""
    raw = flask.request.get_data(cache=False)
    if not raw.strip():
        return None
    try:
        body = flask.json.loads(raw)
    except (ValueError, RecursionError):  # nesting deeper than Python's stack
        raise BadRequest("The request body is not valid JSON.") from None
    if not isinstance(body, dict) or not isinstance(body.get(key), (dict, list)):
        raise BadRequest("The request body must be an object with '%s'." % key)
    return body


def _check_member_quota(count: int) -> None:
    """The fast path: refuse early what the registry would refuse anyway."""
    image_rules.check_member_quota(services().conf.image_member_quota, count)


def _member_quota() -> int | None:
    """The limit the registry enforces with the write (None: unlimited)."""
    quota = services().conf.image_member_quota
    return quota if quota >= 0 else None


def _over_quota() -> TooLarge:
    """The registry's 413 (a concurrent add took the last place), in v1's words."""
    return TooLarge("An image may have at most %d members."
                    % services().conf.image_member_quota)


def _wants_member_events() -> bool:
    notifier = services().notifier
    return any(notifier.wants("image.member." + action)
               for action in ("create", "update", "delete"))


def _notify_changes(image_id: str, before: list[dict]) -> None:
    """image.member.create/update/delete for what changed since ``before``."""
    after = services().registry.members(_ctx(), image_id)
    old = {m["member_id"]: m for m in before}
    new = {m["member_id"]: m for m in after}
    notifier = services().notifier
    for member_id, record in new.items():
        if member_id not in old:
            event = "image.member.create"
        elif old[member_id] != record:
            event = "image.member.update"
        else:
            continue
        notifier.notify(_ctx(), event, payloads.member(image_id, record))
    for member_id, record in old.items():
        if member_id not in new:
            notifier.notify(_ctx(), "image.member.delete",
                            payloads.member(image_id, record, deleted=True))


@bp.get("/v1/images/<image_id>/members")
def index(image_id):
    registry = services().registry
    image = image_rules.get_visible(registry, _ctx(), image_id)
    members = registry.members(_ctx(), image_id)
    services().policy.enforce(_ctx(), "get_members",
                              policy.member_target(image, _ctx(), members))
    return {"members": [{"member_id": m["member_id"], "can_share": m["can_share"]}
                        for m in members]}


@bp.put("/v1/images/<image_id>/members/<member>")
def add(image_id, member):
    body = _json_body("member")
    can_share = None
    if body is not None:
        if not isinstance(body["member"], dict):
            raise BadRequest('The request body must be {"member": {"can_share": ...}}.')
        value = body["member"].get("can_share")
        if value is not None and not isinstance(value, bool):
            raise BadRequest("can_share must be true or false.")
        can_share = value
    registry = services().registry
    current = _sharable(image_id, "add_member")
    if not any(m["member_id"] == member for m in current):
        _check_member_quota(len(current) + 1)
    try:
        registry.add_member(_ctx(), image_id, member, can_share,
                            member_quota=_member_quota())
    except registry_client.QuotaExceeded as exc:
        raise _over_quota() from exc
    if _wants_member_events():
        _notify_changes(image_id, current)
    return flask.Response(status=204)


@bp.put("/v1/images/<image_id>/members")
def replace(image_id):
    body = _json_body("memberships")
    if body is None or not isinstance(body["memberships"], list):
        raise BadRequest("The request body must be {\"memberships\": [...]}.")
    for entry in body["memberships"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("member_id"), str):
            raise BadRequest("Each membership needs a member_id string.")
    _check_member_quota(len(body["memberships"]))
    registry = services().registry
    # Replacing the list adds and removes members (v2's modify_member is
    # something else: a member's own answer to a share).
    before = _sharable(image_id, "add_member", "delete_member")
    try:
        registry.replace_members(_ctx(), image_id, body["memberships"],
                                 member_quota=_member_quota())
    except registry_client.QuotaExceeded as exc:
        raise _over_quota() from exc
    if _wants_member_events():
        _notify_changes(image_id, before)
    return flask.Response(status=204)


@bp.delete("/v1/images/<image_id>/members/<member>")
def remove(image_id, member):
    registry = services().registry
    before = _sharable(image_id, "delete_member")
    registry.delete_member(_ctx(), image_id, member)
    if _wants_member_events():
        _notify_changes(image_id, before)
    return flask.Response(status=204)


@bp.get("/v1/shared-images/<member>")
def shared(member):
    # The registry shows a non-admin only its own memberships or its own
    # images' members; the target says exactly that.
    services().policy.enforce(_ctx(), "get_members",
                              {"owner": _ctx().project_id, "member_id": member})
    images = services().registry.shared_images(_ctx(), member)
    return {"shared_images": [{"image_id": i["image_id"], "can_share": i["can_share"]}
                              for i in images]}
