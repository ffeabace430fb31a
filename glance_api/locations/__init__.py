"""Image locations: where an image's data lives, as the locations API sees it.

``rules`` says which locations may be added (a URL some configured store
serves and may read, with the import filter's address rules for http),
``redaction`` keeps credentials in a location URL out of responses and
logs, ``legacy`` holds the rules of the old JSON-Patch of ``/locations``
(``show_multiple_locations``), and ``hashing`` computes an added
location's checksums in the background.
"""
