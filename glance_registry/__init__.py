"""glance-registry: the image metadata daemon, its database, and glance-manage.

Modules: ``models`` (tables), ``migrations`` (numbered schema steps), ``db``
(the deferred database and URLs), ``visibility`` (who sees what), ``images``,
``listing``, ``members``, ``purge`` (the rules), ``validation``,
``serializers``, ``auth`` (request -> context), ``api`` (HTTP handlers and
the contract), ``app`` (factory), ``cmd`` and ``manage`` (entry points).
"""
