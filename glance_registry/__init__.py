"""glance-registry: the image metadata daemon, its database, and glance-manage.

Modules: ``models`` (tables), ``migrations`` (numbered schema steps), ``db``
(the deferred database and URLs), ``visibility`` (who sees what), ``status``
(the image status machine), ``images``, ``listing``, ``members``, ``quotas``,
``scrubbing``, ``purge`` (the rules), ``validation``, ``serializers``,
``templates`` and ``rows`` (cached SQL and row decoding), ``timestamps``,
``errors``, ``options``, ``auth`` (request -> context), ``api`` (HTTP
handlers and the contract), ``app`` (factory), ``cmd`` and ``manage`` (entry
points).
"""
