"""Pieces both daemons share: request context, request ids, error bodies, the server."""
