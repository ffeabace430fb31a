"""Authorization decisions, made explicitly where they matter.

The rules keep Glance's v1 names so an operator's policy file reads the same.
"""

from __future__ import annotations

from glance_api.errors import Forbidden
from glance_common.context import RequestContext

ADMIN_ONLY = frozenset({"publicize_image", "manage_image_cache"})


def check(ctx: RequestContext, action: str, target: dict | None = None) -> bool:
    """True when ``ctx`` may perform ``action`` on ``target``."""
    if action in ADMIN_ONLY:
        return ctx.is_admin
    return True


def enforce(ctx: RequestContext, action: str, target: dict | None = None) -> None:
    """Raise Forbidden (403) unless ``ctx`` may perform ``action``."""
    if not check(ctx, action, target):
        raise Forbidden("You are not authorized to complete %s action." % action)
