"""The command's exceptions: each one becomes a single line on stderr."""

from __future__ import annotations


class CommandError(Exception):
    """Something the user must fix or know about; exits with status 1."""


class UsageError(CommandError):
    """The command line itself is wrong; exits with status 2."""


class HTTPError(CommandError):
    """The image service answered a request with an error status."""

    def __init__(self, status: int, title: str, message: str = ""):
        self.status = status
        self.title = title
        # A server message may span lines; the user gets one.
        self.message = message = " ".join(message.split())
        text = "HTTP %d %s" % (status, title)
        super().__init__(text + ": " + message if message else text)


class NotFound(HTTPError):
    """A 404: callers that resolve names catch this one to try a name lookup."""
