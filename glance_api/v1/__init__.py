"""The Images API v1, as the classic glance client speaks it."""
