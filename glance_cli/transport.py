"""HTTP to the image service: one session, one private request method.

Every request carries the token; every error status, connection failure or
timeout leaves this module as a ``CommandError`` with one readable line.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any
from typing import Iterable
from typing import Mapping
from urllib.parse import quote

import requests

from glance_cli.errors import CommandError
from glance_cli.errors import HTTPError
from glance_cli.errors import NotFound

USER_AGENT = "glance-lite-cli"

# Safe characters the classic client leaves unescaped (spec v1 1.2 and 1.4);
# letters, digits and "_.-~" are always safe for quote().
TOKEN_SAFE = "=+/"
HEADER_SAFE = "/:"


def encode_header(value: str) -> str:
    """Percent-encode a header value as the classic client does (UTF-8 first)."""
    return quote(str(value).encode("utf-8"), safe=HEADER_SAFE)


def base_url(url: str) -> str:
    """The service root: the image URL without a trailing version or slash."""
    return re.sub(r"/v[12](\.\d+)?/?$", "", url.rstrip("/")).rstrip("/")


class Transport:
    """Speaks HTTP to one image service endpoint with one token."""

    def __init__(self, url: str, token: str, timeout: float = 600.0,
                 verify: bool | str = True, cert: str | tuple[str, str] | None = None):
        self.url = base_url(url)
        self.timeout = timeout
        self.session = requests.Session()
        # Given per request too: requests lets REQUESTS_CA_BUNDLE override a
        # session's verify, and --os-cacert must win over the environment.
        self.verify = verify
        self.session.verify = verify
        self.session.cert = cert
        self.session.headers.update({
            "User-Agent": USER_AGENT,
            # The server answers errors as {"message", "code", "title"} then.
            "Accept": "application/json",
            "X-Auth-Token": quote(token, safe=TOKEN_SAFE),
        })

    def request(self, method: str, path: str, *, headers: Mapping[str, str] | None = None,
                params: Iterable[tuple[str, Any]] | None = None, data: Any = None,
                stream: bool = False) -> requests.Response:
        """Send one request; raise ``HTTPError`` for any status of 400 or more."""
        try:
            resp = self.session.request(method, self.url + path, headers=headers,
                                        params=params, data=data, stream=stream,
                                        timeout=self.timeout, verify=self.verify)
        except requests.Timeout as exc:
            raise CommandError("Timed out talking to %s: %s" % (self.url, exc)) from exc
        except requests.ConnectionError as exc:
            raise CommandError("Unable to reach the image service at %s: %s"
                               % (self.url, _reason(exc))) from exc
        except (requests.RequestException, ValueError, OSError) as exc:
            # ValueError: requests refuses header names such as "bad key";
            # OSError: an --os-cert or --os-cacert file that cannot be read.
            raise CommandError("Request failed: %s" % exc) from exc
        if resp.status_code >= 400:
            raise error_from_response(resp)
        return resp

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()


def json_object(resp: requests.Response) -> dict[str, Any]:
    """The JSON object a response carries; CommandError for anything else."""
    try:
        body = resp.json()
    except ValueError as exc:
        raise CommandError("The image service sent a response that is not JSON "
                           "(HTTP %d)" % resp.status_code) from exc
    if not isinstance(body, dict):
        raise CommandError("The image service sent unexpected JSON (HTTP %d)"
                           % resp.status_code)
    return body


def path_segment(value: str) -> str:
    """One path segment, escaped so that "/" or "?" in a name or id cannot re-route it."""
    return quote(value, safe="")


def error_from_response(resp: requests.Response) -> HTTPError:
    """The ``HTTPError`` an error response stands for, with the server's message."""
    title = resp.reason or "Error"
    message = ""
    text = resp.text if resp.request.method != "HEAD" else ""
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        title = body.get("title") or title
        # v2 messages may carry webob's "<br /><br />" tails.
        message = _plain_message(str(body.get("message") or ""), "")
        # Classic Glance nested it: {"error": {"message": ...}}.
        nested = body.get("error")
        if not message and isinstance(nested, dict):
            message = str(nested.get("message") or "")
    elif text:
        message = _plain_message(text, "%d %s" % (resp.status_code, title))
    cls = NotFound if resp.status_code == 404 else HTTPError
    resp.close()
    return cls(resp.status_code, title, message)


def _plain_message(text: str, status_line: str) -> str:
    """One line out of a text or HTML error body, without its status line."""
    text = html.unescape(re.sub(r"<[^>]+>", "\n", text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    kept = [line for line in lines if line and line != status_line]
    return ": ".join(dict.fromkeys(kept))[:500]


def _reason(exc: Exception) -> str:
    """The innermost, shortest explanation of a connection failure."""
    while exc.__context__ is not None and not str(exc):
        exc = exc.__context__
    text = str(exc)
    match = re.search(r"\[Errno -?\d+\] ([^')\"]+)", text)
    return match.group(1) if match else text.splitlines()[0] if text else type(exc).__name__
