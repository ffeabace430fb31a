"""The registry's exceptions; each carries the HTTP status it maps to."""

from __future__ import annotations


class RegistryError(Exception):
    """Root of every error the registry reports to its caller."""

    code = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadRequest(RegistryError):
    """The request is malformed or names an invalid value."""

    code = 400


class Unauthenticated(RegistryError):
    """The caller carries no identity where one is needed."""

    code = 401


class Forbidden(RegistryError):
    """The caller may see the thing but not do this to it."""

    code = 403


class NotFound(RegistryError):
    """No such thing, or the caller may not see it."""

    code = 404


class Conflict(RegistryError):
    """The request lost a race or collides with existing data."""

    code = 409


class ConfigError(RegistryError):
    """The registry's configuration cannot work."""

    code = 500


class QuotaExceeded(RegistryError):
    """Storing this would take a project over its quota."""

    code = 413
