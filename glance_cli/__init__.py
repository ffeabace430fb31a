"""The ``glance`` command: a client of the public Images API, v2 (glanceclient
4's commands, in ``v2/``) or the classic v1 (the modules beside it)."""
