"""Adopting a running Glance's images in place (``glance-manage db import-glance``).

``source`` reads a Glance database (Queens to 2026.2; SQLite, PostgreSQL,
MySQL/MariaDB), ``mapping`` turns its rows into this registry's,
``locations`` says which stored bytes this service can read in place,
``image_writer`` and ``metadef_writer`` write only what differs,
``report`` tells the operator, ``run`` ties them together.
"""
