"""Authorization decisions, made explicitly where they matter.

The rules keep Glance's v1 names so an operator's policy file reads the same.
Their defaults are registered in code (``list_rules``); ``[oslo_policy]
policy_file`` (``policy.yaml`` beside the config file by default) overrides
any of them and is re-read when it changes. ``etc/policy.yaml`` is generated
from the defaults by ``oslopolicy-sample-generator``.
"""

from __future__ import annotations

import threading
import time

from glance_api.exceptions import Forbidden
from glance_common.context import RequestContext

ADMIN = "role:admin"
ADMIN_OR_OWNER = "rule:context_is_admin or project_id:%(owner)s"
OPEN = ""

# (name, default check, what it guards). Visibility is the registry's job:
# rules decide what a caller may do to an image it can already see.
RULES = [
    ("context_is_admin", ADMIN, "Who is an administrator."),
    ("admin_or_owner", ADMIN_OR_OWNER,
     "An administrator, or the project that owns the image."),
    ("default", OPEN, "Any rule not listed here."),
    ("add_image", OPEN, "Create an image (POST /v1/images)."),
    ("get_image", OPEN, "Show an image's metadata (HEAD /v1/images/{id})."),
    ("get_images", OPEN, "List images (GET /v1/images[/detail])."),
    ("modify_image", "rule:admin_or_owner",
     "Change an image's metadata (PUT /v1/images/{id})."),
    ("publicize_image", "rule:context_is_admin",
     "Make an image public (is_public true on create or update)."),
    ("delete_image", "rule:admin_or_owner", "Delete an image."),
    ("download_image", OPEN, "Download an image's data (GET /v1/images/{id})."),
    ("upload_image", OPEN, "Send an image's data with a create or update."),
    ("copy_from", OPEN, "Have the service copy an image's data from a URL."),
    ("add_member", OPEN,
     "Share an image with a project; the owner, an administrator or a "
     "member allowed to share (can_share) may."),
    ("get_member", OPEN, "Show one member of an image."),
    ("get_members", OPEN,
     "List an image's members, or the images shared with a project."),
    ("modify_member", OPEN, "Replace an image's member list."),
    ("delete_member", OPEN, "Stop sharing an image with a project."),
    ("manage_image_cache", "rule:context_is_admin", "Manage the image cache."),
    ("get_image_location", OPEN, "See where an image's data lives."),
    ("set_image_location", OPEN,
     "Point an image at data at an external URL (x-image-meta-location); "
     "updates also need modify_image."),
    ("delete_image_location", OPEN, "Remove a location of an image."),
]


def list_rules() -> list:
    """The default rules, for oslo.policy's tools and the Enforcer."""
    from oslo_policy import policy

    return [policy.RuleDefault(name, check, description=doc)
            for name, check, doc in RULES]


# Seconds between looks at the policy file for changes. oslo.policy looks on
# every decision (a search of the config dirs and a stat each time), which
# cost more than the rest of a HEAD request.
RELOAD_CHECK_INTERVAL = 5.0


class Policy:
    """An oslo.policy Enforcer holding the defaults and the operator's file."""

    def __init__(self, conf):
        from oslo_policy import policy

        self._enforcer = policy.Enforcer(conf)
        self._enforcer.register_defaults(list_rules())
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    def _reload_if_due(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < RELOAD_CHECK_INTERVAL:
            return
        with self._lock:
            if now - self._checked_at < RELOAD_CHECK_INTERVAL:
                return
            self._enforcer.use_conf = True
            self._enforcer.load_rules()
            # Between looks, decisions use the rules loaded here.
            self._enforcer.use_conf = False
            self._checked_at = now

    def check(self, ctx: RequestContext, action: str, target: dict | None = None) -> bool:
        """True when ``ctx`` may perform ``action`` on ``target``."""
        self._reload_if_due()
        return self._enforcer.authorize(action, _target(target), _creds(ctx),
                                        do_raise=False)

    def enforce(self, ctx: RequestContext, action: str, target: dict | None = None) -> None:
        """Raise Forbidden (403) unless ``ctx`` may perform ``action`` on ``target``."""
        if not self.check(ctx, action, target):
            raise Forbidden("You are not authorized to complete %s action." % action)


def get_enforcer():
    """The Enforcer oslopolicy-checker and friends load (the defaults, a blank config)."""
    return Policy(_blank_conf())._enforcer


def _blank_conf():
    from oslo_config import cfg

    conf = cfg.ConfigOpts()
    conf([], project="glance", default_config_files=[], default_config_dirs=[])
    return conf


def _creds(ctx: RequestContext) -> dict:
    creds = {"roles": list(ctx.roles), "is_admin": ctx.is_admin}
    # Absent keys fail a check that names them; a None would compare as "None".
    if ctx.project_id:
        creds["project_id"] = creds["tenant"] = ctx.project_id
    if ctx.user_id:
        creds["user_id"] = ctx.user_id
    return creds


def _target(image: dict | None) -> dict:
    """An image as oslo.policy sees it: its owner is the project it belongs to."""
    target = {k: v for k, v in (image or {}).items()
              if isinstance(v, (str, bool, int)) and v is not None}
    if not (image or {}).get("owner"):
        target.pop("owner", None)
    else:
        target["project_id"] = image["owner"]
    return target
