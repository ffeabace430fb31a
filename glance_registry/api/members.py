"""HTTP handlers for image members and /shared-images."""

from __future__ import annotations

import flask

from glance_registry import members
from glance_registry.api.bodies import context
from glance_registry.api.bodies import json_body


def blueprint() -> flask.Blueprint:
    """The members resources."""
    bp = flask.Blueprint("members", __name__)

    @bp.get("/images/<image_id>/members")
    def index(image_id):
        return {"members": members.list_members(context(), image_id)}

    @bp.put("/images/<image_id>/members")
    def replace(image_id):
        members.replace_members(context(), image_id, json_body())
        return "", 204

    @bp.post("/images/<image_id>/members")
    def create(image_id):
        return {"member": members.create_member(context(), image_id, json_body())}, 201

    @bp.get("/images/<image_id>/members/<member>")
    def show(image_id, member):
        return {"member": members.get_member(context(), image_id, member)}

    @bp.put("/images/<image_id>/members/<member>/status")
    def set_status(image_id, member):
        return {"member": members.set_member_status(context(), image_id, member,
                                                    json_body())}

    @bp.put("/images/<image_id>/members/<member>")
    def add(image_id, member):
        members.add_member(context(), image_id, member, json_body(required=False))
        return "", 204

    @bp.delete("/images/<image_id>/members/<member>")
    def remove(image_id, member):
        members.remove_member(context(), image_id, member)
        return "", 204

    @bp.get("/shared-images/<member>")
    def shared(member):
        return {"shared_images": members.shared_images(context(), member)}

    return bp
