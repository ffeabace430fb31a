"""Handlers of image sharing: /v1/images/{id}/members and /v1/shared-images."""

from __future__ import annotations

import flask

from glance_api import errors, payloads, policy

bp = flask.Blueprint("v1_members", __name__)


def _services():
    return flask.current_app.extensions["glance"]


def _ctx():
    return flask.g.context


def _json_body(key: str) -> dict | None:
    """The request's JSON object under ``key``; None when there is no body."""
    raw = flask.request.get_data(cache=False)
    if not raw.strip():
        return None
    try:
        body = flask.json.loads(raw)
    except ValueError:
        raise errors.BadRequest("The request body is not valid JSON.") from None
    if not isinstance(body, dict) or not isinstance(body.get(key), (dict, list)):
        raise errors.BadRequest("The request body must be an object with '%s'." % key)
    return body


def _check_member_quota(count: int) -> None:
    quota = _services().conf.image_member_quota
    if 0 <= quota < count:
        raise errors.TooLarge("An image may have at most %d members." % quota)


def _wants_member_events() -> bool:
    notifier = _services().notifier
    return any(notifier.wants("image.member." + action)
               for action in ("create", "update", "delete"))


def _notify_changes(image_id: str, before: list[dict]) -> None:
    """image.member.create/update/delete for what changed since ``before``."""
    after = _services().registry.members(_ctx(), image_id)
    old = {m["member_id"]: m for m in before}
    new = {m["member_id"]: m for m in after}
    notifier = _services().notifier
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
    policy.enforce(_ctx(), "get_members")
    members = _services().registry.members(_ctx(), image_id)
    return {"members": [{"member_id": m["member_id"], "can_share": m["can_share"]}
                        for m in members]}


@bp.put("/v1/images/<image_id>/members/<member>")
def add(image_id, member):
    policy.enforce(_ctx(), "add_member")
    body = _json_body("member")
    can_share = None
    if body is not None:
        value = body["member"].get("can_share")
        if value is not None and not isinstance(value, bool):
            raise errors.BadRequest("can_share must be true or false.")
        can_share = value
    registry = _services().registry
    current = registry.members(_ctx(), image_id)
    _check_member_quota(len(current) + 1)
    registry.add_member(_ctx(), image_id, member, can_share)
    if _wants_member_events():
        _notify_changes(image_id, current)
    return flask.Response(status=204)


@bp.put("/v1/images/<image_id>/members")
def replace(image_id):
    policy.enforce(_ctx(), "modify_member")
    body = _json_body("memberships")
    if body is None or not isinstance(body["memberships"], list):
        raise errors.BadRequest("The request body must be {\"memberships\": [...]}.")
    for entry in body["memberships"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("member_id"), str):
            raise errors.BadRequest("Each membership needs a member_id string.")
    _check_member_quota(len(body["memberships"]))
    registry = _services().registry
    before = registry.members(_ctx(), image_id) if _wants_member_events() else None
    registry.replace_members(_ctx(), image_id, body["memberships"])
    if before is not None:
        _notify_changes(image_id, before)
    return flask.Response(status=204)


@bp.delete("/v1/images/<image_id>/members/<member>")
def remove(image_id, member):
    policy.enforce(_ctx(), "delete_member")
    registry = _services().registry
    before = registry.members(_ctx(), image_id) if _wants_member_events() else None
    registry.delete_member(_ctx(), image_id, member)
    if before is not None:
        _notify_changes(image_id, before)
    return flask.Response(status=204)


@bp.get("/v1/shared-images/<member>")
def shared(member):
    policy.enforce(_ctx(), "get_members")
    images = _services().registry.shared_images(_ctx(), member)
    return {"shared_images": [{"image_id": i["image_id"], "can_share": i["can_share"]}
                              for i in images]}
