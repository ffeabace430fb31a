"""Location URLs with their credentials masked, for responses and logs.

Glance wrote store credentials into locations (``swift+https://user:key@...``,
``s3://access:secret@...``); an S3 secret may itself hold a "/", which ends
the authority for a URL parser, so the user part is masked up to the last
"@" before the path that follows it. Query parameters that look like
signatures or keys (Swift temp URLs, pre-signed S3 URLs) are masked too.
"""

from __future__ import annotations

import re

from glance_store.url_filter import redact

MASK = "***"
_SECRET_PARAM = re.compile(r"(?i)([?&;][^=&;#]*(?:sig|signature|token|key|secret|"
                           r"pass|credential|auth)[^=&;#]*=)[^&;#]*")


def safe_url(url: str) -> str:
    """``url`` as it may be shown or logged: no user, password or signature."""
    if not isinstance(url, str):
        return MASK
    masked = redact(url)
    scheme, sep, rest = masked.partition("://")
    if sep and "@" in rest:
        # What precedes the last "@" may be credentials with a "/" in them.
        rest = MASK + "@" + rest.rpartition("@")[2]
    return _SECRET_PARAM.sub(r"\1" + MASK, scheme + sep + rest)


def scrub(text: str, url: str) -> str:
    """``text`` (an error from a store, say) with ``url`` in it shown safely."""
    if not isinstance(url, str) or not url:
        return text
    safe = safe_url(url)
    for form in (url, redact(url)):
        text = text.replace(form, safe)
    scheme, sep, rest = url.partition("://")
    userinfo = rest.rpartition("@")[0] if sep else ""
    if userinfo:
        text = text.replace(userinfo, MASK)
    return text
