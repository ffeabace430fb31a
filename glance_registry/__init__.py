"""glance-registry: the image metadata daemon, its database, and glance-manage.

Modules: ``models`` (tables), ``migrations`` (numbered schema steps), ``db``
(the deferred database and URLs), ``visibility`` (who sees what), ``status``
(the image status machine), ``images``, ``listing``, ``members``, ``quotas``,
``scrubbing``, ``purge`` (the rules), ``metadefs`` with ``metadef_models``,
``metadef_validation`` and ``metadef_files`` (the metadata definitions
catalog and its loader), ``validation``, ``serializers``, ``templates`` and
``rows`` (cached SQL and row decoding), ``errors``, ``options``, ``auth``
(request -> context), ``api`` (HTTP handlers and the contract), ``app``
(factory), ``cmd`` and ``manage`` (entry points).
"""
