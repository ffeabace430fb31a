"""What the HTTP layer needs from configuration."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Settings:
    """List paging limits."""

    limit_default: int = 25
    limit_max: int = 1000
