"""Small honest fakes glance-api's unit tests share."""

from __future__ import annotations

from glance_api.registry import RegistryError


class RecordingRegistry:
    """A registry that keeps images in a dict and records every caller's context."""

    def __init__(self):
        self.images: dict[str, dict] = {}
        self.contexts = []

    def list(self, ctx, params, detail=True):
        self.contexts.append(ctx)
        return list(self.images.values())

    def get(self, ctx, image_id):
        self.contexts.append(ctx)
        if image_id not in self.images:
            raise RegistryError(404, "No image found with ID %s" % image_id)
        return dict(self.images[image_id])

    def update(self, ctx, image_id, changes, from_state=None, purge_props=False):
        self.contexts.append(ctx)
        self.images[image_id].update(changes)
        return dict(self.images[image_id])

    def delete(self, ctx, image_id, pending=False):
        self.contexts.append(ctx)
        return self.images.pop(image_id)

    def healthy(self, ctx):
        self.contexts.append(ctx)
        return True
