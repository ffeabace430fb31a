"""The ``glance`` command: a client of the public Images API v1 only."""
